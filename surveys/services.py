"""Actions on consent, responses, design arms and studies.

Each service validates, writes inside one transaction and returns what it made. Errors a
participant can cause are ``ValidationError`` with a message they understand.
"""

from __future__ import annotations

import io
import logging
import random
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.models import Participant
from notifications.models import Kind
from notifications.services import notices_retract, notify
from surveys import selectors
from surveys.interviews import interviews_forget
from surveys.models import (
    Answer,
    Arm,
    ArmAssignment,
    ConsentDecision,
    ConsentItem,
    ConsentVersion,
    ExportLog,
    GridRow,
    Option,
    Question,
    Response,
    Section,
    Study,
    StudyEvent,
    Survey,
    SurveyNotice,
)
from surveys.naming import PREFER_NOT

logger = logging.getLogger(__name__)


# --- Consent --------------------------------------------------------------------------------


def consent_record(
    *, user, study: Study, version: ConsentVersion, choices: Mapping[str, bool]
) -> list[ConsentDecision]:
    """Record the user's decisions under ``version``: one new row per item whose answer or
    version changed (the history is never rewritten). Every item is optional and none touches
    the competition (GDPR Art. 7(4)).

    Giving ``participate`` places the user in a design arm. Taking back any item is a
    withdrawal of that item (``_withdrawal_apply``): logged, and taking back research use or
    taking part deletes the study's answers unless the study keeps answers given before."""
    if version.study_id != study.pk:
        raise ValidationError(_("That consent form belongs to another study."))
    if version != selectors.current_version(study):
        raise ValidationError(_("This consent form has been replaced; please read the new one."))
    unknown = set(choices) - set(ConsentItem.values)
    if unknown:
        raise ValidationError(_("Unknown consent item: %(items)s") % {"items": sorted(unknown)})
    now = timezone.now()
    with transaction.atomic():
        previous = selectors.latest_decisions(user, study)
        made = []
        for item in ConsentItem.values:
            agreed = bool(choices.get(item, False))
            before = previous.get(item)
            if before and before.agreed == agreed and before.version_id == version.pk:
                continue
            made.append(
                ConsentDecision.objects.create(
                    user=user,
                    study=study,
                    version=version,
                    item=item,
                    agreed=agreed,
                    decided_at=now,
                )
            )
        withdrawn = [
            item
            for item in ConsentItem.values
            if item in previous and previous[item].agreed and not choices.get(item)
        ]
        if withdrawn:
            _withdrawal_apply(user=user, study=study, items=withdrawn, at=now)
        if choices.get(ConsentItem.PARTICIPATE):
            arm_assign(study=study, user=user)
    return made


def consent_withdraw(*, user, study: Study) -> StudyEvent:
    """Withdraw from the study: every item given becomes no, under the current version. The
    answers are deleted (or kept, if the study keeps answers given before withdrawal), the
    user leaves the contact list and every later export, pending notices and reminders go,
    and no survey is offered again until they consent again. Taking part in the challenge
    is untouched. Returns the audit-log entry."""
    version = selectors.current_version(study)
    if version is None:
        raise ValidationError(_("This study has no consent form."))
    with transaction.atomic():
        if not selectors.given_items(user, study):
            raise ValidationError(_("You have given nothing to withdraw from this study."))
        consent_record(
            user=user,
            study=study,
            version=version,
            choices=dict.fromkeys(ConsentItem.values, False),
        )
        return StudyEvent.objects.filter(
            study=study, user=user, kind=StudyEvent.Kind.WITHDRAWAL
        ).first()


