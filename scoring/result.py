"""Typed results of :func:`scoring.evaluate.evaluate`: one split's scores, overall and per group.

The web app stores ``result.to_dict()`` per split in ``Submission.result`` and the CLI prints it
as ``--format json``, so ``to_dict`` gives exactly the JSON documented in docs/metrics.md, and
``from_dict`` reads every row already stored (older rows may lack optional keys: they read as
``None`` or empty). Callers read attributes and the helpers (``metric``, ``group``,
``worst_group``) instead of nested string keys, so a renamed key breaks at one place.

Values are ``None`` where a metric is undefined (``reason`` says why); intervals are 95%
percentile bootstrap intervals, ``None`` without bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scoring.suppression import suppressed_groups
from scoring.vocabulary import SPLITS


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class MetricValue:
    """One metric on one set of cases.

    ``value`` is None when the metric is undefined there, with ``reason`` saying why (e.g. no
    positives). ``ci`` is the (low, high) 95% bootstrap interval, None without bootstrap or when
    the metric is undefined in too many resamples (``ci_reason``).
    """

    value: float | None
    ci: tuple[float, float] | None = None
    reason: str | None = None
    ci_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "value": self.value, "ci": None if self.ci is None else list(self.ci),
        }
        if self.reason is not None:
            document["reason"] = self.reason
        if self.ci_reason is not None:
            document["ci_reason"] = self.ci_reason
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricValue:
        ci = data.get("ci")
        return cls(
            value=_optional_float(data.get("value")),
            ci=None if not ci else (float(ci[0]), float(ci[1])),
            reason=data.get("reason"),
            ci_reason=data.get("ci_reason"),
        )


def _metrics_to_dict(metrics: Mapping[str, MetricValue]) -> dict[str, dict[str, Any]]:
    return {metric_id: value.to_dict() for metric_id, value in metrics.items()}


def _metrics_from_dict(data: Mapping[str, Any] | None) -> dict[str, MetricValue]:
    return {metric_id: MetricValue.from_dict(value) for metric_id, value in (data or {}).items()}


@dataclass(frozen=True)
class GroupResult:
    """Every metric on one group of one attribute (or intersection ``a×b``).

    ``small`` marks a group with fewer cases than the evaluation's ``min_group``; ``suppressed``
    a group whose values are withheld from participants (every small group, and the groups
    hidden with them so that no small one can be derived by subtraction: see
    :mod:`scoring.suppression`). Suppressed groups are left out of the fairness summaries and
    parity, for everyone.
    """

    attribute: str
    group: str
    n: int
    small: bool
    metrics: dict[str, MetricValue]
    suppressed: bool = False

    def metric(self, metric_id: str) -> MetricValue | None:
        """The metric on this group; None when it was not scored."""
        return self.metrics.get(metric_id)

    def value(self, metric_id: str) -> float | None:
        """The metric's value on this group; None when undefined or not scored."""
        entry = self.metrics.get(metric_id)
        return None if entry is None else entry.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute, "group": self.group, "n": self.n, "small": self.small,
            "suppressed": self.suppressed, "metrics": _metrics_to_dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupResult:
        """One stored group; without a ``suppressed`` key (rows stored before it), a small group
        reads as suppressed and ``SplitResult.from_dict`` adds the groups hidden with it."""
        small = bool(data.get("small", False))
        return cls(
            attribute=str(data["attribute"]),
            group=str(data["group"]),
            n=int(data.get("n", 0)),
            small=small,
            metrics=_metrics_from_dict(data.get("metrics")),
            suppressed=bool(data.get("suppressed", small)),
        )


