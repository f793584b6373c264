"""Write a study's data set as the files researchers load into R, Python, SPSS or Stata.

``write(dataset, folder)`` writes responses_wide.csv, responses_long.csv, responses.sav (SPSS:
variable labels, value labels, -97/-98/-99 declared missing), responses.dta (Stata: labels, the
missing codes as extended missing values .a/.b/.c), datapackage.json (Frictionless Data Package
v2; Table Schema ``categories`` carry the value labels) and codebook.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from django.utils import timezone

from cheetah.safe_csv import frame_to_csv
from surveys.dataset import StudyDataset, Variable
from surveys.naming import MISSING_CODES, STATA_MISSING

FILES = (
    "responses_wide.csv",
    "responses_long.csv",
    "responses.sav",
    "responses.dta",
    "datapackage.json",
    "codebook.md",
)
TABLE_SCHEMA = "https://datapackage.org/profiles/2.0/tableschema.json"
LONG_FIELDS = [
    ("pseudonym", "string", "Participant pseudonym"),
    ("survey", "string", "Survey slug"),
    ("survey_version", "integer", "Survey version"),
    ("variable", "string", "Question or grid-row variable"),
    ("code", "integer", "Chosen option code (one row per chosen option)"),
    ("number", "number", "Numeric answer"),
    ("text", "string", "Text answer or self-description (possibly identifying)"),
    ("missing", "integer", "Missing code: -97 not shown, -98 not answered, -99 prefer not"),
]


def write(dataset: StudyDataset, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    wide = _typed(dataset.wide, dataset.variables)
    frame_to_csv(wide, folder / "responses_wide.csv")
    long = dataset.long.astype({"code": "Int64", "missing": "Int64", "survey_version": "Int64"})
    frame_to_csv(long, folder / "responses_long.csv")
    _write_sav(wide, dataset.variables, folder / "responses.sav")
    _write_dta(wide, dataset.variables, folder / "responses.dta")
    (folder / "datapackage.json").write_text(
        json.dumps(datapackage(dataset), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / "codebook.md").write_text(codebook(dataset), encoding="utf-8")
    return [folder / name for name in FILES]


def _typed(frame: pd.DataFrame, variables: list[Variable]) -> pd.DataFrame:
    out = frame.copy()
    for v in variables:
        if v.type == "integer":
            out[v.name] = pd.to_numeric(out[v.name]).astype("Int64")
        elif v.type == "number":
            out[v.name] = pd.to_numeric(out[v.name]).astype("float64")
        else:
            out[v.name] = out[v.name].fillna("").astype(str)
    return out


def _value_labels(v: Variable) -> dict:
    labels = {float(code): label for code, label in v.categories.items()}
    if v.coded_missing:
        labels.update({float(code): label for code, label in MISSING_CODES.items()})
    return labels


def _numeric(frame: pd.DataFrame, variables: list[Variable]) -> pd.DataFrame:
    out = frame.copy()
    for v in variables:
        if v.type != "string":
            # Floats throughout: pyreadstat infers a column's type from its values, and an
            # integer column cannot hold a system-missing cell.
            out[v.name] = out[v.name].astype("float64")
    return out


def _write_sav(frame: pd.DataFrame, variables: list[Variable], path: Path) -> None:
    pyreadstat.write_sav(
        _numeric(frame, variables),
        str(path),
        column_labels={v.name: v.label for v in variables},
        variable_value_labels={v.name: _value_labels(v) for v in variables if _value_labels(v)},
        missing_ranges={v.name: sorted(MISSING_CODES) for v in variables if v.coded_missing},
        variable_measure={
            v.name: "scale"
            if v.type == "number" or (v.type == "integer" and not v.categories)
            else ("ordinal" if v.ordered else "nominal")
            for v in variables
        },
    )


def _write_dta(frame: pd.DataFrame, variables: list[Variable], path: Path) -> None:
    out = _numeric(frame, variables)
    for v in variables:
        if v.coded_missing:
            # Stata's extended missing values: -97 -> .a, -98 -> .b, -99 -> .c.
            out[v.name] = (
                out[v.name]
                .astype(object)
                .map(
                    lambda x: (
                        STATA_MISSING.get(int(x), x)
                        if pd.notna(x) and x in MISSING_CODES
                        else (np.nan if pd.isna(x) else x)
                    )
                )
            )
    pyreadstat.write_dta(
        out,
        str(path),
        column_labels={v.name: v.label for v in variables},
        variable_value_labels={
            v.name: {float(c): label for c, label in v.categories.items()}
            for v in variables
            if v.categories
        },
        missing_user_values={
            v.name: sorted(STATA_MISSING.values()) for v in variables if v.coded_missing
        },
    )


def _field(v: Variable) -> dict:
    description = v.question
    if v.identifying:
        description += " [free text: possibly identifying]"
    if v.special_category:
        description += " [special-category data: released only with explicit consent]"
    if v.reverse_coded:
        description += " [reverse-coded item]"
    field = {"name": v.name, "title": v.label, "type": v.type}
    if description.strip():
        field["description"] = description.strip()
    if v.categories:
        field["categories"] = [
            {"value": code, "label": label} for code, label in v.categories.items()
        ]
        if v.ordered:
            field["categoriesOrdered"] = True
    return field


def _missing_values() -> list[dict]:
    return [{"value": "", "label": "not asked or not released"}] + [
        {"value": str(code), "label": label} for code, label in MISSING_CODES.items()
    ]


def _resource(name: str, schema: dict) -> dict:
    return {
        "name": name,
        "path": f"{name}.csv",
        "type": "table",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


def datapackage(dataset: StudyDataset) -> dict:
    """A Frictionless Data Package v2 descriptor (https://datapackage.org/standard/)."""
    study = dataset.study
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": study.slug,
        "title": study.title,
        "description": "Pseudonymised survey responses exported from Cheetah; see codebook.md.",
        "created": timezone.now().isoformat(timespec="seconds"),
        "resources": [
            _resource(
                "responses_wide",
                {
                    "$schema": TABLE_SCHEMA,
                    "fields": [_field(v) for v in dataset.variables],
                    "primaryKey": ["pseudonym"],
                    "missingValues": _missing_values(),
                },
            ),
            _resource(
                "responses_long",
                {
                    "$schema": TABLE_SCHEMA,
                    "fields": [{"name": n, "type": t, "description": d} for n, t, d in LONG_FIELDS],
                    "missingValues": [""],
                },
            ),
        ],
    }


