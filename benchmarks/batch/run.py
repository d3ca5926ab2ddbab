"""Batch scoring benchmark: the fraud model over N million rows of Parquet.

    .venv/bin/python benchmarks/batch/run.py [--rows 10000000] [--processes 2] [--write-readme]

Measures, on the same Parquet file in the same run:

1. the baseline: a plain loop of ``xgboost.Booster.inplace_predict`` over the file's record
   batches (one process, XGBoost's own threads on every core, nothing written);
2. ``modelport batch run --processes P`` (the local engine, as a subprocess): rows per second
   by the engine's own clock and by the wall clock of the whole command, and the peak RSS of
   its whole process tree (sampled every 0.2 s);
3. ``modelport batch run --engine dask`` on a local cluster of two one-thread workers (started
   with scripts/services-dask.sh unless MODELPORT_TEST_DASK_SCHEDULER names one).

The model (examples/fraud/train.py) and the input table are built once into the cache folder
(--cache, default ~/.cache/modelport/bench-batch) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "fraud"))

from data import FEATURES, make_transactions  # noqa: E402

CHUNK = 1_000_000
ROW_GROUP = 262_144
HARNESS = """
import sys
from modelport.cli import batch_cmd, main
if not any(group.name == "batch" for group in main.app.registered_groups):
    main.app.add_typer(batch_cmd.app, name="batch")
sys.exit(main.main(sys.argv[1:]))
"""


def build_model(cache: Path) -> Path:
    model = cache / "model.json"
    if not model.exists():
        print("training the fraud model (examples/fraud/train.py) ...", flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "examples/fraud/train.py"), "--out", str(cache)],
            check=True,
        )
    return model


def build_table(cache: Path, rows: int) -> Path:
    path = cache / f"transactions-{rows}.parquet"
    if path.exists():
        return path
    print(f"writing {rows:,} rows to {path} ...", flush=True)
    partial = path.with_suffix(".partial")
    writer: pq.ParquetWriter | None = None
    for start in range(0, rows, CHUNK):
        frame = make_transactions(min(CHUNK, rows - start), seed=start // CHUNK)
        frame["transaction_id"] += start
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(partial, table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


@dataclass
class Measured:
    name: str
    seconds: float
    """By the run's own clock."""
    wall: float
    """Of the whole command (interpreter start and imports included)."""
    cpu: float | None
    """User + system CPU seconds of every process involved."""
    peak: int | None = None


def baseline(model: Path, table: Path, batch_size: int) -> Measured:
    """A plain Booster.inplace_predict loop over every batch of the file."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(model)
    started, cpu = time.monotonic(), time.process_time()
    for batch in pq.ParquetFile(table).iter_batches(batch_size=batch_size, columns=FEATURES):
        matrix = np.column_stack([c.to_numpy() for c in batch.columns])
        booster.inplace_predict(matrix, validate_features=False)
    seconds = time.monotonic() - started
    name = "xgboost inplace_predict loop (baseline)"
    return Measured(name, seconds, seconds, time.process_time() - cpu)


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, sum(_rss(p) for p in _tree(self.pid)))


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_cli(name: str, args: list[str], env: dict[str, str], others: list[int]) -> Measured:
    """Run ``modelport <args> --json``: clocks, CPU of its tree (and of ``others``), peak RSS."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    others_cpu = sum(_cpu(p) for pid in others for p in _tree(pid))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", HARNESS, *args, "--json"], env=env, stdout=subprocess.PIPE
    )
    memory = TreeMemory(proc.pid)
    out, _ = proc.communicate()
    wall, peak = time.monotonic() - started, memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"modelport batch run failed ({proc.returncode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    cpu += sum(_cpu(p) for pid in others for p in _tree(pid)) - others_cpu
    result = json.loads(out)
    return Measured(name, float(result["seconds"]), wall, cpu, None if others else peak)


def _cpu(pid: int) -> float:
    """User + system CPU seconds a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dask_workers() -> list[int]:
    """Pids of the test cluster's workers (their nannies), when scripts/services-dask.sh ran it."""
    pids = []
    for pidfile in (ROOT / ".test-services/dask").glob("worker-*.pid"):
        pids.append(int(pidfile.read_text()))
    return pids


