"""A simulated fleet: many OTA devices in one asyncio process, against a real server.

Each simulated device follows the agent's protocol (poll ``current`` with its ETag, check the
signature against the pinned key, fetch the manifest, download and sha256-check the artifact,
send a heartbeat every few polls) without loading the model, so a thousand of them fit in one
process. Used by ``benchmarks/edge/fleet.py`` and the fleet test to measure how fast a staged
rollout converges and what it costs the server (requests per second, bytes, 304s).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modelport.edge.agent_fetch import Fetcher, check_signature

__all__ = ["FleetSim", "SimDevice"]


@dataclass(slots=True)
class SimDevice:
    device_id: str
    fetch: Fetcher
    version: int | None = None
    polls: int = 0


@dataclass(slots=True)
class _Counts:
    requests: Counter[str] = field(default_factory=Counter)
    downloads: Counter[tuple[str, int]] = field(default_factory=Counter)
    """(device, version) -> how often it was downloaded (must be 1)."""
    errors: Counter[str] = field(default_factory=Counter)


class FleetSim:
    """``start()`` the devices, ``wait_for`` a target, read the counters, ``stop()``."""

    def __init__(
        self, url: str, model: str, *, devices: int, folder: Path,
        key: Ed25519PublicKey | None, alias: str = "edge", interval_s: float = 2.0,
        heartbeat_every: int = 5, api_key: str | None = None, connections: int = 200,
    ) -> None:
        self.url, self.model, self.alias = url, model, alias
        self.folder, self.key = Path(folder), key
        self.interval_s, self.heartbeat_every = interval_s, heartbeat_every
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(
            base_url=url, headers=headers, timeout=60.0,
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))
        self.devices = [SimDevice(f"sim-{i:05d}", Fetcher(self.client)) for i in range(devices)]
        self.counts = _Counts()
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.started = time.monotonic()

    @property
    def bytes_in(self) -> int:
        return sum(d.fetch.bytes_in for d in self.devices)

    def versions(self) -> Counter[int | None]:
        return Counter(d.version for d in self.devices)

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self._tasks = [asyncio.create_task(self._device(d)) for d in self.devices]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    async def wait_for(self, want: Callable[[str], int], timeout_s: float) -> float:
        """Seconds until every device runs ``want(device_id)``; TimeoutError past the limit."""
        began = time.monotonic()
        while True:
            if all(d.version == want(d.device_id) for d in self.devices):
                return time.monotonic() - began
            if time.monotonic() - began > timeout_s:
                off = sum(d.version != want(d.device_id) for d in self.devices)
                raise TimeoutError(f"{off} devices not converged after {timeout_s} s")
            await asyncio.sleep(0.05)

    async def _device(self, device: SimDevice) -> None:
        await asyncio.sleep(random.uniform(0, self.interval_s))  # devices boot at random times
        while not self._stop.is_set():
            try:
                await self._cycle(device)
            except Exception as exc:  # counted, as a device would log it and retry
                self.counts.errors[type(exc).__name__] += 1
            delay = self.interval_s * random.uniform(0.8, 1.2)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            except TimeoutError:
                continue

    async def _cycle(self, device: SimDevice) -> None:
        counts = self.counts
        offer = await device.fetch.current(self.model, self.alias, device.device_id)
        counts.requests["current 304" if offer is None else "current 200"] += 1
        device.polls += 1
        if offer is not None and int(offer["version"]) != device.version:
            version, sha = int(offer["version"]), str(offer["sha256"])
            check_signature(self.key, self.model, version, sha, offer.get("signature"))
            await device.fetch.manifest(offer["manifest"])
            counts.requests["manifest"] += 1
            part = self.folder / f"{device.device_id}.part"
            await device.fetch.download(offer["artifact"], part, int(offer["size"]), sha)
            counts.requests["artifact"] += 1
            part.unlink()
            device.version = version
            counts.downloads[(device.device_id, version)] += 1
        if device.polls % self.heartbeat_every == 1:
            await device.fetch.heartbeat(self.model, {
                "device": device.device_id, "alias": self.alias, "version": device.version,
                "stats": {"polls": device.polls}})
            counts.requests["heartbeat"] += 1
