"""What the study page shows of each survey version's answers: one summary per question.

Reads the database and hands the counts to ``surveys.analysis.frequencies``, which withholds
small cells (the rules and the quantile method are there). Whose answers count is the
export's rule (``dataset.released_people``): respondents whose latest research decision is yes
— a withdrawn person is not among them, whether the study kept their answers or not — and a
special-category question's answers only of those with the explicit consent (the others are
a "not released" cell). Each question's cells add up to the survey version's respondents:

- single choice and Likert item: people per option;
- multiple choice: people choosing each option (they may choose several), then the
  respondents who answered, declined, did not answer, or are not released;
- Likert grid: per item (row), people per scale point;
- number: how many gave one, and their median and quartiles;
- short and long text: only how many answered (texts are never summarised).

"Prefer not to say" is its own cell; "no answer" joins "not shown" (a show-if condition hid
the question) and "shown but not answered" (the export's −97 and −98).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from surveys.analysis import frequencies
from surveys.analysis.frequencies import Cell, Quartiles
from surveys.charts import stacked_bars
from surveys.conditions import answers_by_key
from surveys.dataset import missing_code, released_people, special_released
from surveys.models import GridRow, Question, Response, Study, Survey
from surveys.naming import PREFER_NOT

#: The cells every question has besides its options, in the order the page lists them.
ANSWERED, PREFER, NO_ANSWER, NOT_RELEASED = "answered", "prefer", "no_answer", "not_released"


def _state_labels() -> dict[str, str]:
    return {
        PREFER: _("Prefer not to say"),
        NO_ANSWER: _("No answer (not shown or not answered)"),
        NOT_RELEASED: _("Not released (no special-category consent)"),
    }


@dataclass
class _Tally:
    """One slot's counts (a question, or a row of a grid) over a survey's respondents."""

    codes: Counter = field(default_factory=Counter)  # option code -> people
    states: Counter = field(default_factory=Counter)  # ANSWERED, PREFER, NO_ANSWER, ...
    numbers: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class QuestionSummary:
    """What the page shows of one question. ``cells``: a choice's options (or a number's
    and a text's "answered") then the missing states; ``chosen`` and ``states`` for a
    multiple choice; ``rows`` (label, cells) and ``columns`` for a grid, with ``bars``, the
    geometry of its stacked bars; ``quartiles`` for a number (``None`` under the threshold)."""

    question: Question
    cells: tuple[Cell, ...] = ()
    chosen: tuple[Cell, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, tuple[Cell, ...]], ...] = ()
    bars: dict | None = None
    quartiles: Quartiles | None = None


@dataclass(frozen=True)
class SurveySummary:
    survey: Survey
    respondents: int | None  # ``None``: withheld (fewer than the threshold)
    questions: tuple[QuestionSummary, ...]


def study_summaries(study: Study, *, threshold: int | None = None) -> list[SurveySummary]:
    """Every version of every survey of ``study`` (by slug, newest version first), summarised
    with small cells under ``threshold`` (default: the study's ``export_min_group``) withheld.
    Reads a fixed number of queries, however many responses there are."""
    threshold = study.export_min_group if threshold is None else threshold
    research, special = released_people(study)
    responses: dict[int, list[Response]] = defaultdict(list)
    for response in Response.objects.filter(
        survey__study=study, user_id__in=research
    ).prefetch_related("answers"):
        responses[response.survey_id].append(response)
    surveys = (
        Survey.objects.filter(study=study)
        .order_by("slug", "-version")
        .prefetch_related("sections__questions__options", "sections__questions__rows")
    )
    return [_survey_summary(survey, responses[survey.pk], special, threshold) for survey in surveys]


def _survey_summary(
    survey: Survey, responses: list[Response], special: set[int], threshold: int
) -> SurveySummary:
    questions = [q for s in survey.sections.all() for q in s.questions.all()]
    tallies: dict[tuple[int, int | None], _Tally] = defaultdict(_Tally)
    for response in responses:
        answers = answers_by_key(list(response.answers.all()))
        for question in questions:
            for row in _slots(question):
                _count(
                    tallies[(question.pk, row.pk if row else None)],
                    question,
                    row,
                    answers,
                    special_released(question, response.user_id, special),
                )
    n = len(responses)
    summaries = tuple(_summary(q, tallies, n, threshold) for q in questions)
    return SurveySummary(
        survey=survey, respondents=frequencies.released_total(n, threshold), questions=summaries
    )


def _slots(question: Question) -> list[GridRow | None]:
    return list(question.rows.all()) if question.kind == Question.Kind.GRID else [None]


def _count(
    tally: _Tally, question: Question, row: GridRow | None, answers: dict, released: bool
) -> None:
    """Add one respondent's slot to ``tally``: every respondent lands in exactly one state
    (and an answerer of a choice in its options), so a question's cells add up to all."""
    if not released:
        tally.states[NOT_RELEASED] += 1
        return
    missing = missing_code(question, answers, row)
    if missing == PREFER_NOT:
        tally.states[PREFER] += 1
        return
    if missing is not None:
        tally.states[NO_ANSWER] += 1
        return
    answer = answers[(question.pk, row.pk if row else None)]
    if question.kind == Question.Kind.NUMBER:
        if answer.number is None:
            tally.states[NO_ANSWER] += 1
            return
        tally.numbers.append(answer.number)
    elif question.kind in Question.CHOICE_KINDS and question.kind != Question.Kind.MULTIPLE:
        codes = {o.code for o in question.options.all()}
        if not answer.codes or answer.codes[0] not in codes:
            tally.states[NO_ANSWER] += 1
            return
        tally.codes[answer.codes[0]] += 1
    elif question.kind == Question.Kind.MULTIPLE:
        tally.codes.update(set(answer.codes))
    tally.states[ANSWERED] += 1


def _states(tally: _Tally, *, answered: str | None = None) -> list[tuple[str, int]]:
    """The missing states that occur (a zero is left out: it says nothing a shown 0 would
    not), after an "answered" cell when ``answered`` labels one."""
    labels = _state_labels()
    cells = [(answered, tally.states[ANSWERED])] if answered else []
    return cells + [(labels[s], tally.states[s]) for s in labels if tally.states[s]]


def _summary(question: Question, tallies: dict, n: int, threshold: int) -> QuestionSummary:
    options = list(question.options.all())
    if question.kind == Question.Kind.GRID:
        rows = [(row, tallies[(question.pk, row.pk)]) for row in question.rows.all()]
        states = [s for s in _state_labels() if any(t.states[s] for _row, t in rows)]
        labels = _state_labels()
        columns = tuple([o.label for o in options] + [labels[s] for s in states])
        released = [
            (
                row,
                frequencies.distribution(
                    [(o.label, t.codes[o.code]) for o in options]
                    + [(labels[s], t.states[s]) for s in states],
                    n,
                    threshold,
                ),
            )
            for row, t in rows
        ]
        return QuestionSummary(
            question=question,
            columns=columns,
            rows=tuple((row.text, cells) for row, cells in released),
            bars=stacked_bars(
                [
                    (row.label[:40], [c.share for c in cells[: len(options)]])
                    for row, cells in released
                ],
                [o.label for o in options],
            ),
        )
    tally = tallies[(question.pk, None)]
    if question.kind == Question.Kind.MULTIPLE:
        return QuestionSummary(
            question=question,
            chosen=frequencies.chosen(
                [(o.label, tally.codes[o.code]) for o in options], n, threshold
            ),
            cells=frequencies.distribution(
                _states(tally, answered=_("Answered (any option)")), n, threshold
            ),
        )
    if question.kind in Question.CHOICE_KINDS:
        labelled = [(o.label, tally.codes[o.code]) for o in options] + _states(tally)
        return QuestionSummary(
            question=question, cells=frequencies.distribution(labelled, n, threshold)
        )
    answered = _("Gave a number") if question.kind == Question.Kind.NUMBER else _("Answered")
    return QuestionSummary(
        question=question,
        cells=frequencies.distribution(_states(tally, answered=answered), n, threshold),
        quartiles=frequencies.quartiles(tally.numbers, threshold)
        if question.kind == Question.Kind.NUMBER
        else None,
    )
