"""Formula-like names and answers come out of every CSV neutralised; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from django.urls import reverse

from cheetah.safe_csv import SafeWriter, frame_to_csv, neutralised
from competitions.models import Team
from tests.competitions.builders import make_scored, make_teams
from tests.conftest import rank_and_analyse

ATTACKS = ['=HYPERLINK("http://evil.example","win")', "=cmd|' /C calc'!A0", "+1+2", "-1+2",
           "@SUM(A1)", "\t=1", "\r=1", "\0=1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("value", [-3, -0.25, 0, 2.5, True, False, None, "plain", "", "a=b"])
def test_numbers_booleans_and_plain_text_are_left_alone(value):
    assert neutralised(value) == value


def test_the_writer_and_the_frame_writer_neutralise_text_and_keep_negative_numbers(tmp_path):
    out = io.StringIO()
    SafeWriter(out).writerow(["=1+1", -5, -0.5, "ok"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'=1+1", "-5", "-0.5", "ok"]
    frame = pd.DataFrame({"name": ["=1+1", "-x", "ok"], "score": [-1.5, 2.0, -3.0],
                          "count": pd.array([-1, None, 3], dtype="Int64")})
    frame_to_csv(frame, tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv")
    assert back["name"].tolist() == ["'=1+1", "'-x", "ok"]
    assert back["score"].tolist() == [-1.5, 2.0, -3.0]
    assert back["count"].tolist()[0] == -1


@pytest.mark.django_db
def test_a_formula_as_team_name_is_text_in_the_public_leaderboard_csv(client, open_phase):
    team, other = make_teams(open_phase, 2)
    Team.objects.filter(pk=team.team_id).update(name=ATTACKS[1])
    make_scored(open_phase, team, auroc=0.9)
    make_scored(open_phase, other, auroc=0.8)
    rank_and_analyse(open_phase)
    url = reverse("competitions:leaderboard-export",
                  args=[open_phase.challenge.slug, open_phase.slug, "csv"])
    rows = list(csv.DictReader(io.StringIO(client.get(url).content.decode())))
    assert rows[0]["team"] == "'" + ATTACKS[1]
    assert float(rows[0]["auroc"]) == pytest.approx(0.9)
