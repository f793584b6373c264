"""Bundles in the organisers' admin: "Export as bundle" on challenges, and "Import a bundle" in
two steps — upload and see what will be created, then confirm (docs/bundles.md)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from competitions import services
from competitions.selectors.raters import truth_raters_notice

_PENDING = "competitions.bundle_pending"


class BundleUploadForm(forms.Form):
    bundle = forms.FileField(
        label=gettext_lazy("Bundle (ZIP)"),
        help_text=gettext_lazy("A file made by “Export as bundle” (cheetah-bundle.yaml inside)."),
    )


class BundleAdminMixin:
    """Mixed into ``ChallengeAdmin``: the export action and the import view."""

    change_list_template = "admin/competitions/challenge/change_list.html"
    actions = ["export_bundle"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_bundle_view)
        return [
            path("import-bundle/", view, name="competitions_challenge_import_bundle"),
            *super().get_urls(),
        ]

    @admin.action(description=gettext_lazy("Export as bundle"))
    def export_bundle(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Choose one challenge to export."), messages.ERROR)
            return None
        challenge = queryset.get()
        response = HttpResponse(services.bundle_export(challenge), content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="{challenge.slug}.cheetah-bundle.zip"'
        )
        return response

    def import_bundle_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the upload form. POST with a file: stash it and preview the import (every
        problem, or what will be created). POST confirm: import the stashed bundle."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        pending = request.session.get(_PENDING)
        if request.method == "POST" and "confirm" in request.POST and pending:
            del request.session[_PENDING]
            try:
                challenge = services.bundle_stash_import(pending, user=request.user)
            except ValidationError as exc:
                return self._render(request, BundleUploadForm(), problems=exc.messages)
            self.message_user(
                request,
                _("Imported “%(title)s” as a draft (%(slug)s): check it, then publish it.")
                % {"title": challenge.title, "slug": challenge.slug},
                messages.SUCCESS,
            )
            for phase in challenge.phases.all():
                columns = ((phase.truth_report or {}).get("raters") or {}).get("columns")
                if columns:
                    self.message_user(request, f"{phase.name}: {truth_raters_notice(columns)}",
                                      messages.WARNING)
            return HttpResponseRedirect(
                reverse("admin:competitions_challenge_change", args=[challenge.pk])
            )
        if pending:  # a new upload or a cancel replaces the one waiting
            services.bundle_stash_drop(pending)
            del request.session[_PENDING]
        if request.method == "POST" and "cancel" in request.POST:
            return HttpResponseRedirect(reverse("admin:competitions_challenge_changelist"))
        form = BundleUploadForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            return self._render(request, form)
        upload = form.cleaned_data["bundle"]
        try:
            summary = services.bundle_preview(upload)
        except ValidationError as exc:
            return self._render(request, form, problems=exc.messages)
        request.session[_PENDING] = services.bundle_stash(upload)
        return self._render(request, None, summary=summary)

    def _render(self, request, form, *, problems=(), summary=None) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import a bundle"),
            "form": form,
            "problems": problems,
            "summary": summary,
        }
        return TemplateResponse(request, "admin/competitions/challenge/import_bundle.html",
                                context)
