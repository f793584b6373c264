"""The Compute page: each counting entry's primary score against the energy it declared, with
the Pareto front (better score for less energy)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from competitions.costs import submission_costs
from competitions.metrics import metric_higher_is_better
from competitions.models import Phase
from competitions.permissions import is_organiser
from competitions.selectors import entry_labels, leaderboard_rows, stored_overall_values
from scoring import carbon

CHART_SIZE = (520, 320)  # width, height of the SVG's view box
_MARGIN = {"left": 64, "right": 16, "top": 16, "bottom": 44}


def compute_view(phase: Phase, *, split: str, user) -> dict:
    """Each team's counting submission with its primary value and cost, the Pareto front, a chart.

    The front (``scoring.carbon.pareto_front``) is over energy (kWh), which unlike hours is
    comparable across hardware. Teams that declared no compute are listed without a point.
    While the phase hides scores from this user there is nothing to show (``hidden``);
    anonymous teams are masked as on the leaderboard.
    """
    if phase.scores_hidden and not is_organiser(user, phase.challenge):
        return {"rows": [], "chart": None, "hidden": True}
    rows = leaderboard_rows(phase, split=split)
    ids = [row.submission_id for row in rows]
    labels = entry_labels(phase, ids, [row.team for row in rows], user)
    costs = submission_costs(ids)
    stored = stored_overall_values(ids, split)
    higher = metric_higher_is_better(phase.primary_metric, phase.challenge.task)
    energies = [costs.get(pk, {}).get("energy_kwh") for pk in ids]
    values = [stored.get(pk, {}).get(phase.primary_metric) for pk in ids]
    front = set(carbon.pareto_front(energies, values, higher_is_better=higher))
    table = [
        {
            "rank": row.rank,
            "team": labels[index],
            "submission_id": row.submission_id,
            "value": values[index],
            "cost": costs.get(row.submission_id),
            "on_front": index in front,
        }
        for index, row in enumerate(rows)
    ]
    plotted = [
        i
        for i, (energy, value) in enumerate(zip(energies, values, strict=True))
        if energy is not None and value is not None
    ]
    chart = scatter_chart(
        [energies[i] for i in plotted],
        [values[i] for i in plotted],
        labels=[labels[i] for i in plotted],
        highlighted=[i in front for i in plotted],
    )
    return {"rows": table, "chart": chart, "hidden": False}


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
