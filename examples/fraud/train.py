"""Train the fraud model of the case study and write its files.

    python examples/fraud/train.py [--rows 200000] [--trees 200] [--out examples/fraud]

Writes ``model.json`` (XGBoost), ``data/train.parquet`` (the training table), ``data/rows.csv``
(a few rows to predict) and prints the hold-out AUC to pass to ``modelport models register``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import xgboost as xgb
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import FEATURES, make_transactions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="training rows to generate")
    parser.add_argument("--trees", type=int, default=200, help="boosting rounds")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)

    table = make_transactions(args.rows + args.rows // 4)
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
    )
    auc = float(roc_auc_score(test["is_fraud"], booster.inplace_predict(test[FEATURES].to_numpy())))

    (args.out / "data").mkdir(parents=True, exist_ok=True)
    booster.save_model(args.out / "model.json")
    train.to_parquet(args.out / "data" / "train.parquet", index=False)
    test.head(10)[["transaction_id", *FEATURES]].to_csv(args.out / "data" / "rows.csv", index=False)
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
