"""The rows every server is sent, and XGBoost's own answer for each (the correctness check).

``python rows.py MODEL TRAIN_PARQUET FEATURES_JSON OUT_JSON [--count 1000]`` (run with the
repo's venv, which has xgboost and pyarrow) takes the first ``count`` distinct rows of the
training data (the model's features, in the model's order, rounded to 4 decimals so every JSON
body is short and every server parses the same float32 values) and writes them with
``Booster.inplace_predict`` of each row as float32. The rows vary so that no server can win by
caching an answer. The helpers below only need the standard library (``run.py`` imports them).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOLERANCE = 1e-5
"""Largest absolute difference from XGBoost's probability that counts as the same answer."""


@dataclass(frozen=True)
class Rows:
    """The benchmark's rows, XGBoost's probability for each, and the rows checked first."""

    features: list[str]
    rows: list[list[float]]
    expected: list[float]
    check: list[int]


def load(path: Path) -> Rows:
    d = json.loads(path.read_text())
    return Rows(d["features"], d["rows"], d["expected"], d["check"])


def numbers(answer: Any) -> list[float]:
    """Every number anywhere in a decoded JSON answer."""
    if isinstance(answer, bool):
        return []
    if isinstance(answer, int | float):
        return [float(answer)]
    if isinstance(answer, dict):
        return [x for v in answer.values() for x in numbers(v)]
    if isinstance(answer, list):
        return [x for v in answer for x in numbers(v)]
    return []


def closest(values: list[float], p: float) -> float:
    """The distance from ``p`` (or ``1 - p``, for a server that answers both classes) to the
    nearest of ``values``; infinity when there is none."""
    return min((min(abs(v - p), abs(v - (1 - p))) for v in values), default=math.inf)


def check_answer(text: str, p: float) -> str:
    """An empty string when the JSON answer holds XGBoost's probability ``p`` (or 1 - p) within
    TOLERANCE, else a short reason."""
    try:
        found = numbers(json.loads(text))
    except ValueError:
        return f"not JSON: {text[:80]!r}"
    gap = closest(found, p)
    if gap <= TOLERANCE:
        return ""
    shown = ", ".join(f"{v:.6g}" for v in found[:4]) or "no number"
    return f"expected {p:.6f}, answered {shown}"


def _pick_checks(expected: list[float]) -> list[int]:
    """The first row and the rows nearest 0.5, 0.9 and 0.1: probabilities far from 0 and 1,
    so that a wrong answer cannot pass by being close to a tiny number."""
    picked = [0]
    for target in (0.5, 0.9, 0.1):
        order = sorted(range(len(expected)), key=lambda i: abs(expected[i] - target))
        picked.append(next(i for i in order if i not in picked))
    return picked


def build(model: Path, data: Path, features_path: Path, count: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow.parquet as pq
    import xgboost as xgb

    features: list[str] = json.loads(features_path.read_text())
    table = pq.read_table(data, columns=features).to_pandas()
    seen: set[tuple[float, ...]] = set()
    rows: list[list[float]] = []
    for values in table.itertuples(index=False):
        row = tuple(round(float(v), 4) for v in values)
        if row not in seen:
            seen.add(row)
            rows.append(list(row))
        if len(rows) == count:
            break
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} distinct rows in {data}, {count} wanted")
    booster = xgb.Booster()
    booster.load_model(str(model))
    x = np.asarray(rows, dtype=np.float32)
    expected = [float(p) for p in booster.inplace_predict(x)]
    # One row at a time too: the servers predict single rows, and the answer must not depend
    # on the batch it came in.
    singles = [float(booster.inplace_predict(x[i : i + 1])[0]) for i in range(len(rows))]
    worst = max(abs(a - b) for a, b in zip(expected, singles, strict=True))
    if worst > TOLERANCE:
        raise SystemExit(f"xgboost's batched and single-row answers differ by {worst}")
    return {"features": features, "rows": rows, "expected": singles, "check": _pick_checks(singles)}


def main(argv: list[str]) -> int:
    count = 1000
    if "--count" in argv:
        i = argv.index("--count")
        count = int(argv[i + 1])
        del argv[i : i + 2]
    model, data, features, out = (Path(a) for a in argv)
    out.write_text(json.dumps(build(model, data, features, count)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
