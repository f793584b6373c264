"""The similarity page: how alike the counting submissions are, the field's ensembles, and the
diversity trend, from the worker's latest report, released for the viewer."""

from __future__ import annotations

from competitions.models import Phase, SimilarityReport, Team
from competitions.presentation.charts import heat_class, map_points
from competitions.release import Viewer, release_cell, release_value, released_names, viewer_for
from competitions.similarity_arrays import similarity_matrices_read
from competitions.standings import primary_column
from scoring.similarity import FLAG_THRESHOLD, matrix_to_json
from scoring.suppression import sized_groups, suppressed_groups
from scoring.vocabulary import LABEL_SIMILARITY_MEASURES
from scoring.vocabulary import SIMILARITY_MEASURES as STORED_SIMILARITY_MEASURES

# The heatmap leads with error consistency, the measure the page explains first.
SIMILARITY_MEASURES = (
    "error_consistency", *(m for m in STORED_SIMILARITY_MEASURES if m != "error_consistency"),
)
# Entries a heatmap shows: the first of the clustered order (the top-left corner of the whole
# matrix). A field of 1,000 would be 7 million cells; the map and the flags keep every entry.
HEATMAP_ENTRIES = 50


def similarity_view(
    phase: Phase, *, split: str, show_label_measures: bool, user, group: str = ""
) -> dict:
    """The latest similarity report of a split as heatmap rows, plus the diversity trend.

    ``group`` ("attribute=value") shows the similarity within one subgroup ("these two fail the
    same female patients"); like label-based measures and the ensembles of the field, only
    where ``show_label_measures`` (organisers, or everyone after the phase ends). A small
    subgroup, and those hidden with it (``scoring.suppression``, by the phase's
    ``min_group_size`` now), show no numbers to participants.
    """
    reports = SimilarityReport.objects.filter(phase=phase, split=split)
    latest = reports.first()
    if latest is None:
        return {"report": None}
    measures = [
        m for m in SIMILARITY_MEASURES
        if show_label_measures or m not in LABEL_SIMILARITY_MEASURES
    ]
    viewer = viewer_for(user, phase)
    order = latest.order or list(range(len(latest.entries)))
    shown = order[:HEATMAP_ENTRIES]
    labels = entry_labels(viewer, latest.entries)
    teams = [labels[i] for i in shown]
    report_groups = latest.groups
    group_choices = [
        f"{g['attribute']}={g['group']}" for g in report_groups
    ] if show_label_measures else []
    group_index = None
    flags = {"small": False, "suppressed": False}
    if group in group_choices:
        group_index = group_choices.index(group)
        chosen = report_groups[group_index]
        flags = _group_flags(report_groups, phase.min_group_size)[
            (chosen["attribute"], chosen["group"])
        ]
    else:
        group = ""
    source = similarity_matrices_read(
        latest, group_index=group_index, measures=measures, entries=shown
    )
    heatmaps = []
    for measure in measures:
        if measure not in source:
            continue
        cells = matrix_to_json(source[measure])
        heatmaps.append(
            {
                "measure": measure,
                "rows": [
                    {
                        "team": labels[i],
                        "cells": [
                            _heat(release_cell({"value": value, **flags}, viewer=viewer))
                            for value in row
                        ],
                    }
                    for i, row in zip(shown, cells, strict=True)
                ],
            }
        )
    flagged = [
        {
            "first": labels[p["first"]],
            "second": labels[p["second"]],
            "value": release_cell({"value": p["value"]}, viewer=viewer)["value"],
        }
        for p in latest.flagged
    ]
    trend = [
        (at, release_cell({"value": value}, viewer=viewer)["value"])
        for at, value in reports.order_by("computed_at")
        .values_list("computed_at", "mean_error_consistency")
    ]
    positions = [
        [release_cell({"value": x}, viewer=viewer)["value"] for x in point]
        for point in latest.positions
    ]
    column = primary_column(phase)
    return {
        "report": latest,
        "teams": teams,
        "n_entries": len(order),
        "heatmaps": heatmaps,
        "hidden_measures": not show_label_measures,
        "flagged": flagged,
        "trend": trend,
        "mean_error_consistency": release_cell(
            {"value": latest.mean_error_consistency}, viewer=viewer
        )["value"],
        "show_mean_ec": show_label_measures,
        "group": group,
        "group_withheld": bool(group) and release_cell(
            {"value": 0, **flags}, viewer=viewer)["value"] is None,
        "group_choices": group_choices,
        "map": map_points(positions, labels)
        if show_label_measures and all(None not in point for point in positions)
        else [],
        # Reports from before the threshold was configurable used the default.
        "flag_threshold": FLAG_THRESHOLD
        if latest.flag_threshold is None
        else latest.flag_threshold,
        # Ensembles show scores: also hidden while the phase hides scores from this user.
        "ensembles": ensemble_rows(
            latest.ensembles,
            column.metric if column else "",
            dict(zip((e["team"] for e in latest.entries), labels, strict=True)),
            viewer,
        )
        if show_label_measures and viewer.scores_visible and column is not None
        else [],
        "primary_metric": column.metric if column else "",
    }


