"""API endpoints. Thin like the pages: the permission helpers, then a selector or a service.

Read endpoints answer anonymous users for public challenges, as the pages do; submissions need a
token (``Authorization: Token <key>``) or a browser session. A user who may not see an object
gets 404, not 403.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from competitions import permissions, selectors, uploads
from competitions.api.errors import NEEDS_TOKEN, NOT_FOUND, REFUSED, THROTTLED, UPLOAD_REFUSED
from competitions.api.serializers import (
    ChallengeSerializer,
    LeaderboardSerializer,
    SubmissionCreateSerializer,
    SubmissionSerializer,
)
from competitions.models import Phase
from competitions.presentation.exports import leaderboard_document
from scoring.vocabulary import SPLITS

SPLIT = OpenApiParameter("split", str, enum=list(SPLITS),
                         description="Case split; private only after the phase ends.")


class TokenObtain(ObtainAuthToken):
    """A user name and password for the user's API token (the same token on every call).

    Throttled per address like every anonymous read; django-axes counts failed passwords here
    as on the login page, so a locked-out user name gets no token either.
    """

    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("TokenAnswer", fields={"token": serializers.CharField()}),
            **REFUSED, **THROTTLED,
        },
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)


def _boards_context(phases, user) -> dict:
    return {"overview": selectors.phases_overview(phases, user)}


class ChallengeList(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ChallengeSerializer(many=True), **THROTTLED})
    def get(self, request: Request) -> Response:
        challenges = list(
            selectors.challenges_visible_to(request.user)
            .prefetch_related("phases__leaderboards__columns")
        )
        phases = [p for c in challenges for p in c.phases.all()]
        serializer = ChallengeSerializer(challenges, many=True,
                                         context=_boards_context(phases, request.user))
        return Response(serializer.data)


class ChallengeDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ChallengeSerializer, **NOT_FOUND, **THROTTLED})
    def get(self, request: Request, slug: str) -> Response:
        challenge, _participant = permissions.content_or_404(request.user, slug)
        context = _boards_context(
            challenge.phases.prefetch_related("leaderboards__columns"), request.user
        )
        return Response(ChallengeSerializer(challenge, context=context).data)


class LeaderboardDetail(APIView):
    """A leaderboard on one split: the same document as the page's JSON download."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[SPLIT],
                   responses={200: LeaderboardSerializer, **NOT_FOUND, **THROTTLED})
    def get(self, request: Request, slug: str, phase: str, board: str) -> Response:
        _challenge, _participant = permissions.content_or_404(request.user, slug)
        phase_obj = get_object_or_404(Phase, challenge__slug=slug, slug=phase)
        split = request.query_params.get("split", "public")
        if split not in selectors.leaderboard_splits(phase_obj, request.user):
            raise Http404
        found = next(
            (b for b in selectors.phase_leaderboards_for(phase_obj, request.user)
             if b.slug == board),
            None,
        )
        if found is None:
            raise Http404
        table = selectors.leaderboard_table(found, split=split, user=request.user)
        return Response(leaderboard_document(table))


class MySubmissions(APIView):
    """The submissions of every team the user is in, newest first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: SubmissionSerializer(many=True), **NEEDS_TOKEN, **THROTTLED})
    def get(self, request: Request) -> Response:
        submissions = selectors.user_submissions(request.user)
        return Response(SubmissionSerializer(
            submissions, many=True, context={"results": selectors.api_results_for(request.user)}
        ).data)


class SubmissionDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: SubmissionSerializer, **NEEDS_TOKEN, **NOT_FOUND,
                              **THROTTLED})
    def get(self, request: Request, pk: int) -> Response:
        submission = get_object_or_404(selectors.user_submissions(request.user), pk=pk)
        return Response(SubmissionSerializer(
            submission, context={"results": selectors.api_results_for(request.user)}
        ).data)


class SubmissionCreate(APIView):
    """Upload predictions for a phase; they are queued for scoring (poll the detail URL).

    The same fields as the upload page (the fact sheet included), checked by the same form and
    service (``competitions.uploads``); a refusal has the page's shape.
    """

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=SubmissionCreateSerializer,
                   responses={201: SubmissionSerializer, **UPLOAD_REFUSED, **NEEDS_TOKEN,
                              **NOT_FOUND,
                              **THROTTLED})
    def post(self, request: Request, slug: str, phase: str) -> Response:
        challenge, _participant = permissions.participant_or_404(request.user, slug)
        phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
        try:
            submission = uploads.submission_upload(
                phase=phase_obj, user=request.user, data=request.data, files=request.FILES
            )
        except uploads.UploadRefused as refused:
            return Response(refused.as_document(), status=status.HTTP_400_BAD_REQUEST)
        submission = selectors.user_submissions(request.user).get(pk=submission.pk)
        return Response(
            SubmissionSerializer(
                submission, context={"results": selectors.api_results_for(request.user)}
            ).data,
            status=status.HTTP_201_CREATED,
        )
