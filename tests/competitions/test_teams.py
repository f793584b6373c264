"""Joining, teams and their size limit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from competitions import services
from competitions.models import Challenge, Participant, Team
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_joining_needs_the_rules_accepted():
    with pytest.raises(ValidationError, match="Accept the rules"):
        services.participant_join(
            challenge=ChallengeFactory(), user=UserFactory(), accept_rules=False
        )


def test_a_private_challenge_needs_its_invitation_code():
    challenge = ChallengeFactory(access=Challenge.Access.PRIVATE, invitation_code="course-2026")
    user = UserFactory()
    with pytest.raises(ValidationError, match="invitation code"):
        services.participant_join(
            challenge=challenge, user=user, accept_rules=True, invitation_code="guess"
        )
    participant = services.participant_join(
        challenge=challenge, user=user, accept_rules=True, invitation_code="course-2026"
    )
    assert participant.team.members.get() == participant


def test_joining_twice_keeps_one_participation():
    challenge, user = ChallengeFactory(), UserFactory()
    first = services.participant_join(challenge=challenge, user=user, accept_rules=True)
    second = services.participant_join(challenge=challenge, user=user, accept_rules=True)
    assert first.pk == second.pk
    assert Participant.objects.filter(challenge=challenge, user=user).count() == 1


def test_a_full_team_refuses_another_member():
    challenge = ChallengeFactory(max_team_size=2)
    users = [UserFactory() for _ in range(3)]
    founder = services.participant_join(challenge=challenge, user=users[0], accept_rules=True)
    team = services.team_create(participant=founder, name="Trio")
    services.team_join(team=team, user=users[1], accept_rules=True)
    with pytest.raises(ValidationError, match="is full"):
        services.team_join(team=team, user=users[2], accept_rules=True)
    assert team.members.count() == 2


def test_leaving_a_team_starts_a_team_of_one_and_keeps_the_old_team():
    challenge = ChallengeFactory()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    founder = services.participant_join(challenge=challenge, user=alice, accept_rules=True)
    team = services.team_create(participant=founder, name="Pair")
    bob_participant = services.team_join(team=team, user=bob, accept_rules=True)
    new_team = services.team_leave(participant=bob_participant)
    assert new_team.pk != team.pk
    assert list(team.members.values_list("user__username", flat=True)) == ["alice"]
    assert not Team.objects.filter(name="Alice", challenge=challenge).exists()  # emptied, removed


def test_an_invitation_is_accepted_by_joining_the_team():
    challenge = ChallengeFactory()
    alice, bob = UserFactory(), UserFactory()
    founder = services.participant_join(challenge=challenge, user=alice, accept_rules=True)
    invitation = services.team_invite(team=founder.team, invited_by=alice, username=bob.username)
    services.team_join(team=invitation.team, user=bob, accept_rules=True)
    assert founder.team.members.count() == 2
    assert not founder.team.invitations.exists()


def test_inviting_an_unknown_user_says_so():
    challenge = ChallengeFactory()
    founder = services.participant_join(challenge=challenge, user=UserFactory(), accept_rules=True)
    with pytest.raises(ValidationError, match="No user is called"):
        services.team_invite(team=founder.team, invited_by=founder.user, username="nobody")
