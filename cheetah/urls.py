from django.contrib import admin
from django.urls import include, path

from accounts.urls import auth_urlpatterns, moved_urlpatterns

admin.site.site_header = "Cheetah administration"
admin.site.site_title = "Cheetah"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include(auth_urlpatterns)),
    path("accounts/", include("accounts.urls")),
    path("api/", include("competitions.api.urls")),
    path("notices/", include("notifications.urls")),
    path("", include(moved_urlpatterns)),
    path("", include("surveys.urls")),
    path("", include("competitions.urls")),
]
