"""Compile the scoring core's numba kernels before the first submission needs them.

numba compiles a kernel at its first call, once per combination of argument types, and with
``cache=True`` keeps the machine code on disk (``scoring/__pycache__``, or ``NUMBA_CACHE_DIR``)
keyed by the source file, so a later process only loads it. A fresh checkout or image has no
such cache: the worker's first submissions would each wait for the compiler (12 to 50 s on
two cores, docs/benchmarks.md, "make demo from a fresh clone"). :func:`warm_kernels` runs the
entry points that the worker calls on a tiny made-up field, so every kernel is compiled (or
loaded) for the argument types those entry points pass, not for types guessed here.
``make install`` (and so ``make demo`` and ``make test``) runs it as ``python -m scoring warm``,
and so does the image's build.

Not warmed: a per-case scorer's ``.median`` in a comparison or ladder (its median sweep is
called with float weights); scorers are plugins the operator installs, so the first such
comparison compiles that one signature.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba.core.dispatcher import Dispatcher

import scoring
from scoring import tallies
from scoring.bootstrap import resample_seeds
from scoring.compare import compare_entries
from scoring.contributions import build_design
from scoring.evaluate import evaluate
from scoring.field import Field
from scoring.groups import build_grouping
from scoring.io import Predictions, Truth
from scoring.leaderboard import compute_leaderboard

_CASES = 60


@dataclass(frozen=True)
class WarmReport:
    """What warming did: signatures compiled (and written to the cache) and loaded from it."""

    kernels: int
    compiled: int
    loaded: int
    seconds: float
    cache_dirs: tuple[str, ...]


def kernels() -> Iterator[tuple[str, Dispatcher]]:
    """Every numba kernel of the scoring core, by dotted name (modules of ``scoring`` only)."""
    for module_info in pkgutil.iter_modules(scoring.__path__):
        if module_info.name == "__main__":
            continue  # the command line itself
        module = importlib.import_module(f"scoring.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", value


def _binary() -> tuple[Truth, list[Predictions]]:
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], _CASES // 2)
    sex = np.where(np.arange(_CASES) % 3 == 0, "female", "male")
    truth = Truth(
        case_ids=np.array([f"c{i}" for i in range(_CASES)]),
        labels=labels,
        attributes={"sex": sex},
        split=None,
        task="binary",
    )
    predictions = [
        Predictions(task="binary", scores=np.round(rng.random(_CASES), 2)) for _ in range(2)
    ]
    return truth, predictions


def _multiclass() -> tuple[Truth, list[Predictions]]:
    rng = np.random.default_rng(1)
    classes = ("a", "b", "c")
    labels = np.array([classes[i % 3] for i in range(_CASES)])
    truth = Truth(
        case_ids=np.array([f"c{i}" for i in range(_CASES)]),
        labels=labels,
        attributes={},
        split=None,
        task="multiclass",
        classes=classes,
    )
    predictions = []
    for _ in range(2):
        probabilities = rng.dirichlet(np.ones(3), _CASES)
        predictions.append(
            Predictions(
                task="multiclass",
                labels=np.array(classes)[probabilities.argmax(axis=1)],
                probabilities=probabilities,
            )
        )
    return truth, predictions


def _run_entry_points() -> None:
    """The worker's calls, on tiny data: a submission's evaluation with intervals and groups
    (``scoring.tallies``: the resamples' lane kernels; ``scoring.fairness``), a leaderboard
    with bootstrap ranks (``scoring.weighted_stats``) and a paired comparison (the sweeps
    called per row of weights, as comparisons and the ladder call them)."""
    truth, predictions = _binary()
    evaluate(truth, predictions[0], bootstrap=2, min_group=1)
    # Point estimates of large test sets take the compiled walks (``tallies.NUMPY_CASES``).
    numpy_cases, tallies.NUMPY_CASES = tallies.NUMPY_CASES, 0
    try:
        evaluate(truth, predictions[0], min_group=1)
    finally:
        tallies.NUMPY_CASES = numpy_cases
    # A lane whose counts overflow is redone alone by the per-resample kernel (a cap of 0
    # sends every lane there), with the types evaluate passes.
    grouping = build_grouping(truth.n, truth.attributes, ["sex"], [])
    design = build_design(truth, predictions[0], threshold=0.5)
    tallies.tally(cell=grouping.cell, cell_group=grouping.cell_group,
                  n_groups=grouping.n_groups, cols=design.cols, vals=design.vals,
                  n_stats=design.n_stats, sweeps=design.sweeps, seeds=resample_seeds(0, 2),
                  cap=0)
    compute_leaderboard(
        Field(
            names=["a", "b"],
            labels=truth.labels,
            scores=np.vstack([p.scores for p in predictions]),
            attributes=truth.attributes,
            columns=["auroc", "sensitivity", "sensitivity@worst(sex)"],
            ranking="mean_rank",
        ),
        bootstrap=2,
    )
    truth, predictions = _multiclass()
    compare_entries(truth, predictions, ["a", "b"], metric="auroc", bootstrap=2)


def warm_kernels() -> WarmReport:
    """Compile every kernel the worker uses, or load it from numba's cache; idempotent."""
    start = time.perf_counter()
    _run_entry_points()
    found = dict(kernels())
    stats = [kernel.stats for kernel in found.values()]
    return WarmReport(
        kernels=len(found),
        compiled=sum(sum(s.cache_misses.values()) for s in stats),
        loaded=sum(sum(s.cache_hits.values()) for s in stats),
        seconds=time.perf_counter() - start,
        cache_dirs=tuple(sorted({s.cache_path for s in stats})),
    )
