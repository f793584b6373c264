"""The admin's leaderboard column editor: organisers choose a metric of the phase's task and a
population of its ground truth, see each group's size, and cannot rank a group withheld from
participants or name one the ground truth lacks."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from competitions.models import Phase
from scoring.registry import metrics_for
from tests.competitions.builders import admin_form_data, make_board, make_scored
from tests.conftest import rank_and_analyse
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(open_phase, organiser):
    """The open phase (the demo's ground truth) organised by ``organiser``, its primary board."""
    open_phase.challenge.organisers.add(organiser)
    return open_phase.leaderboards.get(is_primary=True)


def _change_page(client, board, **query):
    return client.get(reverse("admin:competitions_leaderboard_change", args=[board.pk]), query)


def _new_row(page) -> dict:
    """The fields of the board's empty column row, as Django renders it."""
    formset = page.context["inline_admin_formsets"][0].formset
    return formset.forms[-1].fields


def _with_new_column(page, **row) -> dict:
    """The page posted back with its empty column row filled in (``ranked`` unticked unless
    given)."""
    formset = page.context["inline_admin_formsets"][0].formset
    prefix = formset.forms[-1].prefix
    values = {"ranked": None, **row}
    return admin_form_data(page, **{f"{prefix}-{name}": value for name, value in values.items()})


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _option(markup: str, value: str, row: int) -> str:
    """The <option> tag of ``value`` in column row ``row``'s population select."""
    select = re.search(
        rf'<select name="columns-{row}-population".*?</select>', markup, flags=re.S
    ).group(0)
    return re.search(rf'<option value="{re.escape(value)}"[^>]*>', select).group(0)


def _withhold_small_age_bands(phase: Phase) -> None:
    """A minimum group size under which the demo's age band 80+ (about 190 cases per split) is
    withheld from participants, and sex (over 800 per split) is not."""
    Phase.objects.filter(pk=phase.pk).update(min_group_size=400)


def test_the_editor_offers_the_tasks_metrics_and_the_truths_groups_with_their_sizes(
    client, organiser, mine
):
    client.force_login(organiser)
    page = _change_page(client, mine)
    fields = _new_row(page)
    metrics = [value for value, _label in fields["metric"].choices]
    assert metrics == [""] + [m.id for m in metrics_for("binary")]
    assert dict(fields["metric"].choices)["auroc"] == (
        "auroc — Area under the ROC curve of the scores."
    )
    populations = dict(fields["population"].choices)
    assert populations[""] == "All cases (n=3931)"
    sex = dict(populations["sex"])
    assert sex == {"sex=female": "sex = female (n=2200)", "sex=male": "sex = male (n=1731)",
                   "worst(sex)": "Worst group of sex"}
    assert set(populations) == {"", "age_band", "kidney_function", "sex"}
    assert "Populations come from the phase's ground truth (3931 cases)" in _text(page)


def test_a_column_chosen_from_the_selects_is_stored_as_its_id_and_shows_its_values(
    client, organiser, mine
):
    client.force_login(organiser)
    page = _change_page(client, mine)
    data = _with_new_column(page, metric="sensitivity", population="sex=female",
                            title="Sensitivity, women")
    response = client.post(page.request["PATH_INFO"], data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    column = mine.columns.get(title="Sensitivity, women")
    assert (column.column_id, column.ranked) == ("sensitivity@sex=female", False)

    participant = ParticipantFactory(team__challenge=mine.phase.challenge)
    make_scored(mine.phase, participant, auroc=0.8,
                groups={"female": {"sensitivity": 0.625}, "male": {"sensitivity": 0.5}})
    rank_and_analyse(mine.phase)
    board_page = client.get(
        reverse("competitions:leaderboard",
                args=[mine.phase.challenge.slug, mine.phase.slug]),
        {"board": mine.slug},
    ).content.decode()
    assert "Sensitivity, women" in board_page and "0.625" in board_page


def test_a_stored_column_is_shown_in_the_selects_it_was_made_with(client, organiser, mine):
    make_board(mine.phase, "mean_rank", [("auroc", True), ("sensitivity@worst(sex)", True)])
    board = mine.phase.leaderboards.get(slug="mean_rank")
    client.force_login(organiser)
    forms = _change_page(client, board).context["inline_admin_formsets"][0].formset.forms
    assert [(f["metric"].value(), f["population"].value(), f["column_id"].value())
            for f in forms[:2]] == [("auroc", "", ""), ("sensitivity", "worst(sex)", "")]


def test_a_withheld_group_is_offered_but_disabled_on_a_ranked_row(client, organiser, mine):
    _withhold_small_age_bands(mine.phase)
    client.force_login(organiser)
    page = _change_page(client, mine)
    markup = page.content.decode()
    label = dict(dict(_new_row(page)["population"].choices)["age_band"])["age_band=80+"]
    assert label == "age_band = 80+ (n=380; withheld from participants: show only, not ranked)"
    ranked_row, shown_row = 0, 1  # the default board: auroc ranked, accuracy shown
    assert "disabled" in _option(markup, "age_band=80+", ranked_row)
    assert "disabled" not in _option(markup, "age_band=80+", shown_row)
    assert "data-withheld" in _option(markup, "age_band=80+", shown_row)
    assert "disabled" not in _option(markup, "sex=female", ranked_row)
    assert 'src="/static/cheetah/column-editor.js"' in markup


def test_a_ranked_column_on_a_withheld_group_is_refused_even_if_the_disabled_option_is_posted(
    client, organiser, mine
):
    _withhold_small_age_bands(mine.phase)
    mine.ranking = "mean_rank"
    mine.save()
    client.force_login(organiser)
    page = _change_page(client, mine)
    data = _with_new_column(page, metric="sensitivity", population="age_band=80+", ranked="on")
    response = client.post(page.request["PATH_INFO"], data)
    assert response.status_code == 200
    assert "“sensitivity@age_band=80+” ranks on age_band=80+, which has" in _text(response)
    assert not mine.columns.filter(column_id="sensitivity@age_band=80+").exists()
    data = _with_new_column(page, metric="sensitivity", population="age_band=80+")
    assert client.post(page.request["PATH_INFO"], data).status_code == 302
    assert not mine.columns.get(column_id="sensitivity@age_band=80+").ranked


def test_a_group_the_ground_truth_lacks_is_refused_naming_its_groups(client, organiser, mine):
    client.force_login(organiser)
    page = _change_page(client, mine)
    typed = client.post(page.request["PATH_INFO"],
                        _with_new_column(page, column_id="sensitivity@sex=west"))
    assert typed.status_code == 200
    assert ("“sensitivity@sex=west”: the ground truth has no group “west” in sex "
            "(its groups: female, male).") in _text(typed)
    chosen = client.post(page.request["PATH_INFO"],
                         _with_new_column(page, metric="sensitivity", population="sex=west"))
    assert chosen.status_code == 200
    assert "Select a valid choice. sex=west is not one of the available choices." in _text(chosen)
    assert not mine.columns.filter(column_id__contains="west").exists()


def test_a_column_needs_a_metric_and_not_also_a_typed_id(client, organiser, mine):
    client.force_login(organiser)
    page = _change_page(client, mine)
    population_only = client.post(page.request["PATH_INFO"],
                                  _with_new_column(page, population="worst(sex)"))
    assert "Choose a metric." in _text(population_only)
    both = client.post(page.request["PATH_INFO"],
                       _with_new_column(page, metric="f1", column_id="f1@sex=male"))
    assert "or type a column id, not both" in _text(both)
    assert mine.columns.count() == 4


def test_without_a_ground_truth_the_editor_says_so_and_offers_all_cases_only(client, organiser):
    phase = PhaseFactory(challenge=ChallengeFactory(task="regression"))
    phase.challenge.organisers.add(organiser)
    board = make_board(phase, "mean_rank", [("mae", True), ("rmse@sex=female", False)])
    client.force_login(organiser)
    page = _change_page(client, board)
    fields = _new_row(page)
    assert fields["population"].choices == [
        ("", "All cases (no ground truth yet: its groups appear here once it is uploaded)")
    ]
    assert {value for value, _label in fields["metric"].choices} == (
        {""} | {m.id for m in metrics_for("regression")}
    )
    assert "This phase has no ground truth yet" in _text(page)
    # A group named before the ground truth came stays, typed, and saves as it was.
    typed = page.context["inline_admin_formsets"][0].formset.forms[1]
    assert (typed["metric"].value(), typed["column_id"].value()) == ("", "rmse@sex=female")
    assert client.post(page.request["PATH_INFO"], admin_form_data(page)).status_code == 302
    assert list(board.columns.values_list("column_id", flat=True)) == ["mae", "rmse@sex=female"]
    refused = client.post(page.request["PATH_INFO"], _with_new_column(page, metric="auroc"))
    assert "Select a valid choice. auroc is not one of the available choices." in _text(refused)


def test_a_new_board_offers_the_metrics_and_groups_of_the_phase_in_the_address(
    client, organiser, mine
):
    client.force_login(organiser)
    add = reverse("admin:competitions_leaderboard_add")
    fields = _new_row(client.get(add, {"phase": mine.phase.pk}))
    assert "sex" in dict(fields["population"].choices)
    unknown = client.get(add)
    fields = _new_row(unknown)
    assert dict(fields["population"].choices) == {"": "All cases"}
    assert {label for label, _choices in fields["metric"].choices[1:]} == {
        "Binary classification", "Multiclass classification", "Regression"
    }
    assert "Choose the phase and save" in _text(unknown)
    theirs = PhaseFactory()
    fields = _new_row(client.get(add, {"phase": theirs.pk}))
    assert dict(fields["population"].choices) == {"": "All cases"}
