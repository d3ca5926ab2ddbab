"""Metrics of an evaluation: classification (AUC, accuracy, precision/recall at a threshold,
calibration) or regression (MAE, RMSE, R^2), from labels and the model's outputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modelport.runtimes.base import Array

__all__ = ["binary_metrics", "calibration_bins", "multiclass_metrics", "regression_metrics"]


def binary_metrics(y: Array, p: Array, threshold: float) -> dict[str, Any]:
    """``y`` in {0, 1}, ``p`` the positive-class probability."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    pred = (p >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    out: dict[str, Any] = {
        "rows": int(y.shape[0]),
        "positive_rate": float(y.mean()) if y.size else None,
        "accuracy": float((pred == y).mean()) if y.size else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
    }
    prec, rec = out["precision"], out["recall"]
    out["f1"] = 2 * prec * rec / (prec + rec) if prec and rec else None
    both = len(np.unique(y)) == 2
    out["auc"] = float(roc_auc_score(y, p)) if both else None
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    out["log_loss"] = float(log_loss(y, clipped, labels=[0, 1])) if y.size else None
    out["brier"] = float(brier_score_loss(y, p)) if y.size else None
    bins = calibration_bins(y, p)
    out["ece"] = float(sum(b["rows"] * abs(b["mean_score"] - b["positive_rate"]) for b in bins)
                       / max(1, y.size))
    return out


def calibration_bins(y: Array, p: Array, n: int = 10) -> list[dict[str, Any]]:
    """Ten equal-width score bins: mean score against observed positive rate."""
    edges = np.linspace(0.0, 1.0, n + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, n - 1)
    bins = []
    for b in range(n):
        mask = which == b
        if mask.any():
            bins.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "rows": int(mask.sum()),
                         "mean_score": float(p[mask].mean()),
                         "positive_rate": float(y[mask].mean())})
    return bins


def multiclass_metrics(y: Array, proba: Array) -> dict[str, Any]:
    from sklearn.metrics import f1_score, log_loss

    pred = proba.argmax(axis=1)
    k = proba.shape[1]
    return {
        "rows": int(y.shape[0]),
        "accuracy": float((pred == y).mean()) if y.size else None,
        "macro_f1": float(f1_score(y, pred, average="macro", labels=list(range(k)))),
        "log_loss": float(log_loss(y, np.clip(proba, 1e-15, 1), labels=list(range(k)))),
    }


def regression_metrics(y: Array, pred: Array) -> dict[str, Any]:
    err = pred - y
    var = float(((y - y.mean()) ** 2).sum()) if y.size else 0.0
    return {
        "rows": int(y.shape[0]),
        "mae": float(np.abs(err).mean()) if y.size else None,
        "rmse": math.sqrt(float((err ** 2).mean())) if y.size else None,
        "r2": 1 - float((err ** 2).sum()) / var if var > 0 else None,
    }
