"""The parity gate: does the converted model answer like the original on the same rows?

Per output: max and mean absolute difference (numbers) or agreement (labels, text). The label
agreement is taken from the ``predict`` label output, else from the argmax of the first
probability-like output. With true labels, accuracy before and after gives the metric delta.
A float conversion must stay within an absolute tolerance (1e-5 for trees, 1e-3 for neural
nets) with every label equal; a quantized one must keep >= 99% of labels and the accuracy
within 0.5 points. Failures name the worst rows, so a user can look at them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from modelport.errors import Conflict
from modelport.protocol.signature import Signature
from modelport.runtimes.base import Array

__all__ = ["ParityFailed", "ParityReport", "Thresholds", "compare", "thresholds_for"]

TREE_FLAVORS = frozenset({"sklearn", "xgboost", "lightgbm"})
WORST_ROWS = 5


class ParityFailed(Conflict):
    """The converted model does not answer like the original within the thresholds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """What a conversion must meet to be registered."""

    max_abs_diff: float | None
    """Largest allowed absolute difference of any numeric output (None: not checked)."""
    min_label_agreement: float
    """Share of rows whose label must agree (1.0 = every row)."""
    max_metric_drop: float = 0.5
    """Largest allowed accuracy drop, in percentage points, when labels are known."""


def thresholds_for(flavor: str, quantized: bool, tolerance: float | None = None) -> Thresholds:
    if quantized:
        return Thresholds(max_abs_diff=tolerance, min_label_agreement=0.99)
    default = 1e-5 if flavor in TREE_FLAVORS else 1e-3
    return Thresholds(max_abs_diff=default if tolerance is None else tolerance,
                      min_label_agreement=1.0)


@dataclass(slots=True, kw_only=True)
class ParityReport:
    """The figures of one comparison (kept as the version's ``modelport.parity`` tag)."""

    rows: int
    source: str
    thresholds: Thresholds
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    label_agreement: float | None = None
    accuracy_before: float | None = None
    accuracy_after: float | None = None
    worst_rows: list[tuple[int, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    forced: bool = False
    performance: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def metric_delta(self) -> float | None:
        """Accuracy after minus before, in percentage points."""
        if self.accuracy_before is None or self.accuracy_after is None:
            return None
        return 100.0 * (self.accuracy_after - self.accuracy_before)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["metric_delta"] = self.metric_delta
        data["worst_rows"] = [{"row": r, "diff": d} for r, d in self.worst_rows]
        return data

    def summary(self) -> str:
        """One line per failure, then the worst rows."""
        rows = ", ".join(f"{r} ({d:.3g})" for r, d in self.worst_rows) or "none"
        return "; ".join(self.failures) + f"; worst rows: {rows}"


def _label_output(signature: Signature) -> str | None:
    for spec in signature.outputs:
        if spec.name == "predict" and spec.datatype in ("INT64", "INT32", "BYTES"):
            return spec.name
    for spec in signature.outputs:
        if spec.datatype.startswith("FP") and len(spec.shape) == 2 and spec.shape[1] != 1:
            return spec.name
    return None


def _labels(values: Array) -> Array:
    return values.argmax(axis=1) if values.dtype.kind == "f" and values.ndim == 2 else values


def compare(
    signature: Signature,
    before: Mapping[str, Array],
    after: Mapping[str, Array],
    *,
    labels: Array | None,
    thresholds: Thresholds,
    source: str,
) -> ParityReport:
    """Compare the two models' outputs row by row and apply the thresholds."""
    rows = int(next(iter(before.values())).shape[0])
    report = ParityReport(rows=rows, source=source, thresholds=thresholds)
    row_diff = np.zeros(rows, dtype=np.float64)
    for spec in signature.outputs:
        a, b = np.asarray(before[spec.name]), np.asarray(after[spec.name])
        if a.dtype.kind in "fc" or spec.datatype.startswith("FP"):
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).reshape(rows, -1)
            per_row = diff.max(axis=1) if diff.size else np.zeros(rows)
            row_diff = np.maximum(row_diff, per_row)
            max_abs = float(diff.max()) if diff.size else 0.0
            report.outputs[spec.name] = {"max_abs_diff": max_abs, "mean_abs_diff":
                                         float(diff.mean()) if diff.size else 0.0}
            if thresholds.max_abs_diff is not None and max_abs > thresholds.max_abs_diff:
                report.failures.append(f"{spec.name}: max abs diff {max_abs:.3g} > "
                                       f"{thresholds.max_abs_diff:g}")
        else:
            same = (a.reshape(rows, -1) == b.reshape(rows, -1)).all(axis=1)
            row_diff = np.maximum(row_diff, (~same).astype(np.float64))
            report.outputs[spec.name] = {"agreement": float(same.mean()) if rows else 1.0}
    label_name = _label_output(signature)
    if label_name is not None and rows:
        la, lb = _labels(np.asarray(before[label_name])), _labels(np.asarray(after[label_name]))
        agree = la == lb
        report.label_agreement = float(agree.mean())
        row_diff = np.where(agree, row_diff, np.maximum(row_diff, 1.0))
        if report.label_agreement < thresholds.min_label_agreement:
            report.failures.append(
                f"label agreement {100 * report.label_agreement:.2f}% < "
                f"{100 * thresholds.min_label_agreement:g}% ({int((~agree).sum())} rows differ)"
            )
        if labels is not None and len(labels) == rows:
            truth = np.asarray(labels)
            report.accuracy_before = float((la.astype(truth.dtype) == truth).mean())
            report.accuracy_after = float((lb.astype(truth.dtype) == truth).mean())
            delta = report.metric_delta
            if delta is not None and -delta > thresholds.max_metric_drop:
                report.failures.append(f"accuracy dropped {-delta:.2f} points > "
                                       f"{thresholds.max_metric_drop:g}")
    order = np.argsort(-row_diff, kind="stable")[:WORST_ROWS]
    report.worst_rows = [(int(i), float(row_diff[i])) for i in order if row_diff[i] > 0]
    return report
