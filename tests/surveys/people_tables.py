"""Build people tables for the funnel and retention tests (``surveys.analysis.people``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

PHASE_END = datetime(2026, 3, 1, tzinfo=UTC)
AFTER_THE_PHASE = datetime(2026, 4, 1, tzinfo=UTC)


def person(
    arm: str | None,
    *,
    consented: bool = True,
    linked: bool = True,
    n: int = 0,
    last: float | None = None,
    joined: float = 40.0,
    post: bool = False,
    group: str | None = None,
    withdrawn: float | None = None,
) -> dict:
    """One row; ``last``, ``joined`` and ``withdrawn`` are days before the phase's end."""

    def before(days: float | None):
        return None if days is None else PHASE_END - timedelta(days=days)

    return {
        "arm": arm,
        "joined_at": before(joined),
        "consented": consented,
        "linked": linked,
        "n_submissions": n,
        "first_submission_at": before(joined - 1) if n else None,
        "last_submission_at": before(last) if n else None,
        "post_survey": post,
        "withdrawn_at": before(withdrawn),
        "group": group,
    }


def table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "person", [f"P{i:03d}" for i in range(len(frame))])
    return frame
