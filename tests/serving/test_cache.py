"""The prediction cache: exact keys, LRU order, expiry, counts."""

from __future__ import annotations

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.serving.cache import CachePolicy, PredictionCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_hit_after_put_and_counts() -> None:
    cache = PredictionCache(CachePolicy(max_entries=4, ttl_s=10))
    key = cache.key("1", {"x": np.array([1.0, 2.0])})
    assert cache.get(key) is None
    cache.put(key, {"y": np.array([3.0])})
    hit = cache.get(cache.key("1", {"x": np.array([1.0, 2.0])}))
    assert hit is not None and hit["y"].tolist() == [3.0]
    assert (cache.stats.hits, cache.stats.misses, cache.stats.entries) == (1, 1, 1)


def test_key_tells_versions_dtypes_and_shapes_apart() -> None:
    x = np.array([1.0, 2.0])
    keys = {
        PredictionCache.key("1", {"x": x}),
        PredictionCache.key("2", {"x": x}),
        PredictionCache.key("1", {"x": x.astype(np.float32)}),
        PredictionCache.key("1", {"x": x.reshape(2, 1)}),
        PredictionCache.key("1", {"z": x}),
    }
    assert len(keys) == 5


def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache = PredictionCache(CachePolicy(ttl_s=5), clock=clock)
    cache.put("k", {"y": np.zeros(1)})
    clock.now += 4.9
    assert cache.get("k") is not None
    clock.now += 0.2
    assert cache.get("k") is None
    assert cache.stats.entries == 0


def test_least_recently_used_is_evicted() -> None:
    cache = PredictionCache(CachePolicy(max_entries=2))
    cache.put("a", {})
    cache.put("b", {})
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", {})
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_policy_messages_teach() -> None:
    with pytest.raises(InvalidInput, match="give no cache policy"):
        CachePolicy(max_entries=0)
    with pytest.raises(InvalidInput, match="ttl_s"):
        CachePolicy(ttl_s=0)
