"""Plain FastAPI: one V2 infer route that parses the JSON body and predicts with the booster.

Run with ``uvicorn fastapi_app:app --loop uvloop --http httptools --workers N``;
``BENCH_MODEL`` is the path of the XGBoost ``model.json``.
"""

import os

import numpy as np
import orjson
import xgboost as xgb
from fastapi import FastAPI, Request, Response

booster = xgb.Booster()
booster.load_model(os.environ["BENCH_MODEL"])
app = FastAPI()


@app.get("/v2/health/ready")
async def ready() -> dict[str, bool]:
    return {"ready": True}


@app.post("/v2/models/fraud/infer")
async def infer(request: Request) -> Response:
    body = orjson.loads(await request.body())
    tensor = body["inputs"][0]
    rows = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    proba = booster.inplace_predict(rows)
    out = {
        "model_name": "fraud",
        "outputs": [
            {
                "name": "predict_proba",
                "datatype": "FP32",
                "shape": [len(proba)],
                "data": proba.tolist(),
            }
        ],
    }
    return Response(orjson.dumps(out), media_type="application/json")
