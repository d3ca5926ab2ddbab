"""Deriving, editing and round-tripping a data contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelport.errors import InvalidInput
from modelport.monitoring.contract import Contract, FieldRule, derive_contract
from modelport.protocol.signature import Signature, TensorSpec

SIG = Signature(
    inputs=(
        TensorSpec(name="amount", datatype="FP64", shape=(-1,)),
        TensorSpec(name="country", datatype="BYTES", shape=(-1,)),
        TensorSpec(name="age", datatype="INT64", shape=(-1, 1)),
        TensorSpec(name="image", datatype="FP32", shape=(-1, 4)),
        TensorSpec(name="extra", datatype="FP32", shape=(-1,)),
    ),
    outputs=(TensorSpec(name="score", datatype="FP64", shape=(-1,)),),
)

FRAME = pd.DataFrame({
    "amount": [10.0, 20.0, np.nan, 110.0],
    "country": ["FR", "DE", "FR", "IT"],
    "age": [20, 30, 40, 60],
    "label": [0, 1, 0, 1],
})


def test_derived_rules_follow_the_reference_with_a_margin() -> None:
    contract = derive_contract("fraud", SIG, FRAME, margin=0.1, derived_from="fraud:1")
    amount = contract.rule("amount")
    assert amount is not None
    assert amount.kind == "numeric" and amount.nullable
    assert amount.min == pytest.approx(10.0 - 10.0) and amount.max == pytest.approx(120.0)
    country = contract.rule("country")
    assert country is not None and country.kind == "categorical"
    assert country.categories == ("DE", "FR", "IT") and not country.nullable
    age = contract.rule("age")
    assert age is not None and (age.min, age.max) == (16.0, 64.0) and not age.nullable
    image = contract.rule("image")
    assert image is not None and image.min is None and image.nullable  # only the type is checked
    assert any("extra" in note for note in contract.notes)
    assert contract.rule("label") is None  # not an input
    assert contract.derived_from == "fraud:1"


def test_a_constant_column_still_gets_a_usable_range() -> None:
    frame = pd.DataFrame({"amount": [5.0, 5.0]})
    sig = Signature(inputs=(TensorSpec(name="amount", datatype="FP64", shape=(-1,)),),
                    outputs=())
    rule = derive_contract("m", sig, frame).rule("amount")
    assert rule is not None and rule.min is not None and rule.max is not None
    assert rule.min < 5.0 < rule.max


def test_without_reference_only_types_are_checked() -> None:
    contract = derive_contract("fraud", SIG, None)
    assert all(f.min is None and f.max is None and f.categories is None for f in contract.fields)
    assert {f.name: f.datatype for f in contract.fields}["country"] == "BYTES"


def test_yaml_round_trip_and_settings() -> None:
    contract = derive_contract("fraud", SIG, FRAME)
    again = Contract.from_yaml(contract.to_yaml())
    assert again == contract
    edited = contract.with_settings({
        "amount.max": "5000", "country.categories": "FR,ES", "age.nullable": "true",
        "policy": "reject",
    })
    assert edited.policy == "reject"
    assert edited.rule("amount").max == 5000.0  # type: ignore[union-attr]
    assert edited.rule("country").categories == ("FR", "ES")  # type: ignore[union-attr]
    assert edited.rule("age").nullable  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"nosuch.max": "1"}, "FIELD one of amount"),
        ({"amount.max": "lots"}, "must be a number"),
        ({"amount.color": "red"}, "unknown rule 'color'"),
        ({"amount.nullable": "maybe"}, "true or false"),
        ({"amount.min": "500"}, "above max"),
        ({"policy": "ignore"}, "policy must be one of"),
    ],
)
def test_bad_settings_say_what_to_type(setting: dict[str, str], message: str) -> None:
    contract = derive_contract("fraud", SIG, FRAME)
    with pytest.raises(InvalidInput, match=message):
        contract.with_settings(setting)


@pytest.mark.parametrize(
    "text",
    ["fields: [1, 2]", "- just a list", "model: x\nfields:\n  a: {datatype: FLOAT99}",
     "model: x\nfields:\n  a: {shape: [1]}", "{{{"],
)
def test_bad_contract_documents_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        Contract.from_yaml(text)


def test_field_rule_rejects_unknown_kind() -> None:
    with pytest.raises(InvalidInput, match="numeric or categorical"):
        FieldRule(name="a", datatype="FP32", kind="ordinal")  # type: ignore[arg-type]
