"""Reads about submissions: a team's, a user's, and one submission's results as its viewer may
see them."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from competitions.costs import submission_costs
from competitions.metrics import metric_notes, outside_interval
from competitions.models import Participant, Submission, Team
from competitions.quota import Remaining, remaining
from competitions.release import Viewer, release_cell, released_splits, viewer_cache, viewer_for
from competitions.selectors.leaderboards import team_standing
from scoring.result import SplitResult, read_stored


def team_submissions(team: Team) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(team=team)
        .select_related("phase", "created_by")
        .prefetch_related("events")
        .order_by("-created_at")
    )


def user_submissions(user) -> QuerySet[Submission]:
    """Submissions of every team the user belongs to, for the API, newest first."""
    return (
        Submission.objects.filter(team__members__user=user)
        .select_related("phase__challenge", "team")
        .prefetch_related("events")
        .order_by("-created_at")
    )


def submission_results(
    submission: Submission, user, *, viewer: Viewer | None = None
) -> list[dict]:
    """Per split the user may see: the overall metrics and the per-subgroup rows, released,
    with what the page says about them: the ``threshold`` the result was scored at and the
    metrics that depend on it (``decisions``), and the biased metrics shown with an interval
    (``biased``); ``outside`` (per split and per subgroup row) names the values of those that
    lie outside their own interval. ``viewer``: the user on the submission's phase, when the
    caller has it (lists)."""
    results = read_stored(submission.result)
    if not results:
        return []
    viewer = viewer or viewer_for(user, submission.phase)
    splits = []
    for split in released_splits(viewer):
        if split not in results:
            continue
        overall = overall_released(results[split], viewer, submission=submission, split=split)
        subgroups = subgroup_rows(results[split], viewer=viewer, submission=submission,
                                  split=split)
        notes = metric_notes(overall, submission.phase.challenge.task)
        biased = set(notes["biased"])
        for row in subgroups:
            row["outside"] = {m for m, cell in row["metrics"].items()
                              if m in biased and outside_interval(cell)}
        with_interval = {m for m in biased if overall[m].get("ci")} | {
            m for row in subgroups for m, cell in row["metrics"].items()
            if m in biased and cell.get("ci")
        }
        splits.append({
            "name": split,
            "n_cases": results[split].n_cases,
            "overall": overall,
            "subgroups": subgroups,
            "withheld": release_cell({}, viewer=viewer, submission=submission,
                                     split=split).get("reason"),
            # Rows stored before results recorded their threshold were scored at the phase's.
            "threshold": (submission.phase.threshold if results[split].threshold is None
                          else results[split].threshold),
            "decisions": notes["decisions"],
            "biased": [m for m in notes["biased"] if m in with_interval],
            "outside": {m for m in biased if outside_interval(overall[m])},
        })
    return splits


def overall_released(
    result: SplitResult, viewer: Viewer, *, submission: Submission | None = None,
    split: str = "public",
) -> dict[str, dict]:
    """``{metric: {"value", "ci", ...}}`` of one split's result of ``submission``, released."""
    return {
        metric: release_cell(entry.to_dict(), viewer=viewer, submission=submission, split=split)
        for metric, entry in result.overall.items()
    }


def subgroup_rows(
    result: SplitResult, *, viewer: Viewer, submission: Submission | None = None,
    split: str = "public",
) -> list[dict]:
    """Per-subgroup metrics of one split's result as the viewer may see them: the values (and
    the size) of a small group, and of the groups hidden with it, are withheld from everyone
    but the organisers, and all of them where the ladder did not release the submission."""
    rows = []
    for group in result.groups:
        flags = {"small": group.small, "suppressed": group.suppressed}
        shown = release_cell({"n": group.n, **flags}, viewer=viewer, submission=submission,
                             split=split)
        hidden = shown["n"] is None
        rows.append({
            "attribute": group.attribute,
            "group": group.group,
            "n": shown["n"],
            **flags,
            "hidden": hidden,
            "metrics": {} if hidden else {
                metric: release_cell({**entry.to_dict(), **flags}, viewer=viewer,
                                     submission=submission, split=split)
                for metric, entry in group.metrics.items()
            },
        })
    return rows


def quota_remaining(phase, user) -> Remaining | None:
    """What is left of the phase's quota for the user's team now (None if not a participant)."""
    participant = (
        Participant.objects.select_related("team")
        .filter(challenge_id=phase.challenge_id, user=user).first()
        if getattr(user, "is_authenticated", False) else None
    )
    return None if participant is None else remaining(phase, participant.team, timezone.now())


def submission_cost(submission: Submission, user) -> dict | None:
    """The energy and CO2e the submission's fact sheet declares, released; None without one."""
    cost = submission_costs([submission.pk]).get(submission.pk)
    if cost is None:
        return None
    return release_cell(cost, viewer=viewer_for(user, submission.phase))


def api_results_for(user):
    """A reader of ``{split: {metric: {"value", "ci", ...}}}`` per submission for the API,
    released; it looks up who the user is once per challenge, not once per submission."""
    viewer_of = viewer_cache(user)

    def results(submission: Submission) -> dict:
        return {item["name"]: item["overall"] for item in
                submission_results(submission, user, viewer=viewer_of(submission.phase))}

    return results


def team_submission_rows(team: Team, user) -> list[dict]:
    """The team's submissions for its list, newest first, each with its primary metric on the
    public split as the user may see it (released: rounded, withheld under the ladder) and,
    for the submission a phase's primary leaderboard counts, the rank that board shows."""
    submissions = list(team_submissions(team))
    viewer_of = viewer_cache(user)
    counted: dict[int, int | None] = {}
    for phase in {s.phase for s in submissions if s.status == Submission.Status.SCORED}:
        board = phase.leaderboards.filter(is_primary=True).first()
        standing = team_standing(board, team, user) if board is not None else None
        if standing is not None:
            counted[standing[0]] = standing[1]
    rows = []
    for submission in submissions:
        score = None
        results = read_stored(submission.result) if submission.result else {}
        public = results.get("public")
        metric = submission.phase.primary_metric
        if public is not None and metric in public.overall:
            score = release_cell(public.overall[metric].to_dict(),
                                 viewer=viewer_of(submission.phase), submission=submission)
        rows.append({
            "submission": submission, "metric": metric, "score": score,
            "counted": submission.pk in counted, "rank": counted.get(submission.pk),
        })
    return rows
