"""The researchers' admin: studies, consent versions, surveys and their questions, arms.

A researcher (the Researchers group's model permissions) sees only the studies they are a
researcher of; organisers of the challenge see none of it unless they are researchers too.
Survey answers are not in the admin at all: they leave only through the logged export.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from competitions.admin import ScopedAdmin
from competitions.models import Leaderboard, Phase
from surveys import selectors, services
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
        # A survey, page or question chosen as a parent is one an edit may change: a frozen
        # survey's are not offered (its current version's are), and each names its version.
        mine = not request.user.is_superuser
        if db_field.related_model is Study and mine:
            kwargs["queryset"] = Study.objects.filter(researchers=request.user)
        elif db_field.related_model is Survey:
            surveys = Survey.objects.select_related("study")
            if mine:
                surveys = surveys.filter(study__researchers=request.user)
            kwargs["queryset"] = selectors.unfrozen(surveys)
        elif db_field.related_model is Section:
            sections = Section.objects.select_related("survey")
            if mine:
                sections = sections.filter(survey__study__researchers=request.user)
            kwargs["queryset"] = selectors.unfrozen(sections, "survey")
        elif db_field.related_model is Question:
            questions = Question.objects.select_related("section__survey")
            if mine:
                questions = questions.filter(section__survey__study__researchers=request.user)
            kwargs["queryset"] = selectors.unfrozen(questions, "section__survey")
        elif db_field.related_model is Phase and mine:
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


def _survey_of(obj) -> Survey | None:
    """The survey an admin object (a survey, page or question) belongs to."""
    if obj is None or isinstance(obj, Survey):
        return obj
    return obj.survey


def _frozen(obj) -> bool:
    survey = _survey_of(obj)
    return survey is not None and survey.is_frozen


def _linked(error: ValidationError) -> str | SafeString:
    """A model's refusal to change a frozen survey (code ``frozen``, see
    ``surveys.models._refuse_if_frozen``), with a link to making a new version of it."""
    message = error.message % error.params if error.params else error.message
    if error.code != "frozen":
        return message
    survey = error.params["survey"]
    return format_html(
        '{} <a href="{}">{}</a>',
        message,
        reverse("admin:surveys_survey_new_version", args=[survey.pk]),
        _("Make a new version of “%(survey)s”") % {"survey": survey},
    )


class FrozenLinkForm(forms.ModelForm):
    """The admin form of a survey or a part of one: the model refuses a change to a frozen
    survey in ``clean()`` (so the form shows it, never a 500); here it gains its link."""

    def full_clean(self) -> None:
        super().full_clean()
        errors = self._errors.get(NON_FIELD_ERRORS) if self._errors else None
        if errors and any(e.code == "frozen" for e in errors.as_data()):
            self._errors[NON_FIELD_ERRORS] = self.error_class(
                [_linked(e) for e in errors.as_data()],
                error_class="nonfield",
                renderer=self.renderer,
            )


class FrozenAwareAdmin(ResearcherScopedAdmin):
    """Admin of a survey or its parts once the survey may be frozen (has responses).

    A frozen page or question is shown read-only, but a change posted anyway (from a form
    opened before the first response, or built by hand) reaches the form, whose validation
    refuses it with the link; so does a change to a frozen survey's own questionnaire fields.
    Should the save itself refuse (the first response arrived between validation and save),
    the transaction is rolled back and the form comes back with the same message.
    """

    form = FrozenLinkForm
    shown_read_only_when_frozen = True

    def has_change_permission(self, request, obj=None):
        shown_frozen = (
            self.shown_read_only_when_frozen and request.method != "POST" and _frozen(obj)
        )
        return super().has_change_permission(request, obj) and not shown_frozen

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (
            self.shown_read_only_when_frozen and _frozen(obj)
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # The parent an object has stays a choice though its survey is frozen, so a refused
        # change says why rather than "select a valid choice".
        for name, field in form.base_fields.items():
            current = getattr(obj, f"{name}_id", None)
            if current is not None and isinstance(field, forms.ModelChoiceField):
                field.queryset = field.queryset | field.queryset.model.objects.filter(pk=current)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            for error in exc.error_list:
                self.message_user(request, _linked(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The change page of a frozen survey, page or question links to making a new version.
        context["frozen_survey"] = _survey_of(obj) if _frozen(obj) else None
        return super().render_change_form(request, context, add, change, form_url, obj)


class FrozenAwareInline(admin.TabularInline):
    """An inline of a survey's pages or a question's options and rows: read-only once the
    survey has responses, on POST too — the page a browser posts back carries no inputs for
    them (a frozen survey's times can then still change)."""

    extra = 0

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not _frozen(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _frozen(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _frozen(obj)


class SectionInline(FrozenAwareInline):
    model = Section
    form = FrozenLinkForm
    show_change_link = True


class BankForm(forms.Form):
    items = forms.MultipleChoiceField(
        label=gettext_lazy("Items to copy"),
        choices=[(key, item.title) for key, item in ITEMS.items()],
        widget=forms.CheckboxSelectMultiple,
    )


@admin.register(Survey)
class SurveyAdmin(FrozenAwareAdmin):
    list_display = ("title", "slug", "version", "study", "trigger", "opens_at", "closes_at")
    list_filter = (("study", admin.RelatedOnlyFieldListFilter), "trigger")
    list_select_related = ("study",)
    inlines = [SectionInline]
    actions = ["make_new_version", "add_from_item_bank"]
    # A frozen survey stays editable: its opening and closing times may change, and a change
    # to what a response means is a form error (Survey.clean) with the link.
    shown_read_only_when_frozen = False

    def get_urls(self):
        new_version = self.admin_site.admin_view(self.new_version_view)
        return [
            path("<path:object_id>/new-version/", new_version, name="surveys_survey_new_version"),
            *super().get_urls(),
        ]

    def new_version_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The target of the frozen-survey errors' link: a page that says what making a new
        version does, and does it on POST (a followed link changes nothing by itself)."""
        survey = self.get_object(request, unquote(object_id))
        if survey is None or not (
            self.has_add_permission(request) and self.has_view_permission(request, survey)
        ):
            raise Http404
        if request.method == "POST":
            new = services.survey_new_version(survey=survey)
            self.message_user(request, _("Created %(s)s: change its questions here.") % {"s": new})
            return HttpResponseRedirect(reverse("admin:surveys_survey_change", args=[new.pk]))
        newest = selectors.newest_version(survey)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Make a new version"),
            "survey": survey,
            "next_version": newest.version + 1,
            "newest": newest if newest != survey and not newest.is_frozen else None,
        }
        return TemplateResponse(request, "admin/surveys/survey/new_version.html", context)

    @admin.action(
        description=gettext_lazy("Make a new version (to change answered questions)"),
        permissions=["add"],
    )
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


class OptionInline(FrozenAwareInline):
    model = Option
    form = FrozenLinkForm


class GridRowInline(FrozenAwareInline):
    model = GridRow
    form = FrozenLinkForm


@admin.register(Question)
class QuestionAdmin(FrozenAwareAdmin):
    study_path = "section__survey__study"
    list_display = ("variable", "kind", "label", "section", "required", "special_category")
    list_filter = (("section__survey", admin.RelatedOnlyFieldListFilter), "kind")
    list_select_related = ("section__survey",)
    inlines = [OptionInline, GridRowInline]


@admin.register(Section)
class SectionAdmin(FrozenAwareAdmin):
    study_path = "survey__study"
    list_display = ("title", "survey", "position")
    list_filter = (("survey", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("survey",)


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
