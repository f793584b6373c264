"""The study page's answer summaries (every question kind, small cells under the study's own
threshold withheld, and nothing to be had by subtraction) and the researcher's browser of
pseudonymised responses."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import selectors, services
from surveys.analysis.frequencies import chosen, distribution, quartiles
from surveys.dataset import build, pseudonym
from surveys.models import ExportLog, Option, Question, Response, Section
from surveys.summaries import study_summaries
from tests.factories import ParticipantFactory, UserFactory
from tests.surveys.conftest import (
    ALL_YES,
    StudyFactory,
    SurveyFactory,
    add_question,
    store_answer,
)

pytestmark = pytest.mark.django_db

N = 14  # respondents with research consent
SCALE = [
    (1, "Strongly disagree"),
    (2, "Disagree"),
    (3, "Neutral"),
    (4, "Agree"),
    (5, "Strongly agree"),
]
# Respondent i's answers: a list of codes, a float, a text, "decline", or None (no answer).
COLOUR = [[1]] * 8 + [[2]] * 5 + [[3]]  # Red 8, Green 5, Blue 1
LANGS = ["decline", [2]] + [[1, 2]] * 5 + [[1, 3]] * 2 + [[1]] * 5  # Python 12, R 6, Julia 2
SATISFIED = [[5]] * 6 + [[4]] * 6 + [[3]] * 2
BELONG_1 = [[2]] * 2 + [[3]] * 4 + [[4]] * 5 + [[5]] * 3
BELONG_2 = [[1]] + [[3]] * 6 + [[4]] * 7
NUMBERS = [1.0, 2.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0]
NCOMP = NUMBERS + ["decline"] * 2 + [None] * 3
WHY = [f"my reason number {i}" for i in range(5)] + [None] * 9
ETHNICITY = [[1]] * 6 + [[2]] * 4 + [[1]] * 4  # the last four have no special consent
SPECIAL = 10  # respondents 0..9 gave every consent; 10..13 research use only


@pytest.fixture
def every_kind(study):
    """A survey with a question of each kind (a special-category one too) and its answers by
    fourteen research-consenting respondents and one who refused research use."""
    survey = SurveyFactory(study=study, slug="all")
    one = Section.objects.create(survey=survey, position=1, title="All kinds")
    q = {
        "colour": add_question(one, "colour", options=[(1, "Red"), (2, "Green"), (3, "Blue")]),
        "langs": add_question(
            one, "langs", kind="multiple", options=[(1, "Python"), (2, "R"), (3, "Julia")]
        ),
        "satisfied": add_question(one, "satisfied", kind="likert", options=SCALE),
        "belong": add_question(one, "belong", kind="grid", options=SCALE),
        "ncomp": add_question(one, "ncomp", kind="number"),
        "nick": add_question(one, "nick", kind="short_text"),
        "why": add_question(one, "why", kind="long_text"),
        "eth": add_question(
            one, "eth", options=[(1, "Group one"), (2, "Group two")], special_category=True
        ),
    }
    rows = [
        q["belong"].rows.create(
            position=i, variable=f"belong_{i}", label=f"Belong {i}", text=f"I belong, statement {i}"
        )
        for i in (1, 2)
    ]
    version = study.consent_versions.get()
    people = []
    for i in range(N + 1):
        user = ParticipantFactory(
            team__challenge=study.challenge,
            user__username=f"resp{i}_zq",
            user__email=f"resp{i}.zq@uni.example",
        ).user
        if i == N:  # takes part, but not in research use: never counted
            choices = {"participate": True, "research": False}
        else:
            choices = ALL_YES if i < SPECIAL else {"participate": True, "research": True}
        services.consent_record(user=user, study=study, version=version, choices=choices)
        response = Response.objects.create(survey=survey, user=user, pages_seen=1)
        j = min(i, N - 1)
        store_answer(response, q["colour"], COLOUR[j])
        store_answer(response, q["langs"], LANGS[j])
        store_answer(response, q["satisfied"], SATISFIED[j])
        store_answer(response, q["belong"], BELONG_1[j], rows[0])
        store_answer(response, q["belong"], BELONG_2[j], rows[1])
        store_answer(response, q["ncomp"], NCOMP[j])
        store_answer(response, q["why"], WHY[j])
        if i < SPECIAL:
            store_answer(response, q["eth"], ETHNICITY[j])
        people.append(user)
    return {"survey": survey, "questions": q, "people": people}


def _summary(study, variable, threshold=None):
    (entry,) = [s for s in study_summaries(study, threshold=threshold) if s.survey.slug == "all"]
    return entry, next(item for item in entry.questions if item.question.variable == variable)


def _counts(cells) -> dict:
    return {c.label: c.count for c in cells}


# --- Each kind, against a hand count ---------------------------------------------------------


def test_each_question_kind_is_summarised_as_a_hand_count(study, every_kind):
    # Threshold 2 (the least a study may set): only single people are withheld.
    entry, colour = _summary(study, "colour", threshold=2)
    assert entry.respondents == N
    # Blue's one person is withheld, and beside it the smallest other cell, Green's 5.
    assert _counts(colour.cells) == {"Red": 8, "Green": None, "Blue": None}
    assert [c.small for c in colour.cells] == [False, False, True]
    assert colour.cells[0].share == pytest.approx(8 / N)
    _, langs = _summary(study, "langs", threshold=2)
    assert _counts(langs.chosen) == {"Python": 12, "R": 6, "Julia": 2}
    assert [c.share for c in langs.chosen] == pytest.approx([12 / N, 6 / N, 2 / N])
    # Thirteen answered and one declined: the decliner is alone, so the answerers go too.
    assert _counts(langs.cells) == {"Answered (any option)": None, "Prefer not to say": None}
    _, satisfied = _summary(study, "satisfied", threshold=2)
    assert [c.count for c in satisfied.cells] == [0, 0, 2, 6, 6]
    _, belong = _summary(study, "belong", threshold=2)
    (text_1, item_1), (text_2, item_2) = belong.rows
    assert text_1 == "I belong, statement 1" and [c.count for c in item_1] == [0, 2, 4, 5, 3]
    # Item 2's single "strongly disagree" is withheld, and with it the smallest other, 6.
    assert [c.count for c in item_2] == [None, 0, None, 7, 0]
    assert belong.columns == tuple(label for _code, label in SCALE)
    _, ncomp = _summary(study, "ncomp", threshold=2)
    assert _counts(ncomp.cells) == {
        "Gave a number": 9,
        "Prefer not to say": 2,
        "No answer (not shown or not answered)": 3,
    }
    q1, median, q3 = np.percentile(NUMBERS, [25, 50, 75])  # numpy's default, linear
    assert (ncomp.quartiles.q1, ncomp.quartiles.median, ncomp.quartiles.q3) == (q1, median, q3)
    assert ncomp.quartiles.iqr == pytest.approx(q3 - q1)
    _, why = _summary(study, "why", threshold=2)
    assert _counts(why.cells) == {"Answered": 5, "No answer (not shown or not answered)": 9}
    _, nick = _summary(study, "nick", threshold=2)
    assert _counts(nick.cells) == {"Answered": 0, "No answer (not shown or not answered)": N}
    _, eth = _summary(study, "eth", threshold=2)
    assert _counts(eth.cells) == {
        "Group one": 6,
        "Group two": 4,
        "Not released (no special-category consent)": 4,
    }


def test_the_study_page_shows_every_kind_and_no_text(study, every_kind, researcher, client):
    client.force_login(researcher)
    study.export_min_group = 2
    study.save()
    html = client.get(reverse("surveys:study", args=[study.slug])).content.decode()
    for variable in ("colour", "langs", "satisfied", "belong", "ncomp", "nick", "why", "eth"):
        assert f"Question {variable}?" in html
    assert "I belong, statement 2" in html and 'class="shade-' in html  # the grid's bars
    assert "Median 5; quartiles 2 and 13 (IQR 11)." in html
    assert "57.1%" in html  # Red: 8 of 14
    assert "my reason number" not in html  # texts are counted, never shown
    assert "resp0_zq" not in html and "resp0.zq@uni.example" not in html


# --- The study's threshold -------------------------------------------------------------------


def test_cells_appear_and_disappear_as_the_study_threshold_changes(
    study, every_kind, researcher, client
):
    client.force_login(researcher)
    url = reverse("surveys:study", args=[study.slug])
    assert study.export_min_group == 5
    html = client.get(url).content.decode()
    _, item_1 = _summary(study, "belong")[1].rows[0]
    assert [c.count for c in item_1] == [0, None, None, 5, None]  # 2 and 3 under 5
    assert "&lt;5" in html and "&lt;3" not in html
    study.export_min_group = 3
    study.save()
    html = client.get(url).content.decode()
    _, item_1 = _summary(study, "belong")[1].rows[0]
    # Only the 2 is under 3 now; the smallest other cell, 3, is withheld beside it.
    assert [c.count for c in item_1] == [0, None, 4, 5, None]
    assert [c.small for c in item_1] == [False, True, False, False, False]
    assert "&lt;3" in html and "&lt;5" not in html


def test_a_numeric_question_with_fewer_numbers_than_the_threshold_has_no_median(
    study, every_kind, researcher, client
):
    study.export_min_group = len(NUMBERS) + 1
    study.save()
    _, ncomp = _summary(study, "ncomp")
    assert ncomp.quartiles is None
    client.force_login(researcher)
    html = client.get(reverse("surveys:study", args=[study.slug])).content.decode()
    assert "Median and quartiles not shown: fewer than 10 numbers." in html
    assert "Median 5" not in html


def test_a_survey_with_fewer_respondents_than_the_threshold_shows_no_table(study, every_kind):
    entry, _colour = _summary(study, "colour", threshold=N + 1)
    assert entry.respondents is None


# --- The subtraction attack ------------------------------------------------------------------


def _lines(study, threshold):
    """Every released line with its total and the true counts behind it."""
    entry, _ = _summary(study, "colour", threshold)
    truth = {
        "colour": [8, 5, 1],
        "satisfied": [0, 0, 2, 6, 6],
        "eth": [6, 4, 4],
        "belong_1": [0, 2, 4, 5, 3],
        "belong_2": [1, 0, 6, 7, 0],
        "ncomp": [9, 2, 3],
        "why": [5, 9],
        "langs": [13, 1],
    }
    for item in entry.questions:
        v = item.question.variable
        if item.rows:
            for i, (_label, cells) in enumerate(item.rows, start=1):
                yield f"{v}_{i}", cells, truth[f"{v}_{i}"]
        elif v in truth:
            yield v, item.cells, truth[v]


@pytest.mark.parametrize("threshold", [2, 3, 4, 5, 6, 7])
def test_total_minus_the_shown_cells_never_gives_a_withheld_cell_away(study, every_kind, threshold):
    for name, cells, true in _lines(study, threshold):
        assert len(cells) == len(true), name
        hidden = [t for c, t in zip(cells, true, strict=True) if c.withheld]
        if not hidden:
            continue
        # The attack: the survey's respondents minus every shown cell of the line.
        rest = N - sum(c.count for c in cells if not c.withheld)
        assert rest == sum(hidden)
        assert len(hidden) >= 2 and rest >= threshold, (name, threshold, rest, hidden)
        assert all(rest != t for t in hidden if 0 < t < threshold), (name, threshold)


def test_few_non_choosers_of_a_multiple_choice_are_not_given_away_by_the_choosers(
    study, every_kind
):
    # Twelve of fourteen chose Python: showing 12 would tell that 2 did not.
    _, langs = _summary(study, "langs")
    python, r, julia = langs.chosen
    assert python.withheld and not python.small
    assert r.count == 6 and N - r.count >= 5
    assert julia.withheld and julia.small


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=8),
    threshold=st.integers(min_value=2, max_value=10),
)
def test_no_line_leaves_a_small_cell_to_subtraction(counts, threshold):
    total = sum(counts)
    cells = distribution([(str(i), n) for i, n in enumerate(counts)], total, threshold)
    hidden = [n for c, n in zip(cells, counts, strict=True) if c.withheld]
    small = [n for n in counts if 0 < n < threshold]
    assert all(c.withheld for c, n in zip(cells, counts, strict=True) if 0 < n < threshold)
    if small and total >= threshold:
        assert len(hidden) >= 2 and sum(hidden) >= threshold
    for c, n in zip(cells, counts, strict=True):
        assert c.withheld or c.count == n
    # Each option of a multiple choice, with those who did not choose it (under a small
    # total the page shows no table at all).
    if total >= threshold:
        options = chosen([(str(i), n) for i, n in enumerate(counts)], total, threshold)
        for c, n in zip(options, counts, strict=True):
            assert c.withheld or not (0 < n < threshold or 0 < total - n < threshold)


def test_quartiles_follow_numpy_linear_and_need_the_threshold():
    values = [3.5, 1.0, 8.0, 2.0, 2.0, 13.0]
    found = quartiles(values, 5)
    assert [found.q1, found.median, found.q3] == list(
        np.percentile(values, [25, 50, 75], method="linear")
    )
    assert quartiles(values, 7) is None


# --- Browsing responses ----------------------------------------------------------------------


@pytest.fixture
def ten_a_page(monkeypatch):
    """Ten responses a page, so the fourteen respondents take two."""
    monkeypatch.setattr(selectors, "RESPONSES_PER_PAGE", 10)


def test_the_browser_shows_pseudonyms_and_answers_and_no_names(
    study, every_kind, researcher, client, ten_a_page
):
    client.force_login(researcher)
    survey = every_kind["survey"]
    url = reverse("surveys:responses", args=[study.slug])
    pages = [client.get(url, {"survey": survey.pk, "page": p}) for p in (1, 2)]
    html = "".join(page.content.decode() for page in pages)
    people = every_kind["people"]
    exported = set(build(study).wide["pseudonym"])
    for user in people[:N]:
        assert pseudonym(study, user.pk) in html and pseudonym(study, user.pk) in exported
        for secret in (user.username, user.email, user.display_name):
            assert secret not in html
    assert pseudonym(study, people[N].pk) not in html  # no research consent
    assert "my reason number 3" in html  # the export holds texts; so does the browser
    assert "Python; R" in html and "prefer not to say" in html
    assert "not released (no special-category consent)" in html
    assert ExportLog.objects.filter(study=study, user=researcher, via="browse").count() == 2
    assert sum(ExportLog.objects.filter(via="browse").values_list("rows", flat=True)) == N


def test_the_browser_withholds_quasi_identifiers_where_the_export_does(
    study, every_kind, researcher, client, ten_a_page
):
    Question.objects.filter(variable="colour").update(quasi_identifier=True)
    data = build(study)
    long = data.long[data.long["variable"] == "colour"]
    withheld = set(long[long["code"].isna() & long["missing"].isna()]["pseudonym"])
    assert withheld  # the one "Blue" is a group of one
    client.force_login(researcher)
    url = reverse("surveys:responses", args=[study.slug])
    for page in (1, 2):
        html = client.get(url, {"survey": every_kind["survey"].pk, "page": page}).content
        for section in html.decode().split("<section")[1:]:
            name = section.split('id="r-')[1].split('"')[0]
            colour = section.split("Question colour? (colour)</th><td>")[1].split("</td>")[0]
            assert (colour.startswith("withheld")) == (name in withheld), (name, colour)
            assert colour != "Blue"


def test_a_withdrawn_participant_is_absent_even_where_the_study_keeps_answers(
    study, every_kind, researcher, client, ten_a_page
):
    study.keep_answers_after_withdrawal = True
    study.ethics_approval = "University Research Ethics Committee, ref. 2026/117"
    study.save()
    leaver = every_kind["people"][0]
    services.consent_withdraw(user=leaver, study=study)
    assert Response.objects.filter(user=leaver).exists()  # kept, as the study says
    client.force_login(researcher)
    url = reverse("surveys:responses", args=[study.slug])
    html = "".join(
        client.get(url, {"survey": every_kind["survey"].pk, "page": p}).content.decode()
        for p in (1, 2)
    )
    assert pseudonym(study, leaver.pk) not in html
    assert pseudonym(study, leaver.pk) not in set(build(study).wide["pseudonym"])
    assert "my reason number 0" not in html
    entry, colour = _summary(study, "colour", threshold=2)
    assert entry.respondents == N - 1 and colour.cells[0].count == 7


def test_the_browser_is_for_the_study_researchers_only(study, every_kind, researcher, client):
    url = reverse("surveys:responses", args=[study.slug])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    organiser = UserFactory(username="olga", is_staff=True)
    study.challenge.organisers.add(organiser)
    other = UserFactory(username="otto", is_staff=True)
    StudyFactory(challenge=study.challenge).researchers.add(other)
    for user in (every_kind["people"][0], organiser, other):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.force_login(researcher)
    assert client.get(url).status_code == 200
    foreign = SurveyFactory(study=StudyFactory(), slug="x")
    assert client.get(url, {"survey": foreign.pk}).status_code == 404
    assert not ExportLog.objects.filter(via="browse", user__in=[organiser, other]).exists()


# --- Queries ---------------------------------------------------------------------------------


def _more_respondents(study, survey, n: int) -> None:
    version = study.consent_versions.get()
    colour = Question.objects.get(section__survey=survey, variable="colour")
    for _i in range(n):
        user = ParticipantFactory(team__challenge=study.challenge).user
        services.consent_record(user=user, study=study, version=version, choices=ALL_YES)
        response = Response.objects.create(survey=survey, user=user, pages_seen=1)
        store_answer(response, colour, [2])


def test_both_pages_need_a_bounded_number_of_queries(
    study, every_kind, researcher, client, django_assert_max_num_queries
):
    client.force_login(researcher)
    survey = every_kind["survey"]
    study_url = reverse("surveys:study", args=[study.slug])
    browse_url = reverse("surveys:responses", args=[study.slug])
    for _round in range(2):  # the same bound with 14 and with 40 respondents (21 and 30 now)
        with django_assert_max_num_queries(24):
            assert client.get(study_url).status_code == 200
        with django_assert_max_num_queries(33):
            assert client.get(browse_url, {"survey": survey.pk}).status_code == 200
        _more_respondents(study, survey, 26)


def test_each_survey_version_is_summarised_apart_newest_first(study, every_kind):
    # Their codes may mean different things: a version's answers never mix with another's.
    survey = every_kind["survey"]
    newer = SurveyFactory(study=study, slug="all", version=2)
    section = Section.objects.create(survey=newer, position=1, title="All kinds")
    colour = add_question(section, "colour", options=[(1, "Red"), (2, "Green")])
    Option.objects.create(question=colour, position=3, code=4, label="Purple")
    versions = [s.survey for s in study_summaries(study) if s.survey.slug == "all"]
    assert versions == [newer, survey]
    (fresh,) = [s for s in study_summaries(study) if s.survey == newer]
    assert fresh.respondents == 0 and _counts(fresh.questions[0].cells)["Purple"] == 0
