"""Who gets what, URL by URL: every pattern the resolver knows, for every kind of user.

The world: a public challenge A with an open phase (public and private cases), two teams that
each scored a submission, A's organiser, and a study on A whose participant answered a survey;
a second challenge B with its own organiser and a study with its own researcher. Each matrix row
names a URL (with the objects of A) and the status each role must get; a URL the resolver knows
without a row fails ``test_every_url_pattern_has_a_matrix_row``, so a new view cannot ship
unexamined. Denials are 404 (the object is not revealed), 302 to the login page, 401 from the
API for anonymous callers, 405 for a GET of a POST-only view; the admin answers 302 to its login
or, for staff without the permission, 403 or "does not exist".

The matrix's cases (``matrix.CASES``) go further for what a GET cannot show: a design arm's
board, the invitation-code throttle, the admin's list filters and organisers widget, a
leaderboard posted for another organiser's phase, and the team-merge actions, each with the
status by role, the reason a refusal gives, what must not leak, and whether the attempt worked.

Whatever the status, no page shown to anyone carries a row of the ground truth, and another
participant's survey answer or submission never reaches a user outside its team, the study's
researchers and the organisers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from competitions.models import Phase, Submission
from tests.security.matrix import (
    ADMIN_PATTERNS,
    ALL_PATTERNS,
    ANSWER_MARKER,
    CASES,
    DESCRIPTION_MARKER,
    ROLES,
    ROWS,
    SITE_PATTERNS,
    World,
    body_of,
    client_as,
)


def test_every_url_pattern_has_a_matrix_row():
    covered = {name for name, _label, _url, _expected in ROWS}
    assert sorted(set(SITE_PATTERNS) - covered) == []
    assert sorted(covered - set(SITE_PATTERNS)) == []
    assert sorted({case.name for case in CASES} - set(ALL_PATTERNS)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[f"{c.name} {c.label}" for c in CASES])
def test_each_role_gets_what_the_matrix_names_for_posts_bursts_and_what_a_page_leaves_out(
    client, world, monkeypatch, case, role
):
    """The cases a GET row cannot express (see ``matrix.Case``): the status, the reason a
    refusal gives, what the answer must leave out, and whether the attempt took effect."""
    if case.rates:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                            {**SimpleRateThrottle.THROTTLE_RATES, **case.rates})
    cache.clear()  # the throttles' counts (the cache may be shared with earlier runs)
    try:
        url = case.url(world, case.prepare(world) if case.prepare else None)
        client = client_as(client, world, role)
        for data in case.earlier:
            client.post(url, data)
        response = client.post(url, case.data(world)) if case.data else client.get(url)
    finally:
        cache.clear()
    expected = case.expected[role]
    if expected == "admin-login":
        assert response.status_code == 302, (url, role, response.status_code)
        assert response["Location"].startswith(reverse("admin:login")), (url, role)
    else:
        assert response.status_code == expected, (url, role, response.status_code)
    if role == "anonymous" and expected == 302:
        assert response["Location"].startswith(reverse("login")), (url, response["Location"])
    body = body_of(response)
    if response.status_code in case.says:
        assert case.says[response.status_code] in body, (url, role)
    leaked = [text for text in case.hidden(world, role) if text in body]
    assert leaked == [], (url, role)
    missing = [text for text in case.shown(world, role) if text not in body]
    assert missing == [], (url, role)
    if case.worked is not None:
        assert case.worked(world) == (role in case.allowed), (url, role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "label", "build", "expected"), ROWS,
                         ids=[f"{name} {label}".strip() for name, label, _b, _e in ROWS])
def test_each_role_gets_the_status_the_matrix_names(
    client, world, name, label, build, expected, role
):
    url = build(world)
    response = client_as(client, world, role).get(url)
    assert response.status_code == expected[role], (url, role, response.status_code)
    if role == "anonymous" and response.status_code == 302:
        assert response["Location"].startswith(reverse("login")), response["Location"]
    body = body_of(response)
    assert not any(row in body for row in world.truth_rows), (url, role)
    if role not in ("participant", "researcher", "superuser"):
        assert ANSWER_MARKER not in body, (url, role)
    if role not in ("participant", "organiser", "superuser"):
        assert DESCRIPTION_MARKER not in body, (url, role)


@pytest.mark.django_db
def test_a_rival_can_neither_pick_nor_list_another_teams_submission(client, world):
    client.force_login(world.users["rival"])
    select = reverse("competitions:submission-select", args=[world.slug, world.submission])
    assert client.post(select).status_code == 404
    assert not Submission.objects.get(pk=world.submission).selected
    listed = {row["id"] for row in client.get(reverse("api:submissions")).json()}
    assert listed == {world.rival_submission}
    status = client.get(reverse("competitions:submission-status", args=[world.slug])).json()
    assert {row["id"] for row in status["submissions"]} == {world.rival_submission}


# --- The admin ---------------------------------------------------------------------------

# Each model's admin URLs are named admin:<app>_<model>_<action>.
MODEL_PREFIXES = {
    f"admin:{model._meta.app_label}_{model._meta.model_name}_": model
    for model in admin.site._registry
}
# Challenge A's objects (and its study's), which staff of another challenge or study must not
# open in the admin.
WORLD_OBJECTS = {
    "challenge": lambda w: {"slug": w.slug},
    "phase": lambda w: {"challenge__slug": w.slug},
    "team": lambda w: {"challenge__slug": w.slug},
    "participant": lambda w: {"challenge__slug": w.slug},
    "submission": lambda w: {"pk": w.submission},
    "study": lambda w: {"slug": w.study},
    "survey": lambda w: {"pk": w.survey},
    "response": lambda w: {"survey__pk": w.survey},
    "consentversion": lambda w: {"study__slug": w.study},
}
STUDY_MODELS = ("study", "survey", "response", "consentversion")


def _admin_target(name: str, world: World) -> tuple[str, type | None, str]:
    """The admin URL with challenge A's object where the model has one (else its first row, or
    an id that does not exist), the model, and the action."""
    model = next((m for prefix, m in MODEL_PREFIXES.items() if name.startswith(prefix)), None)
    pattern = ALL_PATTERNS[name]
    if name == "admin:None":  # the admin's unnamed catch-all
        return reverse("admin:index") + "no-such-page/", None, "catch-all"
    if model is None:
        kwargs = {}
        if "app_label" in pattern:
            kwargs = {"app_label": "competitions"}
        elif "content_type_id" in pattern:
            kwargs = {"content_type_id": 1, "object_id": "1"}
        elif "<id>" in pattern:  # the user admin's password form
            kwargs = {"id": world.users["participant"].pk}
        return reverse(name, kwargs=kwargs), None, name.removeprefix("admin:")
    action = name.removeprefix(f"admin:{model._meta.app_label}_{model._meta.model_name}_")
    if "<" not in pattern:
        return reverse(name), model, action
    lookup = WORLD_OBJECTS.get(model._meta.model_name)
    rows = model._default_manager.order_by("pk")
    obj = rows.filter(**lookup(world)).first() if lookup else rows.first()
    return reverse(name, args=[obj.pk if obj else 999_999]), model, action


@pytest.mark.django_db
@pytest.mark.parametrize("name", ADMIN_PATTERNS)
def test_the_admin_turns_away_participants_and_scopes_staff(client, world, name):
    url, model, action = _admin_target(name, world)
    for role in ("anonymous", "participant", "rival"):
        client.logout()
        response = client_as(client, world, role).get(url)
        if name in ("admin:login", "admin:logout"):
            assert response.status_code in (200, 302, 405), (url, role)
            continue
        assert response.status_code == 302, (url, role, response.status_code)
        assert response["Location"].startswith(reverse("admin:login")), (url, role)
    model_name = model._meta.model_name if model else ""
    outsiders = {"other_organiser", "other_researcher"} if model_name in WORLD_OBJECTS else set()
    if model_name in STUDY_MODELS:
        outsiders.discard("other_organiser")  # organisers have no study permissions at all
    for role in ("other_organiser", "other_researcher", "superuser"):
        client.logout()
        response = client_as(client, world, role).get(url)
        body = body_of(response)
        if role != "superuser":
            assert ANSWER_MARKER not in body and DESCRIPTION_MARKER not in body, (url, role)
            assert not any(row in body for row in world.truth_rows), (url, role)
        if role in outsiders and action in ("change", "delete", "history"):
            # The admin answers an object outside the user's queryset with a redirect to its
            # index ("does not exist"), a missing permission with 403.
            assert response.status_code in (302, 403), (url, role, response.status_code)
        if role == "superuser" and action == "changelist":
            assert response.status_code == 200, url


@pytest.mark.django_db
def test_the_private_rows_are_checked_while_the_phase_runs(world):
    """The private-split rows above mean something only before the end, with private cases."""
    phase = Phase.objects.get(slug=world.phase)
    assert phase.end > timezone.now() + timedelta(days=1)
    assert phase.has_private_cases
