"""Ground truth by request id: checked against the inference log, stored with what was served.

``POST /v2/models/{name}/feedback`` takes one item ``{"request_id": "...", "label": 1}`` (with
``"row": i`` for a request that scored several rows) or many (``{"feedback": [...]}`` or a bare
list). Each id is looked up in the inference log, so the stored row records which version
answered, what it predicted and with what score; performance is then plain SQL. A batch is
stored whole or not at all: every unknown id, duplicate or mistyped label is reported at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from modelport.errors import Conflict, InvalidInput, ModelportError, NotFound
from modelport.monitoring.log_reader import read_log
from modelport.monitoring.log_table import OUTPUT_PREFIX
from modelport.registry import db
from modelport.registry import tables as t
from modelport.registry.tables_monitoring import feedback as feedback_table

__all__ = ["FeedbackItem", "FeedbackStore", "Outcome", "feedback_outcomes", "parse_feedback"]

MAX_ITEMS = 10_000
_EXAMPLE = '{"request_id": "abc", "label": 1} or {"feedback": [{"request_id": ..., "label": ...}]}'


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    request_id: str
    label: Any
    row: int | None = None


class Outcome(NamedTuple):
    """One labelled request, for A/B analysis: which version answered, what truly happened."""

    request_id: str
    version: str
    value: Any


def parse_feedback(body: bytes) -> list[FeedbackItem]:
    """The labelled items of a feedback body, or InvalidInput saying what it should look like.

    ``id`` is accepted for ``request_id``; items carrying only an A/B outcome (``conversion``
    or ``value``, see :mod:`modelport.routing`) and no label are skipped.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise InvalidInput(f"feedback body is not valid JSON ({err}); send {_EXAMPLE}") from None
    raw = doc.get("feedback") if isinstance(doc, dict) and "feedback" in doc else doc
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"feedback must be one object or a non-empty list; send {_EXAMPLE}")
    if len(raw) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} feedback items per call, got {len(raw)}")
    items = []
    for i, entry in enumerate(raw):
        where = f"feedback item {i}"
        if not isinstance(entry, dict):
            raise InvalidInput(f"{where} must be an object like {_EXAMPLE}")
        rid = entry.get("request_id", entry.get("id"))
        label, row = entry.get("label"), entry.get("row")
        if not isinstance(rid, str) or not rid or len(rid) > 256:
            raise InvalidInput(f"{where}: request_id must be a non-empty string (the id the "
                               "inference answer carried), got " + repr(rid))
        if label is None and ("conversion" in entry or "value" in entry):
            continue  # an A/B outcome without ground truth: routing's, not ours
        if label is None or isinstance(label, dict | list):
            raise InvalidInput(f"{where} ({rid}): label must be a number, true/false or a "
                               f"string, got {label!r}")
        if row is not None and (type(row) is not int or row < 0):
            raise InvalidInput(f"{where} ({rid}): row must be an integer >= 0, got {row!r}")
        items.append(FeedbackItem(rid, label, row))
    return items


@dataclass(frozen=True, slots=True)
class _Problem:
    request_id: str
    reason: str
    """``unknown_request``, ``duplicate``, ``bad_label`` or ``invalid``."""
    message: str


