"""Roles nest, scopes hold, and refusals say what is missing."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidInput, PermissionDenied, Unauthenticated
from modelport.security.roles import ANONYMOUS, Principal, Role, authorize, parse_models


def who(role: Role, models: frozenset[str] | None = None) -> Principal:
    return Principal(id="key:abc", name="svc", role=role, models=models)


@pytest.mark.parametrize("have", list(Role))
@pytest.mark.parametrize("need", list(Role))
def test_each_role_includes_the_ones_below(have: Role, need: Role) -> None:
    if have >= need:
        assert authorize(who(have), need, "fraud") == who(have)
    else:
        with pytest.raises(PermissionDenied, match=f"needs role {need.label} or higher"):
            authorize(who(have), need, "fraud", action="do it")


def test_scoped_principals_touch_only_their_models() -> None:
    scoped = who(Role.ADMIN, frozenset({"fraud"}))
    authorize(scoped, Role.PREDICTOR, "fraud")
    authorize(scoped, Role.VIEWER, None)  # server-wide reads stay allowed
    with pytest.raises(PermissionDenied, match="limited to models fraud; it may not run "
                       "inference on model 'churn'"):
        authorize(scoped, Role.PREDICTOR, "churn", action="run inference")


def test_nobody_is_401_and_anonymous_may_do_anything() -> None:
    with pytest.raises(Unauthenticated, match="Authorization: Bearer"):
        authorize(None, Role.VIEWER)
    assert authorize(ANONYMOUS, Role.ADMIN, "x") is ANONYMOUS


def test_parsing() -> None:
    assert Role.parse(" Deployer ") is Role.DEPLOYER
    with pytest.raises(InvalidInput, match="viewer, predictor, deployer, approver, admin"):
        Role.parse("root")
    assert parse_models("a, b,,") == frozenset({"a", "b"})
    assert parse_models("") is None and parse_models(None) is None and parse_models([]) is None
