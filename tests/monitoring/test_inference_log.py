"""The writer: batches to partitioned Parquet, drops (never blocks) when stalled, flushes on
close, and never writes a redacted value."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelport.errors import InvalidInput
from modelport.monitoring.config import LogConfig
from modelport.monitoring.inference_log import InferenceLog

from .logdata import record


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("part-*.parquet"))


def test_records_land_in_model_version_date_partitions(tmp_path: Path) -> None:
    written: list[int] = []
    log = InferenceLog(LogConfig(root=str(tmp_path), flush_interval_s=0.05),
                       on_written=written.append)
    log.start()
    day = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
    assert log.submit(record("a", [1.0, 2.0], ts=day))
    assert log.submit(record("b", [3.0], version="2", ts=day))
    assert log.submit(record("c", [4.0], model="other"))
    deadline = time.monotonic() + 10
    while len(parts(tmp_path)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    log.close()
    folders = {p.parent.relative_to(tmp_path).as_posix() for p in parts(tmp_path)}
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert folders == {"model=fraud/version=1/date=2026-03-01",
                       "model=fraud/version=2/date=2026-03-01",
                       f"model=other/version=1/date={today}"}
    first = pq.read_table(next(p for p in parts(tmp_path) if "version=1/date=2026" in str(p)))
    assert first["request_id"].to_pylist() == ["a", "a"]
    assert sum(written) == 3 and log.written == 3 and log.dropped == 0
    assert not list(tmp_path.rglob("_part-*"))  # no half-written files left behind


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    log = InferenceLog(LogConfig(root=str(tmp_path), flush_interval_s=60))
    log.start()
    for i in range(5):
        log.submit(record(f"r{i}", [float(i)]))
    assert parts(tmp_path) == []  # the writer has not woken yet
    log.close()
    table = pa.concat_tables(pq.read_table(p) for p in parts(tmp_path))
    assert sorted(table["request_id"].to_pylist()) == [f"r{i}" for i in range(5)]
    assert not log.submit(record("late", [1.0]))  # closed: refused, counted
    assert log.dropped == 1


class StalledSink:
    """A sink that blocks until released, like a hung object store."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.tables: list[pa.Table] = []

    def write(self, model: str, version: str, day: str, table: pa.Table) -> None:
        self.entered.set()
        self.release.wait(30)
        self.tables.append(table)


def test_a_stalled_writer_makes_the_log_drop_not_block() -> None:
    sink = StalledSink()
    log = InferenceLog(LogConfig(root=None, queue_size=100, flush_rows=10), sink=sink)
    log.start()
    for i in range(10):
        log.submit(record(f"w{i}", [1.0]))
    assert sink.entered.wait(10)  # the writer took those ten and is now stuck
    started = time.perf_counter()
    accepted = sum(log.submit(record(f"s{i}", [1.0])) for i in range(1000))
    elapsed = time.perf_counter() - started
    assert accepted == 100 and log.dropped == 900
    assert elapsed < 1.0  # 1000 submits against a stuck writer: no waiting
    sink.release.set()
    log.close()
    assert sum(t.num_rows for t in sink.tables) == 110


def test_a_failing_sink_counts_failures_and_keeps_going(tmp_path: Path) -> None:
    class Broken:
        def write(self, model: str, version: str, day: str, table: pa.Table) -> None:
            raise OSError("disk full")

    failed: list[int] = []
    log = InferenceLog(LogConfig(root=None), sink=Broken(), on_failed=failed.append)
    log.submit(record("a", [1.0]))
    log.close()
    assert log.failed == 1 and failed == [1]


def test_redacted_values_never_reach_the_files(tmp_path: Path) -> None:
    secret, other = b"alice.secret@example.com", b"555-12-3456"
    log = InferenceLog(LogConfig(root=str(tmp_path), redact=("email",), hash=("amount",),
                                 hash_salt="s4lt"))
    rec = record("a", [12345.678], email=[secret])
    log.submit(rec)
    hashed = InferenceLog(LogConfig(root=str(tmp_path / "h"), hash=("email",)))
    hashed.submit(record("b", [1.0], email=[other]))
    log.close()
    hashed.close()
    for path in tmp_path.rglob("*.parquet"):
        raw = path.read_bytes()
        assert secret not in raw and other not in raw and b"12345.678" not in raw
        table = pq.read_table(path)
        cells = [str(v) for col in table.columns for v in col.to_pylist()]
        assert not any(secret.decode() in c or other.decode() in c or "12345.678" in c
                       for c in cells)
        assert "in_email" not in table.column_names or table["in_email"].to_pylist() == [
            hashlib.sha256(other).hexdigest()]


def test_bad_log_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        LogConfig(root="x", sample=1.5)
    with pytest.raises(InvalidInput, match="both redacted and hashed"):
        LogConfig(root="x", redact=("a",), hash=("a",))
    with pytest.raises(InvalidInput, match="queue_size"):
        LogConfig(root="x", queue_size=0)


def test_an_fsspec_url_works_like_a_folder() -> None:
    from modelport.monitoring.log_reader import read_log

    root = f"memory://inference-log-{time.monotonic_ns()}"
    log = InferenceLog(LogConfig(root=root))
    log.submit(record("m1", [1.0, 2.0]))
    log.close()
    logged = read_log(root, "fraud")
    assert logged["request_id"].tolist() == ["m1", "m1"]
    assert logged["in_amount"].tolist() == [1.0, 2.0]
