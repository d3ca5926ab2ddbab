"""The REST edge's one table: error kind -> HTTP status. A 5xx means a bug or a broken model."""

from __future__ import annotations

from modelport.errors import ErrorKind, ModelportError

__all__ = ["HTTP_STATUS", "http_status"]

HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_INPUT: 400,
    ErrorKind.CONTRACT_VIOLATION: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.INTEGRITY: 500,
    ErrorKind.UNSAFE_ARTIFACT: 422,
    ErrorKind.UNSUPPORTED_ARTIFACT: 422,
    ErrorKind.MISSING_DEPENDENCY: 500,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.PERMISSION_DENIED: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.PAYLOAD_TOO_LARGE: 413,
    ErrorKind.DEADLINE_EXCEEDED: 504,
    ErrorKind.PREDICTION_FAILED: 500,
    ErrorKind.INTERNAL: 500,
}


def http_status(error: ModelportError) -> int:
    return HTTP_STATUS.get(error.kind, 500)
