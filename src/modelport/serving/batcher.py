"""Adaptive batching: concurrent requests for one model version run as one vectorised predict.

A predict call costs nearly the same for 1 row as for 32, so under load the batcher queues
requests while the model is busy and runs everything queued as one call the moment it is free.
At low load nothing waits: a request that finds the model free and nobody else on the way is
predicted on the next turn of the event loop. ``max_delay_ms`` only bounds how long a queued
request may wait for company that :class:`Arrivals` says is already inside the server.

Requests are merged only when their inputs agree on names, dtypes and every non-batch
dimension; a batch that fails is retried request by request, so one bad request fails alone.

A request may carry a deadline: once it passes, the request is answered DeadlineExceeded at
once and, if still queued, dropped from the queue without being computed. Requests without
one cost nothing extra.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.config import BatchingSettings
from modelport.errors import (
    DeadlineExceeded,
    InvalidInput,
    ModelportError,
    PredictionFailed,
    Unavailable,
)
from modelport.runtimes.base import Array, Batch
from modelport.runtimes.tabular import FeatureMatrix

__all__ = ["Arrivals", "BatchObserver", "BatchPolicy", "BatchStats", "Batcher", "Predict"]

log = logging.getLogger(__name__)

Predict = Callable[[Batch], dict[str, Array]]
Outcome = dict[str, Array] | ModelportError
BatchObserver = Callable[[int, list[float], float, int], None]
"""``(rows, each request's queue wait in s, predict time in s, rows still queued)``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchPolicy:
    """When a batch is flushed."""

    max_size: int = 64
    """Flush once this many rows are queued; 1 disables batching."""

    max_delay_ms: float = 2.0
    """The longest a queued request waits for requests known to be on their way."""

    def __post_init__(self) -> None:
        if type(self.max_size) is not int or self.max_size < 1:
            raise InvalidInput(
                f"max_size must be an integer >= 1, got {self.max_size!r}; "
                "use 1 to disable batching"
            )
        delay = self.max_delay_ms
        if not isinstance(delay, int | float) or not math.isfinite(delay) or delay < 0:
            raise InvalidInput(
                f"max_delay_ms must be a number >= 0, got {delay!r}; "
                "use 0 to flush as soon as the model is free"
            )

    @classmethod
    def from_settings(cls, settings: BatchingSettings) -> BatchPolicy:
        return cls(max_size=settings.max_batch_size, max_delay_ms=settings.max_delay_ms)


class Arrivals:
    """Requests inside the server that have not reached a batcher yet.

    Transports call :meth:`enter` when a request starts and :meth:`leave` when it is decoded
    (or fails). A batcher with queued rows waits for company only while the count is above
    zero, so an idle server never adds delay. One instance per event loop.
    """

    __slots__ = ("_waiters", "count")

    def __init__(self) -> None:
        self.count = 0
        self._waiters: set[Callable[[], None]] = set()

    def enter(self) -> None:
        self.count += 1

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0 and self._waiters:
            waiters, self._waiters = self._waiters, set()
            for wake in waiters:
                wake()

    def notify_when_quiet(self, wake: Callable[[], None]) -> None:
        self._waiters.add(wake)


@dataclass(frozen=True, slots=True)
class BatchStats:
    """Counters since the batcher started."""

    batches: int
    requests: int
    rows: int
    largest_batch: int
    failed_requests: int
    expired_requests: int = 0
    """Answered DeadlineExceeded: their deadline passed before their answer was ready."""


class _Item:
    __slots__ = ("arrived", "deadline", "future", "inputs", "layout", "rows")

    def __init__(
        self,
        inputs: Batch,
        rows: int,
        future: asyncio.Future[dict[str, Array]],
        layout: Hashable | None,
        deadline: float | None = None,
    ) -> None:
        self.inputs = inputs
        self.rows = rows
        self.future = future
        self.layout = layout
        self.deadline = deadline
        self.arrived = time.monotonic()

    def key(self) -> Hashable:
        return self.layout if self.layout is not None else _layout(self.inputs)


class Batcher:
    """Queues ``submit`` calls and runs them through ``predict`` in as few calls as it can.

    ``predict`` is synchronous and runs on ``executor`` (by default one thread of its own), so
    the event loop keeps accepting requests, which queue up for the next batch. When the server
    is idle and the model's last batch took under ``inline_below_ms``, it runs on the event
    loop instead: the thread round trip (~80 us) would be most of a fast model's latency.
    """

    def __init__(
        self,
        predict: Predict,
        policy: BatchPolicy | None = None,
        *,
        name: str = "model",
        arrivals: Arrivals | None = None,
        executor: Executor | None = None,
        inline_below_ms: float = 1.0,
        observer: BatchObserver | None = None,
    ) -> None:
        self.policy = policy or BatchPolicy()
        self.observer = observer
        """Told about every batch (rows, queue waits, predict time): the metrics hook."""
        self.name = name
        self._predict = predict
        self._arrivals = arrivals
        self._delay_s = self.policy.max_delay_ms / 1000.0
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix=f"predict-{name}")
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._busy = False
        self._poke_scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._counts = [0, 0, 0, 0, 0, 0]  # batches, requests, rows, largest, failed, expired
        self._inline_below_s = inline_below_ms / 1000.0
        self._last_run_s = math.inf  # unknown until the first batch ran on the thread
        self._started_at = 0.0
        self._deadlines = False  # set once a request brings one: only then are they checked

    def __repr__(self) -> str:
        return f"Batcher({self.name!r}, {self.policy!r})"

    @property
    def stats(self) -> BatchStats:
        return BatchStats(*self._counts)

    @property
    def idle(self) -> bool:
        """True when nothing is queued or running."""
        return not self._busy and not self._queue

    async def submit(
        self, inputs: Batch, *, layout: Hashable | None = None, deadline: float | None = None
    ) -> dict[str, Array]:
        """Predict ``inputs`` (named arrays, first dimension = rows), batched with others.

        ``layout`` may name what must match for two requests to share a batch, when the
        caller knows it (a validated signature with fixed dimensions); by default it is
        computed from the input names, dtypes and non-batch dimensions. ``deadline`` (a
        ``time.monotonic()`` instant) is when the caller stops waiting for the answer.
        """
        if self._closed:
            raise Unavailable(f"{self.name} is shutting down; retry on another replica")
        rows = _rows(inputs)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Array]] = loop.create_future()
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                self._counts[5] += 1
                raise DeadlineExceeded(f"{self.name}: the request's deadline had passed already")
            loop.call_later(left, self._expire, future)
            self._deadlines = True
        self._queue.append(_Item(inputs, rows, future, layout, deadline))
        self._queued_rows += rows
        if not self._busy and not self._poke_scheduled:
            self._poke_scheduled = True
            loop.call_soon(self._poke)
        return await future

    def _expire(self, future: asyncio.Future[dict[str, Array]]) -> None:
        # A queued request whose future is done is never taken (see _take): not computed.
        if not future.done():
            self._counts[5] += 1
            future.set_exception(
                DeadlineExceeded(f"{self.name}: the request's deadline passed before its answer")
            )

    def _schedule_poke(self) -> None:
        # Later, not now: the request that just left Arrivals is about to submit.
        if not self._poke_scheduled:
            self._poke_scheduled = True
            asyncio.get_running_loop().call_soon(self._poke)

    async def close(self) -> None:
        """Refuse new requests, finish the queued ones, then release the thread."""
        self._closed = True
        await self.wait_idle()
        if self._own_executor:
            self._executor.shutdown(wait=False)

    async def wait_idle(self) -> None:
        """Return once every queued request has been answered."""
        if self.idle:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        await waiter

    # -- the flush decision, all on the event loop ------------------------------------------

    def _poke(self) -> None:
        self._poke_scheduled = False
        if self._busy or not self._queue:
            return
        arrivals = self._arrivals
        if (
            arrivals is not None
            and arrivals.count > 0
            and self._queued_rows < self.policy.max_size
        ):
            wait = self._queue[0].arrived + self._delay_s - time.monotonic()
            if wait > 0:
                if self._timer is None:
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(wait, self._on_timer)
                arrivals.notify_when_quiet(self._schedule_poke)
                return
        self._start()

    def _on_timer(self) -> None:
        self._timer = None
        if not self._poke_scheduled:
            self._poke()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items = self._take()
        if not items:
            self._wake_idle()
            return
        self._busy = True
        self._started_at = time.monotonic()
        loop = asyncio.get_running_loop()
        if self._last_run_s < self._inline_below_s and not self._queue and (
            self._arrivals is None or self._arrivals.count == 0
        ):
            # Idle server, fast model: predicting right here saves the thread round trip,
            # and there is nothing else the loop could be doing meanwhile.
            done: asyncio.Future[list[Outcome]] = loop.create_future()
            done.set_result(self._run(items))
            self._finish(items, done)
            return
        running = loop.run_in_executor(self._executor, self._run, items)
        running.add_done_callback(lambda done: self._finish(items, done))

    def _take(self) -> list[_Item]:
        """The oldest live request plus every later one it can merge with, up to max_size."""
        if self._deadlines:
            self._drop_hopeless()
        queue = self._queue
        while queue and queue[0].future.done():  # the caller went away
            self._queued_rows -= queue.popleft().rows
        if not queue:
            return []
        head = queue.popleft()
        batch = [head]
        rows = head.rows
        self._queued_rows -= head.rows
        if not queue:
            return batch
        limit = self.policy.max_size
        layout = head.key()
        kept: deque[_Item] = deque()
        while queue:
            item = queue.popleft()
            if item.future.done():
                self._queued_rows -= item.rows
            elif rows + item.rows <= limit and item.key() == layout:
                batch.append(item)
                rows += item.rows
                self._queued_rows -= item.rows
            else:
                kept.append(item)
                if rows >= limit:
                    kept.extend(queue)
                    break
        self._queue = kept
        return batch

    def _drop_hopeless(self) -> None:
        """Answer now the queued requests that cannot finish in time: their deadline comes
        before a predict call as long as the last one would end. When that is every queued
        request, only those already late go (the estimate may be stale; the next run tells)."""
        now = time.monotonic()
        last = self._last_run_s
        cutoff = now + (last if last < math.inf else 0.0)
        live = [it for it in self._queue if not it.future.done()]
        hopeless = [it for it in live if it.deadline is not None and it.deadline < cutoff]
        if len(hopeless) == len(live):
            hopeless = [it for it in hopeless if it.deadline is not None and it.deadline <= now]
        for item in hopeless:
            self._counts[5] += 1
            item.future.set_exception(
                DeadlineExceeded(f"{self.name}: the request's deadline passed before its turn; "
                                 "it was not computed")
            )

    def _finish(self, items: list[_Item], done: asyncio.Future[list[Outcome]]) -> None:
        self._busy = False
        try:
            outcomes = done.result()
        except BaseException as exc:  # the executor itself failed (shut down, thread died)
            log.warning("batch for %s could not run: %r", self.name, exc)
            outcomes = [
                PredictionFailed(f"{self.name}: the prediction could not run: {exc!r}")
                for _ in items
            ]
        counts = self._counts
        counts[0] += 1
        counts[1] += len(items)
        rows = sum(item.rows for item in items)
        counts[2] += rows
        counts[3] = max(counts[3], rows)
        if self.observer is not None:
            started = self._started_at
            try:
                self.observer(rows, [started - item.arrived for item in items],
                              self._last_run_s, self._queued_rows)
            except Exception:  # a metrics bug must never strand the requests below
                log.exception("batch observer of %s failed", self.name)
        for item, outcome in zip(items, outcomes, strict=True):
            if item.future.done():
                continue
            if isinstance(outcome, ModelportError):
                counts[5 if isinstance(outcome, DeadlineExceeded) else 4] += 1
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)
        if self._queue:
            self._poke()
        else:
            self._wake_idle()

    def _wake_idle(self) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- the predict call, on the executor --------------------------------------------------

    def _run(self, items: list[_Item]) -> list[Outcome]:
        started = time.perf_counter()
        try:
            if self._deadlines:
                return self._run_in_time(items)
            return self._run_batch(items)
        finally:
            self._last_run_s = time.perf_counter() - started

    def _run_in_time(self, items: list[_Item]) -> list[Outcome]:
        """Drop the requests whose deadline passed (the loop's timer may not have run yet)."""
        now = time.monotonic()
        live = [it for it in items if it.deadline is None or it.deadline > now]
        if len(live) == len(items):
            return self._run_batch(items)
        done = iter(self._run_batch(live) if live else ())
        late = DeadlineExceeded(f"{self.name}: the request's deadline passed before its answer")
        return [next(done) if it.deadline is None or it.deadline > now else late for it in items]

    def _run_batch(self, items: list[_Item]) -> list[Outcome]:
        if len(items) == 1:
            return [self._call(items[0].inputs, items[0].rows)]
        merged = _merge([it.inputs for it in items])
        total = sum(it.rows for it in items)
        outcome = self._call(merged, total)
        if isinstance(outcome, ModelportError):
            # Find the culprit: each request alone, so the good ones still succeed.
            return [self._call(it.inputs, it.rows) for it in items]
        parts: list[Outcome] = []
        start = 0
        for it in items:
            stop = start + it.rows
            parts.append({name: arr[start:stop] for name, arr in outcome.items()})
            start = stop
        return parts

    def _call(self, inputs: Batch, rows: int) -> Outcome:
        try:
            outputs = self._predict(inputs)
        except ModelportError as exc:
            return exc
        except Exception as exc:
            log.warning("%s raised while predicting %d rows", self.name, rows, exc_info=True)
            return PredictionFailed(
                f"{self.name} failed while predicting {rows} row(s): {type(exc).__name__}: {exc}"
            )
        for out_name, arr in outputs.items():
            got = arr.shape[0] if getattr(arr, "ndim", 0) else None
            if got != rows:
                return PredictionFailed(
                    f"{self.name} returned {got if got is not None else 'a scalar'} row(s) for "
                    f"output {out_name!r} but was given {rows}; a model must return one row "
                    "per input row"
                )
        return outputs


