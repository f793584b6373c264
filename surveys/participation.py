"""Reads: a study's people table for the funnel and retention, and the two files of the export.

``study_people`` builds the table ``surveys.analysis`` reads (``surveys/analysis/people.py``)
from the database; ``study_participation`` runs the funnel and the retention analysis on it,
small cells withheld; ``write`` adds ``funnel.csv`` and ``retention.csv`` to an export folder
and describes them in its codebook. The rules (docs/studies.md, "Funnel and retention"):

- one row per participant of the challenge, under the study pseudonym, the challenge's own
  organisers left out (a teacher's or organisers' baseline team is not a competitor whose
  participation the study measures); only those whose latest
  research decision is yes are ``consented``, and of the others nothing but the join is read
  (they count in "joined");
- submissions are the person's own uploads to the study's phase (``linked_phase``, default the
  challenge's last), failed ones included: an attempt is taking part;
- the post-survey is answered when a response to a phase-end survey of that phase is complete;
- the group of a split is the label of the chosen single-choice or Likert answer; "prefer not
  to say", not shown and no answer are no group; a special-category question gives groups only
  for those with the explicit consent.

A participant who withdraws research consent leaves the data entirely (as in every export), so
``withdrawn_at`` stays empty here; the pure module censors at it for data that have it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from django.db.models import Count, Max, Min
from django.utils import timezone

from cheetah.safe_csv import frame_to_csv
from competitions.models import Participant, Phase, Submission
from competitions.presentation.charts import bar_chart
from surveys.analysis.funnel import (
    GROUP_STAGES,
    STAGES,
    Funnel,
    funnel,
    funnel_frame,
)
from surveys.analysis.people import COLUMNS
from surveys.analysis.retention import Retention, retention, retention_frame
from surveys.charts import survival_chart
from surveys.dataset import consenting_users, pseudonym, study_phase
from surveys.export import TABLE_SCHEMA
from surveys.models import Answer, ArmAssignment, ConsentItem, Question, Response, Study, Survey
from surveys.naming import prefixed

FILES = ("funnel.csv", "retention.csv")


@dataclass(frozen=True)
class Participation:
    funnel: Funnel
    retention: Retention
    phase: Phase


def group_variables(study: Study) -> dict[str, Question]:
    """Export name (``<survey prefix>_<variable>``, as in responses_wide.csv) -> question, for
    the single-choice and Likert questions of answered surveys a funnel can be split by."""
    surveys = list(Survey.objects.filter(study=study, responses__isnull=False).distinct())
    versions = Counter(survey.slug for survey in surveys)
    questions = Question.objects.filter(
        section__survey__in=surveys, kind__in=[Question.Kind.SINGLE, Question.Kind.LIKERT]
    ).select_related("section__survey")
    out = {}
    for question in questions:
        survey = question.section.survey
        prefix = survey.slug if versions[survey.slug] == 1 else f"{survey.slug}_v{survey.version}"
        out[prefixed(prefix, question.variable)] = question
    return dict(sorted(out.items()))


def arm_order(study: Study) -> list[str]:
    """Arm names in the export's code order (by slug); the first is the funnel's reference."""
    return list(study.arms.order_by("slug").values_list("name", flat=True))


def study_people(study: Study, phase: Phase, *, variable: str | None = None) -> pd.DataFrame:
    """The people table of ``study`` for ``phase`` (columns: ``surveys.analysis.people``)."""
    joined = dict(
        Participant.objects.filter(challenge=study.challenge)
        .exclude(user__in=study.challenge.organisers.all())
        .values_list("user_id", "joined_at")
    )
    research = set(consenting_users(study)) & set(joined)
    linking = set(consenting_users(study, ConsentItem.LINKING)) & research
    arms = dict(
        ArmAssignment.objects.filter(study=study, user_id__in=research).values_list(
            "user_id", "arm__name"
        )
    )
    submissions = {
        row["created_by"]: row
        for row in Submission.objects.filter(phase=phase, created_by_id__in=research)
        .values("created_by")
        .annotate(n=Count("id"), first=Min("created_at"), last=Max("created_at"))
    }
    post = set(
        Response.objects.filter(
            survey__study=study,
            survey__trigger=Survey.Trigger.PHASE_END,
            survey__phase=phase,
            completed_at__isnull=False,
            user_id__in=research,
        ).values_list("user_id", flat=True)
    )
    groups = answer_groups(study, variable, research) if variable else {}
    rows = []
    for uid in sorted(joined, key=lambda uid: pseudonym(study, uid)):
        mine = submissions.get(uid, {})
        rows.append(
            {
                "person": pseudonym(study, uid),
                "arm": arms.get(uid),
                "joined_at": joined[uid],
                "consented": uid in research,
                "linked": uid in linking,
                "n_submissions": mine.get("n", 0),
                "first_submission_at": mine.get("first"),
                "last_submission_at": mine.get("last"),
                "post_survey": uid in post,
                "withdrawn_at": None,
                "group": groups.get(uid),
            }
        )
    return pd.DataFrame(rows, columns=[*COLUMNS, "group"])


def answer_groups(study: Study, variable: str, research: set[int]) -> dict[int, str]:
    """User id -> the label of their answer to ``variable`` (a ``group_variables`` name), for
    those of ``research`` whose answer may be used (a special-category question needs the
    explicit consent too)."""
    question = group_variables(study).get(variable)
    if question is None:
        return {}
    allowed = research
    if question.special_category:
        allowed = research & set(consenting_users(study, ConsentItem.SPECIAL))
    labels = dict(question.options.values_list("code", "label"))
    answers = Answer.objects.filter(
        question=question, row__isnull=True, declined=False, response__user_id__in=allowed
    ).values_list("response__user_id", "codes")
    return {uid: labels[codes[0]] for uid, codes in answers if codes and codes[0] in labels}


def study_participation(
    study: Study,
    *,
    variable: str | None = None,
    now: datetime | None = None,
    threshold: int | None = None,
) -> Participation | None:
    """The funnel and retention of ``study`` (``None`` without a challenge phase), released:
    small cells — under ``threshold``, by default the study's own smallest group for exports
    (``Study.export_min_group``) — are withheld by ``surveys.analysis``."""
    threshold = study.export_min_group if threshold is None else threshold
    phase = study_phase(study)
    if phase is None:
        return None
    people = study_people(study, phase, variable=variable)
    options = {
        "phase_end": phase.end,
        "now": now or timezone.now(),
        "threshold": threshold,
        "arms": arm_order(study),
        "variable": variable,
    }
    return Participation(
        funnel=funnel(people, **options), retention=retention(people, **options), phase=phase
    )


CODEBOOK = """
## funnel.csv and retention.csv

