"""The feature transform, registered as a Python step: raw event fields -> 105 features.

One-hot hour (24), day (7), merchant category (20), device bucket (32) and country (10), plus
twelve numeric features (log amount, amount against the customer's average, velocity, age,
distance, ...). Vectorised over the whole batch.
"""

from __future__ import annotations

import numpy as np

COUNTRIES = ["US", "GB", "FR", "DE", "ES", "IT", "NL", "BR", "NG", "IN"]
NUMERIC_RAW = ["amount", "hour", "day_of_week", "merchant_category", "device_bucket",
               "new_device", "velocity_1h", "velocity_24h", "customer_age_days",
               "customer_avg_amount", "distance_km"]
ONE_HOT = [("hour", 24), ("day_of_week", 7), ("merchant_category", 20), ("device_bucket", 32)]
DENSE = ["log_amount", "amount_ratio", "new_device", "velocity_1h", "velocity_24h",
         "velocity_ratio", "log_customer_age", "log_avg_amount", "log_distance", "night",
         "far_and_new", "big_and_new"]
FEATURES = (DENSE + [f"{name}_{i}" for name, width in ONE_HOT for i in range(width)]
            + [f"country_{c}" for c in COUNTRIES])


class Features:
    signature = {
        "inputs": [{"name": n, "datatype": "FP64", "shape": [-1]} for n in NUMERIC_RAW]
        + [{"name": "country", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [{"name": f, "datatype": "FP32", "shape": [-1]} for f in FEATURES],
    }

    def load(self, path):  # type: ignore[no-untyped-def]
        pass

    def predict(self, x):  # type: ignore[no-untyped-def]
        amount, avg = x["amount"], x["customer_avg_amount"]
        dense = {
            "log_amount": np.log1p(amount),
            "amount_ratio": amount / np.maximum(avg, 1.0),
            "new_device": x["new_device"],
            "velocity_1h": x["velocity_1h"],
            "velocity_24h": x["velocity_24h"],
            "velocity_ratio": x["velocity_1h"] / (x["velocity_24h"] + 1.0),
            "log_customer_age": np.log1p(x["customer_age_days"]),
            "log_avg_amount": np.log1p(avg),
            "log_distance": np.log1p(x["distance_km"]),
            "night": ((x["hour"] < 5) | (x["hour"] > 22)).astype(float),
            "far_and_new": (x["distance_km"] > 100) * x["new_device"],
            "big_and_new": (amount > 300) * x["new_device"],
        }
        out = {name: np.asarray(v, dtype=np.float32) for name, v in dense.items()}
        for name, width in ONE_HOT:
            codes = x[name].astype(np.int64)
            for i in range(width):
                out[f"{name}_{i}"] = (codes == i).astype(np.float32)
        country = np.asarray(x["country"]).astype(str)
        for c in COUNTRIES:
            out[f"country_{c}"] = (country == c).astype(np.float32)
        return out
