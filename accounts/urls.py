from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("me/token/", views.api_token, name="api-token"),
    path("me/data/", views.my_data, name="my-data"),
    path("me/delete/", views.account_delete, name="account-delete"),
]

# Where the privacy room used to be (under the studies), for bookmarks and old links.
moved_urlpatterns = [
    path("studies/me/data.json", views.moved, {"to": "accounts:my-data"}, name="moved-my-data"),
    path(
        "studies/me/delete/",
        views.moved,
        {"to": "accounts:account-delete"},
        name="moved-account-delete",
    ),
]

# Django's own views for log in/out and password reset, with our templates (registration/).
auth_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
