"""The permission matrix's data: the roles, the world they act in, and one row per URL.

Shared by the matrix itself, the CSRF test and the page checks (CSP), so a URL added to the
matrix is checked by all three.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from competitions.models import Leaderboard, Participant, Phase, TeamMergeRequest
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
ARM_BOARD = "arm-only"  # the slug of the board a design arm restricts
# The world's names, none a part of another: challenge A's, its people's, and challenge B's.
NAMES = {
    "challenge": "Challenge Alpha-4e1",
    "phase": "Phase Alpha-8c2",
    "study": "Study Alpha-2f7",
    "participant": "matrix-participant",
    "rival": "matrix-rival",
    "researcher": "matrix-researcher",
    "other_researcher": "matrix-other-researcher",
    "organiser": "matrix-organiser",
    "other_organiser": "matrix-other-organiser",
    "other_challenge": "Challenge Bravo-9d3",
    "other_phase": "Phase Bravo-5a6",
    "other_study": "Study Bravo-7b8",
}


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
    rival_team: str
    private_slug: str  # a private challenge, for the invitation-code throttle
    truth_rows: list[str]


def staff(group: str, **kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=group))
    return user


def answered_study(challenge, participant_user, rival_user, researcher):
    study = StudyFactory(challenge=challenge, title=NAMES["study"])
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
NOT_A_MEMBER_LINK = _row(L, P, P, P, P, P, P, P)  # a link that is nobody's: sign in, then 404
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
# A board a design arm restricts, while the experiment (the phase) runs: the arm's members (the
# participant) and the organisers only; the public, the rival (outside every arm) and everyone
# else are not served it, and see the primary board instead.
ARM_ONLY = _row(P, E, P, P, P, E, P, E)
ARM = f"?board={ARM_BOARD}"


def _primary_board(world: World) -> str:
    return reverse("competitions:leaderboard", args=[world.slug, world.phase]) + (
        f"?board={world.board}")


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
    ("accounts:api-token", "", _url("accounts:api-token"), SIGNED_IN),
    ("favicon", "", _url("favicon"), EVERYONE),
    ("notifications:notices", "", _url("notifications:notices"), SIGNED_IN),
    # Nobody opens a notice that is not theirs (this one is nobody's).
    ("notifications:open", "", _url("notifications:open", 999999), _row(L, P, P, P, P, P, P, P)),
    ("notifications:read", "GET", _url("notifications:read"), POST_ONLY),
    ("notifications:preferences", "", _url("notifications:preferences"), SIGNED_IN),
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
    # The confirmation page, for those who have given something to withdraw (both have).
    ("surveys:withdraw", "", _url("surveys:withdraw", "study"), MEMBERS_ONLY),
    ("surveys:study", "", _url("surveys:study", "study"), RESEARCHERS_ONLY),
    ("surveys:responses", "", _url("surveys:responses", "study"), RESEARCHERS_ONLY),
    ("surveys:export", "", _url("surveys:export", "study"), RESEARCHERS_ONLY),
    ("surveys:contacts", "", _url("surveys:contacts", "study"), RESEARCHERS_ONLY),
    ("surveys:interviews", "", _url("surveys:interviews", "study"), RESEARCHERS_ONLY),
    # Only a person invited to the study's interviews has an invitation page; nobody here is.
    ("surveys:interview", "not invited", _url("surveys:interview", "study"),
     _row(L, P, P, P, P, P, P, P)),
    ("surveys:interview-answer", "GET", _url("surveys:interview-answer", "study"), POST_ONLY),
    ("competitions:challenge-list", "", _url("competitions:challenge-list"), EVERYONE),
    ("competitions:glossary", "", _url("competitions:glossary"), EVERYONE),
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
    # A course's pages are its teachers' (the organisers'); a student's page of a roster entry
    # that is not the challenge's is nobody's, and an unknown invitation link opens nothing.
    ("competitions:course-roster", "", _url("competitions:course-roster", "slug"),
     ORGANISERS_ONLY),
    ("competitions:course-student", "no such entry",
     _url("competitions:course-student", "slug", 999999), NOBODY),
    ("competitions:course-roster-entry", "GET",
     _url("competitions:course-roster-entry", "slug", 999999, "revoke"),
     _row(405, 405, 405, 405, 405, 405, 405, 405)),
    *[("competitions:course-gradebook", label,
       _url("competitions:course-gradebook", *PHASE, query=query), ORGANISERS_ONLY)
      for label, query in (("page", ""), ("moodle", "?layout=moodle"),
                           ("canvas", "?layout=canvas"))],
    ("competitions:course-join", "an unknown link",
     _url("competitions:course-join", "slug", "6f1c1d8e-0000-4000-8000-000000000000"),
     NOT_A_MEMBER_LINK),
    ("competitions:team", "", _url("competitions:team", "slug"), MEMBERS_ONLY),
    ("competitions:team-create", "GET", _url("competitions:team-create", "slug"), POST_ONLY),
    ("competitions:team-invite", "GET", _url("competitions:team-invite", "slug"), POST_ONLY),
    ("competitions:team-leave", "GET", _url("competitions:team-leave", "slug"), POST_ONLY),
    ("competitions:team-anonymous", "GET", _url("competitions:team-anonymous", "slug"),
     POST_ONLY),
    *[(f"competitions:{name}", "GET", _url(f"competitions:{name}", "slug", *args), POST_ONLY)
      for name, args in (("team-merge", ()), ("team-merge-accept", (1,)),
                         ("team-merge-decline", (1,)), ("team-merge-cancel", (1,)))],
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
    # The challenge report: organisers only while the phase runs (everyone once it ended and
    # its scores are published: tests/competitions/test_report.py).
    *[("competitions:phase-report", fmt, _url("competitions:phase-report", *PHASE, fmt),
       ORGANISERS_ONLY) for fmt in ("html", "pdf", "zip")],
    ("competitions:phase-report-status", "", _url("competitions:phase-report-status", *PHASE),
     ORGANISERS_ONLY),
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
    ("competitions:leaderboard", "an arm's board while it runs",
     _url("competitions:leaderboard", *PHASE, query=ARM), ARM_ONLY),
    ("competitions:leaderboard", "the primary board, whatever the arm", _primary_board,
     EVERYONE),
    ("competitions:leaderboard-export", "json an arm's board while it runs",
     _url("competitions:leaderboard-export", *PHASE, "json", query=ARM), ARM_ONLY),
    ("api:leaderboard", "an arm's board while it runs",
     _url("api:leaderboard", *PHASE, ARM_BOARD, query="?split=public"), ARM_ONLY),
]


# --- Cases: what a GET by a role cannot show -------------------------------------------------
# POSTs with their data, bursts past a throttle, and pages (the admin's included) that must leave
# out what is someone else's. Each case names a URL the resolver knows; the matrix runs each for
# every role.

A = "admin-login"  # a redirect to the admin's login page


def _nothing(world: World, role: str) -> list[str]:
    return []


@dataclass(frozen=True)
class Case:
    """A request a GET row cannot make, or a page that must leave something out.

    ``data`` makes it a POST, sent after the ``earlier`` POSTs (a burst), with the throttle
    ``rates`` in force; the last answer is checked. ``prepare`` sets up what the request acts
    on (undone after each role) and its result is passed to ``url``. ``says`` names, per
    status, a text the answer must hold (the reason of a refusal); ``hidden(world, role)`` the
    texts it must not, and ``shown(world, role)`` texts it must (so that a page which lists
    nothing does not pass for one that leaves the others out). ``worked`` tells whether the
    attempt took effect, which it must for the ``allowed`` roles only.
    """

    name: str
    label: str
    url: Callable[[World, Any], str]
    expected: dict[str, int | str]
    data: Callable[[World], dict] | None = None
    earlier: tuple[dict, ...] = ()
    rates: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[World], Any] | None = None
    says: dict[int, str] = field(default_factory=dict)
    hidden: Callable[[World, str], list[str]] = _nothing
    shown: Callable[[World, str], list[str]] = _nothing
    worked: Callable[[World], bool] | None = None
    allowed: tuple[str, ...] = ()


def _at(name: str, *args):
    return lambda world, prepared: reverse(name, args=[
        getattr(world, a) if isinstance(a, str) and hasattr(world, a) else a for a in args])


def _others_names(world: World, role: str) -> list[str]:
    """What a staff role must not find in the admin: the other challenge's and study's names."""
    of_a = ("challenge", "phase", "study")
    of_b = ("other_challenge", "other_phase", "other_study")
    if role in ("other_organiser", "other_researcher"):
        return [NAMES[k] for k in of_a]
    if role in ("organiser", "researcher"):
        return [NAMES[k] for k in of_b]
    return []


def _not_organisers(world: World, role: str) -> list[str]:
    """Users an organiser must not be offered as co-organisers (participants, researchers)."""
    if role == "superuser":
        return []
    return [NAMES[k] for k in ("participant", "rival", "researcher", "other_researcher")]


def _own_challenge(world: World, role: str) -> list[str]:
    return {"organiser": [NAMES["challenge"]], "other_organiser": [NAMES["other_challenge"]],
            "superuser": [NAMES["challenge"], NAMES["other_challenge"]]}.get(role, [])


def _outside_the_arm(world: World, role: str) -> list[str]:
    return [] if role in ("participant", "organiser", "superuser") else ["Arm-only board"]


def _team_of(username: str) -> int:
    return Participant.objects.get(challenge__title=NAMES["challenge"],
                                   user__username=username).team_id


def _rival_asks(world: World) -> int:
    """A pending request of the rival's team to merge into the participant's."""
    return TeamMergeRequest.objects.create(
        from_team_id=_team_of(NAMES["rival"]), into_team_id=_team_of(NAMES["participant"]),
        requested_by=world.users["rival"]).pk


def _merge(action: str):
    return lambda world, pk: reverse(f"competitions:team-merge-{action}", args=[world.slug, pk])


def _foreign_board(world: World) -> dict:
    """The admin's add form of a leaderboard, for challenge A's phase."""
    return {
        "phase": Phase.objects.get(challenge__slug=world.slug, slug=world.phase).pk,
        "name": "Sneaky", "slug": "matrix-sneaky", "ranking": "primary", "counting": "best",
        "order": 0, "robustness_resamples": 0, "robustness_seed": 0,
        "columns-TOTAL_FORMS": "1", "columns-INITIAL_FORMS": "0",
        "columns-0-column_id": "auroc", "columns-0-ranked": "on", "columns-0-shown": "on",
        "columns-0-order": "0",
    }


NOT_A_MEMBER = _row(L, P, P, P, P, P, P, P)  # merge actions: the one team's members only
ADMIN_CHANGELIST = {"anonymous": A, "participant": A, "rival": A}
CHANGELISTS = [
    ("competitions", "phase"), ("competitions", "leaderboard"), ("competitions", "team"),
    ("competitions", "submission"), ("competitions", "submissionflag"),
    ("competitions", "similarityreport"), ("surveys", "survey"), ("surveys", "question"),
]
CASES = [
    # An arm's board is not even named to those outside the arm.
    Case("competitions:leaderboard", "the arm's board is not in the others' board list",
         lambda world, _p: _primary_board(world), EVERYONE, hidden=_outside_the_arm),
    # Guessing a private challenge's code: past the rate every signed-in user gets the 429 page,
    # even for the right code, and nobody joins.
    Case("competitions:challenge-join", "invitation guesses past the rate",
         _at("competitions:challenge-join", "private_slug"), _row(L, *[429] * 7),
         data=lambda world: {"accept_rules": "on", "invitation_code": "matrix-invitation-code"},
         earlier=tuple({"accept_rules": "on", "invitation_code": f"guess-{n}"} for n in (1, 2)),
         rates={"invitation": "2/hour"}, says={429: "Too many requests"},
         worked=lambda world: Participant.objects.filter(
             challenge__slug=world.private_slug).exists()),
    # The admin's list filters name only the staff member's own challenges, phases, studies.
    *[Case(f"admin:{app}_{model}_changelist", "list filters of one's own", _at(
        f"admin:{app}_{model}_changelist"),
        {**ADMIN_CHANGELIST, "other_organiser": E if app == "competitions" else 403,
         "other_researcher": 403 if app == "competitions" else E,
         "organiser": E if app == "competitions" else 403,
         "researcher": 403 if app == "competitions" else E, "superuser": E},
        hidden=_others_names, shown=_own_challenge if model == "phase" else _nothing)
      for app, model in CHANGELISTS],
    # The organisers widget offers organisers only, never participants or researchers.
    Case("admin:competitions_challenge_change", "the organisers widget",
         lambda world, _p: reverse("admin:competitions_challenge_change", args=[
             Phase.objects.get(challenge__slug=world.slug, slug=world.phase).challenge_id]),
         {**ADMIN_CHANGELIST, "other_organiser": L, "other_researcher": 403, "organiser": E,
          "researcher": 403, "superuser": E},
         hidden=_not_organisers, shown=lambda world, role: [
             NAMES["organiser"], NAMES["other_organiser"]] if role in ("organiser", "superuser")
         else []),
    # A leaderboard posted for another organiser's phase is a form error, not a 500.
    Case("admin:competitions_leaderboard_add", "for another organiser's phase",
         _at("admin:competitions_leaderboard_add"),
         {**ADMIN_CHANGELIST, "other_organiser": E, "other_researcher": 403, "organiser": L,
          "researcher": 403, "superuser": L},
         data=_foreign_board, says={200: "Select a valid choice"},
         worked=lambda world: Leaderboard.objects.filter(slug="matrix-sneaky").exists(),
         allowed=("organiser", "superuser")),
    # Merging teams: asking is a participant's; the rival asking its own team is told why not.
    Case("competitions:team-merge", "ask the rival's team",
         _at("competitions:team-merge", "slug"), _row(L, L, E, P, P, P, P, P),
         data=lambda world: {"team": world.rival_team},
         says={200: "cannot merge with itself"},
         worked=lambda world: TeamMergeRequest.objects.filter(
             from_team_id=_team_of(NAMES["participant"])).exists(),
         allowed=("participant",)),
    Case("competitions:team-merge-accept", "the rival's request", _merge("accept"),
         NOT_A_MEMBER | {"participant": L}, data=lambda world: {}, prepare=_rival_asks,
         worked=lambda world: _team_of(NAMES["rival"]) == _team_of(NAMES["participant"]),
         allowed=("participant",)),
    Case("competitions:team-merge-decline", "the rival's request", _merge("decline"),
         NOT_A_MEMBER | {"participant": L}, data=lambda world: {}, prepare=_rival_asks,
         worked=lambda world: not TeamMergeRequest.objects.exists(),
         allowed=("participant",)),
    Case("competitions:team-merge-cancel", "the rival's request", _merge("cancel"),
         NOT_A_MEMBER | {"rival": L}, data=lambda world: {}, prepare=_rival_asks,
         worked=lambda world: not TeamMergeRequest.objects.exists(),
         allowed=("rival",)),
]


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def client_as(client, world: World, role: str):
    if role != "anonymous":
        client.force_login(world.users[role])
    return client
