"""A study's research data set: who may appear, under which pseudonym, with which columns.

Reads the database and returns plain tables (pandas) and variable metadata; ``surveys.export``
writes them to files. The rules (docs/studies.md):

- a participant appears only while their latest research decision is "yes";
- linked competition activity only with the linking consent, special-category questions only
  with the explicit special-category consent (otherwise those cells are empty);
- pseudonyms are keyed hashes (``services.pseudonym``), never user ids, names or e-mails;
- numeric answers missing for a known reason carry -97 (not shown), -98 (not answered) or -99
  (prefer not to say); an empty cell means "not asked / not released";
- quasi-identifiers (linked activity, the arm, demographic answers) are coarse by default
  (joined week, team size 1 / 2+, submission bands; a study may opt into finer ones) and
  withheld in rows whose combination is rarer than the study's threshold
  (``surveys.disclosure``).

Every variable carries its ``rule``: how its value is derived, which the codebook states.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC

import pandas as pd
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count

from competitions.models import Participant, Phase, Submission
from competitions.release import release_value, viewer_for
from competitions.standings import phase_standings
from surveys.conditions import answers_by_key, is_shown
from surveys.disclosure import DisclosureReport, protect
from surveys.models import (
    ArmAssignment,
    ConsentDecision,
    ConsentItem,
    GridRow,
    Question,
    Response,
    Study,
    Survey,
)
from surveys.naming import NOT_ANSWERED, NOT_SHOWN, PREFER_NOT, prefixed

#: Rank bands of the best rank on the primary leaderboard: an exact rank would re-identify a
#: participant through the public leaderboard. Left empty when fewer than this many teams rank.
MIN_TEAMS_FOR_BAND = 10
RANK_BANDS = {1: "top 10%", 2: "10-25%", 3: "25-50%", 4: "bottom 50%"}
#: The default, coarse codings of team size and submissions (exact values are an opt-in).
TEAM_SIZES = {1: "1 (alone)", 2: "2 or more"}
#: Submission bands: (code, label, lowest count in the band).
SUBMISSION_BANDS = ((0, "none", 0), (1, "1-5", 1), (2, "6-20", 6), (3, "21 or more", 21))
#: What every quasi-identifier's rule ends with.
QUASI_RULE = (
    " A quasi-identifier: withheld (empty) in rows whose combination of quasi-identifiers is "
    "shared by fewer participants than the study's threshold (see “Re-identification "
    "controls”)."
)


@dataclass
class Variable:
    """One column of the wide file, with what SPSS, Stata, Frictionless and the codebook need."""

    name: str
    label: str
    type: str  # "integer", "number" or "string"
    source: str  # e.g. "survey pre v1", "consent", "competition activity"
    question: str = ""
    categories: dict[int, str] = field(default_factory=dict)
    coded_missing: bool = False  # numeric with -97/-98/-99
    identifying: bool = False  # free text: may identify a person
    special_category: bool = False
    reverse_coded: bool = False
    ordered: bool = False
    rule: str = ""  # how the value is derived, stated in the codebook
    quasi_identifier: str = ""  # the quasi-identifier this column belongs to, if any

    @property
    def measure(self) -> str:
        """SPSS's measurement level: counts and amounts are scale, ordered codes ordinal."""
        if self.type == "number" or (self.type == "integer" and not self.categories):
            return "scale"
        return "ordinal" if self.ordered else "nominal"


@dataclass
class StudyDataset:
    study: Study
    variables: list[Variable]
    wide: pd.DataFrame
    long: pd.DataFrame
    disclosure: DisclosureReport | None = None
    exact_fields: list[str] = field(default_factory=list)


def pseudonym(study: Study, user_id: int) -> str:
    """A keyed hash (HMAC-SHA256) of the user id under the study's secret: stable across
    exports of one study, unlinkable across studies, and not reversible without the secret."""
    digest = hmac.new(
        study.pseudonym_secret.encode(), str(user_id).encode(), hashlib.sha256
    ).hexdigest()
    return f"P{digest[:12]}"


