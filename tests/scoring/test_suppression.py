"""Secondary suppression: the groups hidden beside a small one are enough that no hidden value
follows from the overall value and the released groups, per attribute and per intersection."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from scoring import evaluate
from scoring.io import INTERSECTION
from scoring.result import SplitResult, read_stored
from scoring.suppression import GroupSize, sized_groups, suppressed_groups


def one_way(sizes: dict[str, int], min_group: int, attribute: str = "a") -> list[GroupSize]:
    return sized_groups([(attribute, g, n) for g, n in sizes.items()], min_group)


def two_way(counts: np.ndarray, min_group: int) -> list[GroupSize]:
    """Groups of attributes ``a`` (rows) and ``b`` (columns) and their intersection, as
    ``evaluate`` lists them: only the value pairs that occur."""
    rows = [f"r{i}" for i in range(counts.shape[0]) if counts[i].sum()]
    columns = [f"c{j}" for j in range(counts.shape[1]) if counts[:, j].sum()]
    listed = [("a", f"r{i}", int(counts[i].sum())) for i in range(counts.shape[0])
              if counts[i].sum()]
    listed += [("b", f"c{j}", int(counts[:, j].sum())) for j in range(counts.shape[1])
               if counts[:, j].sum()]
    listed += [(f"a{INTERSECTION}b", f"r{i}{INTERSECTION}c{j}", int(counts[i, j]))
               for i, j in itertools.product(range(counts.shape[0]), range(counts.shape[1]))
               if counts[i, j]]
    assert rows and columns
    return sized_groups(listed, min_group)


def test_no_small_group_hides_nothing():
    assert suppressed_groups(one_way({"x": 40, "y": 50}, 30)) == set()


def test_a_lone_small_group_is_hidden_with_the_smallest_other_group_of_its_attribute():
    groups = one_way({"x": 10, "y": 35, "z": 100, "w": 31}, 30) + one_way({"p": 90, "q": 86},
                                                                           30, "b")
    assert suppressed_groups(groups) == {("a", "x"), ("a", "w")}


def test_two_small_groups_need_no_other():
    assert suppressed_groups(one_way({"x": 10, "y": 12, "z": 100}, 30)) == {("a", "x"),
                                                                             ("a", "y")}


def test_ties_between_other_groups_are_broken_by_name_whatever_the_order():
    first = suppressed_groups(one_way({"x": 3, "m": 40, "k": 40}, 30))
    second = suppressed_groups(one_way({"k": 40, "x": 3, "m": 40}, 30))
    assert first == second == {("a", "x"), ("a", "k")}


def test_an_intersection_hides_the_cells_of_a_hidden_margin_and_pairs_them_in_each_column():
    counts = np.array([[40, 50, 60], [5, 4, 3], [45, 55, 65]])
    hidden = suppressed_groups(two_way(counts, 30))
    cross = f"a{INTERSECTION}b"
    # Row r1 (12 cases) is small: it and the smallest other row (r0) are hidden, so are all
    # their cells; every column then has two hidden cells and all columns stay released.
    assert {("a", "r1"), ("a", "r0")} <= hidden
    assert {(cross, f"r{i}{INTERSECTION}c{j}") for i in (0, 1) for j in range(3)} <= hidden
    assert not any(key[0] == "b" for key in hidden)
    assert (cross, f"r2{INTERSECTION}c0") not in hidden


def _lines(groups: list[GroupSize]):
    """Every sum the released numbers satisfy: each table adds up to all cases; each row and
    column of the intersection to its margin. Yields (margin or None, members)."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for item in groups:
        tables.setdefault(item.attribute, []).append((item.attribute, item.group))
    for members in tables.values():
        yield None, members
    cross = f"a{INTERSECTION}b"
    for margin in tables["a"] + tables["b"]:
        position = 0 if margin[0] == "a" else 1
        yield margin, [key for key in tables.get(cross, [])
                       if key[1].split(INTERSECTION)[position] == margin[1]]


def _determined(groups: list[GroupSize], hidden: set) -> list:
    """Hidden groups the sums pin down exactly (an independent rank test, numpy)."""
    order = sorted(hidden)
    index = {key: i for i, key in enumerate(order)}
    rows = []
    for margin, members in _lines(groups):
        row = np.zeros(len(order))
        for key in members:
            if key in index:
                row[index[key]] += 1
        if margin is not None and margin in index:
            row[index[margin]] -= 1
        rows.append(row)
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    return [key for key in order
            if np.linalg.matrix_rank(np.vstack([matrix, np.eye(len(order))[index[key]]])) == rank]


