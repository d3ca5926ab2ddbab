"""Word attributions for text classifiers by occlusion: how much the predicted class's
probability drops when one word is left out. Not additive (the words interact), so the
explanation says ``additive: false``; the base is the probability with every word removed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from modelport.errors import InvalidInput
from modelport.runtimes.base import Array, Batch
from modelport.runtimes.explain.base import Explainer, Explanation
from modelport.runtimes.tensors import as_strings

__all__ = ["OcclusionExplainer"]

Scores = Callable[[list[str]], Array]

MAX_WORDS = 256
"""Words explained per text at most (each costs one row of a forward pass)."""


class OcclusionExplainer(Explainer):
    method = "occlusion"

    def __init__(self, scores: Scores, input_name: str = "text") -> None:
        self.scores = scores
        self.input_name = input_name

    def explain(self, inputs: Batch) -> Explanation:
        if set(inputs) != {self.input_name}:
            raise InvalidInput(f"cannot explain: the model takes one input {self.input_name!r}")
        texts = [str(t) for t in as_strings(np.asarray(inputs[self.input_name]).reshape(-1))]
        if len(texts) != 1:
            raise InvalidInput(
                f"text explanations take one text per request, got {len(texts)}; send the "
                "texts one at a time"
            )
        words = texts[0].split()[:MAX_WORDS]
        variants = [texts[0], ""] + [
            " ".join(words[:i] + words[i + 1:]) for i in range(len(words))
        ]
        probs = np.asarray(self.scores(variants), dtype=np.float64)
        target = int(probs[0].argmax())
        value = probs[0, target]
        drops = value - probs[2:, target]
        return Explanation(
            method=self.method, space="probability", features=tuple(words),
            contributions=drops[None, :], base=np.array([probs[1, target]]),
            value=np.array([value]), target=np.array([target], np.int64), additive=False,
        )
