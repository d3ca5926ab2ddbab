"""`modelport predict`: local scoring of a file, table and JSON output, signature mismatches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from tests.cli.conftest import FEATURES, Run


def test_predict_json_matches_the_booster(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path
) -> None:
    model, train, booster = tiny_xgb
    assert run("models", "register", str(model), "--name", "m", "--alias", "production")[0] == 0
    rows = pd.read_parquet(train).head(7)
    csv = tmp_path / "rows.csv"
    rows.assign(id=range(7)).to_csv(csv, index=False)  # extra columns are ignored
    code, out, err = run("predict", "m@production", "--input", str(csv), "--json")
    assert code == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    expected = booster.inplace_predict(rows[FEATURES].to_numpy())
    assert len(got) == 7
    np.testing.assert_allclose([g["predict_proba"][1] for g in got], expected, rtol=1e-5)
    assert [g["predict"] for g in got] == [int(p > 0.5) for p in expected]

    code, out, _ = run("predict", "m", "--input", str(csv))
    assert code == 0 and "predict_proba" in out and "7 row(s)" in out


def test_predict_bad_inputs(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path
) -> None:
    run("models", "register", str(tiny_xgb[0]), "--name", "m")
    missing = tmp_path / "missing-col.csv"
    pd.DataFrame({"amount": [1.0], "hour": [2.0]}).to_csv(missing, index=False)
    code, _, err = run("predict", "m", "--input", str(missing))
    assert code == 1 and "velocity" in err

    wrong_type = tmp_path / "wrong.csv"
    pd.DataFrame({"amount": ["lots"], "hour": [2.0], "velocity": [1.0]}).to_csv(
        wrong_type, index=False
    )
    code, _, err = run("predict", "m", "--input", str(wrong_type))
    assert code == 1 and "amount" in err and "lots" in err

    code, _, err = run("predict", "m", "--input", str(tmp_path / "nope.csv"))
    assert code == 1 and "does not exist" in err
    odd = tmp_path / "rows.xlsx"
    odd.write_text("x")
    code, _, err = run("predict", "m", "--input", str(odd))
    assert code == 1 and ".csv" in err


def test_console_script_prints_one_line_not_a_traceback(home: Path) -> None:
    exe = Path(sys.executable).with_name("modelport")
    proc = subprocess.run(
        [str(exe), "predict", "ghost@production", "--input", "x.csv"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") <= 1 and "does not exist" in proc.stderr
