"""Evaluation-data report for organisers: how well the ground truth's subgroups can be ranked.

Shown in the admin after a ground-truth upload and by ``python -m scoring describe``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scoring.errors import InputError
from scoring.groups import build_grouping, check_selection
from scoring.io import Truth
from scoring.power import check_options, group_power
from scoring.vocabulary import SPLITS

Z = 1.959963984540054  # standard normal 97.5% quantile
SMALLEST_SHOWN = 3


def sensitivity_half_width(positives: int) -> float | None:
    """Half-width of the 95% interval one can expect for a sensitivity measured on
    ``positives`` cases: the normal approximation z·sqrt(p(1 − p)/positives) at its largest,
    p = 0.5. None without positives (sensitivity is then undefined)."""
    return Z * math.sqrt(0.25 / positives) if positives else None


def describe(
    truth: Truth,
    *,
    attributes: Sequence[str] | None = None,
    intersections: Sequence[tuple[str, str]] = (),
    min_group: int = 30,
    power: tuple[float, float] | None = None,
) -> dict:
    """Per attribute and intersection: each group's count, share and (binary) positive rate
    and expected sensitivity half-width, or (multiclass) count per class; the effective
    number of groups (exp of the Shannon entropy of the shares); the smallest groups; and
    warnings for groups too small to rank on or lacking a class.

    With ``power=(baseline, difference)`` (binary tasks only) each group also gets ``"power"``,
    :func:`scoring.power.group_power` of its positives and negatives at that baseline
    proportion and difference to detect; None (the default) leaves it out.
    """
    problems = check_selection(list(truth.attributes), attributes, intersections)
    if power is not None and truth.task != "binary":
        problems.append("power analysis is defined for binary tasks only")
    if problems:
        raise InputError(problems)
    if power is not None:
        check_options(*power)
    selected = list(truth.attributes) if attributes is None else list(attributes)
    grouping = build_grouping(
        truth.n, truth.attributes, selected, [tuple(p) for p in intersections]
    )
    n = truth.n
    sizes = np.bincount(grouping.cell, minlength=grouping.cell_group.shape[0])
    group_sizes = np.zeros(grouping.n_groups)
    np.add.at(group_sizes, grouping.cell_group, sizes[:, None])
    binary = truth.task == "binary"
    positives = np.zeros(grouping.n_groups)
    if binary:
        cell_positives = np.bincount(grouping.cell, weights=truth.labels, minlength=len(sizes))
        np.add.at(positives, grouping.cell_group, cell_positives[:, None])
    if truth.task == "multiclass":
        index = {c: i for i, c in enumerate(truth.classes)}
        k = len(truth.classes)
        codes = np.array([index[label] for label in truth.labels], dtype=np.int64)
        per_cell = np.bincount(grouping.cell * k + codes, minlength=len(sizes) * k)
        class_counts = np.zeros((grouping.n_groups, k))
        np.add.at(class_counts, grouping.cell_group, per_cell.reshape(len(sizes), 1, k))

    report_attributes = []
    warnings = []
    for partition in grouping.partitions[1:]:
        groups = []
        for g in partition.groups:
            size = int(group_sizes[g])
            entry: dict = {
                "group": grouping.names[g], "n": size, "share": size / n,
                "small": size < min_group,
            }
            label = f"{partition.name} = {grouping.names[g]}"
            if size < min_group:
                warnings.append(
                    f"{label}: {size} cases, fewer than {min_group}: flagged small and left out "
                    "of fairness summaries"
                )
            if binary:
                count = int(positives[g])
                entry.update({
                    "positives": count,
                    "positive_rate": count / size,
                    "sensitivity_half_width": sensitivity_half_width(count),
                })
                if power is not None:
                    entry["power"] = group_power(
                        count, size - count, baseline=power[0], difference=power[1]
                    )
                if count == 0:
                    warnings.append(f"{label}: no positive cases: sensitivity is undefined")
                elif count == size:
                    warnings.append(
                        f"{label}: no negative cases: specificity and AUROC are undefined"
                    )
            if truth.task == "multiclass":
                entry["class_counts"] = dict(
                    zip(truth.classes, class_counts[g].astype(int).tolist(), strict=True)
                )
                absent = [c for c, count in entry["class_counts"].items() if count == 0]
                if absent:
                    warnings.append(
                        f"{label}: no cases of class {', '.join(absent)}: left out of this "
                        "group's macro averages"
                    )
            groups.append(entry)
        shares = np.array([entry["share"] for entry in groups])
        smallest = sorted(groups, key=lambda entry: entry["n"])[:SMALLEST_SHOWN]
        report_attributes.append({
            "attribute": partition.name,
            "n_groups": len(groups),
            "effective_groups": float(np.exp(-(shares * np.log(shares)).sum())),
            "smallest": [entry["group"] for entry in smallest],
            "groups": groups,
        })
    report: dict = {"task": truth.task, "n_cases": n}
    if binary:
        report["positive_rate"] = float(truth.labels.mean())
    if truth.split is not None:
        report["split"] = {name: int((truth.split == name).sum()) for name in SPLITS}
    report["attributes"] = report_attributes
    report["warnings"] = warnings
    return report
