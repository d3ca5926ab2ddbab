"""Model-agnostic fallback: Shapley values estimated from sampled feature orderings.

For one ordering the marginal gains of switching features one at a time from a baseline row
to the explained row add up to ``f(x) - f(baseline)`` exactly, so every estimate is additive
whatever the number of samples; more orderings only reduce the noise. Orderings come in
antithetic pairs (an ordering and its reverse) and are scored in one ``predict`` call per
block. Work stops at ``max_permutations`` or the time budget, whichever comes first (at least
one pair is always scored).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from modelport.runtimes.base import Array, Batch
from modelport.runtimes.explain.base import Explainer, Explanation, feature_matrix

__all__ = ["SamplingBudget", "SamplingExplainer"]

Score = Callable[[Array], Array]
"""``[rows, features]`` -> ``[rows, outputs]`` (the model's numbers for each row)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingBudget:
    """How much work one explained row may take."""

    max_permutations: int = 256
    """Orderings sampled per row at most (rounded up to pairs)."""
    max_ms: float = 500.0
    """Wall-clock budget per row."""
    block: int = 16
    """Orderings scored per predict call."""


class SamplingExplainer(Explainer):
    """Sampling Shapley values of ``score`` against a baseline row."""

    method = "sampling_shapley"

    def __init__(self, score: Score, names: tuple[str, ...], baseline: Array, *,
                 space: str, classifier: bool, budget: SamplingBudget | None = None,
                 seed: int = 0) -> None:
        self.score = score
        self.names = names
        self.baseline = np.asarray(baseline, dtype=np.float64)
        self.space = space
        self.classifier = classifier
        self.budget = budget or SamplingBudget()
        self.seed = seed

    def explain(self, inputs: Batch) -> Explanation:
        x = feature_matrix(inputs, self.names)
        rows, f = x.shape
        base_scores = self.score(self.baseline[None, :])[0]
        own = self.score(x) if rows else np.empty((0, base_scores.shape[0]))
        targets = self._targets(own)
        col = targets if targets is not None else np.zeros(rows, np.int64)
        phi = np.zeros((rows, f))
        rng = np.random.default_rng(self.seed)
        for r in range(rows):
            phi[r] = self._row(x[r], int(col[r]), rng)
        value = own[np.arange(rows), col] if rows else np.empty(0)
        base = base_scores[col] if rows else np.empty(0)
        # every ordering's gains add up exactly; put float rounding on the largest feature
        if rows and f:
            gap = value - base - phi.sum(axis=1)
            phi[np.arange(rows), np.abs(phi).argmax(axis=1)] += gap
        return Explanation(method=self.method, space=self.space, features=self.names,
                           contributions=phi, base=np.asarray(base, np.float64),
                           value=np.asarray(value, np.float64), target=targets)

    def _targets(self, scores: Array) -> Array | None:
        if not self.classifier:
            return None
        if scores.shape[1] == 2:
            return np.ones(scores.shape[0], np.int64)
        return np.asarray(scores.argmax(axis=1), np.int64)

    def _row(self, x: Array, column: int, rng: np.random.Generator) -> Array:
        f = x.shape[0]
        total = np.zeros(f)
        done = 0
        budget = self.budget
        deadline = time.monotonic() + budget.max_ms / 1000.0
        while done < budget.max_permutations and (done == 0 or time.monotonic() < deadline):
            pairs = max(1, min(budget.block, budget.max_permutations - done) // 2)
            orders: list[Array] = []
            for _ in range(pairs):
                order = rng.permutation(f)
                orders.extend((order, order[::-1]))
            total += self._gains(x, orders, column).sum(axis=0)
            done += 2 * pairs
        return total / done

    def _gains(self, x: Array, orders: list[Array], column: int) -> Array:
        """``[orderings, features]`` marginal gains, all orderings scored in one call."""
        f = x.shape[0]
        grid = np.repeat(self.baseline[None, :], len(orders) * (f + 1), axis=0)
        grid = grid.reshape(len(orders), f + 1, f)
        for i, order in enumerate(orders):
            for step, feature in enumerate(order):
                grid[i, step + 1:, feature] = x[feature]
        scores = self.score(grid.reshape(-1, f))[:, column].reshape(len(orders), f + 1)
        gains = np.diff(scores, axis=1)  # gain of the step-th feature of each ordering
        out = np.empty((len(orders), f))
        for i, order in enumerate(orders):
            out[i, order] = gains[i]
        return out
