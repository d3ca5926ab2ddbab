"""Who is calling and what they may do: five nested roles, optionally scoped to models.

``admin > approver > deployer > predictor > viewer > device``: each role holds every
right of the roles below it. ``device`` is for edge devices: it may only fetch its
models' updates under ``/v2/edge/`` and report heartbeats.
A principal may be limited to named models or endpoints; it may then touch only those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from modelport.errors import InvalidInput, PermissionDenied, Unauthenticated

__all__ = ["ANONYMOUS", "Principal", "Role", "authorize", "parse_models"]


class Role(IntEnum):
    """Ordered: a higher role includes every lower one."""

    DEVICE = 0
    """Fetch edge updates of its models and send heartbeats (OTA agents)."""
    VIEWER = 1
    """Read metadata, readiness and the repository index."""
    PREDICTOR = 2
    """Send inference requests (and feedback)."""
    DEPLOYER = 3
    """Load and unload models, move aliases, deploy and roll back."""
    APPROVER = 4
    """Approve model versions for promotion (four eyes: never one's own registration)."""
    ADMIN = 5
    """Create and revoke API keys, read the audit log."""

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(r.label for r in cls)
            raise InvalidInput(f"unknown role {text!r}; choose one of: {names}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """An authenticated caller. ``id`` is stable and never secret (safe for logs and audit)."""

    id: str
    """e.g. ``key:3f9a1c2b4d5e`` or ``jwt:alice``."""
    name: str
    """The key's name or the token's subject."""
    role: Role
    models: frozenset[str] | None = None
    """Models or endpoints this principal is limited to; None means all."""
    method: str = "api_key"
    """``api_key``, ``jwt`` or ``anonymous``."""

    def describe(self) -> str:
        return f"{self.id} (role {self.role.label})"


ANONYMOUS = Principal(id="anonymous", name="anonymous", role=Role.ADMIN, method="anonymous")
"""Every caller when authentication is off (loopback, or ``--allow-anonymous``)."""


def authorize(
    principal: Principal | None, need: Role, model: str | None = None, *, action: str = ""
) -> Principal:
    """The principal when it may do ``action`` (on ``model``); 401 or 403 otherwise."""
    if principal is None:
        raise Unauthenticated(
            "authentication required: send 'Authorization: Bearer <API key or JWT>' "
            "or 'X-API-Key: <API key>'"
        )
    what = action or "this request"
    if principal.role < need:
        raise PermissionDenied(
            f"{principal.describe()} may not {what}: it needs role {need.label} or higher"
        )
    if model is not None and principal.models is not None and model not in principal.models:
        allowed = ", ".join(sorted(principal.models)) or "none"
        raise PermissionDenied(
            f"{principal.describe()} is limited to models {allowed}; it may not {what} "
            f"on model {model!r}"
        )
    return principal


def parse_models(value: str | Iterable[str] | None) -> frozenset[str] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``frozenset({"a", "b"})``; empty or None -> None (all)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = frozenset(str(i).strip() for i in items if str(i).strip())
    return names or None
