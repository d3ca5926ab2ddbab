"""A synthetic but realistic card-transaction table for the fraud case study.

Thirty numeric features (amount, merchant category, hour, device age, velocity counts, ...),
about 1% fraud. Fraud is more likely for large amounts at night, on new devices, with bursts of
recent transactions and far from home, so a tree model can learn it but not trivially. One
pattern is nearly always fraud (a burst of transactions from a risky IP: card testing), so a
model trained on it flags some transactions outright, as a real one would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES: list[str] = [
    "amount",
    "merchant_category",
    "hour",
    "day_of_week",
    "device_age_days",
    "account_age_days",
    "tx_count_1h",
    "tx_count_24h",
    "tx_count_7d",
    "amount_sum_1h",
    "amount_sum_24h",
    "amount_avg_30d",
    "amount_ratio_avg",
    "distinct_merchants_24h",
    "distinct_countries_7d",
    "distance_from_home_km",
    "distance_from_last_km",
    "seconds_since_last_tx",
    "failed_logins_24h",
    "card_present",
    "online",
    "foreign",
    "new_merchant",
    "high_risk_mcc",
    "chargebacks_1y",
    "credit_limit",
    "utilisation",
    "customer_age",
    "ip_risk_score",
    "email_age_days",
]


def make_transactions(n_rows: int, *, seed: int = 7, fraud_rate: float = 0.01) -> pd.DataFrame:
    """``n_rows`` transactions with the 30 features and an ``is_fraud`` label."""
    rng = np.random.default_rng(seed)
    n = n_rows
    amount_avg = rng.lognormal(3.5, 0.8, n)
    cols: dict[str, np.ndarray] = {
        "amount": amount_avg * rng.lognormal(0.0, 0.6, n),
        "merchant_category": rng.integers(0, 40, n).astype(float),
        "hour": rng.integers(0, 24, n).astype(float),
        "day_of_week": rng.integers(0, 7, n).astype(float),
        "device_age_days": rng.exponential(300.0, n),
        "account_age_days": rng.exponential(900.0, n),
        "tx_count_1h": rng.poisson(0.3, n).astype(float),
        "tx_count_24h": rng.poisson(3.0, n).astype(float),
        "tx_count_7d": rng.poisson(18.0, n).astype(float),
        "amount_avg_30d": amount_avg,
        "distinct_merchants_24h": rng.poisson(2.0, n).astype(float),
        "distinct_countries_7d": 1 + rng.poisson(0.1, n).astype(float),
        "distance_from_home_km": rng.exponential(15.0, n),
        "distance_from_last_km": rng.exponential(8.0, n),
        "seconds_since_last_tx": rng.exponential(20000.0, n),
        "failed_logins_24h": rng.poisson(0.05, n).astype(float),
        "card_present": rng.binomial(1, 0.55, n).astype(float),
        "foreign": rng.binomial(1, 0.05, n).astype(float),
        "new_merchant": rng.binomial(1, 0.2, n).astype(float),
        "chargebacks_1y": rng.poisson(0.02, n).astype(float),
        "credit_limit": rng.choice([1000.0, 2500.0, 5000.0, 10000.0, 20000.0], n),
        "customer_age": rng.integers(18, 90, n).astype(float),
        "ip_risk_score": rng.beta(1.5, 8.0, n),
        "email_age_days": rng.exponential(1500.0, n),
    }
    cols["online"] = 1.0 - cols["card_present"]
    cols["high_risk_mcc"] = (cols["merchant_category"] >= 34).astype(float)
    cols["amount_sum_1h"] = cols["amount"] * (1 + cols["tx_count_1h"])
    cols["amount_sum_24h"] = cols["amount"] * (1 + cols["tx_count_24h"] * 0.7)
    cols["amount_ratio_avg"] = cols["amount"] / cols["amount_avg_30d"]
    cols["utilisation"] = np.clip(
        rng.beta(2.0, 5.0, n) + cols["amount"] / cols["credit_limit"], 0, 1
    )

    night = ((cols["hour"] < 5) | (cols["hour"] > 22)).astype(float)
    logit = (
        -7.2
        + 2.2 * np.log1p(cols["amount_ratio_avg"])
        + 1.8 * night
        + 2.4 * (cols["device_age_days"] < 7)
        + 0.9 * cols["tx_count_1h"]
        + 0.8 * cols["foreign"] * cols["online"]
        + 0.6 * np.log1p(cols["distance_from_home_km"] / 50.0)
        + 1.5 * cols["failed_logins_24h"]
        + 6.0 * cols["ip_risk_score"]
        + 0.5 * cols["high_risk_mcc"]
        + 0.7 * cols["new_merchant"] * cols["online"]
    )
    # Shift the intercept so the realised fraud rate is close to the target.
    p = 1.0 / (1.0 + np.exp(-logit))
    p *= fraud_rate / p.mean()
    card_testing = (cols["ip_risk_score"] > 0.45) & (cols["tx_count_1h"] >= 2)
    p[card_testing] = 0.85
    frame = pd.DataFrame({name: cols[name].astype(np.float32) for name in FEATURES})
    frame.insert(0, "transaction_id", np.arange(n, dtype=np.int64))
    frame["is_fraud"] = (rng.random(n) < np.clip(p, 0, 1)).astype(np.int8)
    return frame
