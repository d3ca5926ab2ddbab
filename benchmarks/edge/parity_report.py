"""The parity report of each conversion flavor, as the README's table.

Trains small models here (scikit-learn forest and logistic regression, XGBoost, LightGBM, a
TorchScript MLP and a one-block transformer), registers them in a throwaway registry and runs
``modelport convert`` on each (float ONNX, int8, fp16, OpenVINO), printing one row per
conversion: rows checked, max |diff|, label agreement, accuracy delta, size and latency
(1 and 32 rows) before -> after.

    .venv/bin/python benchmarks/edge/parity_report.py
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mp-parity-"))
    os.environ["MODELPORT_HOME"] = str(tmp / "home")
    os.environ["MODELPORT_USER"] = "bench"
    import io
    from contextlib import redirect_stdout

    import lightgbm as lgb
    import skops.io as sio
    import torch
    import xgboost as xgb
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from modelport.cli.main import main as cli

    def run(*args: str) -> dict[str, object]:
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = cli([*args, "--json"]) if args[0] == "convert" else cli(list(args))
        if code != 0:
            sys.exit(f"{args} failed")
        return json.loads(buffer.getvalue()) if args[0] == "convert" else {}

    rng = np.random.default_rng(0)
    features = [f"f{i}" for i in range(8)]
    frame = pd.DataFrame(rng.normal(size=(5000, 8)), columns=features)
    frame["label"] = (frame.f0 + frame.f1 * frame.f2 - frame.f3 > 0).astype(int)
    train = tmp / "train.parquet"
    frame.to_parquet(train, index=False)
    x, y = frame[features], frame.label
    sio.dump(RandomForestClassifier(100, max_depth=8, random_state=0).fit(x, y), tmp / "rf.skops")
    sio.dump(LogisticRegression().fit(x, y), tmp / "lr.skops")
    xgb.train({"objective": "binary:logistic", "max_depth": 6, "nthread": 1},
              xgb.DMatrix(x, label=y), 100).save_model(tmp / "xgb.json")
    lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
              lgb.Dataset(x, label=y), 100).save_model(tmp / "lgb.txt")
    for name, file, extra in [("forest", "rf.skops", ["--trust-pickle"]),
                              ("logistic", "lr.skops", []), ("xgb", "xgb.json", []),
                              ("lgbm", "lgb.txt", [])]:
        run("models", "register", str(tmp / file), "-n", name, "--train-data", str(train), *extra)

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.edge.conftest import save_scripted, tiny_transformer, token_rows

    mlp = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(8, 256), torch.nn.ReLU(),
                                               torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                               torch.nn.Linear(256, 2)).eval())
    sig = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}],
           "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 2]}]}
    run("models", "register", str(save_scripted(mlp, tmp / "mlp", sig)), "-n", "mlp")
    np.savez(tmp / "mlp.npz", x=frame[features].to_numpy(np.float32)[:2000])
    tsig = {"inputs": [{"name": "ids", "datatype": "INT64", "shape": [-1, -1]}],
            "outputs": [{"name": "probs", "datatype": "FP32", "shape": [-1, 3]}]}
    run("models", "register", str(save_scripted(tiny_transformer(dim=64), tmp / "tx", tsig)),
        "-n", "transformer")
    ids = token_rows(1000, length=16)
    np.savez(tmp / "tx.npz", ids=ids, label=ids[:, 0] % 3)

    rows = []
    for label, ref, extra in [
        ("scikit-learn random forest -> ONNX", "forest:1", []),
        ("scikit-learn logistic regression -> ONNX", "logistic:1", []),
        ("XGBoost -> ONNX", "xgb:1", []),
        ("LightGBM -> ONNX", "lgbm:1", []),
        ("TorchScript MLP -> ONNX", "mlp:1", ["--data", str(tmp / "mlp.npz")]),
        ("TorchScript MLP -> ONNX int8", "mlp:1", ["--data", str(tmp / "mlp.npz"),
                                                   "--quantize", "int8"]),
        ("TorchScript MLP -> ONNX fp16", "mlp:1", ["--data", str(tmp / "mlp.npz"),
                                                   "--quantize", "fp16"]),
        ("TorchScript MLP -> OpenVINO IR", "mlp:1", ["--data", str(tmp / "mlp.npz"),
                                                     "--to", "openvino"]),
        ("small transformer -> ONNX", "transformer:1", ["--data", str(tmp / "tx.npz")]),
        ("small transformer -> ONNX int8", "transformer:1", ["--data", str(tmp / "tx.npz"),
                                                             "--quantize", "int8"]),
    ]:
        parity = run("convert", ref, *extra)["parity"]
        assert isinstance(parity, dict)
        diffs = [f.get("max_abs_diff", 0.0) for f in parity["outputs"].values()]
        agree = parity["label_agreement"]
        delta = parity["metric_delta"]
        before, after = parity["performance"]["before"], parity["performance"]["after"]
        rows.append(
            f"| {label} | {parity['rows']} | {max(diffs):.2g} | "
            f"{'-' if agree is None else f'{100 * agree:.2f}%'} | "
            f"{'-' if delta is None or math.isnan(delta) else f'{delta:+.2f}'} | "
            f"{before['size_bytes'] / 1024:,.0f} -> {after['size_bytes'] / 1024:,.0f} | "
            f"{before['latency_ms_1']:.3f} -> {after['latency_ms_1']:.3f} | "
            f"{before['latency_ms_32']:.3f} -> {after['latency_ms_32']:.3f} |")
    print("| conversion | rows | max abs diff | label agreement | accuracy delta (points) | "
          "size KiB | latency 1 row ms | latency 32 rows ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