def start_dask() -> tuple[str, bool]:
    address = os.environ.get("MODELPORT_TEST_DASK_SCHEDULER")
    if address:
        return address, False
    out = subprocess.run(
        [str(ROOT / "scripts/services-dask.sh"), "start"], check=True, capture_output=True
    ).stdout.decode()
    return out.strip().split("=", 1)[1], True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/modelport/bench-batch")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask engine")
    parser.add_argument(
        "--write-readme", action="store_true", help="write benchmarks/batch/README.md"
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    model, table = build_model(args.cache), build_table(args.cache, args.rows)

    work = Path(tempfile.mkdtemp(prefix="modelport-bench-batch-"))
    env = dict(os.environ, MODELPORT_HOME=str(work / "home"))
    subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "models", "register", str(model),
         "--name", "fraud"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    common = ["batch", "run", "fraud", "--input", str(table), "--id-column", "transaction_id",
              "--batch-size", str(args.batch_size)]  # fmt: skip

    rows, load = args.rows, os.getloadavg()[0]
    print(f"baseline over {rows:,} rows ...", flush=True)
    results = [baseline(model, table, args.batch_size)]
    print(f"local engine, {args.processes} processes ...", flush=True)
    local_args = [*common, "--output", str(work / "local"), "--processes", str(args.processes)]
    name = f"modelport local engine, {args.processes} processes"
    results.append(run_cli(name, local_args, env, []))
    if not args.no_dask:
        address, started = start_dask()
        try:
            print(f"dask engine at {address} ...", flush=True)
            dask_args = [*common, "--output", str(work / "dask"), "--engine", "dask",
                         "--scheduler", address]  # fmt: skip
            name = "modelport dask engine, 2 workers x 1 thread"
            results.append(run_cli(name, dask_args, env, dask_workers()))
        finally:
            if started:
                subprocess.run([str(ROOT / "scripts/services-dask.sh"), "stop"], check=False)

    base = results[0]
    lines = [
        "| run | rows/s (run clock) | rows/s (whole command) | vs baseline (run clock) "
        "| CPU s per 1M rows | peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        cpu = f"{m.cpu / rows * 1e6:.1f}" if m.cpu is not None else "-"
        memory = f"{m.peak / 2**20:,.0f} MiB" if m.peak else "-"
        lines.append(
            f"| {m.name} | {rows / m.seconds:,.0f} | {rows / m.wall:,.0f} | "
            f"{base.seconds / m.seconds:.0%} | {cpu} | {memory} |"
        )
    table_md = "\n".join(lines)
    print(table_md)
    command = " ".join(["python benchmarks/batch/run.py", *sys.argv[1:]])
    print(f"\n{rows:,} rows, {os.cpu_count()} cores, load average {load:.1f} at start")
    if args.write_readme:
        write_readme(table_md, command, rows, load, args)


def write_readme(
    table_md: str, command: str, rows: int, load: float, args: argparse.Namespace
) -> None:
    text = f"""# Batch scoring benchmark

`{command}`

The fraud model of `examples/fraud` (XGBoost, 200 trees of depth 6, 30 features) scores
{rows:,} rows of one Parquet file ({ROW_GROUP:,}-row row groups), batch size {args.batch_size:,}.
The baseline is a plain `Booster.inplace_predict` loop over the same file's record batches in
one process (XGBoost using every core); the engines also convert and check every row, write
Parquet parts with ids and provenance, fsync them and keep the resume journal. "Run clock" is
the run as the engine times it (planning, starting processes, loading the model, scoring,
writing, the manifest); "whole command" adds the interpreter start and imports. "CPU s per 1M
rows" is the user + system CPU of every process involved (the baseline's process; the whole
process tree of the command, start-up included; for Dask also the two workers): the fairest
figure on a machine shared with other work. Peak RSS is the command's whole process tree.

{table_md}

Machine: {os.cpu_count()} shared cores (load average {load:.1f} when the run started, from
other work on the machine), so figures move by tens of percent between runs.
"""
    (Path(__file__).parent / "README.md").write_text(text)


if __name__ == "__main__":
    main()
