"""The scoring loop: read, decode, micro-batch, predict, write, and only then acknowledge.

    source.read ──> decode ──> Batcher.submit ──> sink.write (+ dead letters) ──> source.ack

At-least-once by construction: a message is acknowledged (Redis XACK, Kafka commit) only after
its output or its dead letter is in the sink, so a crash at any point leaves it pending and it
is read again after a restart; the Redis sink skips ids it already wrote. At most
``max_in_flight`` micro-batches are between read and ack, so a slow sink slows reading instead
of growing memory. ``stop()`` (SIGTERM) reads nothing more and finishes the batches in hand;
a second signal aborts them unacknowledged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from modelport.errors import InvalidInput, ModelportError, Unavailable
from modelport.protocol.signature import Signature
from modelport.runtimes.base import Array, Batch
from modelport.serving.batcher import Batcher, BatchPolicy
from modelport.streaming.base import Message, Record, Sink, Source
from modelport.streaming.decode import (
    Decoded,
    Decoder,
    Kept,
    Rejected,
    dead_letter,
    output_records,
    request_record,
)
from modelport.streaming.metrics import StreamMetrics

__all__ = ["ScoredModel", "Scorer", "ScorerStats", "ScoringPolicy"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringPolicy:
    """How the scorer batches and how much it holds at once."""

    max_batch: int = 256
    """Most messages in one micro-batch (and one predict call)."""
    max_wait_ms: float = 20.0
    """After the first message of a batch, wait at most this long for more."""
    max_in_flight: int = 4
    """Micro-batches read but not yet acknowledged; bounds memory when the sink is slow."""
    idle_block_ms: int = 250
    """How long one read waits on an empty stream (also how fast ``stop`` is noticed)."""
    backlog_every_s: float = 2.0
    """How often lag and pending are refreshed for the metrics."""
    id_fields: tuple[str, ...] = ("id",)
    """Fields of an event copied into its result as they are (e.g. ``transaction_id``), so
    results can be joined back to the events; an absent one is skipped."""

    def __post_init__(self) -> None:
        if type(self.max_batch) is not int or self.max_batch < 1:
            raise InvalidInput(f"max_batch must be an integer >= 1, got {self.max_batch!r}")
        wait = self.max_wait_ms
        if not isinstance(wait, int | float) or not math.isfinite(wait) or wait < 0:
            raise InvalidInput(
                f"max_wait_ms must be a number >= 0, got {wait!r}; use 0 to score whatever "
                "is ready without waiting"
            )
        if type(self.max_in_flight) is not int or self.max_in_flight < 1:
            raise InvalidInput(f"max_in_flight must be an integer >= 1, got {self.max_in_flight!r}")
        if type(self.idle_block_ms) is not int or self.idle_block_ms < 1:
            raise InvalidInput(f"idle_block_ms must be an integer >= 1, got {self.idle_block_ms!r}")
        if any(type(f) is not str or not f for f in self.id_fields):
            raise InvalidInput(f"id_fields must be non-empty field names, got {self.id_fields!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredModel:
    """The model version a scorer runs: its names for output records, and its predict call."""

    name: str
    version: str
    signature: Signature
    predict: Callable[[Batch], dict[str, Array]]


@dataclass(slots=True)
class ScorerStats:
    """What one run did."""

    consumed: int = 0
    produced: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    aborted: bool = False
    failures: list[str] = field(default_factory=list)


class Scorer:
    """Scores one source into one sink with one model version until stopped."""

    def __init__(
        self,
        model: ScoredModel,
        source: Source,
        sink: Sink,
        dead_letters: Sink,
        *,
        policy: ScoringPolicy | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self.model = model
        self.source = source
        self.sink = sink
        self.dead_letters = dead_letters
        self.policy = policy or ScoringPolicy()
        self.metrics = metrics or StreamMetrics(model.name)
        self.stats = ScorerStats()
        self._decoder = Decoder(model.name, model.signature, keep=self.policy.id_fields)
        self._batcher: Batcher | None = None
        self._stopping = asyncio.Event()
        self._aborted = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        return f"Scorer({self.model.name}:{self.model.version}, {self.source!r} -> {self.sink!r})"

    def stop(self) -> None:
        """Read nothing more; finish and acknowledge the batches in hand, then return."""
        self._stopping.set()

    def abort(self) -> None:
        """Stop now: batches in hand stay unacknowledged (they are read again later)."""
        self._aborted = True
        self.stats.aborted = True
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop gracefully; a second one aborts."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        if self._stopping.is_set():
            log.warning("second %s: aborting the batches in hand", signal.Signals(sig).name)
            self.abort()
        else:
            log.warning("%s: finishing the batches in hand, then exiting", signal.Signals(sig).name)
            self.stop()

    async def run(self) -> ScorerStats:
        """Score until :meth:`stop`; raises the first unexpected error after cleaning up."""
        policy = self.policy
        watcher: asyncio.Task[None] | None = None
        try:
            await self.source.open()
            await self.sink.open()
            await self.dead_letters.open()
            self._batcher = Batcher(
                self.model.predict,
                BatchPolicy(max_size=policy.max_batch, max_delay_ms=policy.max_wait_ms),
                name=f"{self.model.name}:{self.model.version}",
            )
            watcher = asyncio.create_task(self._watch_backlog())
            try:
                await self._read_loop()
            finally:  # even when reading failed: finish what was read
                if self._tasks:
                    await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            if watcher is not None:
                watcher.cancel()
            if self._batcher is not None:
                await self._batcher.close()
            for part in (self.source, self.sink, self.dead_letters):
                try:
                    await part.close()
                except Exception:
                    log.warning("closing %r failed", part, exc_info=True)
        if self._failure is not None:
            raise self._failure
        return self.stats

    # -- reading ----------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        slots = asyncio.Semaphore(self.policy.max_in_flight)
        delay = 0.05
        while not self._stopping.is_set():
            await slots.acquire()
            if self._stopping.is_set():
                slots.release()
                break
            try:
                batch = await self._next_batch()
            except Unavailable as exc:
                slots.release()
                self.metrics.errors.inc()
                log.warning("reading failed (%s); retrying in %.2fs", exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.05
            if not batch:
                slots.release()
                continue
            self.metrics.in_flight.inc(len(batch))
            task = asyncio.create_task(self._process(batch))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._done, slots=slots, count=len(batch)))

    async def _next_batch(self) -> list[Message]:
        """Up to max_batch messages: the first read waits for data, later ones max_wait."""
        policy = self.policy
        batch = await self.source.read(policy.max_batch, policy.idle_block_ms)
        if not batch or policy.max_wait_ms <= 0:
            return batch
        deadline = time.monotonic() + policy.max_wait_ms / 1000.0
        while len(batch) < policy.max_batch and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                more = await self.source.read(
                    policy.max_batch - len(batch), max(1, int(remaining * 1000))
                )
            except Unavailable as exc:  # keep what was read: it must still be scored
                log.warning("reading more failed (%s); scoring %d read so far", exc, len(batch))
                break
            if not more:
                break
            batch.extend(more)
        return batch

    def _done(self, task: asyncio.Task[None], *, slots: asyncio.Semaphore, count: int) -> None:
        self._tasks.discard(task)
        slots.release()
        self.metrics.in_flight.dec(count)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self._failure is None and not self._aborted:
            log.error("scoring a batch failed; stopping", exc_info=exc)
            self.stats.failures.append(f"{type(exc).__name__}: {exc}")
            self._failure = exc
            self._stopping.set()

    # -- one micro-batch --------------------------------------------------------------------

    async def _process(self, batch: list[Message]) -> None:
        metrics = self.metrics
        metrics.consumed.inc(len(batch))
        metrics.batch_size.observe(len(batch))
        self.stats.consumed += len(batch)
        self.stats.batches += 1
        decoded = self._decoder.decode(batch)
        records, rejected = await self._predict(decoded)
        model, version = self.model.name, self.model.version
        dead = [dead_letter(r, model=model, version=version) for r in rejected]
        written, _ = await asyncio.gather(
            self._retrying("writing to the sink", lambda: self.sink.write(records)),
            self._retrying("writing dead letters", lambda: self.dead_letters.write(dead)),
        )
        await self._retrying("acknowledging", lambda: self.source.ack(batch))
        now_ms = time.time() * 1000.0  # wall clock: event times come from another process
        stamps = [m.event_ms for m in batch if m.event_ms is not None]
        metrics.latency.observe_many(np.maximum(0.0, now_ms - np.array(stamps, np.float64)) / 1e3)
        metrics.produced.inc(written)
        metrics.duplicates.inc(len(records) - written)
        for item in rejected:
            metrics.dead_lettered(item.kind)
        self.stats.produced += written
        self.stats.duplicates += len(records) - written
        self.stats.dead_lettered += len(rejected)

    async def _predict(self, decoded: Decoded) -> tuple[list[Record], list[Rejected]]:
        batcher = self._batcher
        assert batcher is not None
        model, version = self.model.name, self.model.version
        rejected = list(decoded.rejected)
        records: list[Record] = []
        jobs: list[Awaitable[dict[str, Array]]] = [batcher.submit(i) for _, i in decoded.requests]
        if decoded.inputs is not None:
            jobs.append(batcher.submit(decoded.inputs))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for (message, _), result in zip(decoded.requests, results, strict=False):
            if isinstance(result, BaseException):
                rejected.append(self._rejection(message, result))
            else:
                records.append(request_record(message, result, model=model, version=version,
                                             kept=decoded.kept))
        if decoded.inputs is not None:
            result = results[-1]
            if isinstance(result, BaseException):
                _raise_unexpected(result)
                found, bad = await self._one_by_one(decoded.rows, decoded.inputs, decoded.kept)
                records.extend(found)
                rejected.extend(bad)
            else:
                records.extend(output_records(decoded.rows, result, model=model, version=version,
                                              kept=decoded.kept))
        return records, rejected

    async def _one_by_one(
        self, rows: Sequence[Message], inputs: dict[str, Array], kept: Kept
    ) -> tuple[list[Record], list[Rejected]]:
        """The batch failed: predict each row alone so only the culprits are dead-lettered."""
        batcher = self._batcher
        assert batcher is not None
        model, version = self.model.name, self.model.version
        singles = [{k: v[i : i + 1] for k, v in inputs.items()} for i in range(len(rows))]
        results = await asyncio.gather(
            *(batcher.submit(s) for s in singles), return_exceptions=True
        )
        records: list[Record] = []
        rejected: list[Rejected] = []
        for message, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                rejected.append(self._rejection(message, result))
            else:
                records.extend(output_records([message], result, model=model, version=version,
                                              kept=kept))
        return records, rejected

    def _rejection(self, message: Message, exc: BaseException) -> Rejected:
        _raise_unexpected(exc)
        assert isinstance(exc, ModelportError)
        return Rejected(message, exc.message, exc.kind.value)

    async def _retrying(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op`` until it succeeds; only ``Unavailable`` (a broker that is down) retries."""
        delay = 0.05
        while True:
            try:
                return await op()
            except Unavailable as exc:
                self.metrics.errors.inc()
                if self._aborted:
                    raise
                log.warning("%s failed (%s); retrying in %.2fs", what, exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _watch_backlog(self) -> None:
        while True:
            try:
                backlog = await self.source.backlog()
                self.metrics.lag.set(np.nan if backlog.lag is None else backlog.lag)
                self.metrics.pending.set(backlog.pending)
            except ModelportError as exc:
                log.debug("reading the backlog failed: %s", exc)
            await asyncio.sleep(self.policy.backlog_every_s)


def _raise_unexpected(exc: BaseException) -> None:
    """A model or input error dead-letters its message; anything else must not be acked."""
    if isinstance(exc, Unavailable) or not isinstance(exc, ModelportError):
        raise exc