def submission_band(n: int) -> int:
    """The code of the band of ``SUBMISSION_BANDS`` that ``n`` submissions fall in."""
    return max(code for code, _label, lowest in SUBMISSION_BANDS if n >= lowest)


def rank_band(rank: int, n_teams: int) -> int | None:
    """1-4 for top 10%, 10-25%, 25-50%, bottom 50% of ``n_teams``; ``None`` under 10 teams."""
    if n_teams < MIN_TEAMS_FOR_BAND:
        return None
    share = rank / n_teams
    if share <= 0.10:
        return 1
    if share <= 0.25:
        return 2
    if share <= 0.50:
        return 3
    return 4


def consenting_users(study: Study, item: str = ConsentItem.RESEARCH) -> dict[int, int]:
    """User id -> consent version number, for users whose latest decision on ``item`` is yes."""
    latest: dict[int, ConsentDecision] = {}
    for decision in ConsentDecision.objects.filter(study=study, item=item).select_related(
        "version"
    ):
        latest[decision.user_id] = decision
    return {uid: d.version.version for uid, d in latest.items() if d.agreed}


def released_people(study: Study) -> tuple[dict[int, int], set[int]]:
    """Whom the research data hold: user id -> consent version of everyone whose latest
    research decision is yes (withdrawn people are not among them), and the ids of those of
    them whose special-category answers are released too (explicit consent)."""
    research = consenting_users(study)
    return research, set(consenting_users(study, ConsentItem.SPECIAL)) & set(research)


def build(study: Study) -> StudyDataset:
    research, special = released_people(study)
    linking = set(consenting_users(study, ConsentItem.LINKING)) & set(research)
    responses = (
        Response.objects.filter(survey__study=study, user_id__in=research)
        .select_related("survey")
        .prefetch_related("answers")
    )
    by_user: dict[int, dict[int, Response]] = defaultdict(dict)
    for response in responses:
        by_user[response.user_id][response.survey_id] = response
    users = sorted(by_user, key=lambda uid: pseudonym(study, uid))

    variables = [
        Variable(
            "pseudonym",
            "Participant pseudonym (stable within this study)",
            "string",
            "study",
            rule="P followed by the first 12 hex digits of HMAC-SHA256(study secret, user id): "
            "the same participant has the same pseudonym in every export of this study and a "
            "different one in every other study.",
        ),
        Variable(
            "consent_version",
            "Consent version agreed to for research use",
            "integer",
            "consent",
            rule="The version of the consent form under which the participant last said yes to "
            "research use (only participants whose latest research decision is yes appear).",
        ),
    ]
    columns: dict[str, list] = {
        "pseudonym": [pseudonym(study, uid) for uid in users],
        "consent_version": [research[uid] for uid in users],
    }
    if study.challenge_id:
        activity_vars, activity = _activity(study, users, linking)
        variables += activity_vars
        columns.update(activity)
    surveys = list(
        Survey.objects.filter(study=study, responses__isnull=False)
        .distinct()
        .prefetch_related("sections__questions__options", "sections__questions__rows")
        .order_by("slug", "version")
    )
    versions = Counter(survey.slug for survey in surveys)
    long_rows: list[dict] = []
    # quasi-identifier name -> (survey slug, version, question variable) of the long file
    question_keys: dict[str, tuple[str, int, str]] = {}
    for survey in surveys:
        prefix = survey.slug if versions[survey.slug] == 1 else f"{survey.slug}_v{survey.version}"
        survey_vars, survey_cols = _survey_columns(
            survey, prefix, users, by_user, special, long_rows, study
        )
        variables += survey_vars
        columns.update(survey_cols)
        for section in survey.sections.all():
            for question in section.questions.all():
                if question.quasi_identifier:
                    question_keys[prefixed(prefix, question.variable)] = (
                        survey.slug,
                        survey.version,
                        question.variable,
                    )
    wide = pd.DataFrame(columns, columns=[v.name for v in variables])
    groups: dict[str, list[str]] = defaultdict(list)
    for v in variables:
        if v.quasi_identifier:
            groups[v.quasi_identifier].append(v.name)
    wide, report, withheld = protect(wide, dict(groups), study.export_min_group)
    long = pd.DataFrame(
        long_rows,
        columns=[
            "pseudonym",
            "survey",
            "survey_version",
            "variable",
            "code",
            "number",
            "text",
            "missing",
        ],
    )
    long = _withhold_long(long, wide, withheld, question_keys)
    return StudyDataset(
        study=study,
        variables=variables,
        wide=wide,
        long=long,
        disclosure=report,
        exact_fields=study.export_exact_fields,
    )


