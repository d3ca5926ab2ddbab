"""Contracts in the registry database: one row per model, derived on first need.

Registration happens below monitoring, so a contract is derived the first time anyone asks
for it (the server loading the model, ``modelport monitor contract``) from the reference data
of the version asked about, then stored; edits replace the stored row.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.monitoring.contract import Contract, derive_contract
from modelport.registry import Registry, VersionInfo, db
from modelport.registry import tables as t
from modelport.registry.tables_monitoring import contracts

__all__ = ["ensure_contract", "load_contract", "read_reference", "save_contract"]


def load_contract(engine: Engine, model: str) -> Contract | None:
    """The stored contract of ``model``, or None."""
    with db.transaction(engine) as conn:
        doc = conn.execute(
            sa.select(contracts.c.document).where(contracts.c.model == model)
        ).scalar_one_or_none()
    return None if doc is None else Contract.from_dict(doc)


def save_contract(engine: Engine, contract: Contract, *, actor: str) -> None:
    """Store (insert or replace) the contract of ``contract.model``."""
    values: dict[str, Any] = {
        "document": contract.to_dict(), "updated_at": t.utcnow(), "updated_by": actor
    }

    def work(conn: Connection) -> None:
        found = conn.execute(
            sa.select(contracts.c.model).where(contracts.c.model == contract.model)
        ).first()
        if found is None:
            conn.execute(sa.insert(contracts).values(model=contract.model, **values))
        else:
            conn.execute(
                sa.update(contracts).where(contracts.c.model == contract.model).values(**values)
            )

    db.run_write(engine, work, retry_integrity=True)


def read_reference(registry: Registry, info: VersionInfo) -> pd.DataFrame | None:
    """The version's reference data sample as a table, or None when it has none."""
    path = registry.fetch_reference(info)
    return None if path is None else pd.read_parquet(path)


def ensure_contract(registry: Registry, info: VersionInfo, *, actor: str = "modelport") -> Contract:
    """The stored contract of ``info.name``; derived from ``info``'s reference and stored
    when there is none yet."""
    found = load_contract(registry.engine, info.name)
    if found is not None:
        return found
    contract = derive_contract(
        info.name, info.signature, read_reference(registry, info), derived_from=info.ref
    )
    save_contract(registry.engine, contract, actor=actor)
    return contract
