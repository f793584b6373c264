"""The researchers' admin: studies, consent versions, surveys and their questions, arms.

A researcher (the Researchers group's model permissions) sees only the studies they are a
researcher of; organisers of the challenge see none of it unless they are researchers too.
Survey answers are not in the admin at all: they leave only through the logged export.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from competitions.admin import ScopedAdmin
from competitions.models import Leaderboard, Phase
from surveys import services
from surveys.item_bank import ITEMS
from surveys.models import (
    Arm,
    ConsentVersion,
    ExportLog,
    GridRow,
    Option,
    Question,
    Section,
    Study,
    StudyEvent,
    Survey,
)


class ResearcherScopedAdmin(ScopedAdmin):
    """Rows of the studies the user researches (all for a superuser)."""

    study_path = "study"

    def _scope_filter(self, request: HttpRequest) -> dict:
        prefix = f"{self.study_path}__" if self.study_path else ""
        return {f"{prefix}researchers": request.user}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            if db_field.related_model is Study:
                kwargs["queryset"] = Study.objects.filter(researchers=request.user)
            elif db_field.related_model is Survey:
                kwargs["queryset"] = Survey.objects.filter(study__researchers=request.user)
            elif db_field.related_model is Section:
                kwargs["queryset"] = Section.objects.filter(survey__study__researchers=request.user)
            elif db_field.related_model is Question:
                kwargs["queryset"] = Question.objects.filter(
                    section__survey__study__researchers=request.user
                )
            elif db_field.related_model is Phase:
                kwargs["queryset"] = _researched_phases(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _researched_phases(request: HttpRequest):
    """Phases of the challenges whose studies the user researches (others stay unlisted)."""
    return Phase.objects.filter(challenge__studies__researchers=request.user).distinct()


class ConsentVersionInline(admin.StackedInline):
    model = ConsentVersion
    extra = 0

    def has_change_permission(self, request, obj=None):
        # A published version is what participants agreed to: never edit it, add a new one.
        return False


class ArmInline(admin.TabularInline):
    model = Arm
    extra = 0

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is Leaderboard and not request.user.is_superuser:
            kwargs["queryset"] = Leaderboard.objects.filter(phase__in=_researched_phases(request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Study)
class StudyAdmin(ResearcherScopedAdmin):
    study_path = ""
    list_display = ("title", "slug", "challenge", "retention_until", "ethics_approval")
    inlines = [ConsentVersionInline, ArmInline]
    filter_horizontal = ("researchers",)

    def get_readonly_fields(self, request, obj=None):
        # Who researches a study is the site admins' call, not the researchers'.
        return () if request.user.is_superuser else ("researchers", "challenge")


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0
    show_change_link = True


class BankForm(forms.Form):
    items = forms.MultipleChoiceField(
        label=gettext_lazy("Items to copy"),
        choices=[(key, item.title) for key, item in ITEMS.items()],
        widget=forms.CheckboxSelectMultiple,
    )


@admin.register(Survey)
class SurveyAdmin(ResearcherScopedAdmin):
    list_display = ("title", "slug", "version", "study", "trigger", "opens_at", "closes_at")
    list_filter = (("study", admin.RelatedOnlyFieldListFilter), "trigger")
    inlines = [SectionInline]
    actions = ["make_new_version", "add_from_item_bank"]

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "study") if obj is not None and obj.is_frozen else ()

    @admin.action(description=gettext_lazy("Make a new version (to change answered questions)"))
    def make_new_version(self, request, queryset):
        for survey in queryset:
            new = services.survey_new_version(survey=survey)
            self.message_user(request, _("Created %(s)s.") % {"s": new})

    @admin.action(description=gettext_lazy("Add questions from the item bank"))
    def add_from_item_bank(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose one survey."), messages.ERROR)
            return None
        survey = queryset.get()
        form = BankForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                made = services.survey_add_bank_items(
                    survey=survey, keys=form.cleaned_data["items"]
                )
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return None
            self.message_user(request, _("Copied %(n)d questions.") % {"n": len(made)})
            return None
        context = {
            **self.admin_site.each_context(request),
            "survey": survey,
            "form": form,
            "items": ITEMS,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return render(request, "surveys/admin_item_bank.html", context)


class FrozenQuestionMixin:
    """No change or deletion of a question (or its options and rows) once its survey has
    responses: a change makes a new version (admin action on the survey)."""

    def _frozen(self, question) -> bool:
        return question is not None and question.section.survey.is_frozen

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._frozen(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._frozen(obj)


class FrozenAwareInline(FrozenQuestionMixin, admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not self._frozen(obj)


class OptionInline(FrozenAwareInline):
    model = Option


class GridRowInline(FrozenAwareInline):
    model = GridRow


@admin.register(Question)
class QuestionAdmin(FrozenQuestionMixin, ResearcherScopedAdmin):
    study_path = "section__survey__study"
    list_display = ("variable", "kind", "label", "section", "required", "special_category")
    list_filter = (("section__survey", admin.RelatedOnlyFieldListFilter), "kind")
    inlines = [OptionInline, GridRowInline]


@admin.register(Section)
class SectionAdmin(ResearcherScopedAdmin):
    study_path = "survey__study"
    list_display = ("title", "survey", "position")


@admin.register(ExportLog)
class ExportLogAdmin(ResearcherScopedAdmin):
    list_display = ("study", "user", "via", "at", "rows", "k", "min_group", "exact_fields")
    readonly_fields = ("study", "user", "via", "at", "rows", "k", "min_group", "exact_fields")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StudyEvent)
class StudyEventAdmin(ResearcherScopedAdmin):
    """The audit log of withdrawals: what each did, read-only."""

    list_display = ("study", "kind", "at", "detail")
    list_filter = ("kind",)
    readonly_fields = ("study", "user", "kind", "at", "detail")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
