"""Organisers work in the admin, scoped to their own challenges."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from competitions.models import Challenge, Phase
from scoring.registry import metrics_for
from tests.competitions.builders import admin_form_data, phase_form
from tests.factories import ChallengeFactory, ParticipantFactory, PhaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_organiser_sees_only_their_own_challenges(client, organiser):
    mine = ChallengeFactory(title="Mine")
    mine.organisers.add(organiser)
    theirs = ChallengeFactory(title="Theirs")
    client.force_login(organiser)
    listing = client.get(reverse("admin:competitions_challenge_changelist")).content.decode()
    assert "Mine" in listing
    assert "Theirs" not in listing
    change = client.get(reverse("admin:competitions_challenge_change", args=[theirs.pk]))
    assert change.status_code in (302, 403, 404)
    assert "Theirs" not in change.content.decode()


def test_a_challenge_created_by_an_organiser_is_theirs(client, organiser):
    client.force_login(organiser)
    response = client.post(
        reverse("admin:competitions_challenge_add"),
        {
            "title": "New one", "slug": "new-one", "status": "draft", "access": "public",
            "task": "binary", "max_team_size": 3,
            "data_files-TOTAL_FORMS": 0, "data_files-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Challenge.objects.get(slug="new-one").organisers.filter(pk=organiser.pk).exists()


def _phase_form(challenge, truth: bytes, name="truth.csv", intersections="") -> dict:
    return phase_form(challenge, truth, name=name, intersections=intersections)


def test_a_ground_truth_with_duplicate_ids_is_refused_with_the_reason(client, organiser):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    bad = b"case_id,label,sex\na,1,female\na,0,male\nb,,male\n"
    response = client.post(reverse("admin:competitions_phase_add"), _phase_form(challenge, bad))
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 case id appears more than once, first: a" in page
    assert "first rows: 4" in page
    assert not Phase.objects.filter(slug="final").exists()


def test_a_valid_ground_truth_is_stored_with_its_derived_files(client, organiser, truth_csv):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    response = client.post(
        reverse("admin:competitions_phase_add"), _phase_form(challenge, truth_csv)
    )
    assert response.status_code == 302
    phase = Phase.objects.get(slug="final")
    assert phase.truth_n_cases == truth_csv.count(b"\n") - 1
    assert phase.truth_attributes == ["age_band", "kidney_function", "sex"]
    assert phase.case_list and phase.sample_submission
    page = client.get(reverse("admin:competitions_phase_change", args=[phase.pk])).content.decode()
    assert "Evaluation-data report" in page
    assert "effectively" in page and "80+" in page


def test_intersections_must_name_attributes_of_the_ground_truth(client, organiser, truth_csv):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    form = _phase_form(challenge, truth_csv, intersections="sex:ethnicity")
    response = client.post(reverse("admin:competitions_phase_add"), form)
    assert response.status_code == 200
    assert "ethnicity" in response.content.decode()
    assert not Phase.objects.filter(slug="final").exists()
    form = _phase_form(challenge, truth_csv, intersections="sex:age_band")
    assert client.post(reverse("admin:competitions_phase_add"), form).status_code == 302
    report = Phase.objects.get(slug="final").truth_report
    assert "sex×age_band" in [a["attribute"] for a in report["attributes"]]


def test_an_organiser_cannot_add_a_phase_to_another_challenge(client, organiser, truth_csv):
    theirs = ChallengeFactory()
    client.force_login(organiser)
    response = client.post(reverse("admin:competitions_phase_add"), _phase_form(theirs, truth_csv))
    assert response.status_code == 200  # the form refuses the choice
    assert not Phase.objects.filter(challenge=theirs).exists()


def test_an_organiser_does_not_see_other_challenges_phases(client, organiser):
    PhaseFactory(challenge=ChallengeFactory(title="Other"), name="Hidden phase")
    client.force_login(organiser)
    listing = client.get(reverse("admin:competitions_phase_changelist")).content.decode()
    assert "Hidden phase" not in listing


def test_the_migrations_match_the_models_wherever_the_project_is_checked_out():
    """Storage settings (an absolute path) must not leak into migrations, or every checkout
    would see changes to make."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_list_filters_and_the_organisers_widget_name_nothing_of_other_organisers(
    client, organiser
):
    mine = ChallengeFactory(title="My challenge")
    mine.organisers.add(organiser)
    PhaseFactory(challenge=mine, name="My phase")
    PhaseFactory(challenge=ChallengeFactory(title="Their secret challenge"),
                 name="Their secret phase")
    bystander = UserFactory(username="bystander-not-an-organiser")
    client.force_login(organiser)
    pages = [
        client.get(reverse(f"admin:competitions_{model}_changelist")).content.decode()
        for model in ("phase", "leaderboard", "team", "submission", "similarityreport")
    ]
    for page in pages:
        assert "Their secret challenge" not in page and "Their secret phase" not in page
    assert "My challenge" in pages[0]
    form = client.get(reverse("admin:competitions_challenge_change", args=[mine.pk]))
    assert bystander.username not in form.content.decode()
    assert organiser.username in form.content.decode()


