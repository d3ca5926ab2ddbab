"""LitServe: a LitAPI that predicts one 30-float row with the booster.

``python litserve_app.py PORT WORKERS`` with ``BENCH_MODEL`` the path of ``model.json``.
"""

import os
import sys

import litserve as ls
import numpy as np
import xgboost as xgb


class FraudAPI(ls.LitAPI):
    def setup(self, device):  # type: ignore[no-untyped-def]
        self.booster = xgb.Booster()
        self.booster.load_model(os.environ["BENCH_MODEL"])

    def decode_request(self, request):  # type: ignore[no-untyped-def]
        return np.asarray(request["row"], dtype=np.float32).reshape(1, -1)

    def predict(self, rows):  # type: ignore[no-untyped-def]
        return self.booster.inplace_predict(rows)

    def encode_response(self, output):  # type: ignore[no-untyped-def]
        return {"fraud_probability": float(output[0])}


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    server = ls.LitServer(FraudAPI(), accelerator="cpu", workers_per_device=workers)
    server.run(port=port, generate_client_file=False)
