"""Casting input columns to the model's types, rejecting rows with bad cells."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from modelport.batch.convert import ColumnPlan, castable, input_target, prepare
from modelport.batch.readers import SourceBatch
from modelport.errors import InvalidInput
from modelport.protocol.signature import TensorSpec


def _input(name: str, datatype: str = "FP32", shape: tuple[int, ...] = (-1,)) -> ColumnPlan:
    spec = TensorSpec(name=name, datatype=datatype, shape=shape)
    return ColumnPlan(name=name, target=input_target(spec), role="input", spec=spec)


def _batch(**columns: pa.Array) -> SourceBatch:
    return SourceBatch(0, 100, pa.RecordBatch.from_pydict(columns))


def test_clean_float32_columns_reach_the_model_without_a_copy() -> None:
    values = pa.array(np.arange(5, dtype=np.float32))
    prepared = prepare(_batch(x=values), [_input("x")])
    assert prepared.reasons == {}
    assert prepared.good.tolist() == [0, 1, 2, 3, 4]
    x = prepared.inputs["x"]
    assert x.dtype == np.float32
    assert x.ctypes.data == values.buffers()[1].address  # a view of the Arrow buffer


def test_numbers_convert_and_bad_cells_reject_only_their_row() -> None:
    batch = _batch(
        id=pa.array([10, 11, 12, 13, 14]),
        x=pa.array(["1.5", " 2 ", "abc", None, "4"]),
        n=pa.array([1.0, 2.0, 3.0, 4.0, 2.5]),
    )
    columns = [
        _input("x"),
        _input("n", "INT64"),
        ColumnPlan(name="id", target=pa.int64(), role="id"),
    ]
    prepared = prepare(batch, columns)
    assert prepared.good.tolist() == [0, 1]
    assert prepared.inputs["x"].tolist() == [1.5, 2.0]
    assert prepared.inputs["n"].dtype == np.int64
    assert [a.to_pylist() for a in prepared.carried] == [[10, 11]]
    assert prepared.reasons == {
        2: "column 'x': 'abc' is not a number (FP32)",
        3: "column 'x': missing value; the model needs a number (FP32)",
        4: "column 'n': 2.5 is not a number (INT64)",
    }


def test_nan_is_a_value_but_null_is_missing() -> None:
    prepared = prepare(_batch(x=pa.array([float("nan"), None], pa.float64())), [_input("x")])
    assert prepared.good.tolist() == [0]
    assert np.isnan(prepared.inputs["x"][0])
    assert "missing value" in prepared.reasons[1]


def test_id_and_kept_columns_may_hold_nulls_but_must_fit_their_type() -> None:
    batch = _batch(x=pa.array([1.0, 2.0, 3.0]), id=pa.array(["7", None, "x"]))
    keep = ColumnPlan(name="id", target=pa.int64(), role="keep")
    prepared = prepare(batch, [_input("x"), keep])
    assert prepared.good.tolist() == [0, 1]
    assert prepared.carried[0].to_pylist() == [7, None]
    assert prepared.reasons[2].startswith("column 'id': 'x' is not of type int64")


def test_list_inputs_need_the_exact_length_and_text_inputs_become_bytes() -> None:
    batch = _batch(
        v=pa.array([[1, 2], [3], None, [5, 6]]),
        t=pa.array(["a", "b", "c", "d"]),
    )
    prepared = prepare(batch, [_input("v", "FP32", (-1, 2)), _input("t", "BYTES")])
    assert prepared.good.tolist() == [0, 3]
    assert prepared.inputs["v"].tolist() == [[1.0, 2.0], [5.0, 6.0]]
    assert prepared.inputs["v"].dtype == np.float32
    assert prepared.inputs["t"].tolist() == [b"a", b"d"]
    assert prepared.reasons[1] == "column 'v': a list of 1 values, expected 2"
    assert "missing value" in prepared.reasons[2]


def test_rows_the_reader_could_not_parse_are_rejected_with_its_reason() -> None:
    batch = SourceBatch(
        0, 0, pa.RecordBatch.from_pydict({"x": pa.array([1.0, None])}), {1: ("not valid JSON", "{")}
    )
    prepared = prepare(batch, [_input("x")])
    assert prepared.reasons == {1: "not valid JSON"}


def test_inputs_of_higher_rank_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput, match=r"shape \[-1, 2, 2\]"):
        input_target(TensorSpec(name="img", datatype="FP32", shape=(-1, 2, 2)))


def test_castable_tells_types_that_can_never_convert() -> None:
    assert castable(pa.string(), pa.float32())
    assert castable(pa.int64(), pa.float32())
    assert castable(pa.dictionary(pa.int32(), pa.string()), pa.float32())
    assert not castable(pa.struct([("a", pa.int64())]), pa.float32())
    assert not castable(pa.list_(pa.int64()), pa.float32())
