"""Evaluations, policies and approvals in the registry database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.governance.policy import Policy, protect_all
from modelport.registry import db
from modelport.registry import tables_governance as g
from modelport.registry.tables import utcnow

__all__ = [
    "Approval",
    "EvaluationRecord",
    "add_approval",
    "approvals_of",
    "evaluations_of",
    "get_policy",
    "save_evaluation",
    "set_policy",
]


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    id: int
    model: str
    version: int
    created_at: datetime
    created_by: str
    passed: bool
    document: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "version": self.version,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by,
                "passed": self.passed, **self.document}


@dataclass(frozen=True, slots=True)
class Approval:
    id: int
    model: str
    version: int
    approver: str
    note: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "version": self.version,
                "approver": self.approver, "note": self.note,
                "created_at": self.created_at.isoformat()}


def save_evaluation(engine: Engine, model: str, version: int, *, actor: str, passed: bool,
                    document: dict[str, Any]) -> EvaluationRecord:
    now = utcnow()

    def work(conn: sa.Connection) -> int:
        return int(conn.execute(sa.insert(g.evaluations).values(
            model=model, version=version, created_at=now, created_by=actor, passed=passed,
            document=document).returning(g.evaluations.c.id)).scalar_one())

    new_id = db.run_write(engine, work)
    return EvaluationRecord(new_id, model, version, now, actor, passed, document)


def evaluations_of(engine: Engine, model: str, version: int | None = None
                   ) -> list[EvaluationRecord]:
    """Evaluations of a model (or one version), oldest first."""
    query = sa.select(g.evaluations).where(g.evaluations.c.model == model)
    if version is not None:
        query = query.where(g.evaluations.c.version == version)
    with db.transaction(engine) as conn:
        rows = conn.execute(query.order_by(g.evaluations.c.id)).all()
    return [EvaluationRecord(r.id, r.model, r.version, r.created_at, r.created_by, r.passed,
                             dict(r.document)) for r in rows]


def get_policy(engine: Engine, model: str) -> Policy | None:
    """The model's policy; the default policy under protect-all; else None (unprotected)."""
    with db.transaction(engine) as conn:
        row = conn.execute(sa.select(g.policies.c.document)
                           .where(g.policies.c.model == model)).first()
    if row is not None:
        return Policy.from_dict(row.document)
    return Policy() if protect_all() else None


def set_policy(engine: Engine, model: str, policy: Policy, *, actor: str) -> None:
    now = utcnow()

    def work(conn: sa.Connection) -> None:
        conn.execute(sa.delete(g.policies).where(g.policies.c.model == model))
        conn.execute(sa.insert(g.policies).values(model=model, document=policy.to_dict(),
                                                  updated_at=now, updated_by=actor))

    db.run_write(engine, work)


def add_approval(engine: Engine, model: str, version: int, *, approver: str, note: str
                 ) -> Approval:
    now = utcnow()

    def work(conn: sa.Connection) -> int:
        return int(conn.execute(sa.insert(g.approvals).values(
            model=model, version=version, approver=approver, note=note, created_at=now,
        ).returning(g.approvals.c.id)).scalar_one())

    return Approval(db.run_write(engine, work), model, version, approver, note, now)


def approvals_of(engine: Engine, model: str, version: int) -> list[Approval]:
    with db.transaction(engine) as conn:
        rows = conn.execute(sa.select(g.approvals).where(
            g.approvals.c.model == model, g.approvals.c.version == version,
        ).order_by(g.approvals.c.id)).all()
    return [Approval(r.id, r.model, r.version, r.approver, r.note, r.created_at) for r in rows]
