"""Interviews, the mixed-methods half of a study: a stratified, seeded sample of the people who
agreed to interview contact, an invitation from the study's editable template sent through the
mail module, and each person's status — all within the study, in its audit log, removed when
the person withdraws, and seen by the study's researchers only (never by organisers).

Who may be drawn: participants of the study's challenge whose latest decisions are yes to
``participate`` and ``contact`` and who were never drawn before in this study. Strata are the
design arm × the group of one answer (``participation.group_variables``); an answer is read only
for those who also agreed to research use (and, for a special-category question, to that),
others are in the stratum "no answer". The draw sorts each stratum by account and takes
``per_stratum`` without replacement with numpy's generator seeded by ``seed``, so the same seed
over the same people draws the same sample (docs/studies.md, "Interviews").
"""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from competitions.models import Participant
from notifications.models import Kind
from notifications.services import notices_retract, notify
from surveys.dataset import consenting_users
from surveys.models import ArmAssignment, ConsentItem, Interview, InterviewSample, Study, StudyEvent
from surveys.participation import answer_groups, group_variables

NO_ARM = "no arm"
NO_ANSWER = "no answer"
PLACEHOLDERS = ("name", "study", "challenge")


@dataclass(frozen=True)
class Stratum:
    arm: str
    group: str
    eligible: list[int]  # user ids, sorted


def interview_notice_key(study: Study) -> str:
    return f"study:{study.pk}:interview"


def eligible_strata(study: Study, variable: str = "") -> list[Stratum]:
    """The people who may be drawn now, by arm × group, in a stable order."""
    if variable and variable not in group_variables(study):
        raise ValidationError(_("“%(v)s” is not a question the sample can be split by.")
                              % {"v": variable})
    joined = set(Participant.objects.filter(challenge=study.challenge).values_list(
        "user_id", flat=True)) if study.challenge_id else None
    people = set(consenting_users(study, ConsentItem.CONTACT)) & set(
        consenting_users(study, ConsentItem.PARTICIPATE)
    )
    if joined is not None:
        people &= joined
    people -= set(Interview.objects.filter(study=study).values_list("user_id", flat=True))
    arms = dict(ArmAssignment.objects.filter(study=study, user_id__in=people).values_list(
        "user_id", "arm__name"))
    groups = {}
    if variable:
        research = people & set(consenting_users(study, ConsentItem.RESEARCH))
        groups = answer_groups(study, variable, research)
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for uid in sorted(people):
        strata[(arms.get(uid, NO_ARM), groups.get(uid, NO_ANSWER) if variable else "")].append(uid)
    return [Stratum(arm, group, members) for (arm, group), members in sorted(strata.items())]


def sample_draw(*, study: Study, by, variable: str, per_stratum: int, seed: int
                ) -> InterviewSample:
    """Draw up to ``per_stratum`` people from each stratum; returns the sample with its sizes."""
    if per_stratum < 1:
        raise ValidationError(_("Draw at least one person per stratum."))
    if not 0 <= seed < 2**63:
        raise ValidationError(_("The seed is a whole number from 0 to 2⁶³ − 1."))
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()  # one draw at a time
        strata = eligible_strata(study, variable)
        if not strata:
            raise ValidationError(_("Nobody who agreed to interview contact is left to draw."))
        rng = np.random.default_rng(seed)
        sample = InterviewSample.objects.create(
            study=study, variable=variable, per_stratum=per_stratum, seed=seed, drawn_by=by,
            strata=[],
        )
        sizes, drawn = [], []
        for stratum in strata:
            take = min(per_stratum, len(stratum.eligible))
            picked = sorted(rng.choice(len(stratum.eligible), size=take, replace=False).tolist())
            for index in picked:
                drawn.append(Interview(study=study, sample=sample, user_id=stratum.eligible[index],
                                       arm=stratum.arm, group=stratum.group))
            sizes.append({"arm": stratum.arm, "group": stratum.group,
                          "eligible": len(stratum.eligible), "drawn": take})
        Interview.objects.bulk_create(drawn)
        sample.strata = sizes
        sample.save(update_fields=["strata"])
        StudyEvent.objects.create(
            study=study, user=by, kind=StudyEvent.Kind.INTERVIEW_SAMPLE,
            detail={"sample": sample.pk, "variable": variable, "per_stratum": per_stratum,
                    "seed": seed, "strata": sizes},
        )
    return sample


