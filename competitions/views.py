"""Participant pages. Thin: permission checks, then a selector or a service, then a template."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from competitions import costs, permissions, selectors, services
from competitions.forms import (
    JoinForm,
    SubmissionForm,
    TeamCreateForm,
    TeamInviteForm,
    TeamJoinForm,
)
from competitions.models import Challenge, DataFile, Participant, Phase, Submission, Team


def _challenge_or_404(request: HttpRequest, slug: str) -> Challenge:
    challenge = get_object_or_404(Challenge, slug=slug)
    if not permissions.challenge_visible(request.user, challenge):
        raise Http404
    return challenge


def _content_or_404(request: HttpRequest, slug: str) -> tuple[Challenge, Participant | None]:
    challenge = _challenge_or_404(request, slug)
    participant = permissions.participant_for(request.user, challenge)
    if not permissions.can_see_content(request.user, challenge, participant):
        raise Http404
    return challenge, participant


def _participant_or_404(request: HttpRequest, slug: str) -> tuple[Challenge, Participant]:
    challenge = _challenge_or_404(request, slug)
    participant = permissions.participant_for(request.user, challenge)
    if participant is None:
        raise Http404
    return challenge, participant


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def challenge_list(request: HttpRequest) -> HttpResponse:
    challenges = selectors.challenges_visible_to(request.user).prefetch_related("phases")
    return render(request, "competitions/challenge_list.html", {"challenges": challenges})


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _challenge_or_404(request, slug)
    participant = permissions.participant_for(request.user, challenge)
    context = {
        "challenge": challenge,
        "participant": participant,
        "phases": challenge.phases.all(),
        "can_see_content": permissions.can_see_content(request.user, challenge, participant),
        "is_organiser": permissions.is_organiser(request.user, challenge),
        "data_files": challenge.data_files.all(),
        "join_form": JoinForm(),
    }
    return render(request, "competitions/challenge_detail.html", context)


@login_required
@require_POST
def challenge_join(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = _challenge_or_404(request, slug)
    form = JoinForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Accept the rules to join."))
        return redirect("competitions:challenge-detail", slug=slug)
    try:
        services.participant_join(
            challenge=challenge,
            user=request.user,
            accept_rules=form.cleaned_data["accept_rules"],
            invitation_code=form.cleaned_data["invitation_code"],
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("You joined %(title)s.") % {"title": challenge.title})
    return redirect("competitions:challenge-detail", slug=slug)


def data_file_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    challenge, _participant = _content_or_404(request, slug)
    data_file = get_object_or_404(DataFile, pk=pk, challenge=challenge)
    if not data_file.file:
        return redirect(data_file.url)
    name = data_file.filename or f"{challenge.slug}-data-{data_file.pk}"
    return FileResponse(data_file.file.open("rb"), as_attachment=True, filename=name)


def phase_download(request: HttpRequest, slug: str, phase: str, kind: str) -> HttpResponse:
    """The case list or the sample submission: derived files that hold no labels."""
    challenge, _participant = _content_or_404(request, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    field = {"cases": phase_obj.case_list, "sample": phase_obj.sample_submission}.get(kind)
    if not field:
        raise Http404
    name = f"{challenge.slug}-{phase_obj.slug}-{'cases' if kind == 'cases' else 'sample'}.csv"
    return FileResponse(field.open("rb"), as_attachment=True, filename=name)


# --- Teams ----------------------------------------------------------------------------------


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge, participant = _participant_or_404(request, slug)
    team = participant.team
    context = {
        "challenge": challenge,
        "participant": participant,
        "team": team,
        "members": team.members.select_related("user").order_by("joined_at"),
        "invite_url": request.build_absolute_uri(
            reverse(
                "competitions:team-join",
                kwargs={"slug": slug, "token": team.invite_token},
            )
        ),
        "my_invitations": request.user.team_invitations.filter(
            team__challenge=challenge
        ).select_related("team", "invited_by"),
        "create_form": TeamCreateForm(),
        "invite_form": TeamInviteForm(),
    }
    return render(request, "competitions/team_detail.html", context)


@login_required
@require_POST
def team_create(request: HttpRequest, slug: str) -> HttpResponse:
    _challenge, participant = _participant_or_404(request, slug)
    form = TeamCreateForm(request.POST)
    if form.is_valid():
        try:
            team = services.team_create(participant=participant, name=form.cleaned_data["name"])
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("You are now in team “%(team)s”.") % {"team": team.name})
    return redirect("competitions:team", slug=slug)


@login_required
@require_POST
def team_invite(request: HttpRequest, slug: str) -> HttpResponse:
    _challenge, participant = _participant_or_404(request, slug)
    form = TeamInviteForm(request.POST)
    if form.is_valid():
        try:
            services.team_invite(
                team=participant.team,
                invited_by=request.user,
                username=form.cleaned_data["username"],
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Invitation sent; it shows on their team page."))
    return redirect("competitions:team", slug=slug)


@login_required
@require_POST
def team_leave(request: HttpRequest, slug: str) -> HttpResponse:
    _challenge, participant = _participant_or_404(request, slug)
    try:
        services.team_leave(participant=participant)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("You left the team; you now compete on your own."))
    return redirect("competitions:team", slug=slug)


@login_required
def team_join(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """Join a team from its invite link (or from an invitation on the team page)."""
    challenge = _challenge_or_404(request, slug)
    team = get_object_or_404(Team, challenge=challenge, invite_token=token)
    participant = permissions.participant_for(request.user, challenge)
    form = TeamJoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_join(
                team=team, user=request.user, accept_rules=form.cleaned_data["accept_rules"]
            )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("You joined team “%(team)s”.") % {"team": team.name})
            return redirect("competitions:team", slug=slug)
    context = {"challenge": challenge, "team": team, "participant": participant, "form": form}
    return render(request, "competitions/team_join.html", context)


# --- Submissions ----------------------------------------------------------------------------


@login_required
def submission_create(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    challenge, participant = _participant_or_404(request, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = SubmissionForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                submission = services.submission_create(
                    phase=phase_obj,
                    user=request.user,
                    upload=form.cleaned_data["file"],
                    description=form.cleaned_data["description"],
                    fact_sheet=form.fact_sheet(),
                )
            except ValidationError as exc:
                if wants_json:
                    return JsonResponse({"errors": exc.messages}, status=400)
                form.add_error(None, exc)
            else:
                url = reverse("competitions:submissions", kwargs={"slug": slug})
                if wants_json:
                    return JsonResponse({"id": submission.pk, "redirect": url}, status=201)
                messages.success(request, _("Received; it is queued for scoring."))
                return redirect(url)
        elif wants_json:
            errors = [str(e) for errs in form.errors.values() for e in errs]
            return JsonResponse({"errors": errors}, status=400)
    context = {"challenge": challenge, "phase": phase_obj, "form": form, "participant": participant}
    return render(request, "competitions/submission_form.html", context)


@login_required
def submission_list(request: HttpRequest, slug: str) -> HttpResponse:
    challenge, participant = _participant_or_404(request, slug)
    context = {
        "challenge": challenge,
        "participant": participant,
        "submissions": selectors.team_submissions(participant.team),
        "phases": challenge.phases.all(),
    }
    return render(request, "competitions/submission_list.html", context)


@login_required
def submission_status(request: HttpRequest, slug: str) -> JsonResponse:
    """Status of the team's submissions, polled by the submissions page for live updates."""
    _challenge, participant = _participant_or_404(request, slug)
    rows = Submission.objects.filter(team=participant.team).values("id", "status", "message")
    return JsonResponse({"submissions": list(rows)})


