"""``python -m scoring evaluate`` loads only what the command needs (issue 17, whole-process
scoring): on a plain CSV without resampling neither pandas nor numba nor the statistics
libraries are imported; resampling loads numba's kernels, a quoted file pandas' reader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numba", "scipy", "sklearn", "statsmodels")
# Runs the CLI in this interpreter, then prints which heavy libraries it imported.
RUN = """
import contextlib, io, json, sys
from scoring.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(sys.argv[1:])
json.loads(out.getvalue())
print(json.dumps([status, sorted(m for m in HEAVY if m in sys.modules)]))
""".replace("HEAVY", repr(HEAVY))


def _imported(tmp_path: Path, flchain, *options: str, quote: bool = False) -> list[str]:
    truth, predictions = tmp_path / "truth.csv", tmp_path / "predictions.csv"
    flchain[["case_id", "label", "sex", "age_band", "creatinine"]].to_csv(
        truth, index=False, quoting=1 if quote else 0)
    flchain[["case_id", "score"]].sample(frac=1, random_state=0).to_csv(predictions, index=False)
    command = [sys.executable, "-c", RUN, "evaluate", "--truth", str(truth), "--predictions",
               str(predictions), "--intersections", "sex:age_band", "--format", "json", *options]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    status, modules = json.loads(done.stdout.splitlines()[-1])
    assert status == 0
    return modules


def test_evaluate_without_resampling_imports_no_heavy_library(tmp_path, flchain):
    assert _imported(tmp_path, flchain, "--bootstrap", "0") == []


@pytest.mark.parametrize("options, quote, expected", [
    (("--bootstrap", "20"), False, {"numba"}),
    (("--bootstrap", "0"), True, {"pandas"}),
])
def test_what_needs_a_library_loads_it(tmp_path, flchain, options, quote, expected):
    assert expected <= set(_imported(tmp_path, flchain, *options, quote=quote))
