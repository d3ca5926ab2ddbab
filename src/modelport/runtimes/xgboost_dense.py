"""XGBoost's C prediction entry point, called without the Python wrapper's per-call work.

``Booster.inplace_predict`` spends about as long in Python as the C library spends predicting
a single row of a 200-tree model (it re-serialises its arguments to JSON, inspects the input
for a dozen container types and builds ctypes views of the result on every call). A serving
runtime knows its input is a float32 numpy matrix, so it calls ``XGBoosterPredictFromDense``
(part of XGBoost's stable C API) with arguments serialised once, and copies the result out of
the booster's thread-local buffer. The call releases the GIL like the wrapper's does. Anything
unexpected (a build without the symbol, an XGBoost whose Python module moved) leaves the
runtime on ``inplace_predict``.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

import numpy as np

from modelport.errors import PredictionFailed
from modelport.runtimes.base import Array

__all__ = ["DensePredictor"]

_ULONG = ctypes.c_uint64
"""``bst_ulong`` of XGBoost's C API."""


class DensePredictor:
    """``predict(matrix, margin)`` for one booster, on float32 C-contiguous rows."""

    __slots__ = ("_args", "_booster", "_error", "_lib")

    def __init__(self, booster: Any) -> None:
        from xgboost import core  # the library XGBoost already loaded, not opened again

        self._booster = booster  # keeps the handle alive
        self._lib = core._LIB
        self._error = core._LIB.XGBGetLastError
        self._error.restype = ctypes.c_char_p
        self._lib.XGBoosterPredictFromDense  # noqa: B018 - AttributeError when absent
        self._args = tuple(_args(margin) for margin in (False, True))

    def __call__(self, matrix: Array, *, margin: bool = False) -> Array:
        data = matrix
        if data.dtype != np.float32 or not data.flags.c_contiguous or not data.flags.aligned:
            # XGBoost refuses a misaligned pointer (a binary tensor at an odd body offset)
            data = np.array(data, dtype=np.float32, order="C")
        rows, cols = data.shape
        interface = b'{"data":[%d,true],"shape":[%d,%d],"typestr":"<f4","version":3}' % (
            data.ctypes.data, rows, cols)
        shape = ctypes.POINTER(_ULONG)()
        dims = _ULONG()
        preds = ctypes.POINTER(ctypes.c_float)()
        status = self._lib.XGBoosterPredictFromDense(
            self._booster.handle, interface, self._args[margin], None, ctypes.byref(shape),
            ctypes.byref(dims), ctypes.byref(preds))
        if status != 0:
            message = (self._error() or b"").decode("utf-8", "replace").strip()
            raise PredictionFailed(
                f"XGBoost failed to predict: {message.splitlines()[0] if message else status}")
        out_shape = tuple(int(shape[i]) for i in range(dims.value))
        out: Array = np.empty(out_shape, dtype=np.float32)
        ctypes.memmove(out.ctypes.data, preds, out.nbytes)  # the buffer is reused next call
        return out


def _args(margin: bool) -> bytes:
    """The prediction arguments as ``inplace_predict`` sends them, serialised once."""
    return json.dumps({
        "type": 1 if margin else 0, "training": False, "iteration_begin": 0,
        "iteration_end": 0, "missing": float("nan"), "strict_shape": False, "cache_id": 0,
    }).encode()
