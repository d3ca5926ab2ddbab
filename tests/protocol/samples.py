"""One sample tensor per OIP datatype, with edge values, shared by the codec tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.protocol.raw import object_array


def _bytes(items: list[bytes], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    return object_array(items).reshape(shape)


SAMPLES: dict[str, np.ndarray[Any, Any]] = {
    "BOOL": np.array([[True, False], [False, True]]),
    "INT8": np.array([-128, 127, 0, 5], dtype=np.int8),
    "INT16": np.array([[-32768], [32767]], dtype=np.int16),
    "INT32": np.array([-(2**31), 2**31 - 1, 7], dtype=np.int32),
    "INT64": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
    "UINT8": np.array([0, 255], dtype=np.uint8),
    "UINT16": np.array([0, 65535], dtype=np.uint16),
    "UINT32": np.array([0, 2**32 - 1], dtype=np.uint32),
    "UINT64": np.array([0, 2**64 - 1], dtype=np.uint64),
    "FP16": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
    "FP32": np.array([[0.1, -1.5e38], [3.0, 0.0]], dtype=np.float32),
    "FP64": np.array([1e-300, -2.5, 1.7976931348623157e308], dtype=np.float64),
    "BYTES": _bytes([b"hello", b"", "caf\u00e9".encode(), b"a b"], (2, 2)),
}

#: Bytes that are not valid UTF-8 travel only in binary form.
BINARY_ONLY_BYTES = _bytes([b"\xff\x00\xfe", b"ok"], (2,))


def assert_same(got: np.ndarray[Any, Any], want: np.ndarray[Any, Any]) -> None:
    """Equal shape, dtype and elements (object arrays compared element by element)."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype == object:
        assert [bytes(x) for x in got.reshape(-1)] == list(want.reshape(-1))
    else:
        np.testing.assert_array_equal(got, want)
