"""The team page's reads: the merge requests of a team and what each side has used of the quota."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from competitions.models import Phase, Team, TeamMergeRequest
from competitions.quota import Usage, team_usage


@dataclass(frozen=True)
class MergeQuotaRow:
    """One phase that has not ended: what each team used, their sum and the quota."""

    phase: Phase
    ours: Usage
    theirs: Usage

    @property
    def merged(self) -> Usage:
        return self.ours + self.theirs

    @property
    def fits(self) -> bool:
        return (self.merged.today <= self.phase.submissions_per_day
                and self.merged.total <= self.phase.submissions_total)


@dataclass(frozen=True)
class MergeView:
    request: TeamMergeRequest
    other: Team
    quota: list[MergeQuotaRow]


def team_merges(team: Team, now: datetime) -> dict:
    """The team's pending merge requests, incoming (the team may accept) and outgoing (it may
    cancel), each with the quota both sides used in the phases that have not ended; and the
    team's own use, for the request form."""
    phases = list(Phase.objects.filter(challenge_id=team.challenge_id, end__gt=now))
    ours = {phase.pk: team_usage(phase, team, now) for phase in phases}

    def view(request: TeamMergeRequest, other: Team) -> MergeView:
        rows = [MergeQuotaRow(phase, ours[phase.pk], team_usage(phase, other, now))
                for phase in phases]
        return MergeView(request=request, other=other, quota=rows)

    incoming = team.merge_requests_received.select_related("from_team", "requested_by")
    outgoing = team.merge_requests_sent.select_related("into_team", "requested_by")
    return {
        "incoming": [view(r, r.from_team) for r in incoming],
        "outgoing": [view(r, r.into_team) for r in outgoing],
        "own_quota": [(phase, ours[phase.pk]) for phase in phases],
    }
