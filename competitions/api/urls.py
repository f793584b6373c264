from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from competitions.api import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("token/", views.TokenObtain.as_view(), name="token"),
    path("v1/challenges/", views.ChallengeList.as_view(), name="challenges"),
    path("v1/challenges/<slug:slug>/", views.ChallengeDetail.as_view(), name="challenge"),
    path(
        "v1/challenges/<slug:slug>/phases/<slug:phase>/leaderboards/<slug:board>/",
        views.LeaderboardDetail.as_view(),
        name="leaderboard",
    ),
    path(
        "v1/challenges/<slug:slug>/phases/<slug:phase>/submissions/",
        views.SubmissionCreate.as_view(),
        name="submission-create",
    ),
    path("v1/submissions/", views.MySubmissions.as_view(), name="submissions"),
    path("v1/submissions/<int:pk>/", views.SubmissionDetail.as_view(), name="submission"),
]
