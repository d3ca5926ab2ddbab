"""Kill a real `modelport batch run` with SIGKILL part-way, run it again, compare outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from modelport.batch import BatchJob, LocalEngine
from modelport.config import RegistrySettings
from modelport.registry import Registry, VersionInfo

from .helpers import (
    MODELPORT,
    cli_env,
    folder_digest,
    make_transactions,
    read_output,
    write_parquet,
)

ROWS = 200_000
BAD_ROWS = [5, 77_777, 150_001]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_run_killed_part_way_resumes_to_exactly_a_clean_runs_output(
    tmp_path: Path,
    batch_settings: RegistrySettings,
    batch_registry: Registry,
    fraud: VersionInfo,
) -> None:
    frame = make_transactions(ROWS)
    frame.loc[BAD_ROWS, "hour"] = np.nan  # nulls in Parquet: rejected as missing values
    source = write_parquet(frame, tmp_path / "in" / "tx.parquet", row_group_size=20_000)
    out, clean = tmp_path / "out", tmp_path / "clean"
    args = [
        "batch", "run", "fraud@production", "--input", str(source), "--output", str(out),
        "--id-column", "transaction_id", "--keep", "amount",
        "--batch-size", "1000", "--processes", "2", "--json",
    ]  # fmt: skip
    env = cli_env(
        batch_settings.home, str(batch_settings.database_url), str(batch_settings.artifact_root)
    )
    state = out / "_batch"
    proc = subprocess.Popen(
        MODELPORT + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        # Kill once a unit is complete and more batches are done: mid-unit and mid-run.
        _wait_for(
            lambda: (
                any((state / "units").glob("*.json"))
                and len(list((state / "done").glob("*.json"))) >= 25
            ),
            timeout=240,
            what="the first finished unit",
            proc=proc,
        )
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (out / "_manifest.json").exists(), "the kill came too late to test anything"
    deadline = time.monotonic() + 15
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "scoring processes outlived their parent"

    job = BatchJob(
        model="fraud@production",
        input=str(source),
        output=str(clean),
        id_column="transaction_id",
        keep=("amount",),
        batch_size=1000,
    )
    expected = LocalEngine(batch_registry, processes=1).run(job)

    rerun = subprocess.run(MODELPORT + args, env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    result = json.loads(rerun.stdout)
    assert result["units_skipped"] >= 1
    assert result["units_run"] + result["units_skipped"] == 10
    assert (result["rows_read"], result["rows_rejected"]) == (ROWS, len(BAD_ROWS))
    assert result["run_id"] == expected.run_id

    assert folder_digest(out) == folder_digest(clean)
    ids = read_output(out)["transaction_id"].to_numpy()
    assert np.array_equal(ids, np.setdiff1d(np.arange(ROWS), BAD_ROWS))
    rejects = [json.loads(line) for line in (out / "_rejects.jsonl").read_text().splitlines()]
    assert [r["row"] for r in rejects] == BAD_ROWS
