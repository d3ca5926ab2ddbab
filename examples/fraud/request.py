"""Send the example rows to a running modelport server over the Open Inference Protocol.

python examples/fraud/request.py --url http://localhost:8080 [--model fraud]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx
import pandas as pd


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--url", default="http://localhost:8080")
    parser.add_argument("--model", default="fraud")
    parser.add_argument(
        "--rows", type=Path, default=Path(__file__).resolve().parent / "data" / "rows.csv"
    )
    args = parser.parse_args()

    rows = pd.read_csv(args.rows).drop(columns=["transaction_id"])
    request = {
        "id": "quickstart-1",
        "inputs": [
            {"name": name, "datatype": "FP32", "shape": [len(rows)], "data": rows[name].tolist()}
            for name in rows.columns
        ],
    }
    response = httpx.post(f"{args.url}/v2/models/{args.model}/infer", json=request, timeout=30)
    response.raise_for_status()
    body = response.json()
    proba = next(o for o in body["outputs"] if o["name"] == "predict_proba")
    fraud = proba["data"][1::2]
    print(json.dumps({"model_version": body.get("model_version"), "fraud_probability": fraud}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
