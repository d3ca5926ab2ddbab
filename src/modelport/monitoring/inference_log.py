"""The inference log: answered requests written to Parquet in the background, never in the way.

The request path only appends a record (references to its tensors, no copies) to a bounded
queue; a writer thread wakes every ``flush_interval_s`` (or once ``flush_rows`` records wait),
turns them into one Arrow table per model version and day, and writes it to
``<root>/model=<name>/version=<v>/date=<YYYY-MM-DD>/part-....parquet`` (local folder or any
fsspec URL). When the writer falls behind and the queue is full, new records are dropped and
counted; the request is answered as if nothing happened. ``close()`` writes what is left.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from typing import Protocol

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from modelport.monitoring.config import LogConfig
from modelport.monitoring.log_crypto import log_keys
from modelport.monitoring.log_table import LogRecord, Redaction, records_to_tables

__all__ = ["InferenceLog", "LogSink", "ParquetSink", "partition_path"]

log = logging.getLogger(__name__)

_DICTIONARY = ["endpoint", "protocol", "violations"]
"""Columns worth dictionary-encoding; features and ids are mostly distinct values."""


class LogSink(Protocol):
    """Where finished tables go (a test can hand in one that stalls)."""

    def write(self, model: str, version: str, day: str, table: pa.Table) -> None: ...


def partition_path(root: str, model: str, version: str, day: str) -> str:
    return f"{root.rstrip('/')}/model={model}/version={version}/date={day}"


class ParquetSink:
    """Parquet files under a local folder or fsspec URL, partitioned by model, version, day.

    Each file is written under a name starting with ``_`` (which readers skip) and renamed
    once complete, so a reader never sees half a file.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self._fs, self._base = fsspec.core.url_to_fs(root)
        self._seq = count()
        self._tag = f"{os.getpid()}-{os.urandom(3).hex()}"

    def write(self, model: str, version: str, day: str, table: pa.Table) -> None:
        folder = partition_path(self._base, model, version, day)
        self._fs.makedirs(folder, exist_ok=True)
        name = f"part-{int(time.time() * 1000)}-{self._tag}-{next(self._seq)}.parquet"
        temp = f"{folder}/_{name}"
        keys = log_keys()
        encryption = keys.encryption() if keys is not None else None
        with self._fs.open(temp, "wb") as f:
            pq.write_table(table, f, compression="zstd", use_dictionary=_DICTIONARY,
                           encryption_properties=encryption)
        self._fs.mv(temp, f"{folder}/{name}")


class InferenceLog:
    """A bounded queue of records and the thread that writes them."""

    def __init__(
        self,
        config: LogConfig,
        *,
        sink: LogSink | None = None,
        on_written: Callable[[int], None] | None = None,
        on_failed: Callable[[int], None] | None = None,
    ) -> None:
        if config.root is None and sink is None:
            raise ValueError("an inference log needs a root folder or URL, or a sink")
        self.config = config
        self.sink: LogSink = sink or ParquetSink(str(config.root))
        self._redaction = Redaction(
            redact=frozenset(config.redact),
            hashed=frozenset(config.hash),
            salt=config.hash_salt.encode(),
        )
        self._queue: deque[LogRecord] = deque()
        self._limit = config.queue_size
        self._wake_at = config.flush_rows
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._on_written = on_written
        self._on_failed = on_failed
        self._sample = config.sample
        self.dropped = 0
        """Records refused because the queue was full."""
        self.written = 0
        self.failed = 0

    def wants(self) -> bool:
        """Whether the next request is sampled in (cheap; call before building a record)."""
        return self._sample >= 1.0 or random.random() < self._sample

    def submit(self, record: LogRecord) -> bool:
        """Queue ``record``; False (and counted) when the queue is full. Never blocks."""
        queue = self._queue
        size = len(queue)
        if size >= self._limit or self._stop:
            self.dropped += 1
            return False
        queue.append(record)
        if size + 1 == self._wake_at:
            self._wake.set()
        return True

    @property
    def pending(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="modelport-inference-log", daemon=True
            )
            self._thread.start()

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop taking records, write those queued, and stop the thread."""
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("inference log writer did not finish in %.0f s; %d records lost",
                          timeout_s, len(self._queue))
            self._thread = None
        else:
            self.write_pending()

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        interval = self.config.flush_interval_s
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            stopping = self._stop
            self.write_pending()
            if stopping:
                return

    def write_pending(self) -> int:
        """Write every queued record now; returns how many were written."""
        queue = self._queue
        taken: list[LogRecord] = []
        while queue:
            taken.append(queue.popleft())
        if not taken:
            return 0
        groups: dict[tuple[str, str, str], list[LogRecord]] = {}
        for record in taken:
            day = datetime.fromtimestamp(record.ts, UTC).strftime("%Y-%m-%d")
            groups.setdefault((record.model, record.version, day), []).append(record)
        written = 0
        for (model, version, day), records in groups.items():
            try:
                for table in records_to_tables(records, self._redaction):
                    self.sink.write(model, version, day, table)
            except Exception:
                self.failed += len(records)
                log.exception("inference log: %d record(s) of %s:%s could not be written",
                              len(records), model, version)
                if self._on_failed is not None:
                    self._on_failed(len(records))
                continue
            written += len(records)
        self.written += written
        if written and self._on_written is not None:
            self._on_written(written)
        return written
