"""Consent freely given (GDPR Art. 7(4)): the challenge's rules are the only gate to submit.

Every consent item is optional; refusing any changes nothing in the competition; design arms
are for those who consented to the study only, and everyone else sees the primary board."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from competitions.models import Leaderboard, Submission
from competitions.standings import phase_standings
from surveys import selectors, services
from surveys.models import Arm, ArmAssignment, ConsentDecision, ConsentItem
from tests.conftest import score_now, upload
from tests.factories import PhaseFactory, UserFactory
from tests.surveys.conftest import ConsentVersionFactory, StudyFactory

pytestmark = pytest.mark.django_db

NONE = dict.fromkeys(ConsentItem.values, False)


@pytest.fixture
def studied_phase(open_phase):
    """An open phase whose challenge has a study with a consent form and two design arms, one
    of them restricted to a subgroup-aware board."""
    study = StudyFactory(challenge=open_phase.challenge)
    ConsentVersionFactory(study=study)
    subgroup = Leaderboard.objects.create(phase=open_phase, slug="subgroups", name="Subgroups")
    Arm.objects.create(study=study, slug="a-single", name="Single").leaderboards.add(
        open_phase.leaderboards.get(is_primary=True)
    )
    Arm.objects.create(study=study, slug="b-multi", name="Multi").leaderboards.add(subgroup)
    return open_phase, study


def test_a_participant_who_refuses_every_item_joins_submits_and_is_ranked(
    studied_phase, good_predictions, client, django_capture_on_commit_callbacks
):
    phase, study = studied_phase
    user = UserFactory(username="refuser")
    client.force_login(user)
    slug = phase.challenge.slug
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("competitions:challenge-join", args=[slug]), {"accept_rules": "on"})
    # The consent form comes next; saving it with every box empty refuses everything.
    asked = client.get(reverse("competitions:challenge-detail", args=[slug]))
    assert asked["Location"].startswith(reverse("surveys:consent", args=[study.slug]))
    client.post(reverse("surveys:consent", args=[study.slug]), {"next": ""})
    assert not ConsentDecision.objects.filter(user=user, agreed=True).exists()
    assert ConsentDecision.objects.filter(user=user, agreed=False).count() == len(ConsentItem)

    submit_url = reverse("competitions:submission-create", args=[slug, phase.slug])
    page = client.get(submit_url).content.decode()
    assert "data-upload" in page and "Agree to take part" not in page
    client.post(submit_url, {"file": upload(good_predictions)})
    submission = Submission.objects.get(phase=phase, created_by=user)
    score_now(submission)
    [standing] = phase_standings(phase)
    assert standing.submission_id == submission.pk and standing.rank == 1
    board = client.get(reverse("competitions:leaderboard", args=[slug, phase.slug]))
    assert board.status_code == 200 and submission.team.name in board.content.decode()
    assert not ArmAssignment.objects.filter(user=user).exists()


def test_the_submit_page_says_what_is_missing_above_the_form_with_a_link(client, participant):
    later = PhaseFactory(
        challenge=participant.challenge,
        start=timezone.now() + timedelta(days=2),
        end=timezone.now() + timedelta(days=9),
    )
    client.force_login(participant.user)
    url = reverse("competitions:submission-create", args=[later.challenge.slug, later.slug])
    page = client.get(url).content.decode()
    assert "opens at" in page
    assert reverse("competitions:challenge-detail", args=[later.challenge.slug]) in page
    assert "data-upload" not in page  # no form to fill in only to be told after the upload


def test_design_arms_are_assigned_only_to_those_who_consent_to_the_study(studied_phase):
    phase, study = studied_phase
    version = study.consent_versions.get()
    refuser, researched_only, taker = UserFactory(), UserFactory(), UserFactory()
    services.consent_record(user=refuser, study=study, version=version, choices=NONE)
    services.consent_record(
        user=researched_only, study=study, version=version,
        choices={**NONE, ConsentItem.RESEARCH: True, ConsentItem.CONTACT: True},
    )
    services.consent_record(
        user=taker, study=study, version=version, choices={ConsentItem.PARTICIPATE: True}
    )
    assert set(ArmAssignment.objects.values_list("user", flat=True)) == {taker.pk}


def test_an_arm_no_longer_counts_once_taking_part_is_withdrawn_and_the_primary_shows(
    studied_phase,
):
    phase, study = studied_phase
    version = study.consent_versions.get()
    primary = phase.leaderboards.get(is_primary=True)
    subgroup = phase.leaderboards.get(slug="subgroups")
    user = UserFactory()
    services.consent_record(
        user=user, study=study, version=version, choices={ConsentItem.PARTICIPATE: True}
    )
    ArmAssignment.objects.filter(user=user).update(arm=study.arms.get(slug="b-multi"))
    assert services.leaderboard_filter(user, phase, [primary, subgroup]) == [subgroup]
    services.consent_record(user=user, study=study, version=version, choices=NONE)
    assert services.leaderboard_filter(user, phase, [primary, subgroup]) == [primary]
    assert services.leaderboard_filter(AnonymousUser(), phase, [primary, subgroup]) == [primary]


def test_each_item_is_given_refused_or_withdrawn_alone(study, member, researcher):
    version = study.consent_versions.get()
    services.consent_record(
        user=member, study=study, version=version, choices={ConsentItem.CONTACT: True}
    )
    assert [r["email"] for r in services.contact_list(study=study, user=researcher)] == [
        member.email
    ]
    assert selectors.surveys_due(member) == []  # no taking part: no survey offered
    services.consent_record(user=member, study=study, version=version, choices=NONE)
    assert services.contact_list(study=study, user=researcher) == []
    event = study.events.get()
    assert event.user == member and event.detail["items"] == [ConsentItem.CONTACT]


def test_the_consent_form_says_every_box_is_optional_and_never_needed_to_submit(
    study, member, client
):
    client.force_login(member)
    page = client.get(reverse("surveys:consent", args=[study.slug])).content.decode()
    assert "None is needed to take part in the challenge" in page
    assert "needed to submit" not in page.lower().replace("not needed to submit", "")
