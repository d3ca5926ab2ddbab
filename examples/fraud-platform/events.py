"""Synthetic card transactions as raw events, with a switchable fraud-pattern shift.

Each event has the raw fields a payment system sends (amount, merchant category, hour, day,
device bucket, velocity counts, customer history, country); the feature transform turns them
into 100+ model features. About 0.5% are fraud. Before the shift, fraud is large amounts at
night on new devices with bursts of transactions; after it (``shift=True``), fraud moves to
small daytime amounts at a few merchant categories from familiar devices, which the first
model has never seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNTRIES = ["US", "GB", "FR", "DE", "ES", "IT", "NL", "BR", "NG", "IN"]
RAW = ["amount", "hour", "day_of_week", "merchant_category", "device_bucket", "new_device",
       "velocity_1h", "velocity_24h", "customer_age_days", "customer_avg_amount",
       "distance_km", "country"]


def make_events(n: int, *, seed: int, shift: bool = False, fraud_rate: float = 0.005
                ) -> pd.DataFrame:
    """``n`` raw events with an ``is_fraud`` ground-truth column."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(n) < fraud_rate
    typical = np.zeros(n, dtype=bool)  # a third of fraud looks like ordinary spending
    typical[fraud] = rng.random(int(fraud.sum())) < 0.67
    fraud_all, fraud = fraud, typical
    k = int(fraud.sum())
    amount = rng.lognormal(3.5, 1.0, n)
    hour = rng.choice(24, n, p=_day_profile())
    merchant = rng.integers(0, 20, n)
    new_device = (rng.random(n) < 0.05).astype(float)
    velocity_1h = rng.poisson(0.3, n).astype(float)
    velocity_24h = velocity_1h + rng.poisson(2.0, n)
    distance = rng.exponential(15.0, n)
    if not shift:
        amount[fraud] = rng.lognormal(6.0, 0.8, k)
        hour[fraud] = rng.choice([0, 1, 2, 3, 4, 23], k)
        new_device[fraud] = (rng.random(k) < 0.7).astype(float)
        velocity_1h[fraud] += rng.poisson(3.0, k)
        distance[fraud] = rng.exponential(400.0, k)
    else:
        amount[fraud] = rng.lognormal(2.5, 0.5, k)
        hour[fraud] = rng.choice([10, 11, 14, 15], k)
        merchant[fraud] = rng.choice([3, 7, 11], k)
        velocity_24h[fraud] += rng.poisson(6.0, k)
    return pd.DataFrame({
        "amount": amount.round(2),
        "hour": hour.astype(float),
        "day_of_week": rng.integers(0, 7, n).astype(float),
        "merchant_category": merchant.astype(float),
        "device_bucket": rng.integers(0, 32, n).astype(float),
        "new_device": new_device,
        "velocity_1h": velocity_1h,
        "velocity_24h": velocity_24h.astype(float),
        "customer_age_days": rng.integers(1, 3000, n).astype(float),
        "customer_avg_amount": rng.lognormal(3.5, 0.6, n).round(2),
        "distance_km": distance.round(1),
        "country": rng.choice(COUNTRIES, n, p=[0.4, 0.1, 0.1, 0.1, 0.08, 0.08, 0.06, 0.04,
                                               0.02, 0.02]),
        "is_fraud": fraud_all.astype(int),
    })


def _day_profile() -> np.ndarray:
    weights = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4, 4, 5, 5, 4, 4, 4, 5, 5, 5, 4,
                        3, 2, 1.5])
    return weights / weights.sum()
