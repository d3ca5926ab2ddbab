"""The request-path half of monitoring for one worker: two pipeline stages and serving hooks.

``observe`` (outermost) times each call, counts it by endpoint, model, version, protocol and
status, gives it a request id when it has none, and hands answered requests to the inference
log. ``validate`` (after auth and routing) checks the data contract: ``reject`` raises
ContractViolation (422), ``flag`` lets the request through and notes the violations for the
log. The hooks (``version_hooks``, ``loaded``, ``load_failed``) feed batcher, cache and model
load figures into the same metrics. Nothing here imports the server: the stages accept any
call context with the attributes of :class:`CallInfo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from modelport.errors import ErrorKind, ModelportError
from modelport.monitoring.config import MonitoringConfig
from modelport.monitoring.contract_book import ContractBook, ContractLoader
from modelport.monitoring.contract_check import contract_error
from modelport.monitoring.inference_log import InferenceLog
from modelport.monitoring.json_logs import ACCESS
from modelport.monitoring.log_table import log_record
from modelport.monitoring.metrics import Metrics, VersionSeries
from modelport.monitoring.subjects import request_subject
from modelport.protocol.types import InferenceRequest, InferenceResponse

__all__ = ["CallInfo", "Monitor", "VersionHooks"]

logger = logging.getLogger(__name__)


class CallInfo(Protocol):
    """What the stages read from the server's call context."""

    name: str
    """The endpoint addressed (what metrics and the log count the request under)."""
    version: str | None
    protocol: str
    headers: Mapping[str, str]
    notes: dict[str, Any]

    @property
    def model(self) -> str:
        """The model that answers (routing's choice, else ``name``)."""


C = TypeVar("C", bound=CallInfo)
Next = Callable[[C, InferenceRequest], Awaitable[InferenceResponse]]

_NOTE = "contract_violations"


class VersionHooks:
    """What one loaded version's batcher and cache report, bound to its metric series."""

    __slots__ = ("_series",)

    def __init__(self, series: VersionSeries) -> None:
        self._series = series

    def batch(self, rows: int, waits: Sequence[float], predict_s: float, queued_rows: int
              ) -> None:
        series = self._series
        series.batch_rows.observe(rows)
        series.queue.observe_many(waits)
        series.predict.observe(predict_s)
        series.depth.value = queued_rows

    def cache(self, hit: bool) -> None:
        (self._series.cache_hit if hit else self._series.cache_miss).add()


