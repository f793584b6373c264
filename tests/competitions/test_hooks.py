"""Other apps (a study's consent) can stop a submission and hear about joins without competitions
importing them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from competitions import hooks, services
from competitions.models import Submission
from tests.conftest import upload
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate():
    def needs_consent(user, challenge):
        return None if user.username == "consented" else "Agree to take part in the study first."

    hooks.submit_gates.append(needs_consent)
    yield needs_consent
    hooks.submit_gates.remove(needs_consent)


def test_a_registered_gate_refuses_the_submission_with_its_message_and_stores_nothing(
    gate, open_phase, participant, good_predictions
):
    with pytest.raises(ValidationError, match="Agree to take part in the study first"):
        services.submission_create(
            phase=open_phase, user=participant.user, upload=upload(good_predictions)
        )
    assert not Submission.objects.filter(phase=open_phase).exists()


def test_joining_a_challenge_is_announced_once_after_commit(django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, participant, **kwargs):
        heard.append(participant.user.username)

    hooks.participant_joined.connect(listener)
    try:
        challenge = ChallengeFactory()
        user = UserFactory(username="newcomer")
        with django_capture_on_commit_callbacks(execute=True):
            services.participant_join(challenge=challenge, user=user, accept_rules=True)
            services.participant_join(challenge=challenge, user=user, accept_rules=True)
    finally:
        hooks.participant_joined.disconnect(listener)
    assert heard == ["newcomer"]


def test_a_registered_gate_is_said_on_the_submit_page_above_the_form_with_a_link(
    gate, client, open_phase, participant
):
    client.force_login(participant.user)
    slug = open_phase.challenge.slug
    page = client.get(reverse("competitions:submission-create", args=[slug, open_phase.slug]))
    body = page.content.decode()
    assert "Agree to take part in the study first." in body
    assert reverse("competitions:challenge-detail", args=[slug]) in body
    assert "data-upload" not in body
