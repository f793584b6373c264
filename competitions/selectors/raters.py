"""Several raters as a viewer may see them: the human-ceiling row beside the entries, each
entry's value against each rater, the majority and the official label, and the rank intervals
across raters — from the leaderboard snapshot's raters section (``competitions.worker.raters``),
every number through ``competitions.release``.

``phase_raters`` is the one read: the results page and the challenge report call it. No rater's
labels ever leave the worker; what leaves is aggregates over the split's cases, for a split the
viewer may see (``released_splits``), on a board they may see (``released_boards``).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from competitions.models import Leaderboard, LeaderboardSnapshot, Phase, Team
from competitions.release import (
    Viewer,
    release_cell,
    released_boards,
    released_names,
    released_splits,
)
from scoring.rater_columns import is_rater_column, rater_name


def reference_label(reference: str) -> str:
    """How a page names a reference: the official label, the majority, or the rater."""
    if reference == "label":
        return _("official label")
    if reference == "majority":
        return _("majority of the raters")
    return rater_name(reference)


def phase_raters(phase: Phase, viewer: Viewer, *, board: Leaderboard | None = None,
                 split: str = "public") -> dict | None:
    """The raters' section of ``board`` (default: the phase's primary board) on ``split``, as
    ``viewer`` may see it; ``None`` when the ground truth has no raters, the split or board is
    not released to the viewer, or nothing was computed yet.

    ``{"split", "n_cases", "tie_rule", "references": [{"id", "label"}], "metrics",
    "ceiling": {"agreement": {"pairwise": [...], "fleiss_kappa", "unanimous"}, "raters":
    [{"rater", "against_others": {metric: value}, "against_label": {...}}], "mean": {...},
    "metrics", "not_scored"} | None, "tables": [{"metric", "leader_stays", "rows": [{"team",
    "submission", "values": [value per reference], "ranks": [rank per reference], "low",
    "high", "first_share"}]}], "hidden": reason | ""}``.
    """
    if split not in released_splits(viewer):
        return None
    if board is None:
        board = (Leaderboard.objects.filter(phase=phase, is_primary=True).first()
                 or Leaderboard.objects.filter(phase=phase).order_by("order", "pk").first())
    if board is None or board not in released_boards(viewer, [board]):
        return None
    snapshot = (LeaderboardSnapshot.objects.filter(leaderboard=board, split=split)
                .only("summary", "rows").first())
    stored = (snapshot.summary or {}).get("raters") if snapshot else None
    if not stored:
        return None
    hidden = release_cell({}, viewer=viewer).get("reason") or ""
    references = [{"id": ref, "label": reference_label(ref)} for ref in stored["references"]]
    rows = [row for row in snapshot.rows if str(row["submission"]) in stored["scores"]]
    teams = Team.objects.in_bulk([row["team"] for row in rows])
    rows = [row for row in rows if row["team"] in teams]
    names = released_names(viewer, [teams[r["team"]].name for r in rows],
                           [r["team"] for r in rows], [teams[r["team"]].anonymous for r in rows])
    tables = []
    for item in stored["rank_intervals"]:
        metric = item["metric"]
        released = release_cell({"leader_stays": item["leader_stays"]}, viewer=viewer)
        table_rows = []
        for row, name in zip(rows, names, strict=True):
            key = str(row["submission"])
            by = stored["scores"][key]
            cell = release_cell({
                "values": [by.get(ref, {}).get(metric) for ref in stored["references"]],
                "ranks": [item["ranks"][key][ref] for ref in stored["references"]],
                "low": item["low"][key], "high": item["high"][key],
                "first_share": item["first_share"][key],
            }, viewer=viewer)
            table_rows.append({"team": name, "submission": row["submission"], **cell})
        table_rows.sort(key=lambda r: (r["ranks"][0] if r["ranks"] and r["ranks"][0] is not None
                                       else len(rows) + 1))
        tables.append({"metric": metric, "leader_stays": released["leader_stays"],
                       "rows": table_rows})
    ceiling = _ceiling(stored.get("ceiling"), viewer)
    for table in tables:
        table["ceiling_row"] = _ceiling_row(ceiling, table["metric"], stored["references"])
    return {"board": board, "split": split, "n_cases": stored["n_cases"],
            "tie_rule": Phase.RaterTie(stored["tie_rule"]).label, "references": references,
            "metrics": stored["metrics"], "ceiling": ceiling, "tables": tables,
            "hidden": hidden}


def _ceiling_row(ceiling: dict | None, metric: str, references: list[str]) -> list | None:
    """The human-ceiling row beside the entries, aligned with ``references``: under the
    official label the raters' mean against it, under the majority their mean against the
    others' majority, under each rater that rater against the other raters' majority. ``None``
    where a rater's hard labels cannot be scored on ``metric``."""
    if not ceiling or metric not in ceiling["metrics"]:
        return None
    by_rater = {row["rater"]: (row["against_others"] or {}).get(metric)
                for row in ceiling["raters"]}
    mean = ceiling["mean"]
    values = []
    for reference in references:
        if reference == "label":
            values.append((mean.get("against_label") or {}).get(metric))
        elif reference == "majority":
            values.append((mean.get("against_others") or {}).get(metric))
        else:
            values.append(by_rater.get(rater_name(reference)))
    return values


