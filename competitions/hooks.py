"""Extension points that other apps (surveys) plug into, so that competitions never imports them.

An app registers its callables in its ``AppConfig.ready``. Competitions calls them at the few
places where a study may take part in a participant's path:

- ``submit_gates``: before a submission is accepted. A gate returns a message that says why the
  user may not submit yet, or ``None``; the submit page shows it above the upload form. Research
  consent is never a gate: taking part in a challenge must not depend on it (GDPR Art. 7(4)),
  so surveys registers none.
- ``leaderboard_filters``: which of a phase's leaderboards a user sees (a design arm of a study
  may show one arm the single-metric leaderboard and the other the subgroup-aware one).
- ``participant_joined``: sent after a user joins a challenge.
- ``demo_seeded``: sent at the end of ``seed_demo`` (a study may add its demo data).
- ``study_slugs``: the slug of the study attached to a challenge, which its bundle names
  (docs/bundles.md); competitions cannot look it up itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.dispatch import Signal

SubmitGate = Callable[[Any, Any], str | None]
LeaderboardFilter = Callable[[Any, Any, list], list]
StudySlug = Callable[[Any], str | None]

submit_gates: list[SubmitGate] = []
leaderboard_filters: list[LeaderboardFilter] = []
study_slugs: list[StudySlug] = []

#: Sent with ``participant`` (a ``competitions.Participant``) once the join has committed.
participant_joined = Signal()

#: Sent with ``challenge`` (the demo ``competitions.Challenge``) at the end of ``seed_demo``;
#: receivers must be idempotent, as the seed is.
demo_seeded = Signal()


def submit_refusal(user, challenge) -> str | None:
    """The first gate's reason why ``user`` may not submit to ``challenge``, or ``None``."""
    for gate in submit_gates:
        reason = gate(user, challenge)
        if reason:
            return reason
    return None


def visible_leaderboards(user, phase, leaderboards: Sequence) -> list:
    """The leaderboards of ``phase`` that ``user`` sees, after every registered filter."""
    boards = list(leaderboards)
    for keep in leaderboard_filters:
        boards = keep(user, phase, boards)
    return boards


def study_slug(challenge) -> str | None:
    """The slug of the study attached to ``challenge`` (the first hook's answer), or ``None``."""
    for lookup in study_slugs:
        slug = lookup(challenge)
        if slug:
            return slug
    return None
