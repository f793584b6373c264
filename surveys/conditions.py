"""Show-if conditions: whether a question was shown, from the answers to earlier pages."""

from __future__ import annotations

from collections.abc import Mapping

from surveys.models import Answer, Question


def answers_by_key(answers: list[Answer]) -> dict[tuple[int, int | None], Answer]:
    """Index a response's answers by (question id, grid row id or ``None``)."""
    return {(a.question_id, a.row_id): a for a in answers}


def is_shown(question: Question, answers: Mapping[tuple[int, int | None], Answer]) -> bool:
    """A question without a condition is shown; one with a condition is shown only when the
    earlier question was answered with one of the listed codes (a declined or skipped earlier
    question hides it)."""
    if question.show_if_question_id is None:
        return True
    earlier = answers.get((question.show_if_question_id, None))
    if earlier is None or earlier.declined:
        return False
    return bool(set(earlier.codes) & question.condition_codes)
