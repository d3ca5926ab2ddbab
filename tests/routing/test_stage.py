"""The routing stage inside a real data plane: weighted and sticky splits (chi-square over
10,000 requests), measurements, and shadows that never touch the caller's answer or latency."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from scipy import stats

from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.types import InferenceResponse
from modelport.routing.records import Arm, Target
from modelport.routing.stage import Router
from modelport.routing.table import Route, RouteTable
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.pipeline import CallContext
from modelport.serving.source import StaticSource

from .models import Echo, echo_request


@pytest.fixture
async def routed() -> AsyncIterator[tuple[DataPlane, Router]]:
    """Model ``m``: v1 answers 1, v2 answers 2, v3 raises, v4 takes 0.4 s, v5 answers 1."""
    source = StaticSource()
    source.add("m", 1, lambda: Echo(1.0))
    source.add("m", 2, lambda: Echo(2.0))
    source.add("m", 3, lambda: Echo(3.0, fail=True))
    source.add("m", 4, lambda: Echo(4.0, delay_s=0.4))
    source.add("m", 5, lambda: Echo(1.0))
    router = Router(max_shadow_inflight=64)
    plane = DataPlane(ModelManager(source, ManagerConfig(poll_interval_s=0)),
                      stages=[router.stage])
    await plane.start()
    for version in "12345":  # loaded up front: a mirror never waits on a load here
        await plane.models.get("m", version)
    yield plane, router
    await router.stop()
    await plane.stop()


def route(*arms: tuple[int, float], **extra: object) -> Route:
    roles = ["stable", "candidate"]
    return Route(endpoint="ep", deployment_id=7, strategy=str(extra.pop("strategy", "canary")),
                 step=0, arms=tuple(Arm("m", v, w, roles[min(i, 1)])
                                    for i, (v, w) in enumerate(arms)), **extra)  # type: ignore[arg-type]


async def call(plane: DataPlane, name: str = "ep", headers: dict[str, str] | None = None,
               **parameters: object) -> InferenceResponse:
    ctx = CallContext(name=name, headers=headers or {})
    return await plane.infer(name, None, echo_request(**parameters), ctx)


async def test_weighted_split_over_10000_requests_passes_chi_square(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 70), (2, 30))])
    random.seed(20261128)
    seen: Counter[str] = Counter()
    for _ in range(100):
        answers = await asyncio.gather(*(call(plane) for _ in range(100)))
        seen.update(a.model_version or "" for a in answers)
        assert all(float(a.outputs[0].data[0]) == float(a.model_version or 0) for a in answers)
    assert sum(seen.values()) == 10_000
    result = stats.chisquare([seen["1"], seen["2"]], [7_000, 3_000])
    assert result.pvalue > 0.001, seen
    counts = router.collector.drain().primary
    assert counts[(7, 0, "m", 1, "stable")].requests == seen["1"]
    assert counts[(7, 0, "m", 2, "candidate")].requests == seen["2"]


async def test_sticky_keys_keep_their_arm_and_split_by_weight(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 50), (2, 50), strategy="ab",
                                     sticky=("header", "x-ab-key"))])
    first = {key: (await call(plane, headers={"x-ab-key": key})).model_version
             for key in ("alice", "bob", "carol", "dave")}
    for _ in range(5):
        for key, version in first.items():
            assert (await call(plane, headers={"x-ab-key": key})).model_version == version
    arms = Counter(router.table.routes["ep"].pick(f"user-{i}").version for i in range(10_000))
    assert stats.chisquare([arms[1], arms[2]], [5_000, 5_000]).pvalue > 0.001


async def test_sticky_key_from_a_request_parameter(routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 50), (2, 50), strategy="ab",
                                     sticky=("parameter", "user"))])
    versions = {(await call(plane, user="u-42")).model_version for _ in range(20)}
    assert len(versions) == 1


async def test_explicit_versions_and_other_names_pass_through(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    own = Route(endpoint="m", deployment_id=8, strategy="canary", step=0,
                arms=(Arm("m", 2, 100, "candidate"),))
    router.table = RouteTable([own])
    assert (await call(plane, name="m")).model_version == "2"
    pinned = await plane.infer("m", "1", echo_request(), CallContext(name="m", version="1"))
    assert pinned.model_version == "1"  # an explicit version is never rerouted
    router.table = RouteTable([route((2, 100))])
    assert (await call(plane, name="m")).model_version == "5"  # unrouted name: its latest
    assert (await call(plane, name="ep")).model_version == "2"


async def test_errors_count_against_the_version_but_bad_input_does_not(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((3, 100))])
    with pytest.raises(PredictionFailed):
        await call(plane)
    bad = echo_request()
    bad.inputs[0].datatype = "INT32"  # not what the signature takes
    with pytest.raises(InvalidInput):
        await plane.infer("ep", None, bad, CallContext(name="ep"))
    counts = router.collector.drain().primary[(7, 0, "m", 3, "stable")]
    assert (counts.requests, counts.errors) == (2, 1)


async def test_failing_shadow_never_reaches_the_caller(routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 100), shadows=(Target("m", 3),), shadow_share=1.0)])
    for _ in range(10):
        answer = await call(plane)
        assert answer.model_version == "1" and float(answer.outputs[0].data[0]) == 1.0
    await router.settle()
    shadow = router.collector.drain().shadow[(7, "m", 3)]
    assert (shadow.mirrored, shadow.failed, shadow.compared) == (10, 10, 0)


async def test_slow_shadow_does_not_slow_the_caller(routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 100), shadows=(Target("m", 4),), shadow_share=1.0,
                                     shadow_timeout_s=0.2)])
    await call(plane)  # warm both versions up
    await asyncio.sleep(0.5)
    router.collector.drain()
    started = time.perf_counter()
    for _ in range(5):
        assert (await call(plane)).model_version == "1"
    assert time.perf_counter() - started < 0.2  # five shadow calls of 0.4 s each: not waited
    await asyncio.sleep(0.6)
    shadow = router.collector.drain().shadow[(7, "m", 4)]
    assert shadow.mirrored == 5 and shadow.timed_out >= 4


async def test_shadow_agreement_difference_and_latency_are_recorded(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 100), shadows=(Target("m", 5), Target("m", 2)),
                                     shadow_share=1.0)])
    for _ in range(20):
        await call(plane)
    await router.settle()
    window = router.collector.drain()
    same, other = window.shadow[(7, "m", 5)].to_dict(), window.shadow[(7, "m", 2)].to_dict()
    assert same["compared"] == 20 and same["agreement"] == 1.0 and same["mean_abs_diff"] == 0
    assert other["agreement"] == 0.0 and other["mean_abs_diff"] == pytest.approx(1.0)
    assert other["shadow_latency_ms"] > 0 and other["primary_latency_ms"] > 0


async def test_shadow_share_mirrors_about_that_share(routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 100), shadows=(Target("m", 5),), shadow_share=0.25)])
    random.seed(7)
    for _ in range(400):
        await call(plane)
    await router.settle()
    mirrored = router.collector.drain().shadow[(7, "m", 5)].mirrored
    assert 60 < mirrored < 140


async def test_ab_routes_record_an_assignment_per_request_id(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((1, 50), (2, 50), strategy="ab", assign=True,
                                     sticky=("header", "x-ab-key"))])
    answer = await call(plane)
    assert answer.id  # the caller gets an id to report its outcome against
    given = echo_request()
    given.id = "req-1"
    await plane.infer("ep", None, given, CallContext(name="ep"))
    assigned = {a.request_id: a for a in router.collector.drain().assignments}
    assert set(assigned) == {answer.id, "req-1"}
    assert str(assigned[answer.id].version) == answer.model_version
    assert assigned[answer.id].prediction == answer.model_version + ".0"


async def test_mirrors_beyond_the_in_flight_cap_are_skipped(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.max_shadow_inflight = 2
    router.table = RouteTable([route((1, 100), shadows=(Target("m", 4),), shadow_share=1.0)])
    for _ in range(5):
        assert (await call(plane)).model_version == "1"
    await router.settle()
    shadow = router.collector.drain().shadow[(7, "m", 4)]
    assert (shadow.mirrored, shadow.skipped) == (2, 3)


async def test_a_finished_rollout_routes_without_measuring(
        routed: tuple[DataPlane, Router]) -> None:
    plane, router = routed
    router.table = RouteTable([route((2, 100), measure=False)])
    assert (await call(plane)).model_version == "2"
    assert router.collector.drain().empty


async def test_monitoring_counts_and_logs_the_endpoint_whatever_model_answers() -> None:
    """Monitor outside the Router: the endpoint label, the in-flight gauge and the log's
    endpoint stay ``ep`` while the model ``m`` answers (routing must not rename the call)."""
    import pyarrow as pa
    from prometheus_client.parser import text_string_to_metric_families

    from modelport.monitoring.config import LogConfig, MonitoringConfig
    from modelport.monitoring.inference_log import InferenceLog
    from modelport.monitoring.monitor import Monitor

    class Sink:
        def __init__(self) -> None:
            self.tables: list[pa.Table] = []

        def write(self, model: str, version: str, day: str, table: pa.Table) -> None:
            self.tables.append(table)

    sink = Sink()
    config = MonitoringConfig(log=LogConfig(root="memory://unused"))
    monitor = Monitor(config, log=InferenceLog(config.log, sink=sink))
    source = StaticSource()
    source.add("m", 1, lambda: Echo(1.0))
    source.add("m", 3, lambda: Echo(3.0, fail=True))
    router = Router()
    plane = DataPlane(ModelManager(source, ManagerConfig(poll_interval_s=0)),
                      stages=[monitor.observe, router.stage, monitor.validate])
    await plane.start()
    try:
        router.table = RouteTable([route((1, 100))])
        for _ in range(3):
            answer = await call(plane)
            assert answer.model_name == "m" and answer.model_version == "1"
        router.table = RouteTable([route((3, 100))])
        with pytest.raises(PredictionFailed):
            await call(plane)
        monitor.log.close()  # type: ignore[union-attr]
    finally:
        await router.stop()
        await plane.stop()
    samples = {}
    for family in text_string_to_metric_families(monitor.metrics.render().decode()):
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    ok = [(labels, v) for labels, v in samples["modelport_requests_total"]]
    assert {(labels["endpoint"], labels["model"], labels["status"]) for labels, v in ok if v} == {
        ("ep", "m", "ok"), ("ep", "m", "prediction_failed")}
    in_flight = {labels["endpoint"]: v for labels, v in samples["modelport_in_flight_requests"]}
    assert in_flight == {"ep": 0.0}  # back to zero for the endpoint, nothing under "m"
    logged = pa.concat_tables(sink.tables)
    assert set(logged["endpoint"].to_pylist()) == {"ep"} and logged.num_rows == 3
