"""The demo seed adds a study with consent, a pre- and a post-survey, answers, a withdrawal and
the demo researcher; seeding twice creates nothing new."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from django.core.management import call_command
from django.urls import reverse

from surveys import dataset
from surveys.dataset import build
from surveys.item_bank import ITEMS
from surveys.models import (
    ArmAssignment,
    ConsentDecision,
    ConsentVersion,
    GridRow,
    Question,
    Response,
    Study,
    Survey,
)

pytestmark = pytest.mark.django_db

MODELS = (Study, ConsentVersion, ConsentDecision, Survey, Question, Response, ArmAssignment)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_study_is_seeded_once_with_a_withdrawn_participant(client, monkeypatch):
    call_command("seed_demo", stdout=io.StringIO())
    first = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == first
    study = Study.objects.get(slug="who-takes-part")
    assert set(study.surveys.values_list("slug", flat=True)) == {"pre", "post"}
    assert first["Response"] == 4  # erin withdrew: her answers are gone
    assert first["ArmAssignment"] == 5
    # Four rows never form groups of five, so the export withholds the arm (tested below); set
    # disclosure control aside to see which arms are linked.
    monkeypatch.setattr(dataset, "protect", lambda frame, groups, threshold: (frame, None, {}))
    wide = build(study).wide
    assert len(wide) == 4 and isinstance(wide, pd.DataFrame)
    # The design arm is exported for those who consented to linking (alice, bob, carol).
    assert wide["arm"].notna().sum() == 3 and set(wide["arm"].dropna()) <= {1, 2}
    assert client.login(username="researcher", password="cheetah-demo")
    assert client.get(reverse("surveys:study", args=[study.slug])).status_code == 200
    assert client.get(reverse("admin:surveys_survey_changelist")).status_code == 200
    client.logout()
    assert client.login(username="organiser", password="cheetah-demo")
    assert client.get(reverse("surveys:study", args=[study.slug])).status_code == 404


def test_the_demo_shows_real_wording_and_its_export_withholds_what_would_single_out():
    call_command("seed_demo", stdout=io.StringIO())
    # Participants read sentences, not placeholders; the admin marks them as example wording.
    texts = [*Question.objects.values_list("text", flat=True)]
    texts += GridRow.objects.values_list("text", flat=True)
    assert texts and not [t for t in texts if "[" in t or "paste" in t.lower()]
    for key in ("belonging", "self_efficacy"):
        assert "example wording" in ITEMS[key].title
    study = Study.objects.get(slug="who-takes-part")
    data = build(study)
    report = data.disclosure
    # Four participants can never form groups of five: the codebook warns, and nothing that
    # tells them apart (the only two-person team among them) is released.
    assert report.k_before == 1 and report.k == 4 and report.below_threshold
    quasi = [c for cols in report.quasi_identifiers.values() for c in cols]
    assert {"joined_at", "team_size", "n_submissions", "rank_band", "arm", "pre_age_band"} <= set(
        quasi
    )
    shown = data.wide[quasi]
    assert (shown.isna() | (shown == "")).all(axis=None)
