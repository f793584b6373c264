"""The organisers' workplace: challenges, phases, ground truth, teams and submissions.

Organisers are staff users in the "Organisers" group; beyond the model permissions, every
admin here is scoped per object: an organiser sees and changes only the challenges they organise
(superusers see all).
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from competitions import selectors, services
from competitions.admin_bundles import BundleAdminMixin
from competitions.boards import leaderboard_validate
from competitions.column_editor import LeaderboardColumnForm, column_choices, populations_note
from competitions.metrics import metric_choices
from competitions.models import (
    Challenge,
    DataFile,
    FactSheet,
    Leaderboard,
    LeaderboardColumn,
    Participant,
    Phase,
    SimilarityReport,
    Submission,
    SubmissionEvent,
    SubmissionFlag,
    Team,
)
from competitions.roles import ORGANISERS_GROUP
from competitions.selectors.raters import (
    truth_legacy_rater_attributes,
    truth_legacy_raters_warning,
    truth_raters_notice,
)
from scoring.errors import InputError
from scoring.groups import check_selection, parse_pairs
from scoring.io import read_truth
from scoring.registry import default_metric


class ScopedAdmin(admin.ModelAdmin):
    """Limits rows and object permissions to what ``_scope_filter`` lets the user own (all of
    them for a superuser). Organisers' challenges here; researchers' studies in surveys."""

    def _scope_filter(self, request: HttpRequest) -> dict:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**self._scope_filter(request)).distinct()

    def _owns(self, request: HttpRequest, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._owns(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)


class OrganiserScopedAdmin(ScopedAdmin):
    """Limits rows, object permissions and challenge choices to the user's own challenges."""

    challenge_path = "challenge"  # lookup from the model to its Challenge

    def _scope_filter(self, request: HttpRequest) -> dict:
        prefix = f"{self.challenge_path}__" if self.challenge_path else ""
        return {f"{prefix}organisers": request.user}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Challenge and not request.user.is_superuser:
            kwargs["queryset"] = Challenge.objects.filter(organisers=request.user)
        if db_field.related_model is Phase and not request.user.is_superuser:
            kwargs["queryset"] = Phase.objects.filter(challenge__organisers=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DataFileForm(forms.ModelForm):
    class Meta:
        model = DataFile
        fields = ("title", "description", "file", "filename", "url")

    def clean(self):
        """A file uploaded without a download name keeps its own (files are stored under
        generated names, so it would otherwise download as ``<slug>-data-<id>``, no extension)."""
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload and "file" in self.changed_data and not cleaned.get("filename"):
            cleaned["filename"] = get_valid_filename(Path(upload.name).name)[:200]
            self.instance.filename = cleaned["filename"]
        return cleaned


class DataFileInline(admin.TabularInline):
    model = DataFile
    form = DataFileForm
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = ("title", "description", "file", "filename", "url")


def _deletable(request: HttpRequest, obj: Challenge | Phase | None) -> bool:
    """Whether a non-superuser may delete this challenge or phase: only a draft's, so nothing
    participants have seen disappears (None: the list's action, checked again per object)."""
    if obj is None or request.user.is_superuser:
        return True
    challenge = obj if isinstance(obj, Challenge) else obj.challenge
    return challenge.status == Challenge.Status.DRAFT


@admin.register(Challenge)
class ChallengeAdmin(BundleAdminMixin, OrganiserScopedAdmin):
    challenge_path = ""
    list_display = ("title", "slug", "status", "access", "task", "created_at")
    list_filter = ("status", "access", "task")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("organisers",)
    inlines = [DataFileInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "summary", "status", "access", "invitation_code")}),
        (_("Texts (markdown)"), {"fields": ("overview", "rules", "data_description")}),
        (_("Setup"), {"fields": ("task", "max_team_size", "organisers", "grid_intensity",
                                 "course_mode")}),
    )

    def has_delete_permission(self, request, obj=None):
        """Organisers delete a challenge while it is a draft (with what it holds; a draft with
        teams or submissions needs a superuser, as Django's confirmation page then says)."""
        return super().has_delete_permission(request, obj) and _deletable(request, obj)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # An organiser picks co-organisers among the organisers, not from every user's name.
        if db_field.name == "organisers" and not request.user.is_superuser:
            kwargs["queryset"] = get_user_model().objects.filter(
                Q(groups__name=ORGANISERS_GROUP) | Q(is_superuser=True)
            ).distinct()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Whoever creates a challenge organises it, or they could not see it afterwards.
        if not change:
            form.instance.organisers.add(request.user)


