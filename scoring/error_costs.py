"""What a binary task's two kinds of error cost: the weights of ``expected_cost``.

An organiser who knows that missing a positive case (a false negative) costs, say, five times a
false alarm (a false positive) says so as ``fn=5,fp=1``; only the ratio changes which entry is
better, the scale only the unit of the value. Unknown costs are ``fn=1,fp=1``: the expected cost
is then the error rate, 1 − accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoring.errors import InputError


@dataclass(frozen=True)
class ErrorCosts:
    """``fn`` the cost of one false negative, ``fp`` of one false positive (positive, finite,
    in any unit the organiser chooses; ``expected_cost`` is in the same unit per case)."""

    fn: float = 1.0
    fp: float = 1.0

    def problems(self) -> list[str]:
        """One line per cost that is not a positive finite number (empty: valid)."""
        return [
            f"the cost of a {kind} must be a positive number, got {value}"
            for kind, value in (("false negative (fn)", self.fn), ("false positive (fp)", self.fp))
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0)
        ]

    def checked(self) -> ErrorCosts:
        """Itself; raises :class:`InputError` when a cost is not positive and finite."""
        problems = self.problems()
        if problems:
            raise InputError(problems)
        return self

    def __str__(self) -> str:
        return f"fn={self.fn:g},fp={self.fp:g}"


def parse_costs(text: str) -> ErrorCosts:
    """``fn=5,fp=1`` (either order, spaces allowed) as :class:`ErrorCosts`; :class:`InputError`
    naming what is wrong otherwise. Both costs must be given: a missing one is a typo more often
    than a deliberate 1."""
    values: dict[str, float] = {}
    problems: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("fn", "fp"):
            problems.append(f"costs are given as fn=<number>,fp=<number>; cannot read {item!r}")
            continue
        if key in values:
            problems.append(f"the cost {key} is given twice")
            continue
        try:
            values[key] = float(value)
        except ValueError:
            problems.append(f"the cost {key} must be a number, got {value.strip()!r}")
    if not problems:
        problems += [f"give the cost {key} too (fn=<number>,fp=<number>)"
                     for key in ("fn", "fp") if key not in values]
    # A missing cost stands in as 1 (valid), so only the costs given are judged here.
    given = ErrorCosts(fn=values.get("fn", 1.0), fp=values.get("fp", 1.0))
    problems += given.problems()
    if problems:
        raise InputError(problems)
    return given


# Costs nobody stated: every error counts one, so expected_cost is the error rate.
UNIT_COSTS = ErrorCosts()
