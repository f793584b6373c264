"""Write a study's data set as the files researchers load into R, Python, SPSS or Stata.

``write(dataset, folder)`` writes responses_wide.csv, responses_long.csv, responses.sav (SPSS:
variable labels, value labels, -97/-98/-99 declared missing, measurement levels, integer formats),
responses.dta (Stata: labels, the missing codes as extended missing values .a/.b/.c with their
value labels), datapackage.json (Frictionless Data Package v2; Table Schema ``categories`` carry
the value labels) and codebook.md (every variable's rule and the re-identification report).
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
from surveys.disclosure import DisclosureReport
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
        variable_measure={v.name: v.measure for v in variables},
        # SPSS stores every number as a double; the format says how many decimals it has.
        variable_format={v.name: "F8.0" for v in variables if v.type == "integer"},
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
            v.name: _stata_value_labels(v) for v in variables if v.categories or v.coded_missing
        },
        missing_user_values={
            v.name: sorted(STATA_MISSING.values()) for v in variables if v.coded_missing
        },
        # Integers are stored as doubles (pyreadstat 1.3 writes a system-missing cell of an
        # int32 column that also holds .a/.b/.c as 0) and displayed without decimals.
        variable_format={v.name: "%8.0g" for v in variables if v.type == "integer"},
    )


def _stata_value_labels(v: Variable) -> dict:
    """Value labels with the extended missing values .a/.b/.c labelled like SPSS's codes."""
    labels: dict = {float(c): label for c, label in v.categories.items()}
    if v.coded_missing:
        labels.update({STATA_MISSING[code]: label for code, label in MISSING_CODES.items()})
    return labels


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
        "activity without the linking consent, special-category data without explicit "
        "consent, or a quasi-identifier withheld in a group that is too small (see "
        "“Re-identification controls”) |",
        "",
        "The codes are declared as missing values in the `.sav` and as extended missing values "
        "(with the same value labels) in the `.dta`. Text variables use an empty cell for "
        "every kind of missing answer. In the long file, a withheld answer is one row whose "
        "`code`, `number`, `text` and `missing` are all empty.",
        "",
        *_disclosure_section(dataset.disclosure, dataset.exact_fields),
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
            f"- measurement level: {v.measure}",
            f"- source: {v.source}",
            f"- rule: {v.rule}",
        ]
        if v.question:
            lines.append(f"- question: {v.question}")
        if v.quasi_identifier:
            lines.append(f"- quasi-identifier: `{v.quasi_identifier}`")
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


def _disclosure_section(report: DisclosureReport | None, exact_fields: list[str]) -> list[str]:
    """The re-identification report: the quasi-identifiers, the smallest group (k) before and
    after withholding, and a warning with the groups that stay under the threshold."""
    lines = ["## Re-identification controls", ""]
    coarse = (
        "By default the linked activity is coarsened: `joined_at` is the ISO week, `team_size` "
        "is 1 / 2 or more and `n_submissions` a band."
    )
    if exact_fields:
        coarse += " This study opted into finer values of: " + ", ".join(
            f"`{name}`" for name in exact_fields
        ) + " (recorded in the export log)."
    lines += [coarse, ""]
    if report is None or not report.quasi_identifiers:
        return [*lines, "This export holds no quasi-identifiers.", ""]
    lines += [
        "Quasi-identifiers (a missing value counts as a value of its own): "
        + ", ".join(
            f"`{name}`" + (f" ({', '.join(f'`{c}`' for c in cols)})" if cols != [name] else "")
            for name, cols in report.quasi_identifiers.items()
        )
        + ".",
        "",
    ]
    if report.k_before is None:
        return [*lines, "The export has no rows, so no group sizes.", ""]
    lines += [
        f"- threshold (the study's smallest group): {report.threshold}",
        f"- smallest group before withholding (k): {report.k_before}, "
        f"{report.rows_below_before} of the rows in groups under the threshold",
        f"- smallest group as exported (k): {report.k}",
    ]
    if report.alone:
        lines.append(
            "- smallest group of each quasi-identifier on its own: "
            + ", ".join(f"`{name}` {n}" for name, n in report.alone.items())
        )
    if report.withheld:
        lines.append(
            "- withheld (rows): "
            + ", ".join(f"`{name}` {n}" for name, n in report.withheld.items())
        )
    lines.append("")
    if report.below_threshold:
        names = list(report.quasi_identifiers)
        lines += [
            f"**Warning:** k = {report.k} is below the threshold of {report.threshold}, even "
            "with values withheld (too few participants share these combinations). The groups "
            "under the threshold, as exported:",
            "",
            "| rows | " + " | ".join(f"`{name}`" for name in names) + " |",
            "|---|" + "---|" * len(names),
            *[
                f"| {group.size} | "
                + " | ".join(group.values[n].replace("|", "\\|") for n in names)
                + " |"
                for group in report.small_groups
            ],
            "",
        ]
    return lines
