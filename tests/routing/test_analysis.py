"""Canary analysis: PSI, KS, p99 from the histogram, and the verdict over an interval."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from modelport.protocol.types import Tensor
from modelport.routing.analysis import evaluate, ks_statistic, psi
from modelport.routing.spec import Gates
from modelport.routing.stats import LatencyHistogram, PredictionSketch, VersionCounts


def counts(requests: int, errors: int = 0, latency_ms: float = 5.0,
           labels: list[int] | None = None, values: list[float] | None = None) -> VersionCounts:
    out = VersionCounts(requests=requests, errors=errors)
    for _ in range(requests):
        out.latency.add(latency_ms)
    if labels is not None:
        out.predictions.add(Tensor(name="p", datatype="INT64", data=np.array(labels)))
    if values is not None:
        out.predictions.add(Tensor(name="p", datatype="FP64", data=np.array(values)))
    return out


def test_psi_is_zero_for_equal_and_grows_with_shift() -> None:
    same = {"0": 50.0, "1": 50.0}
    assert psi(same, same) == 0
    small = psi(same, {"0": 45.0, "1": 55.0})
    large = psi(same, {"0": 10.0, "1": 90.0})
    assert 0 < small < 0.05 < 0.2 < large
    assert large == pytest.approx(0.4 * math.log(0.9 / 0.5) + 0.4 * math.log(0.5 / 0.1))


def test_ks_statistic() -> None:
    a = [float(i) for i in range(100)]
    assert ks_statistic(a, a) == 0
    assert ks_statistic(a, [v + 1000 for v in a]) == 1


def test_latency_histogram_quantiles_within_five_percent() -> None:
    hist = LatencyHistogram()
    rng = random.Random(1)
    values = [rng.uniform(1, 100) for _ in range(10_000)]
    for v in values:
        hist.add(v)
    true_p99 = sorted(values)[9899]
    got = hist.quantile(0.99)
    assert got is not None and true_p99 <= got <= true_p99 * 1.06
    again = LatencyHistogram.from_json(hist.to_json())
    assert again.quantile(0.5) == hist.quantile(0.5)
    assert LatencyHistogram().quantile(0.99) is None


def test_continuous_sketch_keeps_a_bounded_sample() -> None:
    sketch = PredictionSketch()
    sketch.add(Tensor(name="p", datatype="FP64", data=np.arange(5000, dtype=np.float64)))
    assert sketch.kind == "continuous" and len(sketch.sample) == 256 and sketch.seen == 5000
    assert 1000 < np.mean(sketch.sample) < 4000  # uniform over the whole stream


GATES = Gates(max_error_rate=0.05, max_p99_latency_ms=50, max_prediction_psi=0.2,
              max_prediction_ks=0.3)


def test_too_little_data_waits() -> None:
    verdict = evaluate(GATES, {"stable": counts(100), "candidate": counts(3)}, min_requests=10)
    assert verdict.verdict == "wait"
    assert "answered 3 requests" in verdict.reason


def test_healthy_candidate_passes_every_gate() -> None:
    labels = [0, 1] * 50
    verdict = evaluate(GATES, {"stable": counts(100, labels=labels),
                               "candidate": counts(100, errors=1, labels=labels)},
                       min_requests=10)
    assert verdict.verdict == "pass", verdict
    gates = {r["gate"]: r for r in verdict.readings}
    assert gates["max_error_rate"]["candidate"] == 0.01 and gates["max_error_rate"]["ok"]
    assert gates["max_p99_latency_ms"]["candidate"] == pytest.approx(5, rel=0.06)
    assert gates["max_prediction_psi"]["candidate"] == 0 and gates["max_prediction_psi"]["ok"]
    assert "max_prediction_ks" not in gates  # class outputs: PSI only


@pytest.mark.parametrize(
    ("candidate", "gate"),
    [
        (counts(100, errors=20, labels=[0, 1] * 50), "max_error_rate"),
        (counts(100, latency_ms=120, labels=[0, 1] * 50), "max_p99_latency_ms"),
        (counts(100, labels=[1] * 95 + [0] * 5), "max_prediction_psi"),
    ],
)
def test_a_failing_gate_fails_the_interval_and_says_why(candidate: VersionCounts,
                                                        gate: str) -> None:
    verdict = evaluate(GATES, {"stable": counts(100, labels=[0, 1] * 50),
                               "candidate": candidate}, min_requests=10)
    assert verdict.verdict == "fail"
    assert verdict.reason.startswith(f"{gate}: candidate ")
    assert [r["gate"] for r in verdict.readings if r["ok"] is False] == [gate]


def test_continuous_outputs_use_ks_and_decile_psi() -> None:
    rng = np.random.default_rng(0)
    stable = counts(200, values=rng.normal(size=200).tolist())
    same = counts(200, values=rng.normal(size=200).tolist())
    shifted = counts(200, values=(rng.normal(size=200) + 2).tolist())
    ok = evaluate(GATES, {"stable": stable, "candidate": same}, min_requests=10)
    assert ok.verdict == "pass"
    bad = evaluate(GATES, {"stable": stable, "candidate": shifted}, min_requests=10)
    failed = {r["gate"]: r for r in bad.readings if r["ok"] is False}
    assert set(failed) == {"max_prediction_psi", "max_prediction_ks"}
    assert failed["max_prediction_ks"]["test"] == "ks"
    assert failed["max_prediction_ks"]["candidate"] > 0.5


def test_class_rate_gate_fails_a_candidate_that_reviews_too_much() -> None:
    def decisions(review: int, approve: int) -> VersionCounts:
        out = VersionCounts(requests=review + approve)
        data = np.array([b"review"] * review + [b"approve"] * approve, dtype=object)
        out.predictions.add(Tensor(name="decide.decision", datatype="BYTES", data=data))
        return out

    gates = Gates(max_class_rate={"review": 0.2})
    calm = evaluate(gates, {"stable": decisions(5, 45), "candidate": decisions(8, 42)},
                    min_requests=10)
    assert calm.verdict == "pass"
    noisy = evaluate(gates, {"stable": decisions(5, 45), "candidate": decisions(30, 20)},
                     min_requests=10)
    assert noisy.verdict == "fail"
    assert "max_class_rate[review]: candidate 0.6 > limit 0.2 (stable 0.1)" in noisy.reason
    with pytest.raises(ValueError, match="less than or equal to 1"):
        Gates(max_class_rate={"review": 2})
