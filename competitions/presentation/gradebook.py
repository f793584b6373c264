"""A phase's grades as files a learning platform imports (docs/courses.md, column by column).

- Moodle's grade import ("CSV file"): ``Email address``, then one column named after the grade
  item; the teacher maps the first to the user's e-mail and the second to the grade item.
- Canvas's gradebook import: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
  ``Section``, then ``<item> (<assignment id>)`` (the item's name alone for a new assignment).
  ``ID`` is the roster's ``lms_id`` (Canvas's user ID), empty when unknown; the SIS columns are
  left empty.
- ``detail``: every column the page shows (status, team, split, score, rank, points), for the
  teacher's own records.

Text cells go through ``SafeWriter`` like every other download: a student named
``=HYPERLINK(…)`` is text in the teacher's spreadsheet. Points are numbers, never text.
"""

from __future__ import annotations

import io

from cheetah.safe_csv import SafeWriter

LAYOUTS = ("moodle", "canvas", "detail")


def _number(value: float | None) -> float | int | str:
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else value


def _item(book: dict) -> str:
    rule = book["rule"]
    return rule.item if rule else book["phase"].name


def moodle_rows(book: dict) -> list[list]:
    rows = [["Email address", _item(book)]]
    rows += [[row["entry"].email, _number(row["points"])] for row in book["rows"]]
    return rows


def canvas_rows(book: dict) -> list[list]:
    rule = book["rule"]
    item = _item(book)
    if rule and rule.lms_item_id:
        item = f"{item} ({rule.lms_item_id})"
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", item]]
    for row in book["rows"]:
        entry = row["entry"]
        rows.append([entry.name or entry.email, entry.lms_id, "", "", entry.section,
                     _number(row["points"])])
    return rows


def detail_rows(book: dict) -> list[list]:
    rows = [["email", "name", "lms_id", "section", "status", "team", "split", "provisional",
             "metric", "score", "rank", "points"]]
    for row in book["rows"]:
        entry = row["entry"]
        rows.append([
            entry.email, entry.name, entry.lms_id, entry.section, row["status"], row["team"],
            book["split"], book["provisional"], book["metric"],
            "" if row["score"] is None else row["score"],
            "" if row["rank"] is None else row["rank"], _number(row["points"]),
        ])
    return rows


def gradebook_csv(book: dict, layout: str) -> str:
    rows = {"moodle": moodle_rows, "canvas": canvas_rows, "detail": detail_rows}[layout](book)
    out = io.StringIO()
    SafeWriter(out).writerows(rows)
    return out.getvalue()
