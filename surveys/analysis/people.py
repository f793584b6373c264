"""The people table both analyses read: one row per person who joined the challenge.

Columns (``COLUMNS``; times are timezone-aware UTC, missing ones ``NaT``):

- ``person``: an id (the study pseudonym);
- ``arm``: the design arm's name, empty for a person without one;
- ``joined_at``: when the person joined the challenge (the origin of retention);
- ``consented``: the latest research decision is yes (only these enter the funnel);
- ``linked``: also consented to linking answers to competition behaviour;
- ``n_submissions``, ``first_submission_at``, ``last_submission_at``: the person's submissions
  to the phase (before ``withdrawn_at``, when there is one);
- ``post_survey``: answered the post-survey;
- ``withdrawn_at``: when the person withdrew (retention is censored there);
- ``group`` (optional): the person's answer to the variable the funnel is split by, empty when
  they did not answer it (declined, not shown, no response).

"Active in the phase's last 7 days" is derived, not stored: a submission at or after
``observation_end - 7 days``, where the observation ends at the phase's end, or at ``now`` while
the phase runs (``observation_end``). Retention uses the same cut-off, so a person is active
exactly when their last submission is not a drop-out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

#: The phase's final stretch: a person who submitted in it is "active"; a last submission
#: before it is a drop-out.
ACTIVE_WINDOW = timedelta(days=7)
TIMES = ("joined_at", "first_submission_at", "last_submission_at", "withdrawn_at")
FLAGS = ("consented", "linked", "post_survey")
COLUMNS = (
    "person", "arm", "joined_at", "consented", "linked", "n_submissions",
    "first_submission_at", "last_submission_at", "post_survey", "withdrawn_at",
)


class PeopleError(ValueError):
    """The people table cannot be read: the message names the column and what is wrong."""


def observation_end(phase_end: datetime, now: datetime) -> datetime:
    """The phase's end once it has passed, ``now`` while it runs."""
    return min(phase_end, now)


def answer_groups(people: pd.DataFrame) -> list[str]:
    """The groups of a split, sorted: every answer a consenting person gave (normalised
    table; none without a ``group`` column). The funnel and the curves show the same ones."""
    if "group" not in people.columns:
        return []
    return sorted(people.loc[people["consented"] & people["group"].notna(), "group"].unique())


def normalise(people: pd.DataFrame) -> pd.DataFrame:
    """A copy with typed columns: times as UTC datetimes, flags as bools, counts as ints, arm
    and group as strings or ``None``. Raises ``PeopleError`` for a missing column."""
    missing = [c for c in COLUMNS if c not in people.columns]
    if missing:
        raise PeopleError(f"The people table lacks the column(s) {', '.join(missing)}.")
    out = people.copy()
    for column in TIMES:
        try:
            out[column] = pd.to_datetime(out[column], utc=True, format="ISO8601")
        except (ValueError, TypeError) as error:
            raise PeopleError(f"{column}: not a time in ISO 8601 ({error}).") from error
    for column in FLAGS:
        out[column] = out[column].map(_flag)
    counts = pd.to_numeric(out["n_submissions"], errors="coerce")
    if counts.isna().any() or (counts < 0).any():
        raise PeopleError("n_submissions: every row needs a whole number of submissions ≥ 0.")
    out["n_submissions"] = counts.astype(int)
    for column in ("arm", "group"):
        if column in out.columns:
            out[column] = out[column].map(_label)
    if out["joined_at"].isna().any():
        raise PeopleError("joined_at: every person joined at a known time.")
    late = out["n_submissions"].gt(0) & out["last_submission_at"].isna()
    if late.any():
        raise PeopleError("last_submission_at: a person with submissions needs its time.")
    return out


def _flag(value) -> bool:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "y", "t"):
            return True
        if text in ("", "0", "false", "no", "n", "f"):
            return False
        raise PeopleError(f"Not a yes/no value: {value!r}.")
    return bool(value) if pd.notna(value) else False


def _label(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code read from a CSV as 1.0
    text = str(value).strip()
    return text or None


def read_people(path) -> pd.DataFrame:
    """The people table from a CSV file with the columns above (times in ISO 8601)."""
    return normalise(pd.read_csv(path, dtype=str, keep_default_na=False))