# Shown beside the primary metric for each ensemble of the field.
ENSEMBLE_EXTRA_METRICS = ("accuracy", "auroc", "sensitivity", "specificity")


def ensemble_rows(
    ensembles: dict, primary: str, labels: dict[str, str], viewer: Viewer
) -> list[dict]:
    """The stored ensembles of the field, each with its primary value, gain and worst group.

    ``metrics`` keeps the primary metric first, then ``ENSEMBLE_EXTRA_METRICS``; members are
    shown by ``labels`` (team name -> what the viewer may see, see ``entry_labels``).
    """
    names = (primary, *[m for m in ENSEMBLE_EXTRA_METRICS if m != primary])
    rows = []
    for ensemble in ensembles.get("ensembles", []):
        worst = ensemble.get("worst_group")
        rows.append(
            {
                "name": ensemble["name"],
                "members": [labels.get(name, name) for name in ensemble["members"]],
                "metrics": [(m, release_value(ensemble["metrics"].get(m), viewer=viewer))
                            for m in names],
                "gain": release_value(ensemble["gain_over_best"].get(primary), viewer=viewer),
                "worst_group": None
                if worst is None
                else {
                    "label": f"{worst['attribute']}={worst['group']}",
                    "n": release_value(worst["n"], viewer=viewer),
                    "value": release_value(worst["metrics"].get(primary), viewer=viewer),
                },
            }
        )
    return rows


def entry_labels(viewer: Viewer, entries: list[dict]) -> list[str]:
    """The report's entries (``{"submission", "team"}``, team by name) as the viewer may see
    them: anonymous teams masked by the release step."""
    submissions = [entry["submission"] for entry in entries]
    from_submission = dict(
        Team.objects.filter(submissions__pk__in=submissions)
        .values_list("submissions__pk", "pk")
    )
    anonymous = dict(Team.objects.filter(pk__in=from_submission.values())
                     .values_list("pk", "anonymous"))
    team_ids = [from_submission.get(pk, 0) for pk in submissions]
    return released_names(viewer, [entry["team"] for entry in entries], team_ids,
                          [anonymous.get(team_id, False) for team_id in team_ids])


def _group_flags(groups: list[dict], min_group: int) -> dict[tuple[str, str], dict]:
    """``{(attribute, group): {"small", "suppressed"}}`` of the report's subgroups, as the
    evaluation marks them (the same rule; the report stores each group's size)."""
    sized = sized_groups(((g["attribute"], g["group"], g.get("n", 0)) for g in groups), min_group)
    hidden = suppressed_groups(sized)
    return {(g.attribute, g.group): {"small": g.small,
                                     "suppressed": (g.attribute, g.group) in hidden}
            for g in sized}


def _heat(cell: dict) -> dict:
    return {**cell, "css": heat_class(cell.get("value"))}
