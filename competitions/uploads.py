"""The one upload path of the edge: the upload page (form post or its JSON branch) and the API
take the same fields — predictions, description and the fact sheet — through the same form and
the same service, and refuse in the same shape.

A refusal is ``{"errors": [every message], "fields": {field: [its messages]}}``: ``errors`` holds
all that went wrong, for a person; ``fields`` says which input each problem belongs to, for a
program (a refusal of the upload as a whole, like a full quota, has no field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from competitions import services
from competitions.forms import SubmissionForm
from competitions.models import Phase, Submission


@dataclass
class UploadRefused(Exception):
    """Why an upload was not accepted; nothing was stored."""

    errors: list[str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    form: SubmissionForm | None = None

    def as_document(self) -> dict:
        return {"errors": list(self.errors), "fields": dict(self.fields)}


def submission_upload(*, phase: Phase, user, data, files) -> Submission:
    """Check the upload's fields and hand them to ``services.submission_create``; raises
    ``UploadRefused`` (with the bound form, for the page to show) when either says no."""
    form = SubmissionForm(data, files)
    if not form.is_valid():
        fields = {
            name: [str(message) for message in messages]
            for name, messages in form.errors.items() if name != "__all__"
        }
        errors = [str(message) for messages in form.errors.values() for message in messages]
        raise UploadRefused(errors=errors, fields=fields, form=form)
    try:
        return services.submission_create(
            phase=phase,
            user=user,
            upload=form.cleaned_data["file"],
            description=form.cleaned_data["description"],
            fact_sheet=form.fact_sheet(),
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        raise UploadRefused(errors=list(exc.messages), form=form) from exc
