from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

from modelport.errors import InvalidInput, UnsafeArtifact, UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.sklearn_runtime import SklearnRuntime

from .data import FEATURES, binary_target, columns, regression_target, table, unnamed

FRAME = table()
TRUST = LoadOptions(trust_pickle=True)


def _dump(model: Any, path: Path) -> Path:
    sio.dump(model, path)
    return path


def _load(path: Path, options: LoadOptions | None = None) -> SklearnRuntime:
    runtime = SklearnRuntime(options)
    runtime.load(path)
    return runtime


def test_named_classifier_with_text_labels(tmp_path: Path) -> None:
    y = np.where(binary_target(FRAME) == 1, "fraud", "ok")
    model = LogisticRegression().fit(FRAME, y)
    runtime = _load(_dump(model, tmp_path / "m.skops"))
    sig = runtime.signature()
    assert sig.tabular and sig.input_names == FEATURES
    assert {s.datatype for s in sig.inputs} == {"FP64"}
    assert sig.outputs == (
        TensorSpec(name="predict", datatype="BYTES", shape=(-1,)),
        TensorSpec(name="predict_proba", datatype="FP64", shape=(-1, 2)),
    )
    out = runtime.predict(columns(FRAME))
    assert out["predict"].tolist() == [s.encode() for s in model.predict(FRAME)]
    np.testing.assert_allclose(out["predict_proba"], model.predict_proba(FRAME))


def test_unnamed_regressors_single_and_multi_target(tmp_path: Path) -> None:
    x = FRAME.to_numpy()
    single = LinearRegression().fit(x, regression_target(FRAME))
    runtime = _load(_dump(single, tmp_path / "single.skops"))
    assert runtime.signature().input_names == ["f0", "f1", "f2"]
    assert runtime.signature().outputs == (
        TensorSpec(name="predict", datatype="FP64", shape=(-1,)),
    )
    np.testing.assert_allclose(runtime.predict(unnamed(FRAME))["predict"], single.predict(x))

    multi = LinearRegression().fit(x, np.c_[x[:, 0], x[:, 1]])
    runtime = _load(_dump(multi, tmp_path / "multi.skops"))
    assert runtime.signature().outputs[0].shape == (-1, 2)
    np.testing.assert_allclose(runtime.predict(unnamed(FRAME))["predict"], multi.predict(x))


def test_classifier_without_predict_proba_has_predict_only(tmp_path: Path) -> None:
    model = LinearSVC().fit(FRAME.to_numpy(), binary_target(FRAME))
    runtime = _load(_dump(model, tmp_path / "svc.skops"))
    assert runtime.signature().outputs == (
        TensorSpec(name="predict", datatype="INT64", shape=(-1,)),
    )
    out = runtime.predict(unnamed(FRAME))
    assert out["predict"].tolist() == model.predict(FRAME.to_numpy()).tolist()


def test_pipeline_with_a_text_column_typed_by_the_registered_signature(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"color": np.array(["red", "blue", "green"])[np.arange(40) % 3], "x": FRAME["a"]}
    )
    model = make_pipeline(
        ColumnTransformer([("oh", OneHotEncoder(), ["color"]), ("num", StandardScaler(), ["x"])]),
        LogisticRegression(),
    ).fit(frame, binary_target(FRAME))
    registered = Signature(
        inputs=(
            TensorSpec(name="color", datatype="BYTES", shape=(-1,)),
            TensorSpec(name="x", datatype="FP64", shape=(-1,)),
        ),
        outputs=(),
        tabular=True,
    )
    runtime = _load(_dump(model, tmp_path / "pipe.skops"), LoadOptions(signature=registered))
    assert [s.datatype for s in runtime.signature().inputs] == ["BYTES", "FP64"]
    color = np.array([c.encode() for c in frame["color"]], dtype=object)
    out = runtime.predict({"color": color, "x": frame["x"].to_numpy()})
    np.testing.assert_allclose(out["predict_proba"], model.predict_proba(frame))


def test_pickle_and_joblib_are_refused_with_a_way_out(tmp_path: Path) -> None:
    model = LogisticRegression().fit(FRAME, binary_target(FRAME))
    pkl, job, odd = tmp_path / "m.pkl", tmp_path / "m.joblib", tmp_path / "model.bin"
    pkl.write_bytes(pickle.dumps(model))
    joblib.dump(model, job)
    odd.write_bytes(pickle.dumps(model))  # pickle magic bytes under an unhelpful name
    for path in (pkl, job, odd):
        assert SklearnRuntime.detect(path)
        with pytest.raises(UnsafeArtifact) as info:
            _load(path)
        message = info.value.message
        assert "arbitrary code" in message
        assert "skops.io.dump" in message and "--trust-pickle" in message
        out = _load(path, TRUST).predict(columns(FRAME))
        np.testing.assert_allclose(out["predict_proba"], model.predict_proba(FRAME))


def test_tree_models_in_skops_need_trust(tmp_path: Path) -> None:
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(FRAME, binary_target(FRAME))
    path = _dump(model, tmp_path / "forest.skops")
    with pytest.raises(UnsafeArtifact) as info:
        _load(path)
    assert "sklearn.tree._tree.Tree" in info.value.message
    assert "--trust-pickle" in info.value.message
    assert info.value.details["untrusted_types"] == ["sklearn.tree._tree.Tree"]
    out = _load(path, TRUST).predict(columns(FRAME))
    assert out["predict"].tolist() == model.predict(FRAME).tolist()


def test_wrong_inputs_are_invalid_input(tmp_path: Path) -> None:
    model = LogisticRegression().fit(FRAME, binary_target(FRAME))
    runtime = _load(_dump(model, tmp_path / "m.skops"))
    good = columns(FRAME)
    with pytest.raises(InvalidInput, match=r"missing inputs \[c\]"):
        runtime.predict({"a": good["a"], "b": good["b"]})
    with pytest.raises(InvalidInput, match="must hold numbers"):
        runtime.predict({**good, "a": np.array([b"x"] * 40, dtype=object)})
    with pytest.raises(InvalidInput, match="the model rejected the input"):
        runtime.predict({**good, "a": np.full(40, np.nan)})


def test_files_that_are_not_models(tmp_path: Path) -> None:
    not_a_model = _dump({"weights": [1, 2]}, tmp_path / "dict.skops")
    with pytest.raises(UnsupportedArtifact, match="no predict method"):
        _load(not_a_model)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert not SklearnRuntime.detect(text)
    with pytest.raises(UnsupportedArtifact, match="neither a skops file nor a pickle"):
        _load(text)