class FeedbackStore:
    """Checks feedback against the inference log and stores it in the registry database."""

    def __init__(self, engine: Engine, log_root: str | None, *,
                 lookback: timedelta = timedelta(days=30),
                 on_result: Callable[[str, str, int], None] | None = None) -> None:
        self.engine = engine
        self.log_root = log_root
        self.lookback = lookback
        self._on_result = on_result

    def submit(self, model: str, items: Sequence[FeedbackItem], *, now: datetime | None = None
               ) -> int:
        """Store every item or none; returns how many were stored."""
        if not items:
            return 0
        now = now or t.utcnow()
        try:
            rows, problems = self._match(model, items, now)
            if not problems:
                problems = self._duplicates(model, rows)
            if not problems:
                self._insert(rows)
        except ModelportError:
            self._count(model, "invalid", len(items))
            raise
        if problems:
            for reason in {p.reason for p in problems}:
                self._count(model, reason, sum(p.reason == reason for p in problems))
            raise _error(model, problems, len(items))
        self._count(model, "accepted", len(rows))
        return len(rows)

    def _count(self, model: str, result: str, n: int) -> None:
        if self._on_result is not None and n:
            self._on_result(model, result, n)

    def _match(self, model: str, items: Sequence[FeedbackItem], now: datetime
               ) -> tuple[list[dict[str, Any]], list[_Problem]]:
        if self.log_root is None:
            raise NotFound("feedback needs the inference log to know what each request was "
                           "answered, and it is off; start the server with --inference-log")
        ids = {i.request_id for i in items}
        logged = read_log(self.log_root, model, request_ids=ids, since=now - self.lookback)
        by_id: dict[str, pd.DataFrame] = {
            str(rid): group for rid, group in logged.groupby("request_id", sort=False)
        } if not logged.empty else {}
        predict_col, score_col = _output_columns(logged)
        rows: list[dict[str, Any]] = []
        problems: list[_Problem] = []
        seen: set[tuple[str, int]] = set()
        for item in items:
            group = by_id.get(item.request_id)
            if group is None:
                problems.append(_Problem(item.request_id, "unknown_request",
                                         "not in the inference log"))
                continue
            row = item.row if item.row is not None else 0
            if item.row is None and len(group) > 1:
                problems.append(_Problem(item.request_id, "invalid", f"the request scored "
                                         f"{len(group)} rows; say which with \"row\""))
                continue
            match = group[group["row"] == row]
            if match.empty:
                problems.append(_Problem(item.request_id, "invalid",
                                         f"the request has no row {row}"))
                continue
            if (item.request_id, row) in seen:
                problems.append(_Problem(item.request_id, "duplicate",
                                         f"row {row} appears twice in this call"))
                continue
            seen.add((item.request_id, row))
            found = match.iloc[0]
            prediction = _plain(found[predict_col]) if predict_col else None
            bad = _label_problem(item.label, prediction)
            if bad:
                problems.append(_Problem(item.request_id, "bad_label", bad))
                continue
            rows.append({
                "model": model, "request_id": item.request_id, "row": row,
                "version": str(found["version"]), "label": orjson.dumps(item.label).decode(),
                "prediction": None if prediction is None else orjson.dumps(prediction).decode(),
                "score": _score(found[score_col]) if score_col else None,
                "served_at": found["timestamp"].to_pydatetime(), "received_at": now,
            })
        return rows, problems

    def _duplicates(self, model: str, rows: list[dict[str, Any]]) -> list[_Problem]:
        ids = {r["request_id"] for r in rows}
        c = feedback_table.c
        with db.transaction(self.engine) as conn:
            stored = set(conn.execute(
                sa.select(c.request_id, c.row).where(c.model == model, c.request_id.in_(ids))
            ).tuples())
        return [_Problem(r["request_id"], "duplicate", f"row {r['row']} already has feedback")
                for r in rows if (r["request_id"], r["row"]) in stored]

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        def work(conn: Connection) -> None:
            conn.execute(sa.insert(feedback_table), rows)

        try:
            db.run_write(self.engine, work)
        except exc.IntegrityError:
            raise Conflict("some of this feedback was stored by another call at the same "
                           "time; send only the items that are still missing") from None


def feedback_outcomes(engine: Engine, endpoint: str, since: datetime | None = None
                      ) -> list[Outcome]:
    """Every labelled request of ``endpoint`` (received since ``since``), oldest first."""
    c = feedback_table.c
    query = sa.select(c.request_id, c.version, c.label).where(c.model == endpoint)
    if since is not None:
        query = query.where(c.received_at >= since)
    with db.transaction(engine) as conn:
        found = conn.execute(query.order_by(c.received_at, c.id)).tuples().all()
    return [Outcome(rid, version, orjson.loads(label)) for rid, version, label in found]


def _output_columns(logged: pd.DataFrame) -> tuple[str | None, str | None]:
    """The logged output holding the prediction, and the one holding the positive score."""
    outs = [c for c in logged.columns if c.startswith(OUTPUT_PREFIX)]
    predict = OUTPUT_PREFIX + "predict" if OUTPUT_PREFIX + "predict" in outs else None
    if predict is None:
        predict = next((c for c in outs if logged[c].dtype != object), outs[0] if outs else None)
    score = OUTPUT_PREFIX + "predict_proba" if OUTPUT_PREFIX + "predict_proba" in outs else None
    return predict, score


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _score(value: Any) -> float | None:
    if value is None or not hasattr(value, "__len__") or len(value) != 2:
        return None
    return float(value[1])


def _label_problem(label: Any, prediction: Any) -> str:
    if prediction is None:
        return ""
    if isinstance(prediction, float):
        if isinstance(label, bool) or not isinstance(label, int | float):
            return f"the model predicts numbers (regression); label {label!r} is not a number"
        return ""
    if isinstance(prediction, bool | int):
        if isinstance(label, float) and label.is_integer():
            return ""
        if not isinstance(label, bool | int):
            return (f"the model predicts class numbers like {prediction!r}; label {label!r} "
                    "is not one")
        return ""
    if not isinstance(label, str):
        return f"the model predicts text classes like {prediction!r}; send the label as text"
    return ""


def _error(model: str, problems: list[_Problem], total: int) -> ModelportError:
    reasons = {p.reason for p in problems}
    shown = "; ".join(f"{p.request_id}: {p.message}" for p in problems[:10])
    more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
    counts = {r: sum(p.reason == r for p in problems) for r in sorted(reasons)}
    message = (f"{len(problems)} of {total} feedback item(s) for model {model!r} were refused "
               f"and nothing was stored: {shown}{more}")
    if reasons == {"unknown_request"}:
        message += (". Unknown ids are requests not in the inference log: not answered by "
                    "this model, sampled out, older than the lookback, or not written yet "
                    "(the log writes about once a second)")
    details = {"counts": counts, "problems": [
        {"request_id": p.request_id, "reason": p.reason, "error": p.message} for p in problems]}
    kind = {"unknown_request": NotFound, "duplicate": Conflict}.get(
        next(iter(reasons)) if len(reasons) == 1 else "", InvalidInput)
    return kind(message, details=details)
