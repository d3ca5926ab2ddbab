"""Properties of the gRPC codec: whatever a message holds, the only error is InvalidInput, and
valid tensors survive raw and typed contents unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np
from google.protobuf.message import DecodeError
from hypothesis import given
from hypothesis import strategies as st

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import DATATYPE_TO_NUMPY
from modelport.protocol.grpc_codec import CONTENTS_FIELD, request_from_grpc, request_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.types import InferenceRequest, Tensor

from .samples import assert_same
from .strategies import DATATYPE_NAMES, FAST, typed_arrays

_INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
_UINT32 = st.integers(min_value=0, max_value=2**32 - 1)
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
_CONTENT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "bool_contents": st.booleans(),
    "int_contents": _INT32,
    "int64_contents": _INT64,
    "uint_contents": _UINT32,
    "uint64_contents": _UINT64,
    "fp32_contents": st.floats(width=32),
    "fp64_contents": st.floats(),
    "bytes_contents": st.binary(max_size=5),
}
_PARAMETER = st.one_of(
    st.builds(pb.InferParameter, bool_param=st.booleans()),
    st.builds(pb.InferParameter, int64_param=_INT64),
    st.builds(pb.InferParameter, string_param=st.text(max_size=4)),
    st.builds(pb.InferParameter, double_param=st.floats()),
    st.builds(pb.InferParameter, uint64_param=_UINT64),
    st.just(pb.InferParameter()),
)


@st.composite
def _input_tensor(draw: st.DrawFn) -> Any:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name=draw(st.sampled_from(["", "a", "b"])),
        datatype=draw(DATATYPE_NAMES),
        shape=draw(st.lists(st.integers(min_value=-1, max_value=3) | _INT64, max_size=4)),
    )
    for key, value in draw(
        st.dictionaries(st.sampled_from(["k", "binary_data_size"]), _PARAMETER)
    ).items():
        tensor.parameters[key].CopyFrom(value)
    fields = draw(st.lists(st.sampled_from(sorted(_CONTENT_VALUES)), max_size=2, unique=True))
    for field in fields:
        getattr(tensor.contents, field).extend(draw(st.lists(_CONTENT_VALUES[field], max_size=6)))
    return tensor


@st.composite
def _request_message(draw: st.DrawFn) -> Any:
    msg = pb.ModelInferRequest(model_name="m", id=draw(st.text(max_size=3)))
    msg.inputs.extend(draw(st.lists(_input_tensor(), max_size=3)))
    if draw(st.booleans()):
        msg.raw_input_contents.extend(draw(st.lists(st.binary(max_size=24), max_size=4)))
    for name in draw(st.lists(st.sampled_from(["", "y", "z"]), max_size=3)):
        msg.outputs.add(name=name)
    return msg


def _decode_or_invalid(msg: Any) -> InferenceRequest | None:
    try:
        request = request_from_grpc(msg)
    except InvalidInput as exc:
        assert str(exc)
        return None
    for tensor in request.inputs:
        assert isinstance(tensor.data, np.ndarray)
        assert tensor.data.dtype == DATATYPE_TO_NUMPY[tensor.datatype]
        assert tensor.data.shape == tensor.shape
    return request


@FAST
@given(_request_message())
def test_any_message_is_decoded_or_answered_with_invalid_input(msg: Any) -> None:
    _decode_or_invalid(msg)


@FAST
@given(st.binary(max_size=200))
def test_any_parseable_bytes_are_decoded_or_answered_with_invalid_input(data: bytes) -> None:
    try:
        msg = pb.ModelInferRequest.FromString(data)
    except DecodeError:
        return  # the transport rejects these before our codec sees them
    _decode_or_invalid(msg)


@FAST
@given(typed_arrays(), st.booleans(), st.data())
def test_valid_inputs_survive_and_near_misses_are_caught(
    typed: tuple[str, np.ndarray[Any, Any]], raw: bool, data: st.DataObject
) -> None:
    datatype, arr = typed
    request = InferenceRequest(inputs=[Tensor(name="x", datatype=datatype, data=arr)])
    msg = request_to_grpc(request, model_name="m", raw=raw)
    assert_same(request_from_grpc(msg).inputs[0].data, arr)
    if msg.raw_input_contents:  # one byte more or less is always caught
        blob = msg.raw_input_contents[0]
        msg.raw_input_contents[0] = data.draw(
            st.sampled_from([blob + b"\x00", blob[:-1] if blob else b"\x01"])
        )
    elif arr.size:
        getattr(msg.inputs[0].contents, CONTENTS_FIELD[datatype]).pop()
    else:
        return
    assert _decode_or_invalid(msg) is None
