"""Audit rows from the server's hot path, appended in batches by one background thread.

A request only puts a small tuple on a bounded queue; the thread appends whatever has
gathered in one transaction (one lock, one commit). When the database cannot keep up the
queue fills and further rows are dropped, counted and logged: a flood of failed logins
must not stall inference.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from modelport.registry import db
from modelport.registry.tables import utcnow
from modelport.security.audit import AuditEvent, append_events

__all__ = ["AuditWriter"]

log = logging.getLogger(__name__)

_STOP = object()


class AuditWriter:
    """``submit`` never blocks; ``close`` appends what is left and stops the thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_queue: int = 10_000,
        max_batch: int = 500,
        flush_interval_s: float = 0.1,
    ) -> None:
        self.engine = engine
        self.dropped = 0
        """Rows refused because the queue was full."""
        self.failed = 0
        """Rows lost because the database refused the append."""
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._max_batch = max_batch
        self._interval = flush_interval_s
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="modelport-audit", daemon=True)
            self._thread.start()

    def submit(
        self,
        action: str,
        actor: str,
        target: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Queue one row; False (and counted) when the queue is full."""
        event = AuditEvent(
            action=action, actor=actor, target=target, details=details or {}, at=utcnow()
        )
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.error("audit queue full: %d row(s) dropped so far", self.dropped)
            return False
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Append what is queued, then stop (works whether or not ``start`` was called)."""
        thread = self._thread
        if thread is None:
            batch: list[AuditEvent] = []
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for start in range(0, len(batch), self._max_batch):
                self._write(batch[start:start + self._max_batch])
            return
        self._queue.put(_STOP)
        thread.join(timeout_s)
        self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._interval)
            except queue.Empty:
                continue
            batch: list[AuditEvent] = []
            item = first
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)

    def _write(self, batch: list[AuditEvent]) -> None:
        try:
            db.run_write(self.engine, lambda conn: append_events(conn, batch), retry_integrity=True)
        except Exception:
            self.failed += len(batch)
            log.exception("could not append %d audit row(s); %d lost so far", len(batch),
                          self.failed)
