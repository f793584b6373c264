from django.urls import path

from competitions import views

app_name = "competitions"

urlpatterns = [
    path("", views.challenge_list, name="challenge-list"),
    path("metrics/", views.glossary, name="glossary"),
    path("c/<slug:slug>/", views.challenge_detail, name="challenge-detail"),
    path("c/<slug:slug>/join/", views.challenge_join, name="challenge-join"),
    path("c/<slug:slug>/data/<int:pk>/", views.data_file_download, name="data-file"),
    path(
        "c/<slug:slug>/phases/<slug:phase>/leaderboard.<str:fmt>",
        views.leaderboard_export,
        name="leaderboard-export",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/report.<str:fmt>",
        views.phase_report,
        name="phase-report",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/report-status/",
        views.phase_report_status,
        name="phase-report-status",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/<str:kind>.csv",
        views.phase_download,
        name="phase-download",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/submit/",
        views.submission_create,
        name="submission-create",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/leaderboard/",
        views.leaderboard,
        name="leaderboard",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/results/",
        views.results,
        name="results",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/label-bias/",
        views.label_bias,
        name="label-bias",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/entries/<int:pk>/",
        views.entry,
        name="entry",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/similarity/",
        views.similarity,
        name="similarity",
    ),
    path(
        "c/<slug:slug>/phases/<slug:phase>/compute/",
        views.compute,
        name="compute",
    ),
    path("c/<slug:slug>/course/roster/", views.course_roster, name="course-roster"),
    path("c/<slug:slug>/course/roster/<int:pk>/", views.course_student, name="course-student"),
    path("c/<slug:slug>/course/roster/<int:pk>/<str:action>/", views.course_roster_entry,
         name="course-roster-entry"),
    path("c/<slug:slug>/course/gradebook/<slug:phase>/", views.course_gradebook,
         name="course-gradebook"),
    path("c/<slug:slug>/course/join/<uuid:token>/", views.course_join, name="course-join"),
    path("c/<slug:slug>/team/", views.team_detail, name="team"),
    path("c/<slug:slug>/team/new/", views.team_create, name="team-create"),
    path("c/<slug:slug>/team/invite/", views.team_invite, name="team-invite"),
    path("c/<slug:slug>/team/leave/", views.team_leave, name="team-leave"),
    path("c/<slug:slug>/team/anonymous/", views.team_anonymous, name="team-anonymous"),
    path("c/<slug:slug>/team/join/<uuid:token>/", views.team_join, name="team-join"),
    path("c/<slug:slug>/team/merge/", views.team_merge_request, name="team-merge"),
    path("c/<slug:slug>/team/merge/<int:pk>/accept/", views.team_merge_accept,
         name="team-merge-accept"),
    path("c/<slug:slug>/team/merge/<int:pk>/decline/", views.team_merge_decline,
         name="team-merge-decline"),
    path("c/<slug:slug>/team/merge/<int:pk>/cancel/", views.team_merge_cancel,
         name="team-merge-cancel"),
    path("c/<slug:slug>/submissions/", views.submission_list, name="submissions"),
    path(
        "c/<slug:slug>/submissions/status.json",
        views.submission_status,
        name="submission-status",
    ),
    path("c/<slug:slug>/submissions/<int:pk>/", views.submission_detail, name="submission"),
    path(
        "c/<slug:slug>/submissions/<int:pk>/select/",
        views.submission_select,
        name="submission-select",
    ),
    path(
        "c/<slug:slug>/submissions/<int:pk>/file/",
        views.submission_file,
        name="submission-file",
    ),
]
