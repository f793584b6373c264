"""Research exports: who appears, what the files hold, and that SPSS, Stata and Frictionless
read them back with their labels."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pandas as pd
import pyreadstat
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from competitions import release
from surveys import dataset, services
from surveys.dataset import pseudonym, rank_band
from surveys.export import FILES
from surveys.models import ExportLog, Question, Response
from tests.competitions.builders import make_scored
from tests.conftest import rank_and_analyse
from tests.factories import ParticipantFactory, PhaseFactory, UserFactory
from tests.surveys.conftest import ALL_YES, StudyFactory, store_answer

pytestmark = pytest.mark.django_db


def _respond(survey, user, **answers):
    """Store answers directly: {variable: codes list | number | text | "decline"}."""
    response = Response.objects.create(survey=survey, user=user, pages_seen=2)
    for variable, value in answers.items():
        question = Question.objects.get(section__survey=survey, variable=variable)
        store_answer(response, question, value)
    return response


@pytest.fixture
def people(study, survey):
    """ann: everything; ben: research only; cat: no research consent; all answered."""
    version = study.consent_versions.get()
    made = {}
    for name, choices in (
        ("ann", ALL_YES),
        ("ben", {"participate": True, "research": True}),
        ("cat", {"participate": True, "research": False}),
    ):
        user = ParticipantFactory(
            team__challenge=study.challenge,
            user__username=f"{name}_zq",
            user__email=f"{name}.zq@uni.example",
        ).user
        services.consent_record(user=user, study=study, version=version, choices=choices)
        made[name] = user
    _respond(
        survey, made["ann"], gender=[4], langs=[1, 3], before=[1], ncomp=3.0, why="I know Dr Smith"
    )
    made["ann"].survey_responses.get().answers.filter(question__variable="gender").update(
        text="agender"
    )
    _respond(survey, made["ben"], gender="decline", before=[0], why="")
    _respond(survey, made["cat"], gender=[1], before=[1])
    return made


@pytest.fixture
def exported(study, people, tmp_path):
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    return tmp_path


def test_only_participants_with_research_consent_appear_under_stable_pseudonyms(
    study, people, exported
):
    wide = pd.read_csv(exported / "responses_wide.csv")
    expected = sorted(pseudonym(study, people[n].pk) for n in ("ann", "ben"))
    assert sorted(wide["pseudonym"]) == expected
    other_study = StudyFactory(challenge=study.challenge)
    assert pseudonym(other_study, people["ann"].pk) != pseudonym(study, people["ann"].pk)


def test_no_identifying_field_appears_in_any_export_file(people, exported):
    for name in FILES:
        content = (exported / name).read_bytes()
        for user in people.values():
            for secret in (user.username, user.email, user.display_name):
                assert secret.encode() not in content, (name, secret)


def test_missing_answers_are_coded_and_multiple_choice_is_one_column_per_option(
    study, people, exported
):
    wide = pd.read_csv(exported / "responses_wide.csv").set_index("pseudonym")
    ann, ben = (wide.loc[pseudonym(study, people[n].pk)] for n in ("ann", "ben"))
    assert ann["pre_gender"] == 4 and ann["pre_gender_txt"] == "agender"
    assert (ann["pre_langs_1"], ann["pre_langs_2"], ann["pre_langs_3"]) == (1, 0, 1)
    assert ann["pre_ncomp"] == 3.0
    assert ben["pre_gender"] == -99  # prefer not to say
    assert ben["pre_langs_1"] == -98  # shown, not answered
    assert ben["pre_ncomp"] == -97  # hidden: the condition was "before = 1"
    assert pd.isna(ben["joined_at"])  # linking consent only (ann's is withheld: see below)


def test_the_sav_reads_back_with_variable_labels_value_labels_and_missing_codes(
    study, people, exported
):
    frame, meta = pyreadstat.read_sav(str(exported / "responses.sav"), user_missing=True)
    labels = meta.column_names_to_labels
    assert labels["pre_gender"] == "Gender" and labels["pseudonym"].startswith("Participant")
    values = meta.variable_value_labels["pre_gender"]
    assert values[1.0] == "Woman" and values[-99.0] == "prefer not to say"
    assert {r["lo"] for r in meta.missing_ranges["pre_gender"]} == {-97.0, -98.0, -99.0}
    plain, _ = pyreadstat.read_sav(str(exported / "responses.sav"))
    ben = plain[plain["pseudonym"] == pseudonym(study, people["ben"].pk)].iloc[0]
    assert pd.isna(ben["pre_gender"])  # declared missing: SPSS does not count it as a value


def test_the_dta_reads_back_labelled_with_extended_missing_values(study, people, exported):
    frame, meta = pyreadstat.read_dta(str(exported / "responses.dta"), user_missing=True)
    assert meta.column_names_to_labels["pre_before"] == "Before"
    assert meta.variable_value_labels["pre_before"] == {
        1: "Yes",
        0: "No",
        "a": "not shown (skipped by a condition)",
        "b": "shown but not answered",
        "c": "prefer not to say",
    }
    ben = frame[frame["pseudonym"] == pseudonym(study, people["ben"].pk)].iloc[0]
    assert (ben["pre_gender"], ben["pre_langs_1"], ben["pre_ncomp"]) == ("c", "b", "a")


def test_the_data_package_is_valid_v2_with_categories(exported):
    from frictionless import Package

    descriptor = json.loads((exported / "datapackage.json").read_text())
    assert descriptor["$schema"].endswith("/2.0/datapackage.json")
    fields = {f["name"]: f for f in descriptor["resources"][0]["schema"]["fields"]}
    assert {"value": 2, "label": "Man"} in fields["pre_gender"]["categories"]
    assert "possibly identifying" in fields["pre_why"]["description"]
    report = Package(str(exported / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_the_codebook_documents_every_variable_and_the_missing_codes(exported):
    wide = pd.read_csv(exported / "responses_wide.csv")
    codebook = (exported / "codebook.md").read_text()
    for column in wide.columns:
        assert f"### `{column}`" in codebook
    assert "| -97 | .a |" in codebook and "possibly identifying" in codebook


def test_withdrawn_participant_is_absent_from_next_export(study, people, tmp_path):
    services.consent_withdraw(user=people["ann"], study=study)
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    wide = pd.read_csv(tmp_path / "responses_wide.csv")
    assert pseudonym(study, people["ann"].pk) not in set(wide["pseudonym"])
    long = pd.read_csv(tmp_path / "responses_long.csv")
    assert pseudonym(study, people["ann"].pk) not in set(long["pseudonym"])


def test_special_category_answers_need_explicit_consent(study, survey, people, tmp_path):
    Question.objects.filter(variable="gender").update(special_category=True)
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    wide = pd.read_csv(tmp_path / "responses_wide.csv").set_index("pseudonym")
    assert wide.loc[pseudonym(study, people["ann"].pk), "pre_gender"] == 4
    assert pd.isna(wide.loc[pseudonym(study, people["ben"].pk), "pre_gender"])


def test_every_export_is_logged_and_list_prints_the_slugs(study, people, tmp_path):
    out = io.StringIO()
    call_command("export_study", "--list", stdout=out)
    assert study.slug in out.getvalue()
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    log = ExportLog.objects.get()
    assert (log.study, log.via, log.rows) == (study, "command", 2)
    with pytest.raises(CommandError, match="No study is called"):
        call_command("export_study", "nope", "--out", str(tmp_path))


@pytest.mark.parametrize(
    ("rank", "teams", "band"),
    [
        (1, 10, 1),
        (2, 10, 2),
        (3, 20, 2),
        (5, 20, 2),
        (6, 20, 3),
        (10, 20, 3),
        (11, 20, 4),
        (1, 9, None),
    ],
)
def test_rank_bands_follow_the_issue_and_stay_blank_under_ten_teams(rank, teams, band):
    assert rank_band(rank, teams) == band


# --- Permissions ---------------------------------------------------------------------------

PAGES = ("surveys:study", "surveys:export", "surveys:contacts")


@pytest.mark.parametrize("page", PAGES)
def test_study_pages_are_for_the_study_researchers_only(study, people, researcher, client, page):
    url = reverse(page, args=[study.slug])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    organiser = UserFactory(username="olga", is_staff=True)
    study.challenge.organisers.add(organiser)
    other = UserFactory(username="otto", is_staff=True)
    StudyFactory(challenge=study.challenge).researchers.add(other)
    for user in (people["ann"], organiser, other):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.force_login(researcher)
    assert client.get(url).status_code == 200


def test_the_web_export_is_a_zip_of_the_six_files_and_is_logged(study, people, researcher, client):
    client.force_login(researcher)
    body = client.get(reverse("surveys:export", args=[study.slug])).content
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert sorted(names) == sorted(f"{study.slug}/{n}" for n in FILES)
    assert ExportLog.objects.get().user == researcher


def test_the_contact_list_is_apart_and_holds_only_those_who_agreed(
    study, people, researcher, client
):
    client.force_login(researcher)
    page = client.get(reverse("surveys:contacts", args=[study.slug]) + "?format=csv")
    lines = page.content.decode().strip().splitlines()
    assert lines == ["name,email", "Ann_Zq,ann.zq@uni.example"]
    assert pseudonym(study, people["ann"].pk).encode() not in page.content


def test_aggregate_tables_suppress_cells_under_five(study, people, researcher, client):
    client.force_login(researcher)
    page = client.get(reverse("surveys:study", args=[study.slug])).content.decode()
    assert "fewer than 5 respondents" in page and "Woman" not in page


def test_the_study_page_needs_a_bounded_number_of_queries(
    study, people, researcher, client, django_assert_max_num_queries
):
    client.force_login(researcher)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("surveys:study", args=[study.slug])).status_code == 200


def test_a_study_nobody_answered_exports_empty_but_valid_files(study, survey, tmp_path):
    out = io.StringIO()
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=out)
    assert "0 participants exported" in out.getvalue()
    frame, meta = pyreadstat.read_sav(str(tmp_path / "responses.sav"))
    assert len(frame) == 0 and "pseudonym" in meta.column_names
    assert pd.read_csv(tmp_path / "responses_wide.csv").empty


def _ranked_field(study, people) -> None:
    """A phase of the study's challenge with twelve ranked teams, ann's and ben's among them."""
    phase = PhaseFactory(challenge=study.challenge)
    members = [p for p in study.challenge.participants.all() if p.user_id in
               (people["ann"].pk, people["ben"].pk)]
    others = [ParticipantFactory(team__challenge=study.challenge) for _ in range(10)]
    for i, member in enumerate([*members, *others]):
        make_scored(phase, member, auroc=0.95 - i * 0.01)
    rank_and_analyse(phase)


