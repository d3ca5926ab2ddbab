"""Open Inference Protocol datatypes and their numpy counterparts."""

from __future__ import annotations

import numpy as np

from modelport.errors import InvalidInput

#: OIP datatype name -> numpy dtype. BYTES tensors are numpy object arrays of ``bytes``.
DATATYPE_TO_NUMPY: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype(np.bool_),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}

_NUMPY_TO_DATATYPE: dict[np.dtype[np.generic], str] = {v: k for k, v in DATATYPE_TO_NUMPY.items()}

DATATYPES = frozenset(DATATYPE_TO_NUMPY)


def numpy_dtype(datatype: str) -> np.dtype[np.generic]:
    """The numpy dtype of an OIP datatype, or InvalidInput naming the valid ones."""
    try:
        return DATATYPE_TO_NUMPY[datatype]
    except KeyError:
        raise InvalidInput(
            f"unknown datatype {datatype!r}; expected one of {', '.join(sorted(DATATYPES))}"
        ) from None


def oip_datatype(dtype: np.dtype[np.generic]) -> str:
    """The OIP datatype of a numpy dtype; strings and bytes map to BYTES."""
    found = _NUMPY_TO_DATATYPE.get(dtype)
    if found is not None:
        return found
    if dtype.kind in ("U", "S", "O"):
        return "BYTES"
    raise InvalidInput(f"numpy dtype {dtype} has no Open Inference Protocol datatype")
