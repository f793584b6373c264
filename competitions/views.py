"""Participant pages. Thin: permission checks, then a selector or a service, then a template."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from competitions import permissions, selectors, services, throttling, uploads
from competitions.forms import (
    CourseJoinForm,
    GradeRuleForm,
    JoinForm,
    LabelBiasForm,
    RosterUploadForm,
    SubmissionForm,
    TeamCreateForm,
    TeamInviteForm,
    TeamJoinForm,
    TeamMergeForm,
)
from competitions.models import DataFile, GradeRule, Phase, RosterEntry, Submission, Team
from competitions.presentation import exports, gradebook
from competitions.selectors import courses as course_selectors
from competitions.services import courses as course_services
from scoring.errors import InputError


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def challenge_list(request: HttpRequest) -> HttpResponse:
    challenges = selectors.challenges_visible_to(request.user).prefetch_related("phases")
    return render(request, "competitions/challenge_list.html", {"challenges": challenges})


def glossary(request: HttpRequest) -> HttpResponse:
    """What every metric means, for everyone: the pages' metric names link here."""
    return render(request, "competitions/glossary.html", {"tasks": selectors.metric_glossary()})


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = permissions.challenge_or_404(request.user, slug)
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
    challenge = permissions.challenge_or_404(request.user, slug)
    if not challenge.is_public:
        refused = throttling.invitation_throttle_refusal(request)
        if refused:
            return refused
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
    challenge, _participant = permissions.content_or_404(request.user, slug)
    data_file = get_object_or_404(DataFile, pk=pk, challenge=challenge)
    if not data_file.file:
        return redirect(data_file.url)
    name = data_file.filename or f"{challenge.slug}-data-{data_file.pk}"
    return _uploaded_file_response(data_file.file, name)


