"""The REST codec: every datatype both ways, nested data, binary data, and bad bodies."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson
import pytest

from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.json_codec import (
    decode_request,
    encode_error,
    encode_response,
    parse_header_length,
    requested_binary_outputs,
)
from modelport.protocol.raw import array_to_raw
from modelport.protocol.types import InferenceResponse, Tensor

from .samples import BINARY_ONLY_BYTES, SAMPLES, assert_same


def _json_data(arr: np.ndarray[Any, Any]) -> list[Any]:
    if arr.dtype == object:
        return [x.decode() for x in arr.reshape(-1)]
    return arr.reshape(-1).tolist()  # type: ignore[no-any-return]


def _body(*inputs: dict[str, Any], **top: Any) -> bytes:
    return orjson.dumps({**top, "inputs": list(inputs)})


def _input(name: str, arr: np.ndarray[Any, Any], datatype: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "shape": list(arr.shape), "datatype": datatype, **extra}


def _read_response(body: bytes, header_length: int | None) -> dict[str, Any]:
    """Our own reader of a response: JSON header, then binary outputs in order."""
    header = body if header_length is None else body[:header_length]
    doc: dict[str, Any] = orjson.loads(header)
    offset = len(header)
    for out in doc["outputs"]:
        size = out.get("parameters", {}).get("binary_data_size")
        if size is not None:
            out["raw"] = body[offset : offset + size]
            offset += size
    assert offset == len(body)
    return doc


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_every_datatype_decodes_from_flat_json(datatype: str) -> None:
    arr = SAMPLES[datatype]
    body = _body(_input("x", arr, datatype, data=_json_data(arr)))
    (tensor,) = decode_request(body).inputs
    assert tensor.name == "x" and tensor.datatype == datatype
    assert_same(tensor.data, arr)


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_every_datatype_decodes_from_nested_json(datatype: str) -> None:
    arr = SAMPLES[datatype].reshape(1, -1)
    nested = np.array(_json_data(arr), dtype=object).reshape(arr.shape).tolist()
    body = _body(_input("x", arr, datatype, data=nested))
    assert_same(decode_request(body).inputs[0].data, arr)


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_every_datatype_decodes_from_binary_data(datatype: str) -> None:
    arr = SAMPLES[datatype]
    raw = array_to_raw("x", datatype, arr)
    header = _body(
        _input("first", np.zeros(1), "FP64", data=[1.5]),
        _input("x", arr, datatype, parameters={"binary_data_size": len(raw)}),
    )
    request = decode_request(header + raw, header_length=len(header))
    first, tensor = request.inputs
    assert first.data.tolist() == [1.5]
    assert_same(tensor.data, arr)
    assert tensor.parameters == {}, "binary_data_size is transport detail, not a parameter"


def test_binary_bytes_need_not_be_utf8() -> None:
    raw = array_to_raw("s", "BYTES", BINARY_ONLY_BYTES)
    assert raw[:4] == struct.pack("<I", 3)
    header = _body(
        _input("s", BINARY_ONLY_BYTES, "BYTES", parameters={"binary_data_size": len(raw)})
    )
    tensor = decode_request(header + raw, header_length=len(header)).inputs[0]
    assert_same(tensor.data, BINARY_ONLY_BYTES)


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
@pytest.mark.parametrize("binary", [False, True])
def test_every_datatype_encodes(datatype: str, binary: bool) -> None:
    arr = SAMPLES[datatype]
    response = InferenceResponse(
        model_name="m", outputs=[Tensor(name="y", datatype=datatype, data=arr)]
    )
    body, header_length = encode_response(response, binary_outputs=binary)
    assert (header_length is not None) == binary
    (out,) = _read_response(body, header_length)["outputs"]
    assert out["name"] == "y" and out["datatype"] == datatype and out["shape"] == list(arr.shape)
    if binary:
        assert "data" not in out
        assert out["raw"] == array_to_raw("y", datatype, arr)
    elif datatype == "BYTES":
        assert out["data"] == _json_data(arr)
    else:  # FP32 0.1 is written as its shortest form "0.1": read it back as FP32
        assert_same(np.array(out["data"], dtype=arr.dtype).reshape(arr.shape), arr)


def test_response_carries_model_id_and_parameters_and_omits_what_is_unset() -> None:
    full = InferenceResponse(
        model_name="fraud",
        model_version="3",
        id="req-7",
        parameters={"sequence_id": 4},
        outputs=[Tensor(name="p", datatype="FP32", data=np.array([0.5], np.float32))],
    )
    doc = orjson.loads(encode_response(full)[0])
    assert doc["model_name"] == "fraud" and doc["model_version"] == "3"
    assert doc["id"] == "req-7" and doc["parameters"] == {"sequence_id": 4}
    bare = InferenceResponse(model_name="fraud", outputs=[])
    assert orjson.loads(encode_response(bare)[0]) == {"model_name": "fraud", "outputs": []}


def test_only_named_outputs_go_binary() -> None:
    response = InferenceResponse(
        model_name="m",
        outputs=[
            Tensor(name="a", datatype="INT32", data=np.array([1, 2], np.int32)),
            Tensor(name="b", datatype="FP64", data=np.array([0.25])),
            Tensor(name="c", datatype="BYTES", data=BINARY_ONLY_BYTES, parameters={"k": 1}),
        ],
    )
    body, header_length = encode_response(response, binary_outputs={"b", "c"})
    a, b, c = _read_response(body, header_length)["outputs"]
    assert a["data"] == [1, 2] and "parameters" not in a
    assert np.frombuffer(b["raw"], "<f8").tolist() == [0.25]
    assert c["parameters"] == {"k": 1, "binary_data_size": len(c["raw"])}


def test_numeric_outputs_are_cast_to_their_declared_datatype() -> None:
    tensor = Tensor(name="y", datatype="FP32", data=np.array([[1, 2]], dtype=np.int64))
    body, _ = encode_response(InferenceResponse(model_name="m", outputs=[tensor]))
    assert orjson.loads(body)["outputs"][0] == {
        "name": "y",
        "datatype": "FP32",
        "shape": [1, 2],
        "data": [1.0, 2.0],
    }


def test_invalid_utf8_bytes_output_is_escaped_in_json() -> None:
    tensor = Tensor(name="s", datatype="BYTES", data=BINARY_ONLY_BYTES)
    body, _ = encode_response(InferenceResponse(model_name="m", outputs=[tensor]))
    assert orjson.loads(body)["outputs"][0]["data"] == ["\\xff\x00\\xfe", "ok"]


def test_str_and_unicode_arrays_encode_as_bytes_outputs() -> None:
    tensor = Tensor(name="s", datatype="BYTES", data=np.array(["a", "\u00e9"]))
    body, _ = encode_response(InferenceResponse(model_name="m", outputs=[tensor]))
    assert orjson.loads(body)["outputs"][0]["data"] == ["a", "\u00e9"]


def test_output_that_cannot_take_its_datatype_is_a_prediction_failure() -> None:
    tensor = Tensor(name="y", datatype="FP32", data=np.array([{"a": 1}], dtype=object))
    with pytest.raises(PredictionFailed, match="output 'y' cannot be encoded as FP32"):
        encode_response(InferenceResponse(model_name="m", outputs=[tensor]))


def test_request_fields_are_kept() -> None:
    body = orjson.dumps(
        {
            "id": "abc",
            "parameters": {"binary_data_output": False, "priority": 2},
            "inputs": [
                {
                    "name": "x",
                    "shape": [1],
                    "datatype": "INT64",
                    "data": [3],
                    "parameters": {"unit": "cm"},
                }
            ],
            "outputs": [{"name": "label"}, {"name": "proba", "parameters": {"binary_data": True}}],
        }
    )
    request = decode_request(body)
    assert request.id == "abc"
    assert request.parameters == {"binary_data_output": False, "priority": 2}
    assert request.inputs[0].parameters == {"unit": "cm"}
    assert request.outputs is not None
    assert [(o.name, o.parameters) for o in request.outputs] == [
        ("label", {}),
        ("proba", {"binary_data": True}),
    ]
    assert requested_binary_outputs(request) == {"proba"}


def test_no_requested_outputs_means_all() -> None:
    request = decode_request(_body(_input("x", np.zeros(1), "FP32", data=[0]), outputs=[]))
    assert request.outputs is None and request.id is None
    assert requested_binary_outputs(request) == set()
    everything = decode_request(
        _body(_input("x", np.zeros(1), "FP32", data=[0]), parameters={"binary_data_output": True})
    )
    assert requested_binary_outputs(everything) is True


def test_many_inputs_of_mixed_shapes_and_types_keep_their_own_values() -> None:
    body = _body(
        _input("a", np.zeros((2, 2)), "FP32", data=[[1, 2], [3, 4]]),
        _input("b", np.zeros(1), "FP32", data=[5.5]),
        _input("c", np.zeros(3), "INT32", data=[6, 7, 8]),
        _input("d", np.zeros(()), "FP32", data=[9]),
        _input("e", np.zeros((0, 3)), "FP32", data=[]),
    )
    a, b, c, d, e = decode_request(body).inputs
    assert a.data.tolist() == [[1, 2], [3, 4]] and a.data.dtype == np.float32
    assert b.data.tolist() == [5.5] and c.data.tolist() == [6, 7, 8]
    assert d.data.shape == () and float(d.data) == 9.0
    assert e.data.shape == (0, 3)


def test_scalar_inputs_stay_zero_dimensional_arrays() -> None:
    body = _body(*(_input(f"s{i}", np.zeros(()), "FP32", data=[i]) for i in range(3)))
    inputs = decode_request(body).inputs
    assert all(isinstance(t.data, np.ndarray) and t.data.shape == () for t in inputs)
    assert [float(t.data) for t in inputs] == [0.0, 1.0, 2.0]


def test_single_row_inputs_are_independent_arrays_of_their_shape() -> None:
    body = _body(*(_input(f"f{i}", np.zeros(1), "FP64", data=[float(i)]) for i in range(30)))
    inputs = decode_request(body).inputs
    assert [t.data.tolist() for t in inputs] == [[float(i)] for i in range(30)]
    assert all(t.shape == (1,) for t in inputs)


def test_encode_error_and_header_length_parsing() -> None:
    assert orjson.loads(encode_error('bad "x"')) == {"error": 'bad "x"'}
    assert parse_header_length(None) is None
    assert parse_header_length(" 42 ") == 42
    with pytest.raises(InvalidInput, match="Inference-Header-Content-Length must be a whole"):
        parse_header_length("4k")
