"""Retention per design arm (and arm × group): Kaplan–Meier curves and the log-rank test.

Durations are in days, from joining the challenge (``joined_at``). The event, a drop-out, is
the last submission when it falls before the phase's final 7 days — before
``observation_end - 7 days``, where the observation ends at the phase's end, or at ``now``
while the phase runs (so that someone who submitted yesterday has not dropped out). Otherwise
the person is censored at the end of observation, or at their withdrawal when that comes
first. People who never submitted are left out (the funnel counts them). Split by a
variable's groups, only people who consented to linking and answered it are in the curves.

- Kaplan–Meier (E. L. Kaplan & P. Meier, "Nonparametric estimation from incomplete
  observations", JASA 53, 1958): ``S(t) = Π_{t_i ≤ t} (1 - d_i / n_i)`` over the distinct
  durations ``t_i``, with ``d_i`` drop-outs among the ``n_i`` still at risk (duration ≥ t_i).
- The log-rank test of k arms (N. Mantel, "Evaluation of survival data and two new rank
  order statistics arising in its consideration", Cancer Chemotherapy Reports 50, 1966):
  observed minus expected drop-outs per arm, ``Z_j = Σ_i (d_ij - d_i n_ij / n_i)``, with
  ``V_jl = Σ_i d_i (n_i - d_i) / (n_i - 1) · (n_ij / n_i) (δ_jl - n_il / n_i)``;
  ``Z' V⁻ Z`` over k - 1 arms is χ² with k - 1 degrees of freedom.

Both are computed here from these definitions; tests/surveys/test_retention.py checks them
against lifelines' ``KaplanMeierFitter`` and ``multivariate_logrank_test`` to 1e-9.

Small cells: a curve of fewer people than the threshold is withheld whole; a released curve
stops before the first time at which fewer than the threshold are at risk (its tail would
single out the last few people: ``truncated``). A group's log-rank test is released only when
each of its arms has at least the threshold of people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from scipy.stats import chi2

from surveys.analysis import SMALL_CELL_THRESHOLD
from surveys.analysis.people import ACTIVE_WINDOW, answer_groups, normalise, observation_end

DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class KaplanMeier:
    """The estimate at 0 and each distinct duration (days), with who was at risk just before,
    how many dropped out and how many were censored there."""

    times: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray


@dataclass(frozen=True)
class Curve:
    """A released Kaplan–Meier curve of one arm (and group); ``n`` is ``None`` and the arrays
    empty when it is withheld."""

    arm: str
    group: str | None
    n: int | None
    times: tuple[float, ...]
    survival: tuple[float, ...]
    at_risk: tuple[int, ...]
    events: tuple[int, ...]
    censored: tuple[int, ...]
    truncated: bool

    @property
    def points(self) -> list[tuple[float, float, int]]:
        """``(days, survival, at risk)`` per released point, for tables."""
        return list(zip(self.times, self.survival, self.at_risk, strict=True))


@dataclass(frozen=True)
class LogRank:
    """The arms compared within one group (``None``: everyone); ``None`` values: withheld or
    fewer than two arms."""

    group: str | None
    statistic: float | None
    degrees_of_freedom: int | None
    p_value: float | None


@dataclass(frozen=True)
class Retention:
    threshold: int
    arms: tuple[str, ...]
    curves: tuple[Curve, ...]
    tests: tuple[LogRank, ...]
    variable: str | None = None


def durations(people: pd.DataFrame, *, phase_end: datetime, now: datetime) -> pd.DataFrame:
    """Per consenting person with an arm and a submission: ``days`` and ``event`` (a
    drop-out), keeping ``arm``, ``group`` (``None`` without one) and ``linked``."""
    people = normalise(people)
    end = observation_end(phase_end, now)
    who = people[people["consented"] & people["arm"].notna() & (people["n_submissions"] > 0)]
    withdrawn = who["withdrawn_at"].notna() & (who["withdrawn_at"] < end)
    event = ~withdrawn & (who["last_submission_at"] < end - ACTIVE_WINDOW)
    stop = who["withdrawn_at"].where(withdrawn, pd.Timestamp(end))
    stop = stop.where(~event, who["last_submission_at"])
    days = (stop - who["joined_at"]).dt.total_seconds() / DAY_SECONDS
    group = who["group"] if "group" in who.columns else pd.Series(None, index=who.index)
    return pd.DataFrame(
        {"arm": who["arm"], "group": group, "linked": who["linked"], "days": days,
         "event": event}
    )


def kaplan_meier(days, events) -> KaplanMeier:
    """The Kaplan–Meier estimate from durations and event flags (``True``: the event)."""
    days = np.asarray(days, dtype=float)
    events = np.asarray(events, dtype=bool)
    times = np.union1d([0.0], days)
    at_risk = np.array([(days >= t).sum() for t in times])
    dropped = np.array([(events & (days == t)).sum() for t in times])
    censored = np.array([(~events & (days == t)).sum() for t in times])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - dropped / at_risk, 1.0)
    return KaplanMeier(times, np.cumprod(factor), at_risk, dropped, censored)


def logrank(days, events, arms) -> tuple[float, int, float]:
    """``(statistic, degrees of freedom, p)`` of the log-rank test between ``arms`` (a label
    per person)."""
    days = np.asarray(days, dtype=float)
    events = np.asarray(events, dtype=bool)
    arms = np.asarray(arms)
    labels = np.unique(arms)
    k = len(labels)
    z = np.zeros(k)
    v = np.zeros((k, k))
    for t in np.unique(days[events]):
        risk = days >= t
        n = risk.sum()
        d = (events & (days == t)).sum()
        n_j = np.array([(risk & (arms == a)).sum() for a in labels])
        d_j = np.array([(events & (days == t) & (arms == a)).sum() for a in labels])
        z += d_j - d * n_j / n
        if n > 1:
            share = n_j / n
            v += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    statistic = float(z[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ z[:-1])
    return statistic, k - 1, float(chi2.sf(statistic, k - 1))


def retention(
    people: pd.DataFrame,
    *,
    phase_end: datetime,
    now: datetime,
    threshold: int = SMALL_CELL_THRESHOLD,
    arms: list[str] | None = None,
    variable: str | None = None,
) -> Retention:
    """Curves per arm (and, with ``variable``, per arm × group over linked answerers) and
    the log-rank test of the arms within each."""
    people = normalise(people)
    table = durations(people, phase_end=phase_end, now=now)
    arms = list(arms) if arms is not None else sorted(table["arm"].unique())
    splits: list[tuple[str | None, pd.DataFrame]] = [(None, table)]
    if variable is not None:
        linked = table[table["linked"] & table["group"].notna()]
        splits += [(group, linked[linked["group"] == group]) for group in answer_groups(people)]
    curves, tests = [], []
    for group, rows in splits:
        sizes = []
        for arm in arms:
            mine = rows[rows["arm"] == arm]
            sizes.append(len(mine))
            curves.append(_curve(arm, group, mine, threshold))
        present = rows[rows["arm"].isin(arms)]
        if len([n for n in sizes if n]) >= 2 and min(sizes) >= threshold:
            statistic, df, p = logrank(present["days"], present["event"], present["arm"])
            tests.append(LogRank(group, statistic, df, p))
        else:
            tests.append(LogRank(group, None, None, None))
    return Retention(threshold, tuple(arms), tuple(curves), tuple(tests), variable)


def _curve(arm: str, group: str | None, rows: pd.DataFrame, threshold: int) -> Curve:
    if len(rows) == 0:
        return Curve(arm, group, 0, (), (), (), (), (), truncated=False)
    if len(rows) < threshold:
        return Curve(arm, group, None, (), (), (), (), (), truncated=True)
    km = kaplan_meier(rows["days"], rows["event"])
    keep = np.cumprod(km.at_risk >= threshold).astype(bool)
    return Curve(
        arm=arm,
        group=group,
        n=len(rows),
        times=tuple(float(t) for t in km.times[keep]),
        survival=tuple(float(s) for s in km.survival[keep]),
        at_risk=tuple(int(n) for n in km.at_risk[keep]),
        events=tuple(int(n) for n in km.events[keep]),
        censored=tuple(int(n) for n in km.censored[keep]),
        truncated=not keep.all(),
    )


RETENTION_COLUMNS = [
    "variable", "group", "arm", "n", "days", "survival", "at_risk", "events", "censored",
    "logrank_statistic", "logrank_df", "logrank_p",
]


def retention_frame(result: Retention) -> pd.DataFrame:
    """retention.csv: a row per released point of each curve, the group's log-rank test on
    each row of its curves; a withheld curve is one row with empty values."""
    tests = {t.group: t for t in result.tests}
    rows = []
    for c in result.curves:
        test = tests[c.group]
        base = {
            "variable": result.variable if c.group is not None else "",
            "group": c.group or "",
            "arm": c.arm,
            "n": c.n,
            "logrank_statistic": test.statistic,
            "logrank_df": test.degrees_of_freedom,
            "logrank_p": test.p_value,
        }
        if not c.times:
            rows.append(base)
        for point in zip(c.times, c.survival, c.at_risk, c.events, c.censored, strict=True):
            rows.append({**base, **dict(zip(RETENTION_COLUMNS[4:9], point, strict=True))})
    frame = pd.DataFrame(rows, columns=RETENTION_COLUMNS)
    counts = ("n", "at_risk", "events", "censored", "logrank_df")
    return frame.astype(dict.fromkeys(counts, "Int64"))
