"""Several raters: how much the people who labelled the cases agree, how each entry scores against
each of them, and how much the ranking depends on whose labels are used.

A ground truth may carry, beside the official ``label``, one column ``label_<rater>`` per rater
(``scoring.rater_columns``; read into ``Truth.raters``). From them:

* the *references* an entry is scored against: the official label, the raters' majority (a tie
  broken by the organiser's rule, ``TIE_RULES``) and each rater;
* the raters' agreement, the "human ceiling": Cohen's kappa of every pair of raters (Cohen 1960,
  as ``sklearn.metrics.cohen_kappa_score``), Fleiss' kappa over all of them (Fleiss 1971,
  ``statsmodels.stats.inter_rater.fleiss_kappa``), and each rater's labels scored as if they
  were an entry, against the majority of the *other* raters and against the official label, on
  the metrics where a hard label is a meaningful prediction (``rater_metrics``);
* rank intervals across raters: each entry's rank under each rater's labels, its best and worst,
  and the share of raters under which the official leader stays first.

Pure functions over ``Truth``/``Predictions``; the CLI (``python -m scoring raters``) and the
worker call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa as _statsmodels_fleiss

from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.io import Predictions, Truth
from scoring.ranking import rank_column
from scoring.rater_columns import rater_name
from scoring.registry import get_metric
from scoring.vocabulary import CLASS_LABELS, DECISIONS, TIE_RULES

OFFICIAL = "label"
MAJORITY = "majority"
# Metrics a rater's hard labels can be scored on as a prediction: those of decisions or class
# labels, and the AUROC (a 0/1 score is one operating point: its AUROC is the balanced
# accuracy). Calibration and likelihood measures of a 0/1 "probability" say nothing.
_RATER_SCORE_METRICS = frozenset({"auroc"})


def check_tie_rule(rule: str) -> None:
    if rule not in TIE_RULES:
        raise InputError(f"unknown tie rule {rule!r}; choose one of {', '.join(TIE_RULES)}")


def _codes(truth: Truth, values: np.ndarray) -> np.ndarray:
    """Labels as class indices 0..k-1 (binary: the 0/1 labels themselves)."""
    if truth.task == "binary":
        return np.asarray(values, dtype=np.int64)
    assert truth.classes is not None
    index = {name: i for i, name in enumerate(truth.classes)}
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))


def _n_classes(truth: Truth) -> int:
    return 2 if truth.task == "binary" else len(truth.classes or ())


def _decode(truth: Truth, codes: np.ndarray) -> np.ndarray:
    if truth.task == "binary":
        return codes.astype(np.int8)
    return np.array(truth.classes, dtype=object)[codes]


def _check_raters(truth: Truth, least: int = 1) -> None:
    if len(truth.raters) < least:
        raise InputError(
            f"the ground truth has {len(truth.raters)} rater column(s) (label_<rater>); "
            f"this needs at least {least}"
        )


def vote_counts(truth: Truth, columns: Sequence[str] | None = None) -> np.ndarray:
    """Cases x classes: how many of the raters (``columns``, default all) gave each class."""
    columns = list(truth.raters) if columns is None else list(columns)
    k = _n_classes(truth)
    counts = np.zeros((truth.n, k), dtype=np.int64)
    for column in columns:
        counts[np.arange(truth.n), _codes(truth, truth.raters[column])] += 1
    return counts


def majority(truth: Truth, tie_rule: str = "official",
             columns: Sequence[str] | None = None) -> np.ndarray:
    """The raters' majority label per case (encoded as ``truth.labels``). A case where several
    classes share the most votes goes by ``tie_rule``: ``official`` its official label when that
    is among the tied classes (else the first tied class), ``positive``/``negative`` the
    last/first tied class in class order (binary: 1/0)."""
    check_tie_rule(tie_rule)
    _check_raters(truth)
    counts = vote_counts(truth, columns)
    top = counts == counts.max(axis=1, keepdims=True)
    k = counts.shape[1]
    first = top.argmax(axis=1)
    last = k - 1 - top[:, ::-1].argmax(axis=1)
    if tie_rule == "positive":
        chosen = last
    elif tie_rule == "negative":
        chosen = first
    else:
        official = _codes(truth, truth.labels)
        chosen = np.where(top[np.arange(truth.n), official], official, first)
    return _decode(truth, chosen)


def references(truth: Truth, tie_rule: str = "official") -> dict[str, np.ndarray]:
    """What an entry is scored against, in display order: the official label, the majority,
    then each rater column."""
    return {OFFICIAL: truth.labels, MAJORITY: majority(truth, tie_rule), **truth.raters}


def cohen_kappa(truth: Truth, a: np.ndarray, b: np.ndarray) -> float | None:
    """Cohen's kappa of two label arrays: (p_o − p_e) / (1 − p_e); ``None`` when p_e is 1 (both
    gave one class only). Matches ``sklearn.metrics.cohen_kappa_score``."""
    k = _n_classes(truth)
    table = np.zeros((k, k), dtype=np.float64)
    np.add.at(table, (_codes(truth, a), _codes(truth, b)), 1)
    n = table.sum()
    if n == 0:
        return None
    observed = np.trace(table) / n
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if expected >= 1:
        return None
    return float((observed - expected) / (1 - expected))


def fleiss_kappa(truth: Truth) -> float | None:
    """Fleiss' kappa of all raters (``statsmodels.stats.inter_rater.fleiss_kappa``, method
    "fleiss"); ``None`` with fewer than two raters, no cases, or a single class used by all."""
    if len(truth.raters) < 2 or truth.n == 0:
        return None
    counts = vote_counts(truth)
    value = float(_statsmodels_fleiss(counts, method="fleiss"))
    return value if np.isfinite(value) else None


@dataclass(frozen=True)
class Agreement:
    """The raters' agreement on a set of cases. ``pairwise``: one entry per pair of raters
    (names without the ``label_`` prefix) with Cohen's kappa and the share of cases they agree
    on; ``fleiss``: Fleiss' kappa over all raters; ``unanimous``: the share of cases on which
    every rater gave the same label."""

    raters: list[str]
    n_cases: int
    pairwise: list[dict]
    fleiss: float | None
    unanimous: float | None

    def to_dict(self) -> dict:
        return {"raters": self.raters, "n_cases": self.n_cases, "pairwise": self.pairwise,
                "fleiss_kappa": self.fleiss, "unanimous": self.unanimous}


def agreement(truth: Truth) -> Agreement:
    """How much the raters agree with one another (pass ``truth.subset(mask)`` for a split)."""
    _check_raters(truth, least=2)
    pairs = []
    for a, b in combinations(truth.raters, 2):
        same = truth.raters[a] == truth.raters[b]
        pairs.append({"a": rater_name(a), "b": rater_name(b),
                      "kappa": cohen_kappa(truth, truth.raters[a], truth.raters[b]),
                      "agreement": float(same.mean()) if truth.n else None})
    counts = vote_counts(truth)
    unanimous = float((counts.max(axis=1) == len(truth.raters)).mean()) if truth.n else None
    return Agreement(raters=[rater_name(c) for c in truth.raters], n_cases=truth.n,
                     pairwise=pairs, fleiss=fleiss_kappa(truth), unanimous=unanimous)


def _against(truth: Truth, labels: np.ndarray) -> Truth:
    """``truth`` with ``labels`` as its labels, without attributes or raters: a reference to
    score against overall (no subgroups: a rater's labels are never split into groups)."""
    return truth.replace(labels=labels, attributes={}, raters={}, attribute_codes={})


def _values(truth: Truth, predictions: Predictions, metrics: Sequence[str],
            threshold: float) -> dict[str, float | None]:
    result = evaluate(truth, predictions, threshold=threshold, metrics=metrics, bootstrap=0,
                      attributes=[])
    return {metric: result.overall[metric].value for metric in metrics}


def score_references(
    truth: Truth, predictions: Predictions, *, metrics: Sequence[str], threshold: float = 0.5,
    tie_rule: str = "official", cases: np.ndarray | None = None,
) -> dict[str, dict[str, float | None]]:
    """An entry's value of each metric against each reference (``references``): keys
    ``label``, ``majority`` and each rater column. ``cases``: a mask (a split)."""
    _check_raters(truth)
    if cases is not None:
        truth, predictions = truth.subset(cases), predictions.subset(cases)
    return {name: _values(_against(truth, labels), predictions, metrics, threshold)
            for name, labels in references(truth, tie_rule).items()}


def rater_metrics(task: str, metrics: Sequence[str]) -> list[str]:
    """The metrics among ``metrics`` a rater's hard labels can be scored on."""
    return [m for m in metrics
            if get_metric(m, task).uses in (DECISIONS, CLASS_LABELS)
            or m in _RATER_SCORE_METRICS]


def rater_as_entry(truth: Truth, column: str) -> Predictions:
    """A rater's labels as predictions (binary: the 0/1 label as both score and decision)."""
    labels = truth.raters[column]
    if truth.task == "binary":
        return Predictions(task="binary", scores=labels.astype(np.float64), labels=labels)
    return Predictions(task=truth.task, labels=labels)


def human_ceiling(
    truth: Truth, *, metrics: Sequence[str], threshold: float = 0.5,
    tie_rule: str = "official", cases: np.ndarray | None = None,
) -> dict:
    """How well the raters do as entries: each rater against the majority of the other raters
    (with two raters, the other one) and against the official label, on ``rater_metrics``;
    plus the agreement (``Agreement.to_dict``). Metrics a hard label cannot be scored on are
    listed in ``not_scored``."""
    _check_raters(truth, least=2)
    if cases is not None:
        truth = truth.subset(cases)
    scored = rater_metrics(truth.task, metrics)
    rows = []
    for column in truth.raters:
        others = [c for c in truth.raters if c != column]
        entry = rater_as_entry(truth, column)
        rest = majority(truth, tie_rule, columns=others)
        rows.append({
            "rater": rater_name(column),
            "against_others": _values(_against(truth, rest), entry, scored, threshold)
            if scored else {},
            "against_label": _values(_against(truth, truth.labels), entry, scored, threshold)
            if scored else {},
        })
    best: dict[str, dict[str, float | None]] = {}
    for metric in scored:
        direction = get_metric(metric, truth.task).higher_is_better
        for key in ("against_others", "against_label"):
            values = [r[key][metric] for r in rows if r[key][metric] is not None]
            best.setdefault(key, {})[metric] = (
                None if not values else float(np.mean(values))
            )
        best.setdefault("higher_is_better", {})[metric] = direction
    return {"agreement": agreement(truth).to_dict(), "raters": rows, "mean": best,
            "metrics": scored, "not_scored": [m for m in metrics if m not in scored]}


@dataclass(frozen=True)
class RankIntervals:
    """Entries' ranks on one metric under each reference. ``ranks[entry][reference]`` is the
    "1224" rank; ``low``/``high`` the best and worst rank over the raters (not the official label
    or majority); ``first_share`` the share of raters under which the entry ranks first;
    ``leader_stays`` the share of raters under which the official leader(s) stay first."""

    metric: str
    references: list[str]
    entries: list[str]
    ranks: dict[str, dict[str, int]]
    low: dict[str, int]
    high: dict[str, int]
    first_share: dict[str, float]
    leader_stays: float | None
    leaders: list[str]

    def to_dict(self) -> dict:
        return {"metric": self.metric, "references": self.references, "entries": self.entries,
                "ranks": self.ranks, "low": self.low, "high": self.high,
                "first_share": self.first_share, "leader_stays": self.leader_stays,
                "leaders": self.leaders}


def rank_intervals(
    scores: Mapping[str, Mapping[str, Mapping[str, float | None]]], *, metric: str,
    higher_is_better: bool,
) -> RankIntervals:
    """Rank intervals across raters from ``scores[entry] = score_references(...)``: how often the
    winner changes when the annotator changes. An undefined value ranks last (as on the
    leaderboard, ``scoring.ranking``)."""
    entries = list(scores)
    if not entries:
        raise InputError("rank intervals need at least one entry")
    names = list(next(iter(scores.values())))
    raters = [n for n in names if n not in (OFFICIAL, MAJORITY)]
    ranks: dict[str, dict[str, int]] = {entry: {} for entry in entries}
    for name in names:
        column = np.array([np.nan if scores[e][name][metric] is None
                           else scores[e][name][metric] for e in entries], dtype=float)
        for entry, rank in zip(entries, rank_column(column, higher_is_better), strict=True):
            ranks[entry][name] = int(rank)
    leaders = [e for e in entries if ranks[e][OFFICIAL] == 1]
    stays = None
    if raters:
        stays = float(np.mean([all(ranks[e][r] == 1 for e in leaders) for r in raters]))
    return RankIntervals(
        metric=metric, references=names, entries=entries, ranks=ranks,
        low={e: min((ranks[e][r] for r in raters), default=ranks[e][OFFICIAL]) for e in entries},
        high={e: max((ranks[e][r] for r in raters), default=ranks[e][OFFICIAL]) for e in entries},
        first_share={e: float(np.mean([ranks[e][r] == 1 for r in raters])) if raters else 0.0
                     for e in entries},
        leader_stays=stays, leaders=leaders,
    )


def raters_report(
    truth: Truth, entries: Mapping[str, Predictions], *, metrics: Sequence[str],
    threshold: float = 0.5, tie_rule: str = "official", cases: np.ndarray | None = None,
) -> dict:
    """Everything about the raters for a field of entries (the CLI's ``--format json``): each
    entry's scores against every reference, the human ceiling (with two or more raters) and the
    rank intervals on each metric. ``metrics[0]`` is the one the rank intervals lead with."""
    _check_raters(truth)
    check_tie_rule(tie_rule)
    if not metrics:
        raise InputError("give at least one metric")
    scores = {name: score_references(truth, p, metrics=metrics, threshold=threshold,
                                     tie_rule=tie_rule, cases=cases)
              for name, p in entries.items()}
    ceiling = (human_ceiling(truth, metrics=metrics, threshold=threshold, tie_rule=tie_rule,
                             cases=cases) if len(truth.raters) >= 2 else None)
    intervals = [rank_intervals(scores, metric=m,
                                higher_is_better=get_metric(m, truth.task).higher_is_better)
                 .to_dict() for m in metrics] if scores else []
    return {"tie_rule": tie_rule, "metrics": list(metrics),
            "references": [OFFICIAL, MAJORITY, *truth.raters], "scores": scores,
            "ceiling": ceiling, "rank_intervals": intervals}
