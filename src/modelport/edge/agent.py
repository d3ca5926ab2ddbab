"""``modelport edge agent``: keep one model on a device current, safely, and serve it locally.

Each cycle: ask the server which version this device should run (a 304 when nothing changed);
for a new one, check the signature with the pinned key, download with resume, check sha256,
install it beside the current one, load it and run its reference rows, then switch the
``current`` link. A version that fails any step is refused and remembered; one that fails its
health check ``health_failures`` times in a row after the switch is rolled back to the
previous version. Errors reaching the server back off exponentially (with jitter) while the
last good model keeps answering ``predict``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from modelport.edge.agent_fetch import Fetcher, Refused, check_signature
from modelport.edge.agent_store import CURRENT, PREVIOUS, AgentStore
from modelport.edge.runner import BundleError, BundleModel
from modelport.errors import InvalidInput, ModelportError, Unavailable
from modelport.registry.refs import parse_ref
from modelport.security.signing import load_verify_key

__all__ = ["AgentConfig", "EdgeAgent"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """One device's agent."""

    server: str
    """Base URL of the modelport server."""
    model: str
    """``name@alias`` to follow."""
    directory: Path
    device_id: str
    api_key: str | None = None
    verify_key: Path | None = None
    """Pinned Ed25519 public key (PEM); versions not signed by it are refused."""
    allow_unsigned: bool = False
    poll_interval_s: float = 30.0
    jitter: float = 0.2
    """Each wait is the interval times a random factor in [1 - jitter, 1 + jitter]."""
    max_backoff_s: float = 300.0
    max_rate: float | None = None
    """Download cap in bytes per second."""
    health_failures: int = 3
    timeout_s: float = 30.0


@dataclass(slots=True)
class _Stats:
    predictions: int = 0
    errors: int = 0
    rows: int = 0
    latency_ms_sum: float = 0.0
    updates: int = 0
    rollbacks: int = 0
    refused: int = 0
    strikes: int = 0
    """Consecutive failed health checks or predictions of the current version."""
    extra: dict[str, Any] = field(default_factory=dict)


