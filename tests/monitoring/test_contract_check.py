"""The per-request contract check: fast when clean, precise when not."""

from __future__ import annotations

import numpy as np
import pytest

from modelport.errors import ContractViolation
from modelport.monitoring.contract import Contract, FieldRule
from modelport.monitoring.contract_check import ContractCheck, contract_error
from modelport.protocol.types import Tensor

CONTRACT = Contract(
    model="fraud",
    fields=(
        FieldRule(name="amount", datatype="FP64", min=0.0, max=100.0),
        FieldRule(name="hour", datatype="INT64", min=0, max=23, nullable=True),
        FieldRule(name="score", datatype="FP32", nullable=True),
        FieldRule(name="country", datatype="BYTES", kind="categorical",
                  categories=("FR", "DE")),
    ),
)


def request(amount: list[float], hour: list[int], country: list[bytes],
            score: list[float] | None = None) -> list[Tensor]:
    n = len(amount)
    return [
        Tensor(name="amount", datatype="FP64", data=np.array(amount, dtype=np.float64)),
        Tensor(name="hour", datatype="INT64", data=np.array(hour, dtype=np.int64)),
        Tensor(name="score", datatype="FP32",
               data=np.array(score or [0.5] * n, dtype=np.float32)),
        Tensor(name="country", datatype="BYTES", data=np.array(country, dtype=object)),
    ]


def test_clean_requests_have_no_violations() -> None:
    check = ContractCheck(CONTRACT)
    assert check.violations(request([1.0, 100.0], [0, 23], [b"FR", b"DE"])) == []
    assert check.violations(request([50.0], [5], [b"FR"], score=[float("nan")])) == []


def test_every_violation_names_field_rule_value_and_row() -> None:
    check = ContractCheck(CONTRACT)
    found = check.violations(
        request([5.0, -1.0, 1e9, float("nan")], [1, 2, 30, 4], [b"FR", b"XX", b"", b"DE"])
    )
    got = {(v.field, v.rule, v.row) for v in found}
    assert got == {
        ("amount", "min", 1), ("amount", "max", 2), ("amount", "missing", 3),
        ("hour", "max", 2), ("country", "category", 1), ("country", "missing", 2),
    }
    big = next(v for v in found if v.rule == "max" and v.field == "amount")
    assert big.value == 1e9 and big.limit == 100.0


def test_type_mismatch_and_column_shaped_inputs() -> None:
    check = ContractCheck(CONTRACT)
    inputs = request([5.0], [1], [b"FR"])
    inputs[0] = Tensor(name="amount", datatype="FP32", data=np.array([5.0], dtype=np.float32))
    assert check.violations(inputs) == []  # alone, a wrong type is the signature check's 400
    inputs[0] = Tensor(name="amount", datatype="FP32", data=np.array([500], dtype=np.float32))
    found = check.violations(inputs)
    assert [(v.field, v.rule, v.value, v.limit) for v in found] == [
        ("amount", "type", "FP32", "FP64"), ("amount", "max", 500.0, 100.0)]
    inputs = request([5.0, 200.0], [1, 2], [b"FR", b"DE"])
    inputs[1] = Tensor(name="hour", datatype="INT64", data=np.array([[1], [2]], dtype=np.int64))
    assert [(v.field, v.rule) for v in check.violations(inputs)] == [("amount", "max")]


def test_a_missing_input_is_left_to_the_signature_check() -> None:
    check = ContractCheck(CONTRACT)
    inputs = [t for t in request([500.0], [1], [b"FR"]) if t.name != "hour"]
    assert [(v.field, v.rule) for v in check.violations(inputs)] == [("amount", "max")]
    shuffled = list(reversed(request([1.0], [99], [b"FR"])))  # another order, learnt once
    assert [(v.field, v.rule) for v in check.violations(shuffled)] == [("hour", "max")]
    assert [(v.field, v.rule) for v in check.violations(shuffled)] == [("hour", "max")]


def test_the_error_lists_each_violation_and_how_to_widen_the_contract() -> None:
    check = ContractCheck(CONTRACT)
    found = check.violations(request([1e9], [1], [b"XX"]))
    error = contract_error("fraud", found)
    assert isinstance(error, ContractViolation)
    assert "amount=1e+09 is above the maximum 100" in error.message
    assert "country='XX' is not an allowed category (FR, DE)" in error.message
    assert "modelport monitor contract fraud --set" in error.message
    assert [v["field"] for v in error.details["violations"]] == ["amount", "country"]


def test_many_violations_are_summarised() -> None:
    check = ContractCheck(CONTRACT)
    found = check.violations(request([1e9] * 30, [99] * 30, [b"FR"] * 30))
    assert len(found) == 40  # at most 20 rows per field are spelled out
    assert "; and 20 more." in contract_error("fraud", found).message


