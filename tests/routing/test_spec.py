"""Deployment files: good ones parse; each kind of bad one names its line and the reason."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidInput
from modelport.routing.spec import parse_duration, parse_spec

from .models import deploy_yaml

ISSUE_EXAMPLE = """\
# fraud.deploy.yaml
endpoint: fraud
strategy: canary                # canary | blue-green | ab
stable: fraud:3
candidate: fraud:4
shadow: [fraud:5]               # optional: mirrored traffic, answers discarded
canary:
  steps: [5, 25, 50, 100]       # percent of traffic
  interval: 5m
  gates:                        # candidate versus stable over each interval
    max_error_rate: 0.01
    max_p99_latency_ms: 50
    max_prediction_psi: 0.2
  on_failure: rollback
"""


def test_the_issue_example_parses() -> None:
    spec, _ = parse_spec(ISSUE_EXAMPLE)
    assert spec.endpoint == "fraud" and spec.strategy == "canary"
    assert spec.shadow == ["fraud:5"] and spec.shadow_share == 100
    assert spec.canary is not None
    assert spec.canary.steps == [5, 25, 50, 100]
    assert spec.canary.interval_s == 300
    assert spec.canary.gates.max_p99_latency_ms == 50
    assert spec.canary.on_failure == "rollback"


def test_blue_green_and_ab_parse_with_defaults() -> None:
    spec, _ = parse_spec(deploy_yaml(strategy="blue-green"))
    assert spec.blue_green is None and spec.canary is None
    ab, _ = parse_spec(deploy_yaml(strategy="ab", section="ab:\n  weights: {stable: 70, "
                                                         "candidate: 30}\n  sticky_key: "
                                                         "parameter:user\n"))
    assert ab.ab_weights() == (70, 30)
    assert ab.ab is not None and ab.ab.sticky_key == "parameter:user"


@pytest.mark.parametrize(("text", "unit"), [("30s", 30), ("5m", 300), ("1h", 3600),
                                            ("250ms", 0.25), ("1.5s", 1.5)])
def test_durations(text: str, unit: float) -> None:
    assert parse_duration(text) == unit


@pytest.mark.parametrize(
    ("replace", "by", "line", "reason"),
    [
        ("steps: [5, 25, 50, 100]", "steps: [5, 25, 20, 100]", 8, "steps must increase"),
        ("steps: [5, 25, 50, 100]", "steps: [5, 25, 50]", 8, "steps must end at 100"),
        ("steps: [5, 25, 50, 100]", "steps: [0, 50, 100]", 8, "between 1 and 100"),
        ("interval: 5m", "interval: 5 minutes", 9, "bad duration '5 minutes'"),
        ("interval: 5m", "interval: 5", 9, "bad duration 5"),
        ("strategy: canary ", "strategy: linear ", 3, "unknown strategy 'linear'"),
        ("on_failure: rollback", "on_failure: explode", 14, "'rollback' or 'pause'"),
        ("max_p99_latency_ms: 50", "max_p99_latency: 50", 12, "unknown field 'max_p99_latency'"),
        ("stable: fraud:3", "stable: fraud:three", 4, "version must be a whole number"),
        ("endpoint: fraud", "endpoint: 'bad name!'", 2, "invalid endpoint name"),
    ],
)
def test_bad_files_name_the_line_and_reason(replace: str, by: str, line: int,
                                             reason: str) -> None:
    assert replace in ISSUE_EXAMPLE
    with pytest.raises(InvalidInput) as info:
        parse_spec(ISSUE_EXAMPLE.replace(replace, by), label="fraud.deploy.yaml")
    assert f"fraud.deploy.yaml line {line}" in info.value.message
    assert reason in info.value.message
    assert info.value.details["errors"][0]["line"] == line


def test_ab_weights_must_sum_to_100() -> None:
    text = deploy_yaml(strategy="ab", section="ab:\n  weights:\n    stable: 60\n"
                                              "    candidate: 30\n")
    with pytest.raises(InvalidInput, match=r"line 6, ab.weights: A/B weights must sum to 100, "
                                           r"got 90"):
        parse_spec(text)


def test_ab_weights_must_name_both_arms() -> None:
    text = deploy_yaml(strategy="ab", section="ab:\n  weights: {stable: 50, other: 50}\n")
    with pytest.raises(InvalidInput, match=r"line 6, ab\.weights: .*stable and candidate"):
        parse_spec(text)


def test_every_problem_is_listed() -> None:
    text = ISSUE_EXAMPLE.replace("steps: [5, 25, 50, 100]", "steps: [50, 25]").replace(
        "interval: 5m", "interval: soon")
    with pytest.raises(InvalidInput) as info:
        parse_spec(text)
    lines = [e["line"] for e in info.value.details["errors"]]
    assert lines == [8, 9]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (deploy_yaml(strategy="canary", section=""), 2, "needs a 'canary' section"),
        (deploy_yaml(strategy="ab", section="canary:\n  steps: [100]\n  interval: 1s\n"), 5,
         "section 'canary' belongs to strategy canary, not ab"),
        (deploy_yaml(candidate="fraud:1"), 4, "is the stable version"),
        (deploy_yaml(extra="shadow: [fraud:2]\n"), 5, "already serves live traffic"),
        ("endpoint: fraud\nstrategy: canary\n", 1, "stable is required"),
        ("- just\n- a list\n", 1, "a deployment file is a YAML mapping"),
        ("endpoint: [unclosed\n", 2, "not valid YAML"),
    ],
)
def test_inconsistent_files(text: str, line: int, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_spec(text)
    assert f"line {line}" in info.value.message
    assert reason in info.value.message


def test_interval_below_a_second_is_refused() -> None:
    text = ISSUE_EXAMPLE.replace("interval: 5m", "interval: 200ms")
    with pytest.raises(InvalidInput, match=r"line 9, canary\.interval: .*too short"):
        parse_spec(text)