def test_the_rank_band_of_the_export_is_released_like_the_public_leaderboard(
    study, people, monkeypatch
):
    _ranked_field(study, people)
    # Two rows can never form groups of five: disclosure control (tested below) is set aside.
    monkeypatch.setattr(dataset, "protect", lambda frame, groups, threshold: (frame, None, {}))
    bands = dataset.build(study).wide["rank_band"]
    # ann ranks first of 12 and agreed to linking her activity; ben did not, so he has none.
    assert bands.dropna().astype(int).tolist() == [1]
    # The export takes its ranks through the release step: what it withholds, the export lacks.
    monkeypatch.setattr(release, "release_cell",
                        lambda cell, *, viewer: release._withheld(cell, "withheld"))
    assert dataset.build(study).wide["rank_band"].isna().all()


def test_formula_like_answers_and_names_are_text_in_the_csv_exports(
    study, survey, people, researcher, client, tmp_path
):
    attack = "=cmd|' /C calc'!A0"
    people["ann"].survey_responses.get().answers.filter(question__variable="why").update(
        text=attack
    )
    people["ann"].display_name = "=HYPERLINK(\"http://evil.example\",\"x\")"
    people["ann"].first_name, people["ann"].last_name = "", ""
    people["ann"].save()
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    wide = pd.read_csv(tmp_path / "responses_wide.csv")
    long = pd.read_csv(tmp_path / "responses_long.csv")
    assert "'" + attack in wide.astype(str).to_numpy()
    assert "'" + attack in long["text"].tolist()
    assert sorted(wide["pre_ncomp"].tolist()) == [-97, 3.0]  # numbers stay numbers, negatives too
    assert (long["missing"].dropna() < 0).any()  # negative missing codes are not prefixed
    assert pd.read_spss(tmp_path / "responses.sav").astype(str).isin([attack]).any().any()
    client.force_login(researcher)
    page = client.get(reverse("surveys:contacts", args=[study.slug]) + "?format=csv")
    contact = next(csv.DictReader(io.StringIO(page.content.decode())))
    assert contact["name"] == "'" + people["ann"].display_name