def codebook(dataset: StudyDataset) -> str:
    study = dataset.study
    lines = [
        f"# Codebook: {study.title}",
        "",
        f"Study `{study.slug}`, exported {timezone.now():%Y-%m-%d %H:%M} UTC; "
        f"{len(dataset.wide)} participants, {len(dataset.long)} answers in the long file.",
        "",
        "Rows are participants who currently consent to research use, under a pseudonym that is "
        "stable within this study (a keyed hash; it cannot be linked to other studies). No "
        "username, e-mail or name appears in any file.",
        "",
        "## Missing values",
        "",
        "| code | Stata | meaning |",
        "|---|---|---|",
        *[
            f"| {code} | .{STATA_MISSING[code]} | {label} |"
            for code, label in MISSING_CODES.items()
        ],
        "| (empty) | . | not asked (no response to that survey), or not released: linked "
        "activity without the linking consent, special-category data without explicit consent |",
        "",
        "The codes are declared as missing values in the `.sav` and as extended missing values "
        "in the `.dta`. Text variables use an empty cell for every kind of missing answer.",
        "",
        "## Text that looks like a formula",
        "",
        "In the two CSV files, a text cell that begins with `=`, `+`, `-`, `@`, a tab, a "
        "carriage return or NUL is written with a leading `'`, so that a spreadsheet shows it "
        "as text instead of running it (CSV injection, OWASP). Remove that first `'` to get "
        "the answer as given. Numbers are never prefixed; the `.sav` and `.dta` files hold "
        "every text as given.",
        "",
        "## Variables",
        "",
    ]
    for v in dataset.variables:
        flags = [
            flag
            for flag, on in (
                ("possibly identifying free text", v.identifying),
                ("special-category data", v.special_category),
                ("reverse-coded", v.reverse_coded),
                ("ordered", v.ordered),
            )
            if on
        ]
        lines += [
            f"### `{v.name}`",
            "",
            f"- label: {v.label}",
            f"- type: {v.type}",
            f"- source: {v.source}",
        ]
        if v.question:
            lines.append(f"- question: {v.question}")
        if flags:
            lines.append(f"- flags: {', '.join(flags)}")
        if v.categories:
            lines.append(
                "- values: " + "; ".join(f"{c} = {lab}" for c, lab in v.categories.items())
            )
        if v.coded_missing:
            lines.append("- missing: -97, -98, -99 (see above)")
        lines.append("")
    return "\n".join(lines)
