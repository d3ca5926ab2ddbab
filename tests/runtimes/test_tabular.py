from __future__ import annotations

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.tabular import (
    ColumnStacker,
    binary_proba,
    classifier_result,
    feature_names,
    softmax,
)

OUT = (TensorSpec(name="predict", datatype="FP32", shape=(-1,)),)


def test_stacker_orders_columns_by_model_not_by_request() -> None:
    stack = ColumnStacker(("a", "b"), np.dtype(np.float32))
    out = stack({"b": np.array([3.0, 4.0]), "a": np.array([1, 2])})
    assert out.dtype == np.float32
    assert out.tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_stacker_accepts_single_column_matrices() -> None:
    stack = ColumnStacker(("a",), np.dtype(np.float64))
    assert stack({"a": np.array([[1.0], [2.0]])}).shape == (2, 1)


def test_stacker_names_missing_and_unknown_inputs() -> None:
    stack = ColumnStacker(("a", "b"), np.dtype(np.float64))
    with pytest.raises(InvalidInput) as info:
        stack({"a": np.zeros(2), "z": np.zeros(2)})
    assert "missing inputs [b]" in info.value.message
    assert "unknown inputs [z]" in info.value.message
    assert info.value.details == {"missing": ["b"], "unknown": ["z"]}


def test_stacker_refuses_ragged_rows_wide_columns_and_text() -> None:
    stack = ColumnStacker(("a", "b"), np.dtype(np.float64))
    with pytest.raises(InvalidInput, match="'b' has 3 rows but 'a' has 2"):
        stack({"a": np.zeros(2), "b": np.zeros(3)})
    with pytest.raises(InvalidInput, match=r"one column of shape \[rows\]"):
        stack({"a": np.zeros((2, 2)), "b": np.zeros(2)})
    with pytest.raises(InvalidInput, match="'b' must hold numbers"):
        stack({"a": np.zeros(2), "b": np.array([b"x", b"y"], dtype=object)})


def test_feature_names_prefer_the_model_then_the_registered_signature() -> None:
    registered = Signature.for_table(["x", "y"], OUT)
    assert feature_names(["p", "q"], 2, None) == ("p", "q")
    assert feature_names(None, 2, registered) == ("x", "y")
    assert feature_names(None, 3, registered) == ("f0", "f1", "f2")
    assert feature_names([], 2, None) == ("f0", "f1")


def test_feature_names_refuse_a_registered_signature_naming_other_features() -> None:
    registered = Signature.for_table(["x", "y"], OUT)
    with pytest.raises(InvalidInput, match="register the model again without a signature"):
        feature_names(["p", "q"], 2, registered)


def test_binary_proba_softmax_and_argmax_labels() -> None:
    proba = binary_proba(np.array([0.2, 0.9], dtype=np.float32))
    np.testing.assert_allclose(proba, [[0.8, 0.2], [0.1, 0.9]], rtol=1e-6)
    sm = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    np.testing.assert_allclose(sm, [[0.5, 0.5], [0.25, 0.75]])
    result = classifier_result(proba)
    assert result["predict"].tolist() == [0, 1]
    assert result["predict"].dtype == np.int64
