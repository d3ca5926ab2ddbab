"""Token buckets on a fake clock, and the per-model concurrency cap."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidInput
from modelport.security.limits import ConcurrencyCap, RateLimit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit.parse("2/s:3"), clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    clock.now += 100
    assert [limiter.take("a") for _ in range(4)][-1] > 0  # refills to the burst, no more


@pytest.mark.parametrize(
    ("text", "per_second", "burst"),
    [("100/s", 100.0, 100), ("600/m", 10.0, 10), ("30/min:5", 0.5, 5), ("3600/h", 1.0, 1)],
)
def test_parse(text: str, per_second: float, burst: int) -> None:
    assert RateLimit.parse(text) == RateLimit(per_second=per_second, burst=burst)


@pytest.mark.parametrize("text", ["", "100", "10/day", "-1/s", "0/s"])
def test_bad_rates_teach(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"100/s|positive rate"):
        RateLimit.parse(text)


def test_concurrency_cap_counts_per_model() -> None:
    cap = ConcurrencyCap(2)
    assert cap.enter("a") and cap.enter("a") and not cap.enter("a")
    assert cap.enter("b")
    cap.leave("a")
    assert cap.in_flight("a") == 1 and cap.enter("a")
    with pytest.raises(InvalidInput, match=">= 1"):
        ConcurrencyCap(0)
