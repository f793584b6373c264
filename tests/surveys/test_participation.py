"""The funnel and retention of a study built from the database: a hand count on the demo
study, its research page and the two files of its export."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from competitions.models import Participant, Submission
from surveys import services
from surveys.dataset import pseudonym
from surveys.models import (
    Answer,
    Arm,
    ArmAssignment,
    ConsentItem,
    Question,
    Response,
    Study,
    Survey,
)
from surveys.participation import (
    group_variables,
    research_page,
    study_participation,
    study_people,
)
from surveys.services import study_export_zip
from tests.factories import ParticipantFactory, PhaseFactory, TeamFactory
from tests.surveys.conftest import ALL_YES, SurveyFactory

pytestmark = pytest.mark.django_db

# Research use: alice, bob, carol, dave (erin withdrew); linking: alice, bob, carol.
CONSENTING = ("alice", "bob", "carol", "dave")
LINKED = ("alice", "bob", "carol")
ARM_STAGES = ("consented", "submitted", "submitted_3", "active", "post_survey")


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=io.StringIO())
    return Study.objects.get(slug="who-takes-part")


def test_the_demo_funnel_and_retention_match_a_hand_count(demo):
    arm_of = dict(
        ArmAssignment.objects.filter(study=demo).values_list("user__username", "arm__name")
    )
    genders = {
        a.response.user.username: a.question.options.get(code=a.codes[0]).label
        for a in Answer.objects.filter(
            question__variable="gender", declined=False, response__survey__slug="pre"
        ).select_related("response__user", "question")
    }
    result = study_participation(demo, threshold=1, variable="pre_gender")
    funnel = result.funnel
    # Joined: the five demo participants; the organiser, who entered the baseline team, is not
    # a competitor the study measures.
    assert (funnel.joined, funnel.consented) == (5, 4)
    assert funnel.arms == tuple(demo.arms.order_by("slug").values_list("name", flat=True))
    for arm in funnel.arms:
        mine = [u for u in CONSENTING if arm_of[u] == arm]
        # Each uploaded one submission at the seed, the phase runs 60 more days (so all are
        # active) and its post-survey is not answered yet.
        n = len(mine)
        assert [funnel.cell(arm, s).count for s in ARM_STAGES] == [n, n, 0, n, 0]
        for group in funnel.groups:
            answered = [u for u in mine if genders.get(u) == group]
            linked = [u for u in answered if u in LINKED]
            cell = funnel.cell
            assert cell(arm, "answered", group).count == len(answered)
            assert cell(arm, "linked", group).count == len(linked)
            assert cell(arm, "submitted", group).count == len(linked)
    assert set(funnel.groups) == {genders[u] for u in CONSENTING if u in genders}
    # Nobody has dropped out yet: every curve is censored throughout.
    assert all(sum(c.events) == 0 for c in result.retention.curves)
    assert sum(c.n for c in result.retention.curves if c.group is None) == 4


def test_the_research_page_shows_the_funnel_split_by_a_question(demo, client):
    assert "pre_gender" in group_variables(demo)
    assert client.login(username="researcher", password="cheetah-demo")
    page = client.get(reverse("surveys:study", args=[demo.slug]), {"by": "pre_gender"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Participation funnel and retention per arm" in html
    assert all(arm.name in html for arm in demo.arms.all())
    assert 'value="pre_gender" selected' in html
    # Every arm of the demo has fewer than 5 consenting people: no count or curve is shown.
    assert "log-rank test not shown" in html


def test_the_export_holds_funnel_and_retention_with_small_cells_withheld(demo):
    researcher = demo.researchers.get()
    archive = zipfile.ZipFile(io.BytesIO(study_export_zip(study=demo, user=researcher)))
    names = set(archive.namelist())
    assert {f"{demo.slug}/funnel.csv", f"{demo.slug}/retention.csv"} <= names
    funnel = pd.read_csv(archive.open(f"{demo.slug}/funnel.csv"))
    totals = funnel[funnel["arm"] == "all"].set_index("stage")["count"]
    # 5 joined (the organiser's baseline team left out); 4 < 5 consented: withheld.
    assert totals["joined"] == 5 and pd.isna(totals["consented"])
    arms = funnel[funnel["arm"] != "all"]
    assert (arms["count"].isna() | (arms["count"] == 0)).all()  # no arm reaches 5 here
    assert arms["share"].isna().all()
    assert set(funnel["variable"].fillna("")) >= {"", "pre_gender"}
    codebook = archive.read(f"{demo.slug}/codebook.md").decode()
    assert "## funnel.csv and retention.csv" in codebook


def test_the_people_table_reads_only_what_the_rules_allow(study, survey):
    now = timezone.now()
    phase = PhaseFactory(challenge=study.challenge, start=now - timedelta(days=40),
                         end=now - timedelta(days=1))
    post = SurveyFactory(study=study, slug="post", trigger=Survey.Trigger.PHASE_END, phase=phase)
    for slug in ("a", "b"):
        Arm.objects.create(study=study, slug=slug, name=f"Arm {slug}")
    version = study.consent_versions.get()
    users = {}
    for name, choices in (
        ("ann", ALL_YES),
        ("ben", {ConsentItem.PARTICIPATE: True, ConsentItem.RESEARCH: True}),
        ("cy", {ConsentItem.PARTICIPATE: True}),  # no research use
    ):
        user = ParticipantFactory(team=TeamFactory(challenge=study.challenge)).user
        services.consent_record(user=user, study=study, version=version, choices=choices)
        services.arm_assign(study=study, user=user)
        users[name] = user
    # An organiser who entered a baseline team joined too, and consented: not a competitor.
    organiser = ParticipantFactory(team=TeamFactory(challenge=study.challenge)).user
    study.challenge.organisers.add(organiser)
    services.consent_record(user=organiser, study=study, version=version, choices=ALL_YES)
    Participant.objects.update(joined_at=now - timedelta(days=30))
    team_of = {name: Participant.objects.get(user=u).team for name, u in users.items()}

    def submit(name, days_ago, status=Submission.Status.QUEUED):
        Submission.objects.create(
            phase=phase, team=team_of[name], created_by=users[name], file="x.csv",
            original_name="x.csv", status=status, created_at=now - timedelta(days=days_ago),
        )

    submit("ann", 20)
    submit("ann", 10, Submission.Status.FAILED)  # an attempt counts
    submit("ann", 3)
    submit("ben", 25)
    submit("cy", 2)
    Response.objects.create(survey=post, user=users["ann"], completed_at=now)
    Response.objects.create(survey=post, user=users["ben"])  # not completed
    gender = Question.objects.get(section__survey=survey, variable="gender")
    for name, declined in (("ann", False), ("ben", True)):
        response = Response.objects.create(survey=survey, user=users[name], completed_at=now)
        Answer.objects.create(response=response, question=gender, codes=[] if declined else [1],
                              declined=declined)

    people = study_people(study, phase, variable="pre_gender").set_index("person")
    row = {name: people.loc[pseudonym(study, u.pk)] for name, u in users.items()}
    assert len(people) == 3 and pseudonym(study, organiser.pk) not in people.index
    assert (row["ann"]["n_submissions"], row["ben"]["n_submissions"]) == (3, 1)
    assert row["ann"]["last_submission_at"] == now - timedelta(days=3)
    assert (row["ann"]["post_survey"], row["ben"]["post_survey"]) == (True, False)
    assert row["ann"]["group"] == "Woman" and pd.isna(row["ben"]["group"])  # ben declined
    assert (row["ann"]["linked"], row["ben"]["linked"]) == (True, False)
    # Of someone without research consent only the join is read.
    assert not row["cy"]["consented"]
    assert pd.isna(row["cy"]["arm"]) and row["cy"]["n_submissions"] == 0
    result = study_participation(study, threshold=1, variable="pre_gender")
    assert (result.funnel.joined, result.funnel.consented) == (3, 2)
    # ann was active in the phase's last 7 days; ben's last submission is a drop-out.
    events = {c.arm: sum(c.events) for c in result.retention.curves if c.group is None and c.n}
    assert sorted(events.values()) == [0, 1]
    # The page's part, with every cell shown: bars, step lines and their tables.
    html = render_to_string(
        "surveys/_participation.html",
        {"participation": research_page(study, variable="pre_gender", threshold=1)},
    )
    assert "<polyline" in html and "Woman" in html and "log-rank χ²" in html


def test_the_data_package_describes_funnel_and_retention_and_validates(demo, tmp_path):
    from frictionless import Package

    researcher = demo.researchers.get()
    zipfile.ZipFile(io.BytesIO(study_export_zip(study=demo, user=researcher))).extractall(tmp_path)
    folder = tmp_path / demo.slug
    descriptor = json.loads((folder / "datapackage.json").read_text())
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert {"funnel", "retention"} <= set(resources)
    fields = {f["name"]: f["type"] for f in resources["funnel"]["schema"]["fields"]}
    assert fields["stage"] == "string" and fields["count"] in {"integer", "number"}
    assert list(fields) == list(pd.read_csv(folder / "funnel.csv").columns)
    report = Package(str(folder / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
