from django.urls import path

from surveys import interview_views, views

app_name = "surveys"

urlpatterns = [
    path("studies/", views.privacy, name="privacy"),
    path("studies/surveys/<int:pk>/", views.answer, name="answer"),
    path("studies/<slug:slug>/consent/", views.consent, name="consent"),
    path("studies/<slug:slug>/withdraw/", views.withdraw, name="withdraw"),
    path("studies/<slug:slug>/research/", views.study_detail, name="study"),
    path("studies/<slug:slug>/research/responses/", views.study_responses, name="responses"),
    path("studies/<slug:slug>/research/export.zip", views.study_export, name="export"),
    path("studies/<slug:slug>/research/contacts/", views.study_contacts, name="contacts"),
    path("studies/<slug:slug>/research/interviews/", interview_views.study_interviews,
         name="interviews"),
    path("studies/<slug:slug>/interview/", interview_views.interview_invitation,
         name="interview"),
    path("studies/<slug:slug>/interview/answer/", interview_views.interview_answer,
         name="interview-answer"),
]
