"""Feedback bodies: one outcome, a list, or {"feedback": [...]}; anything else is refused with
a message saying what to send."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry
from modelport.routing.feedback import Outcome, parse_feedback, record_outcomes
from modelport.routing.service import DeploymentService

from .models import deploy_yaml


def test_shapes_of_feedback() -> None:
    assert parse_feedback(b'{"id": "r1", "conversion": true}') == [Outcome("r1", True)]
    both = parse_feedback(b'[{"id": "r1", "value": 2}, {"request_id": "r2", "label": 1.0}]')
    assert both == [Outcome("r1", value=2.0), Outcome("r2", label="1")]
    wrapped = parse_feedback(b'{"feedback": [{"id": "r3", "label": "fraud"}]}')
    assert wrapped == [Outcome("r3", label="fraud")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "feedback list is empty"),
        (b'"r1"', "must be an object"),
        (b'{"conversion": true}', "'id' must be the request id"),
        (b'{"id": "", "conversion": true}', "'id' must be the request id"),
        (b'{"id": "r1"}', "reports nothing; give conversion, value or label"),
        (b'{"id": "r1", "conversion": "yes"}', "'conversion' must be true or false"),
        (b'{"id": "r1", "value": "3"}', "'value' must be a finite number"),
        (b'{"id": "r1", "value": true}', "'value' must be a finite number"),
        (b'{"id": "r1", "label": [1]}', "'label' must be a string or a number"),
        (b'{"id": "r1", "converted": true}', "unknown field(s) ['converted']"),
        (b'[{"id": "r1", "value": 1}, 7]', "feedback item 1 must be an object"),
    ],
)
def test_bad_feedback_is_refused_with_a_reason(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_feedback(body)
    assert message in info.value.message


def test_outcomes_need_an_endpoint_with_a_deployment(fraud: Registry) -> None:
    with pytest.raises(NotFound, match="endpoint 'fraud' has no deployment"):
        record_outcomes(fraud.engine, "fraud", [Outcome("r1", True)])
    DeploymentService(fraud).apply(deploy_yaml(), actor="a")
    assert record_outcomes(fraud.engine, "fraud", [Outcome("r1", True), Outcome("r2", False)]) == 2
