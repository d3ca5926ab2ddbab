"""Deployments: traffic split, canary, shadow, blue-green, A/B, and the rollout controller.

A deployment file names an endpoint, a strategy and the versions; ``modelport deploy apply``
stores it in the registry database, every server worker picks it up within a second, and the
rollout controller (in the server, or ``modelport deploy controller``) moves it along::

    from modelport.routing import DeploymentService
    service = DeploymentService(registry)
    service.apply(Path("fraud.deploy.yaml").read_text(), actor="alice")
    service.status("fraud").to_dict()

Names are imported on first use, so ``import modelport.routing`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.routing.abtest import ABReport, ab_report
    from modelport.routing.controller import Controller
    from modelport.routing.options import RoutingOptions
    from modelport.routing.plan import DeploymentPlan, plan_deployment
    from modelport.routing.records import Arm, DeploymentRecord, Status, Target
    from modelport.routing.runtime import RoutingRuntime
    from modelport.routing.service import DeploymentService, DeploymentStatus
    from modelport.routing.spec import DeploymentSpec, parse_spec
    from modelport.routing.stage import Router
    from modelport.routing.sync import RoutingSync
    from modelport.routing.table import Route, RouteTable

_WHERE = {
    "ABReport": "abtest",
    "Arm": "records",
    "Controller": "controller",
    "DeploymentPlan": "plan",
    "DeploymentRecord": "records",
    "DeploymentService": "service",
    "DeploymentSpec": "spec",
    "DeploymentStatus": "service",
    "Route": "table",
    "RouteTable": "table",
    "Router": "stage",
    "RoutingOptions": "options",
    "RoutingRuntime": "runtime",
    "RoutingSync": "sync",
    "Status": "records",
    "Target": "records",
    "ab_report": "abtest",
    "parse_spec": "spec",
    "plan_deployment": "plan",
}

__all__ = [
    "ABReport",
    "Arm",
    "Controller",
    "DeploymentPlan",
    "DeploymentRecord",
    "DeploymentService",
    "DeploymentSpec",
    "DeploymentStatus",
    "Route",
    "RouteTable",
    "Router",
    "RoutingOptions",
    "RoutingRuntime",
    "RoutingSync",
    "Status",
    "Target",
    "ab_report",
    "parse_spec",
    "plan_deployment",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'modelport.routing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"modelport.routing.{module}"), name)
