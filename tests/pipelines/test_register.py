"""Registering pipelines: validated against the registry, stored as versions of a name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelport.errors import InvalidInput, ModelportError, NotFound
from modelport.pipelines import register_pipeline
from modelport.registry import Registry
from modelport.registry.loader import load_ref

from .conftest import Run
from .registry_setup import PIPELINE

FULL = """\
name: fraud-decision
inputs:
  - {name: country, datatype: BYTES, shape: [-1]}
steps:
  - name: features
    transform: features@production
  - name: score
    ensemble:
      models: [fraud@production, fraud-b@production]
      combine: weighted_mean
      weights: [3, 1]
  - name: decide
    rules:
      - when: "country in ['NG', 'XX'] and amount > 100"
        decision: decline
        reason: blocked_country
      - when: "score.predict_proba[1] > 0.5 or amount > 10000"
        decision: review
        reason: high_risk
    default: approve
    default_reason: low_risk
outputs: [features.f0, score.predict_proba, decide.decision, decide.reason]
"""


def test_the_minimal_file_registers_and_predicts(registry: Registry) -> None:
    info, _ = register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="bob")
    assert (info.ref, info.flavor) == ("fraud-decision:1", "pipeline")
    assert info.params == {"step.score": "fraud:1"}
    assert info.signature.input_names == [f"f{i}" for i in range(5)]
    assert info.signature.output_names == ["score.predict_proba", "decide.decision",
                                           "decide.reason"]
    again, _ = register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="bob",
                                 alias="production")
    assert (again.version, again.aliases) == (2, ("production",))
    _, runtime = load_ref(registry, "fraud-decision@production")
    rows = {f"f{i}": np.array([3.0, -3.0], dtype=np.float32) for i in range(5)}
    out = runtime.predict(rows)
    proba = out["score.predict_proba"][:, 1]
    assert proba[0] > 0.5 > proba[1]
    assert out["decide.decision"].tolist() == [b"review", b"approve"]
    assert out["decide.reason"].tolist() == [b"high_risk", b""]


def test_transform_ensemble_and_rules(registry: Registry) -> None:
    info, _ = register_pipeline(registry, "fraud-decision", FULL, registered_by="bob")
    assert info.signature.input_names == ["country", "amount", "hour"]
    assert info.params == {"step.features": "features:1", "step.score.0": "fraud:1",
                           "step.score.1": "fraud-b:1"}
    _, runtime = load_ref(registry, info.ref)
    batch = {"country": np.array([b"NG", b"FR", b"FR", b"FR"], dtype=object),
             "amount": np.array([500.0, 20000.0, 5.0, 5e6]),
             "hour": np.array([3.0, 12.0, 12.0, 23.0])}
    out = runtime.predict(batch)
    assert out["decide.decision"].tolist() == [b"decline", b"review", b"approve", b"review"]
    assert out["decide.reason"].tolist()[:3] == [b"blocked_country", b"high_risk", b"low_risk"]
    assert out["features.f0"].dtype == np.float32
    # the ensemble is the 3:1 weighted mean of the two models on the transformed features
    _, a = load_ref(registry, "fraud@production")
    _, b = load_ref(registry, "fraud-b@production")
    _, features = load_ref(registry, "features@production")
    feats = features.predict({"amount": batch["amount"], "hour": batch["hour"]})
    want = 0.75 * a.predict(feats)["predict_proba"] + 0.25 * b.predict(feats)["predict_proba"]
    np.testing.assert_allclose(out["score.predict_proba"], want, rtol=1e-6)


def _bad(replace: tuple[str, str], *, base: str = FULL) -> str:
    assert replace[0] in base
    return base.replace(*replace)


@pytest.mark.parametrize(("text", "error", "fragment"), [
    (_bad(("fraud-b@production", "fraud-b@staging")), NotFound,
     "step 'score': field 'ensemble.models': "),
    (_bad(("fraud@production", "fraud:9"), base=PIPELINE), NotFound,
     "step 'score': field 'model': "),
    (_bad(("features@production", "fraud@production")), InvalidInput,
     "step 'features': field 'transform': fraud@production (fraud:1) is a xgboost "),
    (_bad(("score.predict_proba[1] > 0.5", "later.decision == 'x'")).replace(
        "outputs:", "  - name: later\n    rules: [{when: 'True', decision: x}]\n"
        "    default: y\noutputs:"), InvalidInput,
     "step 'decide' rule 2 field 'when': 'later.decision' refers to step 'later', which "
     "does not run before this one"),
    (_bad(("score.predict_proba[1] > 0.5", "decide.decision == 'x'")), InvalidInput,
     "step 'decide' rule 2 field 'when': 'decide.decision' refers to step 'decide', which "
     "does not run before this one"),
    (_bad(("decide.reason]", "decide.why]")), InvalidInput,
     "field 'outputs': 'decide.why' is not an input or a step output"),
    (_bad(("  - name: score\n", "  - name: features\n")), InvalidInput,
     "step 2 ('features'): field 'name'"),
    (_bad(("combine: weighted_mean", "combine: median")), InvalidInput,
     "step 'score': field 'ensemble.combine': 'median' is not one of"),
    (_bad(("weights: [3, 1]", "weights: [3]")), InvalidInput,
     "step 'score': field 'ensemble.weights'"),
    (_bad(("    default: approve\n", ""), base=PIPELINE), InvalidInput,
     "step 'decide': field 'default'"),
    (_bad(("decision: review", "decision: ''")), InvalidInput,
     "step 'decide' rule 2: field 'decision'"),
    (_bad(("when: \"score", "when: \"open('x') or score")), InvalidInput,
     "Call is not allowed"),
    ("steps: []\noutputs: [x]\n", InvalidInput, "'steps' must be a non-empty list"),
    ("steps: [\n", InvalidInput, "is not valid YAML"),
])
def test_errors_name_the_step_and_field(registry: Registry, text: str,
                                        error: type[ModelportError], fragment: str) -> None:
    with pytest.raises(error) as err:
        register_pipeline(registry, "fraud-decision", text, registered_by="bob")
    assert fragment in err.value.message
    with pytest.raises(NotFound):
        registry.list_versions("fraud-decision")  # nothing was stored


def test_a_model_input_the_transform_does_not_make_is_an_error(registry: Registry) -> None:
    text = FULL.replace("transform: features@production",
                        "transform: features@production\n  - name: other\n"
                        "    model: fraud@production")
    text = text.replace("features@production", "features:1", 1)
    # 'other' runs after the transform: its inputs come from it, so this is fine
    register_pipeline(registry, "ok", text.replace("name: fraud-decision\n", ""),
                      registered_by="bob")
    before = FULL.replace("  - name: features\n    transform: features@production\n", "")
    with pytest.raises(InvalidInput) as err:
        register_pipeline(registry, "p2", before.replace("name: fraud-decision\n", "")
                          + "", registered_by="bob")
    assert "'amount' is not a pipeline input" in err.value.message


def test_pipelines_do_not_nest_and_names_do_not_clash(registry: Registry) -> None:
    register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="bob")
    nested = PIPELINE.replace("fraud@production", "fraud-decision:1").replace(
        "name: fraud-decision\n", "")
    with pytest.raises(InvalidInput, match="step 'score': field 'model': fraud-decision:1 is a "
                                           "pipeline; pipelines do not nest"):
        register_pipeline(registry, "outer", nested, registered_by="bob")
    with pytest.raises(InvalidInput, match="'fraud' is a registered xgboost model"):
        register_pipeline(registry, "fraud", PIPELINE.replace("name: fraud-decision\n", ""),
                          registered_by="bob")
    with pytest.raises(InvalidInput, match="names the pipeline 'fraud-decision'"):
        register_pipeline(registry, "other", PIPELINE, registered_by="bob")


def test_cli_register_list_show_and_audit(run: Run, tmp_path: Path) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(PIPELINE)
    code, out, err = run("pipelines", "register", "fraud-decision", "-f", str(file),
                         "--alias", "production")
    assert code == 0, err
    assert "registered pipeline fraud-decision:1" in out and "fraud@production → fraud:1" in out
    code, out, _ = run("pipelines", "list", "--json")
    assert json.loads(out) == [{"name": "fraud-decision", "latest_version": 1,
                                "aliases": {"production": 1}, "steps": {"step.score": "fraud:1"}}]
    code, out, _ = run("pipelines", "show", "fraud-decision@production")
    assert code == 0 and "decide.decision" in out and "BYTES" in out
    code, out, _ = run("audit", "list", "--json")
    assert code == 0 and "fraud-decision:1" in out
    code, out, _ = run("models", "versions", "fraud-decision")  # a versioned registry object
    assert code == 0 and "pipeline" in out


def test_cli_errors_are_one_line(run: Run, tmp_path: Path) -> None:
    code, _, err = run("pipelines", "register", "x", "-f", str(tmp_path / "none.yaml"))
    assert code != 0 and "no pipeline file at" in err and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(PIPELINE.replace("fraud@production", "fraud@nope"))
    code, _, err = run("pipelines", "check", "-f", str(bad))
    assert code != 0 and "step 'score': field 'model'" in err and "Traceback" not in err
    code, _, err = run("pipelines", "show", "fraud")
    assert code != 0 and "is a xgboost model, not a pipeline" in err


SWITCH = """\
steps:
  - name: features
    transform: features@production
  - name: score
    switch:
      - when: "amount > 1000 and hour < 6"
        model: fraud-b@production
      - when: "amount > 1000"
        model: fraud:2
    default: fraud@production
  - name: decide
    rules:
      - when: "score.predict_proba[1] > 0.5"
        decision: review
        reason: high_risk
    default: approve
