"""The REST codec: V2 JSON bodies, with the binary tensor data extension, to and from our types.

Request decoding trusts nothing: every malformed body raises ``InvalidInput`` naming the input,
what was expected and what came, and nothing else ever escapes. Numeric ``data`` is converted
by numpy after a cheap type check, all inputs of one datatype in one call, so the common
one-feature-per-input request pays almost no per-element Python work. ``data`` may be flat or
nested (row-major, no deeper than the shape's rank); only its element count must match the
shape. Types are strict: numbers for FP*, integers in range for (U)INT*, true/false for BOOL,
strings for BYTES. Binary inputs are zero-copy, read-only views on the request body.

BYTES elements travel in JSON as strings; decoded, they are ``bytes`` in an object array. An
output element that is not valid UTF-8 is written with Python's ``backslashreplace`` escapes
(``b"\\xff"`` becomes ``"\\\\xff"``); ask for that output in binary to get the exact bytes.
NaN and infinity in numeric outputs are written as ``null`` (JSON has no such numbers).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import numpy as np
import orjson

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import DATATYPE_TO_NUMPY
from modelport.protocol.metadata import model_metadata, server_metadata
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
    "HEADER_LENGTH",
    "decode_request",
    "encode_error",
    "encode_response",
    "model_metadata",
    "parse_header_length",
    "requested_binary_outputs",
    "server_metadata",
]

#: The HTTP header carrying the JSON part's length when binary tensor data follows it.
HEADER_LENGTH = "Inference-Header-Content-Length"

_FLOATS = frozenset({int, float})
_INTS = frozenset({int})
_BOOLS = frozenset({bool})
_STRS = frozenset({str})
_KIND: dict[str, frozenset[type]] = {"BOOL": _BOOLS, "BYTES": _STRS}
_KIND.update({d: _FLOATS for d in ("FP16", "FP32", "FP64")})
_KIND.update({d: _INTS for d in DATATYPE_TO_NUMPY if "INT" in d})
_MISSING = object()
_PLACEHOLDER: np.ndarray[Any, Any] = np.empty(0)
_SMALL_FLOATS = (("FP16", np.float16), ("FP32", np.float32))
_WANTED = {_FLOATS: "numbers", _INTS: "integers", _BOOLS: "true/false", _STRS: "strings"}
#: Inclusive value ranges checked before conversion (integers exactly, so 2**63 fails INT64).
_LIMITS: dict[str, tuple[int | float, int | float]] = {
    d: (int(np.iinfo(t).min), int(np.iinfo(t).max))  # type: ignore[type-var]
    for d, t in DATATYPE_TO_NUMPY.items()
    if "INT" in d
}
_LIMITS.update({d: (-float(np.finfo(t).max), float(np.finfo(t).max)) for d, t in _SMALL_FLOATS})


def parse_header_length(value: str | None) -> int | None:
    """The ``Inference-Header-Content-Length`` header as an int (None when absent)."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{HEADER_LENGTH} must be a whole number of bytes, got {value!r}"
        ) from None


def decode_request(body: bytes, *, header_length: int | None = None) -> InferenceRequest:
    """Parse a V2 inference request body; binary tensor data follows the JSON when
    ``header_length`` (the ``Inference-Header-Content-Length`` header) is given."""
    view = memoryview(body)
    binary = _BinarySection(view, header_length)
    try:
        doc = orjson.loads(view[: binary.start] if header_length is not None else view)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if header_length is None and "after document" in str(exc):
            hint = f"; if binary tensor data follows the JSON, send {HEADER_LENGTH}"
        raise InvalidInput(f"request body is not valid JSON: {exc}{hint}") from None
    if type(doc) is not dict:
        raise InvalidInput(
            f"request body must be a JSON object with an 'inputs' list, got {_show(doc)}"
        )
    request_id = doc.get("id")
    if request_id is not None and type(request_id) is not str:
        raise InvalidInput(f"request 'id' must be a string, got {_show(request_id)}")
    items = doc.get("inputs")
    if type(items) is not list or not items:
        raise InvalidInput(
            "request needs 'inputs': a non-empty list of "
            f'{{"name", "shape", "datatype", "data"}} objects, got {_show(items)}'
        )
    inputs = _decode_inputs(items, binary)
    binary.finish()
    if len(inputs) > 1 and len({t.name for t in inputs}) != len(inputs):
        names = [t.name for t in inputs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"input names must be unique; repeated: {dupes}")
    return InferenceRequest(
        inputs=inputs,
        id=request_id,
        parameters=_parameters(doc.get("parameters"), "request"),
        outputs=_decode_outputs(doc.get("outputs")),
    )


