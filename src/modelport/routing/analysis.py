"""Canary analysis: does the candidate hold every gate against the stable over an interval?

Error rate and p99 latency are read from the candidate's own counts (with the stable's
beside them for comparison); the prediction distribution is compared with the stable's:
PSI over classes for class outputs, PSI over the stable's deciles and the two-sample KS
statistic for continuous outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.routing.spec import Gates
from modelport.routing.stats import PredictionSketch, VersionCounts

__all__ = ["Verdict", "evaluate", "ks_statistic", "psi"]

_EPS = 1e-4


@dataclass(frozen=True, slots=True)
class Verdict:
    """``pass``, ``fail`` or ``wait``, the readings behind it and, on fail, why."""

    verdict: str
    readings: list[dict[str, Any]]
    reason: str = ""


def psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """Population stability index of ``actual`` against ``expected`` (counts per bin)."""
    keys = set(expected) | set(actual)
    e_total = sum(expected.values()) or 1.0
    a_total = sum(actual.values()) or 1.0
    total = 0.0
    for key in keys:
        e = max(expected.get(key, 0.0) / e_total, _EPS)
        a = max(actual.get(key, 0.0) / a_total, _EPS)
        total += (a - e) * math.log(a / e)
    return total


def ks_statistic(a: list[float], b: list[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic D (0 = same, 1 = disjoint)."""
    from scipy import stats

    return float(stats.ks_2samp(a, b).statistic)


def _decile_counts(stable: list[float], candidate: list[float]
                   ) -> tuple[dict[str, float], dict[str, float]]:
    edges = np.unique(np.quantile(np.asarray(stable), np.linspace(0.1, 0.9, 9)))

    def count(values: list[float]) -> dict[str, float]:
        bins = np.searchsorted(edges, np.asarray(values), side="right")
        found, counts = np.unique(bins, return_counts=True)
        return {str(k): float(v) for k, v in zip(found.tolist(), counts.tolist(), strict=True)}

    return count(stable), count(candidate)


def _distribution(gates: Gates, stable: PredictionSketch, candidate: PredictionSketch
                  ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kind = candidate.kind
    if not kind or not stable.kind:  # no answers to compare (e.g. every request failed)
        return out
    if gates.max_prediction_psi is not None:
        if kind == "class":
            value = psi({k: float(v) for k, v in stable.counts.items()},
                        {k: float(v) for k, v in candidate.counts.items()})
        elif stable.sample and candidate.sample:
            value = psi(*_decile_counts(stable.sample, candidate.sample))
        else:
            value = math.nan
        out.append(_reading("max_prediction_psi", gates.max_prediction_psi, value, None,
                            test=f"psi ({kind})"))
    if gates.max_prediction_ks is not None and kind == "continuous":
        value = (ks_statistic(stable.sample, candidate.sample)
                 if stable.sample and candidate.sample else math.nan)
        out.append(_reading("max_prediction_ks", gates.max_prediction_ks, value, None,
                            test="ks"))
    return out


def _class_rates(gates: Gates, stable: PredictionSketch, candidate: PredictionSketch
                 ) -> list[dict[str, Any]]:
    """The share of each limited class among the candidate's (and the stable's) answers."""
    if not gates.max_class_rate or candidate.kind != "class":
        return []

    def share(sketch: PredictionSketch, name: str) -> float | None:
        total = sum(sketch.counts.values())
        return sketch.counts.get(name, 0) / total if total and sketch.kind == "class" else None

    return [_reading(f"max_class_rate[{name}]", limit, share(candidate, name),
                     share(stable, name))
            for name, limit in sorted(gates.max_class_rate.items())]


def _reading(gate: str, limit: float, candidate: float | None, stable: float | None,
             **extra: Any) -> dict[str, Any]:
    known = candidate is not None and not math.isnan(candidate)
    return {"gate": gate, "limit": limit,
            "candidate": candidate if known else None,
            "stable": stable,
            "ok": (candidate <= limit) if known and candidate is not None else None,
            **extra}


def evaluate(gates: Gates, counts: Mapping[str, VersionCounts], *, min_requests: int
             ) -> Verdict:
    """Judge one interval from the merged counts of each role."""
    stable = counts.get("stable", VersionCounts())
    candidate = counts.get("candidate", VersionCounts())
    readings: list[dict[str, Any]] = [
        {"gate": "requests", "limit": min_requests, "candidate": candidate.requests,
         "stable": stable.requests, "ok": candidate.requests >= min_requests},
    ]
    if candidate.requests < min_requests:
        return Verdict("wait", readings,
                       f"candidate answered {candidate.requests} requests this interval; "
                       f"the gates need {min_requests}")
    if gates.max_error_rate is not None:
        readings.append(_reading("max_error_rate", gates.max_error_rate, candidate.error_rate,
                                 stable.error_rate))
    if gates.max_p99_latency_ms is not None:
        readings.append(_reading("max_p99_latency_ms", gates.max_p99_latency_ms,
                                 candidate.latency.quantile(0.99),
                                 stable.latency.quantile(0.99)))
    if stable.requests >= min_requests or not stable.requests:
        readings += _distribution(gates, stable.predictions, candidate.predictions)
    readings += _class_rates(gates, stable.predictions, candidate.predictions)
    failed = [r for r in readings[1:] if r["ok"] is False]
    if failed:
        reason = "; ".join(
            f"{r['gate']}: candidate {_fmt(r['candidate'])} > limit {_fmt(r['limit'])}"
            + (f" (stable {_fmt(r['stable'])})" if r.get("stable") is not None else "")
            for r in failed)
        return Verdict("fail", readings, reason)
    return Verdict("pass", readings)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
