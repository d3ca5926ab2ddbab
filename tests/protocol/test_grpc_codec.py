"""The gRPC codec: every datatype via raw and typed contents, over the wire; bad messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.protocol.grpc_codec import (
    parameters_from_grpc,
    parameters_to_grpc,
    request_from_grpc,
    request_to_grpc,
    response_from_grpc,
    response_to_grpc,
)
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.metadata import model_metadata, server_metadata
from modelport.protocol.signature import Signature, TensorSpec
from modelport.protocol.types import InferenceRequest, InferenceResponse, RequestedOutput, Tensor

from .samples import BINARY_ONLY_BYTES, SAMPLES, assert_same


def _wire(msg: Any) -> Any:
    """Serialise and parse again, as the network would."""
    return type(msg).FromString(msg.SerializeToString())


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
@pytest.mark.parametrize("raw", [True, False])
def test_every_datatype_round_trips_as_a_request(datatype: str, raw: bool) -> None:
    arr = SAMPLES[datatype]
    request = InferenceRequest(
        id="r1",
        inputs=[Tensor(name="x", datatype=datatype, data=arr, parameters={"unit": "cm"})],
        outputs=[RequestedOutput(name="y", parameters={"binary_data": True})],
    )
    msg = _wire(request_to_grpc(request, model_name="m", model_version="2", raw=raw))
    assert msg.model_name == "m" and msg.model_version == "2"
    uses_raw = raw or datatype == "FP16"
    assert len(msg.raw_input_contents) == (1 if uses_raw else 0)
    back = request_from_grpc(msg)
    assert back.id == "r1"
    assert back.inputs[0].parameters == {"unit": "cm"}
    assert back.outputs is not None
    assert [(o.name, o.parameters) for o in back.outputs] == [("y", {"binary_data": True})]
    assert_same(back.inputs[0].data, arr)


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
@pytest.mark.parametrize("raw", [True, False])
def test_every_datatype_round_trips_as_a_response(datatype: str, raw: bool) -> None:
    arr = SAMPLES[datatype]
    response = InferenceResponse(
        model_name="m",
        model_version="1",
        id="r2",
        outputs=[Tensor(name="y", datatype=datatype, data=arr)],
    )
    msg = _wire(response_to_grpc(response, raw=raw))
    back = response_from_grpc(msg)
    assert (back.model_name, back.model_version, back.id) == ("m", "1", "r2")
    assert back.outputs[0].name == "y" and back.outputs[0].datatype == datatype
    assert_same(back.outputs[0].data, arr)


def test_responses_use_raw_contents_by_default_like_triton() -> None:
    response = InferenceResponse(
        model_name="m",
        outputs=[
            Tensor(name="p", datatype="FP32", data=np.array([[0.25, 0.75]], np.float32)),
            Tensor(name="s", datatype="BYTES", data=BINARY_ONLY_BYTES),
        ],
    )
    msg = response_to_grpc(response)
    assert list(msg.raw_output_contents[0]) == list(np.array([0.25, 0.75], "<f4").tobytes())
    assert msg.raw_output_contents[1] == b"\x03\x00\x00\x00\xff\x00\xfe\x02\x00\x00\x00ok"
    assert [list(o.shape) for o in msg.outputs] == [[1, 2], [2]]
    assert not any(o.HasField("contents") for o in msg.outputs)
    typed = response_to_grpc(response, raw=False)
    assert list(typed.outputs[0].contents.fp32_contents) == [0.25, 0.75]
    assert not typed.raw_output_contents


def test_an_fp16_output_makes_the_whole_response_raw() -> None:
    response = InferenceResponse(
        model_name="m",
        outputs=[
            Tensor(name="a", datatype="INT32", data=np.array([1], np.int32)),
            Tensor(name="h", datatype="FP16", data=np.array([0.5], np.float16)),
        ],
    )
    msg = response_to_grpc(response, raw=False)
    assert len(msg.raw_output_contents) == 2
    assert not msg.outputs[0].contents.int_contents


def test_parameters_of_every_kind_cross_the_wire() -> None:
    params = {
        "flag": True,
        "n": -5,
        "big": 2**63 + 1,
        "huge": -(2**70),
        "ratio": 0.5,
        "label": "x",
        "tags": ["a", 1],
        "none": None,
    }
    target = pb.ModelInferRequest()
    parameters_to_grpc(params, target.parameters)
    back = parameters_from_grpc(_wire(target).parameters)
    assert back == {
        "flag": True,
        "n": -5,
        "big": 2**63 + 1,
        "huge": str(-(2**70)),
        "ratio": 0.5,
        "label": "x",
        "tags": '["a",1]',
        "none": "null",
    }
    assert parameters_from_grpc({"unset": pb.InferParameter()}) == {"unset": None}


def test_empty_optional_fields_decode_as_absent() -> None:
    msg = pb.ModelInferRequest(model_name="m")
    msg.inputs.add(name="x", datatype="INT64", shape=[1]).contents.int64_contents.append(4)
    request = request_from_grpc(msg)
    assert request.id is None and request.outputs is None and request.parameters == {}
    assert request.inputs[0].data.tolist() == [4]


def test_metadata_bodies_fill_the_grpc_messages() -> None:
    sig = Signature(
        inputs=(TensorSpec(name="x", datatype="FP32", shape=(-1, 3)),),
        outputs=(TensorSpec(name="y", datatype="INT64", shape=(-1,)),),
    )
    meta = pb.ModelMetadataResponse(**model_metadata("fraud", [1, "2"], "sklearn", sig))
    assert list(meta.versions) == ["1", "2"] and meta.platform == "sklearn"
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("x", "FP32", [-1, 3])]
    assert meta.outputs[0].name == "y"
    assert model_metadata("m", [], "python", None)["inputs"] == []
    server = pb.ServerMetadataResponse(**server_metadata(version="9.9"))
    assert server.name == "modelport" and server.version == "9.9"
    assert "binary_tensor_data" in server.extensions


def _request(*tensors: dict[str, Any], raw: list[bytes] | None = None) -> Any:
    msg = pb.ModelInferRequest(model_name="m")
    for t in tensors:
        entry = msg.inputs.add(name=t["name"], datatype=t["datatype"], shape=t["shape"])
        for field, values in t.get("contents", {}).items():
            getattr(entry.contents, field).extend(values)
    msg.raw_input_contents.extend(raw or [])
    return msg


def _t(
    name: str = "x", datatype: str = "FP32", shape: list[int] | None = None, **contents: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "datatype": datatype,
        "shape": [2] if shape is None else shape,
        "contents": contents,
    }


BAD = [
    (_request(), "request has no inputs"),
    (_request(_t(name="")), "inputs[0] has no name"),
    (_request(_t(datatype="FP8")), "input 'x': unknown datatype 'FP8'"),
    (_request(_t(shape=[-1, 2])), "input 'x': every dimension of 'shape' must be an integer >= 0"),
    (_request(_t(shape=[1] * 40)), "shape has 40 dimensions"),
    (
        _request(_t(fp32_contents=[1.0])),
        "input 'x': shape [2] holds 2 elements but fp32_contents has 1",
    ),
    (
        _request(_t(fp64_contents=[1.0, 2.0])),
        "input 'x': FP32 contents go in fp32_contents, got fp64_contents",
    ),
    (
        _request(_t(fp32_contents=[1.0, 2.0], int_contents=[1])),
        "FP32 contents go in fp32_contents, got int_contents",
    ),
    (
        _request(_t(datatype="FP16", fp32_contents=[1.0, 2.0])),
        "FP16 contents go in raw_input_contents",
    ),
    (_request(_t(datatype="FP16")), "shape [2] holds 2 elements but contents has 0"),
    (
        _request(_t(datatype="INT8", int_contents=[1, 200])),
        "value 200 is out of range for INT8 (-128 to 127)",
    ),
    (
        _request(_t(datatype="UINT16", uint_contents=[70000, 1])),
        "value 70000 is out of range for UINT16",
    ),
    (
        _request(_t(fp32_contents=[1.0, 2.0]), _t(fp32_contents=[1.0, 2.0])),
        "input names must be unique",
    ),
    (_request(_t(), _t(name="y"), raw=[b"\x00" * 8]), "2 inputs but 1 raw_input_contents entries"),
    (
        _request(_t(fp32_contents=[1.0, 2.0]), raw=[b"\x00" * 8]),
        "has typed contents but the message uses raw",
    ),
    (
        _request(_t(), raw=[b"\x00" * 7]),
        "FP32 tensor of shape [2] needs 8 bytes of binary data, got 7",
    ),
    (
        _request(_t(datatype="BYTES"), raw=[b"\x01\x00\x00\x00a"]),
        "holds 2 elements but its binary data has 1",
    ),
]


@pytest.mark.parametrize(("msg", "message"), BAD)
def test_bad_request_is_invalid_input_with_a_precise_message(msg: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        request_from_grpc(msg)
    assert message in str(info.value)


def test_bad_requested_outputs_are_invalid_input() -> None:
    msg = _request(_t(fp32_contents=[1.0, 2.0]))
    msg.outputs.add(name="y")
    msg.outputs.add(name="y")
    with pytest.raises(
        InvalidInput, match=r"requested output names must be unique; repeated: \['y'\]"
    ):
        request_from_grpc(msg)
    del msg.outputs[:]
    msg.outputs.add(name="")
    with pytest.raises(InvalidInput, match=r"outputs\[0\] has no name"):
        request_from_grpc(msg)


def test_bad_response_messages_name_the_output() -> None:
    msg = pb.ModelInferResponse(model_name="m")
    msg.outputs.add(name="y", datatype="FP32", shape=[3])
    with pytest.raises(InvalidInput, match="output 'y': shape \\[3\\] holds 3 elements"):
        response_from_grpc(msg)
