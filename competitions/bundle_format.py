"""The challenge bundle's format: a ZIP with ``cheetah-bundle.yaml`` and the files it names.

Pure: no models, no storage. It says which field of each configuration model the manifest
carries (and which it leaves out, with the reason: a test fails on a field in neither list), and
checks an archive and its manifest before anything is created — every problem named at once,
so an organiser fixes a bundle in one go. docs/bundles.md describes the format for people.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

import yaml

FORMAT = "cheetah-bundle"
VERSION = 1
MANIFEST_NAME = "cheetah-bundle.yaml"
FILES_DIR = "files"

_DATETIME = "datetime"
# Where the admin keeps an uploaded bundle between its preview and the confirmation, and how
# long one left unconfirmed is kept (competitions.worker.housekeeping deletes it then).
STASH_FOLDER = "bundles/pending"
STASH_KEPT = timedelta(days=1)

_TEXT = (str,)
_INT = (int,)
_NUMBER = (int, float)
_BOOL = (bool,)
_FILE = "file"

# Key -> accepted type, per model: the manifest carries exactly these fields. Values are then
# checked by the models themselves (choices, lengths, constraints) when the import saves them.
CHALLENGE_KEYS: dict[str, object] = {
    "title": _TEXT, "slug": _TEXT, "summary": _TEXT, "overview": _TEXT, "rules": _TEXT,
    "data_description": _TEXT, "access": _TEXT, "task": _TEXT, "max_team_size": _INT,
    "grid_intensity": (*_NUMBER, type(None)), "course_mode": _BOOL,
}
DATA_FILE_KEYS: dict[str, object] = {
    "title": _TEXT, "description": _TEXT, "filename": _TEXT, "url": _TEXT,
    "file": (*_TEXT, type(None)),
}
PHASE_KEYS: dict[str, object] = {
    "name": _TEXT, "slug": _TEXT, "start": _DATETIME, "end": _DATETIME,
    "submissions_per_day": _INT, "submissions_total": _INT, "threshold": _NUMBER,
    "cost_fn": _NUMBER, "cost_fp": _NUMBER, "costs_known": _BOOL, "threshold_given": _BOOL,
    "calibration_matters": _BOOL, "interest_in_positives": _BOOL,
    "primary_metric": _TEXT, "bootstrap_resamples": _INT, "min_group_size": _INT,
    "intersections": _TEXT, "power_baseline": _NUMBER, "power_difference": _NUMBER,
    "private_share": _NUMBER, "split_seed": _INT, "score_visibility": _TEXT,
    "release_policy": _TEXT, "release_decimals": _INT, "similarity_flag_threshold": _NUMBER,
    "ensemble_size": _INT, "grid_intensity": (*_NUMBER, type(None)),
    "rater_tie_rule": _TEXT, "floors": (dict,), "levelling_margin": _NUMBER,
    "reference_label": _TEXT, "ground_truth": (*_TEXT, type(None)),
}
LEADERBOARD_KEYS: dict[str, object] = {
    "slug": _TEXT, "name": _TEXT, "description": _TEXT, "ranking": _TEXT,
    "worst_group_on": _TEXT, "counting": _TEXT, "is_primary": _BOOL, "order": _INT,
    "robustness_resamples": _INT, "robustness_seed": _INT,
}
COLUMN_KEYS: dict[str, object] = {
    "column_id": _TEXT, "title": _TEXT, "ranked": _BOOL, "shown": _BOOL, "order": _INT,
}

# Model fields the bundle leaves out on purpose, and why (docs/bundles.md lists them too).
EXCLUDED: dict[str, dict[str, str]] = {
    "Challenge": {
        "id": "the database's",
        "created_at": "the import's time",
        "status": "an import is always a draft until its organiser publishes it",
        "organisers": "the importer organises the new challenge",
        "invitation_code": "a secret: a private challenge gets a fresh one",
    },
    "DataFile": {"id": "the database's", "challenge": "the bundle's challenge"},
    "Phase": {
        "id": "the database's",
        "challenge": "the bundle's challenge",
        "truth_n_cases": "derived from the ground truth at import",
        "truth_attributes": "derived from the ground truth at import",
        "truth_uploaded_at": "the import's time",
        "truth_report": "derived from the ground truth at import",
        "case_list": "derived from the ground truth at import",
        "sample_submission": "derived from the ground truth at import",
        "leaderboard_version": "a re-rank counter of the running phase",
        "scores_published_at": "state of the running phase: the new one starts unpublished",
        "reference_submission": "a submission of the running phase: the new phase has none yet",
        "reference_file": "not carried: the organiser uploads the reference entry in the new "
        "phase's admin, where it is checked against that phase's ground truth",
        "reference_result": "derived: the reference file is scored at the phase's next ranking",
    },
    "Leaderboard": {"id": "the database's", "phase": "the phase it is listed under"},
    "LeaderboardColumn": {"id": "the database's", "leaderboard": "the board it is listed under"},
}


@dataclass(frozen=True)
class Limits:
    """What an archive may hold, in bytes once uncompressed and in entries."""

    max_bytes: int
    max_entries: int
    max_manifest_bytes: int


def archive_problems(archive: zipfile.ZipFile, limits: Limits) -> list[str]:
    """Why the archive may not be read, or ``[]``: entries outside its root (``..``, absolute
    paths, drive letters, backslashes), links, more entries or more bytes uncompressed than the
    limits, a missing or oversized manifest. Sizes are the declared ones, which ``zipfile``
    enforces when it reads (a lying header fails the CRC and size checks)."""
    entries = archive.infolist()
    problems = []
    if len(entries) > limits.max_entries:
        problems.append(
            f"The bundle has {len(entries)} entries; at most {limits.max_entries} are allowed."
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_bytes:
        problems.append(
            f"The bundle holds {total:,} bytes uncompressed; at most {limits.max_bytes:,} are "
            "allowed."
        )
    for entry in entries[: limits.max_entries]:
        problem = _entry_problem(entry)
        if problem:
            problems.append(problem)
    names = {entry.filename: entry for entry in entries}
    manifest = names.get(MANIFEST_NAME)
    if manifest is None:
        problems.append(f"The bundle has no {MANIFEST_NAME} at its root.")
    elif manifest.file_size > limits.max_manifest_bytes:
        problems.append(
            f"{MANIFEST_NAME} is {manifest.file_size:,} bytes; at most "
            f"{limits.max_manifest_bytes:,} are allowed."
        )
    return problems


def _entry_problem(entry: zipfile.ZipInfo) -> str | None:
    name = entry.filename
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"“{name[:100]}”: an absolute path; entries must lie inside the bundle."
    if "\\" in name or ".." in path.parts:
        return f"“{name[:100]}”: points outside the bundle."
    if stat.S_ISLNK(entry.external_attr >> 16):
        return f"“{name[:100]}”: a link; bundles hold plain files only."
    return None


def manifest_parse(text: bytes) -> tuple[dict | None, list[str]]:
    """The manifest as data, with every schema problem named by its place
    (``phases[0].threshold``); ``(None, problems)`` when it is not YAML at all."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [f"{MANIFEST_NAME} is not valid YAML: {exc}"]
    if not isinstance(data, dict):
        return None, [f"{MANIFEST_NAME} must be a mapping of keys to values."]
    problems = []
    if data.get("format") != FORMAT:
        problems.append(f"format: must be “{FORMAT}”.")
    if data.get("version") != VERSION:
        problems.append(
            f"version: this site reads version {VERSION}; the bundle says "
            f"{data.get('version')!r}."
        )
    _check_keys(data, {"format", "version", "exported_at", "challenge", "study", "data_files",
                       "phases"}, "", problems, required={"format", "version", "challenge",
                                                           "phases"})
    if "study" in data and not isinstance(data["study"], (str, type(None))):
        problems.append("study: must be a study's slug or empty.")
    _check_record(data.get("challenge"), CHALLENGE_KEYS, "challenge", problems)
    for i, item in enumerate(_list(data, "data_files", problems)):
        _check_record(item, DATA_FILE_KEYS, f"data_files[{i}]", problems)
    for i, phase in enumerate(_list(data, "phases", problems)):
        where = f"phases[{i}]"
        _check_record(phase, {**PHASE_KEYS, "leaderboards": list}, where, problems)
        if not isinstance(phase, dict):
            continue
        for j, board in enumerate(_list(phase, "leaderboards", problems, where)):
            _check_record(board, {**LEADERBOARD_KEYS, "columns": list},
                          f"{where}.leaderboards[{j}]", problems)
            if isinstance(board, dict):
                for k, column in enumerate(
                    _list(board, "columns", problems, f"{where}.leaderboards[{j}]")
                ):
                    _check_record(column, COLUMN_KEYS,
                                  f"{where}.leaderboards[{j}].columns[{k}]", problems)
    return data, problems