def _withhold_long(long, wide, withheld, question_keys) -> pd.DataFrame:
    """The long file withholds what the wide one does: a withheld answer keeps one row whose
    code, number, text and missing cells are all empty."""
    for name, rows in withheld.items():
        if name not in question_keys or not rows:
            continue
        survey, version, variable = question_keys[name]
        hit = (
            long["pseudonym"].isin(set(wide.loc[rows, "pseudonym"]))
            & (long["survey"] == survey)
            & (long["survey_version"] == version)
            & (long["variable"] == variable)
        )
        blank = long[hit].drop_duplicates(["pseudonym"]).assign(
            code=None, number=None, text=None, missing=None
        )
        long = pd.concat([long[~hit], blank]).sort_index()
    return long.reset_index(drop=True)


def study_phase(study: Study) -> Phase | None:
    """The phase whose activity the study looks at (the export's activity variables, the funnel
    and retention): ``linked_phase``, else the challenge's last to end."""
    if study.challenge_id is None:
        return None
    return (
        study.linked_phase
        or Phase.objects.filter(challenge=study.challenge).order_by("-end").first()
    )


def _activity(study: Study, users: list[int], linking: set[int]):
    phase = study_phase(study)
    participants = {
        p.user_id: p
        for p in Participant.objects.filter(
            challenge=study.challenge, user_id__in=users
        ).select_related("team")
    }
    team_sizes = dict(
        Participant.objects.filter(challenge=study.challenge)
        .values_list("team")
        .annotate(n=Count("id"))
        .values_list("team", "n")
    )
    submissions = dict(
        Submission.objects.filter(phase__challenge=study.challenge, created_by_id__in=users)
        .values_list("created_by")
        .annotate(n=Count("id"))
        .values_list("created_by", "n")
    )
    bands: dict[int, int | None] = {}
    if phase is not None:
        # The public's view of the primary leaderboard: the export is released like a page.
        public = viewer_for(AnonymousUser(), phase)
        rows = [row for row in phase_standings(phase)
                if release_value(row.rank, viewer=public, suppressed=row.suppressed)
                is not None]
        team_rank = {row.team_id: row.rank for row in rows}
        for uid, p in participants.items():
            rank = team_rank.get(p.team_id)
            bands[uid] = rank_band(rank, len(rows)) if rank else None
    arms = {
        a.user_id: a.arm for a in ArmAssignment.objects.filter(study=study).select_related("arm")
    }
    ordered_arms = list(study.arms.order_by("slug"))
    arm_codes = {arm.pk: i for i, arm in enumerate(ordered_arms, start=1)}
    exact = set(study.export_exact_fields)
    unlinked = " Empty without the linking consent." + QUASI_RULE
    variables = [
        _joined_variable(exact),
        _team_size_variable(exact),
        _submissions_variable(exact),
        Variable(
            "rank_band",
            "Best rank of the team on the primary leaderboard (band)",
            "integer",
            "competition activity",
            categories=RANK_BANDS,
            ordered=True,
            quasi_identifier="rank_band",
            rule=f"The team's rank on the primary leaderboard of {_phase_name(phase)}, as the "
            "public sees it, divided by the number of teams ranked there: 1 if at most 0.10, "
            "2 if at most 0.25, 3 if at most 0.50, 4 otherwise. Empty when fewer than "
            f"{MIN_TEAMS_FOR_BAND} teams are ranked (an exact rank or score would identify a "
            "team on the public leaderboard), when the public leaderboard withholds the team's "
            "rank, or when the team has no ranked submission." + unlinked,
        ),
        Variable(
            "arm",
            "Design arm",
            "integer",
            "design experiment",
            categories={arm_codes[arm.pk]: arm.name[:80] for arm in ordered_arms},
            quasi_identifier="arm",
            rule="The design arm the participant was assigned to when joining (permuted blocks "
            "seeded by the study; arms numbered in the order of their slugs)." + unlinked,
        ),
    ]
    columns: dict[str, list] = {v.name: [] for v in variables}
    for uid in users:
        p = participants.get(uid)
        linked = uid in linking and p is not None
        size = team_sizes.get(p.team_id) if linked else None
        count = submissions.get(uid, 0) if linked else None
        columns["joined_at"].append(_joined(p.joined_at, exact) if linked else None)
        columns["team_size"].append(
            size if size is None or "team_size" in exact else min(size, 2)
        )
        columns["n_submissions"].append(
            count if count is None or "n_submissions" in exact else submission_band(count)
        )
        columns["rank_band"].append(bands.get(uid) if linked else None)
        arm = arms.get(uid)
        columns["arm"].append(arm_codes[arm.pk] if linked and arm else None)
    return variables, columns


