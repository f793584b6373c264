"""The demo study: consent, a pre- and a post-survey, answers from the demo participants (one of
whom withdrew), design arms, and the demo ``researcher`` as its researcher.

Runs at the end of ``seed_demo`` (``competitions.hooks.demo_seeded``). Idempotent like the seed:
every object is found by its natural key first, so a second run creates nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from competitions.models import Leaderboard
from surveys import services
from surveys.models import (
    Arm,
    ConsentDecision,
    ConsentItem,
    ConsentVersion,
    Question,
    Response,
    Section,
    Study,
    Survey,
)
from surveys.naming import PREFER_NOT
from surveys.roles import RESEARCHERS_GROUP, ensure_researcher_group

STUDY_SLUG = "who-takes-part"
CONSENT_TEXT = """\
**Who takes part in medical ML challenges, and who stays?**

We, the Cheetah research team, study how the design of a challenge affects who joins and who
keeps going. Every box is optional and separate, and none is needed to take part in the
challenge: you can join, submit and be ranked whatever you decide. You can change every
decision at any time under *Privacy and studies*.

* Your survey answers are stored under a pseudonym. No name or e-mail is ever exported. A
  pseudonymised export is still personal data (GDPR Recital 26), not anonymous data.
* If you withdraw, your answers are deleted, you leave every later export and the interview
  contact list, and no survey is offered to you again.
* Answers are deleted after the retention date shown on the study page.
* Questions on ethnicity or disability are used only with your explicit consent.
"""
# username -> consent choices; erin agrees first and withdraws after answering.
DEMO_CONSENT = {
    "alice": dict.fromkeys(ConsentItem.values, True),
    "bob": {i: True for i in ConsentItem.values if i != ConsentItem.CONTACT},
    "carol": {ConsentItem.PARTICIPATE: True, ConsentItem.RESEARCH: True, ConsentItem.LINKING: True},
    "dave": {ConsentItem.PARTICIPATE: True, ConsentItem.RESEARCH: True},
    "erin": dict.fromkeys(ConsentItem.values, True),
}
WITHDRAWN = "erin"
# The experiment: one arm sees only the single-metric ranking, the other the subgroup-aware ones.
DEMO_ARMS = (
    ("single-metric", "Single-metric leaderboard", ("main",)),
    ("subgroup-aware", "Multi-metric, subgroup-aware leaderboards", ("multi-metric", "worst-sex")),
)


def seed_study(sender=None, challenge=None, **kwargs) -> None:
    """Receiver of ``demo_seeded``."""
    ensure_researcher_group()
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["researcher", *DEMO_CONSENT])
    }
    study, _created = Study.objects.get_or_create(
        slug=STUDY_SLUG,
        defaults={
            "title": "Who takes part, and who stays?",
            "description": "Surveys before and after the flchain challenge.",
            "challenge": challenge,
            "retention_until": date.today() + timedelta(days=730),
            "assignment_seed": 2026,
        },
    )
    if "researcher" in users:
        researcher = users["researcher"]
        researcher.groups.add(Group.objects.get(name=RESEARCHERS_GROUP))
        study.researchers.add(researcher)
    version, _created = ConsentVersion.objects.get_or_create(
        study=study, version=1, defaults={"text": CONSENT_TEXT}
    )
    for slug, name, boards in DEMO_ARMS:
        arm, _created = Arm.objects.get_or_create(study=study, slug=slug, defaults={"name": name})
        arm.leaderboards.add(
            *Leaderboard.objects.filter(phase__challenge=challenge, slug__in=boards)
        )
    pre = _survey(
        study,
        "pre",
        "Before you start",
        Survey.Trigger.JOIN,
        None,
        [
            "gender",
            "age_band",
            "career_stage",
            "first_generation",
            "prior_competitions",
            "ethnicity",
            "belonging",
        ],
    )
    phase = challenge.phases.order_by("-end").first()
    # The post-survey is announced (e-mail and notice) by the beat task once the phase ends.
    _survey(
        study,
        "post",
        "After the phase",
        Survey.Trigger.PHASE_END,
        phase,
        ["belonging", "self_efficacy"],
    )
    for username, choices in DEMO_CONSENT.items():
        user = users.get(username)
        if user is None or ConsentDecision.objects.filter(user=user, study=study).exists():
            continue
        # Consenting to take part places the user in a design arm.
        services.consent_record(user=user, study=study, version=version, choices=choices)
        _answer(pre, user)
        if username == WITHDRAWN:
            services.consent_withdraw(user=user, study=study)


def _survey(study, slug, title, trigger, phase, bank_keys) -> Survey:
    survey, created = Survey.objects.get_or_create(
        study=study,
        slug=slug,
        version=1,
        defaults={
            "title": title,
            "trigger": trigger,
            "phase": phase,
            "opens_at": timezone.now() - timedelta(days=7),
            "closes_at": (phase.end if phase else timezone.now()) + timedelta(days=90),
        },
    )
    if created:
        services.survey_add_bank_items(survey=survey, keys=bank_keys)
        Section.objects.filter(survey=survey).update(title=title)
    return survey


def _answer(survey: Survey, user) -> None:
    """Plausible answers drawn from a generator seeded by the username, page by page."""
    if Response.objects.filter(survey=survey, user=user).exists():
        return
    rng = random.Random(user.username)
    response = services.response_for(survey=survey, user=user)
    for section in survey.sections.all():
        values: dict[str, object] = {}
        for question in section.questions.prefetch_related("options", "rows"):
            codes = [o.code for o in question.options.all() if not o.self_describe]
            if question.kind == Question.Kind.GRID:
                for row in question.rows.all():
                    values[row.variable] = ([rng.choice(codes)], "")
            elif question.kind == Question.Kind.NUMBER:
                values[question.variable] = float(rng.randint(0, 6))
            elif question.kind == Question.Kind.MULTIPLE:
                values[question.variable] = (sorted(rng.sample(codes, 1)), "")
            elif question.kind in Question.CHOICE_KINDS:
                pick = rng.random()
                values[question.variable] = (
                    str(PREFER_NOT) if pick < 0.1 else ([rng.choice(codes)], "")
                )
            else:
                values[question.variable] = ""
        services.response_save_page(response=response, section=section, values=values, finish=True)
