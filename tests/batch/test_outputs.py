"""Output columns: their layout from the signature, and the model's answer checked against it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from modelport.batch.convert import ColumnPlan
from modelport.batch.outputs import Provenance, build_table, output_fields, output_schema
from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.signature import Signature, TensorSpec

SIGNATURE = Signature(
    inputs=(TensorSpec(name="x", datatype="FP32", shape=(-1,)),),
    outputs=(
        TensorSpec(name="predict", datatype="INT64", shape=(-1,)),
        TensorSpec(name="predict_proba", datatype="FP32", shape=(-1, 2)),
        TensorSpec(name="embedding", datatype="FP32", shape=(-1, 100)),
        TensorSpec(name="tokens", datatype="INT32", shape=(-1, -1)),
        TensorSpec(name="label", datatype="BYTES", shape=(-1,)),
    ),
)
ID = ColumnPlan(name="id", target=pa.int64(), role="id")
PROVENANCE = Provenance(model_name="m", model_version=3, run_id="abc")


def _outputs(rows: int) -> dict[str, np.ndarray]:
    return {
        "predict": np.arange(rows),
        "predict_proba": np.full((rows, 2), 0.5, dtype=np.float64),
        "embedding": np.ones((rows, 100), dtype=np.float32),
        "tokens": np.arange(rows * 3, dtype=np.int32).reshape(rows, 3),
        "label": np.array([b"yes", "no"][:rows], dtype=object),
    }


def test_layout_one_column_per_class_and_lists_for_wide_outputs() -> None:
    fields = output_fields(SIGNATURE)
    schema = output_schema([ID], fields)
    assert schema.names == [
        "id", "predict", "predict_proba_0", "predict_proba_1", "embedding", "tokens", "label",
        "model_name", "model_version", "run_id",
    ]  # fmt: skip
    assert schema.field("predict_proba_1").type == pa.float32()
    assert schema.field("embedding").type == pa.list_(pa.float32(), 100)
    assert schema.field("tokens").type == pa.list_(pa.int32())
    assert schema.field("label").type == pa.string()


def test_a_table_holds_the_outputs_cast_to_the_signature_and_the_provenance() -> None:
    fields = output_fields(SIGNATURE)
    schema = output_schema([ID], fields)
    table = build_table(schema, [pa.array([7, 8])], fields, _outputs(2), 2, PROVENANCE)
    assert table.schema == schema
    row = table.to_pylist()[1]
    assert row["id"] == 8
    assert row["predict_proba_0"] == 0.5
    assert row["tokens"] == [3, 4, 5]
    assert row["label"] == "no"
    assert (row["model_name"], row["model_version"], row["run_id"]) == ("m", 3, "abc")


def test_a_batch_without_good_rows_gives_an_empty_table_of_the_same_schema() -> None:
    fields = output_fields(SIGNATURE)
    schema = output_schema([ID], fields)
    table = build_table(schema, [pa.array([], pa.int64())], fields, None, 0, PROVENANCE)
    assert table.num_rows == 0
    assert table.schema == schema


def test_an_answer_that_breaks_the_signature_fails_clearly() -> None:
    fields = output_fields(SIGNATURE)
    schema = output_schema([ID], fields)
    carried = [pa.array([1, 2])]
    wrong_width = {**_outputs(2), "predict_proba": np.zeros((2, 3))}
    with pytest.raises(PredictionFailed, match=r"'predict_proba' with shape \[2, 3\]"):
        build_table(schema, carried, fields, wrong_width, 2, PROVENANCE)
    short = {**_outputs(2), "predict": np.arange(1)}
    with pytest.raises(PredictionFailed, match="one entry per input row"):
        build_table(schema, carried, fields, short, 2, PROVENANCE)
    missing = {k: v for k, v in _outputs(2).items() if k != "label"}
    with pytest.raises(PredictionFailed, match="promises 'label'"):
        build_table(schema, carried, fields, missing, 2, PROVENANCE)


def test_a_kept_column_may_not_take_an_output_name() -> None:
    clash = ColumnPlan(name="predict", target=pa.int64(), role="keep")
    with pytest.raises(InvalidInput, match="output column 'predict' would hold both"):
        output_schema([clash], output_fields(SIGNATURE))