def _withdrawal_apply(*, user, study: Study, items: list[str], at) -> StudyEvent:
    """What taking back ``items`` does at once, logged as one event. The contact list and the
    exports read the latest decisions, so they follow without a write here."""
    forgets = ConsentItem.RESEARCH in items or ConsentItem.PARTICIPATE in items
    deleted = 0
    if forgets and not study.keep_answers_after_withdrawal:
        responses = Response.objects.filter(user=user, survey__study=study)
        deleted = responses.delete()[1].get("surveys.Response", 0)
    interviews = 0
    if ConsentItem.CONTACT in items or ConsentItem.PARTICIPATE in items:
        interviews = interviews_forget(user=user, study=study)
    notices = 0
    if ConsentItem.PARTICIPATE in items:
        notices = SurveyNotice.objects.filter(user=user, survey__study=study).delete()[0]
        notices += notices_retract(user=user, key_prefix=study_notice_prefix(study))
    return StudyEvent.objects.create(
        study=study,
        user=user,
        kind=StudyEvent.Kind.WITHDRAWAL,
        at=at,
        detail={
            "items": items,
            "responses_deleted": deleted,
            "answers_kept": forgets and study.keep_answers_after_withdrawal,
            "notices_removed": notices,
            "interviews_removed": interviews,
        },
    )


# --- Design arms ----------------------------------------------------------------------------


def arm_for_sequence(arms: list[Arm], seed: int, sequence: int) -> Arm:
    """Permuted blocks: every block of ``len(arms)`` assignments holds each arm once, in an
    order drawn from the study's seed and the block number, so arms stay balanced (never more
    than one apart) and the sequence can be replayed from the seed."""
    block, offset = divmod(sequence, len(arms))
    order = sorted(arms, key=lambda a: a.slug)
    random.Random(f"{seed}:{block}").shuffle(order)
    return order[offset]


def arm_assign(*, study: Study, user) -> ArmAssignment | None:
    """Assign the user to an arm of the study (once; ``None`` if the study has no arms).
    Called when the user consents to take part in the study, never at joining the challenge:
    whoever has not consented stays outside every arm."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        existing = ArmAssignment.objects.filter(study=locked, user=user).first()
        if existing:
            return existing
        arms = list(locked.arms.all())
        if not arms:
            return None
        sequence = locked.assignments.count()
        arm = arm_for_sequence(arms, locked.assignment_seed, sequence)
        return ArmAssignment.objects.create(study=locked, user=user, arm=arm, sequence=sequence)


def leaderboard_filter(user, phase, boards: list) -> list:
    """Registered in ``competitions.hooks.leaderboard_filters``: while the phase runs, a board
    that a design arm lists is shown only to that arm's members — to no one else, logged out
    or not, so the arms stay apart. A member of an arm sees the arm's boards of ``phase`` (all,
    if it lists none of them); everyone outside every arm sees the boards no arm lists, and
    always the primary one. Only the arms of studies the user currently takes part in count: a
    refuser, or someone who withdrew, is outside every arm. After the phase ends every board is
    shown."""
    if phase.has_ended:
        return boards
    arms = Arm.leaderboards.through.objects.filter(
        leaderboard__phase=phase, arm__study__challenge_id=phase.challenge_id
    )
    restricted = set(arms.values_list("leaderboard_id", flat=True))
    if not restricted:
        return boards
    mine: set[int] = set()
    if user.is_authenticated:
        assignments = [
            a.arm_id
            for a in ArmAssignment.objects.filter(
                user=user, study__challenge_id=phase.challenge_id
            ).select_related("study")
            if selectors.has_agreed(user, a.study, ConsentItem.PARTICIPATE)
        ]
        mine = set(arms.filter(arm_id__in=assignments).values_list("leaderboard_id", flat=True))
    if mine:
        return [board for board in boards if board.pk in mine]
    return [board for board in boards if board.pk not in restricted or board.is_primary]


# --- Responses ------------------------------------------------------------------------------


def response_for(*, survey: Survey, user) -> Response:
    """The user's response to ``survey``, started now if there is none (one per survey)."""
    if not selectors.may_take_part(user, survey.study):
        raise ValidationError(_("This survey is for the participants of its challenge."))
    if not selectors.has_agreed(user, survey.study, ConsentItem.PARTICIPATE):
        raise ValidationError(_("Agree to take part in the study before answering its surveys."))
    if not survey.is_open():
        raise ValidationError(_("This survey is closed; answers can no longer change."))
    response, _created = Response.objects.get_or_create(
        survey=survey,
        user=user,
        defaults={"consent_version": selectors.current_version(survey.study)},
    )
    if selectors.kept_from_before_withdrawal(response):
        raise ValidationError(
            _(
                "Your answers to this survey were given before you withdrew; they are kept as "
                "they were and can no longer change."
            )
        )
    return response


