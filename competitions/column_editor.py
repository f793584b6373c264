"""The admin's leaderboard column editor: organisers choose a metric of the phase's task and a
population of its ground truth instead of typing a column id (``competitions.columns``).

The selects compose the id that is stored (``sensitivity@sex=female``); an id the selects
cannot express (a group named before the ground truth was uploaded) stays in a free-text field.
Groups withheld from participants are offered but disabled on a ranked row; the board's own
validation (``boards.leaderboard_validate``) refuses them when ranked, since a disabled option
can still be posted. ``static/cheetah/column-editor.js`` only keeps the disabled options in step
with the row's "ranked" box; without it the page works the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import BLANK_CHOICE_DASH
from django.utils.translation import gettext_lazy as _

from competitions.boards import truth_groups, withheld_groups
from competitions.columns import parse_column
from competitions.metrics import metric_choices
from competitions.models import Challenge, LeaderboardColumn, Phase

ALL_CASES = ""


def population_value(attribute: str | None, group: str | None = None, worst: bool = False) -> str:
    """The population part of a column id: ``""`` (all cases), ``sex=female``, ``worst(sex)``."""
    if attribute is None:
        return ALL_CASES
    return f"worst({attribute})" if worst else f"{attribute}={group}"


def compose_column_id(metric: str, population: str) -> str:
    """The stored column id of a metric on a population (``population_value``)."""
    return f"{metric}@{population}" if population else metric


@dataclass(frozen=True)
class ColumnChoices:
    """What the editor offers for one phase, built once per page (it reads the ground truth).

    ``task`` is None while the board has no phase: then every task's metrics, all cases only.
    ``withheld``: population values participants may not see, so no ranked column may use them.
    """

    task: str | None
    metrics: list
    populations: list
    withheld: frozenset[str]

    def split(self, column_id: str) -> tuple[str, str, str]:
        """``(metric, population, typed id)`` of a stored id: the selects' values when they can
        express it, else the id for the free-text field."""
        if self.task is not None:
            try:
                spec = parse_column(column_id, self.task)
            except ValidationError:
                spec = None
            if spec is not None:
                population = population_value(spec.attribute, spec.group, spec.worst)
                if spec.metric in _values(self.metrics) and population in _values(
                    self.populations
                ):
                    return spec.metric, population, ""
        return "", ALL_CASES, column_id


def _values(choices: list) -> set[str]:
    """Every value of a (possibly grouped) list of choices."""
    values = set()
    for value, label in choices:
        if isinstance(label, list | tuple):
            values |= {inner for inner, _label in label}
        else:
            values.add(value)
    return values


def column_choices(phase: Phase | None) -> ColumnChoices:
    """The metrics of the phase's task and the populations of its ground truth: all cases,
    each group of every attribute with its number of cases, and each attribute's worst group."""
    blank = list(BLANK_CHOICE_DASH)
    if phase is None:
        metrics = blank + [(label, metric_choices(task)) for task, label in Challenge.Task.choices]
        return ColumnChoices(task=None, metrics=metrics,
                             populations=[(ALL_CASES, _("All cases"))], withheld=frozenset())
    task = phase.challenge.task
    metrics = blank + metric_choices(task)
    if not phase.ground_truth:
        populations = [(ALL_CASES, _("All cases (no ground truth yet: its groups appear here "
                                     "once it is uploaded)"))]
        return ColumnChoices(task=task, metrics=metrics,
                             populations=populations, withheld=frozenset())
    withheld = {population_value(a, g) for a, g in withheld_groups(phase)}
    groups = truth_groups(phase)
    populations: list = [(ALL_CASES, _("All cases (n=%(n)d)") % {"n": phase.truth_n_cases or 0})]
    for attribute in phase.truth_attributes:  # intersections have no column ids (yet)
        options = []
        for group, n in groups.get(attribute, []):
            value = population_value(attribute, group)
            label = _("%(attribute)s = %(group)s (n=%(n)d)") if value not in withheld else _(
                "%(attribute)s = %(group)s (n=%(n)d; withheld from participants: show only, "
                "not ranked)"
            )
            options.append((value, label % {"attribute": attribute, "group": group, "n": n}))
        options.append((population_value(attribute, worst=True),
                        _("Worst group of %(attribute)s") % {"attribute": attribute}))
        populations.append((attribute, options))
    return ColumnChoices(task=task, metrics=metrics, populations=populations,
                         withheld=frozenset(withheld))


def populations_note(phase: Phase | None) -> str:
    """One line above the columns saying where their populations come from."""
    if phase is None:
        return _("Choose the phase and save (“Save and continue editing”): the columns then "
                 "offer its task's metrics and its ground truth's groups.")
    if not phase.ground_truth:
        return _("This phase has no ground truth yet, so columns can use all cases only. Upload "
                 "it on the phase to choose groups.")
    return _(
        "Populations come from the phase's ground truth (%(n)d cases). A group withheld from "
        "participants (fewer than %(least)d cases in a split, or hidden with such a group) can "
        "be shown but not ranked."
    ) % {"n": phase.truth_n_cases or 0, "least": phase.min_group_size}


class PopulationSelect(forms.Select):
    """A select whose withheld populations carry ``data-withheld`` and are disabled on a ranked
    row (the one selected excepted, so that the refusal says why instead of the browser sending
    another population)."""

    def __init__(self, *args, withheld: frozenset[str] = frozenset(), ranked: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.withheld = withheld
        self.ranked = ranked

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value in self.withheld:
            option["attrs"]["data-withheld"] = ""
            if self.ranked and not selected:
                option["attrs"]["disabled"] = True
        return option


class LeaderboardColumnForm(forms.ModelForm):
    """One column: a metric and a population from selects, or an id typed by hand."""

    # Named for assistive technology too: the tabular inline shows labels as column headers.
    metric = forms.ChoiceField(label=_("Metric"), required=False,
                               widget=forms.Select(attrs={"aria-label": _("Metric")}))
    population = forms.ChoiceField(label=_("Population"), required=False)
    column_id = forms.CharField(
        label=_("Or a column id"), required=False, max_length=128,
        widget=forms.TextInput(attrs={"aria-label": _("Or a column id")}),
        help_text=_("Only for what the selects cannot express; leave the metric empty then."),
    )

    class Meta:
        model = LeaderboardColumn
        fields = ("metric", "population", "column_id", "title", "ranked", "shown", "order")

    def __init__(self, *args, choices: ColumnChoices | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = choices or column_choices(None)
        if self.instance.pk:
            metric, population, typed = choices.split(self.instance.column_id)
            self.initial.update(metric=metric, population=population, column_id=typed)
        self.fields["metric"].choices = choices.metrics
        population = self.fields["population"]
        population.widget = PopulationSelect(
            attrs={"data-column-population": "", "aria-label": _("Population")},
            withheld=choices.withheld,
            ranked=bool(self["ranked"].value()),
        )
        population.choices = choices.populations

    def clean(self) -> dict:
        cleaned = super().clean()
        typed = (cleaned.get("column_id") or "").strip()
        metric = cleaned.get("metric")
        if typed and metric:
            raise ValidationError(
                _("Choose a metric and a population, or type a column id, not both.")
            )
        if metric:
            cleaned["column_id"] = compose_column_id(metric, cleaned.get("population") or "")
        elif typed:
            cleaned["column_id"] = typed
        elif "population" not in self.errors:
            self.add_error("metric", _("Choose a metric."))
        return cleaned
