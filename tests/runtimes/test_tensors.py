from __future__ import annotations

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.protocol.signature import TensorSpec
from modelport.runtimes.tensors import as_bytes, as_strings, conform, ordered_inputs

SPECS = (
    TensorSpec(name="x", datatype="FP32", shape=(-1, 2)),
    TensorSpec(name="n", datatype="INT64", shape=(-1,)),
)


def test_ordered_inputs_follow_the_signature_and_cast() -> None:
    x, n = ordered_inputs(SPECS, {"n": np.array([1, 2], dtype=np.int32), "x": np.zeros((2, 2))})
    assert x.dtype == np.float32 and n.dtype == np.int64


def test_lossy_or_foreign_casts_are_refused() -> None:
    with pytest.raises(InvalidInput, match="holds float64 values but the model expects INT64"):
        conform(SPECS[1], np.array([1.5]))
    with pytest.raises(InvalidInput, match=r"shape \[2\] but the model expects \[-1, 2\]"):
        conform(SPECS[0], np.zeros(2))
    with pytest.raises(InvalidInput, match=r"missing \['n'\], unknown \['m'\]"):
        ordered_inputs(SPECS, {"x": np.zeros((1, 2)), "m": np.zeros(1)})


def test_strings_and_bytes_round_trip() -> None:
    raw = np.array([[b"caf\xc3\xa9"], [b"x"]], dtype=object)
    text = as_strings(raw)
    assert text.shape == (2, 1) and text[0, 0] == "café"
    assert as_strings(np.array(["a", "b"])).tolist() == ["a", "b"]
    assert as_strings(np.array([b"a"], dtype="S1")).tolist() == ["a"]
    assert as_bytes(text).tolist() == raw.tolist()
    assert conform(TensorSpec(name="t", datatype="BYTES", shape=(-1,)), [b"a"]).tolist() == ["a"]
