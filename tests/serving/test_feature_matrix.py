"""One ``[N, F]`` tensor for every tabular flavor: the framework's own answer, the same answer
as the column form, a clear 400 for everything else, and no copy on the binary path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
import skops.io
import xgboost as xgb
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelport.errors import InvalidInput
from modelport.protocol.json_codec import decode_request
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.runtimes.base import LoadOptions, Runtime
from modelport.runtimes.catalog import create_runtime
from modelport.runtimes.tabular import FeatureMatrix
from modelport.serving.batcher import Batcher, BatchPolicy
from modelport.serving.validation import SignaturePlan

RNG = np.random.default_rng(3)
X = RNG.normal(size=(60, 4))
Y = (X[:, 0] - X[:, 2] > 0).astype(int)


def _xgboost(tmp: Path, named: bool) -> tuple[Path, Any]:
    names = ["amount", "age", "hour", "score"] if named else None
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(X, label=Y, feature_names=names), num_boost_round=6)
    path = tmp / "m.json"
    booster.save_model(str(path))

    def predict(x: np.ndarray) -> np.ndarray:
        p = booster.inplace_predict(x.astype(np.float32), validate_features=False)
        return np.asarray(p)

    return path, predict


def _lightgbm(tmp: Path, named: bool) -> tuple[Path, Any]:
    names = ["amount", "age", "hour", "score"] if named else "auto"
    booster = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 5},
                        lgb.Dataset(X, label=Y, feature_name=names), num_boost_round=6)
    path = tmp / "m.txt"
    booster.save_model(str(path))
    return path, lambda x: booster.predict(x)


def _sklearn_logistic(tmp: Path, named: bool) -> tuple[Path, Any]:
    import pandas as pd

    frame = pd.DataFrame(X, columns=["amount", "age", "hour", "score"]) if named else X
    model = LogisticRegression().fit(frame, Y)
    path = tmp / "m.skops"
    skops.io.dump(model, path)
    if named:
        return path, lambda x: model.predict_proba(
            pd.DataFrame(x, columns=["amount", "age", "hour", "score"]))[:, 1]
    return path, lambda x: model.predict_proba(x)[:, 1]


def _sklearn_linear(tmp: Path, named: bool) -> tuple[Path, Any]:
    model = LinearRegression().fit(X, X @ np.array([1.0, -2.0, 0.5, 3.0]))
    path = tmp / "m.skops"
    skops.io.dump(model, path)
    return path, model.predict


FLAVORS = {
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "sklearn": _sklearn_logistic,
}


def _load(flavor: str, path: Path) -> Runtime:
    runtime = create_runtime(flavor, LoadOptions())
    runtime.load(path)
    return runtime


def _first_output(out: dict[str, np.ndarray]) -> np.ndarray:
    if "predict_proba" in out:
        return out["predict_proba"][:, 1]
    return out["predict"]


@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "named"])
@pytest.mark.parametrize("flavor", sorted(FLAVORS))
def test_matrix_equals_the_framework_and_the_columns(tmp_path: Path, flavor: str,
                                                     named: bool) -> None:
    path, framework = FLAVORS[flavor](tmp_path, named)
    runtime = _load(flavor, path)
    signature = runtime.signature()
    matrix_spec = signature.matrix
    assert matrix_spec is not None and matrix_spec.shape == (-1, 4)
    assert signature.tabular and len(signature.inputs) == 4  # the stored form stays columns
    plan = SignaturePlan("m", signature)
    rows = X[:8].astype((matrix_spec.datatype == "FP32" and np.float32) or np.float64)
    for n in (1, 8):
        tensor = Tensor(name="input-0", datatype=matrix_spec.datatype, data=rows[:n])
        batch = plan.inputs(InferenceRequest(inputs=[tensor]))
        assert type(batch) is FeatureMatrix and np.shares_memory(batch.matrix, rows)
        assert tensor.features == tuple(signature.input_names)  # the log names the columns
        got = _first_output(runtime.predict(batch))
        np.testing.assert_allclose(got, framework(rows[:n]), atol=1e-6)
        columns = [Tensor(name=s.name, datatype=s.datatype, data=rows[:n, j].copy())
                   for j, s in enumerate(signature.inputs)]
        by_column = runtime.predict(plan.inputs(InferenceRequest(inputs=columns)))
        by_matrix = runtime.predict(batch)
        assert by_column.keys() == by_matrix.keys()
        for name in by_column:
            np.testing.assert_array_equal(by_column[name], by_matrix[name])


def test_a_regressor_takes_the_matrix_too(tmp_path: Path) -> None:
    path, framework = _sklearn_linear(tmp_path, False)
    runtime = _load("sklearn", path)
    plan = SignaturePlan("lin", runtime.signature())
    batch = plan.inputs(InferenceRequest(inputs=[Tensor(name="x", datatype="FP64", data=X)]))
    np.testing.assert_allclose(runtime.predict(batch)["predict"], framework(X), atol=1e-9)


def test_mlflow_imports_take_the_matrix(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    import mlflow.xgboost
    import pandas as pd
    from mlflow.models import infer_signature

    from modelport.runtimes.mlflow_model import read_mlflow_model

    frame = pd.DataFrame(X, columns=["amount", "age", "hour", "score"])
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, Y)
    mlflow.xgboost.save_model(model, tmp_path / "mlf", pip_requirements=[],
                              signature=infer_signature(frame, model.predict(frame)))
    imported = read_mlflow_model(tmp_path / "mlf")
    runtime = create_runtime("xgboost", LoadOptions(signature=imported.signature))
    runtime.load(imported.artifact_path)
    plan = SignaturePlan("churn", runtime.signature())
    rows = X[:5].astype(np.float32)
    batch = plan.inputs(InferenceRequest(inputs=[Tensor(name="in", datatype="FP32", data=rows)]))
    np.testing.assert_allclose(runtime.predict(batch)["predict_proba"],
                               model.predict_proba(frame.iloc[:5]), atol=1e-6)


def test_binary_matrix_is_a_view_on_the_request_body(tmp_path: Path) -> None:
    path, _ = _xgboost(tmp_path, False)
    runtime = _load("xgboost", path)
    plan = SignaturePlan("m", runtime.signature())
    rows = X[:3].astype(np.float32)
    header = (b'{"inputs":[{"name":"input-0","shape":[3,4],"datatype":"FP32",'
              b'"parameters":{"binary_data_size":48}}]}')
    body = header + rows.tobytes()
    request = decode_request(body, header_length=len(header))
    batch = plan.inputs(request)
    assert type(batch) is FeatureMatrix
    matrix = batch.matrix
    assert not matrix.flags.owndata and not matrix.flags.writeable  # no copy was made
    assert np.shares_memory(matrix, np.frombuffer(body, dtype=np.uint8))
    np.testing.assert_array_equal(matrix, rows)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([Tensor(name="input-0", datatype="FP32", data=np.zeros((2, 3), np.float32))],
         r"takes its rows as one tensor of shape \[-1, 4\].*got 'input-0' of shape \[2, 3\]"),
        ([Tensor(name="input-0", datatype="FP32", data=np.zeros(4, np.float32))],
         r"for one row send shape \[1, 4\]"),
        ([Tensor(name="input-0", datatype="FP64", data=np.zeros((1, 4)))],
         "one FP32 tensor of shape \\[-1, 4\\], got FP64"),
        ([Tensor(name="input-0", datatype="FP32", data=np.zeros((1, 4), np.float32)),
          Tensor(name="f0", datatype="FP32", data=np.zeros(1, np.float32))],
         "not a mix"),
        ([Tensor(name=f"f{i}", datatype="FP32", data=np.zeros(1, np.float32))
          for i in (0, 1, 2)], r"missing input\(s\) 'f3'; it takes: one \[N, 4\] FP32 tensor"),
        ([Tensor(name=n, datatype="FP32", data=np.zeros(1, np.float32))
          for n in ("f0", "f1", "f2", "f9")], "has no input 'f9'"),
    ],
    ids=["width", "rank", "datatype", "mixed", "missing", "unknown"],
)
def test_requests_that_fit_neither_form(tmp_path: Path, inputs: list[Tensor],
                                        message: str) -> None:
    path, _ = _xgboost(tmp_path, False)
    plan = SignaturePlan("fraud", _load("xgboost", path).signature())
    with pytest.raises(InvalidInput, match=message):
        plan.inputs(InferenceRequest(inputs=inputs))


async def test_the_batcher_stacks_matrices_and_merges_mixed_forms(tmp_path: Path) -> None:
    import asyncio

    path, framework = _xgboost(tmp_path, False)
    runtime = _load("xgboost", path)
    plan = SignaturePlan("m", runtime.signature())
    calls: list[Any] = []

    def predict(batch: Any) -> dict[str, np.ndarray]:
        calls.append(batch)
        return runtime.predict(batch)

    batcher = Batcher(predict, BatchPolicy(max_size=64, max_delay_ms=50), name="m")
    rows = X[:6].astype(np.float32)
    matrices = [plan.inputs(InferenceRequest(inputs=[
        Tensor(name="input-0", datatype="FP32", data=rows[i:i + 2])])) for i in (0, 2)]
    columns = plan.inputs(InferenceRequest(inputs=[
        Tensor(name=f"f{j}", datatype="FP32", data=rows[4:6, j].copy()) for j in range(4)]))
    stacked = await asyncio.gather(*(batcher.submit(b, layout=plan.layout) for b in matrices))
    assert len(calls) == 1 and type(calls[0]) is FeatureMatrix and calls[0].rows == 4
    mixed = await asyncio.gather(*(batcher.submit(b, layout=plan.layout)
                                   for b in (matrices[1], columns)))
    assert len(calls) == 2 and len(calls[1]["f0"]) == 4  # merged column by column
    got = np.concatenate([o["predict_proba"][:, 1] for o in (*stacked, *mixed)])
    np.testing.assert_allclose(got, framework(np.concatenate([rows[:4], rows[2:6]])), atol=1e-6)
    await batcher.close()


def test_the_cache_key_is_the_same_for_both_forms(tmp_path: Path) -> None:
    from modelport.serving.cache import PredictionCache

    path, _ = _xgboost(tmp_path, False)
    plan = SignaturePlan("m", _load("xgboost", path).signature())
    rows = X[:2].astype(np.float32)
    matrix = plan.inputs(InferenceRequest(inputs=[
        Tensor(name="input-0", datatype="FP32", data=rows)]))
    columns = plan.inputs(InferenceRequest(inputs=[
        Tensor(name=f"f{j}", datatype="FP32", data=rows[:, j].copy()) for j in range(4)]))
    assert PredictionCache.key("1", matrix) == PredictionCache.key("1", columns)
    other = rows.copy()
    other[1, 3] += 1
    changed = plan.inputs(InferenceRequest(inputs=[
        Tensor(name="input-0", datatype="FP32", data=other)]))
    assert PredictionCache.key("1", changed) != PredictionCache.key("1", matrix)