outputs: [score.predict_proba, decide.decision]
"""


def test_switch_routes_each_row_to_one_model(registry: Registry, run: Run, tmp_path: Path
                                             ) -> None:
    info, _ = register_pipeline(registry, "routed", SWITCH, registered_by="bob")
    assert info.params == {"step.features": "features:1", "step.score.0": "fraud-b:1",
                           "step.score.1": "fraud:2", "step.score.2": "fraud:1"}
    _, runtime = load_ref(registry, info.ref)
    batch = {"amount": np.array([5000.0, 5000.0, 10.0, 2000.0, 3.0]),
             "hour": np.array([3.0, 12.0, 3.0, 1.0, 20.0])}
    out = runtime.predict(batch)
    _, features = load_ref(registry, "features@production")
    feats = features.predict(batch)
    want = {ref: load_ref(registry, ref)[1].predict(feats)["predict_proba"]
            for ref in ("fraud-b:1", "fraud:2", "fraud:1")}
    routes = ["fraud-b:1", "fraud:2", "fraud:1", "fraud-b:1", "fraud:1"]
    expected = np.stack([want[ref][i] for i, ref in enumerate(routes)])
    np.testing.assert_allclose(out["score.predict_proba"], expected, rtol=1e-6)
    assert len(out["decide.decision"]) == 5
    one = runtime.predict({"amount": np.array([10.0]), "hour": np.array([3.0])})  # one branch
    np.testing.assert_allclose(one["score.predict_proba"], want["fraud:1"][[2]], rtol=1e-6)
    file = tmp_path / "switch.yaml"
    file.write_text(SWITCH)
    code, out_text, err = run("pipelines", "check", "-f", str(file))
    assert code == 0, err
    assert "switch" in out_text and "else → fraud:1" in out_text


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ("amount > 1000 and hour < 6", "velocity > 3", "step 'score' case 1 field 'when': "
                                                    "'velocity' is not a pipeline input"),
    ("    default: fraud@production\n", "", "step 'score': field 'default': the model"),
    ("model: fraud:2", "model: fraud:7", "step 'score': field 'switch': model 'fraud'"),
    ("        model: fraud-b@production\n", "", "step 'score' case 1: expected exactly"),
])
def test_switch_errors_name_the_case(registry: Registry, old: str, new: str, fragment: str
                                     ) -> None:
    assert old in SWITCH
    with pytest.raises(ModelportError) as err:
        register_pipeline(registry, "routed", SWITCH.replace(old, new), registered_by="bob")
    assert fragment in err.value.message
