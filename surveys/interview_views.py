"""The interviews pages: the researcher's (draw, invite, track) and the invited person's.

The researcher's page lists names and e-mail addresses, so it is a study researcher's alone
(404 for everyone else, organisers included) and every view of it is logged, like the contact
list.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from surveys import interviews
from surveys.interview_forms import InterviewDrawForm, InterviewStatusForm, InterviewTemplateForm
from surveys.models import ExportLog, Interview, Study
from surveys.participation import group_variables
from surveys.permissions import researched_or_404


@login_required
def study_interviews(request: HttpRequest, slug: str) -> HttpResponse:
    study = researched_or_404(request, slug)
    variables = list(group_variables(study))
    template_form = InterviewTemplateForm(
        initial={"subject": study.interview_subject, "body": study.interview_body}
    )
    draw_form = InterviewDrawForm(variables=variables, initial={
        "variable": request.GET.get("by", "")})
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "template":
                template_form = InterviewTemplateForm(request.POST)
                if template_form.is_valid():
                    interviews.template_save(study=study, **template_form.cleaned_data)
                    messages.success(request, _("The invitation is saved."))
                    return redirect("surveys:interviews", slug=slug)
            elif action == "draw":
                draw_form = InterviewDrawForm(request.POST, variables=variables)
                if draw_form.is_valid():
                    sample = interviews.sample_draw(study=study, by=request.user,
                                                    **draw_form.cleaned_data)
                    messages.success(request, _("%(n)d people drawn.") % {
                        "n": sample.interviews.count()})
                    return redirect("surveys:interviews", slug=slug)
            elif action == "invite":
                sent = interviews.invitations_send(study=study, by=request.user)
                messages.success(request, _("%(n)d invitations sent.") % {"n": sent})
                return redirect("surveys:interviews", slug=slug)
            elif action == "status":
                interview = get_object_or_404(Interview, study=study,
                                              pk=request.POST.get("interview"))
                form = InterviewStatusForm(request.POST, interview=interview)
                if form.is_valid():
                    interviews.status_set(interview=interview, by=request.user,
                                          status=form.cleaned_data["status"], as_researcher=True)
                    messages.success(request, _("Status changed."))
                else:
                    messages.error(request, _("Choose one of the statuses offered."))
                return redirect("surveys:interviews", slug=slug)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    rows = list(Interview.objects.filter(study=study).select_related("user"))
    ExportLog.objects.create(study=study, user=request.user, via="interviews", rows=len(rows))
    by = request.GET.get("by", "")
    try:
        strata = interviews.eligible_strata(study, by if by in variables else "")
    except ValidationError:
        strata = []
    context = {
        "study": study,
        "template_form": template_form,
        "draw_form": draw_form,
        "strata": strata,
        "by": by if by in variables else "",
        "variables": variables,
        "samples": study.interview_samples.all()[:10],
        "rows": [(row, InterviewStatusForm(interview=row)) for row in rows],
        "waiting": sum(row.status == Interview.Status.DRAWN for row in rows),
    }
    return render(request, "surveys/study_interviews.html", context)


def _invitation_or_404(request: HttpRequest, slug: str) -> Interview:
    """The signed-in person's own invitation to this study's interviews, or 404 (also for a
    person drawn but not yet invited)."""
    if not request.user.is_authenticated:
        raise Http404
    study = get_object_or_404(Study, slug=slug)
    return get_object_or_404(
        Interview.objects.select_related("study").exclude(status=Interview.Status.DRAWN),
        study=study, user=request.user,
    )


@login_required
def interview_invitation(request: HttpRequest, slug: str) -> HttpResponse:
    interview = _invitation_or_404(request, slug)
    return render(request, "surveys/interview.html", {
        "interview": interview, "study": interview.study,
        "body": interviews.invitation_text(interview),
    })


@login_required
@require_POST
def interview_answer(request: HttpRequest, slug: str) -> HttpResponse:
    interview = _invitation_or_404(request, slug)
    answer = request.POST.get("answer")
    status = {"yes": Interview.Status.ACCEPTED, "no": Interview.Status.DECLINED}.get(answer)
    try:
        if status is None:
            raise ValidationError(_("Choose yes or no."))
        interviews.status_set(interview=interview, status=status, by=request.user,
                              as_researcher=False)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Thank you: the researchers will see your answer.")
                         if status == Interview.Status.ACCEPTED
                         else _("Thank you: you will not be asked again."))
    return redirect("surveys:interview", slug=slug)
