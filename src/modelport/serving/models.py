"""Which model versions are loaded, and keeping them current.

Each served reference (``fraud@production``) owns a *slot* holding the version that answers
for it. Models load lazily on first use (or at start with ``preload``); beyond ``max_loaded``
the least recently used are unloaded. A background poll re-resolves alias references; a new
version is loaded first and only then swapped in, in one assignment, so requests never see a
half-loaded model and a version that fails to load never replaces the one serving.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Coroutine
from typing import Any

from modelport.errors import InvalidInput, ModelportError, NotFound, Unavailable
from modelport.protocol.signature import Signature
from modelport.registry.refs import ModelRef, check_model_name, parse_ref
from modelport.serving.batcher import Arrivals
from modelport.serving.hooks import ServingObserver
from modelport.serving.model_slots import (
    ManagerConfig,
    ModelState,
    ModelStatus,
    Slot,
    status_of,
)
from modelport.serving.served import ServedModel
from modelport.serving.source import ModelSource, ResolvedVersion
from modelport.serving.warmup import WarmUpSource, warm_up

__all__ = ["ManagerConfig", "ModelManager", "ModelState", "ModelStatus"]

log = logging.getLogger(__name__)


class ModelManager:
    """Loads, unloads and hot-swaps model versions for one event loop (one worker)."""

    def __init__(
        self,
        source: ModelSource,
        config: ManagerConfig | None = None,
        *,
        arrivals: Arrivals | None = None,
        observer: ServingObserver | None = None,
    ) -> None:
        self.config = config or ManagerConfig()
        self.arrivals = arrivals
        self.observer = observer
        """Told about loads, batches and cache lookups (the metrics hook); None: nobody."""
        self._source = source
        refs = [parse_ref(text) for text in self.config.refs]
        self._slots: dict[str, Slot] = {}
        for ref in refs:
            if ref.name in self._slots:
                raise InvalidInput(
                    f"model {ref.name!r} is listed twice ({self._slots[ref.name].ref}, {ref}); "
                    f"serve one reference per model and ask for other versions at "
                    f"/v2/models/{ref.name}/versions/N"
                )
            self._slots[ref.name] = Slot(ref)
        self._scoped = bool(refs)
        self._pinned: dict[tuple[str, str], Slot] = {}
        self._tick = 0
        self._started = False
        self._poller: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, preload: bool = False) -> None:
        """Begin polling aliases; with ``preload``, begin loading every listed model."""
        self._started = True
        if preload:
            for slot in self._slots.values():
                slot.preload = True
                self._begin_load(slot)
        if self.config.poll_interval_s > 0:
            self._poller = asyncio.create_task(self._poll_forever())

    async def wait_preloaded(self) -> None:
        """Return once every preloaded model has loaded or failed to."""
        tasks = [s.loading for s in self._slots.values() if s.preload and s.loading]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop polling, finish queued requests and unload everything."""
        self._started = False
        if self._poller is not None:
            self._poller.cancel()
        slots = [*self._slots.values(), *self._pinned.values()]
        for slot in slots:
            if slot.loading is not None:
                slot.loading.cancel()
        retiring = [s.current.retire() for s in slots if s.current is not None]
        for slot in slots:
            slot.current = None
        await asyncio.gather(*retiring, *self._background, return_exceptions=True)

    @property
    def ready(self) -> bool:
        """Started, and every preloaded model has a version serving."""
        return self._started and all(
            s.current is not None for s in self._slots.values() if s.preload
        )

    # -- the request path --------------------------------------------------------------------

    def lookup(self, name: str, version: str | None = None) -> ServedModel | None:
        """The loaded version answering for ``name`` (or exactly ``version``), else None."""
        pinned = self._pinned.get((name, version)) if version is not None else None
        if pinned is not None and (served := pinned.current) is not None:
            slot = pinned  # a pinned version answers even while the default is not loaded
        else:
            found = self._slots.get(name)
            if found is None or (served := found.current) is None:
                return None
            if version is not None and version != served.version:
                return None
            slot = found
        self._tick += 1
        slot.used = self._tick
        return served

    async def get(self, name: str, version: str | None = None) -> ServedModel:
        """Like :meth:`lookup`, loading the model when needed (NotFound, Unavailable)."""
        served = self.lookup(name, version)
        if served is not None:
            return served
        if version is not None:
            try:
                default: ServedModel | None = await self.get(name)
            except Unavailable:
                named = self._slots.get(name)
                if named is None or named.disabled:
                    raise
                default = None  # a default version that cannot load never blocks a pinned one
            if default is not None and default.version == version:
                return default
        slot = self._slot_for(name, version)
        if slot.disabled:
            raise Unavailable(
                f"model {name!r} was unloaded through the repository API; load it again with "
                f"POST /v2/repository/models/{name}/load"
            )
        if slot.current is None:
            if slot.loading is None and time.monotonic() - slot.failed_at < self._retry_s:
                raise Unavailable(f"model {name!r} is not available: {slot.error}")
            task = self._begin_load(slot)
            try:
                await asyncio.wait_for(asyncio.shield(task), self.config.load_wait_s)
            except TimeoutError:
                raise Unavailable(
                    f"model {name!r} is still loading; retry in a few seconds"
                ) from None
        served = slot.current
        if served is None:
            raise Unavailable(f"model {name!r} was unloaded while loading; retry")
        self._tick += 1
        slot.used = self._tick
        return served

    async def resolve(self, name: str, version: str | None = None) -> ResolvedVersion:
        """What ``name`` (or exactly ``version``) means now, without loading it; NotFound when
        it is not served here or does not exist."""
        slot = self._slots.get(name)
        if slot is None and self._scoped:
            raise NotFound(f"model {name!r} is not served here; this server serves: "
                           f"{', '.join(sorted(self._slots))}")
        if version is not None and (not version.isdigit() or int(version) < 1):
            raise NotFound(f"model {name!r} has no version {version!r}; versions are whole "
                           f"numbers >= 1")
        ref = (ModelRef(name, version=int(version)) if version is not None
               else slot.ref if slot is not None else ModelRef(name))
        return await asyncio.to_thread(self._source.resolve, ref)

    def versions(self, name: str) -> list[str]:
        """The versions of ``name`` loaded right now, the default one first."""
        slot = self._slots.get(name)
        found = [slot.current.version] if slot is not None and slot.current else []
        found += [v for (n, v), s in self._pinned.items() if n == name and s.current]
        return found

    # -- the repository extension ------------------------------------------------------------

    async def names(self) -> list[str]:
        """Every model name this server can answer for."""
        if self._scoped:
            return sorted(self._slots)
        return sorted(set(await asyncio.to_thread(self._source.names)) | set(self._slots))

    async def signature(self, name: str) -> Signature | None:
        """The signature of the version serving ``name``, without loading it if possible."""
        slot = self._slots.get(name)
        if slot is not None and slot.current is not None:
            return slot.current.signature
        try:
            resolved = await asyncio.to_thread(
                self._source.resolve, slot.ref if slot else ModelRef(name)
            )
        except ModelportError:
            return None
        return resolved.signature

    async def index(self) -> list[ModelStatus]:
        """Every servable model (and loaded pinned version) with its state."""
        out: list[ModelStatus] = []
        for name in await self.names():
            out.append(status_of(name, self._slots.get(name)))
            pinned = self._pinned.items()
            out += [status_of(n, s) for (n, _), s in pinned if n == name and s.current]
        return out

    async def load(self, name: str) -> ModelStatus:
        """Load ``name`` now (or re-resolve it, swapping in a new version); wait for it."""
        slot = self._slot_for(name, None)
        slot.disabled = False
        slot.failed_at = -math.inf
        if slot.current is None:
            await self._begin_load(slot)
        else:
            resolved = await asyncio.to_thread(self._source.resolve, slot.ref)
            if (resolved.version, resolved.revision) != (slot.current.version,
                                                         slot.current.revision):
                await self._swap(slot, resolved)
                if slot.current.version != resolved.version:
                    raise Unavailable(f"model {name!r} version {resolved.version}: {slot.error}")
        return status_of(name, slot)

    async def unload(self, name: str) -> ModelStatus:
        """Unload every version of ``name``; requests get 503 until it is loaded again."""
        slot = self._slots.get(name)
        if slot is None:
            raise NotFound(f"model {name!r} is not loaded here; see GET /v2/repository/index")
        slot.disabled = True
        retiring = [slot] + [s for (n, _), s in self._pinned.items() if n == name]
        for key in [k for k in self._pinned if k[0] == name]:
            del self._pinned[key]
        for one in retiring:
            if one.current is not None:
                served, one.current = one.current, None
                await served.retire()
        return status_of(name, slot)

    # -- hot swap ----------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Re-resolve every loaded alias reference now; swap in versions that moved."""
        swaps: list[asyncio.Task[None]] = []
        for slot in list(self._slots.values()):
            current = slot.current
            if current is None or slot.loading or slot.disabled or slot.ref.version is not None:
                continue
            try:
                resolved = await asyncio.to_thread(self._source.resolve, slot.ref)
            except ModelportError as exc:
                log.warning("cannot re-resolve %s (%s); version %s keeps serving",
                            slot.ref, exc, current.version)
                continue
            if resolved.version == current.version and resolved.revision == current.revision:
                continue
            if (resolved.version == slot.failed_version
                    and time.monotonic() - slot.failed_at < self._retry_s):
                continue
            slot.loading = asyncio.create_task(self._swap(slot, resolved))
            swaps.append(slot.loading)
        await asyncio.gather(*swaps, return_exceptions=True)

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval_s)
            try:
                await self.refresh()
            except Exception:
                log.exception("alias poll failed; retrying in %.1f s", self.config.poll_interval_s)

    async def _swap(self, slot: Slot, resolved: ResolvedVersion) -> None:
        try:
            served = await self._build(resolved)
        except ModelportError as exc:
            slot.failed_version, slot.failed_at, slot.error = (
                resolved.version, time.monotonic(), exc.message)
            old = slot.current.version if slot.current else "none"
            log.error("%s: version %s failed to load, version %s keeps serving: %s",
                      slot.ref, resolved.version, old, exc.message)
            return
        finally:
            slot.loading = None
        if slot.disabled:
            self._in_background(served.retire())
            return
        old_served, slot.current = slot.current, served
        log.info("%s now serves version %s", slot.ref, served.version)
        if old_served is not None:
            self._in_background(old_served.retire())

    # -- loading and unloading ---------------------------------------------------------------

    @property
    def _retry_s(self) -> float:
        return self.config.retry_failed_after_s

    def _slot_for(self, name: str, version: str | None) -> Slot:
        slot = self._slots.get(name)
        if slot is None:
            if self._scoped:
                raise NotFound(
                    f"model {name!r} is not served here; this server serves: "
                    f"{', '.join(sorted(self._slots))}"
                )
            try:
                check_model_name(name)
            except InvalidInput as exc:
                raise NotFound(f"no model named {name!r}: {exc.message}") from None
            slot = self._slots[name] = Slot(ModelRef(name))
        if version is None:
            return slot
        pinned = self._pinned.get((name, version))
        if pinned is None:
            if not version.isdigit() or int(version) < 1:
                raise NotFound(
                    f"model {name!r} has no version {version!r}; versions are whole numbers >= 1"
                )
            pinned = self._pinned[(name, version)] = Slot(ModelRef(name, version=int(version)))
        return pinned

    def _begin_load(self, slot: Slot) -> asyncio.Task[None]:
        if slot.loading is None:
            slot.loading = asyncio.create_task(self._load(slot))
            slot.loading.add_done_callback(_log_failure)
        return slot.loading

    async def _load(self, slot: Slot) -> None:
        try:
            resolved = await asyncio.to_thread(self._source.resolve, slot.ref)
            self._make_room(slot)
            served = await self._build(resolved)
        except NotFound:
            self._forget(slot)
            raise
        except ModelportError as exc:
            slot.error, slot.failed_at = exc.message, time.monotonic()
            raise
        finally:
            slot.loading = None
        if slot.disabled:
            self._in_background(served.retire())
            return
        slot.current, slot.error = served, ""
        self._tick += 1
        slot.used = self._tick

    async def _build(self, resolved: ResolvedVersion) -> ServedModel:
        label = f"model {resolved.name!r} version {resolved.version}"
        observer = self.observer
        started = time.monotonic()
        try:
            runtime = await asyncio.to_thread(self._source.load, resolved)
            signature = await asyncio.to_thread(runtime.signature)
        except ModelportError as exc:
            log.error("%s could not be loaded: %s", label, exc.message)
            if observer is not None:
                observer.load_failed(resolved.name, resolved.version)
            raise Unavailable(f"{label} could not be loaded: {exc.message}") from exc
        except Exception as exc:
            log.exception("%s could not be loaded", label)
            if observer is not None:
                observer.load_failed(resolved.name, resolved.version)
            raise Unavailable(
                f"{label} could not be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        if observer is not None:
            observer.loaded(resolved.name, resolved.version, time.monotonic() - started)
        served = ServedModel(
            name=resolved.name,
            version=resolved.version,
            platform=resolved.platform,
            runtime=runtime,
            signature=signature,
            options=self.config.per_model.get(resolved.name, self.config.options),
            arrivals=self.arrivals,
            observer=(observer.version_hooks(resolved.name, resolved.version)
                      if observer is not None else None),
            revision=resolved.revision,
        )
        await self._warm_up(served, resolved)
        return served

    async def _warm_up(self, served: ServedModel, resolved: ResolvedVersion) -> None:
        """Before the version is ready (start, load, hot swap): see ``serving.warmup``."""
        source = self._source
        if not isinstance(source, WarmUpSource):
            return
        try:
            rows = await asyncio.to_thread(source.warm_up_rows, resolved)
        except Exception as exc:  # no sample to read is no reason not to serve
            log.warning("%s: no warm-up, its reference sample could not be read: %s",
                        served.batcher.name, exc)
            return
        if rows:
            await warm_up(served, rows)

    def _make_room(self, loading: Slot) -> None:
        """Unload least-recently-used versions so ``loading`` fits under max_loaded."""
        slots = [*self._slots.values(), *self._pinned.values()]
        loaded = [s for s in slots if s.current is not None and s is not loading]
        busy = sum(1 for s in slots if s.loading is not None and s is not loading)
        excess = len(loaded) + busy + 1 - self.config.max_loaded
        for victim in sorted(loaded, key=lambda s: s.used)[: max(excess, 0)]:
            served, victim.current = victim.current, None
            log.info("unloading %s (least recently used)", served)
            if served is not None:
                self._in_background(served.retire())

    def _forget(self, slot: Slot) -> None:
        """Drop a slot created for a request whose model or version does not exist."""
        if not self._scoped and self._slots.get(slot.ref.name) is slot:
            del self._slots[slot.ref.name]
        for key, pinned in list(self._pinned.items()):
            if pinned is slot:
                del self._pinned[key]

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ModelportError):
        log.error("background model task failed", exc_info=exc)
