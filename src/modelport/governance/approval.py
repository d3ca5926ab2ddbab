"""Approvals: a real, authenticated identity with the approver role, never the registrant.

Called by the server's ``POST /v2/security/approvals`` with the principal its API key or JWT
proved; the OS user name of a CLI is never trusted for this.
"""

from __future__ import annotations

from typing import Any

import orjson

from modelport.errors import InvalidInput, PermissionDenied
from modelport.governance.store import Approval, add_approval
from modelport.registry.service import Registry
from modelport.security.audit import append_audit
from modelport.security.roles import Principal, Role

__all__ = ["approve", "parse_approval"]

MAX_NOTE = 2000


def parse_approval(body: bytes) -> tuple[str, int, str]:
    """``{"model": "fraud", "version": 3, "note": "risk review"}`` -> its three fields."""
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    shape = 'send {"model": "fraud", "version": 3, "note": "risk review 2026-12"}'
    if not isinstance(doc, dict):
        raise InvalidInput(shape)
    model, version, note = doc.get("model"), doc.get("version"), doc.get("note")
    if not isinstance(model, str) or not model:
        raise InvalidInput(f"'model' must be a model name; {shape}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"'version' must be a version number >= 1; {shape}")
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput(f"'note' must say why (a non-empty string); {shape}")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"'note' is longer than {MAX_NOTE} characters")
    return model, version, note.strip()


def approve(registry: Registry, model: str, version: int, note: str, who: Principal
            ) -> Approval:
    """Record ``who``'s approval of ``model:version``, or refuse (403) saying why."""
    if who.method == "anonymous":
        raise PermissionDenied(
            "approvals need a real identity: call the server with an API key or JWT that has "
            "the approver role (an anonymous caller cannot approve)")
    if who.role < Role.APPROVER:
        raise PermissionDenied(f"{who.describe()} may not approve: it needs role approver")
    info = registry.resolve(f"{model}:{version}")
    if info.registered_by in (who.name, who.id):
        append_audit(registry.engine, action="model.approve.refused", actor=who.id,
                     target=info.ref, details={"reason": "four eyes: the registrant"})
        raise PermissionDenied(
            f"{who.describe()} registered {info.ref} and cannot approve it too (four eyes); "
            "ask another approver")
    approval = add_approval(registry.engine, info.name, info.version, approver=who.name,
                            note=note)
    append_audit(registry.engine, action="model.approve", actor=who.id, target=info.ref,
                 details={"approval": approval.id, "note": note, "approver": who.name})
    return approval