def _phase_name(phase: Phase | None) -> str:
    return f"the phase “{phase.name}”" if phase is not None else "the challenge's last phase"


def _joined(at, exact: set[str]) -> str:
    if "joined_at" in exact:
        return at.isoformat(timespec="seconds")
    year, week, _day = at.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _joined_variable(exact: set[str]) -> Variable:
    if "joined_at" in exact:
        label = "When the participant joined the challenge (UTC, ISO 8601)"
        rule = "The time the participant joined the challenge, UTC, to the second (this study "
        rule += "opted into the exact time)."
    else:
        label = "ISO week in which the participant joined the challenge (UTC)"
        rule = "The ISO 8601 week (YYYY-Www, weeks start on Monday, UTC) in which the "
        rule += "participant joined the challenge."
    return Variable(
        "joined_at",
        label,
        "string",
        "competition activity",
        quasi_identifier="joined_at",
        rule=rule + " Empty without the linking consent." + QUASI_RULE,
    )


def _team_size_variable(exact: set[str]) -> Variable:
    rule = "Members of the participant's team in this challenge at the time of the export"
    if "team_size" in exact:
        return Variable(
            "team_size",
            "Members of the participant's team",
            "integer",
            "competition activity",
            quasi_identifier="team_size",
            rule=rule + " (this study opted into the exact count). Empty without the linking "
            "consent." + QUASI_RULE,
        )
    return Variable(
        "team_size",
        "Members of the participant's team (1 / 2 or more)",
        "integer",
        "competition activity",
        categories=TEAM_SIZES,
        ordered=True,
        quasi_identifier="team_size",
        rule=rule + ": 1 if the participant is alone, 2 if the team has two or more members. "
        "Empty without the linking consent." + QUASI_RULE,
    )


def _submissions_variable(exact: set[str]) -> Variable:
    rule = "Submissions the participant uploaded to any phase of the challenge (each upload "
    rule += "counts, whatever its outcome)"
    if "n_submissions" in exact:
        return Variable(
            "n_submissions",
            "Submissions the participant made",
            "integer",
            "competition activity",
            quasi_identifier="n_submissions",
            rule=rule + " (this study opted into the exact count). Empty without the linking "
            "consent." + QUASI_RULE,
        )
    bands = "; ".join(f"{code} = {label}" for code, label, _lowest in SUBMISSION_BANDS)
    return Variable(
        "n_submissions",
        "Submissions the participant made (band)",
        "integer",
        "competition activity",
        categories={code: label for code, label, _lowest in SUBMISSION_BANDS},
        ordered=True,
        quasi_identifier="n_submissions",
        rule=rule + f", in bands: {bands}. Empty without the linking consent." + QUASI_RULE,
    )


