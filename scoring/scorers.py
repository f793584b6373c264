"""Per-case scorer plugins: one value per case (a Dice score per image, an error per patient).

The engine turns each scorer into two metrics, ``<name>.mean`` and ``<name>.median``, with
subgroups, fairness summaries and bootstrap intervals like any built-in metric. Organisers pick
them by id in the admin; they never type a dotted path. The operator installs scorers:

* as a Python package declaring an entry point in the group ``cheetah.scorers``::

      [project.entry-points."cheetah.scorers"]
      dice = "my_scorers.dice:dice"

* or by listing ``"module:attribute"`` paths in the web app's settings, which pass them to
  :func:`load`; or, in code, with :func:`register`.

A scorer is a :class:`Scorer`, most easily made with the :func:`scorer` decorator::

    @scorer(name="dice", tasks=("binary",), direction="higher", description="Dice per image")
    def dice(truth: Truth, predictions: Predictions) -> np.ndarray:
        ...  # one finite float per case, in truth's case order

See docs/metrics.md, "Per-case scorers", for the full contract.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.io import Predictions, Truth
from scoring.vocabulary import DIRECTIONS

ENTRY_POINT_GROUP = "cheetah.scorers"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Scorer:
    name: str
    tasks: tuple[str, ...]
    direction: str  # "higher" or "lower": which per-case values are better
    description: str
    function: Callable[[Truth, Predictions], np.ndarray]

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(f"scorer name {self.name!r} must be lowercase letters, digits, _")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"scorer {self.name}: direction must be 'higher' or 'lower'")

    def values(self, truth: Truth, predictions: Predictions) -> np.ndarray:
        """The per-case values, checked: one finite float per case."""
        values = np.asarray(self.function(truth, predictions), dtype=np.float64)
        if values.shape != (truth.n,):
            raise ValueError(
                f"scorer {self.name} returned shape {values.shape}, expected ({truth.n},)"
            )
        if not np.isfinite(values).all():
            raise ValueError(f"scorer {self.name} returned values that are not finite")
        return values


def scorer(
    *, name: str, tasks: Sequence[str], direction: str, description: str
) -> Callable[[Callable[[Truth, Predictions], np.ndarray]], Scorer]:
    def wrap(function: Callable[[Truth, Predictions], np.ndarray]) -> Scorer:
        return Scorer(name, tuple(tasks), direction, description, function)

    return wrap


_registered: dict[str, Scorer] = {}


def register(item: Scorer) -> Scorer:
    """Make a scorer available under its name (replacing one of the same name)."""
    _registered[item.name] = item
    return item


def load(path: str) -> Scorer:
    """Import ``"module:attribute"`` (a settings entry), register it and return it."""
    module, _, attribute = path.partition(":")
    item = getattr(importlib.import_module(module), attribute)
    if not isinstance(item, Scorer):
        raise TypeError(f"{path} is not a scoring.scorers.Scorer")
    return register(item)


def available() -> dict[str, Scorer]:
    """Registered scorers and those installed under the ``cheetah.scorers`` entry points."""
    found = dict(_registered)
    for item in _installed(tuple(sys.path)):
        found.setdefault(item.name, item)
    return found


@functools.lru_cache(maxsize=8)
def _installed(path: tuple[str, ...]) -> tuple[Scorer, ...]:
    """The entry points' scorers on the import path ``path``, loaded once per path.

    Scanning every installed distribution's metadata takes about 40 ms, and the metric
    registry asks on every ``evaluate`` call: the field's ensembles call it thousands of times
    (docs/benchmarks.md, "Similarity at field scale"). A package installed meanwhile into a
    folder already on the path is found after a restart, as any installed code.
    """
    items = []
    if not _declared(path):
        return ()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        item = entry_point.load()
        if not isinstance(item, Scorer):
            raise TypeError(f"entry point {entry_point.value} is not a Scorer")
        items.append(item)
    return tuple(items)


def _declared(path: tuple[str, ...]) -> bool:
    """Whether a distribution on ``path`` may declare the ``cheetah.scorers`` group: a text
    search of the ``entry_points.txt`` files, a few milliseconds where
    ``importlib.metadata.entry_points`` parses every distribution's metadata (about 15 ms, once
    per ``python -m scoring evaluate``). A path entry that is not a folder (a zip) counts as
    declaring it, so the full lookup decides."""
    marker = f"[{ENTRY_POINT_GROUP}]"
    for folder in path:
        if os.path.isfile(folder):
            return True
        try:
            entries = list(os.scandir(folder or "."))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith((".dist-info", ".egg-info")) or not entry.is_dir():
                continue
            try:
                with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as f:
                    if marker in f.read():
                        return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


@scorer(
    name="absolute_error",
    tasks=("binary", "regression"),
    direction="lower",
    description="Per-case |prediction − label| (score for binary, value for regression).",
)
def absolute_error(truth: Truth, predictions: Predictions) -> np.ndarray:
    """The example scorer shipped with the engine."""
    predicted = predictions.scores if truth.task == "binary" else predictions.values
    return np.abs(predicted - truth.labels.astype(np.float64))


register(absolute_error)