def _merge(batches: list[Batch]) -> Batch:
    """Several requests' inputs as one batch: matrices stacked when every request sent one,
    else column by column (a FeatureMatrix reads as its columns)."""
    first = batches[0]
    if type(first) is FeatureMatrix and all(type(b) is FeatureMatrix for b in batches):
        return first.with_matrix(np.concatenate([b.matrix for b in batches]))  # type: ignore[attr-defined]
    return {name: np.concatenate([b[name] for b in batches]) for name in first}


def _rows(inputs: Batch) -> int:
    if type(inputs) is FeatureMatrix:
        return inputs.rows
    rows = -1
    for name, arr in inputs.items():
        if arr.ndim == 0:
            raise InvalidInput(
                f"input {name!r} is a scalar; every input needs a first (batch) dimension"
            )
        if rows == -1:
            rows = arr.shape[0]
        elif arr.shape[0] != rows:
            raise InvalidInput(
                f"inputs disagree on the number of rows: {name!r} has {arr.shape[0]}, "
                f"earlier inputs have {rows}"
            )
    if rows == -1:
        raise InvalidInput("a prediction needs at least one input")
    return rows


def _layout(inputs: Batch) -> Hashable:
    """What must match for two requests to share a batch: names, dtypes, non-batch dims."""
    layout: list[Any] = []
    for name, arr in inputs.items():
        layout.append((name, arr.dtype, arr.shape[1:]))
    return tuple(layout)
