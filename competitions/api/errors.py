"""The API's refusals, documented in the OpenAPI schema next to each endpoint's answer.

Every operation can be throttled (429); those that need a token answer 401 without one; those
that name an object answer 404 when the caller may not see it (never 403, so ids cannot be
probed). A 400 lists the problems per field (DRF's shape); an upload's 400 lists every
problem under ``errors`` and, per input, under ``fields`` (``competitions.uploads``): the same
shape as the upload page's JSON answer.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

DETAIL = inline_serializer("Detail", fields={"detail": serializers.CharField()})
PROBLEMS = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "description": "Messages per field (DRF's shape).",
}
UPLOAD_PROBLEMS = {
    "type": "object",
    "properties": {
        "errors": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "object",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["errors"],
    "description": "Every message under `errors`; `fields` names the input each belongs to "
                   "(none for a refusal of the upload as a whole, such as a full quota). The "
                   "upload page's JSON answer has the same shape.",
}

THROTTLED = {429: OpenApiResponse(DETAIL, description="Too many requests; see Retry-After.")}
NEEDS_TOKEN = {401: OpenApiResponse(DETAIL, description="No token, or an unknown one.")}
NOT_FOUND = {404: OpenApiResponse(DETAIL, description="No such object, or not yours to see.")}
REFUSED = {400: OpenApiResponse(PROBLEMS, description="Refused, with the reasons.")}
UPLOAD_REFUSED = {400: OpenApiResponse(UPLOAD_PROBLEMS, description="Refused, with the reasons.")}
