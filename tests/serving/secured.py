"""Shared set-up for the security tests of the transports: a key per role, and the matrix of
which role may do what."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from modelport.registry import db
from modelport.security.keys import KeyStore
from modelport.security.roles import Role

ROLES = ("viewer", "predictor", "deployer", "admin")


@dataclass(frozen=True)
class Callers:
    """Tokens by caller name: one per role, ``scoped`` (admin limited to model ``other``)."""

    tokens: dict[str, str]

    def role(self, caller: str) -> Role | None:
        if caller in ROLES:
            return Role.parse(caller)
        return Role.ADMIN if caller == "scoped" else None


def make_callers(engine: Engine) -> Callers:
    store = KeyStore(engine)
    tokens = {role: store.create(name=f"{role}-svc", role=role, actor="test").token
              for role in ROLES}
    tokens["scoped"] = store.create(name="scoped", role="admin", models="other",
                                    actor="test").token
    tokens["forged"] = tokens["admin"][:-4] + "AAAA"
    tokens["nobody"] = ""
    return Callers(tokens)


def expected(caller: str, callers: Callers, need: Role | None, model: str | None) -> str:
    """``ok``, ``401`` or ``403``: what the edge must answer."""
    if need is None:
        return "ok"
    role = callers.role(caller)
    if role is None:
        return "401"
    if role < need or (caller == "scoped" and model not in (None, "other")):
        return "403"
    return "ok"


def open_database(folder: Path) -> Engine:
    """A migrated SQLite registry database in ``folder`` (keys and audit log live there)."""
    return db.open_engine(f"sqlite:///{folder / 'registry.db'}")
