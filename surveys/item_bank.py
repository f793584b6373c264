"""The built-in item bank that researchers copy questions from (admin action on a survey).

Demographic items are worded for Cheetah and free to ship; they are marked as quasi-identifiers
(the export's smallest-group check counts them). The two scales (sense of belonging,
self-efficacy) carry **example wording written for Cheetah** (same licence as the code): real
sentences a participant can answer, in the structure of the published scales (number of items,
response scale, reverse-coded items), but not a validated instrument. The admin says so in the
item's title; a study that needs a validated scale replaces the wording in its copy with the
licensed one (e.g. the Math Sense of Belonging Scale, Good, Rattan & Dweck 2012; the General
Self-Efficacy Scale, Schwarzer & Jerusalem 1995, free for non-commercial research only).
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
    whole_number: bool = False
    ordered: bool = False
    quasi_identifier: bool = False

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
            whole_number=self.whole_number,
            ordered=self.ordered,
            quasi_identifier=self.quasi_identifier,
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


EXAMPLE = "example wording written for Cheetah, not a validated scale"
BELONGING = (
    "I feel that I belong in this competition.",
    "I feel accepted by the other participants.",
    "I sometimes feel like an outsider here.",  # reverse-coded
    "I feel comfortable asking questions in the forum.",
    "I feel that my work here is valued.",
)
SELF_EFFICACY = (
    "I can find a way to improve my model when my score stops improving.",
    "I can understand the evaluation metric well enough to work towards it.",
    "I can prepare the challenge data for training on my own.",
    "I can find and fix mistakes in my own code.",
    "I can get a submission ready before the deadline.",
    "I can choose a sensible way to validate a model on this data.",
    "I can learn a new method quickly if the challenge needs it.",
    "I can judge whether a result is likely to hold on unseen data.",
    "I can explain how my model works to someone else.",
    "I can keep going when my first attempts do not work.",
)


def _rows(prefix: str, texts: tuple[str, ...], reverse: set[int]) -> list[tuple[str, str, bool]]:
    return [(f"{prefix}{i}", text, i in reverse) for i, text in enumerate(texts, start=1)]


ITEMS: dict[str, BankItem] = {
    "gender": BankItem(
        quasi_identifier=True,
        title="Gender (with self-describe)",
        kind=Question.Kind.SINGLE,
        variable="gender",
        label="Gender",
        text="What is your gender?",
        options=[(1, "Woman"), (2, "Man"), (3, "Non-binary")],
        self_describe=(4, "I describe myself in another way"),
    ),
    "age_band": BankItem(
        quasi_identifier=True,
        ordered=True,
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
        quasi_identifier=True,
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
        quasi_identifier=True,
        title="Country of residence",
        kind=Question.Kind.SHORT_TEXT,
        variable="country",
        label="Country of residence",
        text="In which country do you live?",
    ),
    "first_generation": BankItem(
        quasi_identifier=True,
        title="First-generation student",
        kind=Question.Kind.SINGLE,
        variable="firstgen",
        label="First in family to attend university",
        text="Are you among the first in your family to attend university?",
        options=[(1, "Yes"), (0, "No"), (2, "Not sure")],
    ),
    "prior_competitions": BankItem(
        quasi_identifier=True,
        whole_number=True,
        title="Prior competition experience",
        kind=Question.Kind.NUMBER,
        variable="prior_comp",
        label="Number of earlier ML competitions",
        text="In how many machine-learning competitions have you taken part before this one?",
        minimum=0,
        maximum=1000,
    ),
    "ethnicity": BankItem(
        quasi_identifier=True,
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
        title=f"Sense of belonging (5 items, 5-point agreement, item 3 reversed; {EXAMPLE})",
        kind=Question.Kind.GRID,
        variable="belong",
        label="Sense of belonging in the competition",
        text="How much do you agree with each statement about this competition?",
        options=AGREE_5,
        rows=_rows("belong", BELONGING, reverse={3}),
    ),
    "self_efficacy": BankItem(
        title=f"Self-efficacy (10 items, 4-point truth scale; {EXAMPLE})",
        kind=Question.Kind.GRID,
        variable="selfeff",
        label="Self-efficacy",
        text="How true is each statement for you?",
        options=TRUE_4,
        rows=_rows("selfeff", SELF_EFFICACY, reverse=set()),
    ),
}
