"""The one release path: what a participant or the public may see of a phase's numbers.

Every number shown outside the organisers' workplace — pages, the in-place refresh fragments,
the API, CSV/JSON downloads, the results, entry, similarity and compute pages, the study
export — passes through ``release_cell`` on its way out. Pages, the API and the exports never
apply a visibility rule themselves; a new rule (rounding, a ladder, secondary suppression) is
added here, once, and holds everywhere.

The rules today:

- organisers of the challenge see everything, exactly;
- while a phase hides its scores (``Phase.scores_hidden``), no one else sees any of its numbers;
- under the ladder (``Phase.release_policy``), a submission that was not released
  (``competitions.worker.ladder``) shows no public-split value of its own, and says why;
- every number anyone else sees is rounded to the phase's ``release_decimals`` (3 by default),
  JSON and ``data-*`` attributes included: no released value carries more digits than the page
  shows (exact digits spell labels: a Brier score of 0.5 − 2⁻ᵏ probes reads them in binary);
- a small group's values, its size and its counts are withheld (they can reveal individual
  labels): the viewer learns that the group is small; so are those of the groups hidden with
  it so that it cannot be derived by subtraction, and every rank, score or summary computed
  from them (``suppressed``; the rule is ``scoring.suppression``'s, see docs/security.md);
- the private split is shown only after the phase ends (``released_splits``);
- a study's design arm decides which leaderboards a person sees (``released_boards``);
- a team that chose to be anonymous, and every team of a challenge in course mode, is
  "Anonymous team (n)" to everyone but its members and the organisers (``released_names``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils.translation import gettext as _

from competitions.hooks import visible_leaderboards
from competitions.models import Leaderboard, Participant, Phase, Submission
from competitions.permissions import is_organiser

# Keys of a cell that are not numbers about the data: kept when the numbers are withheld.
_LABEL_KEYS = frozenset({"group", "attribute", "label", "small", "suppressed", "reason", "column",
                         "team", "team_id", "submission", "submitted_at", "css", "measure",
                         "id"})


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a phase: the user, whether they organise it, their teams."""

    user: Any
    phase: Phase
    organiser: bool
    team_ids: frozenset[int] = field(default_factory=frozenset)
    # The challenge is a class's: students see no other student's name (Challenge.course_mode).
    course_mode: bool = False
    # The viewer's teams that others see as "Anonymous team" (they chose to be, or course mode).
    masked_team_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def scores_visible(self) -> bool:
        return self.organiser or not self.phase.scores_hidden


def viewer_for(user, phase: Phase) -> Viewer:
    """The viewer ``user`` is on ``phase`` (anonymous users included)."""
    memberships: list[tuple[int, bool]] = []
    if getattr(user, "is_authenticated", False):
        memberships = list(
            Participant.objects.filter(challenge_id=phase.challenge_id, user=user)
            .values_list("team_id", "team__anonymous")
        )
    course_mode = phase.challenge.course_mode
    return Viewer(user=user, phase=phase, organiser=is_organiser(user, phase.challenge),
                  team_ids=frozenset(team for team, _anonymous in memberships),
                  course_mode=course_mode,
                  masked_team_ids=frozenset(team for team, anonymous in memberships
                                            if anonymous or course_mode))


def release_audience(viewer: Viewer) -> str:
    """Who else sees exactly what ``viewer`` sees of a phase's leaderboards, as a cache key part:
    ``organiser`` (every organiser sees everything), ``team:<ids>`` (members of a team that is
    anonymous to others: they alone see its name) or ``public`` (everyone else: the same
    names, numbers and withheld cells as a visitor who is not signed in). Whatever a rule of
    this module makes depend on the viewer must be told apart here."""
    if viewer.organiser:
        return "organiser"
    if viewer.masked_team_ids:
        return "team:" + ",".join(str(team) for team in sorted(viewer.masked_team_ids))
    return "public"


def viewer_cache(user):
    """``viewer(phase)`` for lists over many phases: who the user is on a challenge (organiser,
    teams) is looked up once per challenge, not once per phase or row."""
    known: dict[int, Viewer] = {}

    def viewer(phase: Phase) -> Viewer:
        found = known.get(phase.challenge_id)
        found = replace(found, phase=phase) if found else viewer_for(user, phase)
        known[phase.challenge_id] = found
        return found

    return viewer