class PhaseAdminForm(forms.ModelForm):
    ground_truth_upload = forms.FileField(
        label=_("Ground truth CSV"),
        required=False,
        help_text=_(
            "Columns case_id, label, any attribute columns (e.g. sex, age_band) and optionally "
            "split (public/private). Checked on upload; never served to anyone."
        ),
    )
    primary_metric = forms.ChoiceField(label=_("Primary metric"), choices=())

    class Meta:
        model = Phase
        fields = (
            "challenge",
            "name",
            "slug",
            "start",
            "end",
            "submissions_per_day",
            "submissions_total",
            "threshold",
            "cost_fn",
            "cost_fp",
            "costs_known",
            "threshold_given",
            "calibration_matters",
            "interest_in_positives",
            "primary_metric",
            "bootstrap_resamples",
            "min_group_size",
            "intersections",
            "power_baseline",
            "power_difference",
            "similarity_flag_threshold",
            "ensemble_size",
            "grid_intensity",
            "private_share",
            "split_seed",
            "score_visibility",
            "release_policy",
            "release_decimals",
            "rater_tie_rule",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["primary_metric"]
        # Empty means the task's default (``clean``): what the select offers while the
        # challenge is unknown, so a page loaded before the challenge was chosen still posts.
        field.required = False
        task = self._chosen_task()
        if task is not None:
            field.choices = metric_choices(task)
            # The task's default for a new phase, not the first choice of the list (accuracy).
            field.initial = self.instance.primary_metric if self.instance.pk else (
                default_metric(task)
            )
            return
        # The challenge is not chosen yet: every task's metrics, and by default the default of
        # whichever task the challenge has.
        field.choices = [("", _("The task's default (%(defaults)s)") % {"defaults": ", ".join(
            f"{label}: {default_metric(value)}" for value, label in Challenge.Task.choices
        )})] + [(label, metric_choices(value)) for value, label in Challenge.Task.choices]

    def _chosen_task(self) -> str | None:
        """The task of the phase's challenge: the saved one, else the one posted or given in
        the address (``?challenge=<id>``), else the only task among the challenges offered."""
        if self.instance.challenge_id:
            return self.instance.challenge.task
        field = self.fields["challenge"]
        value = (self.data.get(self.add_prefix("challenge")) if self.is_bound
                 else self.initial.get("challenge"))
        try:
            challenge = field.clean(value)
        except ValidationError:
            tasks = set(field.queryset.order_by().values_list("task", flat=True).distinct()[:2])
            return tasks.pop() if len(tasks) == 1 else None
        return challenge.task

    def clean_intersections(self) -> str:
        text = self.cleaned_data["intersections"]
        try:
            parse_pairs(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return text

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("ground_truth_upload")
        challenge = cleaned.get("challenge")
        attributes = self.instance.truth_attributes if self.instance.pk else []
        if upload and challenge:
            try:
                truth = read_truth(upload, task=challenge.task)
            except InputError as exc:
                raise ValidationError({"ground_truth_upload": exc.problems}) from exc
            problem = services.truth_case_id_problem(truth)
            if problem:
                raise ValidationError({"ground_truth_upload": problem})
            attributes = list(truth.attributes)
            upload.seek(0)
        if "intersections" in cleaned and (upload or self.instance.ground_truth):
            problems = check_selection(attributes, None, parse_pairs(cleaned["intersections"]))
            if problems:
                self.add_error("intersections", problems)
        if challenge and not cleaned.get("primary_metric"):
            cleaned["primary_metric"] = default_metric(challenge.task)
        if challenge and cleaned.get("primary_metric") not in dict(metric_choices(challenge.task)):
            self.add_error("primary_metric", _("This metric does not fit the challenge's task."))
        return cleaned


@admin.register(Phase)
class PhaseAdmin(OrganiserScopedAdmin):
    form = PhaseAdminForm
    list_display = ("__str__", "start", "end", "primary_metric", "truth_n_cases")
    list_filter = (("challenge", admin.RelatedOnlyFieldListFilter),)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = (
        "truth_n_cases", "truth_attributes", "truth_uploaded_at", "evaluation_data_report",
        "design_power", "metric_advice", "raters",
    )
    actions = ["rescore", "recompute_similarity", "recompute_leaderboards", "publish_scores"]

    def has_delete_permission(self, request, obj=None):
        # With its draft challenge only; the phases of a published one stay.
        return super().has_delete_permission(request, obj) and _deletable(request, obj)

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("ground_truth_upload")
        services.phase_save(phase=obj, created=not change, upload=upload,
                            changed=form.changed_data)
        if obj.release_policy == Phase.ReleasePolicy.FULL:
            self.message_user(
                request,
                _(
                    "“%(phase)s” releases every submission's public scores (policy “full”). "
                    "Participants can read labels back from such feedback: rounding stops the "
                    "precision probe, not the difference between two submissions nor a "
                    "submission that decides positive on one chosen case per group. Use it only "
                    "for a practice phase; the ladder withholds such feedback."
                ) % {"phase": obj.name},
                messages.WARNING,
            )
        if upload:
            self.message_user(
                request,
                _(
                    "Ground truth stored: %(n)d cases, attributes: %(a)s. Its evaluation-data "
                    "report is at the bottom of the phase page."
                )
                % {"n": obj.truth_n_cases, "a": ", ".join(obj.truth_attributes) or "none"},
            )
            columns = (obj.truth_report or {}).get("raters", {}).get("columns", [])
            if columns:
                self.message_user(request, truth_raters_notice(columns), messages.WARNING)
        legacy = truth_legacy_rater_attributes(obj)
        if legacy:
            self.message_user(request, truth_legacy_raters_warning(legacy), messages.WARNING)

    @admin.display(description=_("Raters"))
    def raters(self, obj: Phase) -> str:
        """The ground truth's rater columns (label_<rater>) and their agreement, and a warning
        when a ground truth stored before those columns were reserved used one as an
        attribute."""
        report = (obj.truth_report or {}).get("raters")
        return render_to_string("admin/competitions/_raters.html", {
            "report": report, "legacy": truth_legacy_rater_attributes(obj),
            "legacy_warning": truth_legacy_raters_warning(truth_legacy_rater_attributes(obj)),
            "tie_rule": obj.get_rater_tie_rule_display(),
        })

    @admin.display(description=_("Evaluation-data report"))
    def evaluation_data_report(self, obj: Phase) -> str:
        """What the ground truth allows: group sizes, positive rates, expected CI widths."""
        if not obj.truth_report:
            return _("Upload a ground truth to see its report.")
        return render_to_string(
            "admin/competitions/truth_report.html", {"report": obj.truth_report}
        )

    @admin.display(description=_("Power at design time"))
    def design_power(self, obj: Phase) -> str:
        """Per split and group: the positives (negatives) needed to detect the phase's power
        difference in sensitivity (specificity), what the group has, and the AUROC's ±."""
        if not obj.truth_report:
            return _("Upload a ground truth to see its power.")
        return render_to_string(
            "admin/competitions/_power_table.html",
            {"report": obj.truth_report, "min_group_size": obj.min_group_size},
        )

    @admin.display(description=_("Metric advisor"))
    def metric_advice(self, obj: Phase) -> str:
        """Metrics Reloaded's recommendations for the ground truth and the answers above, and
        warnings about the metrics on the phase's leaderboards (recommendations only)."""
        if not obj.pk:
            return _("Save the phase and upload a ground truth to see the recommendations.")
        return render_to_string(
            "admin/competitions/_metric_advice.html", {"found": selectors.phase_metric_advice(obj)}
        )

    @admin.action(description=_("Rescore all scored submissions of the selected phases"))
    def rescore(self, request, queryset):
        total = sum(services.phase_rescore(phase=phase) for phase in queryset)
        self.message_user(
            request,
            ngettext("%(n)d submission queued again.", "%(n)d submissions queued again.", total)
            % {"n": total},
            messages.SUCCESS,
        )


    @admin.action(
        description=_("Recompute the similarity and ensembles of the selected phases in full")
    )
    def recompute_similarity(self, request, queryset):
        for phase in queryset:
            services.phase_similarity_recompute(phase=phase)
        self.message_user(request, _("Similarity will be recomputed by a worker shortly."))


    @admin.action(description=_("Recompute the leaderboards of the selected phases"))
    def recompute_leaderboards(self, request, queryset):
        for phase in queryset:
            services.phase_leaderboards_recompute(phase=phase)
        self.message_user(request, _("The leaderboards will be recomputed by a worker shortly."))

    @admin.action(description=_("Publish the scores of the selected phases"))
    def publish_scores(self, request, queryset):
        count = services.phase_scores_publish(phases=queryset)
        self.message_user(
            request,
            ngettext("Scores of %(n)d phase published.", "Scores of %(n)d phases published.",
                     count) % {"n": count},
            messages.SUCCESS,
        )


class LeaderboardColumnFormSet(forms.BaseInlineFormSet):
    """Checks the columns together with the board's rule: every problem shown at once."""

    def clean(self):
        super().clean()
        if any(self.errors) or not self.instance.phase_id:
            return  # the board's own form reports its problems (e.g. a phase not yours)
        kept = [
            form.cleaned_data for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            leaderboard_validate(
                self.instance,
                [c["column_id"] for c in kept],
                [c["column_id"] for c in kept if c.get("ranked")],
            )
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class LeaderboardColumnInline(admin.TabularInline):
    model = LeaderboardColumn
    form = LeaderboardColumnForm
    formset = LeaderboardColumnFormSet
    extra = 1
    fields = ("metric", "population", "column_id", "title", "ranked", "shown", "order")

    class Media:
        js = ("cheetah/column-editor.js",)


@admin.register(Leaderboard)
class LeaderboardAdmin(OrganiserScopedAdmin):
    challenge_path = "phase__challenge"
    list_display = ("name", "phase", "ranking", "counting", "is_primary")
    list_filter = (("phase__challenge", admin.RelatedOnlyFieldListFilter),)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [LeaderboardColumnInline]
    fields = (
        "phase", "name", "slug", "description", "ranking", "worst_group_on", "counting",
        "is_primary", "order", "robustness_resamples", "robustness_seed", "column_populations",
    )
    readonly_fields = ("column_populations",)

    @admin.display(description=_("Columns' populations"))
    def column_populations(self, obj: Leaderboard | None) -> str:
        return populations_note(obj.phase if obj is not None and obj.phase_id else None)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """The column editor's metrics and populations, read once for all rows, from the phase
        the board is for (or is being saved for)."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LeaderboardColumnInline):
            kwargs["form_kwargs"] = {"choices": column_choices(self._board_phase(request, obj))}
        return kwargs

    def _board_phase(self, request: HttpRequest, obj: Leaderboard | None) -> Phase | None:
        """The phase posted (the form checks it is the user's), else the board's, else the one
        in the address (``?phase=<id>``): only among the phases the user organises."""
        chosen = request.POST.get("phase") if request.method == "POST" else None
        if not chosen and obj is not None and obj.phase_id:
            chosen = obj.phase_id
        chosen = chosen or request.GET.get("phase")
        phases = Phase.objects.select_related("challenge")
        if not request.user.is_superuser:
            phases = phases.filter(challenge__organisers=request.user)
        try:
            return phases.filter(pk=int(chosen)).first() if chosen else None
        except (TypeError, ValueError):
            return None

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.phase_leaderboards_recompute(phase=form.instance.phase)


@admin.register(SubmissionFlag)
class SubmissionFlagAdmin(OrganiserScopedAdmin):
    """Submissions that look like probes of the evaluation, per phase (``scoring.probes``)."""

    challenge_path = "submission__phase__challenge"
    list_display = ("submission", "reason", "differing_cases", "earlier", "detail", "created_at")
    list_filter = (("submission__phase", admin.RelatedOnlyFieldListFilter), "reason")
    list_select_related = ("submission__team", "earlier__team")
    readonly_fields = ("submission", "reason", "detail", "differing_cases", "earlier",
                       "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(SimilarityReport)
class SimilarityReportAdmin(OrganiserScopedAdmin):
    challenge_path = "phase__challenge"
    list_display = ("phase", "split", "computed_at", "mean_error_consistency")
    list_filter = (("phase", admin.RelatedOnlyFieldListFilter), "split")
    readonly_fields = (
        "phase", "split", "computed_at", "entries", "mean_error_consistency", "order", "flagged",
        "groups", "arrays", "arrays_bytes", "basis",
    )

    def has_add_permission(self, request):
        return False


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ("user", "accepted_rules_at", "joined_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Team)
class TeamAdmin(OrganiserScopedAdmin):
    list_display = ("name", "challenge", "created_at")
    list_filter = (("challenge", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "members__user__username")
    inlines = [ParticipantInline]
    readonly_fields = ("invite_token",)


class SubmissionEventInline(admin.TabularInline):
    model = SubmissionEvent
    extra = 0
    fields = ("kind", "at", "detail")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class FactSheetInline(admin.StackedInline):
    """The team's declaration, as entered on the upload form: shown, not edited."""

    model = FactSheet
    extra = 0
    fields = ("external_data", "training_hours", "inference_hours", "hardware", "devices")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(OrganiserScopedAdmin):
    challenge_path = "phase__challenge"
    list_display = ("pk", "team", "phase", "status", "created_at", "deliveries", "engine_version")
    list_filter = ("status", ("phase", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("team", "phase__challenge")
    search_fields = ("team__name", "created_by__username")
    inlines = [FactSheetInline, SubmissionEventInline]
    readonly_fields = (
        "phase",
        "team",
        "created_by",
        "file",
        "original_name",
        "size",
        "description",
        "status",
        "message",
        "created_at",
        "started_at",
        "finished_at",
        "deliveries",
        "result",
        "engine_version",
        "config",
    )

    def has_add_permission(self, request):
        return False
