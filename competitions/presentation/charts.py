"""Geometry for the server-rendered SVG charts: numbers in, coordinates out.

No data is read here and no visibility rule applied: the selectors pass values already
released for the viewer (``competitions.release``), and templates draw what comes back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

CHART_SIZE = (520, 320)  # width, height of the scatter chart's view box
_MARGIN = {"left": 64, "right": 16, "top": 16, "bottom": 44}


def heat_class(value: float | None) -> str:
    """A CSS class from ``heat-0`` (0 or below) to ``heat-10`` (1); ``heat-none`` if undefined."""
    if value is None:
        return "heat-none"
    return f"heat-{int(round(min(max(value, 0.0), 1.0) * 10))}"


def map_points(positions: list[list[float]], teams: list[str], *, size: int = 360) -> list[dict]:
    """Entry positions scaled into a ``size`` × ``size`` SVG box with a margin, for the map."""
    if not positions:
        return []
    xy = np.asarray(positions, dtype=float)
    # One scale for both axes, so distances on the map keep their proportions; centred.
    span = float(np.ptp(xy, axis=0).max()) or 1.0
    margin = 60
    centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
    scaled = size / 2 + (xy - centre) / span * (size - 2 * margin)
    return [
        {
            "team": team,
            "x": round(float(x), 1),
            "y": round(float(y), 1),
            "label_x": round(float(x) + 9, 1),
            "hue": (37 * i) % 360,
        }
        for i, (team, (x, y)) in enumerate(zip(teams, scaled, strict=True))
    ]


def bar_chart(groups: list[dict], *, width: int = 420, row_height: int = 24) -> dict:
    """SVG geometry for a horizontal bar per group with its 95% interval as a whisker, and the
    leader's value as a tick. The scale spans 0 to 1 unless a value or bound falls outside."""
    numbers = [0.0, 1.0]
    for g in groups:
        numbers += [v for v in (g["value"], g["leader"]) if v is not None]
        numbers += list(g["ci"] or ())
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    left = 190

    def x(value: float) -> float:
        return round(left + (value - low) / span * (width - left - 10), 1)

    bars = []
    for i, g in enumerate(groups):
        y = i * row_height + 4
        bar = {"label": g["label"], "y": y, "text_y": y + 14, "mid": y + 9, "value": g["value"]}
        if g["value"] is not None:
            bar |= {"x": x(min(0.0, g["value"])), "width": abs(x(g["value"]) - x(0.0))}
        if g["ci"]:
            bar |= {"ci_x1": x(g["ci"][0]), "ci_x2": x(g["ci"][1])}
        if g["leader"] is not None:
            bar["leader_x"] = x(g["leader"])
        bars.append(bar)
    return {"bars": bars, "width": width, "height": len(groups) * row_height + 8, "zero": x(0.0),
            "label_x": left - 6}


