"""Rule conditions: a small safe grammar, evaluated for every row at once."""

from __future__ import annotations

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.pipelines.expr import compile_condition
from modelport.protocol.signature import TensorSpec

KNOWN = {
    "amount": TensorSpec(name="amount", datatype="FP64", shape=(-1,)),
    "country": TensorSpec(name="country", datatype="BYTES", shape=(-1,)),
    "score.predict_proba": TensorSpec(name="score.predict_proba", datatype="FP32",
                                      shape=(-1, 2)),
}
ENV = {
    "amount": np.array([10.0, 5000.0, 20.0, 900.0]),
    "country": np.array(["FR", "NG", "US", "FR"], dtype=object),
    "score.predict_proba": np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.95, 0.05]],
                                    dtype=np.float32),
}


def run(text: str) -> list[bool]:
    return compile_condition(text, KNOWN, where="test")(ENV, 4).tolist()


@pytest.mark.parametrize(("text", "expected"), [
    ("score.predict_proba[1] > 0.5", [False, True, True, False]),
    ("score.predict_proba[-1] > 0.5", [False, True, True, False]),
    ("amount >= 900 and not score.predict_proba[1] > 0.5", [False, False, False, True]),
    ("amount > 1000 or country in ['US']", [False, True, True, False]),
    ("country not in ['FR', 'US']", [False, True, False, False]),
    ("country == 'FR'", [True, False, False, True]),
    ("amount * score.predict_proba[1] > 100", [False, True, False, False]),
    ("0 < amount / 10 <= 2", [True, False, True, False]),
    ("True", [True, True, True, True]),
])
def test_conditions_evaluate_per_row(text: str, expected: list[bool]) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("__import__('os').system('echo hi')", "Call is not allowed"),
    ("amount.__class__", "not a pipeline input"),
    ("score.predict_proba.real[0] > 1", "refer to a step output as step.output"),
    ("[x for x in amount]", "ListComp is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("velocity > 3", "'velocity' is not a pipeline input"),
    ("score > 0.5", "'score' is a step; name one of its outputs: score.predict_proba"),
    ("score.predict_proba[2] > 0.5", "index 2 is out of range for 2 values per row"),
    ("amount[0] > 1", "one value per row; drop the index"),
    ("score.predict_proba > 0.5", "index the output"),
    ("amount + 1", "must be true or false per row"),
    ("country > 'A'", "text compares only with == and !="),
    ("country == 3", "cannot compare text with a number"),
    ("amount in 3", "'in' needs a list"),
    ("amount >", "is not a valid condition"),
    ("amount ** 2 > 1", "operator Pow is not allowed"),
])
def test_anything_else_is_refused_with_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        compile_condition(text, KNOWN, where="step 'decide' rule 1 field 'when'")
    assert fragment in err.value.message
    assert err.value.message.startswith("step 'decide' rule 1 field 'when'")


def test_refs_list_what_it_reads() -> None:
    cond = compile_condition("amount > 1 and score.predict_proba[1] > 0.5", KNOWN, where="t")
    assert cond.refs == {"amount", "score.predict_proba"}
