"""Levelling down and floors as the pages show them, released for the viewer.

The worker stores each entry's comparison with the reference in the snapshot
(``competitions.worker.levelling``); this module passes it through the release step
(``competitions.release.release_cell``: nothing while scores are hidden, every number rounded),
words the flags, and computes, for one entry, the paired-bootstrap interval of each group's
change against the reference (``scoring.levelling.group_change_intervals``), cached per
snapshot.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext as _

from competitions.case_results import (
    CaseArrays,
    arrays_predictions,
    phase_case_matrix,
    phase_truth,
)
from competitions.columns import stored_split
from competitions.models import Phase, Submission
from competitions.presentation.charts import worst_gap_chart
from competitions.release import Viewer, release_cell, release_value
from competitions.splits import split_mask
from scoring.errors import InputError
from scoring.io import read_predictions
from scoring.levelling import group_change_intervals, paired_resamples

# The seed of the phase's intervals (competitions.worker.evaluation.BOOTSTRAP_SEED): the
# change intervals draw the same resamples.
INTERVAL_SEED = 0


def released_summary(summary: dict | None, viewer: Viewer) -> dict | None:
    """The board's levelling settings (reference, floors, margin: the organisers' settings,
    shown as they are) and the reference's group values, released; None without either."""
    if not summary:
        return None
    floors = [
        {"metric": metric, "value": value,
         "ceiling": not summary.get("directions", {}).get(metric, True)}
        for metric, value in summary["floors"].items()
    ]
    groups = release_cell({"groups": summary["reference_groups"]}, viewer=viewer)["groups"]
    return {**summary, "floor_list": floors, "reference_groups": groups}


def released_row(stored: dict | None, viewer: Viewer, summary: dict | None) -> dict | None:
    """One entry's flags through the release step, each comparison completed with the
    reference's values (``summary``: ``released_summary``'s) on the groups both have, the
    change per group (a difference of released values, released again) and the sentences the
    leaderboard shows for each levelled-down metric and attribute. None without flags."""
    if not stored or not summary:
        return None
    released = release_cell(stored, viewer=viewer)
    if released.get("metrics") is None:
        return {"withheld": True, "reason": released.get("reason"), "meets_floors": None,
                "levelled_down": None, "explanations": [], "metrics": {}}
    references = summary.get("reference_groups") or {}
    explanations = []
    for metric, by_attribute in released["metrics"].items():
        higher = summary.get("directions", {}).get(metric, True)
        for attribute, comparison in by_attribute.items():
            reference = (references.get(metric) or {}).get(attribute) or {}
            shared = {g: reference[g] for g in comparison["groups"] if g in reference}
            comparison["reference_groups"] = shared
            comparison["reference_gap"] = (release_value(max(shared.values())
                                                         - min(shared.values()), viewer=viewer)
                                           if len(shared) > 1 else None)
            comparison["change"] = {
                g: release_value(comparison["groups"][g] - r, viewer=viewer)
                for g, r in shared.items()
            }
            if comparison["levelled_down"]:
                explanations.append(_explain(metric, attribute, comparison, higher))
    return {**released, "withheld": False, "explanations": explanations}


def _explain(metric: str, attribute: str, comparison: dict, higher_is_better: bool) -> str:
    change, reference = comparison["change"], comparison["reference_groups"]
    sign = 1 if higher_is_better else -1
    best = max(change, key=lambda g: sign * reference[g])
    worst = min(change, key=lambda g: sign * reference[g])
    return _(
        "Levelled down on %(metric)s by %(attribute)s: the gap narrowed from %(before)s to "
        "%(after)s because the better-off group got worse (%(best)s %(best_change)+.3f) while "
        "the worse-off did not improve (%(worst)s %(worst_change)+.3f)."
    ) % {"metric": metric, "attribute": attribute,
         "before": _number(comparison["reference_gap"]), "after": _number(comparison["gap"]),
         "best": best, "best_change": change[best], "worst": worst,
         "worst_change": change[worst]}


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def results_levelling(table: dict) -> list[dict]:
    """The results page's levelling section (and the report's): per metric and attribute of
    the board's levelling summary, every entry's worst-group value against its gap, from the
    released leaderboard ``table`` (rounded; empty while scores are hidden), with the chart's
    geometry. The reference is drawn and listed too."""
    summary = table.get("levelling")
    if not summary or table["hidden"]:
        return []
    panels = []
    for metric in summary["metrics"]:
        higher = summary["directions"].get(metric, True)
        for attribute in summary["attributes"]:
            rows = []
            for row in table["rows"]:
                flags = (row.get("levelling") or {}).get("metrics") or {}
                comparison = (flags.get(metric) or {}).get(attribute)
                if comparison is None:
                    continue
                rows.append({"team": row["team"], "rank": row["rank"],
                             "worst": comparison["worst"], "gap": comparison["gap"],
                             "levelled": comparison["levelled_down"],
                             "meets_floor": comparison["meets_floor"]})
            reference_groups = (summary["reference_groups"] or {}).get(metric, {}).get(
                attribute) or {}
            reference = None
            if summary["reference"] and reference_groups:
                values = list(reference_groups.values())
                reference = {"team": summary["reference"],
                             "worst": min(values) if higher else max(values),
                             "gap": max(values) - min(values) if len(values) > 1 else None}
            floor = summary["floors"].get(metric)
            chart = worst_gap_chart(rows, floor=floor, reference=reference,
                                    higher_is_better=higher)
            if chart is None:
                continue
            panels.append({"metric": metric, "attribute": attribute, "rows": rows,
                           "reference": reference, "floor": floor, "ceiling": not higher,
                           "chart": chart})
    return panels


