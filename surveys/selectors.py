"""Reads: consent state, due surveys, what a researcher may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys import dataset
from surveys.analysis.frequencies import released_total
from surveys.models import (
    Arm,
    ConsentDecision,
    ConsentItem,
    ConsentVersion,
    Question,
    Response,
    Study,
    StudyEvent,
    Survey,
    SurveyNotice,
)
from surveys.naming import NOT_ANSWERED, NOT_SHOWN, PREFER_NOT

#: Responses per page of the researcher's response browser.
RESPONSES_PER_PAGE = 20


def current_version(study: Study) -> ConsentVersion | None:
    """The highest published consent version (``None``: the study asks for nothing yet)."""
    return (
        study.consent_versions.filter(published_at__lte=timezone.now()).order_by("-version").first()
    )


def latest_decisions(user, study: Study) -> dict[str, ConsentDecision]:
    """Each item's most recent decision by ``user`` (items never decided are absent)."""
    if not user.is_authenticated:
        return {}
    latest: dict[str, ConsentDecision] = {}
    for decision in ConsentDecision.objects.filter(user=user, study=study).select_related(
        "version"
    ):
        latest[decision.item] = decision  # ordered by time: the last one wins
    return latest


def has_agreed(user, study: Study, item: str, *, current_only: bool = False) -> bool:
    """Whether the user's latest decision on ``item`` is yes (under the current version when
    ``current_only``: what taking part in a challenge requires after a new version)."""
    decision = latest_decisions(user, study).get(item)
    if decision is None or not decision.agreed:
        return False
    if current_only:
        version = current_version(study)
        return version is not None and decision.version_id == version.pk
    return True


def given_items(user, study: Study) -> list[str]:
    """The items whose latest decision is yes: what the user could withdraw (empty: nothing to
    withdraw, so withdrawal is not offered)."""
    return [item for item, d in latest_decisions(user, study).items() if d.agreed]


def has_withdrawn(user, study: Study) -> bool:
    """Whether the user once took part in the study and no longer does (withdrew, by the
    button or by unticking taking part), as opposed to never having agreed."""
    if not user.is_authenticated:
        return False
    decisions = ConsentDecision.objects.filter(user=user, study=study, item=ConsentItem.PARTICIPATE)
    latest = decisions.last()
    return latest is not None and not latest.agreed and decisions.filter(agreed=True).exists()


def last_withdrawals(user) -> dict[int, datetime]:
    """Study id -> the time of the user's latest withdrawal from taking part in it."""
    last: dict[int, datetime] = {}
    events = StudyEvent.objects.filter(user=user, kind=StudyEvent.Kind.WITHDRAWAL).order_by("at")
    for study_id, at, detail in events.values_list("study_id", "at", "detail"):
        if ConsentItem.PARTICIPATE in detail.get("items", []):
            last[study_id] = at
    return last


def kept_from_before_withdrawal(response: Response) -> bool:
    """A response started before the user's latest withdrawal from its study: kept (when the
    study keeps answers) as it was, never reopened — consenting again starts afresh."""
    withdrawn = last_withdrawals(response.user).get(response.survey.study_id)
    return withdrawn is not None and response.started_at <= withdrawn


def responses_of(user, study: Study) -> QuerySet[Response]:
    return Response.objects.filter(user=user, survey__study=study)


def may_take_part(user, study: Study) -> bool:
    """A challenge's study is for that challenge's participants; a site-wide one for everyone
    signed in."""
    if not user.is_authenticated:
        return False
    if study.challenge_id is None:
        return True
    return study.challenge.participants.filter(user=user).exists()


def studies_of(user) -> QuerySet[Study]:
    """Studies that concern the user: of challenges they joined, site-wide ones, and any they
    ever decided on."""
    return Study.objects.filter(
        Q(challenge__isnull=True) | Q(challenge__participants__user=user) | Q(decisions__user=user)
    ).distinct()


