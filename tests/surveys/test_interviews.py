"""Interviews: a stratified, seeded sample of those who agreed to interview contact, invited
through the mail module from the study's template, tracked per person, removed on withdrawal,
logged, and seen by the study's researchers only."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications import tasks as notification_tasks
from notifications.models import Kind, Notice
from surveys import interviews, services
from surveys.models import (
    Answer,
    Arm,
    ConsentItem,
    ExportLog,
    Interview,
    InterviewSample,
    StudyEvent,
)
from tests.factories import ParticipantFactory, UserFactory
from tests.surveys.conftest import ALL_YES

pytestmark = pytest.mark.django_db

NO_RESEARCH = {**ALL_YES, ConsentItem.RESEARCH: False}
NO_CONTACT = {**ALL_YES, ConsentItem.CONTACT: False}


@pytest.fixture
def pool(study, survey):
    """Two arms; 14 people who agreed to everything with a gender answer, 2 who agreed to
    contact but not to research use (their answer may not be read), 3 who refused contact."""
    Arm.objects.create(study=study, slug="a", name="Single metric")
    Arm.objects.create(study=study, slug="b", name="Many metrics")
    gender = survey.sections.get(position=1).questions.get(variable="gender")
    version = study.consent_versions.get()
    people = {"all": [], "no_research": [], "no_contact": []}
    for n in range(19):
        user = ParticipantFactory(team__challenge=study.challenge, user__username=f"p{n:02d}").user
        kind = "all" if n < 14 else "no_research" if n < 16 else "no_contact"
        choices = {"all": ALL_YES, "no_research": NO_RESEARCH, "no_contact": NO_CONTACT}[kind]
        services.consent_record(user=user, study=study, version=version, choices=choices)
        response = services.response_for(survey=survey, user=user)
        Answer.objects.create(response=response, question=gender, codes=[1 if n % 3 else 2])
        people[kind].append(user)
    return people


def _hand_count(study, people) -> Counter:
    arms = {a.user_id: a.arm.name for a in study.assignments.select_related("arm")}
    counts = Counter()
    for user in people["all"]:
        gender = "Woman" if int(user.username[1:]) % 3 else "Man"
        counts[(arms[user.pk], gender)] += 1
    for user in people["no_research"]:
        counts[(arms[user.pk], interviews.NO_ANSWER)] += 1
    return counts


def test_the_sample_is_stratified_by_arm_and_answer_with_the_sizes_shown(study, pool, researcher):
    variable = "pre_gender"
    strata = interviews.eligible_strata(study, variable)
    assert Counter({(s.arm, s.group): len(s.eligible) for s in strata}) == _hand_count(study, pool)
    refused = {u.pk for u in pool["no_contact"]}
    assert not refused & {uid for s in strata for uid in s.eligible}

    sample = interviews.sample_draw(study=study, by=researcher, variable=variable,
                                    per_stratum=2, seed=7)
    drawn = Counter((i.arm, i.group) for i in sample.interviews.all())
    assert drawn == Counter({key: min(2, n) for key, n in _hand_count(study, pool).items()})
    assert sample.strata == [
        {"arm": s.arm, "group": s.group, "eligible": len(s.eligible),
         "drawn": min(2, len(s.eligible))} for s in strata
    ]
    # The draw, by hand: each stratum in order, numpy's generator seeded once.
    rng = np.random.default_rng(7)
    expected = set()
    for s in strata:
        picks = rng.choice(len(s.eligible), size=min(2, len(s.eligible)), replace=False)
        expected |= {s.eligible[i] for i in picks}
    assert set(sample.interviews.values_list("user_id", flat=True)) == expected
    event = StudyEvent.objects.get(kind=StudyEvent.Kind.INTERVIEW_SAMPLE)
    assert event.detail["seed"] == 7 and event.detail["strata"] == sample.strata


def test_the_same_seed_over_the_same_people_draws_the_same_sample_and_no_one_twice(
    study, pool, researcher
):
    first = interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=3,
                                   seed=11)
    ids = set(first.interviews.values_list("user_id", flat=True))
    again = interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=3,
                                   seed=11)
    assert not ids & set(again.interviews.values_list("user_id", flat=True))
    InterviewSample.objects.filter(pk__in=[first.pk, again.pk]).delete()
    replay = interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=3,
                                    seed=11)
    assert set(replay.interviews.values_list("user_id", flat=True)) == ids


def test_the_invitation_goes_through_the_mail_module_from_the_template(study, pool, researcher):
    interviews.template_save(study=study, subject="Talk with us about {challenge}?",
                             body="Dear {name}, the study {study} would like to talk.")
    interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=1, seed=3)
    assert interviews.invitations_send(study=study, by=researcher) == 2
    assert interviews.invitations_send(study=study, by=researcher) == 0
    invited = list(Interview.objects.filter(study=study))
    assert {i.status for i in invited} == {Interview.Status.INVITED}
    notices = Notice.objects.filter(kind=Kind.INTERVIEW)
    assert notices.count() == 2
    assert notification_tasks.send_notice_emails()["sent"] == 2
    subjects = {m.subject for m in mail.outbox}
    assert subjects == {f"Talk with us about {study.challenge.title}?"}
    by_address = {m.to[0]: m.body for m in mail.outbox}
    for interview in invited:
        body = by_address[interview.user.email]
        assert f"Dear {interview.user.public_name}, the study {study.title}" in body
        assert reverse("surveys:interview", args=[study.slug]) in body
    assert StudyEvent.objects.get(kind=StudyEvent.Kind.INTERVIEW_INVITE).detail == {"invited": 2}


@pytest.mark.parametrize("text,problem", [
    ("Hello {nmae}", "Unknown placeholder {nmae}"),
    ("Hello {name", "A brace is not closed"),
])
def test_a_template_with_an_unknown_placeholder_is_a_form_error(
    study, researcher, client, text, problem
):
    client.force_login(researcher)
    page = client.post(reverse("surveys:interviews", args=[study.slug]),
                       {"action": "template", "subject": "Hi", "body": text})
    assert page.status_code == 200 and problem in page.content.decode()
    study.refresh_from_db()
    assert study.interview_body != text
    with pytest.raises(ValidationError):
        interviews.template_save(study=study, subject="Hi", body=text)


def test_the_invited_person_answers_and_the_researcher_records_the_interview(
    study, pool, researcher, client
):
    interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=1, seed=5)
    drawn = Interview.objects.filter(study=study).first()
    client.force_login(drawn.user)
    page_url = reverse("surveys:interview", args=[study.slug])
    assert client.get(page_url).status_code == 404  # drawn, not yet invited
    interviews.invitations_send(study=study, by=researcher)
    assert "would like to talk with you" in client.get(page_url).content.decode()
    client.post(reverse("surveys:interview-answer", args=[study.slug]), {"answer": "yes"})
    drawn.refresh_from_db()
    assert drawn.status == Interview.Status.ACCEPTED

    client.force_login(researcher)
    client.post(reverse("surveys:interviews", args=[study.slug]),
                {"action": "status", "interview": drawn.pk, "status": "done"})
    drawn.refresh_from_db()
    assert drawn.status == Interview.Status.DONE
    moves = [e.detail for e in StudyEvent.objects.filter(kind=StudyEvent.Kind.INTERVIEW_STATUS)
             .order_by("at", "pk")]
    assert moves == [{"from": "invited", "to": "accepted", "by": "participant"},
                     {"from": "accepted", "to": "done", "by": "researcher"}]
    with pytest.raises(ValidationError, match="cannot become"):
        interviews.status_set(interview=drawn, status="declined", by=drawn.user,
                              as_researcher=False)


def test_withdrawing_interview_contact_removes_the_person_and_their_invitation(
    study, pool, researcher
):
    interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=5, seed=1)
    interviews.invitations_send(study=study, by=researcher)
    leaving = Interview.objects.filter(study=study).first().user
    services.consent_record(user=leaving, study=study, version=study.consent_versions.get(),
                            choices=NO_CONTACT)
    assert not Interview.objects.filter(user=leaving).exists()
    assert not Notice.objects.filter(user=leaving, kind=Kind.INTERVIEW).exists()
    event = StudyEvent.objects.filter(user=leaving, kind=StudyEvent.Kind.WITHDRAWAL).get()
    assert event.detail["interviews_removed"] == 1 and event.detail["items"] == ["contact"]
    assert leaving.pk not in {
        uid for s in interviews.eligible_strata(study) for uid in s.eligible
    }


def test_only_the_studys_researchers_see_the_interviews_and_each_view_is_logged(
    study, pool, researcher, client, admin_client
):
    url = reverse("surveys:interviews", args=[study.slug])
    organiser = UserFactory(is_staff=True)
    study.challenge.organisers.add(organiser)
    for outsider in (pool["all"][0], organiser):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.force_login(researcher)
    interviews.sample_draw(study=study, by=researcher, variable="", per_stratum=1, seed=2)
    page = client.get(url).content.decode()
    drawn = Interview.objects.filter(study=study).select_related("user")
    assert all(i.user.email in page for i in drawn)
    assert ExportLog.objects.filter(study=study, via="interviews", rows=2).exists()
    # Nothing about interviews in the admin: no model, and interview notices are left out.
    interviews.invitations_send(study=study, by=researcher)
    assert admin_client.get("/admin/surveys/interview/").status_code == 404
    assert Notice.objects.filter(kind=Kind.INTERVIEW).count() == 2
    notices = admin_client.get("/admin/notifications/notice/").content.decode()
    assert "An interview about taking part" not in notices and "0 notices" in notices
