"""The Dask engine on a real local cluster (started by scripts/services-dask.sh)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

from modelport.batch import BatchJob, DaskEngine, LocalEngine
from modelport.errors import MissingDependency, Unavailable
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact

from .helpers import folder_digest, make_transactions, read_output, write_parquet

SCHEDULER_ENV = "MODELPORT_TEST_DASK_SCHEDULER"


@pytest.fixture
def scheduler() -> str:
    address = os.environ.get(SCHEDULER_ENV)
    if not address:
        pytest.fail(
            f"{SCHEDULER_ENV} is not set, so the Dask engine tests have no cluster to run on. "
            'Run the tests through scripts/test.sh, or first: eval "$(scripts/services-dask.sh '
            'start)"',
            pytrace=False,
        )
    return address


@pytest.fixture
def fresh_fraud(batch_registry: Registry, fraud_model_file: Path, tmp_path: Path) -> str:
    """The fraud model under an artifact hash no worker has cached yet."""
    own = tmp_path / "model.json"
    own.write_bytes(fraud_model_file.read_bytes() + b" " * (1 + secrets.randbelow(10_000)))
    info = register_artifact(
        batch_registry, Registration(name="fraud", artifact=own, registered_by="test")
    )
    return info.ref


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    for i in range(3):
        frame = make_transactions(120, seed=i)
        frame["transaction_id"] += 1000 * i
        write_parquet(frame, folder / f"part-{i}.parquet", row_group_size=50)
    frame = make_transactions(40, seed=9)
    frame["transaction_id"] += 9000
    text = frame.to_csv(index=False).splitlines()
    text[5] = text[5].replace(text[5].split(",")[1], "not-a-number", 1)
    (folder / "extra.csv").write_text("\n".join(text) + "\n")
    return folder


def test_the_cluster_writes_exactly_what_the_local_engine_writes(
    tmp_path: Path, batch_registry: Registry, fresh_fraud: str, scheduler: str
) -> None:
    source = _inputs(tmp_path)

    def job(out: str) -> BatchJob:
        return BatchJob(
            model=fresh_fraud,
            input=str(source),
            output=str(tmp_path / out),
            id_column="transaction_id",
            keep=("amount",),
            batch_size=32,
        )

    local = LocalEngine(batch_registry, processes=1).run(job("local"))
    remote = DaskEngine(batch_registry, scheduler=scheduler).run(job("dask"))

    assert folder_digest(tmp_path / "dask") == folder_digest(tmp_path / "local")
    assert (remote.rows_read, remote.rows_rejected) == (400, 1)
    assert remote.units_run == 10  # 3 files x 3 row groups, and the CSV file
    assert remote.engine == "dask" and remote.run_id == local.run_id
    assert 1 <= remote.model_loads <= 2  # once per worker, not once per unit
    assert len(read_output(tmp_path / "dask")) == 399


def test_an_unreachable_scheduler_is_reported_with_what_to_do(
    tmp_path: Path, batch_registry: Registry, fresh_fraud: str
) -> None:
    source = write_parquet(make_transactions(10), tmp_path / "t.parquet", row_group_size=10)
    job = BatchJob(model=fresh_fraud, input=str(source), output=str(tmp_path / "out"))
    engine = DaskEngine(batch_registry, scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)
    with pytest.raises(
        Unavailable, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        engine.run(job)


def test_without_the_dask_extra_the_error_names_it(
    tmp_path: Path, batch_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import` sees when absent
    job = BatchJob(model="fraud", input=str(tmp_path), output=str(tmp_path / "out"))
    with pytest.raises(MissingDependency, match=r"pip install 'modelport\[dask\]'"):
        DaskEngine(batch_registry, scheduler="tcp://127.0.0.1:8786").run(job)
