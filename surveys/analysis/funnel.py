"""The participation funnel per design arm, and per arm × group of a chosen variable.

Stages (``STAGES``) of the arm funnel, over people whose latest research decision is yes and
who have an arm: consented → first submission → at least 3 submissions → active in the phase's
last 7 days → post-survey answered. Joined → consented is reported as totals without arms
(only consenters have one). Split by the groups of a variable (``GROUP_STAGES``), the funnel
starts at "consented and answered that question", and its submission stages count only those
who also consented to linking their answers to competition behaviour: "consented to linking"
is a stage of its own and the denominator of the submission stages' shares.

Each stage's share of its denominator has a Wilson 95% interval; each arm's share minus the
first arm's has a Newcombe 95% interval (``surveys.analysis.intervals``).

Small cells (``suppress``): a count ``k`` with ``0 < k < threshold`` is withheld (``None``), with
every share, interval and difference derived from it. Because a stage's people are all in its
parent stage (``Stage.parent``), the parent's count minus the stage's is the number who left
between the two: a stage is also withheld when that difference, taken from the nearest released
ancestor, is under the threshold but not zero. Counts that add up to a released number — the
arms' consented counts to the consented total, and at each stage of an arm the groups' counts
and the people outside every group to the arm's count of that stage (``WHOLE``) — follow the
line rule of secondary suppression: when exactly one is withheld (the people outside every
group count as withheld when they are few), the smallest other one is withheld too
(``scoring.suppression`` explains why). The rules run until nothing changes. A share is
withheld when its count or its denominator is. Zero counts are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from surveys.analysis import SMALL_CELL_THRESHOLD
from surveys.analysis.intervals import newcombe, wilson
from surveys.analysis.people import ACTIVE_WINDOW, answer_groups, normalise, observation_end


@dataclass(frozen=True)
class Stage:
    """A stage of the funnel. Everyone in it is in ``parent``; its share is of ``denominator``
    (``None`` for the first stage, which is the base)."""

    key: str
    label: str
    parent: str | None
    denominator: str | None


STAGES = (
    Stage("consented", "Consented (arm assigned)", None, None),
    Stage("submitted", "First submission", "consented", "consented"),
    Stage("submitted_3", "At least 3 submissions", "submitted", "consented"),
    Stage("active", "Active in the phase's last 7 days", "submitted", "consented"),
    Stage("post_survey", "Post-survey answered", "consented", "consented"),
)
GROUP_STAGES = (
    Stage("answered", "Consented and answered the question", None, None),
    Stage("linked", "Consented to linking", "answered", "answered"),
    Stage("submitted", "First submission", "linked", "linked"),
    Stage("submitted_3", "At least 3 submissions", "submitted", "linked"),
    Stage("active", "Active in the phase's last 7 days", "submitted", "linked"),
    Stage("post_survey", "Post-survey answered", "answered", "answered"),
)
Key = tuple[str, "str | None", str]  # (arm, group, stage); group None in the arm funnel


@dataclass(frozen=True)
class Cell:
    """One stage of one arm (and group). ``None`` means withheld (or, for a share, the first
    stage, which is the base; for a difference, the first arm itself). Shares and intervals
    are fractions in [0, 1]; ``difference`` is this arm's share minus the first arm's."""

    arm: str
    group: str | None
    stage: str
    count: int | None
    denominator: int | None
    share: float | None
    low: float | None
    high: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None


@dataclass(frozen=True)
class Funnel:
    threshold: int
    arms: tuple[str, ...]  # the first is the reference of the differences
    joined: int | None
    consented: int | None
    cells: tuple[Cell, ...]
    variable: str | None = None  # the variable the groups are answers to
    groups: tuple[str, ...] = ()

    def cell(self, arm: str, stage: str, group: str | None = None) -> Cell:
        return next(
            c for c in self.cells if (c.arm, c.group, c.stage) == (arm, group, stage)
        )


def reached(people: pd.DataFrame, obs_end: datetime) -> pd.DataFrame:
    """Per person, whether they reached each stage (both funnels' keys). ``people`` is a
    normalised table (``people.normalise``)."""
    answered = people["group"].notna() if "group" in people.columns else False
    linked = people["linked"]
    submitted = people["n_submissions"] >= 1
    active = submitted & (people["last_submission_at"] >= obs_end - ACTIVE_WINDOW)
    return pd.DataFrame(
        {
            "consented": people["consented"],
            "answered": people["consented"] & answered,
            "linked": linked,
            "submitted": submitted,
            "submitted_3": people["n_submissions"] >= 3,
            "active": active,
            "post_survey": people["post_survey"],
        },
        index=people.index,
    )


def funnel(
    people: pd.DataFrame,
    *,
    phase_end: datetime,
    now: datetime,
    threshold: int = SMALL_CELL_THRESHOLD,
    arms: list[str] | None = None,
    variable: str | None = None,
    joined: int | None = None,
) -> Funnel:
    """The funnel of ``people`` (see ``surveys.analysis.people``). ``arms`` orders the arms
    (the first is the reference; default: sorted names). With ``variable``, the table's
    ``group`` column holds its answers and the arm × group funnels are added. ``joined``
    defaults to the table's rows (an export holds only consenters: pass the number joined)."""
    people = normalise(people)
    flags = reached(people, observation_end(phase_end, now))
    base = people["consented"] & people["arm"].notna()
    arms = list(arms) if arms is not None else sorted(people.loc[base, "arm"].unique())
    groups = answer_groups(people) if variable is not None else []
    counts: dict[Key, int] = {}
    for arm in arms:
        in_arm = base & (people["arm"] == arm)
        for stage in STAGES:
            counts[(arm, None, stage.key)] = int((in_arm & flags[stage.key]).sum())
        for group in groups:
            answered = in_arm & flags["answered"] & (people["group"] == group)
            linked = answered & flags["linked"]
            for stage in GROUP_STAGES:
                who = answered if stage.denominator in (None, "answered") else linked
                counts[(arm, group, stage.key)] = int((who & flags[stage.key]).sum())
    n_joined = len(people) if joined is None else joined
    n_consented = int(people["consented"].sum())
    hidden = suppress(counts, arms, groups, threshold)
    cells = _cells(counts, hidden, arms, groups)
    return Funnel(
        threshold=threshold,
        arms=tuple(arms),
        joined=_released(n_joined, threshold),
        consented=_released(n_consented, threshold),
        cells=tuple(cells),
        variable=variable,
        groups=tuple(groups),
    )


def _released(count: int, threshold: int) -> int | None:
    return None if 0 < count < threshold else count


def _is_small(count: int, threshold: int) -> bool:
    return 0 < count < threshold


#: The arm funnel's stage that a split's stage is part of: the groups' counts and the people
#: outside every group (not answering, not linked) add up to it.
WHOLE = {"answered": "consented", "submitted": "submitted", "submitted_3": "submitted_3",
         "active": "active", "post_survey": "post_survey"}


def suppress(
    counts: dict[Key, int], arms: list[str], groups: list[str], threshold: int
) -> set[Key]:
    """The cells to withhold (the module's rule), to a fixed point."""
    hidden = {key for key, count in counts.items() if _is_small(count, threshold)}
    lines = [([(arm, None, STAGES[0].key) for arm in arms], None)]
    lines += [
        ([(arm, group, stage.key) for group in groups], (arm, None, WHOLE.get(stage.key)))
        for arm in arms
        for stage in GROUP_STAGES
    ]
    changed = True
    while changed:
        changed = False
        for (arm, group, key), count in counts.items():
            if (arm, group, key) in hidden:
                continue
            ancestor = _released_ancestor(arm, group, key, hidden)
            if ancestor is not None and _is_small(counts[ancestor] - count, threshold):
                hidden.add((arm, group, key))
                changed = True
        for line, whole in lines:
            withheld = [key for key in line if key in hidden]
            others = [key for key in line if key not in hidden]
            if whole in counts and whole not in hidden:
                # The arm's own count minus the groups' is those outside every group: when
                # that is small, it is a withheld cell of the line too.
                rest = counts[whole] - sum(counts[key] for key in line)
                withheld += ["rest"] if _is_small(rest, threshold) else []
            if len(withheld) == 1 and others:
                hidden.add(min(others, key=lambda key: (counts[key], str(key[1]), key[0])))
                changed = True
    return hidden


def _stage(group: str | None, key: str) -> Stage:
    return next(s for s in (STAGES if group is None else GROUP_STAGES) if s.key == key)


def _released_ancestor(arm: str, group: str | None, key: str, hidden: set[Key]) -> Key | None:
    parent = _stage(group, key).parent
    while parent is not None:
        if (arm, group, parent) not in hidden:
            return (arm, group, parent)
        parent = _stage(group, parent).parent
    return None


def _cells(counts: dict[Key, int], hidden: set[Key], arms: list[str], groups: list[str]):
    """Counts, shares with Wilson intervals and Newcombe differences from the first arm."""

    def share_of(arm: str, group: str | None, stage: Stage) -> tuple[int, int] | None:
        key = (arm, group, stage.key)
        if key in hidden or stage.denominator is None:
            return None
        denominator = (arm, group, stage.denominator)
        if denominator in hidden or counts[denominator] == 0:
            return None
        return counts[key], counts[denominator]

    cells = []
    for group in [None, *groups]:
        for stage in STAGES if group is None else GROUP_STAGES:
            reference = share_of(arms[0], group, stage) if arms else None
            for arm in arms:
                key = (arm, group, stage.key)
                share = share_of(arm, group, stage)
                low = high = d = d_low = d_high = None
                if share is not None:
                    low, high = wilson(*share)
                    if arm != arms[0] and reference is not None:
                        d, d_low, d_high = newcombe(*share, *reference)
                denominator = (arm, group, stage.denominator)
                cells.append(
                    Cell(
                        arm=arm,
                        group=group,
                        stage=stage.key,
                        count=None if key in hidden else counts[key],
                        denominator=None
                        if stage.denominator is None or denominator in hidden
                        else counts[denominator],
                        share=None if share is None else share[0] / share[1],
                        low=low,
                        high=high,
                        difference=d,
                        difference_low=d_low,
                        difference_high=d_high,
                    )
                )
    return cells


def funnel_frame(result: Funnel) -> pd.DataFrame:
    """funnel.csv: the totals (arm "all"), then a row per arm (and group) and stage."""
    rows = [
        {"variable": "", "group": "", "arm": "all", "stage": stage, "stage_label": label,
         "count": count}
        for stage, label, count in (
            ("joined", "Joined the challenge", result.joined),
            ("consented", "Consented to research use", result.consented),
        )
    ]
    for c in result.cells:
        rows.append(
            {
                "variable": result.variable if c.group is not None else "",
                "group": c.group or "",
                "arm": c.arm,
                "stage": c.stage,
                "stage_label": _stage(c.group, c.stage).label,
                "count": c.count,
                "denominator": c.denominator,
                "share": c.share,
                "share_low": c.low,
                "share_high": c.high,
                "difference_vs_first_arm": c.difference,
                "difference_low": c.difference_low,
                "difference_high": c.difference_high,
            }
        )
    frame = pd.DataFrame(rows, columns=FUNNEL_COLUMNS)
    return frame.astype({"count": "Int64", "denominator": "Int64"})


FUNNEL_COLUMNS = [
    "variable", "group", "arm", "stage", "stage_label", "count", "denominator", "share",
    "share_low", "share_high", "difference_vs_first_arm", "difference_low", "difference_high",
]
