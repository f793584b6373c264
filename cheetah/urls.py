from pathlib import Path

from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from accounts.urls import auth_urlpatterns, moved_urlpatterns


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: the same icon, from the static
    files' source folder (the page's <link rel="icon"> names its hashed, long-cached address)."""
    icon = Path(finders.find("cheetah/favicon.svg"))
    response = HttpResponse(icon.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


admin.site.site_header = "Cheetah administration"
admin.site.site_title = "Cheetah"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include(auth_urlpatterns)),
    path("accounts/", include("accounts.urls")),
    path("api/", include("competitions.api.urls")),
    path("notices/", include("notifications.urls")),
    path("", include(moved_urlpatterns)),
    path("", include("surveys.urls")),
    path("", include("competitions.urls")),
]