def response_save_page(
    *, response: Response, section: Section, values: Mapping[str, object], finish: bool
) -> Response:
    """Save one page's answers (a partial response is kept), marking the response complete
    when ``finish``. ``values`` maps a question's or grid row's variable to what the form
    cleaned: a list of codes, a number, a text, or ``PREFER_NOT`` / ``None``."""
    if not response.survey.is_open():
        raise ValidationError(_("This survey is closed; answers can no longer change."))
    with transaction.atomic():
        locked = Response.objects.select_for_update().get(pk=response.pk)
        for question in section.questions.prefetch_related("rows"):
            targets = list(question.rows.all()) if question.kind == Question.Kind.GRID else [None]
            for row in targets:
                key = row.variable if row else question.variable
                value = values.get(key)
                Answer.objects.filter(response=locked, question=question, row=row).delete()
                if value in (None, "", []):
                    continue
                answer = Answer(response=locked, question=question, row=row)
                if value == str(PREFER_NOT):
                    answer.declined = True
                elif question.kind in Question.CHOICE_KINDS:
                    codes, describe = value
                    answer.codes, answer.text = codes, describe
                elif question.kind == Question.Kind.NUMBER:
                    answer.number = float(value)
                else:
                    answer.text = str(value)
                answer.save()
        locked.pages_seen = max(locked.pages_seen, section.position)
        locked.updated_at = timezone.now()
        if finish:
            locked.completed_at = locked.completed_at or locked.updated_at
        locked.consent_version = selectors.current_version(locked.survey.study)
        locked.save()
    return locked


# --- Survey versions ------------------------------------------------------------------------


def survey_new_version(*, survey: Survey) -> Survey:
    """Copy a survey (pages, questions, options, grid rows, conditions) as version + 1, for
    editing when the current version has responses and so may not change in place."""
    with transaction.atomic():
        new = Survey.objects.get(pk=survey.pk)
        new.pk = None
        new.version = selectors.newest_version(survey).version + 1
        new.announced_at = None
        new.save()
        copied: dict[int, Question] = {}
        conditions: dict[int, int | None] = {}
        for section in survey.sections.all():
            section_copy = Section.objects.create(
                survey=new, position=section.position, title=section.title
            )
            for question in section.questions.all():
                old_pk, condition = question.pk, question.show_if_question_id
                conditions[old_pk] = condition
                copied[old_pk] = _copy_question(question, section_copy)
        for old_pk, condition in conditions.items():
            if condition:
                copied[old_pk].show_if_question = copied[condition]
                copied[old_pk].save(update_fields=["show_if_question"])
    return new


def _copy_question(question: Question, section: Section) -> Question:
    options = list(question.options.all())
    rows = list(question.rows.all())
    question.pk = None
    question.section = section
    question.show_if_question = None
    question.save()
    Option.objects.bulk_create(
        Option(
            question=question,
            position=o.position,
            code=o.code,
            label=o.label,
            self_describe=o.self_describe,
        )
        for o in options
    )
    GridRow.objects.bulk_create(
        GridRow(
            question=question,
            position=r.position,
            variable=r.variable,
            label=r.label,
            text=r.text,
            reverse_coded=r.reverse_coded,
        )
        for r in rows
    )
    return question


