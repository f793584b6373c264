from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import EmailPreferencesForm


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notices_of(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/notices.html", {"page": page})


@login_required
def notice_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notice read and go where it points (only ever a path on this site)."""
    notice = get_object_or_404(selectors.notices_of(request.user), pk=pk)
    services.notice_open(notice=notice)
    if notice.url and url_has_allowed_host_and_scheme(notice.url, allowed_hosts=None):
        return redirect(notice.url)
    return redirect("notifications:notices")


@login_required
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    services.notices_mark_read(user=request.user)
    return redirect("notifications:notices")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = EmailPreferencesForm(
        request.POST or None, initial={"kinds": selectors.emailed_kinds(request.user)}
    )
    if request.method == "POST" and form.is_valid():
        services.email_preferences_set(user=request.user, emailed_kinds=form.cleaned_data["kinds"])
        messages.success(request, _("Your e-mail choices are saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
