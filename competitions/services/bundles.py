"""Challenge bundles: a challenge's configuration and files as one ZIP, and back.

``bundle_export`` writes what ``competitions.bundle_format`` lists; ``bundle_import`` makes a
new draft challenge from it, owned by the importer, in one transaction: on any problem nothing
remains, stored files included. ``bundle_preview`` runs the same import and undoes it, so what
it shows (and every problem) is exactly what the import would do.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import get_valid_filename

from competitions import bundle_format as fmt
from competitions import hooks
from competitions.boards import leaderboard_validate
from competitions.metrics import metric_choices
from competitions.models import (
    Challenge,
    DataFile,
    Leaderboard,
    LeaderboardColumn,
    Phase,
    private_storage,
)
from competitions.services.phases import phase_default_leaderboard, truth_upload


@dataclass
class BundleSummary:
    """What an import creates (or, from ``bundle_preview``, would create)."""

    title: str
    slug: str
    task: str
    study: str | None
    data_files: list[str] = field(default_factory=list)
    # (phase name, cases in its ground truth or None, [(board name, column ids)])
    phases: list[tuple[str, int | None, list[tuple[str, list[str]]]]] = field(
        default_factory=list
    )


def bundle_limits() -> fmt.Limits:
    return fmt.Limits(
        max_bytes=settings.BUNDLE_MAX_BYTES,
        max_entries=settings.BUNDLE_MAX_ENTRIES,
        max_manifest_bytes=settings.BUNDLE_MAX_MANIFEST_BYTES,
    )


# --- Export ---------------------------------------------------------------------------------


def bundle_export(challenge: Challenge) -> bytes:
    """The challenge as a bundle: the manifest and its data files and ground truths."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        data_files = []
        for i, data_file in enumerate(challenge.data_files.order_by("pk")):
            record = _fields(data_file, fmt.DATA_FILE_KEYS)
            record["file"] = None
            if data_file.file:
                name = get_valid_filename(data_file.filename or data_file.title)[:80] or "file"
                record["file"] = f"{fmt.FILES_DIR}/data/{i + 1}-{name}"
                _archive_write(archive, record["file"], data_file.file)
            data_files.append(record)
        phases = []
        for phase in challenge.phases.order_by("start", "pk"):
            record = _fields(phase, fmt.PHASE_KEYS)
            record["ground_truth"] = None
            if phase.ground_truth:
                record["ground_truth"] = f"{fmt.FILES_DIR}/truth/{phase.slug}.csv"
                _archive_write(archive, record["ground_truth"], phase.ground_truth)
            record["leaderboards"] = [
                {**_fields(board, fmt.LEADERBOARD_KEYS),
                 "columns": [_fields(c, fmt.COLUMN_KEYS) for c in board.columns.all()]}
                for board in phase.leaderboards.prefetch_related("columns")
            ]
            phases.append(record)
        manifest = {
            "format": fmt.FORMAT,
            "version": fmt.VERSION,
            "exported_at": timezone.now().isoformat(),
            "challenge": _fields(challenge, fmt.CHALLENGE_KEYS),
            "study": hooks.study_slug(challenge),
            "data_files": data_files,
            "phases": phases,
        }
        archive.writestr(
            fmt.MANIFEST_NAME,
            yaml.dump(manifest, Dumper=_ManifestDumper, sort_keys=False, allow_unicode=True,
                      width=100),
        )
    return buffer.getvalue()


