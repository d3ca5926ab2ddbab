"""What a pipeline version runs right now: the versions its step references resolve to.

The server re-resolves what it serves every poll; for a pipeline, a step alias that moved
(``fraud@production`` 1 -> 2) changes this revision, and the pipeline is loaded again on the
new step versions and swapped in, like a new model version. The step references of each
stored pipeline version are read once and kept.
"""

from __future__ import annotations

import threading

from modelport.pipelines.runtime import PIPELINE_FILE
from modelport.pipelines.spec import ModelStep, RulesStep, read_spec
from modelport.registry.records import VersionInfo
from modelport.registry.service import Registry

__all__ = ["step_revision"]

_refs: dict[str, tuple[str, ...]] = {}
_lock = threading.Lock()


def step_revision(registry: Registry, info: VersionInfo) -> str:
    """``fraud:2,fraud-b:1``: each step reference of pipeline ``info`` resolved now."""
    with _lock:
        refs = _refs.get(info.artifact_sha256)
    if refs is None:
        text = (registry.fetch_artifact(info) / PIPELINE_FILE).read_text(encoding="utf-8")
        spec = read_spec(text, source=info.ref)
        refs = tuple(ref for step in spec.steps if not isinstance(step, RulesStep)
                     for ref in ((step.ref,) if isinstance(step, ModelStep) else step.refs))
        with _lock:
            _refs[info.artifact_sha256] = refs
    return ",".join(registry.resolve(ref).ref for ref in refs)