def release_cell(
    cell: Mapping[str, Any], *, viewer: Viewer, submission: Submission | None = None,
    split: str = "public",
) -> dict[str, Any]:
    """``cell`` as ``viewer`` may see it: a copy, with every number withheld (``None``) where a
    rule hides it and ``reason`` saying why, and the rest rounded to the phase's release
    resolution. A cell is any mapping of numbers with optional labels; ``small`` marks a small
    group's cell, ``suppressed`` one hidden with it (secondary suppression,
    ``scoring.suppression``) or a number that would reveal one (a rank on it). ``submission``:
    the one submission whose own values the cell holds (its results on ``split``), for the
    ladder's rule; leaderboard rows are released ones."""
    if viewer.organiser:
        return dict(cell)
    if not viewer.scores_visible:
        return _withheld(cell, _("scores hidden"))
    if cell.get("small"):
        return _withheld(cell, _("small group"))
    if cell.get("suppressed"):
        return _withheld(cell, _("hidden to protect a small group"))
    held = _held_by_ladder(viewer.phase, submission, split)
    if held:
        return _withheld(cell, held)
    return _rounded(cell, viewer.phase.release_decimals)


def release_value(value: Any, *, viewer: Viewer, small: bool = False,
                  suppressed: bool = False) -> Any:
    """One number through ``release_cell``: the value, or ``None`` where it is withheld."""
    return release_cell({"value": value, "small": small, "suppressed": suppressed},
                        viewer=viewer)["value"]


def release_policy_text(phase: Phase) -> str:
    """The phase's release policy in plain words, for the leaderboard and submission pages."""
    decimals = phase.release_decimals
    if phase.release_policy == Phase.ReleasePolicy.LADDER:
        return _(
            "Scores are shown to %(d)d decimals. Your first submission's public scores are "
            "shown; a later one's only when it is significantly better than your best shown "
            "one (the 95%% interval of the improvement on the leaderboard's first ranked "
            "column, over the public cases, lies above zero). Otherwise the page says it was "
            "not significantly better, and the leaderboard keeps your best. The final private "
            "ranking uses every submission."
        ) % {"d": decimals}
    return _("Every submission's public scores are shown, to %(d)d decimals.") % {"d": decimals}


def _held_by_ladder(phase: Phase, submission: Submission | None, split: str) -> str | None:
    if (submission is None or split != "public" or submission.released is not False
            or phase.release_policy != Phase.ReleasePolicy.LADDER):
        return None
    return submission.release_note or _("not significantly better than your best")


def _rounded(cell: Mapping[str, Any], decimals: int) -> dict[str, Any]:
    return {key: value if key in _LABEL_KEYS else _round(value, decimals)
            for key, value in cell.items()}


# Types that are never rounded: checked by identity first, since a 1,000-team page rounds tens
# of thousands of values and the numbers ABCs below are slow to test against.
_KEPT = frozenset({int, bool, str, type(None)})


def _round(value: Any, decimals: int) -> Any:
    """Floats rounded (nested lists and mappings too); integers, booleans and text as they are."""
    kind = type(value)
    if kind is float:
        return round(value, decimals) if math.isfinite(value) else value
    if kind in _KEPT:
        return value
    if kind is dict or isinstance(value, Mapping):
        return _rounded(value, decimals)
    if kind is list or kind is tuple:
        return [_round(item, decimals) for item in value]
    if isinstance(value, numbers.Integral):  # numpy integers
        return value
    if isinstance(value, numbers.Real):  # numpy floats
        return _round(float(value), decimals)
    return value


def _withheld(cell: Mapping[str, Any], reason: str) -> dict[str, Any]:
    hidden = {key: (value if key in _LABEL_KEYS else None) for key, value in cell.items()}
    hidden["reason"] = reason
    return hidden


def released_splits(viewer: Viewer) -> list[str]:
    """Which splits the viewer may see: public always; private, where the ground truth has one,
    after the end or to organisers."""
    phase = viewer.phase
    splits = ["public"]
    if phase.has_private_cases and (phase.has_ended or viewer.organiser):
        splits.append("private")
    return splits


def released_boards(viewer: Viewer, boards: Sequence[Leaderboard]) -> list[Leaderboard]:
    """The phase's leaderboards the viewer sees: organisers all; others as a study's design arm
    (if any) decides."""
    boards = list(boards)
    if viewer.organiser:
        return boards
    return visible_leaderboards(viewer.user, viewer.phase, boards)


def released_names(
    viewer: Viewer, names: Sequence[str], team_ids: Sequence[int], anonymous: Sequence[bool]
) -> list[str]:
    """Team names as the viewer may see them: a team that chose to be anonymous — in course
    mode every team, as teams are named after their students — is "Anonymous team (n)" to
    everyone but its members and the organisers (n numbers them in this list)."""
    if viewer.organiser:
        return list(names)
    labels, masked = [], 0
    for name, team_id, hidden in zip(names, team_ids, anonymous, strict=True):
        if (hidden or viewer.course_mode) and team_id not in viewer.team_ids:
            masked += 1
            labels.append(_("Anonymous team (%(n)d)") % {"n": masked})
        else:
            labels.append(name)
    return labels