def template_problem(text: str) -> str:
    """Why ``text`` cannot be an invitation template ("" if it can): only the placeholders
    {name}, {study} and {challenge}, and braces only around them."""
    try:
        fields = [name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                  if name is not None]
    except ValueError:
        return _("A brace is not closed: write {name}, {study} or {challenge}, or no braces.")
    unknown = sorted(set(fields) - set(PLACEHOLDERS))
    if unknown:
        return _("Unknown placeholder %(p)s: use {name}, {study} or {challenge}.") % {
            "p": ", ".join("{" + u + "}" for u in unknown)}
    return ""


def template_save(*, study: Study, subject: str, body: str) -> Study:
    for text in (subject, body):
        problem = template_problem(text)
        if problem:
            raise ValidationError(problem)
    study.interview_subject, study.interview_body = subject.strip(), body.strip()
    study.save(update_fields=["interview_subject", "interview_body"])
    return study


def _render(text: str, interview: Interview, study: Study) -> str:
    user = interview.user
    return text.format(
        name=getattr(user, "public_name", "") or user.get_username(),
        study=study.title,
        challenge=study.challenge.title if study.challenge_id else study.title,
    )


def invitation_text(interview: Interview) -> str:
    """The invitation as the person was sent it (rendered from the study's current template)."""
    return _render(interview.study.interview_body, interview, interview.study)


def invitations_send(*, study: Study, by) -> int:
    """Invite everyone drawn and not yet invited, through the mail module (an on-site notice and,
    unless they opted out of interview e-mail, an e-mail). Returns how many were invited."""
    now = timezone.now()
    url = reverse("surveys:interview", args=[study.slug])
    with transaction.atomic():
        waiting = list(
            Interview.objects.select_for_update().filter(study=study,
                                                         status=Interview.Status.DRAWN)
            .select_related("user")
        )
        for interview in waiting:
            notify(
                user_ids=[interview.user_id], kind=Kind.INTERVIEW,
                key=interview_notice_key(study),
                title=_render(study.interview_subject, interview, study),
                body=_render(study.interview_body, interview, study), url=url,
            )
            interview.status, interview.invited_at = Interview.Status.INVITED, now
        Interview.objects.bulk_update(waiting, ["status", "invited_at", "updated_at"])
        if waiting:
            StudyEvent.objects.create(
                study=study, user=by, kind=StudyEvent.Kind.INTERVIEW_INVITE, at=now,
                detail={"invited": len(waiting)},
            )
    return len(waiting)


# Who may move an interview from one status to which: the person answers an invitation; the
# researcher records what happened (an answer by e-mail, the interview itself).
PERSON_MOVES = {
    Interview.Status.INVITED: {Interview.Status.ACCEPTED, Interview.Status.DECLINED},
    Interview.Status.ACCEPTED: {Interview.Status.DECLINED},
    Interview.Status.DECLINED: {Interview.Status.ACCEPTED},
}
RESEARCHER_MOVES = {
    Interview.Status.INVITED: {Interview.Status.ACCEPTED, Interview.Status.DECLINED},
    Interview.Status.ACCEPTED: {Interview.Status.DECLINED, Interview.Status.DONE},
    Interview.Status.DECLINED: {Interview.Status.ACCEPTED},
    Interview.Status.DONE: {Interview.Status.ACCEPTED},
}


def status_set(*, interview: Interview, status: str, by, as_researcher: bool) -> Interview:
    moves = RESEARCHER_MOVES if as_researcher else PERSON_MOVES
    with transaction.atomic():
        locked = Interview.objects.select_for_update().get(pk=interview.pk)
        if status not in moves.get(locked.status, set()):
            raise ValidationError(
                _("An interview that is “%(now)s” cannot become “%(then)s”.")
                % {"now": locked.get_status_display(),
                   "then": dict(Interview.Status.choices).get(status, status)}
            )
        before, locked.status = locked.status, status
        locked.save(update_fields=["status", "updated_at"])
        StudyEvent.objects.create(
            study=locked.study, user=locked.user, kind=StudyEvent.Kind.INTERVIEW_STATUS,
            detail={"from": before, "to": status,
                    "by": "researcher" if as_researcher else "participant"},
        )
    return locked


def interviews_forget(*, user, study: Study) -> int:
    """A withdrawal of interview contact (or of the study): the person leaves every sample and
    the invitation is taken back. Returns how many interview records went."""
    notices_retract(user=user, key_prefix=interview_notice_key(study))
    return Interview.objects.filter(study=study, user=user).delete()[0]