class Monitor:
    """Metrics, contract checks and the inference log, as stages and hooks of one worker."""

    def __init__(
        self,
        config: MonitoringConfig | None = None,
        *,
        metrics: Metrics | None = None,
        log: InferenceLog | None = None,
        contracts: ContractBook | None = None,
    ) -> None:
        self.config = config or MonitoringConfig()
        self.metrics = metrics or Metrics()
        self.log = log
        self.contracts = contracts
        self._ids = itertools.count(1)
        self._id_prefix = f"{os.getpid():x}-{os.urandom(4).hex()}-"
        self._dropped = self.metrics.counter(self.metrics.log_records, "dropped")
        self._sampled_out = self.metrics.counter(self.metrics.log_records, "sampled_out")
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    def create(
        cls, config: MonitoringConfig, *, contract_loader: ContractLoader | None = None
    ) -> Monitor:
        """Metrics, plus the inference log when it has a root, plus contract checks when
        there is somewhere to read contracts from."""
        metrics = Metrics()
        log = None
        if config.log.enabled:
            written = metrics.log_records.labels("written")
            failed = metrics.log_records.labels("failed")
            log = InferenceLog(config.log, on_written=written.inc, on_failed=failed.inc)
        contracts = None
        if contract_loader is not None and config.contract_policy != "off":
            contracts = ContractBook(contract_loader, refresh_s=config.contract_refresh_s)
        return cls(config, metrics=metrics, log=log, contracts=contracts)

    def new_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids)}"

    # -- stages ------------------------------------------------------------------------------

    def observe(self, nxt: Next[C]) -> Next[C]:
        metrics, log = self.metrics, self.log
        access = ACCESS.isEnabledFor(logging.INFO)  # --log-format json: one line per request
        if not self.config.metrics and log is None and not access:
            return nxt  # nothing to count or log: not even a function call more

        async def observed(ctx: C, request: InferenceRequest) -> InferenceResponse:
            started = time.perf_counter()
            if request.id is None:
                request.id = ctx.headers.get("x-request-id") or self.new_request_id()
            subject = request_subject(ctx.headers, request)
            gauge = metrics.in_flight_gauge(ctx.name)
            gauge.value += 1
            try:
                response = await nxt(ctx, request)
            except BaseException as exc:
                gauge.value -= 1
                kind = exc.kind if isinstance(exc, ModelportError) else ErrorKind.INTERNAL
                metrics.request_failed(ctx.name, ctx.model, ctx.version or "", ctx.protocol,
                                       kind.value, time.perf_counter() - started)
                if access:
                    _access(request.id, ctx.name, ctx.name, ctx.version, ctx.protocol,
                            kind.value, time.perf_counter() - started)
                raise
            elapsed = time.perf_counter() - started
            gauge.value -= 1
            version = response.model_version or ""
            series = metrics.request_series(ctx.name, response.model_name, version, ctx.protocol)
            series.ok.add()
            series.duration.observe(elapsed)
            if access:
                _access(request.id, ctx.name, response.model_name, version, ctx.protocol, "ok",
                        elapsed)
            if log is not None:
                if not log.wants():
                    self._sampled_out.add()
                elif not log.submit(log_record(
                    time.time(), request.id, ctx.name, response.model_name, version,
                    ctx.protocol, elapsed, request.inputs, response.outputs,
                    ctx.notes.get(_NOTE), subject,
                )):
                    self._dropped.add()
            return response

        return observed

    def validate(self, nxt: Next[C]) -> Next[C]:
        contracts, metrics = self.contracts, self.metrics
        default = self.config.contract_policy
        if contracts is None or default == "off":
            return nxt

        async def validated(ctx: C, request: InferenceRequest) -> InferenceResponse:
            model = ctx.model  # routing runs first: the contract is the answering model's
            check = await contracts.check_for(model)
            if check is not None:
                policy = check.contract.policy or default
                if policy != "off":
                    found = check.violations(request.inputs)
                    if found:
                        for v in found:
                            metrics.counter(metrics.violations, model, v.field, v.rule,
                                            policy).add()
                        if policy == "reject":
                            raise contract_error(model, found)
                        ctx.notes[_NOTE] = ";".join(
                            dict.fromkeys(f"{v.field}:{v.rule}" for v in found))
            return await nxt(ctx, request)

        return validated

    # -- serving hooks -----------------------------------------------------------------------

    def version_hooks(self, name: str, version: str) -> VersionHooks:
        return VersionHooks(self.metrics.version_series(name, version))

    def loaded(self, name: str, version: str, seconds: float) -> None:
        self.metrics.load_seconds.labels(name, version).observe(seconds)
        if self.contracts is not None:
            self.contracts.prepare(name, version)

    def load_failed(self, name: str, version: str) -> None:
        self.metrics.load_failures.labels(name, version).inc()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, flush_interval_s: float = 1.0) -> None:
        """Start the log writer, contract refreshes and the metric flusher (on a loop)."""
        if self.log is not None:
            self.log.start()
        if self.contracts is not None:
            self.contracts.start()
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_forever(flush_interval_s))

    async def close(self) -> None:
        """Stop refreshing contracts, write what the log still holds, flush the metrics."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self.contracts is not None:
            await self.contracts.close()
        if self.log is not None:
            await asyncio.to_thread(self.log.close)
        self.metrics.flush()

    async def _flush_forever(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.metrics.flush()
            except Exception:
                logger.exception("flushing metrics failed; retrying in %.1f s", interval_s)


def _access(request_id: str | None, endpoint: str, model: str, version: str | None,
            protocol: str, status: str, elapsed_s: float) -> None:
    ACCESS.info(
        "%s %s:%s %s %.2f ms", protocol, model, version or "-", status, elapsed_s * 1000,
        extra={"request_id": request_id, "endpoint": endpoint, "model": model,
               "version": version or None, "protocol": protocol, "status": status,
               "latency_ms": round(elapsed_s * 1000, 3)},
    )
