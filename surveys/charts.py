"""SVG geometry for the research page's retention chart: one step line per Kaplan–Meier curve.

Reads no data: it turns released curves (``surveys.analysis.retention.Curve``) into points.
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