def phase_download(request: HttpRequest, slug: str, phase: str, kind: str) -> HttpResponse:
    """The case list or the sample submission: derived files that hold no labels."""
    challenge, _participant = permissions.content_or_404(request.user, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    field = {"cases": phase_obj.case_list, "sample": phase_obj.sample_submission}.get(kind)
    if not field:
        raise Http404
    name = f"{challenge.slug}-{phase_obj.slug}-{'cases' if kind == 'cases' else 'sample'}.csv"
    return FileResponse(field.open("rb"), as_attachment=True, filename=name)


def _report_phase_or_404(request: HttpRequest, slug: str, phase: str) -> tuple[Phase, str]:
    """The phase and which report of it the user gets; 404 for everyone else (every report
    URL: the files, the progress page, its status, the retry)."""
    challenge, _participant = permissions.content_or_404(request.user, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    audience = permissions.report_audience(request.user, phase_obj)
    if audience is None:
        raise Http404
    return phase_obj, audience


def phase_report(request: HttpRequest, slug: str, phase: str, fmt: str) -> HttpResponse:
    """The challenge report (HTML, PDF, or its full tables as a ZIP of CSV files): organisers
    any time; others only once the phase has ended and its scores are published (404 before).

    Built by a worker, once per state of the phase and audience, and stored: when the stored
    report is current the file is served; otherwise the first request starts the build and
    every request gets the progress page, which reloads itself when the report is ready. A POST
    (the page's "try again") builds a failed report again."""
    if fmt not in selectors.REPORT_FORMATS:
        raise Http404
    phase_obj, audience = _report_phase_or_404(request, slug, phase)
    stored = services.phase_report_request(phase=phase_obj, audience=audience,
                                           user=request.user)
    if request.method == "POST":
        try:
            services.phase_report_retry(report=stored, user=request.user)
        except ValidationError as exc:
            _errors(request, exc)
        return redirect(request.path)
    if stored.status == stored.Status.READY:
        content = selectors.report_file(stored, fmt, nonce=str(request.csp_nonce))
        response = HttpResponse(content, content_type=selectors.REPORT_FORMATS[fmt])
        name = f"{phase_obj.challenge.slug}-{phase_obj.slug}-report"
        name += "-tables.zip" if fmt == "zip" else f".{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {"challenge": phase_obj.challenge, "phase": phase_obj, "report": stored,
               "fmt": fmt, "audience": audience,
               "status_url": reverse("competitions:phase-report-status",
                                     args=[phase_obj.challenge.slug, phase_obj.slug])}
    return render(request, "competitions/report_progress.html", context)


def phase_report_status(request: HttpRequest, slug: str, phase: str) -> JsonResponse:
    """The progress page's poll: the stored report's status (never starts a build)."""
    phase_obj, audience = _report_phase_or_404(request, slug, phase)
    current = selectors.phase_report_current(phase_obj, audience)
    response = JsonResponse(selectors.report_status(phase_obj, current))
    response["Cache-Control"] = "no-store"
    return response


# --- Teams ----------------------------------------------------------------------------------


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge, participant = permissions.participant_or_404(request.user, slug)
    return _team_page(request, challenge, participant)


def _team_page(request: HttpRequest, challenge, participant, *, merge_form=None,
               merge_errors=None) -> HttpResponse:
    """The team page; a refused merge shows its form (or its request) with the reason."""
    team = participant.team
    context = {
        "challenge": challenge,
        "participant": participant,
        "team": team,
        "members": team.members.select_related("user").order_by("joined_at"),
        "invite_url": request.build_absolute_uri(
            reverse(
                "competitions:team-join",
                kwargs={"slug": challenge.slug, "token": team.invite_token},
            )
        ),
        "my_invitations": request.user.team_invitations.filter(
            team__challenge=challenge
        ).select_related("team", "invited_by"),
        "create_form": TeamCreateForm(),
        "invite_form": TeamInviteForm(),
        "merge_form": merge_form or TeamMergeForm(),
    }
    merges = selectors.team_merges(team, timezone.now())
    errors = merge_errors or {}
    context |= {
        "incoming_merges": [(m, errors.get(m.request.pk, [])) for m in merges["incoming"]],
        "outgoing_merges": [(m, errors.get(m.request.pk, [])) for m in merges["outgoing"]],
        "own_quota": merges["own_quota"],
    }
    return render(request, "competitions/team_detail.html", context)


@login_required
@require_POST
def team_create(request: HttpRequest, slug: str) -> HttpResponse:
    _challenge, participant = permissions.participant_or_404(request.user, slug)
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
    _challenge, participant = permissions.participant_or_404(request.user, slug)
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
            messages.success(
                request, _("Invitation sent; it shows on their notices and their team page.")
            )
    return redirect("competitions:team", slug=slug)


@login_required
@require_POST
def team_leave(request: HttpRequest, slug: str) -> HttpResponse:
    _challenge, participant = permissions.participant_or_404(request.user, slug)
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
    challenge = permissions.challenge_or_404(request.user, slug)
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


@login_required
@require_POST
def team_merge_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask another team to take the user's whole team in."""
    challenge, participant = permissions.participant_or_404(request.user, slug)
    form = TeamMergeForm(request.POST)
    if form.is_valid():
        try:
            merge = services.team_merge_request(
                team=participant.team, user=request.user, into_name=form.cleaned_data["team"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Request sent; a member of “%(team)s” can accept it on "
                                        "their team page.") % {"team": merge.into_team.name})
            return redirect("competitions:team", slug=slug)
    return _team_page(request, challenge, participant, merge_form=form)


@login_required
@require_POST
def team_merge_accept(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _merge_answer(
        request, slug, pk, side="into", answer=services.team_merge_accept,
        done=lambda team: _("The teams merged: everyone is now in “%(team)s”.")
        % {"team": team.name},
    )


@login_required
@require_POST
def team_merge_decline(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _merge_answer(request, slug, pk, side="into", answer=services.team_merge_decline,
                         done=lambda _none: _("You declined the merge."))


@login_required
@require_POST
def team_merge_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _merge_answer(request, slug, pk, side="from", answer=services.team_merge_cancel,
                         done=lambda _none: _("You cancelled the merge request."))


def _merge_answer(request: HttpRequest, slug: str, pk: int, *, side: str, answer,
                  done) -> HttpResponse:
    """Accept, decline or cancel a merge request the user's team is on ``side`` of (404 for
    anyone else); a refusal is shown on the team page next to the request."""
    challenge, participant = permissions.participant_or_404(request.user, slug)
    merge = permissions.merge_request_or_404(participant, pk, side=side)
    try:
        result = answer(merge_request=merge, user=request.user)
    except ValidationError as exc:
        return _team_page(request, challenge, participant, merge_errors={merge.pk: exc.messages})
    messages.success(request, done(result))
    return redirect("competitions:team", slug=slug)


# --- Submissions ----------------------------------------------------------------------------


@login_required
def submission_create(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    challenge, participant = permissions.participant_or_404(request.user, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = SubmissionForm()
    if request.method == "POST":
        try:
            submission = uploads.submission_upload(
                phase=phase_obj, user=request.user, data=request.POST, files=request.FILES
            )
        except uploads.UploadRefused as refused:
            if wants_json:
                return JsonResponse(refused.as_document(), status=400)
            form = refused.form
        else:
            url = reverse("competitions:submissions", kwargs={"slug": slug})
            if wants_json:
                return JsonResponse(
                    {"id": submission.pk, "redirect": url, "message": submission.message},
                    status=201,
                )
            if submission.message:  # received, but the scoring queue is unreachable
                messages.warning(request, submission.message)
            else:
                messages.success(request, _("Received; it is queued for scoring."))
            return redirect(url)
    context = {"challenge": challenge, "phase": phase_obj, "form": form, "participant": participant,
               "quota": selectors.quota_remaining(phase_obj, request.user),
               # What stops an upload is said above the form, never only after an upload.
               "refusal": services.submission_refusal(phase=phase_obj, user=request.user)}
    return render(request, "competitions/submission_form.html", context)


@login_required
def submission_list(request: HttpRequest, slug: str) -> HttpResponse:
    challenge, participant = permissions.participant_or_404(request.user, slug)
    context = {
        "challenge": challenge,
        "participant": participant,
        "rows": selectors.team_submission_rows(participant.team, request.user),
        "phases": challenge.phases.all(),
    }
    return render(request, "competitions/submission_list.html", context)


@login_required
def submission_status(request: HttpRequest, slug: str) -> JsonResponse:
    """Status of the team's submissions, polled by the submissions page for live updates."""
    _challenge, participant = permissions.participant_or_404(request.user, slug)
    rows = Submission.objects.filter(team=participant.team).values("id", "status", "message")
    return JsonResponse({"submissions": list(rows)})


def _submission_or_404(request: HttpRequest, slug: str, pk: int) -> Submission:
    challenge = permissions.challenge_or_404(request.user, slug)
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
    splits = selectors.submission_results(submission, request.user)
    context = {
        "challenge": challenge,
        "submission": submission,
        "splits": splits,
        "is_organiser": organiser,
        "fact_sheet": getattr(submission, "fact_sheet", None),
        "cost": selectors.submission_cost(submission, request.user),
        "grid_intensity": submission.phase.effective_grid_intensity,
        "counts_picks": selectors.counts_team_picks(submission.phase),
    }
    return render(request, "competitions/submission_detail.html", context)


@login_required
@require_POST
def submission_select(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The team picks this submission for leaderboards that count the team's choice."""
    submission = _submission_or_404(request, slug, pk)
    try:
        services.submission_select(submission=submission, user=request.user)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("This submission now counts for your team."))
    return redirect("competitions:submission", slug=slug, pk=pk)


@login_required
@require_POST
def team_anonymous(request: HttpRequest, slug: str) -> HttpResponse:
    _challenge, participant = permissions.participant_or_404(request.user, slug)
    anonymous = request.POST.get("anonymous") == "on"
    services.team_set_anonymous(team=participant.team, anonymous=anonymous)
    messages.success(
        request,
        _("Public leaderboards show your team as “Anonymous team”.") if anonymous
        else _("Public leaderboards show your team's name."),
    )
    return redirect("competitions:team", slug=slug)


@login_required
def submission_file(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    submission = _submission_or_404(request, slug, pk)
    if not submission.file:  # a failed upload's file is deleted once its message is recorded
        raise Http404
    return _uploaded_file_response(
        submission.file, submission.original_name or f"submission-{submission.pk}.csv"
    )


def _uploaded_file_response(field, filename: str) -> FileResponse:
    """A file someone uploaded, as a download of opaque bytes: whatever its name says (``.html``,
    ``.svg``), the browser saves it and never renders or runs it on our origin (with
    ``X-Content-Type-Options: nosniff`` from the security middleware)."""
    return FileResponse(field.open("rb"), as_attachment=True, filename=filename,
                        content_type="application/octet-stream")


def _phase_split_context(request: HttpRequest, slug: str, phase: str) -> dict:
    """A phase page's common context: the split asked for, if the user may see it (else 404).

    After the end the private split is the default, as it decides the final standings.
    """
    challenge, participant = permissions.content_or_404(request.user, slug)
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


def _board_context(request: HttpRequest, slug: str, phase: str) -> dict:
    """The phase's leaderboards the user sees and the one asked for (``?board=``, else the
    primary), on the split asked for; 404 for a board the user may not see."""
    context = _phase_split_context(request, slug, phase)
    boards = selectors.phase_leaderboards_for(context["phase"], request.user)
    wanted = request.GET.get("board")
    board = next((b for b in boards if b.slug == wanted), None) if wanted else None
    if wanted and board is None:
        raise Http404
    board = board or next((b for b in boards if b.is_primary), boards[0] if boards else None)
    if board is None:
        raise Http404
    organiser = permissions.is_organiser(request.user, context["phase"].challenge)
    # Built once, not per row: a leaderboard may list a thousand teams.
    entry_base = reverse("competitions:entry", args=[slug, phase, 0]).removesuffix("0/")
    return context | {
        "boards": boards, "board": board, "is_organiser": organiser,
        "entry_base": entry_base, "entry_query": f"?board={board.slug}&split={context['split']}",
        # Under these the score is the ranked column's value, already shown.
        "show_score": board.ranking not in ("primary", "worst_group", "floor_then_primary"),
    }


def _leaderboard_context(request: HttpRequest, slug: str, phase: str) -> dict:
    """``_board_context`` with the board's whole table (every row)."""
    context = _board_context(request, slug, phase)
    return context | {"table": selectors.leaderboard_table(
        context["board"], split=context["split"], user=request.user,
        attribute=request.GET.get("attribute", ""),
    )}


def leaderboard(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    """One page of ``LEADERBOARD_PAGE_ROWS`` rows (``?page=``), its table rendered once per
    snapshot and audience (``competitions.presentation.board_pages``)."""
    context = _board_context(request, slug, phase)
    page_asked = request.GET.get("page", "1")
    if not page_asked.isdigit() or int(page_asked) < 1:
        raise Http404
    attribute = request.GET.get("attribute", "")
    # The fragment is cached for everyone who shares the key: only what they share goes in.
    shared = {key: context[key] for key in ("challenge", "entry_base", "entry_query",
                                            "show_score")}
    shown = selectors.leaderboard_page(
        context["board"], split=context["split"], user=request.user, attribute=attribute,
        page=int(page_asked),
        render=lambda table: render_to_string("competitions/_leaderboard_table.html",
                                              shared | {"table": table}),
    )
    if shown is None:
        raise Http404
    if request.GET.get("fragment"):
        # Live updates: the page's script swaps in the table when the snapshot changed.
        return HttpResponse(shown.html)
    query = "?" + urlencode({"board": context["board"].slug, "split": context["split"],
                             "attribute": attribute})
    per_page = settings.LEADERBOARD_PAGE_ROWS
    context |= {
        "table": shown.table, "table_html": shown.html, "own_rows": shown.own_rows,
        "page": shown.page, "page_numbers": range(1, shown.pages + 1), "page_query": query,
        "page_first": (shown.page - 1) * per_page + 1,
        "page_last": min(shown.page * per_page, shown.table["n_rows"]),
        "poll_seconds": settings.LEADERBOARD_POLL_SECONDS,
    }
    return render(request, "competitions/leaderboard.html", context)


def entry(request: HttpRequest, slug: str, phase: str, pk: int) -> HttpResponse:
    """A leaderboard entry in detail: subgroup bars with intervals, gaps, and the leader."""
    context = _leaderboard_context(request, slug, phase)
    view = selectors.entry_view(
        context["board"], split=context["split"], submission_id=pk, user=request.user
    )
    if view is None:
        raise Http404
    return render(request, "competitions/entry.html", context | view)


def results(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    """How far the ranking can be trusted: what-if winners, column agreement, subgroups. The
    body is rendered once per snapshot, audience and metric (``selectors.results_page``)."""
    context = _board_context(request, slug, phase)
    # The body is cached for everyone who shares the key: only what they share goes in.
    shared = {key: context[key] for key in ("challenge", "phase", "board", "split",
                                            "is_organiser")}
    context["results_html"] = selectors.results_page(
        context["board"], split=context["split"], user=request.user,
        metric=request.GET.get("metric", ""),
        render=lambda view: render_to_string("competitions/_results_body.html", shared | view),
    )
    return render(request, "competitions/results.html", context)


def label_bias(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    """Organisers: how each entry's metrics and the ranking move if a group's labels are biased
    (a share of its positives recorded as negative)."""
    context = _leaderboard_context(request, slug, phase)
    phase_obj = context["phase"]
    if not permissions.is_organiser(request.user, phase_obj.challenge):
        raise Http404
    populations = selectors.truth_populations(phase_obj)
    form = LabelBiasForm(request.GET if "population" in request.GET else None,
                         populations=populations)
    stress = None
    if form.is_valid():
        attribute, group = form.cleaned_data["population"].split("=", 1)
        try:
            stress = selectors.label_bias_rows(
                context["board"], context["split"], attribute=attribute, group=group,
                share=form.cleaned_data["share"], seed=form.cleaned_data["seed"],
                names={row["submission"]: row["team"] for row in context["table"]["rows"]},
            )
        except InputError as exc:
            form.add_error(None, exc.problems)
    return render(request, "competitions/label_bias.html", context | {"form": form,
                                                                       "stress": stress})


def leaderboard_export(request: HttpRequest, slug: str, phase: str, fmt: str) -> HttpResponse:
    """The leaderboard as CSV or JSON: the same selector, so the same numbers as the page."""
    if fmt not in ("csv", "json"):
        raise Http404
    refused = throttling.api_throttle_refusal(request)
    if refused:
        return refused
    context = _leaderboard_context(request, slug, phase)
    document = exports.leaderboard_document(context["table"])
    name = f"{context['challenge'].slug}-{context['phase'].slug}-{context['board'].slug}-"
    name += context["split"]
    if fmt == "json":
        response = JsonResponse(document, json_dumps_params={"indent": 1})
    else:
        response = HttpResponse(exports.leaderboard_csv(document), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


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
            user=request.user,
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
        **selectors.compute_view(phase_obj, split=context["split"], user=request.user),
        "grid_intensity": phase_obj.effective_grid_intensity,
    }
    return render(request, "competitions/compute.html", context)


# --- Courses (the teachers' pages; docs/courses.md) ------------------------------------------

MAX_ROSTER_BYTES = 2 * 1024 * 1024


def course_roster(request: HttpRequest, slug: str) -> HttpResponse:
    """The roster: upload a CSV of students (each is invited), see who joined and submitted."""
    challenge = permissions.organiser_or_404(request.user, slug)
    form = RosterUploadForm()
    problems = None
    if request.method == "POST":
        form = RosterUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["roster"]
            try:
                if upload.size > MAX_ROSTER_BYTES:
                    raise ValidationError(_("A roster file is at most 2 MB."))
                try:
                    text = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    raise ValidationError(_("Save the roster as UTF-8 CSV.")) from None
                result = course_services.roster_import(challenge=challenge, text=text)
            except ValidationError as exc:
                form.add_error("roster", exc)
            else:
                messages.success(request, ngettext(
                    "%(n)d student added and invited.", "%(n)d students added and invited.",
                    len(result.added)) % {"n": len(result.added)})
                problems = result.problems
    context = {"challenge": challenge, "form": form, "problems": problems,
               "rows": course_selectors.roster_rows(challenge),
               "phases": challenge.phases.all()}
    return render(request, "competitions/course_roster.html", context)


@require_POST
def course_roster_entry(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    """Resend or revoke one student's invitation."""
    challenge = permissions.organiser_or_404(request.user, slug)
    entry = get_object_or_404(RosterEntry, pk=pk, challenge=challenge)
    if action == "resend":
        course_services.roster_resend(entry=entry)
        messages.success(request, _("Invitation sent again to %(e)s.") % {"e": entry.email})
    elif action == "revoke":
        course_services.roster_revoke(entry=entry)
        messages.success(request, _("Invitation of %(e)s revoked.") % {"e": entry.email})
    else:
        raise Http404
    return redirect("competitions:course-roster", slug=slug)


def course_student(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A teacher's view of one student: their team and every submission it made."""
    challenge = permissions.organiser_or_404(request.user, slug)
    entry = get_object_or_404(RosterEntry, pk=pk, challenge=challenge)
    participant = (permissions.participant_for(entry.user, challenge)
                   if entry.user_id else None)
    rows = (selectors.team_submission_rows(participant.team, request.user)
            if participant else [])
    return render(request, "competitions/course_student.html", {
        "challenge": challenge, "entry": entry, "participant": participant, "rows": rows,
    })


def course_gradebook(request: HttpRequest, slug: str, phase: str) -> HttpResponse:
    """A phase's grades: the rule (set here), each student's points, score and rank, and the
    files for Moodle and Canvas (``?layout=moodle|canvas|detail``)."""
    challenge = permissions.organiser_or_404(request.user, slug)
    phase_obj = get_object_or_404(Phase, challenge=challenge, slug=phase)
    rule = GradeRule.objects.filter(phase=phase_obj).first()
    if request.method == "POST":
        form = GradeRuleForm(request.POST)
        if form.is_valid():
            try:
                course_services.grade_rule_set(phase=phase_obj, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Grading rule saved."))
                return redirect("competitions:course-gradebook", slug=slug, phase=phase)
    else:
        form = GradeRuleForm(initial={
            "item": rule.item, "lms_item_id": rule.lms_item_id, "basis": rule.basis,
            "steps": "\n".join(f"{b:g} {p:g}" for b, p in rule.steps),
            "otherwise": rule.otherwise,
        } if rule else {"item": phase_obj.name, "basis": GradeRule.Basis.SCORE})
    book = course_selectors.gradebook(phase_obj, user=request.user)
    layout = request.GET.get("layout")
    if layout:
        if layout not in gradebook.LAYOUTS:
            raise Http404
        name = f"{challenge.slug}-{phase_obj.slug}-grades-{layout}-{book['split']}"
        if book["provisional"]:
            name += "-provisional"
        response = HttpResponse(gradebook.gradebook_csv(book, layout),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return render(request, "competitions/course_gradebook.html", {
        "challenge": challenge, "phase": phase_obj, "form": form, "book": book,
        "layouts": gradebook.LAYOUTS,
    })


@login_required
def course_join(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """A student's invitation link: accept the rules and join the course's challenge."""
    entry = get_object_or_404(
        RosterEntry.objects.select_related("challenge"), token=token, challenge__slug=slug,
        revoked_at__isnull=True, challenge__status="published",
    )
    if entry.user_id not in (None, request.user.pk):
        raise Http404
    challenge = entry.challenge
    form = CourseJoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course_services.roster_join(entry=entry, user=request.user,
                                        accept_rules=form.cleaned_data["accept_rules"])
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("You joined %(title)s.") % {"title": challenge.title})
            return redirect("competitions:challenge-detail", slug=slug)
    return render(request, "competitions/course_join.html", {
        "challenge": challenge, "form": form,
        "participant": permissions.participant_for(request.user, challenge),
    })
