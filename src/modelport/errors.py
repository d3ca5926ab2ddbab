"""The one error tree of modelport.

Errors carry a *kind* and a message, never a transport status: each edge (REST, gRPC, CLI)
owns its own table from kind to status code or exit code.

    ModelportError
      InvalidInput            the caller sent something malformed or not fitting the signature
        ContractViolation     the payload fits the signature but breaks the data contract
      NotFound                an unknown model, version, alias, deployment or file
      Conflict                the action contradicts current state (alias in use, rollout running)
      Unavailable             a model still loading, a database or broker that is down
      IntegrityError          an artifact whose bytes no longer match the recorded sha256
      UnsafeArtifact          pickle/joblib without --trust-pickle, an unsigned artifact
      UnsupportedArtifact     no runtime recognises the artifact
      MissingDependency       an optional extra is not installed
      Unauthenticated         who are you? (401)
      PermissionDenied        not allowed (403)
      RateLimited             too many requests (429)
      PayloadTooLarge         request body over the limit (413)
      DeadlineExceeded        the request ran past its timeout (504)
      PredictionFailed        the model itself raised while predicting
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    INVALID_INPUT = "invalid_input"
    CONTRACT_VIOLATION = "contract_violation"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    INTEGRITY = "integrity"
    UNSAFE_ARTIFACT = "unsafe_artifact"
    UNSUPPORTED_ARTIFACT = "unsupported_artifact"
    MISSING_DEPENDENCY = "missing_dependency"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    PREDICTION_FAILED = "prediction_failed"
    INTERNAL = "internal"


class ModelportError(Exception):
    """Root of every error modelport raises on purpose."""

    kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """Plain data, so the error can cross a process boundary."""
        out: dict[str, Any] = {"kind": self.kind.value, "error": self.message}
        if self.details:
            out["details"] = self.details
        return out

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelportError:
        cls = _BY_KIND.get(ErrorKind(data.get("kind", "internal")), ModelportError)
        return cls(str(data.get("error", "")), details=data.get("details"))


class InvalidInput(ModelportError):
    kind = ErrorKind.INVALID_INPUT


class ContractViolation(InvalidInput):
    kind = ErrorKind.CONTRACT_VIOLATION


class NotFound(ModelportError):
    kind = ErrorKind.NOT_FOUND


class Conflict(ModelportError):
    kind = ErrorKind.CONFLICT


class Unavailable(ModelportError):
    kind = ErrorKind.UNAVAILABLE


class IntegrityError(ModelportError):
    kind = ErrorKind.INTEGRITY


class UnsafeArtifact(ModelportError):
    kind = ErrorKind.UNSAFE_ARTIFACT


class UnsupportedArtifact(ModelportError):
    kind = ErrorKind.UNSUPPORTED_ARTIFACT


class MissingDependency(ModelportError):
    kind = ErrorKind.MISSING_DEPENDENCY

    @classmethod
    def for_extra(cls, module: str, extra: str) -> MissingDependency:
        return cls(
            f"the Python package {module!r} is not installed; "
            f"install it with: pip install 'modelport[{extra}]'"
        )


class Unauthenticated(ModelportError):
    kind = ErrorKind.UNAUTHENTICATED


class PermissionDenied(ModelportError):
    kind = ErrorKind.PERMISSION_DENIED


class RateLimited(ModelportError):
    kind = ErrorKind.RATE_LIMITED


class PayloadTooLarge(ModelportError):
    kind = ErrorKind.PAYLOAD_TOO_LARGE


class DeadlineExceeded(ModelportError):
    kind = ErrorKind.DEADLINE_EXCEEDED


class PredictionFailed(ModelportError):
    kind = ErrorKind.PREDICTION_FAILED


_BY_KIND: dict[ErrorKind, type[ModelportError]] = {
    cls.kind: cls
    for cls in (
        InvalidInput,
        ContractViolation,
        NotFound,
        Conflict,
        Unavailable,
        IntegrityError,
        UnsafeArtifact,
        UnsupportedArtifact,
        MissingDependency,
        Unauthenticated,
        PermissionDenied,
        RateLimited,
        PayloadTooLarge,
        DeadlineExceeded,
        PredictionFailed,
    )
}