def survey_add_bank_items(*, survey: Survey, keys: list[str]) -> list[Question]:
    """Copy items from the built-in bank onto a new last page of ``survey``."""
    from surveys.item_bank import ITEMS

    if survey.is_frozen:
        raise ValidationError(_("This survey has responses: make a new version to add items."))
    unknown = [k for k in keys if k not in ITEMS]
    if unknown:
        raise ValidationError(_("Unknown item-bank entries: %(keys)s") % {"keys": unknown})
    with transaction.atomic():
        last = survey.sections.order_by("-position").first()
        section = Section.objects.create(
            survey=survey,
            position=(last.position + 1) if last else 1,
            title=_("Questions from the item bank"),
        )
        made = []
        existing = set(
            Question.objects.filter(section__survey=survey).values_list("variable", flat=True)
        )
        for position, key in enumerate(keys, start=1):
            item = ITEMS[key]
            if item.variable in existing:
                raise ValidationError(
                    _("The survey already has a variable “%(v)s”.") % {"v": item.variable}
                )
            made.append(item.create(section=section, position=position))
    return made


# --- Post-surveys and retention (run by Celery beat) ----------------------------------------


def post_survey_announce(*, survey_id: int) -> int:
    """Create a notice for each consenting participant of a post-survey's challenge once its
    phase has ended, and e-mail each notice once. Returns how many e-mails went out.

    Only a survey's current version is announced, and only to whoever has neither been told of
    another version of it (their notice already leads to the current one, see
    ``selectors.surveys_due``) nor completed one: a new version prompts no one twice.

    Idempotent: notices are unique per (survey, user) and an e-mail is sent only for a notice
    without ``emailed_at``, so a second run sends nothing new.
    """
    now = timezone.now()
    with transaction.atomic():
        survey = (
            Survey.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("study", "phase")
            .filter(pk=survey_id, trigger=Survey.Trigger.PHASE_END)
            .first()
        )
        if (
            survey is None
            or survey.phase.end > now
            or not survey.is_open(now)
            or not selectors.is_current_version(survey)
        ):
            return 0
        versions = Survey.objects.filter(study=survey.study, slug=survey.slug).exclude(pk=survey.pk)
        settled = set(
            SurveyNotice.objects.filter(survey__in=versions).values_list("user_id", flat=True)
        ) | set(
            Response.objects.filter(survey__in=versions, completed_at__isnull=False).values_list(
                "user_id", flat=True
            )
        )
        users = [
            p.user
            for p in Participant.objects.filter(challenge_id=survey.phase.challenge_id)
            .exclude(user_id__in=settled)
            .select_related("user")
        ]
        for user in users:
            if selectors.has_agreed(user, survey.study, ConsentItem.PARTICIPATE):
                SurveyNotice.objects.get_or_create(survey=survey, user=user)
        survey.announced_at = survey.announced_at or now
        survey.save(update_fields=["announced_at"])
    sent = 0
    for notice in SurveyNotice.objects.filter(
        survey_id=survey_id, emailed_at__isnull=True
    ).select_related("survey__study", "user"):
        # A withdrawal deletes its notices; this check also covers one made meanwhile.
        if not selectors.has_agreed(notice.user, notice.survey.study, ConsentItem.PARTICIPATE):
            continue
        _email_notice(notice)
        SurveyNotice.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def _email_notice(notice: SurveyNotice) -> None:
    """Through the mail module: an on-site notice and, unless the person opted out of study
    e-mail, an e-mail the worker sends. The key starts with the study, so a withdrawal takes
    it back (``study_notice_prefix``)."""
    survey, user = notice.survey, notice.user
    notify(
        user_ids=[user.pk],
        kind=Kind.STUDY,
        key=f"{study_notice_prefix(survey.study)}survey:{survey.pk}",
        title=_("A short survey: %(title)s") % {"title": survey.title},
        body=_(
            "The phase has ended. The study “%(study)s” asks for a few minutes of your time. "
            "You may skip any question, and change your consent at any time in your privacy "
            "settings."
        )
        % {"study": survey.study.title},
        url=reverse("surveys:answer", args=[survey.pk]),
    )


