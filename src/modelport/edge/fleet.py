"""Staged OTA rollouts and the device fleet, as rows in the registry database.

A device asks for ``name@alias``. Without a rollout it gets the alias's version. A rollout
sends ``target_version`` to the devices whose id hashes into the first ``percent`` of 100
buckets (sha256 of model and device id, so a device's bucket never changes and widening only
adds devices); widening to 100% moves the alias itself and ends the rollout, like a canary's
promotion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry, db
from modelport.registry import tables as t
from modelport.registry.refs import ModelRef, check_settable_alias
from modelport.registry.tables_edge import edge_devices, edge_rollouts

__all__ = ["DeviceState", "Fleet", "Heartbeat", "Rollout", "bucket"]


def bucket(model: str, device_id: str) -> float:
    """The device's stable place in [0, 100) for ``model``'s rollouts."""
    digest = hashlib.sha256(f"{model}\0{device_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    model: str
    alias: str
    stable_version: int | None
    target_version: int
    percent: float

    def version_for(self, device_id: str) -> int:
        if self.stable_version is None or bucket(self.model, device_id) < self.percent:
            return self.target_version
        return self.stable_version


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    """What a device reports."""

    model: str
    device_id: str
    alias: str | None
    version: int | None
    last_error: str | None
    stats: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceState:
    model: str
    device_id: str
    alias: str | None
    version: int | None
    last_error: str | None
    stats: dict[str, Any]
    first_seen: datetime
    last_seen: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device_id, "alias": self.alias, "version": self.version,
            "last_error": self.last_error, "stats": self.stats,
            "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
        }


def check_device_id(device_id: str) -> str:
    if not isinstance(device_id, str) or not 1 <= len(device_id) <= 128 or not all(
        c.isalnum() or c in "-_.:" for c in device_id
    ):
        raise InvalidInput(
            f"device id must be 1-128 letters, digits or -_.: characters, got {device_id!r:.80}"
        )
    return device_id


class Fleet:
    """Rollouts and heartbeats of one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- rollouts ------------------------------------------------------------------------

    def rollout(self, model: str, alias: str) -> Rollout | None:
        """The staged rollout of ``model@alias``, or None (every device gets the alias)."""
        stable = self._alias_version(model, alias)
        with db.transaction(self.registry.engine) as conn:
            row = conn.execute(sa.select(edge_rollouts).where(
                edge_rollouts.c.model == model, edge_rollouts.c.alias == alias)).first()
        if row is None:
            return None
        return Rollout(model=model, alias=alias, stable_version=stable,
                       target_version=int(row.target_version), percent=float(row.percent))

    def version_for(self, model: str, alias: str, device_id: str) -> int:
        """The version ``device_id`` should run for ``model@alias``."""
        rollout = self.rollout(model, alias)
        if rollout is not None:
            return rollout.version_for(device_id)
        version = self._alias_version(model, alias)
        if version is None:
            raise NotFound(f"model {model!r} has no alias {alias!r}")
        return version

    def stage(self, model: str, alias: str, version: int, percent: float, *, actor: str) -> str:
        """Start or widen a rollout of ``version``; at 100% the alias moves and it ends."""
        check_settable_alias(alias)
        if not 0 < percent <= 100:
            raise InvalidInput(f"--percent must be in (0, 100], got {percent:g}")
        self.registry.resolve(ModelRef(model, version=version))  # NotFound names the version
        if percent >= 100 or self._alias_version(model, alias) is None:
            self.registry.set_alias(model, alias, version, actor=actor)
            self.abort(model, alias)
            return f"{model}@{alias} -> {version} on every device"

        def work(conn: Connection) -> None:
            conn.execute(sa.delete(edge_rollouts).where(
                edge_rollouts.c.model == model, edge_rollouts.c.alias == alias))
            conn.execute(sa.insert(edge_rollouts).values(
                model=model, alias=alias, target_version=version, percent=float(percent),
                updated_at=t.utcnow(), updated_by=actor))

        db.run_write(self.registry.engine, work)
        return f"{model}@{alias}: version {version} on {percent:g}% of devices"

    def abort(self, model: str, alias: str) -> bool:
        """End a rollout without moving the alias; whether there was one."""

        def work(conn: Connection) -> bool:
            done = conn.execute(sa.delete(edge_rollouts).where(
                edge_rollouts.c.model == model, edge_rollouts.c.alias == alias))
            return bool(done.rowcount)

        return db.run_write(self.registry.engine, work)

    def _alias_version(self, model: str, alias: str) -> int | None:
        with db.transaction(self.registry.engine) as conn:
            row = conn.execute(
                sa.select(t.aliases.c.version)
                .join(t.models, t.models.c.id == t.aliases.c.model_id)
                .where(t.models.c.name == model, t.aliases.c.name == alias)
            ).first()
        return None if row is None else int(row[0])

    # -- heartbeats ----------------------------------------------------------------------

    def record(self, beats: Iterable[Heartbeat]) -> int:
        """Store the newest heartbeat of each device, in one transaction."""
        latest: dict[tuple[str, str], Heartbeat] = {}
        for beat in beats:
            latest[(beat.model, beat.device_id)] = beat
        if not latest:
            return 0

        def work(conn: Connection) -> None:
            for (model, device), beat in latest.items():
                values = {"alias": beat.alias, "version": beat.version,
                          "last_error": beat.last_error, "stats": beat.stats,
                          "last_seen": beat.at}
                done = conn.execute(sa.update(edge_devices).where(
                    edge_devices.c.model == model, edge_devices.c.device_id == device
                ).values(**values))
                if not done.rowcount:
                    conn.execute(sa.insert(edge_devices).values(
                        model=model, device_id=device, first_seen=beat.at, **values))

        db.run_write(self.registry.engine, work, retry_integrity=True)
        return len(latest)

    def devices(self, model: str) -> list[DeviceState]:
        with db.transaction(self.registry.engine) as conn:
            rows = conn.execute(sa.select(edge_devices).where(edge_devices.c.model == model)
                                .order_by(edge_devices.c.device_id)).all()
        return [DeviceState(model=r.model, device_id=r.device_id, alias=r.alias,
                            version=r.version, last_error=r.last_error, stats=r.stats or {},
                            first_seen=r.first_seen, last_seen=r.last_seen) for r in rows]