def studies_needing_consent(user) -> list[tuple[Study, ConsentVersion]]:
    """Studies whose current version the user has not answered yet and must be asked about now:
    every study of a challenge they joined, and site-wide studies they answered an earlier
    version of (a site-wide study is offered on the privacy page, never forced)."""
    due = []
    candidates = Study.objects.filter(
        Q(challenge__participants__user=user) | Q(decisions__user=user)
    ).distinct()
    for study in candidates:
        version = current_version(study)
        if version is None:
            continue
        decided = ConsentDecision.objects.filter(user=user, study=study, version=version)
        if not decided.exists():
            due.append((study, version))
    return due


def researched_by(user) -> QuerySet[Study]:
    """Studies whose individual answers ``user`` may see: theirs as a researcher (all for a
    superuser). Organisers of the challenge are not researchers by that alone."""
    if not user.is_authenticated:
        return Study.objects.none()
    if user.is_superuser:
        return Study.objects.all()
    return Study.objects.filter(researchers=user)


def is_researcher(user, study: Study) -> bool:
    return researched_by(user).filter(pk=study.pk).exists()


def current_versions(surveys: QuerySet[Survey]) -> QuerySet[Survey]:
    """Only the surveys no newer version replaces: a survey's current version is the highest
    of its study and slug, whether or not it is open yet."""
    newer = Survey.objects.filter(
        study=OuterRef("study"), slug=OuterRef("slug"), version__gt=OuterRef("version")
    )
    return surveys.filter(~Exists(newer))


def is_current_version(survey: Survey) -> bool:
    return current_versions(Survey.objects.filter(pk=survey.pk)).exists()


def newest_version(survey: Survey) -> Survey:
    """The highest version of ``survey``'s study and slug (``survey`` itself when current)."""
    return Survey.objects.filter(study_id=survey.study_id, slug=survey.slug).order_by("-version")[0]


def unfrozen(rows: QuerySet, survey_path: str = "pk") -> QuerySet:
    """The rows of ``rows`` (surveys, or their pages or questions, whose survey is reached by
    ``survey_path``) whose survey has no response yet: what an edit may still target."""
    return rows.filter(~Exists(Response.objects.filter(survey=OuterRef(survey_path))))


def surveys_due(user) -> list[Survey]:
    """One prompt per survey that waits for the user: a pre-survey of a challenge they joined,
    a post-survey they were notified of (of any version), in a study they take part in.

    Versions of one survey (study and slug) are one survey to a participant (docs/studies.md,
    "Versions"): it is offered at its current version, once; whoever completed any version is
    not asked again, and whoever saved answers to an older version that is still open is
    asked to finish that one rather than to start over.
    """
    now = timezone.now()
    told = SurveyNotice.objects.filter(
        user=user, survey__study=OuterRef("study"), survey__slug=OuterRef("slug")
    )
    current = (
        current_versions(Survey.objects.all())
        .filter(
            Q(trigger=Survey.Trigger.JOIN, study__challenge__participants__user=user)
            | Q(Exists(told))
        )
        .select_related("study")
        .distinct()
    )
    taking_part: dict[int, bool] = {}
    offered = []
    for survey in current:
        study = survey.study
        if study.pk not in taking_part:
            taking_part[study.pk] = may_take_part(user, study) and has_agreed(
                user, study, ConsentItem.PARTICIPATE
            )
        if taking_part[study.pk]:
            offered.append(survey)
    if not offered:
        return []
    withdrawn = last_withdrawals(user)
    responses: dict[tuple[int, str], list[Response]] = {}
    for response in Response.objects.filter(
        user=user, survey__study__in={s.study_id for s in offered}
    ).select_related("survey"):
        responses.setdefault((response.survey.study_id, response.survey.slug), []).append(response)
    due = []
    for survey in offered:
        mine = responses.get((survey.study_id, survey.slug), [])
        # A response kept from before a withdrawal is not offered again, even after a new
        # consent; like a completed one, it answers the survey.
        if any(
            r.completed_at is not None
            or (survey.study_id in withdrawn and r.started_at <= withdrawn[survey.study_id])
            for r in mine
        ):
            continue
        started = [r.survey for r in mine if r.pages_seen and r.survey.is_open(now)]
        if started:
            due.append(max(started, key=lambda s: s.version))
        elif survey.is_open(now):
            due.append(survey)
    return due


def study_surveys(study: Study) -> list[Survey]:
    """Every version of every survey of ``study``, by slug and version."""
    return list(study.surveys.order_by("slug", "version"))


