"""Timing helpers shared by the benchmark scripts (each script runs standalone from the root).

A script run as ``python benchmarks/NAME.py`` has ``benchmarks/`` on ``sys.path``, so it imports
this module as ``timing``.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def best(run: Callable[[], object], repeat: int = 3) -> float:
    """Seconds of the fastest of ``repeat`` calls after one warm-up call.

    The minimum, not the mean: on a shared machine every other figure carries the neighbours' load.
    """
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)
