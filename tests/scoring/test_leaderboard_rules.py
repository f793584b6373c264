"""``compute_leaderboard`` on a hand-counted field: every rule, ties ("1224"), undefined values
(null ranks last), column ids, options and their error messages.

The field: 8 cases, 4 positives (cases 0-3) and 4 negatives (4-7); attribute ``grp`` puts cases
0, 1, 4, 5 in group ``a`` and 2, 3, 6, 7 in ``b``. Each entry scores 0.9 on the cases it calls
positive and 0.1 elsewhere (threshold 0.5):

======  ============  ===========  ===========  ===========  =============
entry   positive on   sensitivity  specificity  ppv          worst-group sens.
======  ============  ===========  ===========  ===========  =============
e0      0, 1, 2, 4    3/4          3/4          3/4          1/2 (b)
e1      0-3, 4, 5     1            2/4          4/6          1
e2      0, 1          2/4          1            1            0 (b)
e3      none          0            1            null         0
e4      as e0         3/4          3/4          3/4          1/2 (b)
======  ============  ===========  ===========  ===========  =============
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from scoring.columns import Column, parse_column
from scoring.errors import InputError
from scoring.field import Field
from scoring.leaderboard import compute_leaderboard

NAMES = ["e0", "e1", "e2", "e3", "e4"]
LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
GROUPS = {"grp": np.array(["a", "a", "b", "b", "a", "a", "b", "b"])}
POSITIVE_ON = [[0, 1, 2, 4], [0, 1, 2, 3, 4, 5], [0, 1], [], [0, 1, 2, 4]]
SCORES = np.full((5, 8), 0.1)
for row, cases in enumerate(POSITIVE_ON):
    SCORES[row, cases] = 0.9


def board(ranking: str, columns=("sensitivity", "specificity", "ppv"), **options):
    return compute_leaderboard(Field(NAMES, LABELS, SCORES, GROUPS, columns=list(columns),
                                     ranking=ranking, **options), bootstrap=0)


def table(result, field="rank"):
    return {entry.name: getattr(entry, field) for entry in result.entries}


def test_column_ids_name_metric_and_population():
    assert parse_column("auroc") == Column("auroc", "auroc", higher_is_better=True)
    assert parse_column("sensitivity@sex=female") == Column(
        "sensitivity@sex=female", "sensitivity", True, "sex", "female"
    )
    worst = parse_column("sensitivity@worst(sex)")
    assert (worst.attribute, worst.group, worst.worst) == ("sex", None, True)
    assert worst.higher_is_better and not parse_column("brier").higher_is_better


@pytest.mark.parametrize(
    ("column_id", "message"),
    [
        ("accuracyy", "unknown metric 'accuracyy'"),
        ("auroc@sex", "write attribute=group"),
        ("auroc@worst(sex", "write attribute=group"),
        ("auroc@age=old", "unknown attribute 'age'; the ground truth has sex"),
    ],
)
def test_bad_column_ids_get_a_message_an_organiser_understands(column_id, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        parse_column(column_id, ["sex"])


def test_metrics_are_the_hand_counted_values_with_null_where_undefined():
    result = board("mean_rank")
    metrics = {entry.name: entry.metrics for entry in result.entries}
    assert metrics["e1"] == {"sensitivity": 1.0, "specificity": 0.5, "ppv": 4 / 6}
    assert metrics["e3"] == {"sensitivity": 0.0, "specificity": 1.0, "ppv": None}


def test_primary_ranks_one_column_with_shared_best_ranks():
    result = board("primary", primary="sensitivity")
    assert table(result) == {"e1": 1, "e0": 2, "e4": 2, "e2": 4, "e3": 5}
    assert [entry.name for entry in result.entries] == ["e1", "e0", "e4", "e2", "e3"]
    assert result.ranked == ["sensitivity"]


def test_primary_ranks_an_undefined_value_last():
    assert table(board("primary", primary="ppv")) == {"e2": 1, "e0": 2, "e4": 2, "e1": 4, "e3": 5}


def test_mean_rank_averages_column_ranks_with_null_last():
    result = board("mean_rank")
    # Column ranks: sensitivity 2,1,4,5,2; specificity 3,5,1,1,3; ppv 2,4,1,5(null),2.
    assert table(result, "score") == pytest.approx(
        {"e0": 7 / 3, "e1": 10 / 3, "e2": 2.0, "e3": 11 / 3, "e4": 7 / 3}, abs=1e-15
    )
    assert table(result) == {"e2": 1, "e0": 2, "e4": 2, "e1": 4, "e3": 5}


def test_median_rank_takes_the_middle_column_rank():
    result = board("median_rank")
    assert table(result, "score") == {"e0": 2.0, "e1": 4.0, "e2": 1.0, "e3": 5.0, "e4": 2.0}
    assert table(result) == {"e2": 1, "e0": 2, "e4": 2, "e1": 4, "e3": 5}


def test_pareto_puts_mutually_undominated_entries_first_and_null_in_a_last_layer():
    result = board("pareto")
    assert table(result, "score") == {"e0": 1.0, "e1": 1.0, "e2": 1.0, "e4": 1.0, "e3": 2.0}
    assert table(result) == {"e0": 1, "e1": 1, "e2": 1, "e4": 1, "e3": 5}


def test_pareto_without_nulls_layers_dominated_entries():
    # On sensitivity and specificity e2 (1/2, 1) dominates e3 (0, 1).
    result = board("pareto", columns=("sensitivity", "specificity"))
    assert table(result) == {"e0": 1, "e1": 1, "e2": 1, "e4": 1, "e3": 5}


def test_worst_group_ranks_on_the_primary_metrics_worst_subgroup():
    result = board("worst_group", columns=("sensitivity", "ppv"), worst_group_on="grp")
    assert result.ranked == ["sensitivity@worst(grp)"]
    assert table(result, "score") == {"e1": 1.0, "e0": 0.5, "e4": 0.5, "e2": 0.0, "e3": 0.0}
    assert table(result) == {"e1": 1, "e0": 2, "e4": 2, "e2": 4, "e3": 4}
    assert result.entries[0].metrics["sensitivity@worst(grp)"] == 1.0


def test_worst_group_of_an_undefined_metric_ranks_last():
    result = board("worst_group", columns=("ppv",), worst_group_on="grp")
    # ppv by group: e0 a 2/3, b 1; e1 a 1/2, b 1; e2 a 1, b null -> 1; e3 null everywhere.
    assert table(result, "score") == pytest.approx(
        {"e0": 2 / 3, "e1": 0.5, "e2": 1.0, "e3": None, "e4": 2 / 3}
    )
    assert table(result) == {"e2": 1, "e0": 2, "e4": 2, "e1": 4, "e3": 5}


def test_rank_then_aggregate_averages_per_case_ranks():
    result = board("rank_then_aggregate", columns=("brier", "auroc"))
    # Per-case Brier is 0.01 where an entry is right and 0.81 where wrong; rank sums over the
    # 8 cases, hand-counted: e0 11, e1 14, e2 12, e3 20, e4 11.
    assert table(result, "score") == pytest.approx(
        {"e0": 11 / 8, "e1": 14 / 8, "e2": 12 / 8, "e3": 20 / 8, "e4": 11 / 8}, abs=1e-15
    )
    assert table(result) == {"e0": 1, "e4": 1, "e2": 3, "e1": 4, "e3": 5}
    per_case = (SCORES - LABELS) ** 2
    oracle = rankdata(per_case, axis=0, method="min").mean(axis=1)
    assert [table(result, "score")[name] for name in NAMES] == pytest.approx(oracle, abs=1e-15)


def test_rank_then_aggregate_on_one_group_uses_only_its_cases():
    result = board("rank_then_aggregate", columns=("brier@grp=a",))
    in_a = GROUPS["grp"] == "a"
    oracle = rankdata(((SCORES - LABELS) ** 2)[:, in_a], axis=0, method="min").mean(axis=1)
    assert [table(result, "score")[name] for name in NAMES] == pytest.approx(oracle, abs=1e-15)


def test_what_if_names_the_winner_of_each_column_alone():
    result = board("mean_rank")
    assert result.what_if == {"sensitivity": ["e1"], "specificity": ["e2", "e3"], "ppv": ["e2"]}


def test_column_rank_correlation_is_kendall_tau_b_between_column_rankings():
    from scipy.stats import kendalltau

    result = board("mean_rank", columns=("sensitivity", "specificity"))
    expected = kendalltau([2, 1, 4, 5, 2], [3, 5, 1, 1, 3]).statistic
    assert result.column_rank_correlation == pytest.approx(
        np.array([[1.0, expected], [expected, 1.0]]), abs=1e-12
    )


def test_group_columns_and_small_groups():
    result = board("primary", columns=("sensitivity@grp=b", "sensitivity@worst(grp)"))
    assert table(result, "score") == {"e0": 0.5, "e1": 1.0, "e2": 0.0, "e3": 0.0, "e4": 0.5}
    small = board("primary", columns=("sensitivity@grp=b", "sensitivity@worst(grp)"),
                  min_group_size=5)
    assert all(entry.metrics == {"sensitivity@grp=b": None, "sensitivity@worst(grp)": None}
               for entry in small.entries)


def test_shown_columns_are_reported_but_not_ranked():
    result = board("primary", columns=("sensitivity",), shown=["specificity@grp=a"])
    assert result.ranked == ["sensitivity"] and result.columns == ["sensitivity"]
    # e1 calls both negatives of group a (cases 4, 5) positive.
    assert result.entries[0].metrics == {"sensitivity": 1.0, "specificity@grp=a": 0.0}


def test_cases_mask_ranks_like_the_subset():
    mask = np.array([True, False, True, True, False, True, True, True])
    masked = compute_leaderboard(Field(NAMES, LABELS, SCORES, GROUPS, columns=["auroc", "f1"],
                                       ranking="mean_rank", cases=mask), bootstrap=20)
    subset = compute_leaderboard(Field(NAMES, LABELS[mask], SCORES[:, mask],
                                       {"grp": GROUPS["grp"][mask]}, columns=["auroc", "f1"],
                                       ranking="mean_rank"), bootstrap=20)
    assert masked.to_dict() == subset.to_dict()


def test_without_bootstrap_robustness_fields_are_null():
    document = board("mean_rank").to_dict()
    assert document["kendall_tau"] is None
    assert all(e["rank_interval"] is None and e["p_first"] is None
               for e in document["entries"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ranking": "best_of"}, "unknown ranking rule 'best_of'"),
        ({"ranking": "worst_group"}, "needs the attribute"),
        ({"ranking": "rank_then_aggregate"}, "needs a per-case metric"),
        ({"ranking": "primary", "primary": "auroc"}, "not one of the columns"),
        ({"ranking": "primary", "columns": ["ppv", "ppv"]}, "listed twice"),
        ({"ranking": "primary", "columns": ["ppv@grp=c"]}, "has no group 'c'"),
        ({"ranking": "primary", "threshold": 1.0}, "threshold must be between 0 and 1"),
        ({"ranking": "primary", "cases": np.zeros(8, bool)}, "holds no cases"),
    ],
)
def test_bad_options_raise_input_errors(options, message):
    arguments = {"columns": ["sensitivity", "ppv"], **options}
    with pytest.raises(InputError, match=message):
        compute_leaderboard(Field(NAMES, LABELS, SCORES, GROUPS, **arguments), bootstrap=0)


def test_multiclass_labels_are_refused_with_a_clear_message():
    with pytest.raises(InputError, match="leaderboards rank binary tasks"):
        compute_leaderboard(Field(NAMES, np.array([0, 1, 2, 0, 1, 2, 0, 1]), SCORES, {},
                                  columns=["auroc"], ranking="primary"), bootstrap=0)


def test_messages_never_show_labels():
    with pytest.raises(InputError) as error:
        compute_leaderboard(Field(NAMES, np.array([0, 1, 7, 0, 1, 3, 0, 1]), SCORES, {},
                                  columns=["auroc"], ranking="primary"), bootstrap=0)
    assert not {"3", "7"} & set(str(error.value))
