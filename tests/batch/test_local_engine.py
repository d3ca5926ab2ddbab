"""The local engine end to end: outputs, manifest, rejects, resuming and refusing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelport.batch import BatchJob, LocalEngine
from modelport.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    PredictionFailed,
    Unavailable,
)
from modelport.registry import Registry, VersionInfo
from modelport.registry.intake import Registration, register_artifact

from .helpers import (
    expected_fraud_scores,
    folder_digest,
    make_transactions,
    read_output,
    write_parquet,
)


def _fraud_job(source: Path, output: Path, **kw: object) -> BatchJob:
    return BatchJob(
        model="fraud@production",
        input=str(source),
        output=str(output),
        id_column="transaction_id",
        keep=("amount",),
        batch_size=7,
        **kw,  # type: ignore[arg-type]
    )


def test_every_row_is_scored_as_xgboost_scores_it(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo, fraud_model_file: Path
) -> None:
    frame = make_transactions(50)
    source = write_parquet(frame, tmp_path / "in" / "tx.parquet", row_group_size=20)
    out = tmp_path / "out"
    result = LocalEngine(batch_registry, processes=1).run(_fraud_job(source, out))

    scores = read_output(out)
    assert scores["transaction_id"].tolist() == list(range(50))
    np.testing.assert_allclose(scores["amount"], frame["amount"])
    expected = expected_fraud_scores(fraud_model_file, frame)
    np.testing.assert_allclose(scores["predict_proba_1"], expected, rtol=1e-6)
    assert scores["predict"].tolist() == (expected > 0.5).astype(int).tolist()
    assert set(scores["model_name"]) == {"fraud"} and set(scores["model_version"]) == {1}
    assert set(scores["run_id"]) == {result.run_id}

    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == {"read": 50, "written": 50, "rejected": 0}
    assert manifest["run_id"] == result.run_id
    assert [p["path"] for p in manifest["parts"]][:4] == [
        "part-00000-00000-00000.parquet",
        "part-00000-00000-00001.parquet",
        "part-00000-00000-00002.parquet",
        "part-00000-00001-00000.parquet",
    ]
    for part in manifest["parts"]:
        data = (out / part["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == part["sha256"]
        assert len(data) == part["bytes"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["_manifest.json", "_rejects.jsonl", *(p["path"] for p in manifest["parts"])]
    )
    assert (out / "_rejects.jsonl").read_bytes() == b""
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (50, 50, 0)
    assert (result.parts, result.units_run, result.units_skipped) == (8, 3, 0)
    assert result.model == "fraud:1" and result.model_loads <= 1


def test_two_processes_write_exactly_what_one_process_writes(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    source = write_parquet(make_transactions(400), tmp_path / "tx.parquet", row_group_size=50)
    one = LocalEngine(batch_registry, processes=1).run(_fraud_job(source, tmp_path / "one"))
    two = LocalEngine(batch_registry, processes=2).run(_fraud_job(source, tmp_path / "two"))
    assert folder_digest(tmp_path / "two") == folder_digest(tmp_path / "one")
    assert two.units_run == 8
    assert 1 <= two.model_loads <= 2  # each process loads once, whatever its unit count
    assert two.run_id == one.run_id


def test_a_model_that_cannot_load_in_the_processes_stops_the_run(
    tmp_path: Path, batch_registry: Registry, fraud_model_file: Path
) -> None:
    own = tmp_path / "model.json"
    own.write_bytes(fraud_model_file.read_bytes() + b"\n\n")
    info = register_artifact(
        batch_registry,
        Registration(name="fraud", artifact=own, registered_by="t", alias="production"),
    )
    Path(info.artifact_uri).write_text('{"learner": {}}')
    source = write_parquet(make_transactions(100), tmp_path / "tx.parquet", row_group_size=25)
    with pytest.raises(IntegrityError, match="has changed since it was registered"):
        LocalEngine(batch_registry, processes=2).run(_fraud_job(source, tmp_path / "out"))
    assert not list((tmp_path / "out").glob("part-*"))


def test_bad_rows_are_rejected_with_their_position_and_the_run_goes_on(
    tmp_path: Path, batch_registry: Registry, scorer: VersionInfo
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text(
        "id,amount,count\n1,2.5,2\n2,abc,1\n3,,4\n4,-1.0,3\n5,1.0,10\n"
    )
    (tmp_path / "in" / "b.jsonl").write_text(
        '{"id": 6, "amount": 3, "count": 1}\n'
        "{oops\n"
        '{"id": 8, "amount": 1.5}\n'
        '{"id": 9, "amount": 2.0, "count": 2.5}\n'
        '{"id": 10, "amount": 0.5, "count": 4}\n'
    )
    out = tmp_path / "out"
    job = BatchJob(
        model="scorer", input=str(tmp_path / "in"), output=str(out), id_column="id", batch_size=4
    )
    result = LocalEngine(batch_registry, processes=1).run(job)

    scores = read_output(out)
    assert scores["id"].tolist() == [1, 5, 6, 10]
    assert scores["score"].tolist() == [5.0, 10.0, 3.0, 2.0]
    assert scores[["parts_0", "parts_1", "parts_2"]].iloc[0].tolist() == [2.5, 2.0, 4.5]
    assert len(scores["wide"].iloc[0]) == 100
    rejects = [json.loads(line) for line in (out / "_rejects.jsonl").read_text().splitlines()]
    csv, jsonl = str(tmp_path / "in" / "a.csv"), str(tmp_path / "in" / "b.jsonl")
    assert [(r["source"], r["row"]) for r in rejects] == [
        (csv, 1), (csv, 2), (csv, 3), (jsonl, 1), (jsonl, 2), (jsonl, 3),
    ]  # fmt: skip
    reasons = [r["reason"] for r in rejects]
    assert reasons[0] == "column 'amount': 'abc' is not a number (FP64)"
    assert reasons[1].startswith("column 'amount': missing value")
    assert reasons[2] == "the model refused the row: amount must be >= 0"
    assert reasons[3].startswith("not valid JSON")
    assert reasons[4].startswith("column 'count': missing value")
    assert reasons[5] == "column 'count': 2.5 is not a number (INT64)"
    assert rejects[0]["values"] == {"amount": "abc", "count": "1", "id": "2"}
    assert rejects[3]["values"] == {"line": "{oops"}
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (10, 4, 6)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rejects"]["rows"] == 6
    digest = hashlib.sha256((out / "_rejects.jsonl").read_bytes()).hexdigest()
    assert manifest["rejects"]["sha256"] == digest


def test_a_failed_run_resumes_to_exactly_the_output_of_a_clean_run(
    tmp_path: Path, batch_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "flaky.py"
    model.write_text(FLAKY)
    register_artifact(batch_registry, Registration(name="flaky", artifact=model, registered_by="t"))
    frame = pd.DataFrame({"id": range(60), "amount": np.arange(60, dtype=float)})
    source = write_parquet(frame, tmp_path / "in.parquet", row_group_size=10)
    engine = LocalEngine(batch_registry, processes=1)

    def job(out: str) -> BatchJob:
        return BatchJob(model="flaky", input=str(source), output=str(tmp_path / out),
                        id_column="id", batch_size=4)  # fmt: skip

    clean = engine.run(job("clean"))
    monkeypatch.setenv("FLAKY_FAIL_AT", "35")
    with pytest.raises(PredictionFailed, match=r"rows 34\.\.37 of .*in.parquet"):
        engine.run(job("resumed"))
    assert not (tmp_path / "resumed" / "_manifest.json").exists()
    assert (tmp_path / "resumed" / "part-00000-00003-00000.parquet").exists()
    monkeypatch.delenv("FLAKY_FAIL_AT")
    resumed = engine.run(job("resumed"))
    assert (resumed.units_skipped, resumed.units_run) == (3, 3)
    assert resumed.run_id == clean.run_id
    assert folder_digest(tmp_path / "resumed") == folder_digest(tmp_path / "clean")

    again = engine.run(job("resumed"))  # finished already: nothing to do
    assert (again.units_run, again.units_skipped, again.rows_read) == (0, 6, 60)
    assert folder_digest(tmp_path / "resumed") == folder_digest(tmp_path / "clean")


def test_a_part_deleted_behind_the_runs_back_is_reported(
    tmp_path: Path, batch_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "flaky.py"
    model.write_text(FLAKY)
    register_artifact(batch_registry, Registration(name="flaky", artifact=model, registered_by="t"))
    frame = pd.DataFrame({"id": range(60), "amount": np.arange(60, dtype=float)})
    source = write_parquet(frame, tmp_path / "in.parquet", row_group_size=10)
    job = BatchJob(model="flaky", input=str(source), output=str(tmp_path / "out"), batch_size=4)
    engine = LocalEngine(batch_registry, processes=1)
    monkeypatch.setenv("FLAKY_FAIL_AT", "35")
    with pytest.raises(PredictionFailed):
        engine.run(job)
    monkeypatch.delenv("FLAKY_FAIL_AT")
    (tmp_path / "out" / "part-00000-00001-00000.parquet").unlink()
    with pytest.raises(Unavailable, match=r"missing .*first: part-00000-00001-00000\.parquet"):
        engine.run(job)
    assert not (tmp_path / "out" / "_manifest.json").exists()


def test_the_output_of_another_job_is_kept_unless_overwrite(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    source = write_parquet(make_transactions(30), tmp_path / "tx.parquet", row_group_size=30)
    out = tmp_path / "out"
    engine = LocalEngine(batch_registry, processes=1)
    engine.run(_fraud_job(source, out))
    other = BatchJob(model="fraud", input=str(source), output=str(out), batch_size=9)
    with pytest.raises(Conflict, match="batch_size 7 vs now 9") as caught:
        engine.run(other)
    assert "pass --overwrite" in caught.value.message
    result = engine.run(BatchJob(model="fraud", input=str(source), output=str(out),
                                 batch_size=9, overwrite=True))  # fmt: skip
    assert result.parts == 4
    assert len(list(out.glob("part-*.parquet"))) == 4
    assert "amount" not in read_output(out).columns


def test_an_artifact_changed_since_registration_stops_the_run(
    tmp_path: Path, batch_registry: Registry, fraud_model_file: Path
) -> None:
    # A copy with its own hash: a model this process loaded before would come from its cache.
    own = tmp_path / "model.json"
    own.write_bytes(fraud_model_file.read_bytes() + b"\n")
    info = register_artifact(
        batch_registry,
        Registration(name="fraud", artifact=own, registered_by="t", alias="production"),
    )
    source = write_parquet(make_transactions(10), tmp_path / "tx.parquet", row_group_size=10)
    Path(info.artifact_uri).write_text('{"learner": {}}')
    with pytest.raises(IntegrityError, match="has changed since it was registered"):
        LocalEngine(batch_registry, processes=1).run(_fraud_job(source, tmp_path / "out"))
    assert not (tmp_path / "out" / "_manifest.json").exists()


def test_an_empty_input_gives_an_empty_complete_output(
    tmp_path: Path, batch_registry: Registry, fraud: VersionInfo
) -> None:
    source = write_parquet(make_transactions(2).head(0), tmp_path / "tx.parquet", row_group_size=10)
    result = LocalEngine(batch_registry).run(_fraud_job(source, tmp_path / "out"))
    assert (result.rows_read, result.parts) == (0, 0)
    assert json.loads((tmp_path / "out" / "_manifest.json").read_text())["parts"] == []


def test_processes_must_be_at_least_one(batch_registry: Registry) -> None:
    with pytest.raises(InvalidInput, match="--processes must be >= 1, got 0"):
        LocalEngine(batch_registry, processes=0)


FLAKY = '''
import os
import numpy as np


class Flaky:
    """Doubles the amount; fails on rows at or above $FLAKY_FAIL_AT when it is set."""

    signature = {
        "inputs": [{"name": "amount", "datatype": "FP64", "shape": [-1]}],
        "outputs": [{"name": "double", "datatype": "FP64", "shape": [-1]}],
        "tabular": True,
    }

    def load(self, path):
        pass

    def predict(self, inputs):
        amount = inputs["amount"]
        limit = os.environ.get("FLAKY_FAIL_AT")
        if limit is not None and (amount >= float(limit)).any():
            raise RuntimeError("the disk under the model went away")
        return {"double": amount * 2}
'''