The participation funnel and retention per design arm, over the participants of phase
"{phase}" (see docs/studies.md, "Funnel and retention"). Cells of fewer than {threshold}
people are withheld (empty), with every share, interval and difference made from them, and so
are cells that would give such a count away by subtraction.

`funnel.csv`: a row per arm (and group) and stage. `arm` "all" holds the totals `joined` and
`consented` (research use). Stages per arm: `consented` (arm assigned), `submitted` (first
submission), `submitted_3` (at least 3), `active` (a submission in the phase's last 7 days, or
the 7 days before the export while the phase runs), `post_survey`. Rows with a `variable` and
`group` start at `answered` (consented and answered the question), then `linked` (consented to
linking answers to competition behaviour); their submission stages count linked people only.
`count`; `denominator` (the stage the share is of); `share`, `share_low`, `share_high` (Wilson
95% interval); `difference_vs_first_arm` (this arm's share minus the first arm's, empty for the
first), `difference_low`, `difference_high` (Newcombe 95% interval).

`retention.csv`: Kaplan–Meier curves per arm (and group), a row per point: `days` since
joining, `survival` (the share not yet dropped out; a drop-out is a last submission before the
last 7 days of observation), `at_risk`, `events`, `censored`; `n` people in the curve (only
those who submitted); `logrank_statistic`, `logrank_df`, `logrank_p`: the log-rank test of the
arms within the group (empty when an arm has fewer than {threshold} people). A curve stops
before fewer than {threshold} are at risk; a withheld curve is one row with empty values.
"""


def write(study: Study, folder: Path) -> list[Path]:
    """Write funnel.csv and retention.csv into an export folder — the arms' funnel and curves,
    then those split by each single-choice and Likert question — and append their description
    to its codebook.md; nothing (an empty list) for a study without a phase."""
    now = timezone.now()
    overall = study_participation(study, now=now)
    if overall is None:
        return []
    funnels = [funnel_frame(overall.funnel)]
    curves = [retention_frame(overall.retention)]
    for variable in group_variables(study):
        split = study_participation(study, variable=variable, now=now)
        funnels.append(_split_rows(funnel_frame(split.funnel)))
        curves.append(_split_rows(retention_frame(split.retention)))
    paths = [folder / name for name in FILES]
    frame_to_csv(pd.concat(funnels, ignore_index=True), paths[0])
    frame_to_csv(pd.concat(curves, ignore_index=True), paths[1])
    _describe_in_datapackage(folder, {
        "funnel": (funnels, "The participation funnel per arm and per arm × group; see "
                            "codebook.md, “Funnel and retention”."),
        "retention": (curves, "Kaplan–Meier retention per arm and per arm × group; see "
                              "codebook.md, “Funnel and retention”."),
    })
    codebook = folder / "codebook.md"
    if codebook.exists():
        text = CODEBOOK.format(phase=overall.phase.name, threshold=overall.funnel.threshold)
        with codebook.open("a", encoding="utf-8") as out:
            out.write(text)
    return paths


def _describe_in_datapackage(folder: Path, tables: dict[str, tuple[list, str]]) -> None:
    """Add the two tables to the export's datapackage.json (when there is one), with a Table
    Schema whose field types follow the columns (integer, number, boolean, else string)."""
    descriptor_path = folder / "datapackage.json"
    if not descriptor_path.exists():
        return
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for name, (frames, description) in tables.items():
        frame = pd.concat(frames, ignore_index=True)
        descriptor["resources"].append({
            "name": name, "path": f"{name}.csv", "type": "table", "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8", "description": description,
            "schema": {
                "$schema": TABLE_SCHEMA,
                "fields": [{"name": str(column), "type": _table_type(frame[column])}
                           for column in frame.columns],
            },
        })
    descriptor_path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n",
                               encoding="utf-8")


def _table_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    if pd.api.types.is_float_dtype(column):
        return "number"
    return "string"


def _split_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a split by a variable (the arms' own rows are written once)."""
    return frame[frame["group"] != ""]


