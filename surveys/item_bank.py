"""The built-in item bank that researchers copy questions from (admin action on a survey).

Demographic items are worded for Cheetah and free to ship. The two scales (sense of belonging,
self-efficacy) ship as **structure only**: the number of items, the response scale, which items
are reverse-coded and stable variable names, with placeholder wording. Published wordings of
such scales are often under copyright or licence terms (e.g. the Math Sense of Belonging Scale,
Good, Rattan & Dweck 2012; the General Self-Efficacy Scale, Schwarzer & Jerusalem 1995, free
for non-commercial research only): the researcher pastes the licensed wording into the copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from surveys.models import GridRow, Option, Question, Section

AGREE_5 = [
    (1, "Strongly disagree"),
    (2, "Disagree"),
    (3, "Neither agree nor disagree"),
    (4, "Agree"),
    (5, "Strongly agree"),
]
TRUE_4 = [(1, "Not at all true"), (2, "Hardly true"), (3, "Moderately true"), (4, "Exactly true")]


@dataclass(frozen=True)
class BankItem:
    title: str
    kind: str
    variable: str
    label: str
    text: str
    options: list[tuple[int, str]] = field(default_factory=list)
    self_describe: tuple[int, str] | None = None
    rows: list[tuple[str, str, bool]] = field(default_factory=list)  # variable, text, reverse
    special_category: bool = False
    help_text: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def create(self, *, section: Section, position: int) -> Question:
        question = Question.objects.create(
            section=section,
            position=position,
            kind=self.kind,
            variable=self.variable,
            label=self.label,
            text=self.text,
            help_text=self.help_text,
            special_category=self.special_category,
            minimum=self.minimum,
            maximum=self.maximum,
        )
        options = [
            Option(question=question, position=i, code=c, label=t)
            for i, (c, t) in enumerate(self.options, start=1)
        ]
        if self.self_describe:
            code, text = self.self_describe
            options.append(
                Option(
                    question=question,
                    position=len(options) + 1,
                    code=code,
                    label=text,
                    self_describe=True,
                )
            )
        Option.objects.bulk_create(options)
        GridRow.objects.bulk_create(
            GridRow(
                question=question,
                position=i,
                variable=v,
                label=t[:80],
                text=t,
                reverse_coded=reverse,
            )
            for i, (v, t, reverse) in enumerate(self.rows, start=1)
        )
        return question


def _placeholder_rows(prefix: str, n: int, reverse: set[int]) -> list[tuple[str, str, bool]]:
    return [
        (f"{prefix}{i}", f"[Item {i}: paste the licensed wording here]", i in reverse)
        for i in range(1, n + 1)
    ]


ITEMS: dict[str, BankItem] = {
    "gender": BankItem(
        title="Gender (with self-describe)",
        kind=Question.Kind.SINGLE,
        variable="gender",
        label="Gender",
        text="What is your gender?",
        options=[(1, "Woman"), (2, "Man"), (3, "Non-binary")],
        self_describe=(4, "I describe myself in another way"),
    ),
    "age_band": BankItem(
        title="Age band",
        kind=Question.Kind.SINGLE,
        variable="age_band",
        label="Age band",
        text="How old are you?",
        options=[
            (1, "Under 25"),
            (2, "25 to 34"),
            (3, "35 to 44"),
            (4, "45 to 54"),
            (5, "55 or older"),
        ],
    ),
    "career_stage": BankItem(
        title="Career stage",
        kind=Question.Kind.SINGLE,
        variable="career",
        label="Career stage",
        text="Which best describes your current career stage?",
        options=[
            (1, "Undergraduate student"),
            (2, "Master's student"),
            (3, "PhD student"),
            (4, "Postdoctoral researcher"),
            (5, "Academic staff"),
            (6, "Industry professional"),
            (7, "Clinician"),
        ],
        self_describe=(8, "Other"),
    ),
    "country": BankItem(
        title="Country of residence",
        kind=Question.Kind.SHORT_TEXT,
        variable="country",
        label="Country of residence",
        text="In which country do you live?",
    ),
    "first_generation": BankItem(
        title="First-generation student",
        kind=Question.Kind.SINGLE,
        variable="firstgen",
        label="First in family to attend university",
        text="Are you among the first in your family to attend university?",
        options=[(1, "Yes"), (0, "No"), (2, "Not sure")],
    ),
    "prior_competitions": BankItem(
        title="Prior competition experience",
        kind=Question.Kind.NUMBER,
        variable="prior_comp",
        label="Number of earlier ML competitions",
        text="In how many machine-learning competitions have you taken part before this one?",
        minimum=0,
        maximum=1000,
    ),
    "ethnicity": BankItem(
        title="Ethnicity (special-category data)",
        kind=Question.Kind.MULTIPLE,
        variable="ethnic",
        label="Ethnic group (self-identified)",
        text="Which ethnic group or groups do you identify with? Choose all that apply.",
        help_text="Special-category data: used only if you gave explicit consent.",
        options=[
            (1, "Asian"),
            (2, "Black"),
            (3, "Hispanic or Latino/a/x"),
            (4, "Middle Eastern or North African"),
            (5, "Indigenous"),
            (6, "White"),
            (7, "Mixed or multiple groups"),
        ],
        self_describe=(8, "Another group"),
        special_category=True,
    ),
    "belonging": BankItem(
        title="Sense of belonging (structure: 5 items, 5-point agreement, item 3 reversed)",
        kind=Question.Kind.GRID,
        variable="belong",
        label="Sense of belonging in the competition",
        text="How much do you agree with each statement about this competition?",
        options=AGREE_5,
        rows=_placeholder_rows("belong", 5, reverse={3}),
    ),
    "self_efficacy": BankItem(
        title="Self-efficacy (structure: 10 items, 4-point truth scale)",
        kind=Question.Kind.GRID,
        variable="selfeff",
        label="Self-efficacy",
        text="How true is each statement for you?",
        options=TRUE_4,
        rows=_placeholder_rows("selfeff", 10, reverse=set()),
    ),
}
