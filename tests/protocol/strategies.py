"""Hypothesis strategies shared by the codec property tests: near-valid and hostile requests."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelport.protocol.datatypes import DATATYPE_TO_NUMPY, DATATYPES

#: Raise MODELPORT_HYPOTHESIS_EXAMPLES for a deeper hunt than the default run.
EXAMPLES = int(os.environ.get("MODELPORT_HYPOTHESIS_EXAMPLES", "200"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every datatype, plus names a careless client might send.
DATATYPE_NAMES = st.sampled_from([*sorted(DATATYPES), "FP128", "fp32", "", "STRING"])

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4)
)

JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)

DIMS = st.integers(min_value=0, max_value=3) | st.integers(min_value=-2, max_value=2**65)
SHAPES = st.lists(DIMS, max_size=4) | st.lists(st.just(1), min_size=30, max_size=40) | JSON_VALUES
ELEMENTS = (
    st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(width=64)
    | st.booleans()
    | st.text(max_size=3)
    | st.none()
)
DATA = st.recursive(st.lists(ELEMENTS, max_size=6), lambda inner: st.lists(inner, max_size=3))
PARAMETERS = (
    st.dictionaries(st.sampled_from(["binary_data_size", "binary_data", "x"]), JSON_SCALARS)
    | JSON_VALUES
)


_ROLLS = ["valid"] * 12 + ["junk", "missing"]


def _mostly(draw: st.DrawFn, valid: Any, junk: st.SearchStrategy[Any]) -> Any:
    """Usually the valid value; sometimes junk, or ``...`` meaning the field is left out."""
    roll = draw(st.sampled_from(_ROLLS))
    if roll == "junk":
        return draw(junk)
    return ... if roll == "missing" else valid


def json_data(datatype: str, arr: np.ndarray[Any, Any]) -> list[Any]:
    """An array as V2 JSON ``data``, flat."""
    values: list[Any] = arr.reshape(-1).tolist()
    return [v.decode() for v in values] if datatype == "BYTES" else values


@st.composite
def near_valid_input(draw: st.DrawFn) -> dict[str, Any]:
    """A valid input with, now and then, one field or one element gone wrong."""
    datatype, arr = draw(typed_arrays(utf8_bytes=True))
    data = json_data(datatype, arr)
    if data and draw(st.integers(min_value=0, max_value=4)) == 0:
        data[draw(st.integers(0, len(data) - 1))] = draw(ELEMENTS)
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        data = np.array(data, dtype=object).reshape(arr.shape).tolist() if arr.ndim else data
    fields = {
        "name": _mostly(draw, draw(st.sampled_from(["a", "b", "c"])), JSON_VALUES),
        "datatype": _mostly(draw, datatype, DATATYPE_NAMES | JSON_VALUES),
        "shape": _mostly(draw, list(arr.shape), SHAPES),
        "data": _mostly(draw, data, DATA | JSON_VALUES),
        "parameters": _mostly(draw, {}, PARAMETERS),
    }
    return {k: v for k, v in fields.items() if v is not ...}


@st.composite
def near_valid_request(draw: st.DrawFn) -> dict[str, Any]:
    inputs = draw(st.lists(near_valid_input(), min_size=1, max_size=4))
    outputs = draw(
        st.lists(st.fixed_dictionaries({"name": st.sampled_from(["y", "z"])}), max_size=2)
    )
    fields = {
        "inputs": _mostly(draw, inputs, JSON_VALUES),
        "id": _mostly(draw, draw(st.text(max_size=3)), JSON_VALUES),
        "outputs": _mostly(draw, outputs, JSON_VALUES),
        "parameters": _mostly(draw, {}, PARAMETERS),
    }
    return {k: v for k, v in fields.items() if v is not ...}


@st.composite
def typed_arrays(draw: st.DrawFn, *, utf8_bytes: bool = False) -> tuple[str, np.ndarray[Any, Any]]:
    """A datatype and a valid array of it (finite numbers; BYTES as an object array)."""
    datatype = draw(st.sampled_from(sorted(DATATYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    if datatype == "BYTES":
        items = st.text(max_size=4).map(str.encode) if utf8_bytes else st.binary(max_size=6)
        size = int(np.prod(shape))
        values = draw(st.lists(items, min_size=size, max_size=size))
        arr = np.empty(size, dtype=object)
        arr[:] = values
        return datatype, arr.reshape(shape)
    dtype = DATATYPE_TO_NUMPY[datatype]
    elements = hnp.from_dtype(dtype, allow_nan=False, allow_infinity=False)
    return datatype, draw(hnp.arrays(dtype, shape, elements=elements))
