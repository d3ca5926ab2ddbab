"""Drift statistics: does a live sample still look like the reference sample?

Numeric features get the two-sample Kolmogorov-Smirnov test, categorical ones the chi-square
test of homogeneity; both also get the population stability index (PSI) over the same bins the
report plots. With many features, some p-values are small by chance, so they are corrected
together (Benjamini-Hochberg by default, or Holm) before comparing with ``alpha``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy import stats

__all__ = ["FeatureDrift", "adjust_p_values", "compare_categorical", "compare_numeric", "psi"]

Kind = Literal["numeric", "categorical"]
_EPS = 1e-4


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureDrift:
    """One feature (or prediction) tested: the statistic, p-values, PSI and the histograms."""

    feature: str
    kind: Kind
    test: str
    """``ks``, ``chi2``, or ``none`` when it could not be tested (see ``note``)."""
    statistic: float = math.nan
    p_value: float = math.nan
    p_adjusted: float = math.nan
    psi: float = math.nan
    reference_rows: int = 0
    live_rows: int = 0
    drifted: bool = False
    note: str = ""
    bins: tuple[str, ...] = ()
    """Bin labels (numeric ranges or categories) of the histograms below."""
    reference_share: tuple[float, ...] = ()
    live_share: tuple[float, ...] = ()
    prediction: bool = False
    """True for a model output rather than an input feature."""

    @property
    def tested(self) -> bool:
        return self.test != "none"

    @property
    def verdict(self) -> str:
        if not self.tested:
            return "not tested"
        return "DRIFT" if self.drifted else "ok"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "feature": self.feature, "kind": self.kind, "test": self.test,
            "statistic": _num(self.statistic), "p_value": _num(self.p_value),
            "p_adjusted": _num(self.p_adjusted), "psi": _num(self.psi),
            "reference_rows": self.reference_rows, "live_rows": self.live_rows,
            "drifted": self.drifted, "verdict": self.verdict, "prediction": self.prediction,
        }
        if self.note:
            out["note"] = self.note
        return out


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def compare_numeric(name: str, reference: np.ndarray[Any, Any], live: np.ndarray[Any, Any],
                    *, bins: int = 10, min_rows: int = 50) -> FeatureDrift:
    """KS test and PSI over reference-quantile bins; NaNs are left out of both samples."""
    ref = _finite(reference)
    cur = _finite(live)
    base = FeatureDrift(feature=name, kind="numeric", test="none", reference_rows=ref.size,
                        live_rows=cur.size)
    if ref.size < 2:
        return replace(base, note="the reference has fewer than 2 values")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    ref_share = _shares(ref, edges)
    live_share = _shares(cur, edges) if cur.size else np.zeros_like(ref_share)
    labels = tuple(_range_label(edges, i) for i in range(edges.size + 1))
    base = replace(base, bins=labels, reference_share=tuple(ref_share.tolist()),
                   live_share=tuple(live_share.tolist()))
    if cur.size < min_rows:
        return replace(base, note=f"{cur.size} live rows, fewer than the {min_rows} needed")
    result = stats.ks_2samp(ref, cur)
    return replace(base, test="ks", statistic=float(result.statistic),
                   p_value=float(result.pvalue), psi=psi(ref_share, live_share))


def compare_categorical(name: str, reference: Sequence[Any] | np.ndarray[Any, Any],
                        live: Sequence[Any] | np.ndarray[Any, Any], *, min_rows: int = 50
                        ) -> FeatureDrift:
    """Chi-square homogeneity test and PSI over the categories seen in either sample."""
    ref = _labels(reference)
    cur = _labels(live)
    ref_seen, cur_seen = Counter(ref.tolist()), Counter(cur.tolist())
    cats = sorted(set(ref_seen) | set(cur_seen))
    ref_counts = np.array([ref_seen[c] for c in cats], dtype=np.float64)
    live_counts = np.array([cur_seen[c] for c in cats], dtype=np.float64)
    ref_share = ref_counts / max(ref.size, 1)
    live_share = live_counts / max(cur.size, 1)
    base = FeatureDrift(feature=name, kind="categorical", test="none", reference_rows=ref.size,
                        live_rows=cur.size, bins=tuple(cats),
                        reference_share=tuple(ref_share.tolist()),
                        live_share=tuple(live_share.tolist()))
    if ref.size < 2:
        return replace(base, note="the reference has fewer than 2 values")
    if cur.size < min_rows:
        return replace(base, note=f"{cur.size} live rows, fewer than the {min_rows} needed")
    if len(cats) < 2:
        return replace(base, test="chi2", statistic=0.0, p_value=1.0, psi=0.0)
    chi2, p, _, _ = stats.chi2_contingency(np.vstack([ref_counts, live_counts]))
    return replace(base, test="chi2", statistic=float(chi2), p_value=float(p),
                   psi=psi(ref_share, live_share))


def psi(reference_share: np.ndarray[Any, Any], live_share: np.ndarray[Any, Any]) -> float:
    """Population stability index; empty bins are floored at 1e-4 so it stays finite."""
    ref = np.maximum(np.asarray(reference_share, dtype=np.float64), _EPS)
    cur = np.maximum(np.asarray(live_share, dtype=np.float64), _EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def adjust_p_values(p_values: Sequence[float], method: str = "bh") -> list[float]:
    """Benjamini-Hochberg (``bh``) or Holm (``holm``) adjusted p-values, in input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p)
    ranked = p[order]
    if method == "bh":
        scaled = ranked * m / np.arange(1, m + 1)
        adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    elif method == "holm":
        scaled = ranked * (m - np.arange(m))
        adjusted = np.maximum.accumulate(scaled)
    else:
        raise ValueError(f"unknown correction {method!r}; use 'bh' or 'holm'")
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return [float(v) for v in out]


def _finite(values: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    return arr[np.isfinite(arr)]


def _labels(values: Any) -> np.ndarray[Any, Any]:
    out = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
           for v in np.asarray(values, dtype=object).reshape(-1).tolist()
           if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return np.array(out, dtype=object)


def _shares(values: np.ndarray[Any, Any], edges: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Shares below the first edge, in each bin, and above the last edge."""
    index = np.searchsorted(edges[1:-1], values, side="right") + 1
    index[values < edges[0]] = 0
    index[values > edges[-1]] = edges.size
    counts = np.bincount(index, minlength=edges.size + 1).astype(np.float64)
    return counts / max(values.size, 1)


def _range_label(edges: np.ndarray[Any, Any], i: int) -> str:
    if i == 0:
        return f"< {edges[0]:.4g}"
    if i == edges.size:
        return f"> {edges[-1]:.4g}"
    return f"{edges[i - 1]:.4g} .. {edges[i]:.4g}"
