"""The researcher's forms on the interviews page: the invitation template, the draw, a status."""

from __future__ import annotations

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.interviews import RESEARCHER_MOVES, template_problem
from surveys.models import Interview


class InterviewTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Invitation"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Placeholders: {name}, {study}, {challenge}. A greeting and the link to "
                    "answer are added."),
    )

    def clean(self):
        data = super().clean()
        for name in ("subject", "body"):
            problem = template_problem(data.get(name, ""))
            if problem:
                self.add_error(name, problem)
        return data


class InterviewDrawForm(forms.Form):
    variable = forms.ChoiceField(label=_("Split each arm by the answer to"), required=False)
    per_stratum = forms.IntegerField(label=_("People per stratum"), min_value=1, max_value=200,
                                     initial=2)
    seed = forms.IntegerField(
        label=_("Seed"), min_value=0, max_value=2**63 - 1,
        help_text=_("Keep it to draw the same sample again from the same people."),
    )

    def __init__(self, *args, variables: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["variable"].choices = [("", _("nothing: by arm only"))] + [
            (v, v) for v in variables
        ]
        self.fields["seed"].initial = secrets.randbelow(10**6)


class InterviewStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))

    def __init__(self, *args, interview: Interview, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Interview.Status.choices)
        self.fields["status"].choices = [
            (s, labels[s]) for s in sorted(RESEARCHER_MOVES.get(interview.status, ()))
        ]
        self.fields["status"].widget.attrs["id"] = f"status-{interview.pk}"
