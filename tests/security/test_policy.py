"""The RBAC table: every route and RPC of the server has the role the issue asks for."""

from __future__ import annotations

import pytest

from modelport.security import policy
from modelport.security.policy import grpc_rule, rest_requirement
from modelport.security.roles import Role

V, P, D, A = Role.VIEWER, Role.PREDICTOR, Role.DEPLOYER, Role.ADMIN


@pytest.mark.parametrize(
    ("method", "path", "role", "model"),
    [
        ("GET", "/v2/health/live", None, None),
        ("GET", "/v2/health/ready", None, None),
        ("GET", "/docs", None, None),
        ("GET", "/v2", V, None),
        ("GET", "/openapi.json", V, None),
        ("POST", "/v2/repository/index", V, None),
        ("GET", "/v2/models/fraud", V, "fraud"),
        ("GET", "/v2/models/fraud/versions/2/ready", V, "fraud"),
        ("POST", "/v2/models/fraud/infer", P, "fraud"),
        ("POST", "/v2/models/fraud/versions/2/infer", P, "fraud"),
        ("POST", "/v1/models/fraud:predict", P, "fraud"),
        ("POST", "/v2/repository/models/fraud/load", D, "fraud"),
        ("POST", "/v2/repository/models/fraud/unload", D, "fraud"),
        ("GET", "/v2/security/whoami", V, None),
        ("GET", "/metrics", V, None),
        ("GET", "/v2/security/keys", A, None),
        ("DELETE", "/v2/security/keys/abc", A, None),
        ("GET", "/v2/something/new", A, None),
        ("GET", "/v2/models/../repository/models/x/load", V, ".."),
    ],
)
def test_rest_requirements(method: str, path: str, role: Role | None, model: str | None) -> None:
    need = rest_requirement(method, path)
    assert (need.role, need.model) == (role, model)


def test_control_plane_routes_are_audited() -> None:
    assert rest_requirement("POST", "/v2/repository/models/x/load").audit == "model.load"
    assert rest_requirement("POST", "/v2/models/x/infer").audit is None


def test_other_packages_add_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, "_EXTRA", [])
    monkeypatch.setattr(policy, "ALWAYS_CHECKED", policy.ALWAYS_CHECKED)
    policy.add_rest_rule("/v2/deployments/", D, method="POST", audit="deploy")
    need = rest_requirement("POST", "/v2/deployments/fraud/rollback")
    assert (need.role, need.model, need.audit) == (D, "fraud", "deploy")
    assert rest_requirement("GET", "/v2/deployments/fraud").role == A  # method not covered
    assert "/v2/deployments/" in policy.ALWAYS_CHECKED


@pytest.mark.parametrize(
    ("rpc", "role", "field"),
    [
        ("ServerLive", None, None), ("ServerReady", None, None), ("ServerMetadata", V, None),
        ("ModelMetadata", V, "name"), ("ModelReady", V, "name"),
        ("ModelInfer", P, "model_name"), ("ModelStreamInfer", P, "model_name"),
        ("RepositoryIndex", V, None), ("RepositoryModelLoad", D, "model_name"),
        ("RepositoryModelUnload", D, "model_name"),
    ],
)
def test_grpc_rules(rpc: str, role: Role | None, field: str | None) -> None:
    rule = grpc_rule(f"/inference.GRPCInferenceService/{rpc}")
    assert (rule.role, rule.model_field) == (role, field)


def test_unknown_rpcs_need_admin() -> None:
    assert grpc_rule("/grpc.health.v1.Health/Check").role == A
    assert grpc_rule("/other.Service/ServerLive").role == A
    assert grpc_rule("/inference.GRPCInferenceService/Shutdown").role == A
