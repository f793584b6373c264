"""Pages every visitor can land on: the error pages in the site's layout with a way back, the
favicon, the API token page and the footer's links."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.views.defaults import server_error
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_address_answers_404_in_the_sites_layout_with_a_way_back(settings):
    settings.DEBUG = False
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'class="site"' in html
    assert f'href="{reverse("competitions:challenge-list")}"' in html
    assert f'href="{reverse("login")}"' in html


def test_a_forbidden_post_answers_403_in_the_sites_layout(settings):
    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:profile"), {"display_name": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html and "reload the page" in html and "nothing was changed" in html


def test_the_500_page_renders_without_a_request_context(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and "nothing you sent is lost" in html.lower()


def test_the_favicon_is_served_by_the_app(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert 'rel="icon"' in client.get(reverse("competitions:challenge-list")).content.decode()


def test_the_token_page_shows_the_token_and_a_new_one_replaces_it(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("accounts:api-token")
    assert "You have no token yet" in client.get(url).content.decode()
    client.post(url)
    first = Token.objects.get(user=user).key
    page = client.get(url).content.decode()
    assert first in page and "Authorization: Token " + first in page
    client.post(url)
    second = Token.objects.get(user=user).key
    assert second != first and first not in client.get(url).content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Token {first}").get(reverse("api:submissions"))
    assert api.status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Token {second}").get(
        reverse("api:submissions")).status_code == 200


def test_the_footer_links_the_api_docs_and_for_the_signed_in_their_token(client):
    home = client.get(reverse("competitions:challenge-list")).content.decode()
    assert f'href="{reverse("api:docs")}"' in home
    assert reverse("accounts:api-token") not in home
    client.force_login(UserFactory())
    assert reverse("accounts:api-token") in client.get(
        reverse("competitions:challenge-list")).content.decode()


def test_every_description_a_form_control_points_to_is_on_the_page(client):
    """Screen readers announce a field's help through ``aria-describedby``: the id it names must
    exist (the sign-up's username help pointed to a missing one)."""
    import re

    pages = [reverse("accounts:signup")]
    client.get(pages[0])
    user = UserFactory()
    client.force_login(user)
    pages += [reverse("accounts:profile"), reverse("notifications:preferences")]
    client.logout()
    for url in pages:
        if url != pages[0]:
            client.force_login(user)
        html = client.get(url).content.decode()
        ids = set(re.findall(r'\sid="([^"]+)"', html))
        described = {i for group in re.findall(r'aria-describedby="([^"]+)"', html)
                     for i in group.split()}
        assert described or url != pages[0], url
        assert described <= ids, (url, described - ids)
