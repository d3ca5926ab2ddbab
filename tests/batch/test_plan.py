"""Checking a job against its model and inputs before scoring anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelport.batch.job import BatchJob
from modelport.batch.plan import build_plan
from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry, VersionInfo

from .helpers import FEATURES, make_transactions, write_parquet


def _job(tmp_path: Path, source: Path, **kw: Any) -> BatchJob:
    return BatchJob(model="fraud", input=str(source), output=str(tmp_path / "out"), **kw)


def test_a_plan_fixes_units_schema_and_a_stable_run_id(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    source = write_parquet(make_transactions(50), tmp_path / "tx.parquet", row_group_size=20)
    job = _job(tmp_path, source, id_column="transaction_id", keep=("amount",), batch_size=8)
    plan = build_plan(job, batch_registry)
    assert [u.rows for u in plan.units] == [20, 20, 10]
    assert plan.total_rows == 50
    assert plan.context.schema.names[:4] == [
        "transaction_id",
        "amount",
        "predict",
        "predict_proba_0",
    ]
    assert plan.context.read_columns == [*FEATURES, "transaction_id"]
    assert plan.fingerprint["model"] == {
        "name": "fraud", "version": 1, "flavor": "xgboost", "sha256": fraud.artifact_sha256,
    }  # fmt: skip
    again = build_plan(job, batch_registry)
    assert again.run_id == plan.run_id and len(plan.run_id) == 16
    other = build_plan(_job(tmp_path, source, batch_size=9), batch_registry)
    assert other.run_id != plan.run_id


def test_an_input_without_the_model_columns_stops_at_once(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    good = write_parquet(make_transactions(10), tmp_path / "in" / "a.parquet", row_group_size=10)
    bad = make_transactions(10).drop(columns=["amount", "hour"])
    write_parquet(bad, tmp_path / "in" / "b.parquet", row_group_size=10)
    with pytest.raises(InvalidInput) as caught:
        build_plan(_job(tmp_path, good.parent), batch_registry)
    message = caught.value.message
    assert "b.parquet does not fit model fraud:1" in message
    assert "lacks column(s) amount, hour" in message
    assert caught.value.details["missing"] == ["amount", "hour"]


def test_a_column_of_a_type_that_can_never_fit_stops_at_once(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    frame = make_transactions(5)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    index = table.schema.get_field_index("amount")
    nested = pa.array([{"value": 1.0}] * 5)
    pq.write_table(table.set_column(index, "amount", nested), tmp_path / "t.parquet")
    with pytest.raises(InvalidInput, match=r"column 'amount' holds struct<value: double> values"):
        build_plan(_job(tmp_path, tmp_path / "t.parquet"), batch_registry)


def test_unknown_id_or_kept_columns_and_unknown_models_are_named(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    source = write_parquet(make_transactions(5), tmp_path / "t.parquet", row_group_size=5)
    with pytest.raises(InvalidInput, match=r"--keep 'merchant': .* has no such column"):
        build_plan(_job(tmp_path, source, keep=("merchant",)), batch_registry)
    with pytest.raises(InvalidInput, match=r"--id-column 'tx': .* has no such column"):
        build_plan(_job(tmp_path, source, id_column="tx"), batch_registry)
    with pytest.raises(NotFound):
        build_plan(BatchJob(model="nope", input=str(source), output=str(tmp_path)), batch_registry)


def test_job_settings_are_checked_when_the_job_is_made() -> None:
    with pytest.raises(InvalidInput, match="batch_size must be >= 1, got 0"):
        BatchJob(model="m", input="i", output="o", batch_size=0)
    with pytest.raises(InvalidInput, match="names column 'a' twice"):
        BatchJob(model="m", input="i", output="o", keep=("a", "a"))
    with pytest.raises(InvalidInput, match="is the id column already"):
        BatchJob(model="m", input="i", output="o", id_column="a", keep=("a",))
    with pytest.raises(InvalidInput, match="output must not be empty"):
        BatchJob(model="m", input="i", output=" ")


def test_csv_id_columns_take_the_type_inferred_from_the_first_block(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    make_transactions(5).to_csv(tmp_path / "t.csv", index=False)
    plan = build_plan(
        _job(tmp_path, tmp_path / "t.csv", id_column="transaction_id"), batch_registry
    )
    assert plan.context.schema.field("transaction_id").type == pa.int64()
    assert plan.total_rows is None