@pytest.mark.parametrize("rows", [1, 64])
def test_check_is_vectorised(rows: int) -> None:
    """One clean request costs a few numpy calls however many numeric fields it has."""
    fields = tuple(FieldRule(name=f"f{i}", datatype="FP32", min=-10.0, max=10.0)
                   for i in range(30))
    check = ContractCheck(Contract(model="wide", fields=fields))
    inputs = [Tensor(name=f"f{i}", datatype="FP32", data=np.zeros(rows, dtype=np.float32))
              for i in range(30)]
    assert check.violations(inputs) == []
    inputs[7] = Tensor(name="f7", datatype="FP32", data=np.full(rows, 11.0, dtype=np.float32))
    assert {v.field for v in check.violations(inputs)} == {"f7"}


def test_decoded_json_is_checked_without_copying_and_agrees() -> None:
    """The JSON codec's shared array is used as the block; reordered inputs take the
    concatenating path; both find the same violations."""
    import orjson

    from modelport.protocol.json_codec import decode_request

    fields = tuple(FieldRule(name=f"f{i}", datatype="FP32", min=0.0, max=1.0) for i in range(5))
    check = ContractCheck(Contract(model="m", fields=fields))
    values = [0.5, 2.0, 0.5, -1.0, 0.5]
    inputs = [{"name": f"f{i}", "datatype": "FP32", "shape": [2], "data": [v, 0.5]}
              for i, v in enumerate(values)]
    decoded = decode_request(orjson.dumps({"inputs": inputs})).inputs
    assert decoded[0].data.base is decoded[4].data.base  # one array, rows handed out
    shuffled = decode_request(orjson.dumps({"inputs": inputs[::-1]})).inputs
    want = {("f1", "max", 0), ("f3", "min", 0)}
    assert {(v.field, v.rule, v.row) for v in check.violations(decoded)} == want
    assert {(v.field, v.rule, v.row) for v in check.violations(shuffled)} == want


def test_pandas_column_views_are_never_taken_as_the_block() -> None:
    import pandas as pd

    from modelport.protocol.signature import Signature, TensorSpec
    from modelport.protocol.table_codec import frame_to_inputs

    sig = Signature.for_table(["a", "b"], [TensorSpec(name="y", datatype="FP64", shape=(-1,))],
                              datatype="FP64")
    frame = pd.DataFrame({"b": [0.5, 0.5], "a": [0.5, 9.0]})  # block order differs
    arrays = frame_to_inputs(frame, sig)
    inputs = [Tensor(name=n, datatype="FP64", data=arrays[n]) for n in sig.input_names]
    fields = (FieldRule(name="a", datatype="FP64", min=0, max=1),
              FieldRule(name="b", datatype="FP64", min=0, max=1))
    found = ContractCheck(Contract(model="m", fields=fields)).violations(inputs)
    assert [(v.field, v.rule, v.row, v.value) for v in found] == [("a", "max", 1, 9.0)]


NUMERIC = Contract(
    model="fraud",
    fields=(
        FieldRule(name="amount", datatype="FP32", min=0.0, max=100.0),
        FieldRule(name="hour", datatype="FP32", min=0, max=23),
        FieldRule(name="score", datatype="FP32", nullable=True),
    ),
)


def test_a_matrix_is_read_as_the_fields_in_order_and_agrees_with_columns() -> None:
    check = ContractCheck(NUMERIC)
    matrix = np.array([[5.0, 1.0, 0.1], [-1.0, 30.0, np.nan], [7.0, np.nan, 0.2]],
                      dtype=np.float32)
    as_matrix = check.violations([Tensor(name="input-0", datatype="FP32", data=matrix)])
    as_columns = check.violations([Tensor(name=f.name, datatype="FP32", data=matrix[:, j].copy())
                                   for j, f in enumerate(NUMERIC.fields)])
    assert as_matrix == as_columns
    assert {(v.field, v.rule, v.row) for v in as_matrix} == {
        ("amount", "min", 1), ("hour", "max", 1), ("hour", "missing", 2)}
    clean = np.array([[5.0, 1.0, 0.1]], dtype=np.float32)
    assert check.violations([Tensor(name="rows", datatype="FP32", data=clean)]) == []


def test_a_matrix_of_another_width_or_type_is_left_to_the_signature_check() -> None:
    check = ContractCheck(NUMERIC)
    wide = np.full((1, 4), 1e9, dtype=np.float32)
    assert check.violations([Tensor(name="input-0", datatype="FP32", data=wide)]) == []
    typed = check.violations([Tensor(name="input-0", datatype="FP64",
                                     data=np.array([[500.0, 1.0, 0.0]]))])
    assert ("amount", "max") in {(v.field, v.rule) for v in typed}
    assert {v.field for v in typed if v.rule == "type"} == {"amount", "hour", "score"}


def test_annotated_features_name_the_columns() -> None:
    """Once a server has read the tensor (features set), the names decide, not the order."""
    check = ContractCheck(NUMERIC)
    matrix = np.array([[1.0, 500.0, 0.0]], dtype=np.float32)  # hour, amount, score
    tensor = Tensor(name="input-0", datatype="FP32", data=matrix,
                    features=("hour", "amount", "score"))
    assert [(v.field, v.rule) for v in check.violations([tensor])] == [("amount", "max")]
