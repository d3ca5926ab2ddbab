"""Bad REST bodies: each one is InvalidInput with a message naming what is wrong."""

from __future__ import annotations

import json
import struct
from typing import Any

import orjson
import pytest

from modelport.errors import InvalidInput
from modelport.protocol.json_codec import decode_request


def _one(**fields: Any) -> bytes:
    tensor = {"name": "x", "shape": [2], "datatype": "FP32", "data": [1.0, 2.0], **fields}
    kept = {k: v for k, v in tensor.items() if v is not ...}
    return json.dumps({"inputs": [kept]}).encode()  # the stdlib writes ints beyond 64 bits


BAD_JSON = [
    (b"", "not valid JSON"),
    (b'{"inputs": [', "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"inputs": [{"name": "x", "data": [NaN]}]}', "not valid JSON"),
    (b"[1, 2]", "must be a JSON object with an 'inputs' list, got [1,2] (list)"),
    (b"{}", "request needs 'inputs': a non-empty list"),
    (b'{"inputs": []}', "request needs 'inputs': a non-empty list"),
    (b'{"inputs": {"x": 1}}', "request needs 'inputs'"),
    (b'{"id": 5, "inputs": [{}]}', "request 'id' must be a string, got 5 (integer)"),
    (b'{"inputs": [7]}', "inputs[0] must be an object with name, shape, datatype and data"),
    (b'{"inputs": [{"shape": [1]}]}', "inputs[0]: 'name' must be a string, got null"),
    (b'{"inputs": [{}], "parameters": []}', "inputs[0]: 'name' must be a string"),
]

BAD_INPUT = [
    (_one(datatype="FP128"), "input 'x': unknown datatype 'FP128'; expected one of BOOL, BYTES"),
    (_one(datatype=...), "input 'x': unknown datatype None"),
    (_one(shape="2"), "input 'x': 'shape' must be a list of non-negative integers, got '2'"),
    (_one(shape=...), "'shape' must be a list of non-negative integers, got None"),
    (_one(shape=[-1]), "every dimension of 'shape' must be an integer >= 0, got [-1]"),
    (_one(shape=[2.0]), "every dimension of 'shape' must be an integer >= 0, got [2.0]"),
    (_one(shape=[True, 2]), "every dimension of 'shape' must be an integer >= 0"),
    (_one(shape=[1] * 33), "shape has 33 dimensions; at most 32 are supported"),
    (_one(shape=[0, 2**62, 2**62], data=[]), "has too many elements"),
    (_one(data=...), "input 'x' has no 'data' (and no binary_data_size parameter"),
    (_one(data="1,2"), "input 'x': 'data' must be a list (flat or nested, row-major), got \"1,2\""),
    (_one(data=None), "'data' must be a list (flat or nested, row-major), got null"),
    (_one(data=[1.0]), "input 'x': shape [2] holds 2 elements but 'data' has 1"),
    (_one(shape=[2, 2], data=[[1, 2], [3]]), "shape [2, 2] holds 4 elements but 'data' has 3"),
    (_one(data=[[1.0], [2.0]]), "input 'x': 'data' is nested deeper than its shape's rank"),
    (_one(data=[1.0, "2"]), "input 'x': FP32 data must be numbers, got \"2\" (string)"),
    (_one(data=[True, 1.0]), "input 'x': FP32 data must be numbers, got true"),
    (_one(data=[None, 1.0]), "FP32 data must be numbers, got null"),
    (_one(data=[{"v": 1}, 1.0]), 'FP32 data must be numbers, got {"v":1} (object)'),
    (_one(datatype="INT32", data=[1, 1.5]), "INT32 data must be integers, got 1.5 (number)"),
    (_one(datatype="INT64", data=[1, 2**64]), "INT64 data must be integers, got 1.8446744"),
    (_one(datatype="BOOL", data=[1, 0]), "input 'x': BOOL data must be true/false, got 1"),
    (_one(datatype="BYTES", data=["a", 1]), "BYTES data must be strings, got 1 (integer)"),
    (_one(datatype="INT8", data=[1, 300]), "value 300 is out of range for INT8 (-128 to 127)"),
    (_one(datatype="UINT8", data=[-1, 3]), "value -1 is out of range for UINT8 (0 to 255)"),
    (_one(datatype="INT64", data=[0, 2**63]), "value 9223372036854775808 is out of range"),
    (_one(datatype="UINT64", data=[0, -1]), "value -1 is out of range for UINT64"),
    (_one(data=[1e39, 0]), "value 1e+39 is out of range for FP32 (-3.4028235e+38 to"),
    (_one(datatype="FP16", data=[7e4, 0]), "value 70000.0 is out of range for FP16"),
    (_one(parameters=[1]), "input 'x': 'parameters' must be a JSON object, got [1] (list)"),
]


def _request(**top: Any) -> bytes:
    inputs = [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]
    return orjson.dumps({"inputs": inputs, **top})


BAD_REQUEST = [
    (_request(parameters="fast"), "request: 'parameters' must be a JSON object"),
    (_request(outputs={"y": 1}), "request 'outputs' must be a list of {\"name\"} objects"),
    (_request(outputs=[{"name": 3}]), "outputs[0] must be an object with a string 'name'"),
    (_request(outputs=["y"]), "outputs[0] must be an object with a string 'name', got \"y\""),
    (_request(outputs=[{"name": "y", "parameters": 1}]), "requested output 'y': 'parameters'"),
    (_request(outputs=[{"name": "y"}, {"name": "y"}]), "requested output names must be unique"),
    (
        orjson.dumps({"inputs": [{"name": "x", "shape": [0], "datatype": "FP32", "data": []}] * 2}),
        "input names must be unique; repeated: ['x']",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_JSON + BAD_INPUT + BAD_REQUEST)
def test_bad_body_is_invalid_input_with_a_precise_message(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_request(body)
    assert message in str(info.value)


def _binary_header(*sizes: Any, datatype: str = "FP32", shape: list[int] | None = None) -> bytes:
    inputs = [
        {
            "name": f"b{i}",
            "shape": shape if shape is not None else [2],
            "datatype": datatype,
            "parameters": {"binary_data_size": size},
        }
        for i, size in enumerate(sizes)
    ]
    return orjson.dumps({"inputs": inputs})


def _prefixed(*items: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(x)) + x for x in items)


BAD_BINARY = [
    (_binary_header(8), b"", None, "declares binary_data_size but the request has no"),
    (_binary_header(8), b"\x00" * 8, None, "data follows the JSON, send Inference-Header-Content"),
    (_binary_header(8), b"\x00" * 8, -1, "Inference-Header-Content-Length is -1 but the body"),
    (_binary_header(8), b"\x00" * 8, 10**6, "Inference-Header-Content-Length is 1000000"),
    (_binary_header(8)[:-1], b"\x00" * 9, "json", "request body is not valid JSON"),
    (_binary_header("8"), b"\x00" * 8, "json", 'binary_data_size must be an integer >= 0, got "8"'),
    (_binary_header(-8), b"", "json", "binary_data_size must be an integer >= 0, got -8"),
    (_binary_header(True), b"\x00", "json", "binary_data_size must be an integer >= 0, got true"),
    (_binary_header(8), b"\x00" * 4, "json", "declares binary_data_size 8 but only 4 bytes"),
    (_binary_header(4), b"\x00" * 4, "json", "FP32 tensor of shape [2] needs 8 bytes"),
    (_binary_header(8), b"\x00" * 12, "json", "4 bytes of binary data after the JSON header"),
    (_binary_header(4, 4), b"\x00" * 8, "json", "input 'b0': FP32 tensor of shape [2] needs 8"),
    (_binary_header(2, datatype="BYTES"), b"\x01\x00", "json", "ends inside an element's 4-byte"),
    (
        _binary_header(9, datatype="BYTES"),
        _prefixed(b"a") + b"\x09\x00\x00\x00",
        "json",
        "BYTES element 1 declares 9 bytes but only 0 remain",
    ),
    (
        _binary_header(15, datatype="BYTES"),
        _prefixed(b"a", b"b", b"c"),
        "json",
        "holds 2 elements but its binary data has more",
    ),
    (
        _binary_header(5, datatype="BYTES"),
        _prefixed(b"a"),
        "json",
        "BYTES tensor of shape [2] holds 2 elements but its binary data has 1",
    ),
]


@pytest.mark.parametrize(("header", "tail", "length", "message"), BAD_BINARY)
def test_bad_binary_data_is_invalid_input(
    header: bytes, tail: bytes, length: int | str | None, message: str
) -> None:
    header_length = len(header) if length == "json" else length
    assert not isinstance(header_length, str)
    with pytest.raises(InvalidInput) as info:
        decode_request(header + tail, header_length=header_length)
    assert message in str(info.value)


def test_data_and_binary_size_together_is_ambiguous() -> None:
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [1],
                    "datatype": "INT8",
                    "data": [1],
                    "parameters": {"binary_data_size": 1},
                }
            ]
        }
    )
    with pytest.raises(InvalidInput, match="has both 'data' and parameter binary_data_size"):
        decode_request(header + b"\x01", header_length=len(header))


def test_header_length_without_binary_inputs_must_cover_the_body() -> None:
    body = _request()
    assert decode_request(body, header_length=len(body)).inputs[0].data.tolist() == [1.0]
    with pytest.raises(InvalidInput, match="3 bytes of binary data after the JSON header"):
        decode_request(body + b"abc", header_length=len(body))
