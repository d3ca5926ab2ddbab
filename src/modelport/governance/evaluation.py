"""Run one version over labelled data and record the result on the version.

The record holds the data's sha256 and size, metrics, per-slice metrics, single-row latency,
a comparison with another version on the same data, and the acceptance criteria of the
model's policy with their outcome. It is audited (``model.evaluate``) and shown in the model
card (``modelport models show``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelport.errors import InvalidInput
from modelport.governance.criteria import check_criteria
from modelport.governance.metrics import (
    binary_metrics,
    calibration_bins,
    multiclass_metrics,
    regression_metrics,
)
from modelport.governance.store import EvaluationRecord, evaluations_of, get_policy, save_evaluation
from modelport.protocol.signature import Signature
from modelport.registry.loader import load_version
from modelport.registry.records import VersionInfo
from modelport.registry.service import Registry
from modelport.runtimes.base import Array, Runtime
from modelport.security.audit import append_audit

__all__ = ["EvaluationRequest", "run_evaluation"]

_CHUNK = 8192
MAX_SLICES = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRequest:
    ref: str
    data: Path
    label: str
    against: str | None = None
    slice_by: tuple[str, ...] = ()
    threshold: float = 0.5
    latency_rows: int = 200


def run_evaluation(registry: Registry, request: EvaluationRequest, frame: pd.DataFrame, *,
                   actor: str) -> EvaluationRecord:
    info = registry.resolve(request.ref)
    _check_columns(frame, request, info.signature)
    y_raw = frame[request.label].to_numpy()
    runtime = load_version(registry, info)
    task, scores = _scores(runtime, info.signature, frame)
    y = _labels(y_raw, task)
    metrics = _metrics(task, y, scores, request.threshold)
    latency = _latency(runtime, info.signature, frame, request.latency_rows)
    doc: dict[str, Any] = {
        "ref": info.ref,
        "data": {"path": str(request.data), "sha256": _sha256(request.data),
                 "rows": len(frame)},
        "label": request.label,
        "task": task,
        "threshold": request.threshold if task == "binary" else None,
        "metrics": {**metrics, **latency},
        "slices": {col: _slices(frame[col], task, y, scores, request.threshold)
                   for col in request.slice_by},
    }
    if task == "binary":
        doc["calibration"] = calibration_bins(y, scores)
    other: VersionInfo | None = None
    if request.against:
        other = registry.resolve(request.against)
        other_rt = load_version(registry, other)
        other_task, other_scores = _scores(other_rt, other.signature, frame)
        theirs = {**_metrics(other_task, y, other_scores, request.threshold),
                  **_latency(other_rt, other.signature, frame, request.latency_rows)}
        doc["against"] = {"ref": other.ref, "metrics": theirs}
        doc["comparison"] = {
            k: {"this": v, "against": theirs.get(k),
                "delta": v - theirs[k] if _num(v) and _num(theirs.get(k)) else None}
            for k, v in doc["metrics"].items() if k != "rows"
        }
    policy = get_policy(registry.engine, info.name)
    criteria = list(policy.criteria) if policy is not None else []

    def reference(alias: str) -> dict[str, Any] | None:
        target = registry.resolve(f"{info.name}@{alias}")
        if other is not None and other.name == target.name and other.version == target.version:
            return dict(doc["against"]["metrics"])
        sha = doc["data"]["sha256"]
        for e in reversed(evaluations_of(registry.engine, target.name)):
            if e.document.get("data", {}).get("sha256") != sha:
                continue  # only numbers measured on the same data compare
            if e.version == target.version:
                return dict(e.document["metrics"])
            if e.document.get("against", {}).get("ref") == target.ref:
                return dict(e.document["against"]["metrics"])
        return None

    results = check_criteria(criteria, doc["metrics"], _safe(reference))
    doc["criteria"] = [r.to_dict() for r in results]
    passed = all(r.passed for r in results)
    record = save_evaluation(registry.engine, info.name, info.version, actor=actor,
                             passed=passed, document=doc)
    append_audit(registry.engine, action="model.evaluate", actor=actor, target=info.ref,
                 details={"evaluation": record.id, "passed": passed,
                          "data_sha256": doc["data"]["sha256"], "rows": len(frame),
                          "failed": [r.criterion for r in results if not r.passed]})
    return record


def _safe(reference: Any) -> Any:
    """An alias that does not exist gives no reference (the criterion fails, saying why)."""
    from modelport.errors import NotFound

    def call(alias: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] | None = reference(alias)
            return result
        except NotFound:
            return None
    return call


def _check_columns(frame: pd.DataFrame, request: EvaluationRequest, sig: Signature) -> None:
    columns = [str(c) for c in frame.columns]
    wanted = {"--label": [request.label], "--slice": list(request.slice_by)}
    for option, names in wanted.items():
        for name in names:
            if name not in frame.columns:
                raise InvalidInput(f"{option} column {name!r} is not in {request.data}; its "
                                   f"columns are: {', '.join(columns[:30])}")
    if not sig.tabular:
        raise InvalidInput(f"{request.ref} takes tensors, not table columns; evaluate covers "
                           "tabular models")
    missing = [n for n in sig.input_names if n not in frame.columns]
    if missing:
        raise InvalidInput(f"{request.data} lacks the model's input columns {missing[:20]}")
    if not 0.0 < request.threshold < 1.0:
        raise InvalidInput(f"--threshold must be between 0 and 1, got {request.threshold}")


def _batch(sig: Signature, frame: pd.DataFrame) -> dict[str, Array]:
    out: dict[str, Array] = {}
    for spec in sig.inputs:
        col = frame[spec.name]
        if spec.datatype == "BYTES":
            out[spec.name] = np.array([str(v).encode() for v in col], dtype=object)
        else:
            dtype = {"FP32": np.float32, "FP64": np.float64, "FP16": np.float32}.get(
                spec.datatype, np.float64 if spec.datatype.startswith("FP") else np.int64)
            try:
                out[spec.name] = col.to_numpy(dtype=dtype)
            except (TypeError, ValueError):
                raise InvalidInput(f"column {spec.name!r} must hold numbers "
                                   f"({spec.datatype})") from None
    return out


def _scores(runtime: Runtime, sig: Signature, frame: pd.DataFrame) -> tuple[str, Array]:
    """``binary`` (positive-class probability), ``multiclass`` (probabilities),
    ``regression`` (predictions)."""
    outputs = {o.name for o in sig.outputs}
    parts = []
    for start in range(0, len(frame), _CHUNK):
        produced = runtime.predict(_batch(sig, frame.iloc[start:start + _CHUNK]))
        key = "predict_proba" if "predict_proba" in outputs else "predict"
        if key not in produced:
            key = next(iter(produced))
        parts.append(np.asarray(produced[key], dtype=np.float64))
    scores = np.concatenate(parts) if parts else np.empty(0)
    if "predict_proba" in outputs:
        if scores.ndim == 2 and scores.shape[1] == 2:
            return "binary", scores[:, 1]
        return "multiclass", scores
    return "regression", scores.reshape(scores.shape[0], -1)[:, 0]


def _labels(raw: Array, task: str) -> Array:
    if task == "regression":
        try:
            return raw.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInput("the label column must hold numbers for a regressor") from None
    try:
        as_int = raw.astype(np.int64)
        if np.array_equal(as_int, raw.astype(np.float64)):
            return as_int
    except (TypeError, ValueError):
        pass
    classes = sorted({str(v) for v in raw})
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[str(v)] for v in raw], dtype=np.int64)


def _metrics(task: str, y: Array, scores: Array, threshold: float) -> dict[str, Any]:
    if task == "binary":
        if not set(np.unique(y)) <= {0, 1}:
            raise InvalidInput("a binary classifier's label column must hold 0/1 (or two "
                               f"classes), got values {sorted(set(np.unique(y)))[:10]}")
        return binary_metrics(y, scores, threshold)
    if task == "multiclass":
        return multiclass_metrics(y, scores)
    return regression_metrics(y, scores)


def _slices(column: pd.Series, task: str, y: Array, scores: Array, threshold: float
            ) -> dict[str, Any]:
    values = column.astype(str).to_numpy()
    counts = pd.Series(values).value_counts()
    out: dict[str, Any] = {}
    for value in counts.index[:MAX_SLICES]:
        mask = values == value
        sub_y, sub_s = y[mask], scores[mask]
        out[str(value)] = (binary_metrics(sub_y, sub_s, threshold) if task == "binary"
                           else _metrics(task, sub_y, sub_s, threshold))
    return out


def _latency(runtime: Runtime, sig: Signature, frame: pd.DataFrame, n: int) -> dict[str, Any]:
    """Single-row predict latency over the first ``n`` rows (the model alone, in process)."""
    rows = min(n, len(frame))
    if rows == 0:
        return {}
    batch = _batch(sig, frame.iloc[:rows])
    for i in range(min(rows, 10)):  # warm up (first calls allocate, start thread pools)
        runtime.predict({k: v[i:i + 1] for k, v in batch.items()})
    times = np.empty(rows)
    for i in range(rows):
        one = {k: v[i:i + 1] for k, v in batch.items()}
        start = time.perf_counter()
        runtime.predict(one)
        times[i] = (time.perf_counter() - start) * 1e3
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
