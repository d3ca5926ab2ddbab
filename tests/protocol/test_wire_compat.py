"""An independent client agrees with our codecs: tritonclient builds requests we decode, and
reads the responses we encode, over REST (JSON and binary) and over the gRPC wire format."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tritonclient.grpc import _utils as tgrpc_utils
from tritonclient.grpc import service_pb2 as triton_pb

from modelport.protocol.grpc_codec import CONTENTS_FIELD, request_from_grpc, response_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.json_codec import decode_request, encode_response
from modelport.protocol.types import InferenceResponse, Tensor

from .samples import SAMPLES, assert_same

#: tritonclient sends FP16 only as binary data; everything else both ways.
JSON_DATATYPES = sorted(set(SAMPLES) - {"FP16"})


def _bytes_list(arr: np.ndarray[Any, Any]) -> list[bytes]:
    """BYTES elements as bytes (tritonclient hands back str for JSON data)."""
    return [x.encode() if isinstance(x, str) else bytes(x) for x in arr.reshape(-1)]


def _triton_http_input(name: str, datatype: str, binary: bool) -> thttp.InferInput:
    arr = SAMPLES[datatype]
    tensor = thttp.InferInput(name, list(arr.shape), datatype)
    tensor.set_data_from_numpy(arr, binary_data=binary)
    return tensor


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient_http_requests_decode(binary: bool) -> None:
    datatypes = sorted(SAMPLES) if binary else JSON_DATATYPES
    inputs = [_triton_http_input(f"in_{d}", d, binary) for d in datatypes]
    outputs = [
        thttp.InferRequestedOutput("y", binary_data=True),
        thttp.InferRequestedOutput("z", binary_data=False),
    ]
    body, json_size = thttp.InferenceServerClient.generate_request_body(
        inputs, outputs=outputs, request_id="req-42"
    )
    assert (json_size is not None) == binary
    request = decode_request(body, header_length=json_size)
    assert request.id == "req-42"
    assert [t.name for t in request.inputs] == [f"in_{d}" for d in datatypes]
    for tensor, datatype in zip(request.inputs, datatypes, strict=True):
        assert tensor.datatype == datatype
        assert_same(tensor.data, SAMPLES[datatype])
    assert request.outputs is not None
    assert [(o.name, o.parameters.get("binary_data")) for o in request.outputs] == [
        ("y", True),
        ("z", False),
    ]


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient_http_reads_our_responses(binary: bool) -> None:
    datatypes = sorted(SAMPLES) if binary else JSON_DATATYPES
    response = InferenceResponse(
        model_name="m",
        model_version="1",
        id="r",
        outputs=[Tensor(name=f"out_{d}", datatype=d, data=SAMPLES[d]) for d in datatypes],
    )
    body, header_length = encode_response(response, binary_outputs=binary)
    result = thttp.InferenceServerClient.parse_response_body(body, header_length=header_length)
    assert result.get_response()["id"] == "r"
    for datatype in datatypes:
        got = result.as_numpy(f"out_{datatype}")
        want = SAMPLES[datatype]
        assert got is not None and got.shape == want.shape
        if datatype == "BYTES":
            assert _bytes_list(got) == list(want.reshape(-1))
        else:
            np.testing.assert_array_equal(got.astype(want.dtype), want)


def _triton_grpc_request() -> Any:
    inputs = []
    for datatype in sorted(SAMPLES):
        tensor = tgrpc.InferInput(f"in_{datatype}", list(SAMPLES[datatype].shape), datatype)
        tensor.set_data_from_numpy(SAMPLES[datatype])
        inputs.append(tensor)
    outputs = [tgrpc.InferRequestedOutput("y")]
    return tgrpc_utils._get_inference_request(
        model_name="fraud",
        inputs=inputs,
        model_version="3",
        request_id="g-1",
        outputs=outputs,
        sequence_id=0,
        sequence_start=False,
        sequence_end=False,
        priority=0,
        timeout=None,
        parameters=None,
    )


def test_tritonclient_grpc_requests_parse_and_decode() -> None:
    triton_msg = _triton_grpc_request()
    assert isinstance(triton_msg, triton_pb.ModelInferRequest)
    ours = pb.ModelInferRequest.FromString(triton_msg.SerializeToString())
    assert (ours.model_name, ours.model_version, ours.id) == ("fraud", "3", "g-1")
    request = request_from_grpc(ours)
    for tensor, datatype in zip(request.inputs, sorted(SAMPLES), strict=True):
        assert tensor.name == f"in_{datatype}" and tensor.datatype == datatype
        assert_same(tensor.data, SAMPLES[datatype])
    assert request.outputs is not None and [o.name for o in request.outputs] == ["y"]
    # and our messages are byte-for-byte what Triton's classes would write
    assert ours.SerializeToString() == triton_msg.SerializeToString()


@pytest.mark.parametrize("raw", [True, False])
def test_tritonclient_grpc_reads_our_responses(raw: bool) -> None:
    datatypes = sorted(SAMPLES) if raw else JSON_DATATYPES  # FP16 would force raw contents
    response = InferenceResponse(
        model_name="fraud",
        model_version="3",
        id="g-1",
        parameters={"note": "hi"},
        outputs=[Tensor(name=f"out_{d}", datatype=d, data=SAMPLES[d]) for d in datatypes],
    )
    wire = response_to_grpc(response, raw=raw).SerializeToString()
    triton_msg = triton_pb.ModelInferResponse.FromString(wire)
    assert triton_msg.id == "g-1" and triton_msg.parameters["note"].string_param == "hi"
    assert len(triton_msg.raw_output_contents) == (len(datatypes) if raw else 0)
    result = tgrpc.InferResult(triton_msg)
    for index, datatype in enumerate(datatypes):
        want = SAMPLES[datatype]
        if raw:
            got = result.as_numpy(f"out_{datatype}")
        else:  # tritonclient's InferResult reads raw contents only: read Triton's fields
            out = triton_msg.outputs[index]
            values = list(getattr(out.contents, CONTENTS_FIELD[datatype]))
            got = np.array(values, dtype=want.dtype).reshape(list(out.shape))
        assert got is not None and got.shape == want.shape
        if datatype == "BYTES":
            assert _bytes_list(got) == list(want.reshape(-1))
        else:
            np.testing.assert_array_equal(got.astype(want.dtype), want)
