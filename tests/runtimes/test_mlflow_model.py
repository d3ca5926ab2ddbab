from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import pytest
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

from modelport.errors import InvalidInput, NotFound, UnsafeArtifact, UnsupportedArtifact
from modelport.protocol.signature import TensorSpec
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.catalog import create_runtime
from modelport.runtimes.mlflow_model import mlflow_signature, read_mlflow_model

from .data import FEATURES, binary_target, columns, table

mlflow = pytest.importorskip("mlflow")
from mlflow.models import infer_signature  # noqa: E402

FRAME = table()
Y = binary_target(FRAME)
FAST = {"pip_requirements": []}  # skip MLflow's slow requirement inference


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import mlflow.lightgbm
    import mlflow.sklearn
    import mlflow.xgboost

    root = tmp_path_factory.mktemp("mlflow")
    logreg = LogisticRegression().fit(FRAME, Y)
    signature = infer_signature(FRAME, logreg.predict(FRAME))
    mlflow.sklearn.save_model(logreg, root / "sk", signature=signature, **FAST)
    mlflow.sklearn.save_model(
        logreg, root / "sk_pickle", serialization_format="cloudpickle", signature=signature, **FAST
    )
    x = FRAME.to_numpy()
    tensor_model = LogisticRegression().fit(x, Y)
    mlflow.sklearn.save_model(
        tensor_model,
        root / "sk_tensor",
        signature=infer_signature(x, tensor_model.predict(x)),
        **FAST,
    )
    clf = xgb.XGBClassifier(n_estimators=3).fit(FRAME, Y)
    mlflow.xgboost.save_model(clf, root / "xgb", signature=signature, **FAST)
    booster = lgb.train(
        {"objective": "binary", "min_data_in_leaf": 3, "verbose": -1}, lgb.Dataset(FRAME, Y), 3
    )
    mlflow.lightgbm.save_model(booster, root / "lgb", signature=signature, **FAST)
    wrapper = lgb.LGBMClassifier(n_estimators=3, min_child_samples=3, verbose=-1).fit(FRAME, Y)
    mlflow.lightgbm.save_model(wrapper, root / "lgb_sklearn", signature=signature, **FAST)
    return {p.name: p for p in root.iterdir()}


def test_sklearn_skops_model_with_column_signature(saved: dict[str, Path]) -> None:
    model = read_mlflow_model(saved["sk"])
    assert model.flavor == "sklearn" and not model.needs_trust
    assert model.artifact_path.name == "model.skops"
    assert model.signature is not None and model.signature.tabular
    assert model.signature.input_names == FEATURES
    assert {s.datatype for s in model.signature.inputs} == {"FP64"}
    assert model.signature.outputs == (TensorSpec(name="predict", datatype="INT64", shape=(-1,)),)
    assert model.metadata["mlflow_flavor"] == "sklearn"
    assert "model_uuid" in model.metadata
    runtime = create_runtime(model.flavor, LoadOptions(signature=model.signature))
    runtime.load(model.artifact_path)
    expected = LogisticRegression().fit(FRAME, Y).predict(FRAME)
    assert runtime.predict(columns(FRAME))["predict"].tolist() == expected.tolist()


def test_sklearn_pickle_needs_trust(saved: dict[str, Path]) -> None:
    model = read_mlflow_model(saved["sk_pickle"])
    assert model.flavor == "sklearn" and model.needs_trust
    assert model.artifact_path.suffix == ".pkl"
    with pytest.raises(UnsafeArtifact):
        create_runtime("sklearn").load(model.artifact_path)


def test_tensor_signature_is_not_tabular(saved: dict[str, Path]) -> None:
    model = read_mlflow_model(saved["sk_tensor"])
    assert model.signature is not None and not model.signature.tabular
    assert model.signature.inputs == (TensorSpec(name="input__0", datatype="FP64", shape=(-1, 3)),)


def test_xgboost_and_lightgbm_flavors(saved: dict[str, Path]) -> None:
    xgb_model = read_mlflow_model(saved["xgb"])
    assert (xgb_model.flavor, xgb_model.needs_trust) == ("xgboost", False)
    runtime = create_runtime("xgboost", LoadOptions(signature=xgb_model.signature))
    runtime.load(xgb_model.artifact_path)
    assert runtime.signature().input_names == FEATURES

    lgb_model = read_mlflow_model(saved["lgb"])
    assert (lgb_model.flavor, lgb_model.needs_trust) == ("lightgbm", False)
    create_runtime("lightgbm").load(lgb_model.artifact_path)

    wrapped = read_mlflow_model(saved["lgb_sklearn"])  # LGBMClassifier: skops of lightgbm types
    assert (wrapped.flavor, wrapped.needs_trust) == ("sklearn", True)
    with pytest.raises(UnsafeArtifact, match="lightgbm"):
        create_runtime("sklearn").load(wrapped.artifact_path)
    trusted = create_runtime("sklearn", LoadOptions(trust_pickle=True))
    trusted.load(wrapped.artifact_path)
    assert trusted.predict(columns(FRAME))["predict_proba"].shape == (len(FRAME), 2)


def _mlmodel(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "MLmodel").write_text(text)
    return folder


def test_bad_mlmodel_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_mlflow_model(tmp_path / "nowhere")
    with pytest.raises(UnsupportedArtifact, match="no MLmodel file"):
        read_mlflow_model(tmp_path)
    with pytest.raises(InvalidInput, match="not valid YAML"):
        read_mlflow_model(_mlmodel(tmp_path, "flavors: [unclosed"))
    with pytest.raises(InvalidInput, match="no 'flavors' mapping"):
        read_mlflow_model(_mlmodel(tmp_path, "just a string"))
    with pytest.raises(UnsupportedArtifact, match="python_function"):
        read_mlflow_model(_mlmodel(tmp_path, "flavors:\n  python_function: {}\n"))
    with pytest.raises(InvalidInput, match="points outside"):
        read_mlflow_model(_mlmodel(tmp_path, "flavors:\n  onnx: {data: ../../etc/passwd}\n"))
    with pytest.raises(NotFound, match="missing"):
        read_mlflow_model(_mlmodel(tmp_path, "flavors:\n  onnx: {data: model.onnx}\n"))
    with pytest.raises(InvalidInput, match="names no model file"):
        read_mlflow_model(_mlmodel(tmp_path, "flavors:\n  xgboost: {}\n"))


def test_unmappable_signature_keeps_the_model_and_says_why(tmp_path: Path) -> None:
    folder = _mlmodel(
        tmp_path,
        "flavors:\n  onnx: {data: model.onnx}\n"
        'signature:\n  inputs: \'[{"type": "array", "name": "seq"}]\'\n',
    )
    (folder / "model.onnx").write_bytes(b"\x08\x07")
    model = read_mlflow_model(folder)
    assert model.flavor == "onnx" and model.signature is None
    assert "'seq' has type 'array'" in model.metadata["signature_error"]


def test_signature_json_errors() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON"):
        mlflow_signature({"inputs": "[{"})
    with pytest.raises(InvalidInput, match="list of specs"):
        mlflow_signature({"inputs": '{"a": 1}'})
    sig = mlflow_signature(
        {"inputs": '[{"type": "string", "name": "text"}, {"type": "long"}]', "outputs": None}
    )
    assert [(s.name, s.datatype) for s in sig.inputs] == [("text", "BYTES"), ("input__1", "INT64")]
