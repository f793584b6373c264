from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Kind


class EmailPreferencesForm(forms.Form):
    """One box per kind of notice: ticked means "also e-mail me"."""

    kinds = forms.MultipleChoiceField(
        label=_("E-mail me when"),
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every notice also appears on your notices page, e-mailed or not."),
    )