def test_a_leaderboard_posted_for_another_organisers_phase_is_a_form_error(client, organiser):
    theirs = PhaseFactory(challenge=ChallengeFactory(title="Theirs"))
    client.force_login(organiser)
    response = client.post(reverse("admin:competitions_leaderboard_add"), {
        "phase": theirs.pk, "name": "Sneaky", "slug": "sneaky", "ranking": "primary",
        "counting": "best", "order": 0, "robustness_resamples": 0, "robustness_seed": 0,
        "columns-TOTAL_FORMS": "1", "columns-INITIAL_FORMS": "0",
        "columns-0-column_id": "auroc", "columns-0-ranked": "on", "columns-0-shown": "on",
        "columns-0-order": "0",
    })
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not theirs.leaderboards.filter(slug="sneaky").exists()


def test_case_ids_a_spreadsheet_would_run_are_refused_with_the_reason(client, organiser):
    """The case list participants download keeps ids as they are, so they cannot be neutralised
    there (cheetah/safe_csv.py): the ground truth is refused instead."""
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    hostile = b'case_id,label\n=HYPERLINK("x"),1\n@cmd,0\nc,1\nd,0\n'
    response = client.post(reverse("admin:competitions_phase_add"),
                           _phase_form(challenge, hostile))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 case ids begin with =, +, -, @" in page and "would run them as formulas" in page
    assert not Phase.objects.filter(slug="final").exists()


def test_a_data_file_uploaded_without_a_name_keeps_its_own(db):
    """Files are stored under generated names; the download keeps the uploaded name and
    extension unless the organiser renames it."""
    from competitions.admin import DataFileForm

    upload = SimpleUploadedFile("flchain features.csv", b"case_id,age\nx,1\n")
    form = DataFileForm(data={"title": "Features"}, files={"file": upload})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["filename"] == "flchain_features.csv"
    renamed = DataFileForm(data={"title": "Features", "filename": "train.csv"},
                           files={"file": SimpleUploadedFile("x.bin", b"a\n")})
    assert renamed.is_valid() and renamed.cleaned_data["filename"] == "train.csv"


@pytest.mark.parametrize(
    ("task", "default"),
    [("binary", "auroc"), ("multiclass", "balanced_accuracy"), ("regression", "mae")],
)
def test_a_new_phase_proposes_its_tasks_default_metric_and_its_board_ranks_on_it(
    client, organiser, task, default
):
    challenge = ChallengeFactory(task=task)
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    add = reverse("admin:competitions_phase_add")
    form = client.get(add).context["adminform"].form
    assert form["primary_metric"].value() == default
    assert dict(form.fields["primary_metric"].choices).keys() == {
        m.id for m in metrics_for(task)
    }
    response = client.post(add, phase_form(challenge, None, primary_metric=default))
    assert response.status_code == 302, response.context["adminform"].form.errors
    board = Phase.objects.get(slug="final").leaderboards.get(is_primary=True)
    assert board.name == "Final"
    assert [c.column_id for c in board.columns.all() if c.ranked] == [default]
    page = client.get(reverse("competitions:leaderboard", args=[challenge.slug, "final"]))
    assert "<h2>Final</h2>" in page.content.decode()


