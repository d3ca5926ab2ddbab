"""Exact path-dependent TreeSHAP over fitted decision trees, vectorised over leaves.

Each leaf is a small game: a feature on the leaf's path is either *known* (the row follows
it: the row satisfies every split on that feature along the path, ``o = 1`` or ``0``) or
*unknown* (the training data's cover follows it: ``z`` = the product of the cover fractions of
that feature's splits). The leaf's value under a set ``S`` of known features is
``v * prod(o[S]) * prod(z[P - S])``; summed over leaves that is the path-dependent expectation
TreeSHAP uses (Lundberg et al. 2020, algorithm 2). The Shapley value of feature ``i`` in one
leaf game is ``v (o_i - z_i) sum_k w(k, d) c_k``, where ``c_k`` are the coefficients of
``prod_{j != i} (z_j + o_j t)`` and ``w(k, d) = k! (d-k-1)! / d!``. All leaves of all trees are
padded to the deepest path and processed together, so the Python work per call is
``O(depth^2)`` numpy operations whatever the number of trees.

Features are compared in float32, as scikit-learn's trees do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial
from typing import Any

import numpy as np

from modelport.runtimes.base import Array

__all__ = ["LeafPaths", "TreeArrays", "leaf_paths"]

_CHUNK_CELLS = 4_000_000
"""Rows are processed in chunks of at most this many (row, leaf, depth) cells."""


@dataclass(frozen=True, slots=True)
class TreeArrays:
    """One fitted tree as plain arrays (scikit-learn's ``tree_`` layout)."""

    left: Array
    right: Array
    feature: Array
    threshold: Array
    cover: Array
    value: Array
    """``[nodes, outputs]``: what a leaf contributes for each output (already scaled)."""
    nan_left: Array

    @classmethod
    def from_sklearn(cls, tree: Any, scale: float = 1.0) -> TreeArrays:
        """From an estimator's ``tree_``; ``scale`` multiplies leaf values (1/n for forests)."""
        value = np.asarray(tree.value, dtype=np.float64)
        value = value.reshape(value.shape[0], -1) * scale
        nodes = value.shape[0]
        nan_left = getattr(tree, "missing_go_to_left", None)
        return cls(
            left=np.asarray(tree.children_left),
            right=np.asarray(tree.children_right),
            feature=np.asarray(tree.feature),
            threshold=np.asarray(tree.threshold, dtype=np.float64),
            cover=np.asarray(tree.weighted_n_node_samples, dtype=np.float64),
            value=value,
            nan_left=np.zeros(nodes, bool) if nan_left is None else np.asarray(nan_left, bool),
        )


@dataclass(frozen=True, slots=True)
class LeafPaths:
    """Every leaf of an ensemble with its path, padded to ``depth`` slots."""

    feature: Array
    """``[leaves, depth]`` int: the feature of each slot (0 in padding)."""
    lo: Array
    """``[leaves, depth]``: the row satisfies the slot when ``lo < x <= hi``."""
    hi: Array
    nan_ok: Array
    """``[leaves, depth]`` bool: a missing value follows this path."""
    zero: Array
    """``[leaves, depth]``: cover fraction ``z`` (1 in padding)."""
    mask: Array
    """``[leaves, depth]`` float: 1 for real slots, 0 for padding."""
    weights: Array
    """``[leaves, depth]``: ``w(k, d)`` for ``k < d``, 0 beyond."""
    value: Array
    """``[leaves, outputs]``."""
    n_features: int

    def base(self) -> Array:
        """``[outputs]``: the expected value, ``sum v * prod z``."""
        base: Array = (self.value * self.zero.prod(axis=1, keepdims=True)).sum(axis=0)
        return base

    def shap(self, x: Array, leaf_value: Array | None = None) -> Array:
        """``[rows, features]`` contributions for one output.

        ``leaf_value`` is ``[rows, leaves]`` (a per-row choice of output) or None for the
        first output.
        """
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        rows = x.shape[0]
        leaves, depth = self.feature.shape
        out = np.zeros((rows, self.n_features))
        step = max(1, _CHUNK_CELLS // max(1, leaves * (depth + 1)))
        for start in range(0, rows, step):
            part = slice(start, min(rows, start + step))
            values = self.value[:, 0][None, :] if leaf_value is None else leaf_value[part]
            out[part] = self._chunk(x[part], values)
        return out

    def _chunk(self, x: Array, values: Array) -> Array:
        rows = x.shape[0]
        depth = self.feature.shape[1]
        xv = x[:, self.feature]  # [rows, leaves, depth]
        with np.errstate(invalid="ignore"):
            one = ((xv > self.lo) & (xv <= self.hi)) | (np.isnan(xv) & self.nan_ok)
        o = one.astype(np.float64) * self.mask
        z = self.zero
        # coefficients of prod_j (z_j + o_j t), as depth+1 arrays of [rows, leaves]
        poly = [np.ones(o.shape[:2])] + [np.zeros(o.shape[:2]) for _ in range(depth)]
        for j in range(depth):
            oj, zj = o[:, :, j], z[None, :, j]
            for k in range(j + 1, 0, -1):
                poly[k] = poly[k] * zj + poly[k - 1] * oj
            poly[0] = poly[0] * zj
        phi = np.empty_like(o)
        for i in range(depth):
            oi, zi = o[:, :, i], np.broadcast_to(z[None, :, i], o.shape[:2])
            known = oi > 0
            # divide by (z_i + t) where o_i = 1 (top down), by z_i where o_i = 0
            total = np.zeros(o.shape[:2])
            q_next = poly[depth]
            for k in range(depth - 1, -1, -1):
                q_one = q_next
                q_zero = poly[k] / zi
                q = np.where(known, q_one, q_zero)
                total += q * self.weights[None, :, k]
                q_next = poly[k] - zi * q_one
            phi[:, :, i] = (oi - zi) * total
        phi *= self.mask[None]
        phi *= values[:, :, None]
        index = (np.arange(rows)[:, None, None] * self.n_features + self.feature[None]).ravel()
        sums = np.bincount(index, weights=phi.ravel(), minlength=rows * self.n_features)
        return sums.reshape(rows, self.n_features)


def leaf_paths(trees: Sequence[TreeArrays], n_features: int) -> LeafPaths:
    """The padded leaf paths of every tree (done once, when the explainer is built)."""
    paths: list[tuple[list[tuple[int, float, float, bool, float]], Array]] = []
    for tree in trees:
        _walk(tree, 0, {}, paths)
    depth = max((len(p) for p, _ in paths), default=0) or 1
    n = len(paths)
    feature = np.zeros((n, depth), np.int64)
    lo = np.full((n, depth), np.inf)
    hi = np.full((n, depth), np.inf)
    nan_ok = np.zeros((n, depth), bool)
    zero = np.ones((n, depth))
    mask = np.zeros((n, depth))
    weights = np.zeros((n, depth))
    value = np.zeros((n, trees[0].value.shape[1] if trees else 1))
    for r, (path, leaf_value) in enumerate(paths):
        d = len(path)
        for s, (f, a, b, nan, frac) in enumerate(path):
            feature[r, s], lo[r, s], hi[r, s], nan_ok[r, s], zero[r, s] = f, a, b, nan, frac
            mask[r, s] = 1.0
            weights[r, s] = factorial(s) * factorial(d - s - 1) / factorial(d)
        value[r] = leaf_value
    return LeafPaths(feature, lo, hi, nan_ok, zero, mask, weights, value, n_features)


_Slot = tuple[float, float, bool, float]


def _walk(
    tree: TreeArrays,
    node: int,
    slots: dict[int, _Slot],
    out: list[tuple[list[tuple[int, float, float, bool, float]], Array]],
) -> None:
    """Depth-first: carry, per feature, the interval, the missing-value rule and ``z``."""
    left, right = int(tree.left[node]), int(tree.right[node])
    if left < 0:
        out.append(([(f, *s) for f, s in slots.items()], tree.value[node]))
        return
    f = int(tree.feature[node])
    t = float(tree.threshold[node])
    cover = float(tree.cover[node])
    lo, hi, nan, frac = slots.get(f, (-np.inf, np.inf, True, 1.0))
    nan_left = bool(tree.nan_left[node])
    for child, interval, nan_here in (
        (left, (lo, min(hi, t)), nan_left),
        (right, (max(lo, t), hi), not nan_left),
    ):
        share = float(tree.cover[child]) / cover if cover > 0 else 0.0
        _walk(tree, child, {**slots, f: (*interval, nan and nan_here, frac * share)}, out)