@pytest.mark.parametrize("seed", range(6))
def test_on_random_tables_no_released_line_leaves_exactly_one_hidden_group(seed):
    rng = np.random.default_rng(seed)
    for _ in range(120):
        shape = tuple(rng.integers(2, 6, size=2))
        counts = rng.integers(0, 60, size=shape) * (rng.random(shape) < 0.85)
        if not counts.any(axis=1).all() or not counts.any(axis=0).all():
            continue
        groups = two_way(counts, int(rng.integers(5, 50)))
        hidden = suppressed_groups(groups)
        assert {(g.attribute, g.group) for g in groups if g.small} <= hidden
        for margin, members in _lines(groups):
            if margin in hidden:
                assert set(members) <= hidden, (counts, margin)
                continue
            inside = sum(key in hidden for key in members)
            assert inside != 1 or len(members) == 1 and margin is None, (counts, margin)
        assert _determined(groups, hidden) == [], counts
        assert suppressed_groups(list(reversed(groups))) == hidden


def test_a_pattern_the_line_rule_alone_leaves_solvable_is_closed_by_the_audit():
    # Two 2x2 blocks of hidden cells joined by one hidden cell (a "bridge"): every line has
    # two hidden cells, yet the bridge equals a row total minus released cells minus a block.
    counts = np.full((4, 4), 200)
    small = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    groups = two_way(counts, 30)
    marked = [
        GroupSize(g.attribute, g.group, g.n, g.attribute == f"a{INTERSECTION}b" and tuple(
            int(part[1:]) for part in g.group.split(INTERSECTION)) in small)
        for g in groups
    ]
    hidden = suppressed_groups(marked)
    assert _determined(marked, hidden) == []


@pytest.fixture(scope="module")
def flchain_result(binary_truth, binary_predictions):
    # 200 cases: the 104 patients of 90+ are the only small age band.
    return evaluate(binary_truth, binary_predictions, min_group=200,
                    intersections=[("sex", "age_band")])


def test_evaluate_marks_the_small_age_band_and_the_band_hidden_with_it(flchain_result):
    bands = {g.group: g for g in flchain_result.groups_of("age_band")}
    assert [b for b, g in bands.items() if g.small] == ["90+"]
    assert [b for b, g in bands.items() if g.suppressed] == ["80-89", "90+"]
    cross = {g.group for g in flchain_result.groups_of(f"sex{INTERSECTION}age_band")
             if g.suppressed}
    assert cross == {f"{s}{INTERSECTION}{b}" for s in "FM" for b in ("80-89", "90+")}
    assert suppressed_groups(flchain_result.groups) == {
        (g.attribute, g.group) for g in flchain_result.groups if g.suppressed}


def test_the_worst_group_and_the_gaps_never_use_a_suppressed_group(flchain_result):
    hidden = {g.group for g in flchain_result.groups_of("age_band") if g.suppressed}
    released = [g for g in flchain_result.groups_of("age_band") if not g.suppressed]
    for metric in flchain_result.metric_ids:
        summary = flchain_result.fairness_of(metric, "age_band")
        assert summary.worst_group not in hidden
        values = [g.value(metric) for g in released if g.value(metric) is not None]
        if summary.difference is not None:
            assert summary.difference == pytest.approx(max(values) - min(values), abs=1e-12)


def test_a_row_stored_before_suppression_is_suppressed_when_read(flchain_result):
    stored = json.loads(json.dumps(flchain_result.to_dict()))
    for group in stored["groups"]:
        del group["suppressed"]
    # As an old evaluation had it: fairness over every group that is not small.
    stored["fairness"]["sensitivity"]["age_band"]["worst_group"] = "80-89"
    read = SplitResult.from_dict(stored)
    assert [(g.attribute, g.group) for g in read.groups if g.suppressed] == [
        (g.attribute, g.group) for g in flchain_result.groups if g.suppressed]
    assert read.fairness_of("sensitivity", "age_band").worst_group is None
    assert "rescore" in read.fairness_of("sensitivity", "age_band").reason
    assert read.parity["age_band"].get("demographic_parity_difference") is None
    # An attribute where nothing new is hidden keeps its summaries.
    assert read.fairness_of("sensitivity", "sex") == flchain_result.fairness_of("sensitivity",
                                                                                 "sex")
    assert read_stored({"public": stored})["public"] == read
