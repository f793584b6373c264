"""What the ladder gives a participant who climbs the public board, against exact feedback, on the
demo's real data (flchain, 1,941 public and 1,990 private cases), AUROC as the board's column.

- ``climb``: Blum & Hardt's attack on a leaderboard — perturb one's best a little (100 random
  cases' scores moved by N(0, 0.2)), keep the candidate when the board says it is better. With
  exact feedback the public AUROC rises while the private one does not follow; under the ladder
  (``scoring.ladder``) the candidate is kept only when its improvement's paired-bootstrap 95%
  interval lies above 0.
- ``steps``: an honest person improving steadily (one model with more and more signal): how many
  of their submissions the ladder releases.

    .venv/bin/python benchmarks/ladder_attacks.py [--trials 100] [--resamples 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from competitions.demo_data import load_demo_data  # noqa: E402
from scoring.field import Field  # noqa: E402
from scoring.ladder import column_resamples, ladder_step  # noqa: E402


def better_on_ladder(labels, public, best, candidate, resamples: int) -> bool:
    field = Field(names=["best", "new"], labels=labels, scores=np.vstack([best, candidate]),
                  attributes={}, columns=["auroc"], ranking="primary", cases=public)
    point, resampled = column_resamples(field, bootstrap=resamples, seed=0)
    return ladder_step(point, resampled, higher_is_better=True).released


def climb(labels, public, trials: int, resamples: int) -> None:
    private = ~public
    rng = np.random.default_rng(1)
    start = 1 / (1 + np.exp(-((labels - 0.5) * 1.5 + rng.normal(0, 1, len(labels)))))
    for mode in ("exact", "ladder"):
        moves = np.random.default_rng(2)
        best, kept = start.copy(), 0
        for _ in range(trials):
            candidate = best.copy()
            chosen = moves.choice(len(labels), 100, replace=False)
            candidate[chosen] = np.clip(candidate[chosen] + moves.normal(0, 0.2, 100), 0, 1)
            if mode == "exact":
                better = (roc_auc_score(labels[public], candidate[public])
                          > roc_auc_score(labels[public], best[public]))
            else:
                better = better_on_ladder(labels, public, best, candidate, resamples)
            if better:
                best, kept = candidate, kept + 1
        gains = [roc_auc_score(labels[cases], best[cases]) - roc_auc_score(labels[cases],
                                                                            start[cases])
                 for cases in (public, private)]
        print(f"climb, {mode:6}: kept {kept}/{trials}; public AUROC {gains[0]:+.4f}, "
              f"private {gains[1]:+.4f}")


def steps(labels, public, resamples: int) -> None:
    base = np.random.default_rng(0).random(len(labels))
    strengths = np.linspace(0, 1.5, 31)
    best, released = None, 0
    for strength in strengths:
        scores = 1 / (1 + np.exp(-(strength * (labels - 0.5) * 4 + (base - 0.5) * 4)))
        if best is None or better_on_ladder(labels, public, best, scores, resamples):
            best, released = scores, released + 1
    print(f"steady improvement: {released} of {len(strengths)} submissions released")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    truth = load_demo_data().truth
    labels = truth["label"].to_numpy()
    public = (truth["split"] == "public").to_numpy()
    climb(labels, public, args.trials, args.resamples)
    steps(labels, public, args.resamples)


if __name__ == "__main__":
    main()
