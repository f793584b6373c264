"""Cheetah's scoring engine: metrics overall and per patient subgroup, with fairness summaries
and bootstrap intervals. Plain numpy/pandas (numba for the tallies); no Django.

The web app and the CLI (``python -m scoring``) call the same functions::

    truth = read_truth(path_or_binary_file, task="binary")
    predictions = read_predictions(other_file, truth, task="binary")
    result = evaluate(truth, predictions, bootstrap=1000)   # a typed SplitResult
    result.value("auroc"), result.group("sex", "F"), result.to_dict()   # JSON as stored
"""

from scoring.errors import InputError
from scoring.evaluate import evaluate
from scoring.io import Predictions, Truth, read_predictions, read_truth
from scoring.result import SplitResult

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "Predictions",
    "SplitResult",
    "Truth",
    "__version__",
    "evaluate",
    "read_predictions",
    "read_truth",
]