class _BinarySection:
    """The bytes after the JSON header, handed out to binary inputs in order."""

    def __init__(self, view: memoryview, header_length: int | None) -> None:
        if header_length is not None and (
            type(header_length) is not int or not 0 <= header_length <= len(view)
        ):
            raise InvalidInput(
                f"{HEADER_LENGTH} is {header_length!r} but the body has {len(view)} bytes"
            )
        self.present = header_length is not None
        self.start = header_length if header_length is not None else len(view)
        self.view = view
        self.offset = self.start

    def take(self, name: str, size: object) -> memoryview:
        if type(size) is not int or size < 0:
            raise InvalidInput(
                f"input {name!r}: parameter binary_data_size must be an integer >= 0, "
                f"got {_show(size)}"
            )
        if not self.present:
            raise InvalidInput(
                f"input {name!r} declares binary_data_size but the request has no "
                f"{HEADER_LENGTH} header saying where the JSON ends and binary data begins"
            )
        left = len(self.view) - self.offset
        if size > left:
            raise InvalidInput(
                f"input {name!r} declares binary_data_size {size} but only {left} bytes of "
                f"binary data remain"
            )
        chunk = self.view[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def finish(self) -> None:
        left = len(self.view) - self.offset
        if left:
            raise InvalidInput(
                f"{left} bytes of binary data after the JSON header were not claimed by any "
                f"input's binary_data_size; check {HEADER_LENGTH} and the sizes"
            )


def _decode_inputs(items: list[Any], binary: _BinarySection) -> list[Tensor]:
    """Decode every input; the JSON numbers of one datatype convert in a single numpy call."""
    tensors: list[Tensor] = []
    groups: dict[str, _Group] = {}
    for index, item in enumerate(items):
        tensor, flat, shape = _decode_input(index, item, binary)
        tensors.append(tensor)
        if flat is not None:
            group = groups.get(tensor.datatype)
            if group is None:
                groups[tensor.datatype] = group = _Group()
            group.add(tensor, flat, shape)
    for datatype, group in groups.items():
        group.convert(datatype)
    return tensors


class _Group:
    """The JSON inputs of one numeric datatype, their values gathered in one flat list."""

    __slots__ = ("members", "same_shape", "values")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.members: list[tuple[Tensor, list[Any], tuple[int, ...]]] = []
        self.same_shape = True

    def add(self, tensor: Tensor, flat: list[Any], shape: tuple[int, ...]) -> None:
        if self.members and self.members[0][2] != shape:
            self.same_shape = False
        self.members.append((tensor, flat, shape))
        self.values.extend(flat)

    def convert(self, datatype: str) -> None:
        values = self.values
        if not set(map(type, values)) <= _KIND[datatype] or not _in_range(datatype, values):
            for tensor, flat, _ in self.members:  # slow path: find the input to blame
                _check_elements(tensor.name, datatype, flat)
        arr = np.array(values, dtype=DATATYPE_TO_NUMPY[datatype])
        shape = self.members[0][2]
        if self.same_shape and shape:  # e.g. one [1] input per feature: views made in C
            for (tensor, _, _), piece in zip(
                self.members, arr.reshape((len(self.members), *shape)), strict=True
            ):
                tensor.data = piece
            return
        offset = 0
        for tensor, flat, shape in self.members:
            tensor.data = arr[offset : offset + len(flat)].reshape(shape)
            offset += len(flat)


def _decode_input(
    index: int, item: object, binary: _BinarySection
) -> tuple[Tensor, list[Any] | None, tuple[int, ...]]:
    """The tensor, its flat JSON numbers when they still await conversion, and its shape."""
    if type(item) is not dict:
        raise InvalidInput(
            f"inputs[{index}] must be an object with name, shape, datatype and data, "
            f"got {_show(item)}"
        )
    name = item.get("name")
    if type(name) is not str:
        raise InvalidInput(f"inputs[{index}]: 'name' must be a string, got {_show(name)}")
    datatype = check_datatype(name, item.get("datatype"))
    shape = check_shape(name, item.get("shape"))
    params = item.get("parameters")
    if params is None:
        params = {}
    elif type(params) is not dict:
        raise InvalidInput(
            f"input {name!r}: 'parameters' must be a JSON object, got {_show(params)}"
        )
    elif "binary_data_size" in params:
        if "data" in item:
            raise InvalidInput(
                f"input {name!r} has both 'data' and parameter binary_data_size; send one"
            )
        params = dict(params)
        chunk = binary.take(name, params.pop("binary_data_size"))
        arr = array_from_raw(name, datatype, shape, chunk)
        return Tensor(name=name, datatype=datatype, data=arr, parameters=params), None, shape
    data = item.get("data", _MISSING)
    if type(data) is not list:
        if data is _MISSING:
            raise InvalidInput(
                f"input {name!r} has no 'data' (and no binary_data_size parameter pointing to "
                f"binary data)"
            )
        raise InvalidInput(
            f"input {name!r}: 'data' must be a list (flat or nested, row-major), got {_show(data)}"
        )
    count = element_count(shape)
    flat: list[Any] = data
    if len(data) != count or (data and type(data[0]) is list):
        flat = []
        _flatten(name, data, flat, len(shape))
        if len(flat) != count:
            raise InvalidInput(
                f"input {name!r}: shape {list(shape)} holds {count} elements but 'data' has "
                f"{len(flat)}"
            )
    tensor = Tensor(name=name, datatype=datatype, data=_PLACEHOLDER, parameters=params)
    if datatype == "BYTES":
        _check_elements(name, datatype, flat)
        encoded = [s.encode("utf-8", "surrogatepass") for s in flat]
        tensor.data = object_array(encoded).reshape(shape)
        return tensor, None, shape
    return tensor, flat, shape


def _in_range(datatype: str, flat: list[Any]) -> bool:
    limits = _LIMITS.get(datatype)
    return limits is None or not flat or (limits[0] <= min(flat) and max(flat) <= limits[1])


def _check_elements(name: str, datatype: str, flat: list[Any]) -> None:
    allowed = _KIND[datatype]
    for x in flat:
        if type(x) not in allowed:
            raise InvalidInput(
                f"input {name!r}: {datatype} data must be {_WANTED[allowed]}, got {_show(x)}"
            )
    if not _in_range(datatype, flat):
        low, high = _LIMITS[datatype]
        bad = next(x for x in flat if not low <= x <= high)
        raise InvalidInput(
            f"input {name!r}: value {bad} is out of range for {datatype} "
            f"({_number(low)} to {_number(high)})"
        )


def _flatten(name: str, data: list[Any], out: list[Any], depth_left: int) -> None:
    """Row-major flattening of nested lists, no deeper than the shape's rank."""
    if depth_left <= 0:
        raise InvalidInput(f"input {name!r}: 'data' is nested deeper than its shape's rank")
    for x in data:
        if type(x) is list:
            _flatten(name, x, out, depth_left - 1)
        else:
            out.append(x)


def _decode_outputs(items: object) -> list[RequestedOutput] | None:
    if items is None:
        return None
    if type(items) is not list:
        raise InvalidInput(
            f"request 'outputs' must be a list of {{\"name\"}} objects, got {_show(items)}"
        )
    outputs: list[RequestedOutput] = []
    for i, item in enumerate(items):
        name = item.get("name") if type(item) is dict else None
        if type(name) is not str:
            raise InvalidInput(
                f"outputs[{i}] must be an object with a string 'name', got {_show(item)}"
            )
        params = _parameters(item.get("parameters"), f"requested output {name!r}")
        outputs.append(RequestedOutput(name=name, parameters=params))
    names = [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise InvalidInput(f"requested output names must be unique, got {names}")
    return outputs or None


def _parameters(value: object, where: str) -> Parameters:
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidInput(f"{where}: 'parameters' must be a JSON object, got {_show(value)}")
    return value


def requested_binary_outputs(request: InferenceRequest) -> set[str] | bool:
    """Which outputs the caller wants as binary data: all of them when the request parameter
    ``binary_data_output`` is true, else those whose parameter ``binary_data`` is true."""
    if request.parameters.get("binary_data_output") is True:
        return True
    return {o.name for o in request.outputs or () if o.parameters.get("binary_data") is True}


def encode_response(
    response: InferenceResponse, *, binary_outputs: Set[str] | bool = False
) -> tuple[bytes, int | None]:
    """The JSON body, and the header length to send as ``Inference-Header-Content-Length``
    (None when no output is binary, so the body is plain JSON)."""
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for tensor in response.outputs:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(np.shape(tensor.data)),
        }
        params = tensor.parameters
        if binary_outputs is True or (
            binary_outputs is not False and tensor.name in binary_outputs
        ):
            raw = array_to_raw(tensor.name, tensor.datatype, tensor.data)
            chunks.append(raw)
            params = {**params, "binary_data_size": len(raw)}
        elif tensor.datatype == "BYTES":
            entry["data"] = [
                b.decode("utf-8", "backslashreplace") for b in bytes_items(tensor.data)
            ]
        else:
            entry["data"] = output_array(tensor.name, tensor.datatype, tensor.data)
        if params:
            entry["parameters"] = params
        outputs.append(entry)
    doc: dict[str, Any] = {"model_name": response.model_name}
    if response.model_version is not None:
        doc["model_version"] = response.model_version
    if response.id is not None:
        doc["id"] = response.id
    if response.parameters:
        doc["parameters"] = response.parameters
    doc["outputs"] = outputs
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return b"".join([header, *chunks]), len(header)


def encode_error(message: str) -> bytes:
    """The V2 error body: ``{"error": "..."}``."""
    return orjson.dumps({"error": message})


def _show(value: object) -> str:
    """A JSON value as the caller wrote it, short, with its JSON type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    kind = {str: "string", dict: "object", list: "list", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
    try:
        shown = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return f"a deeply nested {kind}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} ({kind})"


def _number(x: int | float) -> str:
    return str(x) if isinstance(x, int) else f"{x:.8g}"
