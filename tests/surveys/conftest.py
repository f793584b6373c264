"""Fixtures for the study tests: a challenge with a study, its consent form and a survey."""

from __future__ import annotations

from datetime import date, timedelta

import factory
import pytest
from django.utils import timezone

from surveys.models import (
    Answer,
    ConsentItem,
    ConsentVersion,
    Option,
    Question,
    Section,
    Study,
    Survey,
)
from tests.factories import ChallengeFactory, ParticipantFactory, UserFactory

ALL_YES = dict.fromkeys(ConsentItem.values, True)


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    slug = factory.Sequence(lambda n: f"study-{n}")
    title = factory.Sequence(lambda n: f"Study {n}")
    challenge = factory.SubFactory(ChallengeFactory)
    retention_until = factory.LazyFunction(lambda: date.today() + timedelta(days=365))


class ConsentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentVersion

    study = factory.SubFactory(StudyFactory)
    version = 1
    text = "We study who takes part. You may withdraw at any time."


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    study = factory.SubFactory(StudyFactory)
    slug = "pre"
    title = "Before you start"
    trigger = Survey.Trigger.JOIN
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


def add_question(section: Section, variable: str, kind: str = "single", options=None, **extra):
    position = section.questions.count() + 1
    question = Question.objects.create(
        section=section,
        position=position,
        kind=kind,
        variable=variable,
        label=variable.title(),
        text=f"Question {variable}?",
        **extra,
    )
    for i, (code, label) in enumerate(options or [], start=1):
        Option.objects.create(question=question, position=i, code=code, label=label)
    return question


def store_answer(response, question, value, row=None) -> Answer | None:
    """Store one answer directly: a list of codes, a float, a text, "decline" (prefer not to
    say), or ``None`` (no answer: nothing is stored)."""
    if value is None:
        return None
    answer = Answer(response=response, question=question, row=row)
    if value == "decline":
        answer.declined = True
    elif isinstance(value, list):
        answer.codes = value
    elif isinstance(value, float):
        answer.number = value
    else:
        answer.text = value
    answer.save()
    return answer


@pytest.fixture
def study(db):
    study = StudyFactory()
    ConsentVersionFactory(study=study)
    return study


@pytest.fixture
def survey(study):
    """A two-page pre-survey: gender (with self-describe), a multiple choice, then a number
    shown only to those who answered 'yes' to a question on page one, and a text."""
    survey = SurveyFactory(study=study)
    one = Section.objects.create(survey=survey, position=1, title="About you")
    gender = add_question(one, "gender", options=[(1, "Woman"), (2, "Man"), (3, "Non-binary")])
    Option.objects.create(
        question=gender, position=4, code=4, label="Self-describe", self_describe=True
    )
    add_question(one, "langs", kind="multiple", options=[(1, "Python"), (2, "R"), (3, "Julia")])
    add_question(one, "before", options=[(1, "Yes"), (0, "No")], required=True)
    two = Section.objects.create(survey=survey, position=2, title="Experience")
    before = Question.objects.get(section=one, variable="before")
    add_question(
        two,
        "ncomp",
        kind="number",
        minimum=0,
        maximum=100,
        show_if_question=before,
        show_if_codes="1",
    )
    add_question(two, "why", kind="long_text")
    return survey


@pytest.fixture
def member(study):
    """A participant of the study's challenge."""
    return ParticipantFactory(team__challenge=study.challenge).user


@pytest.fixture
def researcher(study):
    user = UserFactory(username="rita", is_staff=True)
    study.researchers.add(user)
    return user
