"""SVG geometry for the research page's charts: one step line per Kaplan–Meier curve, and a
Likert grid's items as stacked bars.

Reads no data: it turns released numbers (``surveys.analysis.retention.Curve``, the shares of
``surveys.analysis.frequencies``) into points.
"""

from __future__ import annotations

#: Line styles told apart without colour (the table below the chart holds the same numbers).
DASHES = ("", "6 3", "2 3", "8 3 2 3")


def survival_chart(curves: list[dict], *, width: int = 520, height: int = 240) -> dict | None:
    """``curves``: ``{"label", "times", "survival"}`` (days, shares in [0, 1]). Each becomes a
    step polyline — the estimate holds until the next time; ``None`` when nothing is drawn."""
    drawn = [c for c in curves if c["times"]]
    if not drawn:
        return None
    left, bottom, top, right = 44, 28, 8, 12
    last = max(max(c["times"]) for c in drawn) or 1.0

    def x(days: float) -> float:
        return round(left + days / last * (width - left - right), 1)

    def y(share: float) -> float:
        return round(top + (1 - share) * (height - top - bottom), 1)

    lines = []
    for i, c in enumerate(drawn):
        points = [(x(0.0), y(1.0))]
        for t, s in zip(c["times"], c["survival"], strict=True):
            points += [(x(t), points[-1][1]), (x(t), y(s))]
        lines.append({
            "label": c["label"],
            "points": " ".join(f"{px},{py}" for px, py in points),
            "dash": DASHES[i % len(DASHES)],
            "legend_y": top + 14 * i + 10,
        })
    ticks = [{"y": y(v), "label": f"{v:.0%}"} for v in (0.0, 0.5, 1.0)]
    return {"lines": lines, "width": width, "height": height, "left": left,
            "bottom": height - bottom, "right": width - right, "ticks": ticks,
            "last_day": round(last, 1), "legend_x": width - right - 150}


#: Shades of a scale, from its first point to its last (CSS ``.chart .shade-0`` … ``-6``).
SHADES = 7


def stacked_bars(
    items: list[tuple[str, list[float | None]]],
    scale: list[str],
    *,
    width: int = 520,
    row_height: int = 24,
) -> dict | None:
    """A Likert grid's items as stacked horizontal bars: per item (``label``, the shares of
    the points of ``scale``, ``None`` where withheld) one segment per shown share, in scale
    order, and a last, outlined segment for the rest (withheld cells and missing answers
    together — the total minus the shown cells, which the table gives away anyway); a legend
    entry per scale point. ``None`` without items."""
    if not items:
        return None
    left, right = 190, 12
    span = width - left - right
    points = len(scale)
    bars = []
    for i, (label, shares) in enumerate(items):
        y = i * row_height + 4
        x = float(left)
        segments = []
        for j, share in enumerate(shares):
            if not share:
                continue
            segments.append(
                {
                    "x": round(x, 1),
                    "width": round(share * span, 1),
                    "shade": _shade(j, points),
                    "label": scale[j],
                    "share": share,
                }
            )
            x += share * span
        if left + span - x > 0.5:
            segments.append({"x": round(x, 1), "width": round(left + span - x, 1), "rest": True})
        bars.append({"label": label, "y": y, "text_y": y + 14, "segments": segments})
    return {
        "bars": bars,
        "width": width,
        "height": len(items) * row_height + 8,
        "label_x": left - 6,
        "legend": [{"label": label, "shade": _shade(j, points)} for j, label in enumerate(scale)],
    }


def _shade(point: int, points: int) -> int:
    """The shade of a scale point: the scale's ends are the palette's ends, whatever its
    length."""
    return round(point / (points - 1) * (SHADES - 1)) if points > 1 else 0
