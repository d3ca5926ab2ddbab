"""Running the planned steps on a batch: every step is one vectorised call over all rows.

The server's batcher merges the requests to a pipeline into one batch, so each model step
gets one predict call per batch (batching applies per model step); rules and ensembles are
numpy over the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from modelport.pipelines.spec import EnsembleStep, RulesStep, SwitchStep
from modelport.pipelines.validate import PlannedStep
from modelport.runtimes.base import Array, Batch, Runtime
from modelport.runtimes.tensors import as_strings

__all__ = ["run_step"]


def run_step(planned: PlannedStep, runtimes: Sequence[Runtime], env: dict[str, Array],
             features: dict[str, Array], rows: int) -> dict[str, Array]:
    """The step's outputs by short name; ``env`` holds inputs and earlier outputs
    (``step.output``), ``features`` what model steps read by bare name."""
    step = planned.step
    if isinstance(step, RulesStep):
        return _rules(planned, step, env, rows)
    if isinstance(step, SwitchStep):
        return _switch(planned, runtimes, env, features, rows)
    results = [rt.predict(_take(m.signature.input_names, features))
               for rt, m in zip(runtimes, planned.members, strict=True)]
    if not isinstance(step, EnsembleStep):
        return results[0]
    return {name: _combine(step, [r[name] for r in results]) for name in planned.outputs}


def _switch(planned: PlannedStep, runtimes: Sequence[Runtime], env: dict[str, Array],
            features: dict[str, Array], rows: int) -> dict[str, Array]:
    """Each branch model runs once, on its rows only; answers go back in row order."""
    view = _text_view(planned, env)
    branch = np.full(rows, len(planned.conditions), dtype=np.int64)  # the default's index
    for index in range(len(planned.conditions) - 1, -1, -1):  # first match wins
        branch[planned.conditions[index](view, rows)] = index
    out: dict[str, Array] = {}
    for index, (runtime, member) in enumerate(zip(runtimes, planned.members, strict=True)):
        picked = np.flatnonzero(branch == index)
        if picked.size == 0:
            continue
        subset = {name: features[name][picked] for name in member.signature.input_names}
        answer = runtime.predict(subset)
        for name in planned.outputs:
            value = np.asarray(answer[name])
            if name not in out:
                out[name] = np.empty((rows, *value.shape[1:]), dtype=value.dtype)
            elif out[name].dtype != value.dtype:
                out[name] = out[name].astype(np.result_type(out[name], value))
            out[name][picked] = value
    return out


def _text_view(planned: PlannedStep, env: dict[str, Array]) -> Mapping[str, Array]:
    if not planned.reads_text:
        return env
    return {**env, **{name: as_strings(np.asarray(env[name])) for name in planned.reads_text}}


def _take(names: Sequence[str], features: Mapping[str, Array]) -> Batch:
    return {name: features[name] for name in names}


def _combine(step: EnsembleStep, values: list[Array]) -> Array:
    stacked = np.stack([np.asarray(v) for v in values])
    if step.combine == "mean":
        return np.asarray(stacked.mean(axis=0))
    if step.combine == "weighted_mean":
        weights = np.asarray(step.weights, dtype=np.float64)
        return np.asarray(np.tensordot(weights / weights.sum(), stacked, axes=1))
    if stacked.dtype.kind == "f":  # a vote over probabilities: their mean
        return np.asarray(stacked.mean(axis=0))
    return _majority(stacked)


def _majority(stacked: Array) -> Array:
    """Element-wise most common value across members; ties go to the earliest member."""
    members = stacked.shape[0]
    best: Array = np.array(stacked[0], copy=True)
    best_count = np.zeros(best.shape, dtype=np.int64)
    for i in range(members):
        count = np.zeros(best.shape, dtype=np.int64)
        for j in range(members):
            count += stacked[j] == stacked[i]
        better = count > best_count
        best[better] = stacked[i][better]
        best_count = np.maximum(best_count, count)
    return best


def _rules(planned: PlannedStep, step: RulesStep, env: dict[str, Array], rows: int
           ) -> dict[str, Array]:
    view = _text_view(planned, env)
    decision = np.full(rows, step.default.encode(), dtype=object)
    reason = np.full(rows, step.default_reason.encode(), dtype=object)
    taken: Array | None = None
    for rule, condition in zip(step.rules, planned.conditions, strict=True):
        hit = condition(view, rows)
        if taken is not None:
            hit &= ~taken
            taken |= hit
        else:
            taken = hit.copy()
        decision[hit] = rule.decision.encode()
        reason[hit] = rule.reason.encode()
    return {"decision": decision, "reason": reason}
