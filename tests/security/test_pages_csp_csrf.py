"""CSRF on every URL, security headers on every page, and a Content-Security-Policy that the
pages keep: no inline script, style or event handler unless it carries the request's nonce."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.security.matrix import ROWS, World, body_of

ROOT = Path(settings.BASE_DIR)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "label", "build"), [(n, lab, b) for n, lab, b, _e in ROWS],
                         ids=[f"{n} {lab}".strip() for n, lab, _b, _e in ROWS])
def test_a_post_without_the_csrf_token_is_refused_everywhere(world, name, label, build):
    """A signed-in browser's POST without the token is refused before any view runs (the API's
    session authentication enforces it too); only a token-authenticated API call needs none."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["participant"])
    response = client.post(build(world), {"username": "x", "password": "y"})
    assert response.status_code == 403, (name, response.status_code)


def test_the_login_form_refuses_a_post_without_the_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    for template in _templates():
        text = template.read_text()
        for form in re.finditer(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
            if re.search(r'method="post"', form.group(0), flags=re.I):
                assert "{% csrf_token %}" in form.group(0), template


# --- Content-Security-Policy ---------------------------------------------------------------


def _templates() -> list[Path]:
    folders = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]
    return [path for folder in folders for path in sorted(folder.rglob("*.html"))]


INLINE = re.compile(r"""<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:""", re.I)


def test_no_template_holds_inline_script_style_or_handlers_without_the_nonce():
    found = []
    for template in _templates():
        text = template.read_text()
        for match in INLINE.finditer(text):
            tag_start = text.rfind("<", 0, match.start())
            tag = text[tag_start:text.find(">", match.start()) + 1]
            if "CSP_NONCE" not in tag:
                found.append(f"{template.relative_to(ROOT)}: {tag[:80]}")
        for script in re.finditer(r"<script\b[^>]*>", text, flags=re.I):
            tag = script.group(0)
            if "src=" not in tag and "CSP_NONCE" not in tag and "application/json" not in tag:
                found.append(f"{template.relative_to(ROOT)}: {tag}")
    assert found == []


class _InlineFinder(HTMLParser):
    """Collects what a nonce-based policy would block in a rendered page."""

    def __init__(self, nonce: str) -> None:
        super().__init__()
        self.nonce = nonce
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.blocked.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}=javascript:...>")
        inline_script = tag == "script" and "src" not in values and values.get("type") not in (
            "application/json", "application/ld+json")
        if (inline_script or tag == "style") and values.get("nonce") != self.nonce:
            self.blocked.append(f"<{tag}> without the nonce")


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _check_page(response, url: str) -> None:
    policy = _policy(response)
    assert "'unsafe-inline'" not in policy["script-src"] + policy["style-src"], url
    assert "'unsafe-eval'" not in policy["script-src"], url
    nonce = next(
        (v.removeprefix("'nonce-").rstrip("'") for v in policy["script-src"]
         if v.startswith("'nonce-")),
        "",
    )
    finder = _InlineFinder(nonce)
    finder.feed(body_of(response))
    assert finder.blocked == [], url


def _html(response) -> bool:
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "participant", "organiser", "researcher",
                                  "superuser"])
def test_every_page_keeps_the_policy_and_sends_the_security_headers(client, world, role):
    if role != "anonymous":
        client.force_login(world.users[role])
    checked = 0
    for _name, _label, build, _expected in ROWS:
        url = build(world)
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], url
        if _html(response):
            _check_page(response, url)
            checked += 1
    assert checked >= 10


def _admin_pages(world: World) -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(_FakeRequest(world)):
            urls.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return urls


class _FakeRequest:
    """Enough of a request for ModelAdmin.has_add_permission (it reads only the user)."""

    def __init__(self, world: World) -> None:
        self.user = world.users["superuser"]


@pytest.mark.django_db
def test_every_admin_page_keeps_the_policy(client, world):
    client.force_login(world.users["superuser"])
    for url in _admin_pages(world):
        response = client.get(url)
        assert response.status_code == 200, url
        _check_page(response, url)


@pytest.mark.django_db
def test_the_api_docs_run_their_start_up_script_under_the_nonce(client):
    response = client.get(reverse("api:docs"))
    _check_page(response, "api:docs")
    body = body_of(response)
    assert 'nonce="' in body and "SwaggerUIBundle" in body
    assert "cdn" not in body.lower()
