"""Outcomes reported after the fact (``POST /v2/models/{endpoint}/feedback``) for A/B tests.

A client reports, by the request id it got back, whether the request converted, a value it
produced, or the true label. Outcomes are kept by endpoint and request id; the A/B report
joins them with the arm that answered each request (recorded at routing time), so feedback
may arrive before or after that record is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.errors import InvalidInput, NotFound
from modelport.registry import db
from modelport.registry import tables_routing as t
from modelport.registry.tables import utcnow
from modelport.routing import store

__all__ = ["MAX_BATCH", "Outcome", "parse_feedback", "record_outcomes"]

MAX_BATCH = 10_000
_EXAMPLE = '{"id": "req-1", "conversion": true} (or "value": 12.5, or "label": 1)'


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened after one request."""

    request_id: str
    conversion: bool | None = None
    value: float | None = None
    label: str | None = None


def parse_feedback(body: bytes) -> list[Outcome]:
    """One outcome object, a JSON list of them, or ``{"feedback": [...]}``."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"feedback body is not valid JSON ({exc}); send {_EXAMPLE}") from None
    if isinstance(doc, dict) and isinstance(doc.get("feedback"), list):
        doc = doc["feedback"]
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise InvalidInput(f"feedback list is empty; send {_EXAMPLE}")
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"feedback holds {len(items)} outcomes; send at most {MAX_BATCH} "
                           "per call")
    return [_outcome(item, index) for index, item in enumerate(items)]


def _outcome(item: Any, index: int) -> Outcome:
    where = f"feedback item {index}"
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} must be an object like {_EXAMPLE}")
    # "row" belongs to a label for a request of several rows (monitoring reads it): same body
    unknown = sorted(set(item) - {"id", "request_id", "conversion", "value", "label", "row"})
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {unknown}; expected id and one of "
                           "conversion, value, label")
    request_id = item.get("id", item.get("request_id"))
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 256:
        raise InvalidInput(f"{where}: 'id' must be the request id (a string of 1-256 "
                           f"characters) the inference answer carried, got {request_id!r}")
    conversion = item.get("conversion")
    if conversion is not None and not isinstance(conversion, bool):
        raise InvalidInput(f"{where}: 'conversion' must be true or false, got {conversion!r}")
    value = item.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or not math.isfinite(value)):
        raise InvalidInput(f"{where}: 'value' must be a finite number, got {value!r}")
    label = item.get("label")
    if label is not None and not isinstance(label, str | int | float | bool):
        raise InvalidInput(f"{where}: 'label' must be a string or a number, got {label!r}")
    if conversion is None and value is None and label is None:
        raise InvalidInput(f"{where} reports nothing; give conversion, value or label")
    return Outcome(request_id, conversion, None if value is None else float(value),
                   None if label is None else _label_text(label))


def _label_text(label: str | int | float | bool) -> str:
    if isinstance(label, bool):
        return str(int(label))
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def record_outcomes(engine: Engine, endpoint: str, outcomes: Sequence[Outcome], *,
                    now: datetime | None = None) -> int:
    """Store ``outcomes`` for ``endpoint``; NotFound when it never had a deployment."""
    when = now or utcnow()

    def work(conn: Connection) -> int:
        if store.current(conn, endpoint) is None:
            raise NotFound(f"endpoint {endpoint!r} has no deployment, so there is no A/B test "
                           "to report outcomes to; apply one with 'modelport deploy apply'")
        conn.execute(sa.insert(t.ab_outcomes), [
            {"endpoint": endpoint, "request_id": o.request_id, "conversion": o.conversion,
             "value": o.value, "label": o.label, "at": when} for o in outcomes])
        return len(outcomes)

    return db.run_write(engine, work)
