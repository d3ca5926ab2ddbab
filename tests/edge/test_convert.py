"""`modelport convert` end to end: each flavor converts with parity, lineage is recorded,
failing parity is refused (and forced, marked), int8 shrinks a small transformer."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.catalog import create_runtime
from tests.edge.conftest import Run, run_json, save_scripted, tiny_transformer, token_rows

FEATURES = ["amount", "hour", "velocity", "age"]


def _table(rows: int = 500, scale: float = 1.0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)) * scale + shift, columns=FEATURES)
    return frame.assign(label=(frame.amount + frame.velocity > 2 * shift).astype(int))


def _predict_both(home: Path, ref_a: str, ref_b: str, batch: dict[str, np.ndarray]) -> tuple:
    registry = Registry.open(RegistrySettings(home=home))
    try:
        outs = []
        for ref in (ref_a, ref_b):
            info = registry.resolve(ref)
            runtime = create_runtime(info.flavor, LoadOptions(
                trust_pickle=info.trust_pickle, signature=info.signature))
            runtime.load(registry.fetch_artifact(info))
            outs.append(runtime.predict(batch))
        return tuple(outs)
    finally:
        registry.close()


def _convert_ok(run: Run, ref: str, *extra: str) -> dict[str, object]:
    done = run_json(run, "convert", ref, *extra)
    parity = done["parity"]
    assert isinstance(parity, dict) and parity["passed"], parity
    return done


@pytest.mark.parametrize("kind", ["sklearn-forest", "sklearn-logistic", "xgboost", "lightgbm"])
def test_tabular_conversion_keeps_signature_and_answers(
    kind: str, run: Run, home: Path, tmp_path: Path
) -> None:
    frame = _table()
    train = tmp_path / "train.parquet"
    frame.to_parquet(train, index=False)
    x, y = frame[FEATURES], frame.label
    extra: list[str] = []
    if kind == "sklearn-forest":
        model = tmp_path / "m.skops"
        sio.dump(RandomForestClassifier(25, max_depth=6, random_state=0).fit(x, y), model)
        extra = ["--trust-pickle"]
    elif kind == "sklearn-logistic":
        model = tmp_path / "m.skops"
        sio.dump(LogisticRegression().fit(x, y), model)
    elif kind == "xgboost":
        model = tmp_path / "m.json"
        xgb.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1},
                  xgb.DMatrix(x, label=(x.amount > 0).astype(int) + (x.hour > 0.5)),
                  12).save_model(model)
    else:
        model = tmp_path / "m.txt"
        lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
                  lgb.Dataset(x, label=y), 15).save_model(model)
    assert run("models", "register", str(model), "-n", "fraud", "--train-data", str(train),
               *extra)[0] == 0

    done = _convert_ok(run, "fraud:1")
    version, parity = done["version"], done["parity"]
    assert isinstance(version, dict) and isinstance(parity, dict)
    assert version["version"] == 2 and version["flavor"] == "onnx"
    assert version["lineage"]["parent_version"] == 1
    assert version["lineage"]["reference_uri"], "the converted version keeps the reference sample"
    origin = json.loads(version["tags"]["modelport.converted_from"])
    assert origin["version"] == 1 and origin["tool"] in ("skl2onnx", "onnxmltools")
    assert origin["versions"]["onnxruntime"]
    original = run_json(run, "models", "show", "fraud:1")
    assert version["signature"] == original["signature"], "same names, datatypes and shapes"
    assert parity["rows"] == 500 and parity["label_agreement"] in (None, 1.0)
    for figures in parity["outputs"].values():
        assert figures.get("max_abs_diff", 0.0) <= 1e-5
        assert figures.get("agreement", 1.0) == 1.0
    perf = parity["performance"]
    assert perf["after"]["size_bytes"] > 0 and perf["after"]["latency_ms_32"] > 0

    batch = {f: frame[f].to_numpy()[:50] for f in FEATURES}
    before, after = _predict_both(home, "fraud:1", "fraud:2", batch)
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].dtype == after[name].dtype and before[name].shape == after[name].shape
        np.testing.assert_allclose(after[name], before[name], atol=1e-5)

    code, out, _ = run("models", "show", "fraud:2")
    assert code == 0 and "converted from fraud:1" in out and "passed" in out


def test_parity_failure_is_refused_naming_rows_and_force_marks_it(
    run: Run, tmp_path: Path
) -> None:
    # Features around 1e7: float32 (what ONNX ML converters compute in) cannot hold them.
    frame = _table(scale=1e6, shift=1e7)
    train = tmp_path / "train.parquet"
    frame.to_parquet(train, index=False)
    model = tmp_path / "lin.skops"
    sio.dump(LinearRegression().fit(frame[FEATURES], frame.amount * 3.3 + frame.hour), model)
    assert run("models", "register", str(model), "-n", "lin", "--train-data", str(train))[0] == 0

    code, _, err = run("convert", "lin:1")
    assert code != 0
    assert "parity failed" in err and "worst rows:" in err and "max abs diff" in err
    assert "Traceback" not in err
    listed = run_json(run, "models", "show", "lin")
    assert listed["latest"]["version"] == 1, "nothing registered"

    forced = run_json(run, "convert", "lin:1", "--force")
    version = forced["version"]
    assert isinstance(version, dict)
    assert version["version"] == 2 and version["tags"]["modelport.parity.forced"] == "true"
    assert forced["parity"]["forced"] is True  # type: ignore[index]

    # A stricter tolerance refuses even a good conversion; a looser one is honoured.
    logistic = tmp_path / "log.skops"
    small = _table()
    sio.dump(LogisticRegression().fit(small[FEATURES], small.label), logistic)
    small.to_parquet(train, index=False)
    assert run("models", "register", str(logistic), "-n", "lr", "--train-data", str(train))[0] == 0
    code, _, err = run("convert", "lr:1", "--tolerance", "1e-15")
    assert code != 0 and "1e-15" in err


def test_bad_requests_are_one_line_errors(run: Run, tmp_path: Path) -> None:
    frame = _table()
    train = tmp_path / "t.parquet"
    frame.to_parquet(train, index=False)
    model = tmp_path / "m.txt"
    lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(frame[FEATURES],
              label=frame.label), 5).save_model(model)
    assert run("models", "register", str(model), "-n", "g", "--train-data", str(train))[0] == 0
    for args, needle in [
        (("--to", "tflite"), "--to must be one of"),
        (("--quantize", "int4"), "--quantize must be one of"),
        (("--quantize", "int8"), "no MatMul/Gemm/Conv weights"),
        (("--data", str(tmp_path / "none.csv")), "does not exist"),
        (("--label", "nope"), "--label 'nope'"),
    ]:
        code, _, err = run("convert", "g:1", *args)
        assert code != 0 and needle in err and "Traceback" not in err, (args, err)
    code, _, err = run("convert", "missing:1")
    assert code != 0 and "Traceback" not in err


def _register_transformer(run: Run, tmp_path: Path) -> Path:
    module = tiny_transformer()
    signature = {"inputs": [{"name": "ids", "datatype": "INT64", "shape": [-1, -1]}],
                 "outputs": [{"name": "probs", "datatype": "FP32", "shape": [-1, 3]}]}
    path = save_scripted(module, tmp_path / "tx", signature)
    assert run("models", "register", str(path), "-n", "sentiment")[0] == 0
    ids = token_rows(400, seed=5)
    data = tmp_path / "rows.npz"
    np.savez(data, ids=ids, label=ids[:, 0] % 3)
    return data


def test_torch_float_and_int8_transformer(run: Run, home: Path, tmp_path: Path) -> None:
    data = _register_transformer(run, tmp_path)
    code, _, err = run("convert", "sentiment:1")
    assert code != 0 and "--data" in err, "a tensor model without reference rows needs --data"

    float_done = _convert_ok(run, "sentiment:1", "--data", str(data))
    float_parity = float_done["parity"]
    assert isinstance(float_parity, dict)
    assert float_parity["outputs"]["probs"]["max_abs_diff"] <= 1e-3
    assert float_parity["label_agreement"] == 1.0

    int8 = _convert_ok(run, "sentiment:1", "--quantize", "int8", "--data", str(data))
    version, parity = int8["version"], int8["parity"]
    assert isinstance(version, dict) and isinstance(parity, dict)
    assert version["version"] == 3 and version["lineage"]["parent_version"] == 1
    origin = json.loads(version["tags"]["modelport.converted_from"])
    assert origin["quantize"] == "int8" and origin["options"]["weight_type"] == "QInt8"
    assert parity["label_agreement"] >= 0.99 and abs(parity["metric_delta"]) <= 0.5
    perf = parity["performance"]
    float_size = float_parity["performance"]["after"]["size_bytes"]
    assert perf["after"]["size_bytes"] < 0.5 * float_size, "int8 weights are ~4x smaller"

    ids = token_rows(16, seed=7)
    before, after = _predict_both(home, "sentiment:1", "sentiment:3", {"ids": ids})
    assert (before["probs"].argmax(1) == after["probs"].argmax(1)).mean() >= 0.9
    code, out, _ = run("models", "show", "sentiment:3")
    assert code == 0 and "size and latency" in out

    fp16 = _convert_ok(run, "sentiment:1", "--quantize", "fp16", "--data", str(data))
    half = fp16["parity"]
    assert isinstance(half, dict) and half["label_agreement"] >= 0.99
    assert half["performance"]["after"]["size_bytes"] < 0.7 * float_size


def test_openvino_target_runs_with_parity(run: Run, home: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino", reason="the edge extra installs openvino")
    data = _register_transformer(run, tmp_path)
    done = _convert_ok(run, "sentiment:1", "--to", "openvino", "--data", str(data))
    version = done["version"]
    assert isinstance(version, dict) and version["flavor"] == "openvino"
    ids = token_rows(20, seed=3)
    before, after = _predict_both(home, "sentiment:1", "sentiment:2", {"ids": ids})
    np.testing.assert_allclose(after["probs"], before["probs"], atol=1e-3)
