"""Alert delivery: a JSON POST to each configured URL, retried with exponential backoff.

Connection errors, timeouts, 429 and 5xx answers are retried (waiting ``backoff_s``, then twice
that, ...); any other 4xx means the receiver refuses this payload, so it is not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from modelport import __version__
from modelport.monitoring.config import AlertConfig

__all__ = ["Alerter", "deliver"]

log = logging.getLogger(__name__)


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    attempts: int = 4,
    backoff_s: float = 0.5,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> bool:
    """POST ``payload`` to ``url``; True once a 2xx came back."""
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    headers = {"content-type": "application/json", "user-agent": f"modelport/{__version__}"}
    wait = backoff_s
    for attempt in range(1, attempts + 1):
        try:
            resp = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if resp.is_success:
                return True
            reason = f"HTTP {resp.status_code}"
            if resp.status_code < 500 and resp.status_code != 429:
                log.error("webhook %s refused the alert (%s); not retrying", url, reason)
                return False
        if attempt < attempts:
            log.warning("webhook %s failed (%s); retry %d in %.2f s", url, reason, attempt, wait)
            await sleep(wait)
            wait *= 2
    log.error("webhook %s failed %d times; giving up", url, attempts)
    return False


class Alerter:
    """Sends alerts (``kind`` is e.g. ``drift``, ``degraded``, ``retrain``) to their URLs."""

    def __init__(self, config: AlertConfig,
                 on_result: Callable[[str, bool], None] | None = None) -> None:
        self.config = config
        self._on_result = on_result

    def urls(self, kind: str) -> Sequence[str]:
        return self.config.retrain_webhooks if kind == "retrain" else self.config.webhooks

    async def send(self, kind: str, payload: dict[str, Any]) -> list[bool]:
        """Deliver to every URL of ``kind`` at once; one result per URL."""
        urls = self.urls(kind)
        if not urls:
            return []
        body = {"kind": kind, **payload}
        async with httpx.AsyncClient(timeout=self.config.timeout_s) as client:
            results = await asyncio.gather(*(
                deliver(client, url, body, attempts=self.config.attempts,
                        backoff_s=self.config.backoff_s)
                for url in urls
            ))
        if self._on_result is not None:
            for ok in results:
                self._on_result(kind, ok)
        return list(results)
