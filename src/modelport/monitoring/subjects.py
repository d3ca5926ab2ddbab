"""The data subject a request is about, for erasure: the OIP request parameter
``subject_id`` or the header ``x-subject-id`` (gRPC metadata too).

The subject is written with the request's inference log rows, so ``modelport privacy erase
--subject VALUE`` can find them; requests that name a subject are never put in the
prediction cache, so there is nothing of theirs to erase there.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelport.errors import InvalidInput
from modelport.protocol.types import InferenceRequest

__all__ = ["HEADER", "PARAMETER", "request_subject"]

PARAMETER = "subject_id"
HEADER = "x-subject-id"
MAX_LENGTH = 256


def request_subject(headers: Mapping[str, str], request: InferenceRequest) -> str | None:
    """The subject, checked, and noted in the request parameters (the core reads it there)."""
    value = request.parameters.get(PARAMETER) if request.parameters else None
    if value is None:
        value = headers.get(HEADER)
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"parameter {PARAMETER!r} must be a string, got {value!r}")
    text = str(value).strip()
    if not text or len(text) > MAX_LENGTH:
        raise InvalidInput(f"{PARAMETER} must be 1 to {MAX_LENGTH} characters")
    request.parameters[PARAMETER] = text
    return text
