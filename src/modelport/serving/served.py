"""One loaded model version with everything its requests need, built once at load time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from modelport.protocol.signature import Signature
from modelport.runtimes.base import Array, Batch, Runtime
from modelport.serving.batcher import Arrivals, Batcher, BatchPolicy
from modelport.serving.cache import CachePolicy, PredictionCache
from modelport.serving.hooks import VersionObserver
from modelport.serving.validation import SignaturePlan

__all__ = ["ModelOptions", "ServedModel"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOptions:
    """How one model is served."""

    batch: BatchPolicy = field(default_factory=BatchPolicy)
    """When its requests are merged into one predict call."""

    cache: CachePolicy | None = None
    """Keep answers to repeated inputs; None turns the cache off."""


class ServedModel:
    """A version ready to answer: runtime, signature tables, batcher and optional cache."""

    __slots__ = ("_observer", "batcher", "cache", "name", "plan", "platform", "revision",
                 "runtime", "signature", "version")

    def __init__(
        self,
        *,
        name: str,
        version: str,
        platform: str,
        runtime: Runtime,
        signature: Signature,
        options: ModelOptions,
        arrivals: Arrivals | None = None,
        observer: VersionObserver | None = None,
        revision: str = "",
    ) -> None:
        self.revision = revision
        """What the version was loaded on beyond its number (a pipeline's step versions)."""
        self.name = name
        self.version = version
        self.platform = platform
        self.runtime = runtime
        self.signature = signature
        self.plan = SignaturePlan(name, signature)
        policy = options.batch
        if not self.plan.batchable:  # the model fixes its first dimension: one request a call
            policy = BatchPolicy(max_size=1, max_delay_ms=0)
        self.batcher = Batcher(
            runtime.predict, policy, name=f"model {name!r} version {version}", arrivals=arrivals,
            observer=observer.batch if observer is not None else None,
        )
        self.cache = PredictionCache(options.cache) if options.cache else None
        self._observer = observer

    def __repr__(self) -> str:
        return f"ServedModel({self.name!r}, version={self.version!r}, platform={self.platform!r})"

    async def predict(self, inputs: Batch, deadline: float | None = None, *,
                      cacheable: bool = True) -> dict[str, Array]:
        """Through the cache (when on and ``cacheable``) and the batcher; ``deadline`` as in
        ``Batcher.submit``."""
        cache = self.cache
        if cache is None or not cacheable:
            return await self.batcher.submit(inputs, layout=self.plan.layout, deadline=deadline)
        key = cache.key(self.version, inputs)
        found = cache.get(key)
        if self._observer is not None:
            self._observer.cache(found is not None)
        if found is not None:
            return found
        outputs = await self.batcher.submit(inputs, layout=self.plan.layout, deadline=deadline)
        cache.put(key, outputs)
        return outputs

    async def retire(self) -> None:
        """Answer what is queued, then release the runtime's memory."""
        await self.batcher.close()
        await asyncio.to_thread(self.runtime.unload)
