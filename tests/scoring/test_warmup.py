"""``python -m scoring warm`` compiles every numba kernel once, and later processes only load them.

Each run is a fresh process on an empty numba cache of its own (NUMBA_CACHE_DIR), as a fresh
clone or image has.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Per kernel: how many signatures this process compiled (cache misses) and loaded (hits).
REPORT = """
import json
from scoring.warmup import kernels, warm_kernels
warm_kernels()
print(json.dumps({name: [sum(k.stats.cache_misses.values()), sum(k.stats.cache_hits.values())]
                  for name, k in kernels()}))
"""


def _python(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_warming_compiles_every_kernel_and_a_later_process_compiles_none(tmp_path):
    first = _python(["-c", REPORT], tmp_path)
    assert first.returncode == 0, first.stderr
    compiled = json.loads(first.stdout.splitlines()[-1])
    # Every kernel of the scoring core, found by type, is reached by the worker's entry points:
    # a new kernel that they do not call would otherwise compile in the worker.
    assert {
        "scoring.tally_kernels._tally",
        "scoring.tally_kernels._tally_lanes",
        "scoring.tally_kernels._lane_weights",
        "scoring.tally_kernels._lane_rank_sweep",
        "scoring.tally_kernels._lane_median_sweep",
        "scoring.tally_kernels._wasserstein",
        "scoring.weighted_stats._rank_sums",
    } <= set(compiled)
    assert {name: misses for name, (misses, _hits) in compiled.items() if misses == 0} == {}

    again = _python(["-m", "scoring", "warm"], tmp_path)
    assert again.returncode == 0, again.stderr
    counts = re.search(r"(\d+) signatures compiled, (\d+) loaded from the cache", again.stdout)
    assert counts, again.stdout
    assert int(counts[1]) == 0 and int(counts[2]) > 0
    assert str(tmp_path) in again.stdout  # the cache it used