def test_a_phase_added_before_its_challenge_is_chosen_ranks_on_that_challenges_default(
    client, organiser
):
    regression = ChallengeFactory(task="regression")
    for challenge in (regression, ChallengeFactory(task="binary")):
        challenge.organisers.add(organiser)
    client.force_login(organiser)
    add = reverse("admin:competitions_phase_add")
    form = client.get(add).context["adminform"].form
    assert form["primary_metric"].value() in ("", None)
    assert str(form.fields["primary_metric"].choices[0][1]) == (
        "The task's default (Binary classification: auroc, Multiclass classification: "
        "balanced_accuracy, Regression: mae)"
    )
    proposed = client.get(add, {"challenge": regression.pk}).context["adminform"].form
    assert proposed["primary_metric"].value() == "mae"
    response = client.post(add, phase_form(regression, None, primary_metric=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    phase = Phase.objects.get(slug="final")
    assert phase.primary_metric == "mae"
    assert phase.leaderboards.get().columns.get(ranked=True).column_id == "mae"


def test_a_data_file_uploaded_without_a_name_downloads_under_its_own(client, organiser):
    challenge = ChallengeFactory()
    challenge.organisers.add(organiser)
    client.force_login(organiser)
    change = reverse("admin:competitions_challenge_change", args=[challenge.pk])
    data = admin_form_data(client.get(change), **{
        "data_files-TOTAL_FORMS": "1", "data_files-0-title": "Features",
        "data_files-0-file": SimpleUploadedFile("flchain features.csv", b"case_id,age\nx,1\n"),
    })
    assert client.post(change, data).status_code == 302
    data_file = challenge.data_files.get()
    response = client.get(reverse("competitions:data-file", args=[challenge.slug, data_file.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="flchain_features.csv"'
    assert b"".join(response.streaming_content) == b"case_id,age\nx,1\n"


def _delete(client, challenge):
    return reverse("admin:competitions_challenge_delete", args=[challenge.pk])


def test_an_organiser_deletes_their_draft_challenge_after_confirming(client, organiser):
    draft = ChallengeFactory(status=Challenge.Status.DRAFT, title="Half-built")
    draft.organisers.add(organiser)
    phase = PhaseFactory(challenge=draft)
    client.force_login(organiser)
    change = client.get(reverse("admin:competitions_challenge_change", args=[draft.pk]))
    assert _delete(client, draft) in change.content.decode()
    confirmation = client.get(_delete(client, draft))
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert "Are you sure you want to delete the challenge" in page and "Half-built" in page
    assert Challenge.objects.filter(pk=draft.pk).exists()  # nothing goes before the "yes"
    assert client.post(_delete(client, draft), {"post": "yes"}).status_code == 302
    assert not Challenge.objects.filter(pk=draft.pk).exists()
    assert not Phase.objects.filter(pk=phase.pk).exists()


def test_an_organiser_cannot_delete_a_published_challenge_or_another_organisers_draft(
    client, organiser, admin_client
):
    published = ChallengeFactory(status=Challenge.Status.PUBLISHED)
    published.organisers.add(organiser)
    theirs = ChallengeFactory(status=Challenge.Status.DRAFT)
    client.force_login(organiser)
    change = client.get(reverse("admin:competitions_challenge_change", args=[published.pk]))
    assert _delete(client, published) not in change.content.decode()
    for challenge in (published, theirs):
        assert client.get(_delete(client, challenge)).status_code in (302, 403)
        client.post(_delete(client, challenge), {"post": "yes"})
    assert Challenge.objects.filter(pk__in=[published.pk, theirs.pk]).count() == 2
    phase = PhaseFactory(challenge=published)
    phase_delete = reverse("admin:competitions_phase_delete", args=[phase.pk])
    assert client.post(phase_delete, {"post": "yes"}).status_code == 403
    # Superusers as before.
    assert admin_client.post(_delete(admin_client, published), {"post": "yes"}).status_code == 302
    assert not Challenge.objects.filter(pk=published.pk).exists()


def test_a_draft_holding_a_team_is_left_to_a_superuser(client, organiser):
    draft = ChallengeFactory(status=Challenge.Status.DRAFT)
    draft.organisers.add(organiser)
    ParticipantFactory(team__challenge=draft)
    client.force_login(organiser)
    page = client.get(_delete(client, draft)).content.decode()
    assert "Cannot delete challenge" in page
    assert '<ul id="deleted-objects">\t<li>team</li></ul>' in page
    client.post(_delete(client, draft), {"post": "yes"})
    assert Challenge.objects.filter(pk=draft.pk).exists()
