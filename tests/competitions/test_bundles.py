"""Challenge bundles: the demo exported and imported again is the same challenge and scores a
submission the same; hostile bundles are refused by name and leave nothing behind."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from competitions import bundle_format as fmt
from competitions import services
from competitions.demo_data import load_demo_data
from competitions.management.commands.seed_demo import Command as SeedDemo
from competitions.models import (
    Challenge,
    DataFile,
    Leaderboard,
    LeaderboardColumn,
    Phase,
    private_storage,
)
from tests.conftest import score_now, upload
from tests.factories import ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = {
    "Challenge": (Challenge, fmt.CHALLENGE_KEYS),
    "DataFile": (DataFile, fmt.DATA_FILE_KEYS),
    "Phase": (Phase, fmt.PHASE_KEYS),
    "Leaderboard": (Leaderboard, fmt.LEADERBOARD_KEYS),
    "LeaderboardColumn": (LeaderboardColumn, fmt.COLUMN_KEYS),
}


@pytest.fixture
def demo_challenge(db):
    organiser = UserFactory(username="organiser", is_staff=True)
    challenge, _phase = SeedDemo()._challenge(organiser, load_demo_data())
    return challenge


@pytest.fixture
def demo_bundle(demo_challenge) -> bytes:
    return services.bundle_export(demo_challenge)


def _configuration(challenge: Challenge) -> dict:
    """Everything the bundle carries, read back from the database (files by content)."""
    def row(obj, keys):
        return {k: getattr(obj, k) for k in keys if k not in ("file", "ground_truth")}

    data = {
        "challenge": {k: v for k, v in row(challenge, fmt.CHALLENGE_KEYS).items()
                      if k != "slug"},
        "data_files": [(row(d, fmt.DATA_FILE_KEYS), d.file.read() if d.file else None)
                       for d in challenge.data_files.order_by("pk")],
        "phases": [],
    }
    for phase in challenge.phases.order_by("start"):
        with phase.ground_truth.open("rb") as handle:
            truth = handle.read()
        boards = [(row(b, fmt.LEADERBOARD_KEYS),
                   [row(c, fmt.COLUMN_KEYS) for c in b.columns.all()])
                  for b in phase.leaderboards.all()]
        data["phases"].append((row(phase, fmt.PHASE_KEYS), truth, boards,
                               phase.truth_attributes, phase.truth_n_cases))
    return data


def _stored_files() -> set[str]:
    def walk(folder: str) -> set[str]:
        if folder and not private_storage.exists(folder):
            return set()
        dirs, files = private_storage.listdir(folder)
        found = {f"{folder}/{f}".lstrip("/") for f in files}
        for d in dirs:
            found |= walk(f"{folder}/{d}".lstrip("/"))
        return found

    return walk("")


def _rezip(bundle: bytes, *, manifest=None, extra=(), drop=()) -> bytes:
    """The bundle with its manifest replaced (a dict or raw bytes) and entries added/removed."""
    source = zipfile.ZipFile(io.BytesIO(bundle))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            content = source.read(info)
            if info.filename == fmt.MANIFEST_NAME and manifest is not None:
                content = manifest if isinstance(manifest, bytes) else yaml.safe_dump(manifest)
            target.writestr(info.filename, content)
        for item in extra:
            if isinstance(item, zipfile.ZipInfo):
                target.writestr(item, b"x")
            else:
                target.writestr(*item)
    return out.getvalue()


def _manifest(bundle: bytes) -> dict:
    return yaml.safe_load(zipfile.ZipFile(io.BytesIO(bundle)).read(fmt.MANIFEST_NAME))


def _refused(bundle: bytes) -> list[str]:
    """Import the bundle, expect a refusal, and check that nothing remains; its messages."""
    challenges, files = Challenge.objects.count(), _stored_files()
    with pytest.raises(ValidationError) as refusal:
        services.bundle_import(io.BytesIO(bundle), user=UserFactory())
    assert Challenge.objects.count() == challenges
    assert _stored_files() == files
    return refusal.value.messages


# --- Coverage and round trip ----------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_every_configuration_field_is_exported_or_excluded_with_a_reason(name):
    model, keys = MODELS[name]
    fields = {f.name for f in model._meta.get_fields()
              if f.concrete or f.many_to_many and not f.auto_created}
    excluded = fmt.EXCLUDED[name]
    assert fields - set(keys) - set(excluded) == set(), "neither exported nor excluded"
    assert set(keys) & set(excluded) == set()
    assert set(keys) | set(excluded) <= fields, "the format names a field the model lacks"
    assert all(reason for reason in excluded.values())


def test_a_bundle_imported_again_is_the_same_challenge_as_a_new_draft_of_the_importer(
    demo_challenge, demo_bundle
):
    importer = UserFactory(username="teacher", is_staff=True)
    copy = services.bundle_import(io.BytesIO(demo_bundle), user=importer)
    assert copy.pk != demo_challenge.pk
    assert copy.slug == f"{demo_challenge.slug}-2"
    assert copy.status == Challenge.Status.DRAFT
    assert list(copy.organisers.all()) == [importer]
    assert _configuration(copy) == _configuration(demo_challenge)
    original = demo_challenge.phases.get()
    assert [b.slug for b in copy.phases.get().leaderboards.all()] == [
        b.slug for b in original.leaderboards.all()]
    assert "floors-first" in [b.slug for b in original.leaderboards.all()]
    # The floors and the margin travel; the reference entry is the new phase's organiser's.
    assert original.floors and copy.phases.get().floors == original.floors
    assert copy.phases.get().levelling_margin == original.levelling_margin
    assert copy.phases.get().reference_submission is None


def test_the_same_submission_scores_identically_on_the_imported_challenge(
    demo_challenge, demo_bundle, good_predictions
):
    copy = services.bundle_import(io.BytesIO(demo_bundle), user=UserFactory())
    results = []
    for challenge in (demo_challenge, copy):
        participant = ParticipantFactory(team__challenge=challenge)
        submission = services.submission_create(
            phase=challenge.phases.get(), user=participant.user, upload=upload(good_predictions)
        )
        score_now(submission)
        submission.refresh_from_db()
        results.append(submission.result)
    assert results[0]["public"] == results[1]["public"]
    assert results[0]["private"] == results[1]["private"]


def test_the_preview_names_what_the_import_creates_and_creates_nothing(demo_bundle):
    challenges, files = Challenge.objects.count(), _stored_files()
    summary = services.bundle_preview(io.BytesIO(demo_bundle))
    assert (Challenge.objects.count(), _stored_files()) == (challenges, files)
    assert summary.slug == "flchain-mortality-2"
    assert summary.data_files == ["train.csv", "test_features.csv"]
    (name, cases, boards), = summary.phases
    assert name == "Test phase" and cases == Phase.objects.get().truth_n_cases
    assert boards[2] == ("Worst sex group", ["sensitivity", "sensitivity@sex=female",
                                             "sensitivity@sex=male"])


def test_a_private_challenge_gets_a_fresh_invitation_code(demo_challenge):
    demo_challenge.access, demo_challenge.invitation_code = "private", "course-2025-secret"
    demo_challenge.save()
    bundle = services.bundle_export(demo_challenge)
    assert b"course-2025-secret" not in zipfile.ZipFile(io.BytesIO(bundle)).read(
        fmt.MANIFEST_NAME)
    copy = services.bundle_import(io.BytesIO(bundle), user=UserFactory())
    assert copy.access == "private"
    assert copy.invitation_code and copy.invitation_code != "course-2025-secret"


def test_the_commands_export_and_import_a_bundle(demo_challenge, tmp_path):
    path = tmp_path / "demo.zip"
    call_command("export_bundle", demo_challenge.slug, str(path), stdout=io.StringIO())
    UserFactory(username="teacher")
    out = io.StringIO()
    call_command("import_bundle", str(path), "--user", "teacher", stdout=out)
    copy = Challenge.objects.get(slug="flchain-mortality-2")
    assert copy.organisers.get().username == "teacher"
    assert "flchain-mortality-2" in out.getvalue()


# --- Hostile bundles ------------------------------------------------------------------------


def test_an_entry_outside_the_archive_root_is_refused(demo_bundle):
    messages = _refused(_rezip(demo_bundle, extra=[("files/../../evil.txt", b"x")]))
    assert any("points outside the bundle" in m for m in messages)


def test_an_absolute_path_is_refused(demo_bundle):
    messages = _refused(_rezip(demo_bundle, extra=[("/etc/cron.d/evil", b"x")]))
    assert any("absolute path" in m for m in messages)


def test_a_link_is_refused(demo_bundle):
    link = zipfile.ZipInfo("files/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    messages = _refused(_rezip(demo_bundle, extra=[link]))
    assert any("a link" in m for m in messages)


def test_a_zip_bomb_is_refused_before_it_is_inflated(demo_bundle, settings):
    settings.BUNDLE_MAX_BYTES = 10 * 1024 * 1024
    bomb = _rezip(demo_bundle, extra=[("files/zeros.bin", b"\0" * (11 * 1024 * 1024))])
    assert len(bomb) < 3 * 1024 * 1024
    messages = _refused(bomb)
    assert any("bytes uncompressed" in m for m in messages)


def test_too_many_entries_are_refused(demo_bundle, settings):
    settings.BUNDLE_MAX_ENTRIES = 20
    messages = _refused(_rezip(demo_bundle, extra=[(f"files/{i}", b"") for i in range(20)]))
    assert any("entries; at most 20" in m for m in messages)


def test_a_manifest_that_is_not_safe_yaml_is_refused(demo_bundle):
    messages = _refused(_rezip(demo_bundle, manifest=b"!!python/object/apply:os.system [id]"))
    assert any("not valid YAML" in m for m in messages)


def test_a_manifest_that_fails_its_schema_names_each_problem(demo_bundle):
    manifest = _manifest(demo_bundle)
    manifest["version"] = 99
    manifest["challenge"]["max_team_size"] = "three"
    del manifest["phases"][0]["threshold"]
    manifest["phases"][0]["leaderboards"][0]["columns"][0]["colour"] = "red"
    messages = _refused(_rezip(demo_bundle, manifest=manifest))
    assert any(m.startswith("version:") for m in messages)
    assert any(m.startswith("challenge.max_team_size: must be a whole number") for m in messages)
    assert "phases[0].threshold: missing." in messages
    assert "phases[0].leaderboards[0].columns[0].colour: unknown key." in messages


def test_values_the_models_refuse_are_named_by_their_place(demo_bundle):
    manifest = _manifest(demo_bundle)
    manifest["phases"][0]["threshold"] = 1.5
    manifest["phases"][0]["release_policy"] = "everything"
    messages = _refused(_rezip(demo_bundle, manifest=manifest))
    assert any(m.startswith("phases[0].release_policy:") for m in messages)
    assert any(m.startswith("phases[0]:") and "threshold" in m for m in messages)


def test_unknown_metrics_and_groups_are_refused(demo_bundle):
    manifest = _manifest(demo_bundle)
    boards = manifest["phases"][0]["leaderboards"]
    boards[0]["columns"][0]["column_id"] = "telepathy"
    boards[2]["columns"][1]["column_id"] = "sensitivity@sex=robot"
    messages = _refused(_rezip(demo_bundle, manifest=manifest))
    assert any(m.startswith("phases[0].leaderboards[0]:") and "telepathy" in m
               for m in messages)
    assert any(m.startswith("phases[0].leaderboards[2]:") and "robot" in m for m in messages)


def test_a_ground_truth_that_fails_validation_is_refused_and_its_files_removed(demo_bundle):
    manifest = _manifest(demo_bundle)
    path = manifest["phases"][0]["ground_truth"]
    broken = _rezip(demo_bundle, drop=[path],
                    extra=[(path, b"case_id,label\na,1\na,maybe\n")])
    messages = _refused(broken)
    assert any(m.startswith("phases[0].ground_truth:") for m in messages)


def test_a_failure_after_files_were_stored_leaves_none_of_them(demo_bundle):
    """The data files and the ground truth are stored before the boards are checked; a bad
    board at the end takes them all away with the rows."""
    manifest = _manifest(demo_bundle)
    manifest["phases"][0]["leaderboards"][1]["ranking"] = "worst_group"
    manifest["phases"][0]["leaderboards"][1]["worst_group_on"] = "planet"
    messages = _refused(_rezip(demo_bundle, manifest=manifest))
    assert any("planet" in m for m in messages)


def test_a_file_the_manifest_names_must_be_in_the_bundle(demo_bundle):
    path = _manifest(demo_bundle)["data_files"][0]["file"]
    messages = _refused(_rezip(demo_bundle, drop=[path]))
    assert f"{path}: named in the manifest but not in the bundle." in messages


def test_a_file_that_is_not_a_zip_is_refused():
    messages = _refused(b"PK not really")
    assert any("not a ZIP" in m for m in messages)


# --- The admin ------------------------------------------------------------------------------


def _upload(bundle: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("course.zip", bundle, content_type="application/zip")


def test_an_organiser_exports_their_challenge_from_the_admin(client, organiser, demo_challenge):
    demo_challenge.organisers.add(organiser)
    client.force_login(organiser)
    response = client.post(reverse("admin:competitions_challenge_changelist"), {
        "action": "export_bundle", "_selected_action": [demo_challenge.pk]})
    assert response["Content-Type"] == "application/zip"
    assert "flchain-mortality.cheetah-bundle.zip" in response["Content-Disposition"]
    assert _manifest(response.content)["challenge"]["title"] == demo_challenge.title


def test_an_organiser_previews_then_confirms_an_import_in_the_admin(
    client, organiser, demo_bundle
):
    client.force_login(organiser)
    url = reverse("admin:competitions_challenge_import_bundle")
    assert "Import a bundle" in client.get(
        reverse("admin:competitions_challenge_changelist")).content.decode()
    preview = client.post(url, {"bundle": _upload(demo_bundle)}).content.decode()
    assert "What the import will create" in preview
    assert "flchain-mortality-2" in preview and "Worst sex group" in preview
    assert not Challenge.objects.filter(slug="flchain-mortality-2").exists()
    response = client.post(url, {"confirm": "1"})
    copy = Challenge.objects.get(slug="flchain-mortality-2")
    assert response.url == reverse("admin:competitions_challenge_change", args=[copy.pk])
    assert list(copy.organisers.all()) == [organiser]
    assert not any(name.startswith("bundles/pending/") for name in _stored_files())


def test_a_hostile_bundle_in_the_admin_shows_its_problems_and_keeps_nothing(
    client, organiser, demo_bundle
):
    client.force_login(organiser)
    files = _stored_files()
    hostile = _rezip(demo_bundle, extra=[("../../evil.txt", b"x")])
    page = client.post(reverse("admin:competitions_challenge_import_bundle"),
                       {"bundle": _upload(hostile)}).content.decode()
    assert "The bundle is refused; nothing was created" in page
    assert "points outside the bundle" in page
    assert "Create the challenge" not in page
    assert Challenge.objects.count() == 1 and _stored_files() == files


def test_a_bundle_left_in_the_preview_is_deleted_after_a_day_and_a_fresh_one_kept(demo_bundle):
    from datetime import timedelta

    from django.utils import timezone

    from competitions.models import private_storage
    from competitions.worker.housekeeping import bundle_stashes_purge

    waiting = services.bundle_stash(io.BytesIO(demo_bundle))
    assert bundle_stashes_purge() == 0 and private_storage.exists(waiting)
    assert bundle_stashes_purge(now=timezone.now() + fmt.STASH_KEPT + timedelta(minutes=1)) == 1
    assert not private_storage.exists(waiting)