def research_page(
    study: Study, *, variable: str | None = None, threshold: int | None = None
) -> dict | None:
    """What the study page shows of the funnel and retention: a table row per stage with each
    arm's released cell, bar-chart geometry of the shares and a step chart of the curves
    (``None`` for a study without a phase). ``variable`` must be one of ``group_variables``."""
    choices = group_variables(study)
    if variable not in choices:
        variable = None
    result = study_participation(study, variable=variable, threshold=threshold)
    if result is None:
        return None
    f, r = result.funnel, result.retention
    sections = []
    for group in [None, *f.groups]:
        stages = STAGES if group is None else GROUP_STAGES
        rows = [
            {"label": s.label, "cells": [f.cell(arm, s.key, group) for arm in f.arms]}
            for s in stages
        ]
        bars = bar_chart([
            {"label": f"{arm}: {s.label}"[:40], "value": f.cell(arm, s.key, group).share,
             "ci": _interval(f.cell(arm, s.key, group)), "leader": None}
            for s in stages[1:] for arm in f.arms
        ])
        curves = [c for c in r.curves if c.group == group]
        test = next(t for t in r.tests if t.group == group)
        sections.append({
            "group": group,
            "rows": rows,
            "bars": bars,
            "curves": curves,
            "chart": survival_chart([
                {"label": c.arm, "times": c.times, "survival": c.survival} for c in curves
            ]),
            "test": test,
        })
    return {
        "phase": result.phase,
        "arms": f.arms,
        "joined": f.joined,
        "consented": f.consented,
        "threshold": f.threshold,
        "variable": variable,
        "choices": list(choices),
        "sections": sections,
    }


def _interval(cell) -> tuple[float, float] | None:
    return None if cell.low is None else (cell.low, cell.high)
