"""Raw tensor bytes: the layout shared by the REST binary data extension and gRPC raw contents.

Numbers are little-endian, row-major, with no padding; BOOL is one byte per element; each BYTES
element is a 4-byte little-endian length followed by that many bytes. Decoding numbers is
zero-copy: the array is a read-only view on the request body.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.datatypes import DATATYPE_TO_NUMPY, DATATYPES

#: The most dimensions a tensor may have (numpy's own limit is 64).
MAX_DIMS = 32

#: Datatype -> little-endian numpy dtype of its raw layout (BYTES has none).
RAW_DTYPE: dict[str, np.dtype[Any]] = {
    name: dt.newbyteorder("<") for name, dt in DATATYPE_TO_NUMPY.items() if name != "BYTES"
}

#: The most elements a shape may describe (numpy's limit, with room for 16-byte elements).
MAX_ELEMENTS = 2**59

_LENGTH = struct.Struct("<I")
_NATIVE_LITTLE = sys.byteorder == "little"

Buffer = bytes | bytearray | memoryview


def check_datatype(name: str, datatype: object, *, kind: str = "input") -> str:
    """The datatype if it is a known OIP datatype, else InvalidInput listing the valid ones."""
    if type(datatype) is str and datatype in DATATYPES:
        return datatype
    raise InvalidInput(
        f"{kind} {name!r}: unknown datatype {datatype!r}; "
        f"expected one of {', '.join(sorted(DATATYPES))}"
    )


def check_shape(name: str, shape: object, *, kind: str = "input") -> tuple[int, ...]:
    """A concrete shape as a tuple: a list of at most MAX_DIMS integers, each >= 0.

    ``kind`` ("input", "output") names the tensor's role in error messages."""
    if type(shape) is list and len(shape) == 1 and type(shape[0]) is int and shape[0] >= 0:
        return (shape[0],)  # the common case, checked fast
    if not isinstance(shape, Sequence) or isinstance(shape, str | bytes):
        raise InvalidInput(
            f"{kind} {name!r}: 'shape' must be a list of non-negative integers, got {shape!r}"
        )
    if len(shape) > MAX_DIMS:
        raise InvalidInput(
            f"{kind} {name!r}: shape has {len(shape)} dimensions; at most {MAX_DIMS} are supported"
        )
    for dim in shape:
        if type(dim) is not int or dim < 0:
            raise InvalidInput(
                f"{kind} {name!r}: every dimension of 'shape' must be an integer >= 0, "
                f"got {list(shape)!r}"
            )
    if math.prod(d for d in shape if d) > MAX_ELEMENTS:  # numpy refuses even if a dim is 0
        raise InvalidInput(f"{kind} {name!r}: shape {list(shape)} has too many elements")
    return tuple(shape)


def element_count(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def array_from_raw(
    name: str, datatype: str, shape: tuple[int, ...], raw: Buffer, *, kind: str = "input"
) -> np.ndarray[Any, Any]:
    """Decode one tensor's raw bytes; sizes that disagree with the shape are InvalidInput."""
    count = element_count(shape)
    if datatype == "BYTES":
        return _unpack_bytes(name, shape, count, raw, kind)
    dtype = RAW_DTYPE[datatype]
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise InvalidInput(
            f"{kind} {name!r}: {datatype} tensor of shape {list(shape)} needs {expected} bytes "
            f"of binary data, got {len(raw)}"
        )
    if datatype == "BOOL":
        flags: np.ndarray[Any, Any] = np.frombuffer(raw, dtype=np.uint8) != 0
        return flags.reshape(shape)
    arr = np.frombuffer(raw, dtype=dtype)
    if not _NATIVE_LITTLE:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr if len(shape) == 1 else arr.reshape(shape)


def _unpack_bytes(
    name: str, shape: tuple[int, ...], count: int, raw: Buffer, kind: str
) -> np.ndarray[Any, Any]:
    view = memoryview(raw).cast("B") if not isinstance(raw, bytes) else raw
    size = len(view)
    items: list[bytes] = []
    offset = 0
    while offset < size:
        if len(items) == count:
            raise InvalidInput(
                f"{kind} {name!r}: BYTES tensor of shape {list(shape)} holds {count} elements "
                f"but its binary data has more"
            )
        if offset + 4 > size:
            raise InvalidInput(
                f"{kind} {name!r}: BYTES binary data ends inside an element's 4-byte length prefix "
                f"(element {len(items)}, at byte {offset})"
            )
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += 4
        if offset + length > size:
            raise InvalidInput(
                f"{kind} {name!r}: BYTES element {len(items)} declares {length} bytes but only "
                f"{size - offset} remain"
            )
        items.append(bytes(view[offset : offset + length]))
        offset += length
    if len(items) != count:
        raise InvalidInput(
            f"{kind} {name!r}: BYTES tensor of shape {list(shape)} holds {count} elements "
            f"but its binary data has {len(items)}"
        )
    return object_array(items).reshape(shape)


def object_array(items: list[bytes]) -> np.ndarray[Any, Any]:
    """A 1-D object array holding these bytes (np.array would make a fixed-width 'S' array)."""
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def as_bytes(item: object) -> bytes:
    """One BYTES element as bytes: str is UTF-8 encoded, anything else is str()-ed first."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8", "surrogatepass")
    if isinstance(item, bytearray | memoryview | np.bytes_):
        return bytes(item)
    return str(item).encode("utf-8")


def bytes_items(arr: np.ndarray[Any, Any]) -> list[bytes]:
    """The elements of a BYTES tensor (object, 'S' or 'U' array) as bytes, row-major."""
    return [as_bytes(x) for x in np.asarray(arr).reshape(-1).tolist()]


def array_to_raw(name: str, datatype: str, arr: np.ndarray[Any, Any]) -> bytes:
    """Encode one output tensor's elements in the raw layout."""
    if datatype == "BYTES":
        parts: list[bytes] = []
        for item in bytes_items(arr):
            parts.append(_LENGTH.pack(len(item)))
            parts.append(item)
        return b"".join(parts)
    dtype = RAW_DTYPE.get(datatype)
    if dtype is None:
        raise PredictionFailed(f"output {name!r} has unknown datatype {datatype!r}")
    try:
        return np.ascontiguousarray(arr, dtype=dtype).tobytes()
    except (TypeError, ValueError, OverflowError) as exc:
        raise PredictionFailed(f"output {name!r} cannot be encoded as {datatype}: {exc}") from None


def output_array(name: str, datatype: str, arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A numeric output as a flat C-contiguous array of its datatype's dtype."""
    want = DATATYPE_TO_NUMPY.get(datatype)
    if want is None or datatype == "BYTES":
        raise PredictionFailed(f"output {name!r} has unknown numeric datatype {datatype!r}")
    arr = np.asarray(arr)
    if arr.dtype != want:
        try:
            arr = arr.astype(want)
        except (TypeError, ValueError, OverflowError) as exc:
            raise PredictionFailed(
                f"output {name!r} cannot be encoded as {datatype}: {exc}"
            ) from None
    return arr.reshape(-1)
