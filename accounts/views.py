import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import selectors, services
from accounts.forms import ProfileForm, SignupForm


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("competitions:challenge-list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to Cheetah, %(name)s.") % {"name": user.public_name})
        return redirect("competitions:challenge-list")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """The user's API token, with how to use it; POST makes a new one (the old one stops)."""
    if request.method == "POST":
        services.api_token_regenerate(user=request.user)
        messages.success(request, _("A new token is made; the old one no longer works."))
        return redirect("accounts:api-token")
    return render(request, "accounts/api_token.html", {
        "token": selectors.api_token(request.user),
        "base": request.build_absolute_uri("/").rstrip("/"),
    })


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything Cheetah holds about the user, as JSON (GDPR Art. 15 and 20)."""
    body = json.dumps(selectors.personal_data(request.user), indent=2, default=str)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="my-cheetah-data.json"'
    return response


@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    """The account goes only on a POST that repeats the username: a stray or forged request
    (CSRF aside) cannot delete it."""
    if request.method == "POST":
        if request.POST.get("confirm") != request.user.username:
            messages.error(request, _("Type your username to confirm."))
            return redirect("accounts:account-delete")
        user = request.user
        logout(request)
        services.account_delete(user=user)
        messages.success(request, _("Your account is deleted."))
        return redirect("competitions:challenge-list")
    return render(request, "accounts/account_delete.html")


def moved(request: HttpRequest, to: str) -> HttpResponse:
    """An address that moved for good to the URL named ``to``. A GET gets 301, so bookmarks
    learn the new address; any other method gets 303 See Other, which the client follows with a
    GET, so a form posted to the old address never acts without the new page's confirmation
    (a 301 or 308 could be replayed as the POST)."""
    response = HttpResponseRedirect(reverse(to))
    response.status_code = 301 if request.method in ("GET", "HEAD") else 303
    return response
