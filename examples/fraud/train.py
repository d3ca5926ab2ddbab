"""Train the fraud model of the case study and write its files.

    python examples/fraud/train.py [--rows 200000] [--trees 200] [--out examples/fraud]

Writes ``model.json`` (XGBoost), ``data/train.parquet`` (the training table), ``data/rows.csv``
(ten hold-out rows to predict: eight ordinary ones and the two frauds the model is surest of,
so a demo shows what a fraud looks like) and prints the hold-out AUC (about 0.80 with the
defaults) as JSON on stdout, to pass to ``modelport models register``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import FEATURES, make_transactions


class Progress(xgb.callback.TrainingCallback):
    """A line on stderr every tenth of the boosting rounds: training takes a while."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.every = max(1, rounds // 10)
        self.started = time.monotonic()

    def after_iteration(self, model: object, epoch: int, evals_log: object) -> bool:
        done = epoch + 1
        if done % self.every == 0 or done == self.rounds:
            elapsed = time.monotonic() - self.started
            print(f"  trained {done}/{self.rounds} trees ({elapsed:.0f} s)", file=sys.stderr,
                  flush=True)
        return False


def demo_rows(test: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
    """Eight ordinary hold-out rows and the two frauds the model scores highest."""
    frauds = test.assign(score=scores)[test["is_fraud"] == 1].nlargest(2, "score")
    ordinary = test[test["is_fraud"] == 0].head(10 - len(frauds))
    return pd.concat([ordinary.head(4), frauds, ordinary.iloc[4:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="training rows to generate")
    parser.add_argument("--trees", type=int, default=200, help="boosting rounds")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)

    print(f"  generating {args.rows + args.rows // 4:,} transactions", file=sys.stderr, flush=True)
    table = make_transactions(args.rows + args.rows // 4)
    print(f"  training {args.trees} trees on {args.rows:,} rows", file=sys.stderr, flush=True)
    train, test = table.iloc[: args.rows], table.iloc[args.rows :]
    booster = xgb.train(
        {
            "objective": "binary:logistic",
            "max_depth": 6,
            "eta": 0.1,
            "eval_metric": "auc",
            "scale_pos_weight": 5.0,
            "nthread": 2,
            "tree_method": "hist",
        },
        xgb.DMatrix(train[FEATURES], label=train["is_fraud"], feature_names=FEATURES),
        num_boost_round=args.trees,
        callbacks=[Progress(args.trees)],
    )
    scores = booster.inplace_predict(test[FEATURES].to_numpy())
    auc = float(roc_auc_score(test["is_fraud"], scores))

    (args.out / "data").mkdir(parents=True, exist_ok=True)
    booster.save_model(args.out / "model.json")
    train.to_parquet(args.out / "data" / "train.parquet", index=False)
    rows = demo_rows(test, scores)[["transaction_id", *FEATURES]]
    rows.to_csv(args.out / "data" / "rows.csv", index=False)
    print(
        json.dumps(
            {
                "auc": round(auc, 4),
                "rows": args.rows,
                "fraud_rate": float(train["is_fraud"].mean()),
                "model": str(args.out / "model.json"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
