from django import forms
from django.utils.translation import gettext_lazy as _


class JoinForm(forms.Form):
    accept_rules = forms.BooleanField(
        label=_("I have read and accept the rules of this challenge."), required=True
    )
    invitation_code = forms.CharField(
        label=_("Invitation code"),
        required=False,
        max_length=64,
        help_text=_("Only for private challenges: your organisers gave it to you."),
    )


class TeamCreateForm(forms.Form):
    name = forms.CharField(label=_("New team name"), max_length=80)


class TeamInviteForm(forms.Form):
    username = forms.CharField(label=_("Username to invite"), max_length=150)


class TeamJoinForm(forms.Form):
    accept_rules = forms.BooleanField(
        label=_("I have read and accept the rules of this challenge."), required=False
    )


class SubmissionForm(forms.Form):
    # Empty files go through to the worker, which fails them with the same kind of message as
    # every other content problem.
    file = forms.FileField(
        label=_("Predictions CSV"),
        allow_empty_file=True,
        help_text=_("Columns case_id and score (and optionally label); .csv or .csv.gz."),
    )
    description = forms.CharField(
        label=_("Method description (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
