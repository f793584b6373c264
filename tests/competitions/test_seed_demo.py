"""The demo seed builds a complete challenge from the flchain data, and running it twice is safe."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import User
from competitions.models import (
    Challenge,
    DataFile,
    FactSheet,
    Participant,
    Phase,
    Submission,
    Team,
)

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Challenge, Phase, DataFile, Team, Participant, Submission)
    }


def test_seeding_twice_creates_nothing_new():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _counts() == first
    assert first["Submission"] == 4
    assert first["Team"] == 4  # alice and bob share one


def test_the_demo_challenge_has_subgroups_a_team_and_queued_submissions():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    phase = Phase.objects.get(challenge__slug="flchain-mortality")
    assert phase.truth_attributes == ["age_band", "kidney_function", "sex"]
    assert phase.truth_n_cases > 3000
    team = Team.objects.get(name="Light Chain Gang")
    assert sorted(team.members.values_list("user__username", flat=True)) == ["alice", "bob"]
    assert set(Submission.objects.values_list("status", flat=True)) == {"queued"}
    assert User.objects.get(username="organiser").groups.filter(name="Organisers").exists()
    # Declared compute for the Compute page: all four demo submissions, with a grid intensity.
    assert FactSheet.objects.filter(hardware__gt="").count() == 4
    assert phase.effective_grid_intensity == 300.0
