from django import forms
from django.utils.translation import gettext_lazy as _

from competitions.models import GradeRule, hardware_choices

# Bounds that catch typing errors (a year of a thousand devices is 8.8 million device-hours).
MAX_HOURS = 100_000
MAX_DEVICES = 10_000


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


class TeamMergeForm(forms.Form):
    team = forms.CharField(
        label=_("Name of the team to merge into"),
        max_length=80,
        help_text=_("Everyone in your team moves into that team once one of its members "
                    "accepts."),
    )


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
        label=_("Method summary (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The fact sheet: all optional; compute (hours and hardware) complete when given.
    external_data = forms.CharField(
        label=_("External data used (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Data beyond the challenge's, with its source. Empty: none."),
    )
    training_hours = forms.FloatField(
        label=_("Training compute (wall-clock hours)"),
        required=False,
        min_value=0,
        max_value=MAX_HOURS,
    )
    inference_hours = forms.FloatField(
        label=_("Inference compute for these predictions (wall-clock hours)"),
        required=False,
        min_value=0,
        max_value=MAX_HOURS,
    )
    hardware = forms.ChoiceField(
        label=_("Hardware type"),
        required=False,
        choices=(),
        help_text=_("The power per device is the manufacturer's rated power (TDP)."),
    )
    devices = forms.IntegerField(
        label=_("Number of devices"),
        required=False,
        initial=1,
        min_value=1,
        max_value=MAX_DEVICES,
    )

    # Given together or not at all: the page shows them as one group.
    COMPUTE_FIELDS = ("training_hours", "inference_hours", "hardware", "devices")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hardware"].choices = [("", _("— not given —")), *hardware_choices()]

    def main_fields(self) -> list:
        return [self[name] for name in self.fields if name not in self.COMPUTE_FIELDS]

    def compute_fields(self) -> list:
        return [self[name] for name in self.COMPUTE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        compute = [cleaned.get(name) for name in ("training_hours", "inference_hours")]
        given = [value is not None for value in compute] + [bool(cleaned.get("hardware"))]
        if any(given) and not all(given):
            raise forms.ValidationError(
                _(
                    "To declare the compute you used, give the training hours, the inference "
                    "hours and the hardware type (or leave all three empty)."
                )
            )
        return cleaned

    def fact_sheet(self) -> dict | None:
        """The fact sheet's fields for ``services.submission_create``; None when nothing given."""
        data = self.cleaned_data
        sheet = {
            "external_data": data["external_data"].strip(),
            "training_hours": data["training_hours"],
            "inference_hours": data["inference_hours"],
            "hardware": data["hardware"],
            "devices": data["devices"] or 1,
        }
        if not sheet["external_data"] and not sheet["hardware"]:
            return None
        return sheet


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


class RosterUploadForm(forms.Form):
    roster = forms.FileField(
        label=_("Roster CSV"),
        help_text=_("Columns: email (required), name, lms_id, section; one student a row."),
    )


class CourseJoinForm(forms.Form):
    accept_rules = forms.BooleanField(
        label=_("I have read and accept the rules of this challenge."), required=True
    )


class GradeRuleForm(forms.Form):
    item = forms.CharField(label=_("Grade item"), max_length=100,
                           help_text=_("Its name in Moodle or Canvas."))
    lms_item_id = forms.CharField(
        label=_("Canvas assignment id"), max_length=40, required=False,
        help_text=_("The number in the assignment's address; empty: Canvas makes a new one."),
    )
    basis = forms.ChoiceField(label=_("Grades from"), choices=GradeRule.Basis.choices)
    steps = forms.CharField(
        label=_("Steps"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_(
            "One step a line: the bound, a space, the points (e.g. “0.75 10”). A student gets "
            "the most points of the steps their team reaches: a score at or above the bound "
            "(at or below for a metric where lower is better), a rank at or above it, or at "
            "least that many scored submissions."
        ),
    )
    otherwise = forms.FloatField(label=_("Points otherwise"), initial=0,
                                 help_text=_("Also for a student without a scored submission."))

    def clean_steps(self) -> list[tuple[float, float]]:
        steps = []
        for number, line in enumerate(self.cleaned_data["steps"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.replace(",", " ").replace("→", " ").split()
            try:
                bound, points = (float(part) for part in parts)
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)d: write the bound and the points, e.g. “0.75 10”.")
                    % {"n": number}
                ) from None
            steps.append((bound, points))
        return steps