def entry_levelling(phase: Phase, stamp: tuple, row: dict, summary: dict | None, *,
                    metric: str, split: str, viewer: Viewer) -> dict | None:
    """The entry page's section: per attribute, each group's value, the reference's, the change
    and its paired-bootstrap 95% interval (B = max(200, the phase's resamples), the phase's
    seed, the same resamples for entry and reference), all released. ``row`` and ``summary``
    are the released row and levelling summary of ``leaderboard_table``, ``stamp`` the
    snapshot's (id, computed_at). None without a reference or while the flags are withheld."""
    flags = row.get("levelling")
    if not summary or not summary.get("reference") or flags is None or flags["withheld"]:
        return None
    comparisons = flags["metrics"].get(metric)
    if comparisons is None:
        return None
    intervals = _change_intervals(phase, stamp, row["submission"], metric, split)
    sign = 1 if summary.get("directions", {}).get(metric, True) else -1
    attributes = []
    for attribute, comparison in comparisons.items():
        shown = intervals.get(attribute, {})
        groups = []
        for group, change in comparison["change"].items():
            interval = release_cell(
                shown.get(group, {"change": None, "lower": None, "upper": None}), viewer=viewer)
            groups.append({
                "group": group, "value": comparison["groups"][group],
                "reference": comparison["reference_groups"][group],
                # The exact change, released (the row's is a difference of rounded values).
                "change": interval["change"] if interval.get("change") is not None else change,
                "lower": interval.get("lower"), "upper": interval.get("upper"),
                "improved": _beyond_zero(interval, sign),
                "worsened": _beyond_zero(interval, -sign),
            })
        attributes.append({"attribute": attribute, "groups": groups, **{
            key: comparison[key] for key in ("gap", "reference_gap", "levelled_down",
                                             "meets_floor", "worst")}})
    return {"reference": summary["reference"], "metric": metric, "attributes": attributes,
            "explanations": [text for text in flags["explanations"] if f" {metric} " in text],
            "resamples": paired_resamples(phase.bootstrap_resamples), "seed": INTERVAL_SEED,
            "floor": summary["floors"].get(metric), "meets_floors": flags["meets_floors"]}


def _beyond_zero(interval: dict, sign: int) -> bool:
    """Whether the interval lies wholly above zero (``sign`` 1) or below it (-1)."""
    lower, upper = interval.get("lower"), interval.get("upper")
    if lower is None or upper is None:
        return False
    return lower > 0 if sign > 0 else upper < 0


def _change_intervals(phase: Phase, stamp: tuple, submission_id: int,
                      metric: str, split: str) -> dict[str, dict]:
    """{attribute: {group: {change, lower, upper}}} (exact; released by the caller), computed
    once per snapshot, entry and metric and kept in the cache."""
    key = (f"levelling-ci:{stamp[0]}:{stamp[1].isoformat()}:{submission_id}:"
           f"{metric}:{split}:{phase.reference_submission_id}:{phase.reference_file.name}:"
           f"{phase.bootstrap_resamples}")
    found = cache.get(key)
    if found is None:
        found = _compute_intervals(phase, submission_id, metric, split)
        cache.set(key, found, 3600)
    return found


def _compute_intervals(phase: Phase, submission_id: int, metric: str,
                       split: str) -> dict[str, dict]:
    truth = phase_truth(phase)
    ids = [submission_id] + ([phase.reference_submission_id]
                             if phase.reference_submission_id else [])
    try:
        matrix = phase_case_matrix(phase, ids, truth=truth)
    except ValueError:  # the baseline is not scored (any more)
        return {}
    rows = [arrays_predictions(truth, CaseArrays(matrix.scores[i], _row(matrix.decisions, i)))
            for i in range(len(ids))]
    entry = rows[0]
    if phase.reference_submission_id:
        reference = rows[1]
    else:
        try:
            with phase.reference_file.open("rb") as handle:
                reference = read_predictions(handle, truth, task=truth.task)
        except (InputError, FileNotFoundError, ValueError):
            return {}
    stored = (Submission.objects.filter(pk=submission_id)
              .values_list(f"result__{split}", flat=True).first())
    result = stored_split(stored)
    cases = split_mask(truth, split)
    cases = cases if cases is not None else slice(None)
    within = truth.subset(cases)
    out = {}
    for attribute in phase.truth_attributes or []:
        shown = {g.group for g in (result.groups if result else ())
                 if g.attribute == attribute and not g.small and not g.suppressed}
        values = within.attributes[attribute].astype(str)
        groups = {group: values == group for group in sorted(shown)}
        out[attribute] = group_change_intervals(
            within, entry.subset(cases), reference.subset(cases), metric=metric, groups=groups,
            threshold=phase.threshold, costs=phase.error_costs,
            resamples=paired_resamples(phase.bootstrap_resamples), seed=INTERVAL_SEED,
        )
    return out


def _row(decisions, i: int):
    return None if decisions is None else decisions[i]
