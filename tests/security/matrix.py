"""The permission matrix's data: the roles, the world they act in, and one row per URL.

Shared by the matrix itself, the CSRF test and the page checks (CSP), so a URL added to the
matrix is checked by all three.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from surveys import services as survey_services
from surveys.models import Answer, ConsentItem, Section
from tests.factories import UserFactory
from tests.surveys.conftest import (
    ConsentVersionFactory,
    StudyFactory,
    SurveyFactory,
    add_question,
)

ROLES = (
    "anonymous",
    "participant",
    "rival",  # a participant of another team in the same challenge
    "other_organiser",  # organiser (staff, Organisers group) of another challenge
    "other_researcher",  # researcher (staff, Researchers group) of another study
    "organiser",  # organiser of this challenge
    "researcher",  # researcher of this challenge's study
    "superuser",
)
ANSWER_MARKER = "my-private-answer-7c1e"
DESCRIPTION_MARKER = "our-secret-method-5b2d"


@dataclass
class World:
    users: dict
    slug: str
    phase: str
    board: str
    submission: int
    rival_submission: int
    data_file: int
    study: str
    survey: int
    invite_token: str
    truth_rows: list[str]


def staff(group: str, **kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=group))
    return user


def answered_study(challenge, participant_user, rival_user, researcher):
    study = StudyFactory(challenge=challenge)
    version = ConsentVersionFactory(study=study)
    survey = SurveyFactory(study=study)
    section = Section.objects.create(survey=survey, position=1, title="About you")
    question = add_question(section, "why", kind="long_text")
    study.researchers.add(researcher)
    for user in (participant_user, rival_user):
        survey_services.consent_record(
            user=user, study=study, version=version,
            choices=dict.fromkeys(ConsentItem.values, True),
        )
    response = survey_services.response_for(survey=survey, user=participant_user)
    Answer.objects.create(response=response, question=question, text=ANSWER_MARKER)
    return study, survey


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
            yield name, prefix + str(pattern.pattern)


ALL_PATTERNS = dict(_walk(get_resolver().url_patterns))
SITE_PATTERNS = sorted(name for name in ALL_PATTERNS if not name.startswith("admin:"))
ADMIN_PATTERNS = sorted(name for name in ALL_PATTERNS if name.startswith("admin:"))

# Shorthands for a row: the status every role gets, role by role.
# Shown; a redirect (to the login page for anonymous users); not found; the API's "credentials,
# please"; moved for good (an old address, the same answer for everyone).
E, L, P, U, M = 200, 302, 404, 401, 301


def _row(anonymous, participant, rival, other_organiser, other_researcher, organiser,
         researcher, superuser) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, participant, rival, other_organiser, other_researcher,
                            organiser, researcher, superuser), strict=True))


EVERYONE = _row(E, E, E, E, E, E, E, E)
SIGNED_IN = _row(L, E, E, E, E, E, E, E)
POST_ONLY = _row(L, 405, 405, 405, 405, 405, 405, 405)
ORGANISERS_ONLY = _row(P, P, P, P, P, E, P, E)
# A team's own things: its members, the challenge's organisers and superusers.
TEAM_ONLY = _row(L, E, P, P, P, E, P, E)
MEMBERS_ONLY = _row(L, E, E, P, P, P, P, P)  # pages of one's membership in the challenge
RESEARCHERS_ONLY = _row(L, P, P, P, P, P, E, E)
NOBODY = _row(P, P, P, P, P, P, P, P)
API_SIGNED_IN = _row(U, E, E, E, E, E, E, E)
MOVED = _row(M, M, M, M, M, M, M, M)


def _url(name: str, *args, query: str = ""):
    """A URL of the world, built once the world exists: args name World fields or are kept."""

    def build(world: World) -> str:
        values = [getattr(world, a) if isinstance(a, str) and hasattr(world, a) else a
                  for a in args]
        return reverse(name, args=values) + query

    return build


PRIVATE = "?split=private"
PHASE = ("slug", "phase")
# (URL name, what the row checks, the URL, the status by role). Private-split views before the
# phase's end are their own rows.
ROWS = [
    ("login", "", _url("login"), EVERYONE),
    ("logout", "GET", _url("logout"), _row(405, 405, 405, 405, 405, 405, 405, 405)),
    ("password_reset", "", _url("password_reset"), EVERYONE),
    ("password_reset_done", "", _url("password_reset_done"), EVERYONE),
    ("password_reset_confirm", "bad token", _url("password_reset_confirm", "MQ", "x-y"),
     EVERYONE),
    ("password_reset_complete", "", _url("password_reset_complete"), EVERYONE),
    ("accounts:signup", "", _url("accounts:signup"), _row(E, L, L, L, L, L, L, L)),
    ("accounts:profile", "", _url("accounts:profile"), SIGNED_IN),
    # Each signed-in user downloads their own data only: the markers below check that nobody
    # outside the participant's team and study finds the participant's answer or description.
    ("accounts:my-data", "", _url("accounts:my-data"), SIGNED_IN),
    ("accounts:account-delete", "", _url("accounts:account-delete"), SIGNED_IN),
    ("moved-my-data", "", _url("moved-my-data"), MOVED),
    ("moved-account-delete", "", _url("moved-account-delete"), MOVED),
    ("api:schema", "", _url("api:schema"), EVERYONE),
    ("api:docs", "", _url("api:docs"), EVERYONE),
    ("api:token", "GET", _url("api:token"), _row(405, 405, 405, 405, 405, 405, 405, 405)),
    ("api:challenges", "", _url("api:challenges"), EVERYONE),
    ("api:challenge", "", _url("api:challenge", "slug"), EVERYONE),
    ("api:leaderboard", "public", _url("api:leaderboard", *PHASE, "board", query="?split=public"),
     EVERYONE),
    ("api:leaderboard", "private before the end",
     _url("api:leaderboard", *PHASE, "board", query=PRIVATE), ORGANISERS_ONLY),
    ("api:submission-create", "GET", _url("api:submission-create", *PHASE),
     _row(U, 405, 405, 405, 405, 405, 405, 405)),
    ("api:submissions", "own list", _url("api:submissions"), API_SIGNED_IN),
    # The API lists and shows the caller's own submissions only; organisers use the admin.
    ("api:submission", "", _url("api:submission", "submission"), _row(U, E, P, P, P, P, P, P)),
    ("surveys:privacy", "", _url("surveys:privacy"), SIGNED_IN),
    # The rival sees an empty form of their own, never the participant's answers.
    ("surveys:answer", "", _url("surveys:answer", "survey"), MEMBERS_ONLY),
    ("surveys:consent", "", _url("surveys:consent", "study"), MEMBERS_ONLY),
    ("surveys:withdraw", "GET", _url("surveys:withdraw", "study"), POST_ONLY),
    ("surveys:study", "", _url("surveys:study", "study"), RESEARCHERS_ONLY),
    ("surveys:export", "", _url("surveys:export", "study"), RESEARCHERS_ONLY),
    ("surveys:contacts", "", _url("surveys:contacts", "study"), RESEARCHERS_ONLY),
    ("competitions:challenge-list", "", _url("competitions:challenge-list"), EVERYONE),
    ("competitions:challenge-detail", "", _url("competitions:challenge-detail", "slug"),
     EVERYONE),
    ("competitions:challenge-join", "GET", _url("competitions:challenge-join", "slug"),
     POST_ONLY),
    ("competitions:data-file", "", _url("competitions:data-file", "slug", "data_file"),
     EVERYONE),
    ("competitions:phase-download", "cases",
     _url("competitions:phase-download", *PHASE, "cases"), EVERYONE),
    ("competitions:phase-download", "sample",
     _url("competitions:phase-download", *PHASE, "sample"), EVERYONE),
    ("competitions:phase-download", "the truth",
     _url("competitions:phase-download", *PHASE, "truth"), NOBODY),
    ("competitions:submission-create", "", _url("competitions:submission-create", *PHASE),
     MEMBERS_ONLY),
    ("competitions:entry", "public", _url("competitions:entry", *PHASE, "submission"),
     EVERYONE),
    ("competitions:entry", "private before the end",
     _url("competitions:entry", *PHASE, "submission", query=PRIVATE), ORGANISERS_ONLY),
    ("competitions:team", "", _url("competitions:team", "slug"), MEMBERS_ONLY),
    ("competitions:team-create", "GET", _url("competitions:team-create", "slug"), POST_ONLY),
    ("competitions:team-invite", "GET", _url("competitions:team-invite", "slug"), POST_ONLY),
    ("competitions:team-leave", "GET", _url("competitions:team-leave", "slug"), POST_ONLY),
    ("competitions:team-anonymous", "GET", _url("competitions:team-anonymous", "slug"),
     POST_ONLY),
    ("competitions:team-join", "another team's invitation",
     _url("competitions:team-join", "slug", "invite_token"), SIGNED_IN),
    ("competitions:submissions", "own list", _url("competitions:submissions", "slug"),
     MEMBERS_ONLY),
    ("competitions:submission-status", "own list",
     _url("competitions:submission-status", "slug"), MEMBERS_ONLY),
    ("competitions:submission", "", _url("competitions:submission", "slug", "submission"),
     TEAM_ONLY),
    ("competitions:submission-select", "GET",
     _url("competitions:submission-select", "slug", "submission"), POST_ONLY),
    ("competitions:submission-file", "",
     _url("competitions:submission-file", "slug", "submission"), TEAM_ONLY),
    # The label-bias stress test works on the labels: organisers only, on either split.
    *[("competitions:label-bias", label, _url("competitions:label-bias", *PHASE, query=query),
       ORGANISERS_ONLY) for label, query in (("public", ""), ("private before the end", PRIVATE))],
    *[("competitions:leaderboard-export", f"{fmt} {label}",
       _url("competitions:leaderboard-export", *PHASE, fmt, query=query), expected)
      for fmt in ("csv", "json")
      for label, query, expected in (("public", "", EVERYONE),
                                     ("private before the end", PRIVATE, ORGANISERS_ONLY))],
    *[(f"competitions:{page}", label, _url(f"competitions:{page}", *PHASE, query=query),
       expected)
      for page in ("leaderboard", "results", "similarity", "compute")
      for label, query, expected in (("public", "", EVERYONE),
                                     ("private before the end", PRIVATE, ORGANISERS_ONLY))],
]


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def client_as(client, world: World, role: str):
    if role != "anonymous":
        client.force_login(world.users[role])
    return client
