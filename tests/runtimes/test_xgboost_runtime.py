from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from modelport.errors import InvalidInput, NotFound, Unavailable, UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.xgboost_runtime import XGBoostRuntime

from .data import (
    FEATURES,
    binary_target,
    columns,
    regression_target,
    table,
    three_classes,
    unnamed,
)

FRAME = table()


def _load(path: Path, options: LoadOptions | None = None) -> XGBoostRuntime:
    runtime = XGBoostRuntime(options)
    runtime.load(path)
    return runtime


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[xgb.XGBClassifier, Path]:
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(FRAME, binary_target(FRAME))
    path = tmp_path_factory.mktemp("xgb") / "model.ubj"
    model.save_model(path)
    return model, path


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_named_binary_classifier_matches_xgboost(
    classifier: tuple[xgb.XGBClassifier, Path], tmp_path: Path, suffix: str
) -> None:
    model, _ = classifier
    path = tmp_path / f"model{suffix}"
    model.save_model(path)
    assert XGBoostRuntime.detect(path)
    runtime = _load(path)
    sig = runtime.signature()
    assert sig.tabular and sig.input_names == FEATURES
    assert all(s.datatype == "FP32" and s.shape == (-1,) for s in sig.inputs)
    assert sig.outputs == (
        TensorSpec(name="predict", datatype="INT64", shape=(-1,)),
        TensorSpec(name="predict_proba", datatype="FP32", shape=(-1, 2)),
    )
    out = runtime.predict(columns(FRAME))
    np.testing.assert_allclose(out["predict_proba"], model.predict_proba(FRAME), rtol=1e-6)
    assert out["predict"].tolist() == model.predict(FRAME).tolist()


def test_model_without_names_takes_f0_to_fn(tmp_path: Path) -> None:
    x = FRAME.to_numpy()
    model = xgb.XGBRegressor(n_estimators=3).fit(x, regression_target(FRAME))
    model.save_model(tmp_path / "reg.json")
    runtime = _load(tmp_path / "reg.json")
    sig = runtime.signature()
    assert sig.input_names == ["f0", "f1", "f2"]
    assert sig.output_names == ["predict"]
    out = runtime.predict(unnamed(FRAME))
    assert set(out) == {"predict"}
    np.testing.assert_allclose(out["predict"], model.predict(x), rtol=1e-6)


def test_registered_signature_names_a_model_without_names(tmp_path: Path) -> None:
    x = FRAME.to_numpy()
    xgb.XGBRegressor(n_estimators=2).fit(x, regression_target(FRAME)).save_model(tmp_path / "r.ubj")
    registered = Signature.for_table(["age", "income", "debt"], ())
    runtime = _load(tmp_path / "r.ubj", LoadOptions(signature=registered))
    assert runtime.signature().input_names == ["age", "income", "debt"]
    out = runtime.predict(columns(FRAME, ["age", "income", "debt"]))
    assert out["predict"].shape == (len(FRAME),)


def test_registered_signature_that_contradicts_the_model_is_refused(
    classifier: tuple[xgb.XGBClassifier, Path],
) -> None:
    registered = Signature.for_table(["x", "y", "z"], ())
    with pytest.raises(InvalidInput, match="trained with"):
        _load(classifier[1], LoadOptions(signature=registered))


def test_multiclass_softprob_and_softmax(tmp_path: Path) -> None:
    y = three_classes(FRAME)
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(FRAME, y)
    model.save_model(tmp_path / "softprob.json")
    runtime = _load(tmp_path / "softprob.json")
    assert runtime.signature().outputs[1].shape == (-1, 3)
    out = runtime.predict(columns(FRAME))
    np.testing.assert_allclose(out["predict_proba"], model.predict_proba(FRAME), rtol=1e-5)
    assert out["predict"].tolist() == model.predict(FRAME).tolist()

    dtrain = xgb.DMatrix(FRAME.to_numpy(np.float32), label=y)
    booster = xgb.train({"objective": "multi:softmax", "num_class": 3}, dtrain, 3)
    booster.save_model(tmp_path / "softmax.json")
    out = _load(tmp_path / "softmax.json").predict(unnamed(FRAME))
    assert out["predict"].tolist() == booster.predict(dtrain).astype(int).tolist()
    np.testing.assert_allclose(out["predict_proba"].sum(axis=1), 1.0, rtol=1e-5)


def test_logitraw_probabilities_are_the_sigmoid_of_the_margin(tmp_path: Path) -> None:
    dtrain = xgb.DMatrix(FRAME.to_numpy(np.float32), label=binary_target(FRAME))
    booster = xgb.train({"objective": "binary:logitraw"}, dtrain, 3)
    booster.save_model(tmp_path / "raw.json")
    out = _load(tmp_path / "raw.json").predict(unnamed(FRAME))
    p = 1 / (1 + np.exp(-booster.predict(dtrain)))
    np.testing.assert_allclose(out["predict_proba"][:, 1], p, rtol=1e-5)
    assert out["predict"].tolist() == (p > 0.5).astype(int).tolist()


def test_wrong_inputs_are_invalid_input(classifier: tuple[xgb.XGBClassifier, Path]) -> None:
    runtime = _load(classifier[1])
    good = columns(FRAME)
    with pytest.raises(InvalidInput, match=r"missing inputs \[c\]"):
        runtime.predict({"a": good["a"], "b": good["b"]})
    with pytest.raises(InvalidInput, match=r"unknown inputs \[d\]"):
        runtime.predict({**good, "d": good["a"]})
    with pytest.raises(InvalidInput, match="rows"):
        runtime.predict({**good, "c": good["c"][:5]})


def test_empty_batch_gives_empty_outputs(classifier: tuple[xgb.XGBClassifier, Path]) -> None:
    out = _load(classifier[1]).predict({n: np.zeros(0) for n in FEATURES})
    assert out["predict"].shape == (0,)
    assert out["predict_proba"].shape == (0, 2)


def test_bad_files_and_lifecycle(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"learner": "not really"}')
    assert XGBoostRuntime.detect(other)  # the header looks right; load tells the truth
    with pytest.raises(UnsupportedArtifact, match="XGBoost could not read"):
        _load(other)
    plain = tmp_path / "plain.json"
    plain.write_text('{"hello": 1}')
    assert not XGBoostRuntime.detect(plain)
    with pytest.raises(NotFound):
        _load(tmp_path / "missing.json")
    with pytest.raises(Unavailable, match="not loaded"):
        XGBoostRuntime().predict({})
