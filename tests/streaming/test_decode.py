from __future__ import annotations

import base64

import numpy as np
import orjson

from modelport.protocol.signature import Signature, TensorSpec
from modelport.streaming.base import Message
from modelport.streaming.decode import (
    Decoder,
    Rejected,
    dead_letter,
    output_records,
    request_record,
)

SIG = Signature.for_table(["a", "b"], [TensorSpec(name="score", datatype="FP32", shape=(-1,))])


def msg(i: int, payload: object) -> Message:
    body = payload if isinstance(payload, bytes) or payload is None else orjson.dumps(payload)
    return Message(f"{i}-0", body, 1_000 + i, token=i)


def test_feature_records_become_one_batch_of_signature_dtypes() -> None:
    decoded = Decoder("m", SIG).decode(
        [msg(1, {"a": 1, "b": 2.5, "extra": "x"}), msg(2, {"a": 3, "b": 4})]
    )
    assert [m.id for m in decoded.rows] == ["1-0", "2-0"]
    assert decoded.inputs is not None
    assert decoded.inputs["a"].dtype == np.float32
    np.testing.assert_array_equal(decoded.inputs["a"], [1.0, 3.0])
    np.testing.assert_array_equal(decoded.inputs["b"], [2.5, 4.0])
    assert decoded.rejected == [] and decoded.requests == []


def test_malformed_messages_are_rejected_with_reasons_and_the_rest_kept() -> None:
    messages = [
        msg(1, {"a": 1, "b": 2}),
        msg(2, b"{not json"),
        msg(3, [1, 2]),
        msg(4, {"a": 1}),
        msg(5, None),
        msg(6, {"a": "seven", "b": 1}),
        msg(7, {"a": 5, "b": 6}),
    ]
    decoded = Decoder("m", SIG).decode(messages)
    assert [m.id for m in decoded.rows] == ["1-0", "7-0"]
    assert decoded.inputs is not None
    np.testing.assert_array_equal(decoded.inputs["a"], [1.0, 5.0])
    reasons = {r.message.id: r.reason for r in decoded.rejected}
    assert set(reasons) == {"2-0", "3-0", "4-0", "5-0", "6-0"}
    assert "not valid JSON" in reasons["2-0"]
    assert "JSON object keyed by feature name" in reasons["3-0"]
    assert "lacks 1 feature(s)" in reasons["4-0"] and "b" in reasons["4-0"]
    assert "no payload" in reasons["5-0"]
    assert "'a' must be FP32" in reasons["6-0"] and "seven" in reasons["6-0"]
    assert all(r.kind == "invalid_input" for r in decoded.rejected)


def test_null_feature_becomes_nan_like_the_table_codec() -> None:
    decoded = Decoder("m", SIG).decode([msg(1, {"a": None, "b": 1})])
    assert decoded.inputs is not None and np.isnan(decoded.inputs["a"][0])


def test_oip_request_messages_are_checked_against_the_signature() -> None:
    sig = Signature(
        inputs=(TensorSpec(name="x", datatype="FP32", shape=(-1, 3)),),
        outputs=(TensorSpec(name="y", datatype="FP32", shape=(-1,)),),
    )
    good = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}]
    }
    wrong_type = {
        "inputs": [{"name": "x", "datatype": "INT64", "shape": [1, 3], "data": [1, 2, 3]}]
    }
    wrong_shape = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}
    unknown = {"inputs": [{"name": "z", "datatype": "FP32", "shape": [1], "data": [1]}]}
    broken = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1]}]}
    decoded = Decoder("m", sig).decode(
        [msg(1, good), msg(2, wrong_type), msg(3, wrong_shape), msg(4, unknown), msg(5, broken)]
    )
    assert [m.id for m, _ in decoded.requests] == ["1-0"]
    np.testing.assert_array_equal(decoded.requests[0][1]["x"], [[1, 2, 3], [4, 5, 6]])
    reasons = {r.message.id: r.reason for r in decoded.rejected}
    assert "takes FP32, got INT64" in reasons["2-0"]
    assert "takes shape [-1, 3]" in reasons["3-0"]
    assert "has no input(s) 'z'" in reasons["4-0"]
    assert "x" in reasons["5-0"]


def test_output_records_carry_id_model_version_and_every_output() -> None:
    outputs = {
        "predict": np.array([0, 1]),
        "predict_proba": np.array([[0.9, 0.1], [0.2, 0.8]], np.float32),
    }
    records = output_records([msg(1, {}), msg(2, {})], outputs, model="fraud", version="3")
    assert [r.id for r in records] == ["1-0", "2-0"]
    doc = orjson.loads(records[1].body)
    assert doc["id"] == "2-0" and doc["model"] == "fraud" and doc["version"] == "3"
    assert doc["predict"] == 1
    assert np.allclose(doc["predict_proba"], [0.2, 0.8])


def test_request_record_keeps_whole_tensors() -> None:
    record = request_record(msg(9, {}), {"y": np.array([1.5, 2.5])}, model="m", version="1")
    assert orjson.loads(record.body) == {"y": [1.5, 2.5], "id": "9-0", "model": "m", "version": "1"}


def test_dead_letter_keeps_reason_and_original_payload() -> None:
    text = dead_letter(Rejected(msg(1, b'{"a": oops'), "bad JSON"), model="m", version="2")
    doc = orjson.loads(text.body)
    assert doc == {
        "id": "1-0",
        "model": "m",
        "version": "2",
        "kind": "invalid_input",
        "reason": "bad JSON",
        "payload": '{"a": oops',
    }
    binary = dead_letter(Rejected(msg(2, b"\xff\xfe"), "bad"), model="m", version="2")
    assert base64.b64decode(orjson.loads(binary.body)["payload_base64"]) == b"\xff\xfe"
