"""Several raters on the worker: each submission's scores against every rater (stored with its
result), and per leaderboard snapshot the human ceiling and the rank intervals across raters.

A submission's per-rater values are stored in ``Submission.result["raters"]`` (``{split:
{reference: {metric: value}}}``; references as ``scoring.raters.references`` names them), beside
the split results, which ``scoring.result.read_stored`` reads without them. The snapshot's
``summary["raters"]`` holds, for its split, the entries' values, the ceiling (the raters'
agreement and the raters scored as entries, computed once with the ground truth's report,
``services.phases``) and the rank intervals on each ranked metric. None
of this is released here: ``competitions.selectors.raters`` passes it through
``competitions.release``.
"""

from __future__ import annotations

from competitions.boards import ranked_column_specs
from competitions.models import Leaderboard, Phase, Submission
from competitions.splits import split_mask
from scoring.io import Predictions, Truth
from scoring.raters import rank_intervals, score_references
from scoring.registry import get_metric


def submission_rater_scores(
    phase: Phase, truth: Truth, predictions: Predictions, metrics: list[str]
) -> dict | None:
    """Per split (``None`` for a split without cases) the submission's value of each metric
    against each reference; ``None`` when the ground truth has no raters."""
    if not truth.raters:
        return None
    scores: dict[str, dict | None] = {}
    for split in ("public", "private"):
        mask = split_mask(truth, split)
        scores[split] = (
            score_references(truth, predictions, metrics=metrics, threshold=phase.threshold,
                             tie_rule=phase.rater_tie_rule, cases=mask)
            if mask is None or mask.any() else None
        )
    return scores


def _ranked_metrics(board: Leaderboard) -> list[str]:
    """The metrics of the board's ranked columns (each once), else the phase's primary metric:
    the rank intervals are per metric on all cases of the split, whatever group a column is on."""
    metrics = list(dict.fromkeys(spec.metric for spec in ranked_column_specs(board)))
    return metrics or [board.phase.primary_metric]


def _ceiling_on(ceiling: dict | None, metrics: list[str]) -> dict | None:
    """The truth report's human ceiling of a split (every built-in metric) cut to ``metrics``."""
    if not ceiling:
        return None
    kept = [m for m in ceiling["metrics"] if m in metrics]

    def cut(values: dict) -> dict:
        return {m: v for m, v in values.items() if m in kept}

    return {
        "agreement": ceiling["agreement"],
        "raters": [{"rater": row["rater"], "against_others": cut(row["against_others"]),
                    "against_label": cut(row["against_label"])} for row in ceiling["raters"]],
        "mean": {key: cut(values) for key, values in ceiling["mean"].items()},
        "metrics": kept,
        "not_scored": [m for m in metrics if m not in kept],
    }


def snapshot_raters(board: Leaderboard, split: str, submission_ids: list[int]) -> dict | None:
    """The snapshot's raters section, or ``None`` when the ground truth has no raters (or no
    entry has per-rater values yet: scored before the raters were read)."""
    phase = board.phase
    if not (phase.truth_report or {}).get("raters"):
        return None
    stored = dict(
        Submission.objects.filter(pk__in=submission_ids)
        .values_list("pk", f"result__raters__{split}")
    )
    scores = {str(pk): stored[pk] for pk in submission_ids if stored.get(pk)}
    metrics = [m for m in _ranked_metrics(board)
               if all(m in by[next(iter(by))] for by in scores.values())]
    report = phase.truth_report["raters"]
    ceiling = _ceiling_on(report.get("ceiling", {}).get(split), metrics)
    intervals = [
        rank_intervals(scores, metric=m,
                       higher_is_better=get_metric(m, phase.challenge.task).higher_is_better)
        .to_dict()
        for m in metrics
    ] if scores else []
    n_cases = (phase.truth_report.get("split") or {}).get(split, phase.truth_n_cases)
    return {
        "metrics": metrics, "references": ["label", "majority", *report["columns"]],
        "n_cases": n_cases, "tie_rule": phase.rater_tie_rule, "scores": scores, "ceiling": ceiling,
        "rank_intervals": intervals,
    }
