"""A metric advisor: which metrics suit a binary task, from its problem fingerprint.

Follows the image-level classification (ImLC) path of Metrics Reloaded (Maier-Hein et al.,
"Metrics reloaded: recommendations for image analysis validation", Nature Methods 21, 195–212,
2024). The paper's central idea is the *problem fingerprint*: the properties of the task, the
data and the domain interest that decide which metrics fit. Here the fingerprint is what the
ground truth says (prevalence, class imbalance, each subgroup's prevalence) and what only the
organiser knows (whether a decision threshold is given, whether calibration matters, whether
the costs of errors are known, whether the interest lies in the positive class).

:func:`advise` returns recommendations (metric ids of :mod:`scoring.registry` with a one-line
reason and the paper's section) and warnings about metrics the framework advises against for
the fingerprint. It enforces nothing: the organiser decides. The rules are those of
docs/metrics.md ("The metric advisor"); each is one function below, tested on fingerprints of
real data sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from scoring.error_costs import ErrorCosts
from scoring.errors import InputError
from scoring.io import Truth
from scoring.registry import metrics_for

# A minority class below this share of the cases is "strong" class imbalance (9:1 or worse):
# accuracy is then dominated by the majority class and the precision-recall curve says more
# about the positives than the ROC curve (Saito & Rehmsmeier 2015). Metrics Reloaded asks
# whether imbalance is present without fixing a cut-off; 10% is the common reading of "rare".
STRONG_IMBALANCE = 0.1
# Accuracy is misleading once the prevalence leaves [0.2, 0.8] (the advisor's table).
ACCURACY_PREVALENCE = (0.2, 0.8)
# Subgroups whose prevalences differ by more than this factor make prevalence-dependent
# metrics incomparable across the groups.
PREVALENCE_RATIO = 2.0

# Sections of Maier-Hein et al. 2024 the rules follow (Fig. 2 is the recommendation framework;
# Extended Data Figs. 2–4 the subprocesses of the ImLC path; Supplementary Note 2.2 its
# condensed mapping, 2.6 calibration, 2.7 the decision guides; Table 1 the pitfalls it
# addresses, compiled in Reinke et al., "Understanding metric-related pitfalls in image
# analysis validation", Nature Methods 21, 182–194, 2024).
PAPER = "Maier-Hein et al. 2024, Metrics Reloaded (Nature Methods 21:195–212)"
MULTI_THRESHOLD = ("ImLC mapping, subprocess S4 (Extended Data Fig. 4): multi-threshold"
                   " metrics; decision guide Supplementary Note 2.7.3")
COUNTING = ("ImLC mapping, subprocess S2 (Extended Data Fig. 2): metrics of the decisions;"
            " decision guide Supplementary Note 2.7.1")
PENALTIES = ("ImLC mapping, subprocess S2 (Extended Data Fig. 2) with fingerprint item FP2.5"
             " (penalization of errors), Table 1")
PER_CLASS = ("ImLC mapping, subprocess S3 (Extended Data Fig. 3): per-class counting"
             " metrics; Supplementary Note 2.2")
CALIBRATION = ("Calibration, Supplementary Note 2.6, with fingerprint item FP2.7.1"
               " (calibration assessment requested), Table 1")
PREVALENCE = ("Prevalence dependency, fingerprint item FP4.2 (class prevalences), used in"
              " subprocesses S2–S4 (Extended Data Figs. 2–4), Table 1")


@dataclass(frozen=True)
class Fingerprint:
    """The properties of a binary task that decide its metrics.

    ``prevalence`` is the share of positive cases; ``group_prevalences`` maps an attribute to
    each of its groups' share of positives (groups with too few cases to say left out);
    ``threshold`` is the decision threshold the task prescribes (None: none is given, only a
    ranking of cases is asked for); ``calibration`` whether the scores must be usable as
    probabilities; ``costs`` the costs of a false negative and a false positive when they are
    known (None: unknown); ``positives`` whether the interest lies in finding the positive
    cases (rather than in both classes alike)."""

    n_cases: int
    prevalence: float
    group_prevalences: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    threshold: float | None = None
    calibration: bool = False
    costs: ErrorCosts | None = None
    positives: bool = False

    @property
    def minority_share(self) -> float:
        """The share of the rarer class (0.5: balanced)."""
        return min(self.prevalence, 1 - self.prevalence)

    @property
    def strongly_imbalanced(self) -> bool:
        return self.minority_share < STRONG_IMBALANCE

    @property
    def imbalance_ratio(self) -> float:
        """Majority to minority cases (inf when one class is absent)."""
        minority = self.minority_share
        return float("inf") if minority == 0 else (1 - minority) / minority

    def prevalence_spread(self) -> dict[str, float]:
        """Per attribute with two or more groups: highest over lowest group prevalence (inf when
        a group has no positives and another has some)."""
        spread = {}
        for attribute, groups in self.group_prevalences.items():
            rates = list(groups.values())
            if len(rates) < 2:
                continue
            low, high = min(rates), max(rates)
            spread[attribute] = (float("inf") if low == 0 else high / low) if high > 0 else 1.0
        return spread

    def to_dict(self) -> dict:
        data = asdict(self)
        data["group_prevalences"] = {a: dict(g) for a, g in self.group_prevalences.items()}
        data["costs"] = None if self.costs is None else {"fn": self.costs.fn, "fp": self.costs.fp}
        data["imbalance_ratio"] = (None if self.imbalance_ratio == float("inf")
                                   else self.imbalance_ratio)
        data["strongly_imbalanced"] = self.strongly_imbalanced
        return data


def fingerprint(
    truth: Truth, *, threshold: float | None = None, calibration: bool = False,
    costs: ErrorCosts | None = None, positives: bool = False, min_group: int = 30,
    attributes: Sequence[str] | None = None,
) -> Fingerprint:
    """The fingerprint of a binary ground truth and the organiser's answers. Each attribute's
    groups with fewer than ``min_group`` cases are left out of the prevalence comparison (their
    prevalence is too noisy to call a difference); ``attributes`` limits the attributes
    compared (default: all). Raises :class:`InputError` for another task or bad options."""
    problems = []
    if truth.task != "binary":
        problems.append(f"the metric advisor covers binary tasks; this ground truth is "
                        f"{truth.task}")
    if truth.n == 0:
        problems.append("the ground truth has no cases")
    if threshold is not None and not 0 < threshold < 1:
        problems.append(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if min_group < 1:
        problems.append(f"min_group must be at least 1, got {min_group}")
    if costs is not None:
        problems += costs.problems()
    selected = list(truth.attributes) if attributes is None else list(attributes)
    problems += [f"unknown attribute {name!r}" for name in selected
                 if name not in truth.attributes]
    if problems:
        raise InputError(problems)
    labels = np.asarray(truth.labels, dtype=np.float64)
    groups: dict[str, dict[str, float]] = {}
    for name in selected:
        values = np.asarray(truth.attributes[name])
        rates = {}
        for group in np.unique(values):
            member = values == group
            if member.sum() >= min_group:
                rates[str(group)] = float(labels[member].mean())
        groups[name] = rates
    return Fingerprint(
        n_cases=truth.n, prevalence=float(labels.mean()), group_prevalences=groups,
        threshold=threshold, calibration=calibration, costs=costs, positives=positives,
    )


@dataclass(frozen=True)
class Recommendation:
    """Use ``metric`` (a registry id) for ``reason``; ``section`` of the paper."""

    metric: str
    reason: str
    section: str


@dataclass(frozen=True)
class MetricWarning:
    """The framework advises against ``metric`` for this fingerprint, for ``reason``."""

    metric: str
    reason: str
    section: str


@dataclass(frozen=True)
class Advice:
    """What :func:`advise` returns: ``recommended`` in the order of the rules (a metric once,
    with the first rule's reason), ``warnings`` about the metrics considered, and ``notes``
    that explain the fingerprint in words."""

    fingerprint: Fingerprint
    recommended: list[Recommendation]
    warnings: list[MetricWarning]
    notes: list[str]

    def metric_ids(self) -> list[str]:
        return [item.metric for item in self.recommended]

    def to_dict(self) -> dict:
        return {
            "fingerprint": self.fingerprint.to_dict(),
            "recommended": [asdict(item) for item in self.recommended],
            "warnings": [asdict(item) for item in self.warnings],
            "notes": list(self.notes),
            "source": PAPER,
        }


def _multi_threshold(fp: Fingerprint) -> list[Recommendation]:
    found = [Recommendation(
        "auroc", "ranks the cases over all thresholds, independent of the prevalence: the"
        " discrimination of every entry, whatever threshold is later chosen", MULTI_THRESHOLD,
    )]
    if fp.strongly_imbalanced and fp.positives:
        found.append(Recommendation(
            "auprc", f"with strong imbalance ({fp.imbalance_ratio:.0f}:1) and the interest in"
            " the positives, precision over recall shows how many false alarms come with each"
            " positive found, which the ROC curve hides", MULTI_THRESHOLD,
        ))
    return found


def _at_threshold(fp: Fingerprint) -> list[Recommendation]:
    if fp.threshold is None:
        return []
    if fp.costs is not None:
        return [
            Recommendation(
                "expected_cost", f"the costs of errors are known ({fp.costs}): the mean cost"
                f" per case of the decisions at the threshold {fp.threshold:g} is what the"
                " task pays", PENALTIES,
            ),
            Recommendation(
                "net_benefit", f"the threshold {fp.threshold:g} states how many false positives"
                " a true positive is worth (t/(1 − t)): the benefit of acting on the decisions"
                " (decision curve analysis, Vickers & Elkin 2006)", PENALTIES,
            ),
        ]
    return [
        Recommendation(
            "balanced_accuracy", "the decisions at the threshold without known costs: the mean"
            " of sensitivity and specificity, unaffected by the prevalence", COUNTING,
        ),
        Recommendation(
            "mcc", "the decisions at the threshold without known costs: uses all four cells of"
            " the confusion matrix and is high only when both classes are decided well",
            COUNTING,
        ),
        Recommendation(
            "sensitivity", "report beside it: the share of positives found at the threshold",
            PER_CLASS,
        ),
        Recommendation(
            "specificity", "report beside it: the share of negatives cleared at the threshold",
            PER_CLASS,
        ),
    ]


def _calibration(fp: Fingerprint) -> list[Recommendation]:
    if not fp.calibration:
        return []
    return [
        Recommendation(
            "brier", "calibration matters: a proper scoring rule, rewarding scores that are"
            " honest probabilities (log_loss is the alternative, harsher on confident errors)",
            CALIBRATION,
        ),
        Recommendation(
            "ece", "calibration matters: shows how far the scores are from the observed"
            " positive rates; read it beside the Brier score, never alone", CALIBRATION,
        ),
    ]


def _group_comparisons(fp: Fingerprint) -> list[Recommendation]:
    differing = _differing_attributes(fp)
    if not differing:
        return []
    why = f"subgroups of {', '.join(differing)} differ in prevalence by more than" \
          f" {PREVALENCE_RATIO:g}×: "
    return [
        Recommendation(metric, why + reason, PREVALENCE)
        for metric, reason in (
            ("sensitivity", "a rate within the positives, comparable across the groups"),
            ("specificity", "a rate within the negatives, comparable across the groups"),
            ("auroc", "does not depend on the prevalence, comparable across the groups"),
            ("balanced_accuracy", "the mean of two prevalence-free rates, comparable across the"
             " groups"),
        )
    ]


def _differing_attributes(fp: Fingerprint) -> list[str]:
    return [name for name, ratio in fp.prevalence_spread().items() if ratio > PREVALENCE_RATIO]


def _warnings(fp: Fingerprint, considered: set[str], everything: bool) -> list[MetricWarning]:
    found: list[MetricWarning] = []
    low, high = ACCURACY_PREVALENCE
    if fp.threshold is not None and fp.costs is not None:
        found.append(MetricWarning(
            "accuracy", "counts a false negative and a false positive alike although their"
            f" costs are known to differ ({fp.costs}); use expected_cost", PENALTIES,
        ))
    elif fp.threshold is not None and not low <= fp.prevalence <= high:
        found.append(MetricWarning(
            "accuracy", f"the prevalence is {fp.prevalence:.2f}: deciding every case"
            f" {'negative' if fp.prevalence < low else 'positive'} already reaches"
            f" {max(fp.prevalence, 1 - fp.prevalence):.2f}", COUNTING,
        ))
    if fp.calibration and "ece" in considered and (
        everything or not considered & {"brier", "log_loss"}
    ):
        found.append(MetricWarning(
            "ece", "alone it depends on the binning (10 equal-width bins here) and is biased"
            " upward in sparse bins; report brier or log_loss beside it", CALIBRATION,
        ))
    differing = _differing_attributes(fp)
    if differing:
        for metric in ("ppv", "npv", "f1", "auprc", "accuracy"):
            found.append(MetricWarning(
                metric, f"depends on the prevalence, which differs more than"
                f" {PREVALENCE_RATIO:g}× between the groups of {', '.join(differing)}: a gap"
                " between groups may be the prevalence, not the entry", PREVALENCE,
            ))
    return [item for item in found if item.metric in considered]


def advise(fp: Fingerprint, metrics: Sequence[str] | None = None) -> Advice:
    """Recommendations for ``fp`` and warnings about ``metrics`` (metric ids on the board;
    None: every metric of the registry, so the warnings list all the framework advises
    against). Raises :class:`InputError` naming unknown metric ids."""
    known = {metric.id for metric in metrics_for("binary")}
    if metrics is not None:
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise InputError(f"unknown metric {', '.join(map(repr, unknown))} for binary; "
                             f"available: {', '.join(sorted(known))}")
    considered = known if metrics is None else set(metrics)
    recommended: dict[str, Recommendation] = {}
    for rule in (_multi_threshold, _at_threshold, _calibration, _group_comparisons):
        for item in rule(fp):
            recommended.setdefault(item.metric, item)
    return Advice(
        fingerprint=fp,
        recommended=list(recommended.values()),
        warnings=_warnings(fp, considered, metrics is None),
        notes=_notes(fp),
    )


def _notes(fp: Fingerprint) -> list[str]:
    notes = [f"{fp.n_cases} cases, prevalence {fp.prevalence:.3f}"
             + (f" (imbalance {fp.imbalance_ratio:.1f}:1, strong)" if fp.strongly_imbalanced
                else "")]
    if fp.threshold is None:
        notes.append("no decision threshold given: metrics of the decisions are left out"
                     + ("; the error costs need one (expected_cost weighs the errors of the"
                        " decisions at a threshold)" if fp.costs is not None else ""))
    else:
        notes.append(f"decision threshold {fp.threshold:g}; error costs "
                     + ("unknown" if fp.costs is None else f"known ({fp.costs})"))
    for name, ratio in fp.prevalence_spread().items():
        rates = fp.group_prevalences[name]
        shown = ", ".join(f"{g} {r:.2f}" for g, r in sorted(rates.items()))
        notes.append(f"prevalence by {name}: {shown} (highest/lowest "
                     + ("∞" if ratio == float("inf") else f"{ratio:.1f}") + ")")
    return notes