def manifest_files(data: dict) -> list[str]:
    """The archive paths the manifest names (data files and ground truths)."""
    paths = [item.get("file") for item in data.get("data_files") or []]
    paths += [phase.get("ground_truth") for phase in data.get("phases") or []]
    return [p for p in paths if isinstance(p, str) and p]


def _list(data: dict, key: str, problems: list[str], where: str = "") -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{_join(where, key)}: must be a list.")
        return []
    return value


def _check_record(record, keys: dict[str, object], where: str, problems: list[str]) -> None:
    if not isinstance(record, dict):
        problems.append(f"{where}: must be a mapping.")
        return
    _check_keys(record, set(keys), where, problems, required=set(keys))
    for key, expected in keys.items():
        if key not in record:
            continue
        value = record[key]
        if expected == _DATETIME:
            ok = (isinstance(value, datetime) and value.tzinfo is not None) or (
                isinstance(value, str) and _is_iso(value)
            )
            kind = "a date and time (ISO 8601, with its offset)"
        elif expected is list:
            ok, kind = isinstance(value, list), "a list"
        else:
            # bool is an int in Python: a count given as true is refused all the same.
            ok = isinstance(value, expected) and not (
                isinstance(value, bool) and bool not in expected
            )
            kind = " or ".join(_TYPE_NAMES[t] for t in expected)
        if not ok:
            problems.append(f"{_join(where, key)}: must be {kind}, not {value!r:.60}.")


def _check_keys(record: dict, allowed: set[str], where: str, problems: list[str], *,
                required: set[str]) -> None:
    for key in sorted(set(record) - allowed, key=str):
        problems.append(f"{_join(where, str(key))}: unknown key.")
    for key in sorted(required - set(record)):
        problems.append(f"{_join(where, key)}: missing.")


def _is_iso(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
               dict: "a mapping (metric: value)", type(None): "empty"}
