"""Scheduled checks inside the server: drift and performance of every served version.

Each worker runs the loop, but only the holder of the ``monitoring`` lease (one worker among
all replicas sharing the registry) does the work on a tick. Results become gauges, events in
the registry database, and webhook alerts when a version starts (or stops) drifting or
falls below its baseline; a degraded version also triggers the retraining webhook.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from modelport.errors import ModelportError, NotFound
from modelport.monitoring.config import MonitoringConfig
from modelport.monitoring.drift_check import DriftReport, check_drift
from modelport.monitoring.events import last_event, record_event
from modelport.monitoring.lease import acquire_lease, release_lease
from modelport.monitoring.metrics import Metrics
from modelport.monitoring.performance import VersionPerformance, evaluate
from modelport.monitoring.retention import apply_retention
from modelport.monitoring.webhooks import Alerter
from modelport.registry import Registry
from modelport.registry import tables as t

__all__ = ["LEASE", "Scheduler"]

log = logging.getLogger(__name__)
LEASE = "monitoring"

Served = Callable[[], Awaitable[list[tuple[str, str]]]]
"""The (model, version) pairs this worker serves right now."""


class Scheduler:
    """Runs drift and performance checks every ``config.drift.interval_s`` while leader."""

    def __init__(self, registry: Registry, config: MonitoringConfig, served: Served, *,
                 metrics: Metrics, alerter: Alerter | None = None) -> None:
        self.registry = registry
        self.config = config
        self._served = served
        self.metrics = metrics
        self.alerter = alerter or Alerter(config.alerts)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}"
        self._task: asyncio.Task[None] | None = None
        self._leader = False

    def start(self) -> None:
        if self._task is None and self.config.drift.interval_s > 0:
            self._task = asyncio.get_running_loop().create_task(self._forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._leader:
            await asyncio.to_thread(release_lease, self.registry.engine, LEASE, self.holder)

    async def _forever(self) -> None:
        interval = self.config.drift.interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                self._leader = await asyncio.to_thread(
                    acquire_lease, self.registry.engine, LEASE, self.holder, 3 * interval)
                if self._leader:
                    await self.tick()
            except Exception:
                log.exception("scheduled monitoring checks failed; next try in %.0f s", interval)

    async def tick(self) -> None:
        """One round of checks over every served version (the leader calls this)."""
        log_conf = self.config.log
        if log_conf.retention_s is not None and log_conf.root is not None:
            removed = await asyncio.to_thread(apply_retention, log_conf.root,
                                              timedelta(seconds=log_conf.retention_s))
            if removed:
                log.info("retention: deleted %d inference log file(s) older than %.0f s",
                         len(removed), log_conf.retention_s)
        for model, version in await self._served():
            await self._drift(model, version)
            await self._performance(model, version)

    # -- drift -------------------------------------------------------------------------------

    async def _drift(self, model: str, version: str) -> DriftReport | None:
        root = self.config.log.root
        if root is None:
            return None
        try:
            report = await asyncio.to_thread(
                check_drift, self.registry, root, f"{model}:{version}",
                window=timedelta(seconds=self.config.drift.window_s), config=self.config.drift)
        except NotFound as exc:
            log.debug("no drift check for %s:%s: %s", model, version, exc.message)
            return None
        if report.live_rows == 0:
            return report
        m = self.metrics
        for f in report.features:
            if f.tested:
                m.drift_p.labels(model, version, f.feature, f.test).set(f.p_adjusted)
                m.drift_stat.labels(model, version, f.feature, f.test).set(f.statistic)
                m.drift_stat.labels(model, version, f.feature, "psi").set(f.psi)
        m.drift_detected.labels(model, version).set(1 if report.drifted else 0)
        m.drift_features.labels(model, version).set(len(report.drifted_features))
        await self._transition(model, version, report.drifted, ("drift", "drift_cleared"), {
            "summary": (f"{model}:{version} drifted in {', '.join(report.drifted_features)}"
                        if report.drifted else f"{model}:{version} no longer drifts"),
            "report": report.to_dict(),
        })
        return report

    # -- performance -------------------------------------------------------------------------

    async def _performance(self, model: str, version: str) -> VersionPerformance | None:
        perf = self.config.performance
        try:
            infos = await asyncio.to_thread(self.registry.list_versions, model)
            baselines = {str(i.version): dict(i.metrics) for i in infos}
            results = await asyncio.to_thread(
                evaluate, self.registry.engine, model, baselines,
                since=t.utcnow() - timedelta(seconds=perf.window_s), margin=perf.margin,
                min_labels=perf.min_labels)
        except ModelportError as exc:
            log.warning("performance of %s:%s not checked: %s", model, version, exc.message)
            return None
        found = next((r for r in results if r.version == version), None)
        if found is None or not found.enough:
            return found
        m = self.metrics
        for name, value in found.metrics.items():
            m.performance.labels(model, version, name).set(value)
        for name, value in found.baseline.items():
            m.baseline.labels(model, version, name).set(value)
        m.degraded.labels(model, version).set(1 if found.degraded else 0)
        payload = {
            "summary": (f"{model}:{version} fell below its baseline in "
                        f"{', '.join(found.degraded)}" if found.degraded
                        else f"{model}:{version} is back within its baseline"),
            "performance": found.to_dict(),
        }
        if await self._transition(model, version, bool(found.degraded),
                                  ("degraded", "recovered"), payload) and found.degraded:
            await asyncio.to_thread(
                record_event, self.registry.engine, model=model, version=version,
                kind="retrain", summary=f"retraining requested for {model}:{version}",
                details=payload)
            await self.alerter.send("retrain", {"model": model, "version": version, **payload})
        return found

    async def _transition(self, model: str, version: str, bad: bool,
                          kinds: tuple[str, str], payload: dict[str, Any]) -> bool:
        """Record an event and alert when the state changed since the last event; True then."""
        previous = await asyncio.to_thread(last_event, self.registry.engine, model, version,
                                           kinds)
        was_bad = previous is not None and previous.kind == kinds[0]
        if bad == was_bad:
            return False
        kind = kinds[0] if bad else kinds[1]
        await asyncio.to_thread(record_event, self.registry.engine, model=model,
                                version=version, kind=kind, summary=payload["summary"],
                                details={k: v for k, v in payload.items() if k != "summary"})
        await self.alerter.send(kind, {"model": model, "version": version, **payload})
        return True