def research_consents(study: Study) -> int | None:
    """How many consent to research use, as the study page shows it: ``None`` (withheld)
    under the study's small-cell threshold."""
    return released_total(len(dataset.consenting_users(study)), study.export_min_group)


def arm_sizes(study: Study) -> list[tuple[Arm, int | None]]:
    """Each design arm with how many were assigned to it, withheld under the study's
    small-cell threshold."""
    arms = study.arms.annotate(n=Count("assignments")).order_by("slug")
    return [(arm, released_total(arm.n, study.export_min_group)) for arm in arms]


@dataclass(frozen=True)
class BrowsedResponse:
    """One respondent's answers to a survey version as the export holds them, under the
    study pseudonym: ``answers`` is (question, answer as shown) in the survey's order."""

    pseudonym: str
    answers: list[tuple[str, str]]


def study_responses(
    study: Study, survey: Survey, *, page: int | str | None = None
) -> tuple[Page, int | None]:
    """A page of the respondents to ``survey`` (by pseudonym, as in the export) with their
    answers, and the k the export's disclosure control reached. Read from the export's data
    set (``dataset.build``), so only who and what the export would hold is here: respondents
    whose latest research decision is yes (not the withdrawn, whether their answers were kept
    or not), special-category answers only with the explicit consent, and quasi-identifier
    answers withheld where the export withholds them. No name, e-mail or username."""
    data = dataset.build(study)
    research, _special = dataset.released_people(study)
    respondents = Response.objects.filter(survey=survey, user_id__in=research).values_list(
        "user_id", flat=True
    )
    pseudonyms = sorted(dataset.pseudonym(study, uid) for uid in respondents)
    shown = Paginator(pseudonyms, RESPONSES_PER_PAGE).get_page(page)
    long = data.long
    long = long[
        (long["survey"] == survey.slug)
        & (long["survey_version"] == survey.version)
        & long["pseudonym"].isin(set(shown.object_list))
    ]
    rows = dict(list(long.groupby(["pseudonym", "variable"])))
    slots = [
        (question, row)
        for section in survey.sections.prefetch_related("questions__options", "questions__rows")
        for question in section.questions.all()
        for row in (question.rows.all() if question.kind == Question.Kind.GRID else [None])
    ]
    shown.object_list = [
        BrowsedResponse(
            pseudonym=p,
            answers=[
                (
                    f"{question.text} — {row.text} ({row.variable})"
                    if row
                    else f"{question.text} ({question.variable})",
                    _answer_shown(question, rows.get((p, (row or question).variable))),
                )
                for question, row in slots
            ],
        )
        for p in shown.object_list
    ]
    return shown, data.disclosure.k if data.disclosure else None


def _answer_shown(question: Question, rows: pd.DataFrame | None) -> str:
    """One answer of the long file (its rows for one variable) in words."""
    if rows is None:
        return _("not released (no special-category consent)")
    first = rows.iloc[0]
    if not pd.isna(first["missing"]):
        return {
            NOT_SHOWN: _("not shown (skipped by a condition)"),
            NOT_ANSWERED: _("shown but not answered"),
            PREFER_NOT: _("prefer not to say"),
        }[int(first["missing"])]
    if all(pd.isna(first[c]) for c in ("code", "number", "text")):
        return _("withheld (a rare combination of quasi-identifiers)")
    text = "" if pd.isna(first["text"]) else str(first["text"])
    codes = [int(c) for c in rows["code"] if not pd.isna(c)]
    if question.kind in Question.CHOICE_KINDS:
        labels = {o.code: o.label for o in question.options.all()}
        shown = "; ".join(labels.get(code, str(code)) for code in codes)
        shown = shown or _("none of the options")
        return f"{shown} — “{text}”" if text else shown
    if question.kind == Question.Kind.NUMBER:
        number = float(first["number"])
        return str(int(number)) if number.is_integer() else str(number)
    return text



def challenge_study_slug(challenge) -> str | None:
    """The slug of the study attached to ``challenge`` (the first by slug), which the
    challenge's bundle names (competitions.hooks.study_slugs)."""
    return (
        Study.objects.filter(challenge=challenge).order_by("slug").values_list("slug", flat=True)
        .first()
    )