@dataclass(frozen=True)
class FairnessSummary:
    """One metric across the groups of one attribute that are not suppressed, where it is
    defined (a suppressed group's value would follow from the worst value or the gap).

    ``difference`` is max − min, ``ratio`` min / max (None when a value is 0 or below), and
    ``worst_group``/``worst_value`` the group with the worst value in the metric's direction.
    All are None with fewer than two such groups; ``reason`` then says so.
    """

    difference: float | None = None
    ratio: float | None = None
    worst_group: str | None = None
    worst_value: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "difference": self.difference, "ratio": self.ratio, "worst_group": self.worst_group,
            "worst_value": self.worst_value,
        }
        if self.reason is not None:
            document["reason"] = self.reason
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessSummary:
        return cls(
            difference=_optional_float(data.get("difference")),
            ratio=_optional_float(data.get("ratio")),
            worst_group=data.get("worst_group"),
            worst_value=_optional_float(data.get("worst_value")),
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class Parity:
    """Parity measures across the groups of one attribute that are not suppressed.

    ``measures`` maps a measure's name to its value (None when undefined): binary tasks have
    ``demographic_parity_difference`` and ``equalized_odds_difference``, predictions with scores
    ``score_wasserstein``. Which names appear depends on the task, so they are a mapping rather
    than fields; ``reason`` says why a value is missing.
    """

    measures: dict[str, float | None]
    reason: str | None = None

    def get(self, name: str) -> float | None:
        """The measure's value; None when undefined or not computed for this task."""
        return self.measures.get(name)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = dict(self.measures)
        if self.reason is not None:
            document["reason"] = self.reason
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parity:
        return cls(
            measures={k: _optional_float(v) for k, v in data.items() if k != "reason"},
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class SplitResult:
    """What :func:`scoring.evaluate.evaluate` returns for one set of cases (a split, or all).

    ``overall`` maps metric ids to their value on all the cases, in the order they were scored;
    ``groups`` lists every group of every attribute in the grouping's order; ``fairness`` is
    ``{metric: {attribute: summary}}`` and ``parity`` ``{attribute: parity}``. ``threshold`` is
    the binary decision threshold (None for other tasks). ``task`` is None only on rows stored
    before it was recorded.
    """

    task: str | None
    n_cases: int
    threshold: float | None
    overall: dict[str, MetricValue]
    groups: list[GroupResult] = field(default_factory=list)
    fairness: dict[str, dict[str, FairnessSummary]] = field(default_factory=dict)
    parity: dict[str, Parity] = field(default_factory=dict)

    @property
    def metric_ids(self) -> list[str]:
        """The scored metrics, in the order they were scored."""
        return list(self.overall)

    @property
    def attributes(self) -> list[str]:
        """The attributes (and intersections) the groups belong to, in order of appearance."""
        return list(dict.fromkeys(group.attribute for group in self.groups))

    def metric(self, metric_id: str) -> MetricValue | None:
        """The metric on all the cases; None when it was not scored."""
        return self.overall.get(metric_id)

    def value(self, metric_id: str) -> float | None:
        """The metric's value on all the cases; None when undefined or not scored."""
        entry = self.overall.get(metric_id)
        return None if entry is None else entry.value

    def group(self, attribute: str, group: str) -> GroupResult | None:
        """The group ``attribute = group``; None when the evaluation has no such group."""
        return next(
            (g for g in self.groups if g.attribute == attribute and g.group == group), None
        )

    def groups_of(self, attribute: str) -> list[GroupResult]:
        """Every group of ``attribute``, in the grouping's order (empty for an unknown one)."""
        return [g for g in self.groups if g.attribute == attribute]

    def fairness_of(self, metric_id: str, attribute: str) -> FairnessSummary | None:
        """The fairness summary of a metric across an attribute's groups; None when absent."""
        return self.fairness.get(metric_id, {}).get(attribute)

    def worst_group(self, metric_id: str, attribute: str) -> str | None:
        """The group that fares worst on the metric among the attribute's groups that are not
        suppressed; None when fewer than two such groups have a value, or the pair was not
        scored."""
        summary = self.fairness_of(metric_id, attribute)
        return None if summary is None else summary.worst_group

    def to_dict(self) -> dict[str, Any]:
        """The JSON document stored per split in ``Submission.result`` (and ``--format json``)."""
        return {
            "task": self.task,
            "n_cases": self.n_cases,
            "threshold": self.threshold,
            "overall": _metrics_to_dict(self.overall),
            "groups": [group.to_dict() for group in self.groups],
            "fairness": {
                metric_id: {attribute: s.to_dict() for attribute, s in by_attribute.items()}
                for metric_id, by_attribute in self.fairness.items()
            },
            "parity": {attribute: p.to_dict() for attribute, p in self.parity.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SplitResult:
        """Read a stored document; keys missing from older rows read as None or empty.

        A row stored before secondary suppression gets it here, from its groups' sizes, so old
        submissions are protected too; its fairness summaries and parity were computed with the
        newly hidden groups in, so on their attributes they read as undefined (rescoring the
        submission computes them again without those groups)."""
        stored_groups = data.get("groups") or []
        result = cls(
            task=data.get("task"),
            n_cases=int(data.get("n_cases", 0)),
            threshold=_optional_float(data.get("threshold")),
            overall=_metrics_from_dict(data.get("overall")),
            groups=[GroupResult.from_dict(group) for group in stored_groups],
            fairness={
                metric_id: {
                    attribute: FairnessSummary.from_dict(summary)
                    for attribute, summary in (by_attribute or {}).items()
                }
                for metric_id, by_attribute in (data.get("fairness") or {}).items()
            },
            parity={
                attribute: Parity.from_dict(entry)
                for attribute, entry in (data.get("parity") or {}).items()
            },
        )
        if all("suppressed" in group for group in stored_groups):
            return result
        return result._with_suppression()

    def _with_suppression(self) -> SplitResult:
        """This result with ``suppressed`` set by the rule, and the summaries of every attribute
        where that hides a group that is not small made undefined."""
        hidden = suppressed_groups(self.groups)
        groups = [replace(g, suppressed=(g.attribute, g.group) in hidden) for g in self.groups]
        stale = {g.attribute for g in groups if g.suppressed and not g.small}
        reason = ("computed before secondary suppression, with a hidden group in; "
                  "rescore to compute it without")
        return replace(
            self,
            groups=groups,
            fairness={
                metric_id: {
                    attribute: FairnessSummary(reason=reason) if attribute in stale else summary
                    for attribute, summary in by_attribute.items()
                }
                for metric_id, by_attribute in self.fairness.items()
            },
            parity={
                attribute: Parity(measures=dict.fromkeys(entry.measures), reason=reason)
                if attribute in stale else entry
                for attribute, entry in self.parity.items()
            },
        )


def read_stored(stored: Mapping[str, Any] | None) -> dict[str, SplitResult]:
    """``{split: SplitResult}`` of a stored ``Submission.result`` (``{"public": ..., "private":
    ... or None}``), in ``SPLITS`` order; a split without a result (no private cases) is absent."""
    return {
        split: SplitResult.from_dict(stored[split])
        for split in SPLITS
        if stored and stored.get(split)
    }