def tau_chart(items: list[dict], *, width: int = 520, row_height: int = 20) -> dict | None:
    """SVG geometry of the sensitivity panel: per variant (``label``, ``tau``, ``changed``) a
    bar from 0 to its Kendall's τ-b on a −1…1 scale, marked where the variant changes the
    winner; no bar where τ-b is undefined or withheld. None without items."""
    if not items:
        return None
    left, right = 230, 12

    def x(tau: float) -> float:
        return round(left + (tau + 1) / 2 * (width - left - right), 1)

    bars = []
    for i, item in enumerate(items):
        y = i * row_height + 4
        bar = {"label": item["label"], "y": y, "text_y": y + 12, "changed": item["changed"],
               "tau": item["tau"]}
        if item["tau"] is not None:
            bar |= {"x": x(min(0.0, item["tau"])), "width": round(abs(x(item["tau"]) - x(0.0)), 1)}
        bars.append(bar)
    axis_y = len(items) * row_height + 8
    ticks = [{"x": x(t), "label": f"{t:g}"} for t in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    return {"bars": bars, "width": width, "height": axis_y + 16, "zero": x(0.0),
            "label_x": left - 6, "axis_y": axis_y, "tick_y": axis_y + 13, "ticks": ticks}


def blob_plot(table: dict, *, width: int = 640, row_height: int = 26,
              entries_drawn: int | None = None) -> dict | None:
    """SVG geometry of the bootstrap rank distributions (challengeR's blob plot): one row per
    entry in rank order, a circle per rank it took with area proportional to how often, the
    95% rank interval as a line and the median rank as a tick. ``entries_drawn``: only the
    first entries get a row (the challenge report's large fields); the axis keeps every rank."""
    robustness = table.get("robustness") or {}
    entries = robustness.get("entries") or {}
    rows = [row for row in table["rows"]
            if (entries.get(str(row["submission"])) or {}).get("distribution")]
    rows = rows[:entries_drawn] if entries_drawn else rows
    if not rows:
        return None
    n_ranks = max(len(table["rows"]), 2)
    left, right = 170, 20

    def x(rank: float) -> float:
        return round(left + (rank - 1) / (n_ranks - 1) * (width - left - right), 1)

    items = []
    for i, row in enumerate(rows):
        entry = entries[str(row["submission"])]
        mid = i * row_height + row_height / 2 + 14
        total = sum(entry["distribution"].values()) or 1
        blobs = [
            {"cx": x(int(rank)), "r": round(2 + 9 * (count / total) ** 0.5, 1),
             "share": count / total, "rank": int(rank)}
            for rank, count in sorted(entry["distribution"].items(), key=lambda kv: int(kv[0]))
        ]
        low, high = entry["rank_interval"]
        items.append({"team": row["team"], "y": mid, "text_y": mid + 4, "blobs": blobs,
                      "x1": x(low), "x2": x(high), "median_x": x(entry["median_rank"]),
                      "median": entry["median_rank"], "interval": (low, high),
                      "p_first": entry["p_first"], "rank": row["rank"]})
    ticks = [{"x": x(r), "label": r} for r in range(1, n_ranks + 1)
             if n_ranks <= 20 or r in (1, n_ranks) or r % 10 == 0]
    return {"items": items, "ticks": ticks, "width": width, "label_x": left - 8,
            "height": len(rows) * row_height + 34, "axis_y": len(rows) * row_height + 18}


def scatter_chart(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    labels: Sequence[str],
    highlighted: Sequence[bool],
) -> dict | None:
    """Geometry of a server-rendered SVG scatter plot: points, axis ticks, the front's line.

    The x axis is logarithmic when every x is positive and they span more than a factor of 10
    (energy use ranges over orders of magnitude), else linear from 0. None without points.
    """
    if not xs:
        return None
    width, height = CHART_SIZE
    left, right = _MARGIN["left"], width - _MARGIN["right"]
    top, bottom = _MARGIN["top"], height - _MARGIN["bottom"]
    log_x = min(xs) > 0 and max(xs) / min(xs) > 10
    if log_x:
        low, high = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
        x_ticks = [10.0**e for e in range(low, high + 1)]
    else:
        low, high = 0.0, max(xs) or 1.0
        x_ticks = [0.0, high / 2, high]

    def position(x: float) -> float:
        """Share of the x axis, 0 at the left end."""
        return (math.log10(x) - low) / (high - low) if log_x else x / high
    y_low, y_high = min(ys), max(ys)
    pad = (y_high - y_low) * 0.1 or 0.05
    y_low, y_high = y_low - pad, y_high + pad

    def px(x: float) -> float:
        return round(left + position(x) * (right - left), 1)

    def py(y: float) -> float:
        return round(bottom - (y - y_low) / (y_high - y_low) * (bottom - top), 1)

    points = [
        {"x": px(x), "y": py(y), "label": label, "front": front, "label_x": px(x) + 8}
        for x, y, label, front in zip(xs, ys, labels, highlighted, strict=True)
    ]
    front_line = sorted((p["x"], p["y"]) for p in points if p["front"])
    return {
        "width": width,
        "height": height,
        "plot": {"left": left, "right": right, "top": top, "bottom": bottom},
        "log_x": log_x,
        "points": points,
        "front_path": " ".join(f"{x},{y}" for x, y in front_line),
        "x_ticks": [{"x": px(t), "label": f"{t:g}"} for t in x_ticks],
        "y_ticks": [
            {"y": py(t), "label": f"{t:.3f}"}
            for t in (y_low + pad, (y_low + y_high) / 2, y_high - pad)
        ],
    }


# The significance map draws the board's first entries only: 30 x 30 cells stay legible.
SIGNIFICANCE_MAP_ENTRIES = 30
# Places 1..10 of the podium (challengeR draws one per entry; past ten the bars say little).
# The worker counts as many per test case (competitions.worker.significance.PODIUM_PLACES).
PODIUM_PLACES = 10
# Holm-adjusted p-values at or below these are drawn darker (the last bound is the level).
_P_STEPS = (0.001, 0.01)


def significance_map(rows: list[dict], pairs: list[dict], *, alpha: float, total: int,
                     cell: int = 18) -> dict | None:
    """Geometry of the entries × entries significance map (challengeR's significance map, for
    unordered pairs): ``rows`` in board order (``submission``, ``team``, ``rank``), ``pairs`` as
    released (``a`` the entry better on the metric, ``b``, ``p_holm``, ``significant``).

    Each cell is coloured by the direction (the row's entry better, the column's better, or no
    significant difference) and, when significant, by the adjusted p (three steps: below
    ``alpha``, 0.01, 0.001); a pair without a test (or withheld) is grey. ``total`` is the
    number of entries on the board: the map says when it draws only the first ones.
    """
    rows = rows[:SIGNIFICANCE_MAP_ENTRIES]
    truncated = total > len(rows)
    if len(rows) < 2:
        return None
    by_ids = {frozenset((p["a"], p["b"])): p for p in pairs}
    left, top = 190, 24
    cells = []
    for i, row in enumerate(rows):
        for j, column in enumerate(rows):
            if i == j:
                continue
            pair = by_ids.get(frozenset((row["submission"], column["submission"])))
            css, verdict = _significance_class(pair, row["submission"], alpha)
            cells.append({"x": left + j * cell, "y": top + i * cell, "css": css,
                          "row": row["team"], "column": column["team"], "verdict": verdict,
                          "p_holm": pair.get("p_holm") if pair else None})
    size = len(rows) * cell
    return {
        "cells": cells, "cell": cell, "width": left + size + 10, "height": top + size + 10,
        "labels": [{"team": row["team"], "rank": row["rank"], "y": top + i * cell + cell - 5,
                    "x": left + i * cell + cell / 2}
                   for i, row in enumerate(rows)],
        "label_x": left - 6, "header_y": top - 8, "truncated": truncated,
        # Swatches: (class, verdict, bound of the adjusted p); the template words them. Bounds
        # are written as p-values usually are, without the leading zero (p < .05).
        "legend": [
            {"css": f"sig-{side}-{k}", "verdict": f"{side}-better",
             "bound": f"{bound:g}".removeprefix("0")}
            for side in ("row", "col")
            for k, bound in ((1, alpha), (2, _P_STEPS[1]), (3, _P_STEPS[0]))
        ] + [{"css": "sig-ns", "verdict": "ns", "bound": None},
             {"css": "sig-na", "verdict": "na", "bound": None}],
        "entries": len(rows),
    }


def _significance_class(pair: dict | None, row: int, alpha: float) -> tuple[str, str]:
    """(CSS class, verdict) of one cell: ``row-better``, ``col-better``, ``ns`` or ``na``."""
    if pair is None or pair.get("p_holm") is None or pair.get("significant") is None:
        return "sig-na", "na"
    if not pair["significant"]:
        return "sig-ns", "ns"
    p = pair["p_holm"]
    step = 3 if p < _P_STEPS[0] else 2 if p < _P_STEPS[1] else 1
    if pair["a"] == row:
        return f"sig-row-{step}", "row-better"
    return f"sig-col-{step}", "column-better"


def podium_plot(
    rows: list[dict], distributions: dict[str, dict], *, places: int = 10, width: int = 640,
    height: int = 220,
) -> dict | None:
    """Geometry of challengeR's podium bars: for each place 1..``places`` a stacked bar of the
    entries that took it, each segment as tall as the entry's share of the draws at that place.

    ``rows`` are in board order; ``distributions`` map an entry's submission id (str) to
    ``{place: count}`` over test cases or bootstrap resamples (as released). A shared place
    counts for each entry sharing it, so a bar may add up to more than 1: bars are scaled by the
    largest total. None with fewer than two entries with a distribution.
    """
    rows = [row for row in rows if distributions.get(str(row["submission"]))]
    if len(rows) < 2:
        return None
    shares = []
    for row in rows:
        distribution = distributions[str(row["submission"])]
        total = sum(distribution.values()) or 1
        shares.append([distribution.get(str(k), 0) / total for k in range(1, places + 1)])
    scale = max(max(sum(s[k] for s in shares) for k in range(places)), 1.0)
    left, bottom, plot_height = 40, height - 28, height - 40
    slot = (width - left - 10) / places
    bars, shown = [], set()
    for k in range(places):
        y = float(bottom)
        segments = []
        for i, (row, share) in enumerate(zip(rows, shares, strict=True)):
            if share[k] <= 0:
                continue
            h = share[k] / scale * plot_height
            y -= h
            shown.add(i)
            segments.append({"team": row["team"], "share": share[k], "y": round(y, 1),
                             "height": round(h, 1), "hue": (37 * i) % 360})
        bars.append({"place": k + 1, "x": round(left + k * slot + slot * 0.15, 1),
                     "width": round(slot * 0.7, 1), "label_x": round(left + (k + 0.5) * slot, 1),
                     "segments": segments})
    drawn = sorted(shown)
    return {"bars": bars, "width": width, "height": height, "axis_y": bottom,
            "label_y": height - 10, "left": left,
            "legend": [{"team": rows[i]["team"], "hue": (37 * i) % 360} for i in drawn],
            # The text equivalent: each place's share per drawn entry, in the legend's order.
            "table": [{"place": k + 1, "shares": [shares[i][k] for i in drawn]}
                      for k in range(places)]}