def _survey_columns(survey, prefix, users, by_user, special, long_rows, study):
    """The wide columns of one survey version; appends its long rows."""
    source = f"survey {survey.slug} v{survey.version}"
    variables: list[Variable] = []
    columns: dict[str, list] = {}
    questions = [q for s in survey.sections.all() for q in s.questions.all()]
    for question in questions:
        specs = _question_variables(question, prefix, source)
        variables += [spec for spec, _ in specs]
        for spec, _ in specs:
            columns[spec.name] = []
        for uid in users:
            response = by_user[uid].get(survey.pk)
            released = response is not None and special_released(question, uid, special)
            answers = answers_by_key(list(response.answers.all())) if response else {}
            for spec, getter in specs:
                columns[spec.name].append(getter(answers) if released else None)
            if released:
                long_rows += _long_rows(pseudonym(study, uid), survey, question, answers)
    return variables, columns


def special_released(question: Question, user_id: int, special: set[int]) -> bool:
    """Whether a respondent's answers to ``question`` are released: a special-category
    question's only for those in ``special`` (explicit consent, with research use)."""
    return not question.special_category or user_id in special


def missing_code(question: Question, answers: dict, row: GridRow | None = None) -> int | None:
    """The missing code of a slot (a question, or a grid row) in one response's ``answers``
    (``conditions.answers_by_key``), or ``None`` if it holds an answer."""
    if not is_shown(question, answers):
        return NOT_SHOWN
    answer = answers.get((question.pk, row.pk if row else None))
    if answer is None:
        return NOT_ANSWERED
    if answer.declined:
        return PREFER_NOT
    return None


#: How the missing codes and the empty cell of a coded survey variable arise.
CODED_MISSING_RULE = (
    " -97 if a show-if condition hid the question, -98 if it was shown but not answered (or its "
    "page was never reached), -99 for “prefer not to say”; empty if the participant has no "
    "response to this survey."
)


def _release_rule(question: Question) -> str:
    rule = ""
    if question.special_category:
        rule += " Special-category data: empty without the explicit special-category consent."
    if question.quasi_identifier:
        rule += QUASI_RULE
    return rule