class _ManifestDumper(yaml.SafeDumper):
    """Safe YAML with multi-line texts (the markdown pages) as literal blocks, readable and
    editable as they are written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _text)


def _fields(obj: Model, keys: dict[str, object]) -> dict:
    out = {}
    for key in keys:
        value = getattr(obj, key)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, str):
            value = str(value)  # a TextChoices member as its plain value, which YAML can write
        out[key] = value
    return out


def _archive_write(archive: zipfile.ZipFile, name: str, stored) -> None:
    """Copy a stored file into the archive in chunks (it may be large, and on S3)."""
    with stored.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
        shutil.copyfileobj(source, target, 1024 * 1024)


# --- Import ---------------------------------------------------------------------------------


class _DryRun(Exception):
    def __init__(self, summary: BundleSummary) -> None:
        self.summary = summary


def bundle_import(upload, *, user) -> Challenge:
    """A new draft challenge from a bundle, organised by ``user``; ``ValidationError`` naming
    every problem found, and nothing created, when the bundle is refused."""
    return _import(upload, user=user, dry_run=False)


def bundle_preview(upload) -> BundleSummary:
    """What ``bundle_import`` would create from this bundle, or its ``ValidationError``: the
    import is run and undone (rows and stored files)."""
    try:
        _import(upload, user=None, dry_run=True)
    except _DryRun as done:
        return done.summary
    raise AssertionError("a dry run ends in _DryRun")  # pragma: no cover


def _import(upload, *, user, dry_run: bool):
    with _open_archive(upload) as archive:
        data = _manifest(archive)
        stored: list[tuple[object, str]] = []
        try:
            with transaction.atomic():
                challenge, summary = _create(archive, data, stored)
                if dry_run:
                    raise _DryRun(summary)
                challenge.organisers.add(user)
        except BaseException:
            _delete(stored)
            raise
    return challenge


def _open_archive(upload) -> zipfile.ZipFile:
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"The file is not a ZIP archive: {exc}") from exc
    problems = fmt.archive_problems(archive, bundle_limits())
    if problems:
        archive.close()
        raise ValidationError(problems)
    return archive


def _manifest(archive: zipfile.ZipFile) -> dict:
    data, problems = fmt.manifest_parse(_read(archive, fmt.MANIFEST_NAME))
    if data is not None:
        names = set(archive.namelist())
        problems += [
            f"{path}: named in the manifest but not in the bundle."
            for path in fmt.manifest_files(data) if path not in names
        ]
    if problems:
        raise ValidationError(problems)
    return data


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a CRC or size that lies
        raise ValidationError(f"{name}: cannot be read from the bundle ({exc}).") from exc


def _archive_file(archive: zipfile.ZipFile, name: str) -> File:
    """An archive entry as a seekable file (in memory up to 5 MB, then on disk)."""
    # Returned open: the storage reads it when the row saves; closed when collected.
    spool = tempfile.SpooledTemporaryFile(max_size=5 * 1024 * 1024)  # noqa: SIM115
    try:
        with archive.open(name) as source:
            shutil.copyfileobj(source, spool, 1024 * 1024)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValidationError(f"{name}: cannot be read from the bundle ({exc}).") from exc
    spool.seek(0)
    return File(spool, name=PurePosixPath(name).name)


def _create(archive, data: dict, stored: list) -> tuple[Challenge, BundleSummary]:
    """Every row and file of the bundle; raises one ``ValidationError`` with all problems."""
    problems: list[str] = []
    values = dict(data["challenge"])
    values["slug"] = _free_slug(values["slug"])
    challenge = Challenge(**values, status=Challenge.Status.DRAFT)
    if challenge.access == Challenge.Access.PRIVATE:
        challenge.invitation_code = get_random_string(16)
    if not _clean(challenge, "challenge", problems):
        raise ValidationError(problems)
    challenge.save()
    summary = BundleSummary(title=challenge.title, slug=challenge.slug, task=challenge.task,
                            study=data.get("study"))
    for i, record in enumerate(data.get("data_files") or []):
        data_file = DataFile(challenge=challenge, **{k: v for k, v in record.items()
                                                     if k != "file"})
        if record.get("file"):
            data_file.file.save(record["file"], _archive_file(archive, record["file"]),
                                save=False)
            stored.append((data_file.file.storage, data_file.file.name))
        if _clean(data_file, f"data_files[{i}]", problems, exclude=["challenge"]):
            data_file.save()
            summary.data_files.append(data_file.filename or data_file.title)
    for i, record in enumerate(data.get("phases") or []):
        summary.phases.append(_phase(archive, challenge, record, f"phases[{i}]", stored,
                                     problems))
    if problems:
        raise ValidationError(problems)
    return challenge, summary


def _phase(archive, challenge, record, where, stored, problems):
    values = {k: v for k, v in record.items() if k not in ("ground_truth", "leaderboards")}
    phase = Phase(challenge=challenge, **values)
    ok = _clean(phase, where, problems, exclude=["challenge", "ground_truth"])
    if record["primary_metric"] not in dict(metric_choices(challenge.task)):
        problems.append(f"{where}.primary_metric: unknown metric “{record['primary_metric']}” "
                        f"for a {challenge.task} task.")
        ok = False
    if not ok:
        return (phase.name, None, [])
    phase.save()
    if record.get("ground_truth"):
        try:
            truth_upload(phase=phase, upload=_archive_file(archive, record["ground_truth"]))
        except ValidationError as exc:
            problems += [f"{where}.ground_truth: {m}" for m in exc.messages]
            return (phase.name, None, [])
        finally:
            stored += [(f.storage, f.name) for f in
                       (phase.ground_truth, phase.case_list, phase.sample_submission) if f]
    boards = []
    for j, board_record in enumerate(record.get("leaderboards") or []):
        board = _leaderboard(phase, board_record, f"{where}.leaderboards[{j}]", problems)
        if board is not None:
            boards.append((board.name, [c["column_id"] for c in board_record["columns"]]))
    if not record.get("leaderboards"):
        board = phase_default_leaderboard(phase)
        boards.append((board.name, list(board.columns.values_list("column_id", flat=True))))
    return (phase.name, phase.truth_n_cases, boards)


def _leaderboard(phase, record, where, problems) -> Leaderboard | None:
    board = Leaderboard(phase=phase, **{k: v for k, v in record.items() if k != "columns"})
    if not _clean(board, where, problems, exclude=["phase"]):
        return None
    columns = record["columns"]
    ids = [c["column_id"] for c in columns]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append(f"{where}.columns: each column once; repeated: {', '.join(repeated)}.")
        return None
    try:
        leaderboard_validate(board, [c["column_id"] for c in columns],
                             [c["column_id"] for c in columns if c["ranked"]])
    except ValidationError as exc:
        problems += [f"{where}: {m}" for m in exc.messages]
        return None
    board.save()
    made = [LeaderboardColumn(leaderboard=board, **c) for c in columns]
    if all(_clean(c, f"{where}.columns[{k}]", problems, exclude=["leaderboard"])
           for k, c in enumerate(made)):
        LeaderboardColumn.objects.bulk_create(made)
    return board


def _clean(obj: Model, where: str, problems: list[str], exclude=None) -> bool:
    """Whether the row is valid as the models define it (fields, choices, constraints); its
    problems are added, each named by its place in the manifest."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            place = where if key == "__all__" else f"{where}.{key}"
            problems += [f"{place}: {m}" for m in messages]
        return False
    return True


def _free_slug(slug: str) -> str:
    """The bundle's slug, or with -2, -3, … when a challenge has it already."""
    candidate, n = slug, 1
    while Challenge.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{slug[:75]}-{n}"
    return candidate


# --- The admin's two steps: a bundle waits in private storage between preview and confirm ---


def bundle_stash(upload) -> str:
    """Keep an uploaded bundle until its organiser confirms the preview; returns its name."""
    upload.seek(0)
    return private_storage.save(f"{fmt.STASH_FOLDER}/{uuid.uuid4().hex}.zip", upload)


def bundle_stash_import(name: str, *, user) -> Challenge:
    """Import a stashed bundle and drop it, whether the import succeeds or not."""
    try:
        with private_storage.open(name, "rb") as handle:
            return bundle_import(handle, user=user)
    finally:
        private_storage.delete(name)


def bundle_stash_drop(name: str) -> None:
    private_storage.delete(name)


def _delete(stored: list[tuple[object, str]]) -> None:
    for storage, name in stored:
        storage.delete(name)
