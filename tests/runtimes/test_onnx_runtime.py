from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import StringTensorType
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import OneHotEncoder

from modelport.errors import InvalidInput, UnsupportedArtifact
from modelport.protocol.signature import TensorSpec
from modelport.runtimes.onnx_runtime import OnnxRuntime

from .data import binary_target, regression_target, table

X = table().to_numpy(np.float32)


def _save(onx: object, path: Path) -> Path:
    path.write_bytes(onx.SerializeToString())  # type: ignore[attr-defined]
    return path


def _load(path: Path) -> OnnxRuntime:
    runtime = OnnxRuntime()
    runtime.load(path)
    return runtime


def test_classifier_signature_and_zipmap_probabilities(tmp_path: Path) -> None:
    model = LogisticRegression().fit(X, binary_target(table()))
    path = _save(to_onnx(model, X[:1]), tmp_path / "clf.onnx")
    assert OnnxRuntime.detect(path)
    runtime = _load(path)
    sig = runtime.signature()
    assert not sig.tabular
    assert sig.inputs == (TensorSpec(name="X", datatype="FP32", shape=(-1, 3)),)
    assert sig.outputs == (
        TensorSpec(name="output_label", datatype="INT64", shape=(-1,)),
        TensorSpec(name="output_probability", datatype="FP32", shape=(-1, -1)),
    )
    out = runtime.predict({"X": X.astype(np.float64)})  # float64 is cast to the graph's float
    assert out["output_label"].tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(out["output_probability"], model.predict_proba(X), rtol=1e-5)


def test_string_labels_come_back_as_bytes_and_plain_probability_tensors(tmp_path: Path) -> None:
    y = np.where(binary_target(table()) == 1, "yes", "no")
    model = LogisticRegression().fit(X, y)
    onx = to_onnx(model, X[:1], options={id(model): {"zipmap": False}})
    runtime = _load(_save(onx, tmp_path / "text.onnx"))
    label, proba = runtime.signature().outputs
    assert (label.datatype, proba.datatype, proba.shape) == ("BYTES", "FP32", (-1, 2))
    out = runtime.predict({"X": X})
    assert out[label.name].tolist() == [s.encode() for s in model.predict(X)]
    np.testing.assert_allclose(out[proba.name], model.predict_proba(X), rtol=1e-5)


def test_string_inputs_accept_bytes(tmp_path: Path) -> None:
    colors = np.array([["red"], ["blue"], ["green"]], dtype=object)
    model = OneHotEncoder().fit(colors)
    onx = to_onnx(model, initial_types=[("color", StringTensorType([None, 1]))])
    runtime = _load(_save(onx, tmp_path / "ohe.onnx"))
    assert runtime.signature().inputs[0] == TensorSpec(
        name="color", datatype="BYTES", shape=(-1, 1)
    )
    sent = np.array([[b"green"], [b"red"]], dtype=object)
    (out,) = runtime.predict({"color": sent}).values()
    np.testing.assert_array_equal(out, model.transform(colors[[2, 0]]).toarray())


def test_wrong_inputs_are_invalid_input(tmp_path: Path) -> None:
    model = LinearRegression().fit(X, regression_target(table()))
    runtime = _load(_save(to_onnx(model, X[:1]), tmp_path / "reg.onnx"))
    with pytest.raises(InvalidInput, match=r"missing \['X'\], unknown \['x'\]"):
        runtime.predict({"x": X})
    with pytest.raises(InvalidInput, match=r"expects \[-1, 3\]"):
        runtime.predict({"X": X[:, :2]})
    with pytest.raises(InvalidInput, match="expects FP32"):
        runtime.predict({"X": np.array([[b"a", b"b", b"c"]], dtype=object)})
    np.testing.assert_allclose(
        runtime.predict({"X": X.astype(np.int64)})["variable"][:, 0],
        model.predict(X.astype(np.int64)),
        rtol=1e-5,
    )


def test_files_that_are_not_onnx(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08garbage")
    assert OnnxRuntime.detect(junk)
    with pytest.raises(UnsupportedArtifact, match="ONNX Runtime could not load"):
        _load(junk)
    text = tmp_path / "text.onnx"
    text.write_text("hello")
    assert not OnnxRuntime.detect(text)
