"""Participant pages (consent, privacy settings, answering) and the researcher's study pages.

Thin: a permission check, then a selector or a service, then a template. A user who may not see a
study's research pages gets 404, like everywhere else in Cheetah.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from cheetah.safe_csv import SafeWriter
from surveys import participation, selectors, services, summaries
from surveys.conditions import answers_by_key, is_shown
from surveys.forms import ConsentForm, SurveyPageForm
from surveys.models import ConsentItem, Study, Survey
from surveys.permissions import researched_or_404


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@login_required
def privacy(request: HttpRequest) -> HttpResponse:
    """The participant's settings: every study's decisions, due surveys, their data."""
    rows = []
    for study in selectors.studies_of(request.user).select_related("challenge"):
        version = selectors.current_version(study)
        if version is None:
            continue
        rows.append(
            {
                "study": study,
                "version": version,
                "decisions": selectors.latest_decisions(request.user, study),
                "may_withdraw": bool(selectors.given_items(request.user, study)),
            }
        )
    context = {
        "rows": rows,
        "items": list(ConsentItem),
        "surveys_due": selectors.surveys_due(request.user),
        "researched": selectors.researched_by(request.user),
    }
    return render(request, "surveys/privacy.html", context)


@login_required
def consent(request: HttpRequest, slug: str) -> HttpResponse:
    study = get_object_or_404(Study, slug=slug)
    version = selectors.current_version(study)
    if version is None or not selectors.may_take_part(request.user, study):
        raise Http404
    latest = selectors.latest_decisions(request.user, study)
    form = ConsentForm(
        request.POST or None, initial_choices={k: d.agreed for k, d in latest.items()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record(
                user=request.user, study=study, version=version, choices=form.choices()
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("surveys:consent", slug=slug)
        messages.success(request, _("Your decisions are saved."))
        return redirect(_safe_next(request, "surveys:privacy"))
    context = {
        "study": study,
        "version": version,
        "form": form,
        "previous_version": next(iter(latest.values())).version if latest else None,
        "next": _safe_next(request, ""),
    }
    return render(request, "surveys/consent.html", context)


@login_required
def withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    """The confirmation page that says what withdrawing does (GET), and the withdrawal (POST).
    Offered only to whoever has given something to withdraw; anyone else gets 404."""
    study = get_object_or_404(Study, slug=slug)
    if not selectors.may_take_part(request.user, study):
        raise Http404
    given = selectors.given_items(request.user, study)
    if not given or selectors.current_version(study) is None:
        raise Http404
    if request.method == "POST":
        try:
            services.consent_withdraw(user=request.user, study=study)
        except ValidationError as exc:
            raise Http404 from exc
        messages.success(
            request,
            _(
                "You have withdrawn from “%(study)s”. No survey of this study will be offered "
                "to you again. You still take part in the challenge."
            )
            % {"study": study.title},
        )
        return redirect("surveys:privacy")
    context = {
        "study": study,
        "given": [item for item in ConsentItem if item.value in given],
        "on_contacts": ConsentItem.CONTACT in given,
        "responses": selectors.responses_of(request.user, study).count(),
    }
    return render(request, "surveys/withdraw.html", context)


@login_required
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    """One page of a survey; answers are saved page by page and may be changed until it closes."""
    survey = get_object_or_404(Survey.objects.select_related("study"), pk=pk)
    if not selectors.may_take_part(request.user, survey.study):
        raise Http404
    if not selectors.has_agreed(request.user, survey.study, ConsentItem.PARTICIPATE):
        if selectors.has_withdrawn(request.user, survey.study):
            # Nothing is created or shown: the survey link still works, and says why.
            return render(request, "surveys/withdrawn.html", {"study": survey.study})
        messages.info(request, _("Please read the study's consent form first."))
        return redirect(f"{_consent_url(survey.study)}?next={request.path}")
    try:
        response = services.response_for(survey=survey, user=request.user)
    except ValidationError as exc:
        return render(request, "surveys/closed.html", {"survey": survey, "errors": exc.messages})
    sections = list(survey.sections.all())
    if not sections:
        raise Http404
    page = _page_number(request, len(sections))
    section = sections[page - 1]
    answers = answers_by_key(list(response.answers.all()))
    # Special-category questions are asked only of those who gave explicit consent for them.
    special = selectors.has_agreed(request.user, survey.study, ConsentItem.SPECIAL)
    questions = [
        q
        for q in section.questions.prefetch_related("options", "rows")
        if is_shown(q, answers) and (special or not q.special_category)
    ]
    action = request.POST.get("action", "next")
    form = SurveyPageForm(
        request.POST or None,
        response=response,
        section=section,
        questions=questions,
        answers=answers,
        check_required=action != "save",
    )
    if request.method == "POST" and form.is_valid():
        last = page == len(sections)
        try:
            services.response_save_page(
                response=response,
                section=section,
                values=form.values(),
                finish=last and action == "next",
            )
        except ValidationError as exc:
            return render(
                request, "surveys/closed.html", {"survey": survey, "errors": exc.messages}
            )
        if action == "save":
            messages.success(request, _("Saved. You can come back until the survey closes."))
            return redirect(f"{request.path}?page={page}")
        if action == "back" and page > 1:
            return redirect(f"{request.path}?page={page - 1}")
        if last:
            messages.success(request, _("Thank you: your answers are saved."))
            return redirect("surveys:privacy")
        return redirect(f"{request.path}?page={page + 1}")
    context = {
        "survey": survey,
        "section": section,
        "page": page,
        "pages": len(sections),
        "form": form,
        "items": form.items(),
    }
    return render(request, "surveys/answer.html", context)


def _consent_url(study: Study) -> str:
    return reverse("surveys:consent", args=[study.slug])


def _page_number(request: HttpRequest, pages: int) -> int:
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), pages)


# --- Researchers ---------------------------------------------------------------------------


@login_required
def study_detail(request: HttpRequest, slug: str) -> HttpResponse:
    study = researched_or_404(request, slug)
    context = {
        "study": study,
        "threshold": study.export_min_group,
        "version": selectors.current_version(study),
        "summaries": summaries.study_summaries(study),
        "n_research": selectors.research_consents(study),
        "exports": study.exports.select_related("user")[:20],
        "arms": selectors.arm_sizes(study),
        "participation": participation.research_page(study, variable=request.GET.get("by")),
    }
    return render(request, "surveys/study_detail.html", context)


@login_required
def study_responses(request: HttpRequest, slug: str) -> HttpResponse:
    """The pseudonymised responses to one survey version, a page at a time (``?survey=<id>``,
    default the study's first; ``?page=N``): what the export holds of them, and logged."""
    study = researched_or_404(request, slug)
    surveys = selectors.study_surveys(study)
    survey = surveys[0] if surveys else None
    if request.GET.get("survey"):
        survey = next((s for s in surveys if str(s.pk) == request.GET["survey"]), None)
        if survey is None:
            raise Http404
    page = None
    if survey is not None:
        page = services.responses_browse(
            study=study, user=request.user, survey=survey, page=request.GET.get("page")
        )
    context = {"study": study, "surveys": surveys, "survey": survey, "page": page}
    return render(request, "surveys/study_responses.html", context)


@login_required
def study_export(request: HttpRequest, slug: str) -> HttpResponse:
    study = researched_or_404(request, slug)
    body = services.study_export_zip(study=study, user=request.user)
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-export.zip"'
    return response


@login_required
def study_contacts(request: HttpRequest, slug: str) -> HttpResponse:
    """The interview contact list, apart from the pseudonymised data (its own page and log)."""
    study = researched_or_404(request, slug)
    rows = services.contact_list(study=study, user=request.user)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{study.slug}-contacts.csv"'
        writer = SafeWriter(response)
        writer.writerow(["name", "email"])
        writer.writerows([row["name"], row["email"]] for row in rows)
        return response
    return render(request, "surveys/study_contacts.html", {"study": study, "rows": rows})