def _ceiling(ceiling: dict | None, viewer: Viewer) -> dict | None:
    """The raters' agreement and the raters scored as entries, released."""
    if not ceiling:
        return None
    agreement = ceiling["agreement"]
    return {
        "agreement": {
            **release_cell({"fleiss_kappa": agreement["fleiss_kappa"],
                            "unanimous": agreement["unanimous"]}, viewer=viewer),
            "pairwise": [{"a": p["a"], "b": p["b"],
                          **release_cell({"kappa": p["kappa"], "agreement": p["agreement"]},
                                         viewer=viewer)}
                         for p in agreement["pairwise"]],
            "raters": agreement["raters"],
        },
        "raters": [{"rater": row["rater"],
                    **release_cell({"against_others": row["against_others"],
                                    "against_label": row["against_label"]}, viewer=viewer)}
                   for row in ceiling["raters"]],
        "mean": release_cell({"against_others": ceiling["mean"].get("against_others", {}),
                              "against_label": ceiling["mean"].get("against_label", {})},
                             viewer=viewer),
        "metrics": ceiling["metrics"], "not_scored": ceiling["not_scored"],
    }


def truth_legacy_rater_attributes(phase: Phase) -> list[str]:
    """Attributes of the stored ground truth named ``label_<…>``: stored before those columns
    were reserved for raters, they were subgroups; read today, they are raters."""
    return [name for name in phase.truth_attributes or [] if is_rater_column(name)]


def truth_legacy_raters_warning(columns: list[str]) -> str:
    if not columns:
        return ""
    return ngettext(
        "The stored ground truth has the column %(c)s, which was stored as an attribute "
        "(a subgroup). Columns named label_<rater> are now reserved for raters' labels and are "
        "never subgroups: upload the ground truth again (renaming the column if it is an "
        "attribute) so the leaderboard's columns and the reports agree with how it is read.",
        "The stored ground truth has the columns %(c)s, which were stored as attributes "
        "(subgroups). Columns named label_<rater> are now reserved for raters' labels and are "
        "never subgroups: upload the ground truth again (renaming the columns if they are "
        "attributes) so the leaderboard's columns and the reports agree with how it is read.",
        len(columns),
    ) % {"c": ", ".join(columns)}


def truth_raters_notice(columns: list[str]) -> str:
    """What the organiser is told when an uploaded ground truth has rater columns."""
    return ngettext(
        "The column %(c)s is read as a rater's labels (label_<rater> is reserved for raters), "
        "not as an attribute: entries are also scored against it, and it is never a subgroup.",
        "The columns %(c)s are read as raters' labels (label_<rater> is reserved for raters), "
        "not as attributes: entries are also scored against each of them and their majority, "
        "and they are never subgroups.",
        len(columns),
    ) % {"c": ", ".join(columns)}
