"""Routing inside a worker: on for registry-backed servers, off otherwise or when asked."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry
from modelport.routing.options import RoutingOptions
from modelport.routing.runtime import RoutingRuntime
from modelport.routing.service import DeploymentService
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.registry_source import RegistrySource
from modelport.serving.source import StaticSource

from .models import deploy_yaml


def test_routing_needs_a_registry_and_can_be_turned_off(sqlite_fraud: Registry) -> None:
    source = RegistrySource(sqlite_fraud)
    assert RoutingRuntime.for_source(source, RoutingOptions()) is not None
    assert RoutingRuntime.for_source(source, RoutingOptions(enabled=False)) is None
    assert RoutingRuntime.for_source(StaticSource(), RoutingOptions()) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [({"poll_interval_s": 0}, "poll_interval_s must be a number of seconds > 0"),
     ({"lease_ttl_s": 1, "controller_tick_s": 1}, "must exceed controller_tick_s"),
     ({"max_shadow_inflight": -1}, "max_shadow_inflight must be >= 0")],
)
def test_bad_options_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        RoutingOptions(**options)  # type: ignore[arg-type]


async def test_runtime_routes_and_takes_feedback(sqlite_fraud: Registry) -> None:
    DeploymentService(sqlite_fraud).apply(deploy_yaml(strategy="ab", section=None),
                                          actor="alice")
    runtime = RoutingRuntime(sqlite_fraud.engine, RoutingOptions(controller=False),
                             worker="w-test")
    models = ModelManager(RegistrySource(sqlite_fraud), ManagerConfig(poll_interval_s=0))
    await runtime.start(models)
    try:
        route = runtime.router.table.get("fraud")
        assert route is not None and len(route.arms) == 2
        answer = await runtime.feedback("fraud", b'{"id": "r1", "conversion": true}')
        assert answer == {"accepted": 1}
        with pytest.raises(NotFound):
            await runtime.feedback("other", b'{"id": "r1", "conversion": true}')
    finally:
        await runtime.stop()
        await models.stop()
    assert DeploymentService(sqlite_fraud).status("fraud").workers == []  # said goodbye