class EdgeAgent:
    """The agent; ``predict`` is safe to call from any thread while ``run`` polls."""

    def __init__(self, config: AgentConfig) -> None:
        ref = parse_ref(config.model)
        if ref.alias is None:
            raise InvalidInput(f"--model must be name@alias, e.g. fraud@edge; got {config.model!r}")
        if config.verify_key is None and not config.allow_unsigned:
            raise InvalidInput("give the pinned public key (--verify-key pub.pem); a device that "
                               "installs unsigned models runs whatever the network sends it")
        self.config = config
        self.name, self.alias = ref.name, ref.alias
        self.store = AgentStore(config.directory)
        self.key = load_verify_key(config.verify_key) if config.verify_key else None
        self.model: BundleModel | None = None
        self.last_error: str | None = None
        self.stats = _Stats()
        self._lock = threading.Lock()

    # -- the local model -------------------------------------------------------------------

    @property
    def version(self) -> int | None:
        model = self.model
        return model.version if model is not None else None

    def start(self) -> None:
        """Load the current version (or the previous, or none) after a restart or power cut."""
        self.store.clean()
        for link in (CURRENT, PREVIOUS):
            folder = self.store.link(link)
            if folder is None:
                continue
            try:
                model = BundleModel(folder)
                model.check()
            except BundleError as exc:
                self._error(f"{link} version in {folder.name} does not load: {exc}")
                continue
            if link == PREVIOUS:
                self.store.point(CURRENT, folder)
                self.stats.rollbacks += 1
            self.model = model
            return

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Answer with the current model; Unavailable before the first install."""
        with self._lock:
            model = self.model
            if model is None:
                raise Unavailable(f"no version of {self.name} is installed yet")
            started = time.perf_counter()
            try:
                outputs = model.predict(inputs)
            except Exception as exc:
                self.stats.errors += 1
                self._strike(f"predict failed: {type(exc).__name__}: {exc}")
                raise InvalidInput(f"the model could not answer: {exc}") from None
            self.stats.predictions += 1
            self.stats.strikes = 0
            self.stats.rows += len(next(iter(outputs.values()))) if outputs else 0
            self.stats.latency_ms_sum += 1000 * (time.perf_counter() - started)
            return outputs

    def health_check(self) -> bool:
        """Run the reference rows of the current model; counts a strike when they fail."""
        with self._lock:
            if self.model is None:
                return False
            try:
                self.model.check()
            except Exception as exc:
                self._strike(f"health check failed: {exc}")
                return False
            return True

    def _strike(self, message: str) -> None:
        self._error(message)
        self.stats.strikes += 1
        if self.stats.strikes >= self.config.health_failures:
            self._rollback(message)

    def _rollback(self, reason: str) -> None:
        bad = self.model
        previous = self.store.link(PREVIOUS)
        if bad is not None:
            self.store.refuse(bad.version, bad.manifest["sha256"], f"rolled back: {reason}")
        self.stats.strikes = 0
        if previous is None or bad is None or previous == bad.folder.resolve():
            return
        try:
            model = BundleModel(previous)
        except BundleError as exc:
            self._error(f"cannot roll back: the previous version does not load: {exc}")
            return
        self.store.point(CURRENT, previous)
        self.model = model
        self.stats.rollbacks += 1
        self._error(f"rolled back from version {bad.version} to {model.version}: {reason}")

    def _error(self, message: str) -> None:
        self.last_error = message
        log.warning("%s", message)

    # -- talking to the server -------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key \
            else {}
        return httpx.AsyncClient(base_url=self.config.server, headers=headers,
                                 timeout=self.config.timeout_s)

    async def poll_once(self, fetch: Fetcher) -> str:
        """One update cycle; says what happened (``unchanged``, ``updated to 4``, ...)."""
        offer = await fetch.current(self.name, self.alias, self.config.device_id)
        if offer is None:
            return "unchanged"
        version, sha = int(offer["version"]), str(offer["sha256"])
        if version == self.version and self.model is not None \
                and self.model.manifest["sha256"] == sha:
            return "unchanged"
        if f"{version}-{sha[:12]}" in self.store.refused():
            return f"skipped refused version {version}"
        try:
            await self._install(fetch, offer, version, sha)
        except Refused as exc:
            self.stats.refused += 1
            if exc.remember:
                self.store.refuse(version, sha, exc.message)
            self._error(f"refused version {version}: {exc.message}")
            return f"refused version {version}"
        return f"updated to {version}"

    async def _install(self, fetch: Fetcher, offer: dict[str, Any], version: int, sha: str
                       ) -> None:
        check_signature(self.key, self.name, version, sha, offer.get("signature"))
        manifest = await fetch.manifest(offer["manifest"])
        if manifest.get("sha256") != sha or int(manifest.get("version", -1)) != version:
            raise Refused("the manifest does not describe the offered version")
        part = self.store.part_file(sha)
        await fetch.download(offer["artifact"], part, int(offer["size"]), sha)
        folder = await asyncio.to_thread(self.store.install, part, manifest)
        try:
            model = await asyncio.to_thread(BundleModel, folder)
            await asyncio.to_thread(model.check)
        except BundleError as exc:
            raise Refused(f"version {version} does not pass its reference rows: {exc}") from None
        with self._lock:
            self.store.swap(folder)
            self.model = model
            self.stats.strikes = 0
            self.stats.updates += 1
        self.last_error = None

    def heartbeat_body(self) -> dict[str, Any]:
        s = self.stats
        mean = s.latency_ms_sum / s.predictions if s.predictions else None
        return {"device": self.config.device_id, "alias": self.alias, "version": self.version,
                "last_error": self.last_error,
                "stats": {"predictions": s.predictions, "errors": s.errors, "rows": s.rows,
                          "mean_latency_ms": mean, "updates": s.updates,
                          "rollbacks": s.rollbacks, "refused": s.refused}}

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> None:
        """Poll until ``stop`` is set (or one cycle with ``once``)."""
        backoff = self.config.poll_interval_s
        async with self.client() as client:
            fetch = Fetcher(client, max_rate=self.config.max_rate)
            while not stop.is_set():
                try:
                    what = await self.poll_once(fetch)
                    if what != "unchanged":
                        log.info("%s", what)
                    if self.model is not None:
                        await asyncio.to_thread(self.health_check)
                    await fetch.heartbeat(self.name, self.heartbeat_body())
                    backoff = self.config.poll_interval_s
                    wait = backoff
                except (httpx.HTTPError, ModelportError, OSError) as exc:
                    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                    self._error(f"cannot reach {self.config.server}: {message}")
                    wait = backoff
                    backoff = min(self.config.max_backoff_s, backoff * 2)
                if once:
                    return
                jitter = self.config.jitter
                delay = wait * random.uniform(1 - jitter, 1 + jitter)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
