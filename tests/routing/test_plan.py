"""Deployment files checked against the registry: unknown models and versions are refused
with their line, aliases resolve to the version they point at when applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import InvalidInput
from modelport.protocol.signature import Signature, TensorSpec
from modelport.registry import Registry
from modelport.routing.plan import initial_weights, plan_deployment
from modelport.routing.records import Target

from .models import deploy_yaml


def test_references_resolve_to_exact_versions(fraud: Registry) -> None:
    fraud.set_alias("fraud", "production", 1, actor="test")
    plan = plan_deployment(fraud, deploy_yaml(stable="fraud@production", candidate="fraud",
                                              extra="shadow: [fraud:2]\n"))
    assert plan.stable == Target("fraud", 1)
    assert plan.candidate == Target("fraud", 5)  # latest, frozen at apply time
    assert plan.shadows == (Target("fraud", 2),)
    assert [(a.version, a.weight, a.role) for a in initial_weights(plan)] == [
        (1, 80.0, "stable"), (5, 20.0, "candidate")]


@pytest.mark.parametrize(
    ("stable", "candidate", "line", "reason"),
    [
        ("fraud:9", "fraud:2", 3, "unknown model or version 'fraud:9'"),
        ("fraud:1", "nosuch:1", 4, "unknown model or version 'nosuch:1': no model named"),
        ("fraud@missing", "fraud:2", 3, "has no alias 'missing'"),
    ],
)
def test_unknown_models_and_versions_are_refused(fraud: Registry, stable: str, candidate: str,
                                                 line: int, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        plan_deployment(fraud, deploy_yaml(stable=stable, candidate=candidate), label="d.yaml")
    assert f"d.yaml line {line}" in info.value.message
    assert reason in info.value.message


def test_unknown_shadow_names_its_list_item(fraud: Registry) -> None:
    text = deploy_yaml(extra="shadow:\n  - fraud:3\n  - fraud:77\n")
    with pytest.raises(InvalidInput, match=r"line 7, shadow\.1: unknown model or version"):
        plan_deployment(fraud, text)


def test_candidate_taking_other_inputs_is_refused(fraud: Registry, tmp_path: Path) -> None:
    other = tmp_path / "other.py"
    other.write_text("class M:\n    def load(self, p): pass\n"
                     "    def predict(self, i): return {'y': i['z']}\n")
    sig = Signature(inputs=(TensorSpec(name="z", datatype="FP64", shape=(-1,)),),
                    outputs=(TensorSpec(name="y", datatype="FP64", shape=(-1,)),))
    fraud.register("fraud", other, flavor="python", signature=sig, registered_by="test")
    with pytest.raises(InvalidInput, match=r"line 4, candidate: its inputs differ .*missing "
                                           r"\['f0', 'f1'"):
        plan_deployment(fraud, deploy_yaml(candidate="fraud:6"))


def test_alias_resolving_to_the_stable_is_refused(fraud: Registry) -> None:
    fraud.set_alias("fraud", "next", 1, actor="test")
    with pytest.raises(InvalidInput, match="resolves to the stable version fraud:1"):
        plan_deployment(fraud, deploy_yaml(candidate="fraud@next"))
