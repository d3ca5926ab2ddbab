"""A drift check of one model version: its logged traffic in a window against its reference.

Inputs are compared feature by feature; the predictions the version made live are compared
with the predictions it makes on the reference data (prediction drift), when the model can be
loaded here. A version without reference data is refused with a message saying how to add it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from modelport.errors import NotFound
from modelport.monitoring.config import DriftConfig
from modelport.monitoring.contract import is_feature
from modelport.monitoring.contract_store import read_reference
from modelport.monitoring.drift import (
    FeatureDrift,
    adjust_p_values,
    compare_categorical,
    compare_numeric,
)
from modelport.monitoring.log_reader import read_log
from modelport.monitoring.log_table import INPUT_PREFIX, OUTPUT_PREFIX
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import Signature
from modelport.registry import Registry, VersionInfo
from modelport.registry.loader import load_version

__all__ = ["DriftReport", "check_drift", "compare_frames", "predict_reference"]

log = logging.getLogger(__name__)
_CHUNK = 4096
_FLOAT = frozenset(("FP16", "FP32", "FP64"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """Every feature tested for one model version over one window."""

    model: str
    version: str
    since: datetime
    until: datetime
    alpha: float
    correction: str
    live_rows: int
    reference_rows: int
    features: tuple[FeatureDrift, ...]
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        return any(f.drifted for f in self.features)

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "version": self.version,
            "since": self.since.isoformat(), "until": self.until.isoformat(),
            "alpha": self.alpha, "correction": self.correction,
            "live_rows": self.live_rows, "reference_rows": self.reference_rows,
            "drifted": self.drifted, "drifted_features": self.drifted_features,
            "features": [f.to_dict() for f in self.features], "notes": list(self.notes),
        }


def compare_frames(
    reference: pd.DataFrame,
    live: pd.DataFrame,
    signature: Signature,
    config: DriftConfig,
    *,
    reference_predictions: Mapping[str, np.ndarray[Any, Any]] | None = None,
) -> tuple[FeatureDrift, ...]:
    """Test every input feature (and output, given reference predictions), then correct."""
    results: list[FeatureDrift] = []
    for spec in signature.inputs:
        if not is_feature(spec.shape) or spec.name not in reference.columns:
            continue
        column = INPUT_PREFIX + spec.name
        cur = live[column].to_numpy() if column in live.columns else np.array([])
        results.append(_compare(spec.name, spec.datatype, reference[spec.name].to_numpy(),
                                cur, config))
    for spec in signature.outputs:
        ref = (reference_predictions or {}).get(spec.name)
        column = OUTPUT_PREFIX + spec.name
        if ref is None or column not in live.columns:
            continue
        cur = live[column].to_numpy()
        if ref.ndim == 2 and ref.shape[1] == 2:  # binary probabilities: the positive class
            ref, label = ref[:, 1], f"{spec.name}[1]"
            cur = np.array([row[1] if row is not None else np.nan for row in cur], dtype=float)
        elif ref.ndim == 1 or (ref.ndim == 2 and ref.shape[1] == 1):
            ref, label = ref.reshape(-1), spec.name
        else:
            continue
        results.append(replace(_compare(label, spec.datatype, ref, cur, config), prediction=True))
    tested = [i for i, f in enumerate(results) if f.tested]
    adjusted = adjust_p_values([results[i].p_value for i in tested], config.correction)
    for i, p in zip(tested, adjusted, strict=True):
        results[i] = replace(results[i], p_adjusted=p, drifted=p < config.alpha)
    return tuple(results)


def _compare(name: str, datatype: str, ref: np.ndarray[Any, Any], cur: np.ndarray[Any, Any],
             config: DriftConfig) -> FeatureDrift:
    numeric = datatype not in ("BYTES", "BOOL") and ref.dtype != object
    if numeric and datatype not in _FLOAT and np.unique(ref).size <= 2:
        numeric = False  # a 0/1 flag or class label: compare the categories
    if numeric:
        return compare_numeric(name, ref, cur, bins=config.bins, min_rows=config.min_rows)
    return compare_categorical(name, ref, cur, min_rows=config.min_rows)


def predict_reference(registry: Registry, info: VersionInfo, reference: pd.DataFrame
                      ) -> dict[str, np.ndarray[Any, Any]]:
    """What the version predicts for its own reference data (loaded here, then unloaded)."""
    runtime = load_version(registry, info)
    try:
        batch: dict[str, np.ndarray[Any, Any]] = {}
        for spec in info.signature.inputs:
            if spec.name not in reference.columns:
                raise NotFound(f"reference data has no column {spec.name!r}")
            values = reference[spec.name].to_numpy()
            if spec.datatype == "BYTES":
                arr = np.array([v if isinstance(v, bytes) else str(v).encode() for v in values],
                               dtype=object)
            else:
                arr = values.astype(numpy_dtype(spec.datatype))
            batch[spec.name] = arr.reshape(-1, 1) if spec.shape == (-1, 1) else arr
        rows = len(reference)
        parts = [
            runtime.predict({k: v[i:i + _CHUNK] for k, v in batch.items()})
            for i in range(0, rows, _CHUNK)
        ]
    finally:
        runtime.unload()
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]} if parts else {}


_PREDICTIONS: dict[tuple[str, int, str], dict[str, np.ndarray[Any, Any]]] = {}


def check_drift(
    registry: Registry,
    log_root: str,
    ref: str,
    *,
    window: timedelta,
    config: DriftConfig | None = None,
    until: datetime | None = None,
    predictions: bool = True,
) -> DriftReport:
    """Drift of the version ``ref`` points at, over the ``window`` before ``until`` (now)."""
    config = config or DriftConfig()
    info = registry.resolve(ref)
    reference = read_reference(registry, info)
    if reference is None:
        raise NotFound(
            f"{info.ref} has no reference data, so there is nothing to compare live traffic "
            f"with; register the version with its training table (modelport models register "
            f"... --train-data train.parquet) to enable drift checks"
        )
    until = until or datetime.now(UTC)
    since = until - window
    live = read_log(log_root, info.name, versions=[str(info.version)], since=since, until=until)
    notes: list[str] = []
    if live.empty:
        notes.append(f"no logged traffic for {info.ref} between {since:%Y-%m-%d %H:%M} and "
                     f"{until:%Y-%m-%d %H:%M} UTC (is the inference log on?)")
    ref_predictions = None
    if predictions and not live.empty:
        key = (info.name, info.version, info.artifact_sha256)
        ref_predictions = _PREDICTIONS.get(key)
        if ref_predictions is None:
            try:
                ref_predictions = predict_reference(registry, info, reference)
            except Exception as exc:  # a missing extra, a broken artifact: say so, go on
                notes.append(f"prediction drift skipped: the model could not predict its "
                             f"reference data here ({exc})")
            else:
                _PREDICTIONS.clear()
                _PREDICTIONS[key] = ref_predictions
    features = compare_frames(reference, live, info.signature, config,
                              reference_predictions=ref_predictions)
    rows = int(live["request_id"].size) if "request_id" in live.columns else 0
    return DriftReport(
        model=info.name, version=str(info.version), since=since, until=until,
        alpha=config.alpha, correction=config.correction, live_rows=rows,
        reference_rows=len(reference), features=features, notes=tuple(notes),
    )
