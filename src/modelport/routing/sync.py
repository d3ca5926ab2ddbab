"""Each worker's link to the routing state in the database.

Every ``poll_interval_s`` the worker reads the routing revision (one row). When it moved, it
reads the current deployments, makes sure every version they name is loaded in its model
manager, and only then swaps in the new :class:`RouteTable`, so traffic never reaches a
version still loading. A version that cannot load keeps the endpoint on its previous route
and is reported in the worker's heartbeat, where the controller sees it. Every
``flush_interval_s`` the worker writes what it measured and a heartbeat saying which
revision it applied and which versions it holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from modelport.errors import ModelportError, NotFound
from modelport.registry import db
from modelport.registry.tables import utcnow
from modelport.routing import stats_store, store
from modelport.routing.options import RoutingOptions
from modelport.routing.records import DeploymentRecord, Target
from modelport.routing.stage import Router
from modelport.routing.table import Route, RouteTable, route_for
from modelport.serving.models import ModelManager

__all__ = ["RoutingSync", "worker_name"]

log = logging.getLogger(__name__)

_MAX_SCHEDULE_S = 30.0
T = TypeVar("T")


def worker_name() -> str:
    """``host:pid``: unique among the workers sharing a database."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RoutingSync:
    """Keeps one worker's :class:`Router` in step with the database."""

    def __init__(self, engine: Engine, router: Router, models: ModelManager,
                 options: RoutingOptions | None = None, *, worker: str | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.router = router
        self.models = models
        self.options = options or RoutingOptions()
        self.worker = worker or worker_name()
        self.failed: dict[str, str] = {}
        """Versions that could not load here, with why (reported in the heartbeat)."""
        self._clock = clock
        self._synced = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Apply the current routes (loading their versions), then keep polling."""
        try:
            await self.refresh()
        except ModelportError as exc:
            log.error("routing: cannot read deployments (%s); retrying every %.1f s",
                      exc.message, self.options.poll_interval_s)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop polling, write the last measurements and leave the list of live workers."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.router.stop()
        try:
            await self.flush()
            await asyncio.to_thread(db.run_write, self.engine,
                                    lambda c: stats_store.drop_worker(c, self.worker))
        except ModelportError as exc:
            log.warning("routing: final flush failed: %s", exc.message)

    async def _run(self) -> None:
        opts = self.options
        next_poll = next_flush = time.monotonic()
        while True:
            await asyncio.sleep(max(0.0, min(next_poll, next_flush) - time.monotonic()))
            now = time.monotonic()
            try:
                if now >= next_poll:
                    next_poll = now + opts.poll_interval_s
                    await self.refresh()
                if now >= next_flush:
                    next_flush = now + opts.flush_interval_s
                    await self.flush()
            except ModelportError as exc:
                log.warning("routing sync: %s", exc.message)
            except Exception:
                log.exception("routing sync failed; retrying")

    # -- routes -------------------------------------------------------------------------------

    async def refresh(self) -> bool:
        """Apply the database's routes if they changed; True when a new table went in."""
        revision = await asyncio.to_thread(self._read, store.read_revision)
        if self._synced and revision == self.router.table.revision:
            return False
        records = await asyncio.to_thread(self._read, store.current_all)
        routes = {r.endpoint: route_for(r) for r in records}
        await asyncio.gather(*(self._ensure(t) for r in routes.values() for t in r.targets()))
        chosen = {endpoint: self._choose(route) for endpoint, route in routes.items()}
        await self._wait_until(records)
        self.router.table = RouteTable(chosen.values(), revision=revision)
        self._synced = True
        return True

    def _read(self, query: Callable[[Connection], T]) -> T:
        with db.transaction(self.engine) as conn:
            return query(conn)

    def _choose(self, route: Route) -> Route:
        """The new route, unless a version it sends traffic to failed to load here: then the
        previous route, or (the first time) the new one without the broken versions."""
        broken = {str(a.target) for a in route.arms if str(a.target) in self.failed}
        if not broken:
            return route
        log.error("endpoint %s: %s could not be loaded (%s); it gets no traffic here",
                  route.endpoint, ", ".join(sorted(broken)), self.failed[min(broken)])
        previous = self.router.table.get(route.endpoint)
        if previous is not None:
            return previous
        working = tuple(a for a in route.arms if str(a.target) not in broken)
        return replace(route, arms=working) if working else route

    async def _wait_until(self, records: list[DeploymentRecord]) -> None:
        """Hold the swap until a scheduled switch time (a blue-green flip) comes."""
        now = self._clock()
        ahead = [(r.effective_at - now).total_seconds() for r in records if r.effective_at > now]
        if ahead:
            await asyncio.sleep(min(max(ahead), _MAX_SCHEDULE_S))

    async def _ensure(self, target: Target) -> None:
        """Load ``target`` in this worker (no-op when loaded); failures land in ``failed``."""
        key = str(target)
        version = str(target.version)
        if self.models.lookup(target.model, version) is not None:
            self.failed.pop(key, None)
            return
        deadline = time.monotonic() + self.options.load_timeout_s
        while True:
            try:
                await self.models.get(target.model, version)
                self.failed.pop(key, None)
                return
            except NotFound as exc:
                self.failed[key] = exc.message
                return
            except ModelportError as exc:
                if time.monotonic() >= deadline or "still loading" not in exc.message:
                    self.failed[key] = exc.message
                    log.error("routing: %s cannot be loaded: %s", key, exc.message)
                    return

    # -- measurements and heartbeat -----------------------------------------------------------

    def loaded(self) -> list[str]:
        """The versions the current routes need that are loaded here."""
        return sorted(str(t) for t in self.router.table.targets()
                      if self.models.lookup(t.model, str(t.version)) is not None)

    async def flush(self) -> None:
        """Write the measurements since the last flush and this worker's heartbeat."""
        window = self.router.collector.drain()
        loaded, failed = self.loaded(), dict(self.failed)
        revision = self.router.table.revision

        def work(conn: Connection) -> None:
            stats_store.write_window(conn, window, worker=self.worker)
            stats_store.heartbeat(conn, worker=self.worker, revision=revision,
                                  loaded=loaded, failed=failed, now=self._clock())

        try:
            await asyncio.to_thread(db.run_write, self.engine, work)
        except BaseException:
            self.router.collector.restore(window)
            raise