def _question_variables(question: Question, prefix: str, source: str):
    """[(Variable, getter(answers) -> cell)] for one question."""
    name = prefixed(prefix, question.variable)
    flags = {
        "special_category": question.special_category,
        "source": source,
        "quasi_identifier": name if question.quasi_identifier else "",
    }
    categories = {o.code: o.label for o in question.options.all()}
    ordered = question.kind in (Question.Kind.LIKERT, Question.Kind.GRID) or (
        question.kind == Question.Kind.SINGLE and question.ordered
    )
    released = _release_rule(question)
    specs = []
    if question.kind == Question.Kind.GRID:
        for row in question.rows.all():

            def grid_cell(answers, row=row):
                code = missing_code(question, answers, row)
                if code is not None:
                    return code
                return answers[(question.pk, row.pk)].codes[0]

            specs.append(
                (
                    Variable(
                        prefixed(prefix, row.variable),
                        row.label,
                        "integer",
                        question=f"{question.text} — {row.text}",
                        categories=categories,
                        coded_missing=True,
                        reverse_coded=row.reverse_coded,
                        ordered=True,
                        rule="The code of the scale point chosen for this item"
                        + (
                            ", as answered (a reverse-coded item: reverse it before building "
                            "a scale score);"
                            if row.reverse_coded
                            else ";"
                        )
                        + CODED_MISSING_RULE
                        + released,
                        **flags,
                    ),
                    grid_cell,
                )
            )
        return specs
    if question.kind == Question.Kind.MULTIPLE:
        for option in question.options.all():

            def chosen(answers, code=option.code):
                missing = missing_code(question, answers)
                if missing is not None:
                    return missing
                return int(code in answers[(question.pk, None)].codes)

            specs.append(
                (
                    Variable(
                        prefixed(prefix, question.variable, option.code),
                        f"{question.label[:60]}: {option.label}"[:80],
                        "integer",
                        question=question.text,
                        categories={0: "not chosen", 1: "chosen"},
                        coded_missing=True,
                        rule=f"1 if the option “{option.label}” (code {option.code}) was chosen, "
                        "0 if the question was answered without it;" + CODED_MISSING_RULE
                        + released,
                        **flags,
                    ),
                    chosen,
                )
            )
    elif question.kind in (Question.Kind.SINGLE, Question.Kind.LIKERT):

        def single(answers):
            missing = missing_code(question, answers)
            return missing if missing is not None else answers[(question.pk, None)].codes[0]

        specs.append(
            (
                Variable(
                    name,
                    question.label,
                    "integer",
                    question=question.text,
                    categories=categories,
                    coded_missing=True,
                    ordered=ordered,
                    reverse_coded=question.reverse_coded,
                    rule="The code of the option chosen"
                    + (" (reverse-coded: reverse it before building a scale score)"
                       if question.reverse_coded else "")
                    + ";" + CODED_MISSING_RULE + released,
                    **flags,
                ),
                single,
            )
        )
    elif question.kind == Question.Kind.NUMBER:

        def number(answers):
            missing = missing_code(question, answers)
            return missing if missing is not None else answers[(question.pk, None)].number

        specs.append(
            (
                Variable(
                    name,
                    question.label,
                    "integer" if question.whole_number else "number",
                    question=question.text,
                    coded_missing=True,
                    rule=("The whole number given" if question.whole_number
                          else "The number given")
                    + _range(question) + ";" + CODED_MISSING_RULE + released,
                    **flags,
                ),
                number,
            )
        )
    else:

        def text(answers):
            answer = answers.get((question.pk, None))
            return answer.text if answer and not answer.declined else ""

        specs.append(
            (
                Variable(
                    name,
                    question.label,
                    "string",
                    question=question.text,
                    identifying=True,
                    rule="The text as typed; empty when not shown, not answered, declined or "
                    "not asked." + released,
                    **flags,
                ),
                text,
            )
        )
    if any(o.self_describe for o in question.options.all()):

        def described(answers):
            answer = answers.get((question.pk, None))
            return answer.text if answer else ""

        specs.append(
            (
                Variable(
                    prefixed(prefix, question.variable, "txt"),
                    f"{question.label[:60]}: self-description",
                    "string",
                    question=question.text,
                    identifying=True,
                    rule="The description typed with the self-describe option; empty "
                    "otherwise." + released,
                    **flags,
                ),
                described,
            )
        )
    return specs


def _range(question: Question) -> str:
    bounds = [
        f"{word} {int(b) if b.is_integer() else b}"
        for word, b in (("at least", question.minimum), ("at most", question.maximum))
        if b is not None
    ]
    return f" ({' and '.join(bounds)})" if bounds else ""


def _long_rows(pseudo: str, survey: Survey, question: Question, answers: dict) -> list[dict]:
    base = {"pseudonym": pseudo, "survey": survey.slug, "survey_version": survey.version}
    rows = []
    targets = list(question.rows.all()) if question.kind == Question.Kind.GRID else [None]
    for row in targets:
        variable = row.variable if row else question.variable
        missing = missing_code(question, answers, row)
        if missing is not None:
            rows.append({**base, "variable": variable, "missing": missing})
            continue
        answer = answers[(question.pk, row.pk if row else None)]
        if answer.codes:
            rows += [
                {**base, "variable": variable, "code": code, "text": answer.text}
                for code in answer.codes
            ]
        else:
            rows.append(
                {**base, "variable": variable, "number": answer.number, "text": answer.text}
            )
    return rows
