"""The rollout controller: moves running deployments forward, or back, from live measurements.

One controller acts at a time (a lease row in the database); each server worker runs one and
the others stand by, and ``modelport deploy controller`` runs one on its own. All state is in
the database, so a controller that restarts, or a new leader, carries on where it was.

Each tick, for every running deployment:

- any strategy: a live worker that cannot load the candidate -> roll back, saying why;
- canary: once the step's interval has passed, judge the candidate against the stable on
  that step's measurements: every gate holds -> next step (or promoted at 100%); one fails ->
  roll back (or pause, with ``on_failure: pause``); too little data -> wait another interval;
- blue-green: once every live worker has the new slot loaded (and ``switch: auto``, or a
  person asked with ``deploy promote``), schedule the switch a moment ahead so all flip at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from modelport.errors import Conflict, ModelportError
from modelport.registry import db
from modelport.registry.tables import utcnow
from modelport.routing import analysis, stats_store, store, transitions
from modelport.routing.options import RoutingOptions
from modelport.routing.records import DeploymentRecord, Status
from modelport.routing.stats_store import WorkerState

__all__ = ["LEASE", "Controller"]

log = logging.getLogger(__name__)

LEASE = "rollout-controller"
_PRUNE_EVERY_S = 600.0


class _Stale(Exception):
    """The deployment changed since the controller read it; look again next tick."""


class Controller:
    """Judges and moves rollouts; :meth:`tick` is one pass, :meth:`run` loops while leading."""

    def __init__(self, engine: Engine, *, holder: str, options: RoutingOptions | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.holder = holder
        self.options = options or RoutingOptions()
        self.clock = clock
        self._next_prune = time.monotonic()

    # -- leading ------------------------------------------------------------------------------

    def lead(self) -> bool:
        """Take or renew the lease; True while this controller leads."""
        now = self.clock()
        return db.run_write(self.engine, lambda c: stats_store.acquire_lease(
            c, LEASE, holder=self.holder, ttl_s=self.options.lease_ttl_s, now=now))

    def resign(self) -> None:
        db.run_write(self.engine, lambda c: stats_store.release_lease(c, LEASE,
                                                                      holder=self.holder))

    async def run(self) -> None:
        """Tick every ``controller_tick_s`` while holding the lease, until cancelled."""
        try:
            while True:
                try:
                    if await asyncio.to_thread(self.lead):
                        await asyncio.to_thread(self.tick)
                except ModelportError as exc:
                    log.warning("rollout controller: %s", exc.message)
                except Exception:
                    log.exception("rollout controller tick failed; retrying")
                await asyncio.sleep(self.options.controller_tick_s)
        finally:
            with contextlib.suppress(ModelportError):
                await asyncio.to_thread(self.resign)

    # -- one pass -----------------------------------------------------------------------------

    def tick(self) -> list[DeploymentRecord]:
        """Look at every running deployment once; the ones this pass changed."""
        now = self.clock()
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + _PRUNE_EVERY_S
            before = now - timedelta(seconds=self.options.stats_retention_s)
            db.run_write(self.engine, lambda c: stats_store.prune(c, before=before))
        with db.transaction(self.engine) as conn:
            running = store.current_all(conn, active_only=True)
            alive = stats_store.workers(
                conn, alive_since=now - timedelta(seconds=self.options.worker_timeout_s))
        changed: list[DeploymentRecord] = []
        for record in running:
            if record.status is not Status.RUNNING:
                continue
            try:
                moved = self._step(record, alive, now)
            except _Stale:
                continue
            if moved is not None:
                changed.append(moved)
        return changed

    def consider(self, record: DeploymentRecord) -> DeploymentRecord | None:
        """One deployment, now, whoever leads (a change it no longer applies to is skipped)."""
        now = self.clock()
        with db.transaction(self.engine) as conn:
            alive = stats_store.workers(
                conn, alive_since=now - timedelta(seconds=self.options.worker_timeout_s))
        try:
            return self._step(record, alive, now)
        except _Stale:
            return None

    def _step(self, record: DeploymentRecord, alive: list[WorkerState], now: datetime
              ) -> DeploymentRecord | None:
        broken = [(w.worker, w.failed[str(record.candidate)]) for w in alive
                  if str(record.candidate) in w.failed]
        if broken:
            worker, why = broken[0]
            return self._rollback(record, f"candidate {record.candidate} could not be loaded on "
                                          f"worker {worker}: {why}", now)
        if record.strategy == "canary":
            return self._canary(record, now)
        if record.strategy == "blue-green":
            return self._blue_green(record, alive, now)
        return None

    def _canary(self, record: DeploymentRecord, now: datetime) -> DeploymentRecord | None:
        canary = record.spec.canary
        assert canary is not None
        if now < record.step_started_at + timedelta(seconds=canary.interval_s):
            return None
        with db.transaction(self.engine) as conn:
            counts = stats_store.step_counts(conn, record.id, record.step)
        verdict = analysis.evaluate(canary.gates, counts, min_requests=canary.min_requests)

        def work(conn: Connection, current: DeploymentRecord, when: datetime
                 ) -> tuple[str, str, dict[str, Any]]:
            self._check_fresh(current, record)
            store.add_gate(conn, record.id, step=record.step, verdict=verdict.verdict,
                           readings=verdict.readings, now=when)
            data = {"readings": verdict.readings}
            if verdict.verdict == "pass":
                action, detail, _ = transitions.advance(conn, current, when)
                return action, detail, data
            if verdict.verdict == "wait":
                store.touch(conn, record.id, now=when, step_started_at=when)
                return "wait", f"{verdict.reason}; waiting another {canary.interval}", data
            if canary.on_failure == "pause":
                store.touch(conn, record.id, now=when, status=Status.PAUSED,
                            reason=verdict.reason)
                return "pause", f"gate failed, holding for a person: {verdict.reason}", data
            action, detail, _ = transitions.rollback_work(
                f"gate failed at {record.describe_step()}: {verdict.reason}")(conn, current, when)
            return action, detail, data

        failed = "deploy.pause" if canary.on_failure == "pause" else "deploy.rollback"
        audit = {"fail": failed, "pass": "deploy.advance"}.get(verdict.verdict)
        return self._change(record, work, audit, now)

    def _blue_green(self, record: DeploymentRecord, alive: list[WorkerState], now: datetime
                    ) -> DeploymentRecord | None:
        manual = record.spec.blue_green is not None and record.spec.blue_green.switch == "manual"
        if manual and not record.switch_requested:
            return None
        target = str(record.candidate)
        waiting = [w.worker for w in alive if target not in w.loaded]
        if waiting:
            return None
        lead = self.options.switch_lead_s if alive else 0.0

        def work(conn: Connection, current: DeploymentRecord, when: datetime
                 ) -> tuple[str, str, dict[str, Any]]:
            self._check_fresh(current, record)
            return transitions.switch(conn, current, when, lead_s=lead)

        return self._change(record, work, "deploy.promote", now)

    def _rollback(self, record: DeploymentRecord, reason: str, now: datetime
                  ) -> DeploymentRecord | None:
        def work(conn: Connection, current: DeploymentRecord, when: datetime
                 ) -> tuple[str, str, dict[str, Any]]:
            self._check_fresh(current, record)
            return transitions.rollback_work(reason)(conn, current, when)

        return self._change(record, work, "deploy.rollback", now)

    def _change(self, record: DeploymentRecord, work: transitions.Work, audit: str | None,
                now: datetime) -> DeploymentRecord | None:
        try:
            moved = transitions.change(self.engine, record.endpoint, work,
                                       actor=transitions.CONTROLLER, audit=audit, now=now,
                                       deployment_id=record.id)
        except Conflict:
            raise _Stale from None
        log.warning("deployment %s of %s: %s", moved.id, moved.endpoint, moved.status.value)
        return moved

    @staticmethod
    def _check_fresh(current: DeploymentRecord, seen: DeploymentRecord) -> None:
        if current.revision != seen.revision or current.status is not Status.RUNNING:
            raise _Stale
