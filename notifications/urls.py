from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notices, name="notices"),
    path("<int:pk>/", views.notice_open, name="open"),
    path("read/", views.notices_read, name="read"),
    path("email/", views.preferences, name="preferences"),
]