def study_notice_prefix(study: Study) -> str:
    """The start of the key of every notice a study sends, so that withdrawing takes them all."""
    return f"study:{study.pk}:"


def studies_past_retention_purge() -> int:
    """Delete the research answers of every study past its retention date; returns how many
    responses went. A study is marked so the next run skips it."""
    today = timezone.now().date()
    removed = 0
    for study_id in Study.objects.filter(
        retention_until__lt=today, answers_deleted_at__isnull=True
    ).values_list("pk", flat=True):
        with transaction.atomic():
            study = Study.objects.select_for_update(skip_locked=True).filter(pk=study_id).first()
            if study is None or study.answers_deleted_at:
                continue
            removed += (
                Response.objects.filter(survey__study=study).delete()[1].get("surveys.Response", 0)
            )
            study.answers_deleted_at = timezone.now()
            study.save(update_fields=["answers_deleted_at"])
    return removed


# --- Exports ------------------------------------------------------------------------------


def study_export(*, study: Study, user, via: str, folder: Path) -> tuple[list[Path], int]:
    """Write the study's export files into ``folder`` and log who exported how many rows, the
    finer fields the study opted into and the smallest group (k) the export released."""
    from surveys import dataset, export, participation

    data = dataset.build(study)
    paths = export.write(data, folder) + participation.write(study, folder)
    ExportLog.objects.create(
        study=study,
        user=user,
        via=via,
        rows=len(data.wide),
        exact_fields=data.exact_fields,
        k=data.disclosure.k if data.disclosure else None,
        min_group=study.export_min_group,
    )
    return paths, len(data.wide)


def study_export_zip(*, study: Study, user) -> bytes:
    """The export files in one ZIP archive, for the download on the study page."""
    with tempfile.TemporaryDirectory() as tmp:
        paths, _rows = study_export(study=study, user=user, via=ExportLog.Via.WEB, folder=Path(tmp))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, arcname=f"{study.slug}/{path.name}")
    return buffer.getvalue()


def contact_list(*, study: Study, user) -> list[dict]:
    """Who agreed to be contacted for an interview, with how to reach them. Kept apart from the
    pseudonymised data: no pseudonym here, and nothing here appears in the export. Logged."""
    from surveys.dataset import consenting_users

    users = get_user_model().objects.filter(pk__in=consenting_users(study, ConsentItem.CONTACT))
    rows = [
        {"name": u.get_full_name() or u.public_name, "email": u.email}
        for u in users.order_by("email")
    ]
    ExportLog.objects.create(study=study, user=user, via=ExportLog.Via.CONTACTS, rows=len(rows))
    return rows


def responses_browse(*, study: Study, user, survey: Survey, page: int | str | None) -> Page:
    """A page of the pseudonymised responses to ``survey`` (``selectors.study_responses``),
    logged like an export: who looked at how many responses, with the k and the threshold of
    the data set they were read from."""
    shown, k = selectors.study_responses(study, survey, page=page)
    ExportLog.objects.create(
        study=study,
        user=user,
        via=ExportLog.Via.BROWSE,
        rows=len(shown.object_list),
        k=k,
        min_group=study.export_min_group,
    )
    return shown


# --- Account ------------------------------------------------------------------------------


def account_data_delete(user) -> None:
    """Registered in ``accounts.hooks.account_deletion_steps``: a deleted account takes its
    consent records, answers, arm assignments and notices with it, even where the account
    itself is only emptied (its team keeps its submissions)."""
    Response.objects.filter(user=user).delete()
    ConsentDecision.objects.filter(user=user).delete()
    StudyEvent.objects.filter(user=user).update(user=None)
    ArmAssignment.objects.filter(user=user).delete()
    SurveyNotice.objects.filter(user=user).delete()
