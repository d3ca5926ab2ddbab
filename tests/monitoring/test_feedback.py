"""Feedback joins the inference log: stored with the version and prediction that answered;
unknown ids, duplicates and mistyped labels are refused whole, with counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pytest

from modelport.errors import Conflict, InvalidInput, NotFound
from modelport.monitoring.config import LogConfig
from modelport.monitoring.feedback import (
    FeedbackItem,
    FeedbackStore,
    feedback_outcomes,
    parse_feedback,
)
from modelport.monitoring.inference_log import InferenceLog
from modelport.protocol.types import Tensor
from modelport.registry import Registry

from .logdata import record


@pytest.fixture
def logged(tmp_path: Path) -> str:
    root = tmp_path / "log"
    log = InferenceLog(LogConfig(root=str(root)))
    log.submit(record("one", [1.0]))                    # predicts 0, proba [.25, .75]
    log.submit(record("two", [1.0, 2.0], version="2"))  # predicts 0, 1
    reg = record("reg", [3.0], model="price", outputs=[
        Tensor(name="predict", datatype="FP64", data=np.array([9.5]))])
    log.submit(reg)
    log.close()
    return str(root)


@pytest.fixture
def counts() -> Counter[str]:
    return Counter()


@pytest.fixture
def store(registry: Registry, logged: str, counts: Counter[str]) -> FeedbackStore:
    def count(model: str, result: str, n: int) -> None:
        counts[result] += n

    return FeedbackStore(registry.engine, logged, on_result=count)


def test_feedback_is_stored_with_version_prediction_and_score(
    store: FeedbackStore, registry: Registry, counts: Counter[str]
) -> None:
    stored = store.submit("fraud", [FeedbackItem("one", 1), FeedbackItem("two", 1, row=1),
                                    FeedbackItem("two", 0, row=0)])
    assert stored == 3 and counts["accepted"] == 3
    outcomes = feedback_outcomes(registry.engine, "fraud")
    assert sorted(outcomes) == [("one", "1", 1), ("two", "2", 0), ("two", "2", 1)]
    assert store.submit("price", [FeedbackItem("reg", 10.25)]) == 1
    assert feedback_outcomes(registry.engine, "price")[0].value == 10.25


def test_unknown_ids_are_404_and_nothing_is_stored(
    store: FeedbackStore, registry: Registry, counts: Counter[str]
) -> None:
    with pytest.raises(NotFound, match=r"2 of 3 .* nothing was stored") as info:
        store.submit("fraud", [FeedbackItem("one", 1), FeedbackItem("ghost", 1),
                               FeedbackItem("phantom", 0)])
    assert info.value.details["counts"] == {"unknown_request": 2}
    assert "not written yet" in info.value.message
    assert feedback_outcomes(registry.engine, "fraud") == []
    assert counts["unknown_request"] == 2
    with pytest.raises(NotFound):
        store.submit("price", [FeedbackItem("one", 1)])  # another model's request


def test_duplicates_are_409(store: FeedbackStore, counts: Counter[str]) -> None:
    store.submit("fraud", [FeedbackItem("one", 1)])
    with pytest.raises(Conflict, match="already has feedback"):
        store.submit("fraud", [FeedbackItem("one", 0)])
    with pytest.raises(Conflict, match="twice in this call"):
        store.submit("fraud", [FeedbackItem("two", 0, row=1), FeedbackItem("two", 1, row=1)])
    assert counts["duplicate"] == 2


def test_wrong_label_types_and_rows_are_400(store: FeedbackStore, counts: Counter[str]) -> None:
    with pytest.raises(InvalidInput, match="not one"):
        store.submit("fraud", [FeedbackItem("one", "fraudulent")])
    with pytest.raises(InvalidInput, match="not a number"):
        store.submit("price", [FeedbackItem("reg", "expensive")])
    with pytest.raises(InvalidInput, match="scored 2 rows; say which"):
        store.submit("fraud", [FeedbackItem("two", 1)])
    with pytest.raises(InvalidInput, match="no row 5"):
        store.submit("fraud", [FeedbackItem("two", 1, row=5)])
    with pytest.raises(InvalidInput) as mixed:
        store.submit("fraud", [FeedbackItem("ghost", 1), FeedbackItem("one", "x")])
    assert mixed.value.details["counts"] == {"bad_label": 1, "unknown_request": 1}
    assert counts["bad_label"] == 3


def test_without_a_log_feedback_says_how_to_turn_it_on(registry: Registry) -> None:
    with pytest.raises(NotFound, match="--inference-log"):
        FeedbackStore(registry.engine, None).submit("fraud", [FeedbackItem("one", 1)])


@pytest.mark.parametrize(
    ("body", "items"),
    [
        (b'{"request_id": "a", "label": 1}', [FeedbackItem("a", 1)]),
        (b'{"feedback": [{"request_id": "a", "label": "x", "row": 2}]}',
         [FeedbackItem("a", "x", 2)]),
        (b'[{"request_id": "a", "label": 0.5}, {"id": "b", "label": true}]',
         [FeedbackItem("a", 0.5), FeedbackItem("b", True)]),
        (b'[{"id": "a", "conversion": true}, {"id": "b", "value": 3, "label": 1}]',
         [FeedbackItem("b", 1)]),  # A/B outcomes without a label are routing's
    ],
)
def test_single_and_bulk_bodies_parse(body: bytes, items: list[FeedbackItem]) -> None:
    assert parse_feedback(body) == items


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "non-empty list"),
        (b'"a"', "non-empty list"),
        (b'[1]', "must be an object"),
        (b'{"label": 1}', "request_id must be a non-empty string"),
        (b'{"request_id": "a"}', "label must be"),
        (b'{"request_id": "a", "label": [1]}', "label must be"),
        (b'{"request_id": "a", "label": 1, "row": -1}', "row must be"),
        (orjson.dumps([{"request_id": "a", "label": 1}] * 10_001), "at most 10000"),
    ],
)
def test_malformed_bodies_teach_the_format(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_feedback(body)
