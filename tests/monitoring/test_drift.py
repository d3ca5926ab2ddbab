"""The drift statistics: injected drift is found, equal distributions raise no alarm at
the configured significance, and the corrections are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelport.monitoring.config import DriftConfig
from modelport.monitoring.drift import (
    adjust_p_values,
    compare_categorical,
    compare_numeric,
    psi,
)
from modelport.monitoring.drift_check import compare_frames
from modelport.protocol.signature import Signature, TensorSpec

SIG = Signature(
    inputs=(
        TensorSpec(name="amount", datatype="FP64", shape=(-1,)),
        TensorSpec(name="hour", datatype="FP64", shape=(-1,)),
        TensorSpec(name="country", datatype="BYTES", shape=(-1,)),
    ),
    outputs=(TensorSpec(name="score", datatype="FP64", shape=(-1,)),),
)
COUNTRIES = np.array(["FR", "DE", "IT", "ES"], dtype=object)
SHARES = [0.4, 0.3, 0.2, 0.1]


def table(rng: np.random.Generator, n: int, *, shift: float = 0.0,
          shares: list[float] = SHARES) -> pd.DataFrame:
    return pd.DataFrame({
        "amount": rng.lognormal(3.0 + shift, 1.0, n),
        "hour": rng.uniform(0, 24, n),
        "country": rng.choice(COUNTRIES, n, p=shares),
    })


def live(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns=lambda c: f"in_{c}")


def test_injected_drift_is_found_and_only_there() -> None:
    rng = np.random.default_rng(1)
    reference = table(rng, 5000)
    drifted = table(rng, 800, shift=0.5, shares=[0.1, 0.2, 0.3, 0.4])
    features = {f.feature: f for f in compare_frames(reference, live(drifted), SIG,
                                                     DriftConfig())}
    assert features["amount"].drifted and features["amount"].test == "ks"
    assert features["country"].drifted and features["country"].test == "chi2"
    assert features["country"].psi > 0.25
    assert not features["hour"].drifted
    assert features["amount"].p_adjusted <= 0.05


def test_same_distribution_false_alarm_rate_stays_at_alpha() -> None:
    """50 windows drawn from the reference distribution: the share of runs raising any
    alarm stays within alpha (0.05, BH over 3 features) plus sampling tolerance."""
    rng = np.random.default_rng(7)
    reference = table(rng, 3000)
    alarms = 0
    runs = 50
    for _ in range(runs):
        result = compare_frames(reference, live(table(rng, 300)), SIG, DriftConfig(alpha=0.05))
        alarms += any(f.drifted for f in result)
    assert alarms / runs <= 0.05 + 0.08  # 3 sigma of a binomial(50, 0.05) is about 0.09


def test_too_few_live_rows_is_not_tested() -> None:
    rng = np.random.default_rng(0)
    result = {f.feature: f for f in compare_frames(table(rng, 500), live(table(rng, 10)), SIG,
                                                   DriftConfig(min_rows=50))}
    assert result["amount"].verdict == "not tested"
    assert "10 live rows" in result["amount"].note
    assert not result["amount"].drifted


def test_histograms_cover_every_value() -> None:
    ref = np.arange(100.0)
    got = compare_numeric("x", ref, np.array([-5.0, 50.0, 500.0] * 20), bins=4, min_rows=10)
    assert got.bins[0].startswith("<") and got.bins[-1].startswith(">")
    assert sum(got.live_share) == pytest.approx(1.0)
    assert sum(got.reference_share) == pytest.approx(1.0)
    assert got.live_share[0] == pytest.approx(1 / 3) and got.live_share[-1] == pytest.approx(1 / 3)
    cat = compare_categorical("c", ["a", "b"] * 50, [b"a", b"z", None] * 30, min_rows=10)
    assert cat.bins == ("a", "b", "z") and cat.live_rows == 60


def test_psi_is_zero_for_equal_shares_and_grows_with_shift() -> None:
    same = psi(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    small = psi(np.array([0.5, 0.5]), np.array([0.45, 0.55]))
    large = psi(np.array([0.5, 0.5]), np.array([0.1, 0.9]))
    assert same == 0.0 and 0 < small < large


def test_corrections_match_hand_computed_values() -> None:
    p = [0.01, 0.04, 0.03, 0.20]
    assert adjust_p_values(p, "bh") == pytest.approx([0.04, 0.0533333, 0.0533333, 0.20])
    assert adjust_p_values(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert adjust_p_values([], "bh") == []
    with pytest.raises(ValueError, match="bh"):
        adjust_p_values([0.1], "bonferroni")
