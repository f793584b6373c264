"""factory_boy factories for the web apps' models."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from competitions.models import Challenge, Participant, Phase, Team
from competitions.services import phase_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    password = factory.django.Password("secret-pass-123")


class ChallengeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Challenge

    title = factory.Sequence(lambda n: f"Challenge {n}")
    slug = factory.Sequence(lambda n: f"challenge-{n}")
    status = Challenge.Status.PUBLISHED
    access = Challenge.Access.PUBLIC
    rules = "Be kind."


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phase

    challenge = factory.SubFactory(ChallengeFactory)
    name = "Test phase"
    slug = factory.Sequence(lambda n: f"phase-{n}")
    start = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    submissions_per_day = 3
    submissions_total = 10

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Through the service, as the admin and the seed do: the phase gets its leaderboard."""
        return phase_create(**kwargs)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    challenge = factory.SubFactory(ChallengeFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    challenge = factory.SelfAttribute("team.challenge")
    accepted_rules_at = factory.LazyFunction(timezone.now)
