"""Which role each route and RPC needs: the one RBAC table of the server.

REST paths are split exactly the way :class:`modelport.serving.rest.RestApp` dispatches
them, so the model a rule names is the model the handler will touch. A path or RPC no rule
knows needs ``admin`` (fail closed); other packages add rules for the routes they mount
with :func:`add_rest_rule`.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.security.roles import Role

__all__ = [
    "ALWAYS_CHECKED",
    "GRPC_RULES",
    "PUBLIC",
    "GrpcRule",
    "Requirement",
    "add_rest_rule",
    "grpc_rule",
    "rest_requirement",
]


@dataclass(frozen=True, slots=True)
class Requirement:
    """What one request needs: a role (None = public), maybe on one model."""

    role: Role | None
    action: str
    """Said in refusals: '... may not <action>'."""
    model: str | None = None
    audit: str | None = None
    """Audit action recorded once the request was answered (control-plane routes)."""


PUBLIC = Requirement(None, "check health")

_MODELS = "/v2/models/"
_V1 = "/v1/models/"
_REPO = "/v2/repository/models/"
SECURITY_PREFIX = "/v2/security/"

_FIXED: dict[str, Requirement] = {
    "/v2/health/live": PUBLIC,
    "/v2/health/ready": PUBLIC,
    "/docs": Requirement(None, "read the docs page"),
    "/v2": Requirement(Role.VIEWER, "read server metadata"),
    "/v2/": Requirement(Role.VIEWER, "read server metadata"),
    "/openapi.json": Requirement(Role.VIEWER, "read the API description"),
    "/v2/repository/index": Requirement(Role.VIEWER, "list the model repository"),
    "/v2/security/whoami": Requirement(Role.VIEWER, "ask who it is"),
    "/v2/security/approvals": Requirement(Role.APPROVER, "approve model versions",
                                          audit="model.approve.request"),
    "/metrics": Requirement(Role.VIEWER, "read metrics"),
}

_EXTRA: list[tuple[str | None, str, Role, str, str | None]] = []

ALWAYS_CHECKED: tuple[str, ...] = (SECURITY_PREFIX, _REPO)
"""Paths that go through the security wrapper even while authentication is off: admin
routes, and the control-plane routes whose calls are audited."""


def add_rest_rule(
    prefix: str, role: Role, *, method: str | None = None, action: str = "",
    audit: str | None = None,
) -> None:
    """Let routes under ``prefix`` (e.g. ``/v2/deployments/``) be used with ``role``.

    The path segment right after the prefix is taken as the model or endpoint name, so
    scoped principals are held to it.
    """
    global ALWAYS_CHECKED
    _EXTRA.append((method, prefix, role, action or f"use {prefix}", audit))
    if audit is not None:
        ALWAYS_CHECKED = (*ALWAYS_CHECKED, prefix)


def rest_requirement(method: str, path: str) -> Requirement:
    """The requirement of one HTTP request."""
    if path.startswith(_MODELS):
        parts = path[len(_MODELS):].split("/")
        name = parts[0]
        if method == "GET":
            return Requirement(Role.VIEWER, "read model metadata", name)
        return Requirement(Role.PREDICTOR, "run inference", name)
    fixed = _FIXED.get(path)
    if fixed is not None:
        return fixed
    if path.startswith(_REPO):
        name, _, verb = path[len(_REPO):].partition("/")
        action = verb if verb in ("load", "unload") else "load"
        return Requirement(Role.DEPLOYER, f"{action} models", name, audit=f"model.{action}")
    if path.startswith(_V1) and path.endswith(":predict"):
        return Requirement(Role.PREDICTOR, "run inference", path[len(_V1):-len(":predict")])
    if path.startswith(SECURITY_PREFIX):
        return Requirement(Role.ADMIN, "manage API keys and read the audit log")
    for want, prefix, role, doing, audit in _EXTRA:
        if path.startswith(prefix) and (want is None or want == method):
            target = path[len(prefix):].split("/")[0] or None
            return Requirement(role, doing, target, audit=audit)
    return Requirement(Role.ADMIN, f"use {method} {path[:100]}")


@dataclass(frozen=True, slots=True)
class GrpcRule:
    """What one RPC needs; ``model_field`` names the request field holding the model."""

    role: Role | None
    action: str
    model_field: str | None = None
    audit: str | None = None
    streaming: bool = False


GRPC_RULES: dict[str, GrpcRule] = {
    "ServerLive": GrpcRule(None, "check health"),
    "ServerReady": GrpcRule(None, "check health"),
    "ServerMetadata": GrpcRule(Role.VIEWER, "read server metadata"),
    "ModelMetadata": GrpcRule(Role.VIEWER, "read model metadata", "name"),
    "ModelReady": GrpcRule(Role.VIEWER, "read model metadata", "name"),
    "ModelInfer": GrpcRule(Role.PREDICTOR, "run inference", "model_name"),
    "ModelStreamInfer": GrpcRule(Role.PREDICTOR, "run inference", "model_name", streaming=True),
    "RepositoryIndex": GrpcRule(Role.VIEWER, "list the model repository"),
    "RepositoryModelLoad": GrpcRule(Role.DEPLOYER, "load models", "model_name",
                                    audit="model.load"),
    "RepositoryModelUnload": GrpcRule(Role.DEPLOYER, "unload models", "model_name",
                                      audit="model.unload"),
}
_UNKNOWN_RPC = GrpcRule(Role.ADMIN, "call this RPC")
_SERVICE = "/inference.GRPCInferenceService"


def grpc_rule(full_method: str) -> GrpcRule:
    """The rule for ``/package.Service/Method``; unknown RPCs need admin."""
    service, _, name = full_method.rpartition("/")
    if service != _SERVICE:
        return _UNKNOWN_RPC
    return GRPC_RULES.get(name, _UNKNOWN_RPC)
