"""The BIAS checklist (Maier-Hein et al. 2020, "BIAS: Transparent reporting of biomedical image
analysis challenges", Medical Image Analysis 66:101796), as data.

Each item names its section of the paper and, where the platform knows the answer, the key of
``facts`` (built by ``competitions.report.build``) that fills it; an item without one, or whose
fact is empty, is marked for the organisers to complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class BiasItem:
    number: str
    section: str
    text: str
    fact: str | None = None


BIAS_ITEMS: tuple[BiasItem, ...] = (
    BiasItem("1", "Challenge name", "Challenge name and acronym", "title"),
    BiasItem("2", "Challenge organization", "Organising team and contact", None),
    BiasItem("3", "Challenge organization", "Life cycle type (one-time, open call, repeated)",
             "lifecycle"),
    BiasItem("4", "Challenge organization", "Challenge venue and platform", "platform"),
    BiasItem("5", "Challenge organization", "Challenge schedule (start and end of each phase)",
             "schedule"),
    BiasItem("6", "Challenge organization", "Ethics approval", None),
    BiasItem("7", "Challenge organization", "Data usage agreement and licence", "rules"),
    BiasItem("8", "Challenge organization", "Code availability (evaluation software)",
             "evaluation_code"),
    BiasItem("9", "Challenge organization", "Conflicts of interest and funding", None),
    BiasItem("10", "Challenge organization", "Participation policies (teams, submissions "
             "allowed, use of external data)", "participation"),
    BiasItem("11", "Mission", "Field of application and task category", "task"),
    BiasItem("12", "Mission", "Target cohort and challenge cohort", None),
    BiasItem("13", "Mission", "Imaging modality and context information", None),
    BiasItem("14", "Mission", "Assessment aim (property of the algorithms assessed)",
             "metrics"),
    BiasItem("15", "Data sets", "Data source(s), acquisition devices and protocols", None),
    BiasItem("16", "Data sets", "Training, validation and test cases (numbers, splits)",
             "cases"),
    BiasItem("17", "Data sets", "Annotation: who annotated, how, and the annotators' "
             "agreement", "raters"),
    BiasItem("18", "Data sets", "Data pre-processing", None),
    BiasItem("19", "Data sets", "Sources of error and label bias", "label_bias"),
    BiasItem("20", "Data sets", "Subgroups and their sizes (for fairness analyses)", "groups"),
    BiasItem("21", "Assessment method", "Metric(s) and the reasons for their choice", "metrics"),
    BiasItem("22", "Assessment method", "Ranking method (rule, ties, missing results)",
             "ranking"),
    BiasItem("23", "Assessment method", "Statistical analyses (uncertainty, significance, "
             "ranking robustness)", "statistics"),
    BiasItem("24", "Assessment method", "Further analyses (sensitivity, similarity, compute)",
             "further"),
    BiasItem("25", "Results", "Numbers of registered teams and of submissions", "numbers"),
    BiasItem("26", "Results", "Information on the selected participating submissions "
             "(leaderboard with intervals)", "leaderboard"),
    BiasItem("27", "Results", "Publication and reporting policy", None),
)


def bias_checklist(facts: dict[str, str]) -> list[dict]:
    """The checklist with each item's answer from ``facts``, or marked for the organisers."""
    missing = _("To be completed by the organisers.")
    rows = []
    for item in BIAS_ITEMS:
        answer = facts.get(item.fact or "", "") if item.fact else ""
        rows.append({"number": item.number, "section": item.section, "text": item.text,
                     "answer": answer or missing, "filled": bool(answer)})
    return rows
