"""Alerts reach a real local HTTP receiver, through failures, with exponential backoff."""

from __future__ import annotations

import httpx
import pytest

from modelport.errors import InvalidInput
from modelport.monitoring.config import AlertConfig
from modelport.monitoring.webhooks import Alerter, deliver

from .receiver import receiver


async def test_retries_until_the_receiver_accepts() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with receiver(fail_first=2) as hook:
        async with httpx.AsyncClient(timeout=5) as client:
            ok = await deliver(client, hook.url, {"model": "fraud", "p": 0.001}, attempts=4,
                               backoff_s=0.1, sleep=sleep)
    assert ok and hook.attempts == 3
    assert hook.received == [{"model": "fraud", "p": 0.001}]
    assert waits == [0.1, 0.2]  # doubled each time


async def test_gives_up_after_the_last_attempt_and_on_client_errors() -> None:
    with receiver(fail_first=10) as hook:
        async with httpx.AsyncClient(timeout=5) as client:
            assert not await deliver(client, hook.url, {}, attempts=3, backoff_s=0.01)
        assert hook.attempts == 3
    with receiver(fail_first=10, status=400) as hook:
        async with httpx.AsyncClient(timeout=5) as client:
            assert not await deliver(client, hook.url, {}, attempts=3, backoff_s=0.01)
        assert hook.attempts == 1  # a 400 will not get better by retrying


async def test_an_unreachable_receiver_is_retried_then_reported() -> None:
    async with httpx.AsyncClient(timeout=1) as client:
        assert not await deliver(client, "http://127.0.0.1:9/nothing", {}, attempts=2,
                                 backoff_s=0.01)


async def test_alerter_sends_each_kind_to_its_urls() -> None:
    results: list[tuple[str, bool]] = []
    with receiver() as alerts, receiver(fail_first=1) as retrain:
        alerter = Alerter(
            AlertConfig(webhooks=(alerts.url,), retrain_webhooks=(retrain.url,),
                        backoff_s=0.01),
            on_result=lambda kind, ok: results.append((kind, ok)))
        assert await alerter.send("drift", {"model": "fraud"}) == [True]
        assert await alerter.send("retrain", {"model": "fraud", "version": "3"}) == [True]
    assert alerts.received == [{"kind": "drift", "model": "fraud"}]
    assert retrain.received == [{"kind": "retrain", "model": "fraud", "version": "3"}]
    assert results == [("drift", True), ("retrain", True)]
    assert await Alerter(AlertConfig()).send("drift", {}) == []


def test_webhook_urls_are_checked() -> None:
    with pytest.raises(InvalidInput, match="http:// or https://"):
        AlertConfig(webhooks=("ftp://x",))
