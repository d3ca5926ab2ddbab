"""The fraud case study: the training script's model registers and predicts through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from modelport.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_data_is_realistic() -> None:
    sys.path.insert(0, str(ROOT / "examples" / "fraud"))
    from data import FEATURES, make_transactions

    table = make_transactions(20_000)
    assert len(FEATURES) == 30 and list(table.columns[1:31]) == FEATURES
    assert 0.005 < table["is_fraud"].mean() < 0.02  # about 1% fraud
    assert (table["amount"] > 0).all()


def test_train_register_predict(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    out = tmp_path / "fraud"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/fraud/train.py"),
            "--rows",
            "8000",
            "--trees",
            "20",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(proc.stdout)
    assert report["auc"] > 0.6, report
    assert "trained 20/20 trees" in proc.stderr  # progress while training, on stderr
    assert (
        main(
            [
                "models",
                "register",
                str(out / "model.json"),
                "--name",
                "fraud",
                "--metric",
                f"auc={report['auc']}",
                "--train-data",
                str(out / "data/train.parquet"),
                "--alias",
                "staging",
                "--card",
                str(ROOT / "examples/fraud/CARD.md"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["predict", "fraud@staging", "--input", str(out / "data/rows.csv"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(pd.read_csv(out / "data/rows.csv")) == 10
    assert all(len(r["predict_proba"]) == 2 for r in rows)
    scores = [r["predict_proba"][1] for r in rows]
    assert sorted(scores)[-2:] == sorted(scores[4:6])  # the demo rows hold the surest frauds
