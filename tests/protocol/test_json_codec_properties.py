"""Properties of the REST codec: whatever arrives, the only error is InvalidInput; valid
tensors of every datatype survive both the JSON and the binary route unchanged."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
from hypothesis import given
from hypothesis import strategies as st

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import DATATYPE_TO_NUMPY
from modelport.protocol.json_codec import decode_request, encode_response
from modelport.protocol.raw import array_to_raw
from modelport.protocol.types import InferenceRequest, InferenceResponse, Tensor

from .samples import assert_same
from .strategies import FAST, near_valid_request, typed_arrays


def _decode_or_invalid(body: bytes, header_length: int | None = None) -> InferenceRequest | None:
    """Decode; InvalidInput is an answer, any other exception fails the test."""
    try:
        request = decode_request(body, header_length=header_length)
    except InvalidInput as exc:
        assert str(exc), "an error must say what is wrong"
        return None
    for tensor in request.inputs:  # what comes out is well formed
        assert isinstance(tensor.data, np.ndarray)
        assert tensor.data.dtype == DATATYPE_TO_NUMPY[tensor.datatype]
        assert "binary_data_size" not in tensor.parameters
    return request


@FAST
@given(st.binary(max_size=200), st.none() | st.integers(min_value=-3, max_value=210))
def test_random_bytes_are_answered_with_invalid_input(
    body: bytes, header_length: int | None
) -> None:
    _decode_or_invalid(body, header_length)


@FAST
@given(near_valid_request())
def test_json_shaped_garbage_is_answered_with_invalid_input(doc: dict[str, Any]) -> None:
    _decode_or_invalid(json.dumps(doc).encode())


@FAST
@given(near_valid_request(), st.binary(max_size=40), st.integers(min_value=-2, max_value=2))
def test_random_binary_sections_are_answered_with_invalid_input(
    doc: dict[str, Any], tail: bytes, skew: int
) -> None:
    header = json.dumps(doc).encode()
    _decode_or_invalid(header + tail, header_length=len(header) + skew)


@FAST
@given(typed_arrays(), st.data())
def test_corrupted_binary_requests_are_answered_with_invalid_input(
    typed: tuple[str, np.ndarray[Any, Any]], data: st.DataObject
) -> None:
    datatype, arr = typed
    raw = array_to_raw("x", datatype, arr)
    size = data.draw(st.sampled_from([len(raw), len(raw) + 1, max(0, len(raw) - 1)]))
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": list(arr.shape),
                    "datatype": datatype,
                    "parameters": {"binary_data_size": size},
                }
            ]
        }
    )
    body = bytearray(header + raw)
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        if body:
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(min_value=0, max_value=len(body)))
    _decode_or_invalid(bytes(body[:cut]), header_length=len(header))


@FAST
@given(typed_arrays(utf8_bytes=True), st.booleans(), st.booleans())
def test_valid_tensors_survive_json_and_binary(
    typed: tuple[str, np.ndarray[Any, Any]], binary: bool, nested: bool
) -> None:
    datatype, arr = typed
    entry: dict[str, Any] = {"name": "x", "shape": list(arr.shape), "datatype": datatype}
    if binary:
        raw = array_to_raw("x", datatype, arr)
        entry["parameters"] = {"binary_data_size": len(raw)}
    else:
        values = arr.reshape(-1).tolist()
        if datatype == "BYTES":
            values = [v.decode() for v in values]
        if nested and arr.ndim > 1:
            values = np.array(values, dtype=object).reshape(arr.shape).tolist()
        entry["data"] = values
    header = json.dumps({"id": "r", "inputs": [entry]}).encode()
    body = header + raw if binary else header
    request = decode_request(body, header_length=len(header) if binary else None)
    assert request.id == "r"
    assert_same(request.inputs[0].data, arr)


@FAST
@given(typed_arrays(), st.booleans())
def test_encoded_responses_carry_every_element(
    typed: tuple[str, np.ndarray[Any, Any]], binary: bool
) -> None:
    datatype, arr = typed
    response = InferenceResponse(
        model_name="m", outputs=[Tensor(name="y", datatype=datatype, data=arr)]
    )
    body, header_length = encode_response(response, binary_outputs=binary)
    header = orjson.loads(body if header_length is None else body[:header_length])
    out = header["outputs"][0]
    assert out["shape"] == list(arr.shape)
    if binary:
        assert body[header_length:] == array_to_raw("y", datatype, arr)
    else:
        assert len(out["data"]) == arr.size
