"""The consent form and one page of a survey, built from the researcher's questions.

Every control has a label; a question is a fieldset whose legend is the question, with its help
text and error message tied to the inputs by ``aria-describedby`` (templates/surveys/answer.html).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from surveys.models import Answer, ConsentItem, Question, Response, Section
from surveys.naming import PREFER_NOT

PREFER_NOT_VALUE = str(PREFER_NOT)

CONSENT_HELP = {
    ConsentItem.PARTICIPATE: gettext_lazy(
        "The study may offer you its surveys and show you the leaderboards of one design arm. "
        "Not needed to submit: the challenge does not depend on any of these boxes."
    ),
    ConsentItem.RESEARCH: gettext_lazy(
        "Your survey answers, under a pseudonym, may be analysed and shared with researchers."
    ),
    ConsentItem.LINKING: gettext_lazy(
        "Your answers may be linked to when you joined, your team size, how often you "
        "submitted, a band of your best rank (never the exact rank) and your design arm."
    ),
    ConsentItem.SPECIAL: gettext_lazy(
        "Answers about ethnicity, health or disability are used only with this explicit consent."
    ),
    ConsentItem.CONTACT: gettext_lazy(
        "The researchers may e-mail you about an interview. Your contact details are kept "
        "apart from your answers."
    ),
}


class ConsentForm(forms.Form):
    def __init__(self, *args, initial_choices: dict[str, bool] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        initial_choices = initial_choices or {}
        for item in ConsentItem:
            self.fields[item.value] = forms.BooleanField(
                label=item.label,
                required=False,
                help_text=CONSENT_HELP[item],
                initial=initial_choices.get(item.value, False),
                # form_fields.html prints the help text with this id.
                widget=forms.CheckboxInput(attrs={"aria-describedby": f"id_{item.value}_helptext"}),
            )

    def choices(self) -> dict[str, bool]:
        return {item: bool(self.cleaned_data.get(item)) for item in ConsentItem.values}


@dataclass
class Item:
    """What the template needs to draw one question."""

    question: Question
    fields: list[forms.BoundField] = field(default_factory=list)
    describe: forms.BoundField | None = None
    decline: forms.BoundField | None = None

    @property
    def dom_id(self) -> str:
        return f"q-{self.question.variable}"

    @property
    def errors(self) -> list[str]:
        found = []
        for bound in [*self.fields, self.describe, self.decline]:
            if bound is not None:
                found.extend(bound.errors)
        return found


class SurveyPageForm(forms.Form):
    """The questions of one page that the participant's earlier answers show."""

    def __init__(
        self,
        *args,
        response: Response,
        section: Section,
        questions: list[Question],
        answers: dict[tuple[int, int | None], Answer],
        check_required: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.response, self.section, self.questions = response, section, questions
        self.check_required = check_required
        for question in questions:
            self._add(question, answers)

    def _described(self, question: Question) -> dict[str, str]:
        ids = [f"q-{question.variable}-error"]
        if question.help_text:
            ids.insert(0, f"q-{question.variable}-help")
        return {"aria-describedby": " ".join(ids)}

    def _options(self, question: Question) -> list[tuple[str, str]]:
        options = list(question.options.all())
        if question.randomise_options:
            fixed = [o for o in options if o.self_describe]
            moving = [o for o in options if not o.self_describe]
            # Stable per response, so a page reload does not reshuffle under the participant.
            random.Random(f"{self.response.pk}:{question.pk}").shuffle(moving)
            options = moving + fixed
        choices = [(str(o.code), o.label) for o in options]
        if question.prefer_not_to_say:
            choices.append((PREFER_NOT_VALUE, _("Prefer not to say")))
        return choices

    def _add(self, question: Question, answers) -> None:
        attrs = self._described(question)
        name = question.variable
        existing = answers.get((question.pk, None))
        if question.kind in (Question.Kind.SINGLE, Question.Kind.LIKERT):
            self.fields[name] = forms.ChoiceField(
                label=question.text,
                choices=self._options(question),
                widget=forms.RadioSelect(attrs=attrs),
                required=False,
                initial=_initial_code(existing),
            )
        elif question.kind == Question.Kind.MULTIPLE:
            initial = (
                [PREFER_NOT_VALUE]
                if existing and existing.declined
                else [str(c) for c in (existing.codes if existing else [])]
            )
            self.fields[name] = forms.MultipleChoiceField(
                label=question.text,
                choices=self._options(question),
                widget=forms.CheckboxSelectMultiple(attrs=attrs),
                required=False,
                initial=initial,
            )
        elif question.kind == Question.Kind.GRID:
            choices = self._options(question)
            for row in question.rows.all():
                self.fields[row.variable] = forms.ChoiceField(
                    label=row.text,
                    choices=choices,
                    widget=forms.RadioSelect(attrs=attrs),
                    required=False,
                    initial=_initial_code(answers.get((question.pk, row.pk))),
                )
        elif question.kind == Question.Kind.NUMBER:
            # A whole number (a count) is an IntegerField: "2.5" is refused with its message.
            number_field = forms.IntegerField if question.whole_number else forms.FloatField
            initial = existing.number if existing else None
            self.fields[name] = number_field(
                label=question.text,
                required=False,
                min_value=question.minimum,
                max_value=question.maximum,
                widget=forms.NumberInput(
                    attrs={**attrs, "step": "1" if question.whole_number else "any"}
                ),
                initial=int(initial) if question.whole_number and initial is not None
                else initial,
            )
        else:
            widget = (
                forms.Textarea(attrs={**attrs, "rows": 4})
                if question.kind == Question.Kind.LONG_TEXT
                else forms.TextInput(attrs=attrs)
            )
            self.fields[name] = forms.CharField(
                label=question.text,
                required=False,
                max_length=5000,
                widget=widget,
                initial=existing.text if existing else "",
            )
        if question.options.filter(self_describe=True).exists():
            self.fields[f"{name}__describe"] = forms.CharField(
                label=_("Please describe (optional)"),
                required=False,
                max_length=200,
                initial=existing.text if existing else "",
            )
        if question.prefer_not_to_say and question.kind in (
            Question.Kind.NUMBER,
            *Question.TEXT_KINDS,
        ):
            self.fields[f"{name}__decline"] = forms.BooleanField(
                label=_("Prefer not to say"),
                required=False,
                initial=bool(existing and existing.declined),
            )

    def items(self) -> list[Item]:
        items = []
        for question in self.questions:
            name = question.variable
            if question.kind == Question.Kind.GRID:
                bound = [self[row.variable] for row in question.rows.all()]
            else:
                bound = [self[name]]
            items.append(
                Item(
                    question=question,
                    fields=bound,
                    describe=self[f"{name}__describe"]
                    if f"{name}__describe" in self.fields
                    else None,
                    decline=self[f"{name}__decline"] if f"{name}__decline" in self.fields else None,
                )
            )
        return items

    def clean(self) -> dict:
        data = super().clean()
        for question in self.questions:
            self._clean_question(question, data)
        return data

    def _clean_question(self, question: Question, data: dict) -> None:
        name = question.variable
        if question.kind == Question.Kind.MULTIPLE:
            picked = data.get(name) or []
            if PREFER_NOT_VALUE in picked and len(picked) > 1:
                self.add_error(name, _("Choose “Prefer not to say” or options, not both."))
        declined = data.get(f"{name}__decline")
        if declined and data.get(name) not in (None, ""):
            self.add_error(name, _("Give an answer or tick “Prefer not to say”, not both."))
        if not self.check_required or not question.required:
            return
        keys = (
            [row.variable for row in question.rows.all()]
            if question.kind == Question.Kind.GRID
            else [name]
        )
        for key in keys:
            if data.get(key) in (None, "", []) and not declined and key not in self.errors:
                self.add_error(
                    key, _("Please answer this question (or choose “Prefer not to say”).")
                )

    def values(self) -> dict[str, object]:
        """Cleaned answers keyed by variable, in the shape services.response_save_page takes."""
        out: dict[str, object] = {}
        for question in self.questions:
            name = question.variable
            describe = self.cleaned_data.get(f"{name}__describe", "")
            if self.cleaned_data.get(f"{name}__decline"):
                out[name] = PREFER_NOT_VALUE
                continue
            if question.kind == Question.Kind.GRID:
                for row in question.rows.all():
                    out[row.variable] = _choice_value(self.cleaned_data.get(row.variable), "")
            elif question.kind in Question.CHOICE_KINDS:
                out[name] = _choice_value(self.cleaned_data.get(name), describe)
            else:
                out[name] = self.cleaned_data.get(name)
        return out


def _initial_code(answer: Answer | None) -> str | None:
    if answer is None:
        return None
    if answer.declined:
        return PREFER_NOT_VALUE
    return str(answer.codes[0]) if answer.codes else None


def _choice_value(raw, describe: str) -> object:
    if raw in (None, "", []):
        return None
    picked = raw if isinstance(raw, list) else [raw]
    if PREFER_NOT_VALUE in picked:
        return PREFER_NOT_VALUE
    return ([int(c) for c in picked], describe.strip())
