"""The gRPC codec: ``ModelInferRequest`` / ``ModelInferResponse`` messages to and from our types.

Tensor data travels either as typed ``contents`` or as ``raw_*_contents`` (one entry per tensor,
in order, in the layout of ``modelport.protocol.raw``). Requests are validated as strictly as
REST bodies: whatever a message holds, the only error is ``InvalidInput``. Responses use raw
contents by default, like Triton; FP16 has no typed field, so any FP16 output makes the whole
response raw. Parameters map to ``InferParameter``: bool, int64 (uint64 above the int64 range),
double and string; any other value (list, dict, null) travels as its JSON text.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import orjson

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import DATATYPE_TO_NUMPY
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.raw import (
    array_from_raw,
    array_to_raw,
    bytes_items,
    check_datatype,
    check_shape,
    element_count,
    object_array,
    output_array,
)
from modelport.protocol.types import (
    InferenceRequest,
    InferenceResponse,
    Parameters,
    RequestedOutput,
    Tensor,
)

__all__ = [
    "parameters_from_grpc",
    "parameters_to_grpc",
    "request_from_grpc",
    "request_to_grpc",
    "response_from_grpc",
    "response_to_grpc",
]

#: Datatype -> the InferTensorContents field that carries it (FP16 has none).
CONTENTS_FIELD: dict[str, str] = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_NARROW = {
    d: (int(np.iinfo(t).min), int(np.iinfo(t).max))  # type: ignore[type-var]
    for d, t in DATATYPE_TO_NUMPY.items()
    if d in ("INT8", "INT16", "UINT8", "UINT16")
}
_INT64 = (-(2**63), 2**63 - 1)


def request_from_grpc(msg: Any) -> InferenceRequest:
    """Decode a ``ModelInferRequest``; model name and version stay on the message."""
    inputs = _tensors_from_grpc(msg.inputs, msg.raw_input_contents, "input")
    if not inputs:
        raise InvalidInput("request has no inputs; send at least one InferInputTensor")
    outputs = [
        RequestedOutput(
            name=_name(o.name, i, "outputs"),
            parameters=parameters_from_grpc(o.parameters),
        )
        for i, o in enumerate(msg.outputs)
    ]
    _unique([o.name for o in outputs], "requested output")
    return InferenceRequest(
        inputs=inputs,
        id=msg.id or None,
        parameters=parameters_from_grpc(msg.parameters),
        outputs=outputs or None,
    )


def response_to_grpc(resp: InferenceResponse, *, raw: bool = True) -> Any:
    """Encode a ``ModelInferResponse``; ``raw=False`` uses typed contents where it can."""
    msg = pb.ModelInferResponse(
        model_name=resp.model_name, model_version=resp.model_version or "", id=resp.id or ""
    )
    parameters_to_grpc(resp.parameters, msg.parameters)
    _tensors_to_grpc(resp.outputs, msg.outputs, msg.raw_output_contents, raw, "output")
    return msg


def request_to_grpc(
    request: InferenceRequest, *, model_name: str, model_version: str = "", raw: bool = True
) -> Any:
    """Encode a ``ModelInferRequest`` (for clients, shadow traffic and tests)."""
    msg = pb.ModelInferRequest(
        model_name=model_name, model_version=model_version, id=request.id or ""
    )
    parameters_to_grpc(request.parameters, msg.parameters)
    _tensors_to_grpc(request.inputs, msg.inputs, msg.raw_input_contents, raw, "input")
    for out in request.outputs or ():
        parameters_to_grpc(out.parameters, msg.outputs.add(name=out.name).parameters)
    return msg


def response_from_grpc(msg: Any) -> InferenceResponse:
    """Decode a ``ModelInferResponse`` (for clients and tests), validated like a request."""
    return InferenceResponse(
        model_name=msg.model_name,
        model_version=msg.model_version or None,
        id=msg.id or None,
        parameters=parameters_from_grpc(msg.parameters),
        outputs=_tensors_from_grpc(msg.outputs, msg.raw_output_contents, "output"),
    )


def _tensors_from_grpc(tensors: Sequence[Any], raw: Sequence[bytes], kind: str) -> list[Tensor]:
    raw = list(raw)  # one copy out of the message, not one per access
    if raw and len(raw) != len(tensors):
        raise InvalidInput(
            f"message has {len(tensors)} {kind}s but {len(raw)} raw_{kind}_contents entries; "
            f"send one raw entry per {kind}, in the same order"
        )
    out: list[Tensor] = []
    for index, tensor in enumerate(tensors):
        name = _name(tensor.name, index, f"{kind}s")
        datatype = check_datatype(name, tensor.datatype, kind=kind)
        shape = check_shape(name, tensor.shape[:], kind=kind)
        if raw:
            if tensor.HasField("contents") and tensor.contents.ListFields():
                raise InvalidInput(
                    f"{kind} {name!r} has typed contents but the message uses "
                    f"raw_{kind}_contents; when raw contents are used, no {kind} may carry both"
                )
            data = array_from_raw(name, datatype, shape, raw[index], kind=kind)
        else:
            data = _from_contents(name, datatype, shape, tensor.contents, kind)
        params = parameters_from_grpc(tensor.parameters) if tensor.parameters else {}
        out.append(Tensor(name=name, datatype=datatype, data=data, parameters=params))
    if len(out) > 1:
        _unique([t.name for t in out], kind)
    return out


def _from_contents(
    name: str, datatype: str, shape: tuple[int, ...], contents: Any, kind: str
) -> np.ndarray[Any, Any]:
    count = element_count(shape)
    field = CONTENTS_FIELD.get(datatype)
    for descriptor, _ in contents.ListFields():
        if descriptor.name != field:
            where = f"in {field}" if field else f"in raw_{kind}_contents (it has no typed field)"
            raise InvalidInput(
                f"{kind} {name!r}: {datatype} contents go {where}, got {descriptor.name}"
            )
    values = getattr(contents, field) if field else ()
    if len(values) != count:
        raise InvalidInput(
            f"{kind} {name!r}: shape {list(shape)} holds {count} elements but "
            f"{field or 'contents'} has {len(values)}"
        )
    if datatype == "BYTES":
        return object_array(list(values)).reshape(shape)
    limits = _NARROW.get(datatype)
    if limits is not None and count and not limits[0] <= min(values) <= max(values) <= limits[1]:
        bad = next(v for v in values if not limits[0] <= v <= limits[1])
        raise InvalidInput(
            f"{kind} {name!r}: value {bad} is out of range for {datatype} "
            f"({limits[0]} to {limits[1]})"
        )
    return np.array(values, dtype=DATATYPE_TO_NUMPY[datatype]).reshape(shape)


def _tensors_to_grpc(
    tensors: Sequence[Tensor], target: Any, raw_target: Any, raw: bool, kind: str
) -> None:
    raw = raw or any(t.datatype == "FP16" for t in tensors)
    for tensor in tensors:
        entry = target.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.shape)
        parameters_to_grpc(tensor.parameters, entry.parameters)
        if raw:
            raw_target.append(array_to_raw(tensor.name, tensor.datatype, tensor.data))
        elif tensor.datatype == "BYTES":
            entry.contents.bytes_contents.extend(bytes_items(tensor.data))
        else:
            flat = output_array(tensor.name, tensor.datatype, tensor.data)
            getattr(entry.contents, CONTENTS_FIELD[tensor.datatype]).extend(flat.tolist())


def parameters_from_grpc(params: Mapping[str, Any]) -> Parameters:
    """An ``InferParameter`` map as a plain dict (an unset value becomes None)."""
    out: Parameters = {}
    for key, param in params.items():
        which = param.WhichOneof("parameter_choice")
        out[key] = getattr(param, which) if which else None
    return out


def parameters_to_grpc(params: Mapping[str, Any], target: MutableMapping[str, Any]) -> None:
    """Fill an ``InferParameter`` map from a plain dict."""
    for key, value in params.items():
        param = target[key]
        if isinstance(value, bool):
            param.bool_param = value
        elif isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
            param.int64_param = value
        elif isinstance(value, int) and 0 <= value < 2**64:
            param.uint64_param = value
        elif isinstance(value, float):
            param.double_param = value
        elif isinstance(value, str):
            param.string_param = value
        elif isinstance(value, int):  # beyond 64 bits
            param.string_param = str(value)
        else:
            param.string_param = orjson.dumps(value, default=str).decode()


def _name(name: str, index: int, where: str) -> str:
    if not name:
        raise InvalidInput(f"{where}[{index}] has no name")
    return name


def _unique(names: list[str], kind: str) -> None:
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"{kind} names must be unique; repeated: {dupes}")