# --- Types, levels and rules (issue 14, item 5) -------------------------------------------


@pytest.fixture
def typed_export(study, survey, people, tmp_path):
    Question.objects.filter(variable="ncomp").update(whole_number=True)
    Question.objects.filter(variable="before").update(ordered=True)
    call_command("export_study", study.slug, "--out", str(tmp_path), stdout=io.StringIO())
    return tmp_path


def _sections(codebook: str) -> dict[str, str]:
    parts = re.split(r"^### `([^`]+)`$", codebook, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_codebook_states_every_variables_rule_and_when_the_rank_band_is_empty(
    typed_export,
):
    wide = pd.read_csv(typed_export / "responses_wide.csv")
    sections = _sections((typed_export / "codebook.md").read_text())
    assert set(sections) == set(wide.columns)
    for name, text in sections.items():
        rule = re.search(r"^- rule: (.+)$", text, flags=re.M)
        assert rule and len(rule.group(1)) > 20, name
    rank = sections["rank_band"]
    assert "fewer than 10 teams" in rank and "0.10" in rank and "withholds" in rank
    assert "-99 for “prefer not to say”" in sections["pre_gender"]


def test_sav_and_dta_read_back_with_labelled_missing_codes_levels_and_integers(typed_export):
    exported = typed_export
    _frame, sav = pyreadstat.read_sav(str(exported / "responses.sav"), user_missing=True)
    assert sav.variable_measure["pre_before"] == "ordinal"  # an ordered single choice
    assert sav.variable_measure["pre_gender"] == "nominal"
    assert sav.variable_measure["pre_ncomp"] == "scale"  # a count
    assert sav.variable_measure["rank_band"] == "ordinal"
    assert sav.original_variable_types["pre_ncomp"] == "F8.0"
    assert sav.original_variable_types["consent_version"] == "F8.0"
    assert sav.variable_value_labels["pre_langs_1"][-98.0] == "shown but not answered"
    frame, dta = pyreadstat.read_dta(str(exported / "responses.dta"), user_missing=True)
    labels = dta.variable_value_labels["pre_gender"]
    assert (labels["a"], labels["b"], labels["c"]) == (
        "not shown (skipped by a condition)",
        "shown but not answered",
        "prefer not to say",
    )
    assert dta.variable_value_labels["pre_ncomp"]["a"].startswith("not shown")
    assert dta.original_variable_types["pre_ncomp"] == "%8.0g"
    wide = pd.read_csv(exported / "responses_wide.csv")
    assert wide["pre_ncomp"].dtype.kind == "i"  # 3, not 3.0
    assert "3.0" not in (exported / "responses_wide.csv").read_text()
