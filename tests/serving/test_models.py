"""The model manager: lazy loading, LRU unloading, failed loads, hot swap by alias."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from modelport.errors import InvalidInput, NotFound, Unavailable
from modelport.serving.models import ManagerConfig, ModelManager, ModelState
from modelport.serving.source import StaticSource

from .tiny import Scaler, broken


def manager(source: StaticSource, *refs: str, **config: object) -> ModelManager:
    config.setdefault("poll_interval_s", 0)
    return ModelManager(source, ManagerConfig(refs=refs, **config))  # type: ignore[arg-type]


async def test_loads_lazily_on_first_use(source: StaticSource) -> None:
    models = manager(source, "scaler@production")
    await models.start()
    assert models.lookup("scaler") is None
    served = await models.get("scaler")
    assert (served.name, served.version) == ("scaler", "1")
    assert models.lookup("scaler") is served
    await models.stop()


async def test_unknown_models_and_versions_are_not_found(source: StaticSource) -> None:
    models = manager(source, "scaler")
    with pytest.raises(NotFound, match="not served here; this server serves: scaler"):
        await models.get("other")
    with pytest.raises(NotFound, match="has no version 9"):
        await models.get("scaler", "9")
    with pytest.raises(NotFound, match="versions are whole numbers"):
        await models.get("scaler", "v1")
    open_models = manager(source)
    with pytest.raises(NotFound, match="model 'nope' is not known"):
        await open_models.get("nope")
    assert [s.name for s in await open_models.index()] == ["other", "scaler"]
    await models.stop()
    await open_models.stop()


async def test_a_listed_model_twice_is_refused(source: StaticSource) -> None:
    with pytest.raises(InvalidInput, match="listed twice"):
        manager(source, "scaler@production", "scaler:2")


async def test_a_specific_version_loads_beside_the_default(source: StaticSource) -> None:
    models = manager(source, "scaler@production")
    two = await models.get("scaler", "2")
    one = await models.get("scaler", "1")
    assert (one.version, two.version) == ("1", "2")
    assert models.versions("scaler") == ["1", "2"]
    await models.stop()


async def test_a_model_still_loading_is_unavailable(source: StaticSource) -> None:
    source.add("slow", 1, lambda: Scaler(load_delay_s=0.5))
    models = manager(source, "slow", load_wait_s=0.05)
    with pytest.raises(Unavailable, match="still loading"):
        await models.get("slow")
    assert [s.state for s in await models.index()] == [ModelState.LOADING]
    await asyncio.sleep(0.6)
    assert (await models.get("slow")).version == "1"
    await models.stop()


async def test_a_failed_load_is_a_clear_503_and_is_not_retried_at_once() -> None:
    calls = []

    def failing() -> Scaler:
        calls.append(1)
        return broken()  # type: ignore[return-value]

    source = StaticSource()
    source.add("bad", 1, failing)
    models = manager(source, "bad")
    for _ in range(3):
        with pytest.raises(Unavailable, match="could not be loaded: RuntimeError: weights file"):
            await models.get("bad")
    assert len(calls) == 1
    [status] = await models.index()
    assert status.state == ModelState.UNAVAILABLE and "corrupt" in status.reason
    await models.stop()


async def test_least_recently_used_models_are_unloaded(source: StaticSource) -> None:
    source.add("third", 1, lambda: Scaler(4.0))
    models = manager(source, "scaler", "other", "third", max_loaded=2)
    first = await models.get("scaler")
    await models.get("other")
    await models.get("scaler")  # scaler is now more recent than other
    await models.get("third")
    await asyncio.sleep(0.05)
    assert models.lookup("other") is None
    assert models.lookup("scaler") is first and models.lookup("third") is not None
    assert {s.name: s.state for s in await models.index()}["other"] == ModelState.UNAVAILABLE
    assert (await models.get("other")).version == "1"  # loads again on use
    await models.stop()


async def test_preload_and_readiness(source: StaticSource) -> None:
    source.add("slow", 1, lambda: Scaler(load_delay_s=0.2))
    models = manager(source, "slow", "scaler")
    assert not models.ready
    await models.start(preload=True)
    assert not models.ready
    await asyncio.sleep(0.4)
    assert models.ready
    assert models.lookup("slow") is not None and models.lookup("scaler") is not None
    await models.stop()


async def test_unload_then_load_through_the_repository(source: StaticSource) -> None:
    models = manager(source, "scaler")
    served = await models.get("scaler")
    status = await models.unload("scaler")
    assert status.state == ModelState.UNAVAILABLE and status.reason == "unloaded"
    assert served.runtime.unloaded  # type: ignore[attr-defined]
    with pytest.raises(Unavailable, match="load it again with POST"):
        await models.get("scaler")
    assert (await models.load("scaler")).state == ModelState.READY
    assert (await models.get("scaler")).version == "2"
    await models.stop()


async def test_alias_move_swaps_in_the_new_version(source: StaticSource) -> None:
    models = manager(source, "scaler@production")
    old = await models.get("scaler")
    source.set_alias("scaler", "production", 2)
    await models.refresh()
    new = models.lookup("scaler")
    assert new is not None and new.version == "2"
    await asyncio.sleep(0.05)
    assert old.runtime.unloaded  # type: ignore[attr-defined]
    await models.stop()


async def test_a_version_that_fails_to_load_never_replaces_the_serving_one(
    source: StaticSource,
) -> None:
    source.add("scaler", 3, broken)  # type: ignore[arg-type]
    models = manager(source, "scaler@production")
    await models.get("scaler")
    source.set_alias("scaler", "production", 3)
    await models.refresh()
    served = models.lookup("scaler")
    assert served is not None and served.version == "1"
    out = await served.predict({"x": np.ones((1, 3), dtype=np.float32)})
    assert out["y"].tolist() == [[2.0, 2.0, 2.0]]
    await models.stop()


async def test_hot_swap_under_load_fails_no_request(source: StaticSource) -> None:
    source.add("scaler", 3, lambda: Scaler(4.0, load_delay_s=0.1))
    models = manager(source, "scaler@production", poll_interval_s=0.05)
    await models.start()
    seen: dict[float, int] = {}
    errors: list[BaseException] = []
    stop_at = time.monotonic() + 1.2

    async def client() -> None:
        while time.monotonic() < stop_at:
            try:
                served = models.lookup("scaler") or await models.get("scaler")
                out = await served.predict({"x": np.ones((1, 3), dtype=np.float32)})
                factor = float(out["y"][0, 0])
                seen[factor] = seen.get(factor, 0) + 1
            except Exception as exc:
                errors.append(exc)
            await asyncio.sleep(0)

    async def mover() -> None:
        for version in (2, 3, 1, 2):
            await asyncio.sleep(0.25)
            source.set_alias("scaler", "production", version)

    await asyncio.gather(*(client() for _ in range(8)), mover())
    assert errors == []
    assert set(seen) == {2.0, 3.0, 4.0}
    deadline = time.monotonic() + 10  # the last move may still be loading on a busy machine
    while models.lookup("scaler").version != "2" and time.monotonic() < deadline:  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
    assert models.lookup("scaler").version == "2"  # type: ignore[union-attr]
    await models.stop()
