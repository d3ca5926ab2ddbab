"""The contracts one worker checks requests against, kept current without touching the request.

When a model version loads, its contract is read (or derived from that version's reference
data and stored) in a thread; edits made with ``modelport monitor contract`` reach every worker
at the next refresh. A request only does a dict lookup; if the contract is still being read
it waits for that read (bounded), and a model with no contract is served unchecked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from modelport.monitoring.contract import Contract
from modelport.monitoring.contract_check import ContractCheck

__all__ = ["ContractBook", "ContractLoader"]

log = logging.getLogger(__name__)

ContractLoader = Callable[[str, str | None], Contract | None]
"""``(model, version)`` -> its contract; with a version it may derive and store one, with None
it only reads what is stored. Synchronous: it runs in a thread."""


class ContractBook:
    """Compiled contract checks by model name, for one event loop."""

    def __init__(self, loader: ContractLoader, *, refresh_s: float = 10.0,
                 wait_s: float = 5.0) -> None:
        self._loader = loader
        self._checks: dict[str, ContractCheck | None] = {}
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._refresh_s = refresh_s
        self._wait_s = wait_s
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def close(self) -> None:
        tasks = [t for t in (self._refresher, *self._loading.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._refresher = None

    def prepare(self, model: str, version: str | None) -> asyncio.Task[None]:
        """Read (or derive) the contract of ``model`` in the background."""
        task = self._loading.get(model)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._load(model, version))
            self._loading[model] = task
        return task

    async def check_for(self, model: str) -> ContractCheck | None:
        """The compiled check of ``model``; None when it has no contract (yet)."""
        checks = self._checks
        if model in checks:
            return checks[model]
        task = self._loading.get(model) or self.prepare(model, None)
        try:
            await asyncio.wait_for(asyncio.shield(task), self._wait_s)
        except (TimeoutError, asyncio.CancelledError):
            return None
        return checks.get(model)

    def put(self, contract: Contract | None, model: str) -> None:
        self._checks[model] = None if contract is None else ContractCheck(contract)

    async def _load(self, model: str, version: str | None) -> None:
        try:
            contract = await asyncio.to_thread(self._loader, model, version)
        except Exception as exc:
            log.warning("cannot read the data contract of %s (%s); serving it unchecked",
                        model, exc)
            contract = None
        current = self._checks.get(model)
        if contract is not None or current is None:
            self.put(contract, model)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            await self.refresh()

    async def refresh(self) -> None:
        """Re-read every known model's stored contract (edits made since are picked up)."""
        for model in list(self._checks):
            try:
                contract = await asyncio.to_thread(self._loader, model, None)
            except Exception as exc:
                log.warning("cannot refresh the data contract of %s: %s", model, exc)
                continue
            current = self._checks.get(model)
            if contract is not None and (current is None or current.contract != contract):
                self.put(contract, model)
