"""``modelport explain MODEL REQUEST_ID``: why a logged prediction came out as it did.

The inference log keeps an explanation with the prediction when the request asked for one
(``"parameters": {"explain": true}`` or ``/explain``). For a request logged without one, the
logged inputs are explained again with the version that answered (exact, so the same numbers
the server would have given, for trees and linear models).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import typer

from modelport.cli.common import JSON_OPTION, open_registry
from modelport.cli.monitor_cmd import LOG_OPTION, _log_root
from modelport.cli.output import print_fields, print_json, print_table
from modelport.errors import NotFound
from modelport.monitoring.log_reader import read_log
from modelport.monitoring.log_table import INPUT_PREFIX, OUTPUT_PREFIX
from modelport.registry.loader import load_ref
from modelport.runtimes.explain import explainer_for

__all__ = ["explain"]

_STORED = OUTPUT_PREFIX + "explain_contributions"


def explain(
    model: str = typer.Argument(..., help="Model name, e.g. fraud."),
    request_id: str = typer.Argument(..., help="Request id (the 'id' of the response)."),
    log: str | None = LOG_OPTION,
    top: int = typer.Option(20, help="Show at most this many features, largest first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the per-feature contributions behind one logged prediction."""
    root = _log_root(log)
    rows = read_log(root, model, request_ids=[request_id])
    if rows.empty:
        raise NotFound(
            f"request {request_id!r} of model {model!r} is not in the inference log at {root} "
            "(it may not have been sampled, or not yet flushed)"
        )
    version = str(rows["version"].iloc[0])
    docs = _stored(model, version, rows) if _has_stored(rows) else _recomputed(model, version, rows)
    if as_json:
        print_json({"model": model, "version": version, "id": request_id, "rows": docs})
        return
    for i, doc in enumerate(docs):
        print_fields([("model", f"{model}:{version}"), ("request", request_id), ("row", i),
                      ("base", doc["base"]), ("value", doc["value"]),
                      ("class", doc.get("class")), ("source", doc["source"])])
        ranked = sorted(doc["contributions"].items(), key=lambda kv: -abs(kv[1]))[:top]
        inputs = doc.get("inputs", {})
        print_table(["feature", "value", "contribution"],
                    [(f, inputs.get(f), c) for f, c in ranked])


def _has_stored(rows: pd.DataFrame) -> bool:
    return _STORED in rows.columns and bool(rows[_STORED].notna().all())


def _inputs(row: pd.Series) -> dict[str, Any]:
    return {str(k)[len(INPUT_PREFIX):]: _plain(v) for k, v in row.items()
            if str(k).startswith(INPUT_PREFIX)}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _stored(model: str, version: str, rows: pd.DataFrame) -> list[dict[str, Any]]:
    with open_registry() as registry:
        info = registry.resolve(f"{model}:{version}")
    features = list(info.signature.input_names)
    out = []
    for _, row in rows.iterrows():
        values = list(np.asarray(row[_STORED], dtype=float))
        if len(features) != len(values):
            features = [f"feature {j}" for j in range(len(values))]
        doc: dict[str, Any] = {
            "source": "logged with the prediction",
            "base": float(row[OUTPUT_PREFIX + "explain_base"]),
            "value": float(row[OUTPUT_PREFIX + "explain_value"]),
            "contributions": dict(zip(features, values, strict=True)),
            "inputs": _inputs(row),
        }
        target = OUTPUT_PREFIX + "explain_class"
        if target in rows.columns and pd.notna(row[target]):
            doc["class"] = int(row[target])
        out.append(doc)
    return out


def _recomputed(model: str, version: str, rows: pd.DataFrame) -> list[dict[str, Any]]:
    with open_registry() as registry:
        _, runtime = load_ref(registry, f"{model}:{version}")
    names = tuple(runtime.signature().input_names)
    missing = [n for n in names if INPUT_PREFIX + n not in rows.columns]
    if missing:
        raise NotFound(
            f"the log does not hold inputs {missing} of this request (redacted?), so it "
            "cannot be explained again; ask for explanations at request time"
        )
    batch = {n: np.asarray(rows[INPUT_PREFIX + n].to_numpy()) for n in names}
    exp = explainer_for(runtime, name=model).explain(batch)
    docs = exp.rows()
    for doc, (_, row) in zip(docs, rows.iterrows(), strict=True):
        doc["source"] = f"computed now ({exp.method}, {exp.space})"
        doc["inputs"] = _inputs(row)
    return docs

