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


class LabelBiasForm(forms.Form):
    """The organiser's label-bias scenario: which group's positives to hide, and how many."""

    population = forms.ChoiceField(label=_("Group whose positives are under-recorded"))
    share = forms.FloatField(
        label=_("Share of its positives recorded as negative"), min_value=0.01, max_value=1.0,
        initial=0.2, help_text=_("0.2 hides one positive in five, chosen at random."),
    )
    seed = forms.IntegerField(label=_("Random seed"), min_value=0, initial=0)

    def __init__(self, *args, populations: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["population"].choices = [(p, p.replace("=", " = ")) for p in populations]