def _submission_or_404(request: HttpRequest, slug: str, pk: int) -> Submission:
    challenge = _challenge_or_404(request, slug)
    submission = get_object_or_404(
        Submission.objects.select_related(
            "phase__challenge", "team", "created_by"
        ).prefetch_related(Prefetch("events")),
        pk=pk,
        phase__challenge=challenge,
    )
    if not permissions.can_see_submission(request.user, submission):
        raise Http404
    return submission


@login_required
def submission_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    submission = _submission_or_404(request, slug, pk)
    challenge = submission.phase.challenge
    organiser = permissions.is_organiser(request.user, challenge)
    splits = []
    if submission.result:
        for split in selectors.leaderboard_splits(submission.phase, request.user):
            result = submission.result.get(split)
            if result:
                splits.append(
                    {
                        "name": split,
                        "result": result,
                        "subgroups": selectors.subgroup_rows(result, show_small=organiser),
                    }
                )
    context = {
        "challenge": challenge,
        "submission": submission,
        "splits": splits,
        "is_organiser": organiser,
        "fact_sheet": getattr(submission, "fact_sheet", None),
        "cost": costs.submission_costs([submission.pk]).get(submission.pk),
        "grid_intensity": submission.phase.effective_grid_intensity,
    }
    return render(request, "competitions/submission_detail.html", context)


@login_required
def submission_file(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    submission = _submission_or_404(request, slug, pk)
    return FileResponse(
        submission.file.open("rb"),
        as_attachment=True,
        filename=submission.original_name or f"submission-{submission.pk}.csv",
    )


def _phase_split_context(request: HttpRequest, slug: str, phase: str) -> dict:
    """A phase page's common context: the split asked for, if the user may see it (else 404).

    After the end the private split is the default, as it decides the final standings.
    """
    challenge, participant = _content_or_404(request, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    splits = selectors.leaderboard_splits(phase_obj, request.user)
    split = request.GET.get("split", splits[-1] if phase_obj.has_ended else "public")
    if split not in splits:
        raise Http404
    return {
        "challenge": challenge,
        "phase": phase_obj,
        "participant": participant,
        "split": split,
        "splits": splits,
    }


def leaderboard(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    context = _phase_split_context(request, slug, phase)
    phase_obj = context["phase"]
    split = context["split"]
    context |= {
        "rows": selectors.leaderboard_rows(phase_obj, split=split),
        "columns": (
            phase_obj.primary_metric,
            *[m for m in selectors.LEADERBOARD_EXTRA_METRICS if m != phase_obj.primary_metric],
        ),
    }
    return render(request, "competitions/leaderboard.html", context)


def similarity(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    """How alike the counting submissions are: heatmap, diversity figure and (organisers) flags.

    Label-based measures and per-subgroup similarity can reveal labels, so participants see them
    only after the phase ends; organisers always.
    """
    context = _phase_split_context(request, slug, phase)
    phase_obj = context["phase"]
    organiser = permissions.is_organiser(request.user, phase_obj.challenge)
    context |= {
        "is_organiser": organiser,
        **selectors.similarity_view(
            phase_obj,
            split=context["split"],
            show_label_measures=organiser or phase_obj.has_ended,
            group=request.GET.get("group", ""),
        ),
    }
    return render(request, "competitions/similarity.html", context)


def compute(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    """Primary score against the compute each team declared, with the Pareto front.

    Shows what the leaderboard shows (same splits, same counting submissions) plus the
    declared cost, so it has the leaderboard's visibility.
    """
    context = _phase_split_context(request, slug, phase)
    phase_obj = context["phase"]
    context |= {
        **costs.compute_view(phase_obj, split=context["split"]),
        "grid_intensity": phase_obj.effective_grid_intensity,
    }
    return render(request, "competitions/compute.html", context)
