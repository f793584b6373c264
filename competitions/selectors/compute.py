"""The Compute page: each counting entry's primary value against the energy it declared, with
the Pareto front (better score for less energy)."""

from __future__ import annotations

from competitions.costs import submission_costs
from competitions.models import Phase, Team
from competitions.presentation.charts import scatter_chart
from competitions.release import release_cell, released_names, viewer_for
from competitions.standings import phase_standings, primary_column
from scoring import carbon


def compute_view(phase: Phase, *, split: str, user) -> dict:
    """Each team's counting submission with its primary value and cost, the Pareto front, a chart.

    Entries, ranks and primary values are the primary leaderboard's (``competitions.standings``).
    The front (``scoring.carbon.pareto_front``) is over energy (kWh), which unlike hours is
    comparable across hardware. Teams that declared no compute are listed without a point.
    While the phase hides scores from this user there is nothing to show (``hidden``);
    anonymous teams are masked as on the leaderboard.
    """
    viewer = viewer_for(user, phase)
    column = primary_column(phase)
    if not viewer.scores_visible:
        return {"rows": [], "chart": None, "hidden": True, "metric": ""}
    rows = phase_standings(phase, split=split)
    ids = [row.submission_id for row in rows]
    anonymous = dict(Team.objects.filter(pk__in=[r.team_id for r in rows])
                     .values_list("pk", "anonymous"))
    labels = released_names(viewer, [r.team for r in rows], [r.team_id for r in rows],
                            [anonymous.get(r.team_id, False) for r in rows])
    costs = {pk: release_cell(cost, viewer=viewer) for pk, cost in submission_costs(ids).items()}
    released = [release_cell({"rank": r.rank, "value": r.value, "suppressed": r.suppressed},
                             viewer=viewer) for r in rows]
    energies = [costs.get(pk, {}).get("energy_kwh") for pk in ids]
    values = [item["value"] for item in released]
    higher = column.higher_is_better if column else True
    front = set(carbon.pareto_front(energies, values, higher_is_better=higher))
    table = [
        {
            "rank": released[index]["rank"],
            "team": labels[index],
            "submission_id": row.submission_id,
            "value": values[index],
            "cost": costs.get(row.submission_id),
            "on_front": index in front,
        }
        for index, row in enumerate(rows)
    ]
    if any(item["rank"] is None and row.rank is not None
           for item, row in zip(released, rows, strict=True)):
        # The ranking is withheld (it is on a group too small to show): so is its order.
        table.sort(key=lambda item: item["submission_id"])
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
    return {"rows": table, "chart": chart, "hidden": False,
            "metric": column.id if column else ""}
