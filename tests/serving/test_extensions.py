"""Extensions of the worker's REST app, named by ``module:function`` (the web console)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.errors import InvalidInput
from modelport.monitoring.config import MonitoringConfig
from modelport.serving.extensions import WorkerParts, load_extensions

from .server_process import ServerProcess, build_registry

PARTS = WorkerParts(registry=None, authn=None, metrics=None, monitoring=MonitoringConfig(),
                    tls=False)


class Marker:
    def __init__(self, parts: WorkerParts) -> None:
        self.parts = parts

    def wrap(self, app: Any) -> Any:
        return app

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


def marker(parts: WorkerParts) -> Marker:
    return Marker(parts)


def test_factories_are_imported_by_name() -> None:
    [found] = load_extensions([f"{__name__}:marker"], PARTS)
    assert isinstance(found, Marker) and found.parts is PARTS


@pytest.mark.parametrize(("path", "words"), [
    ("no_colon", "must look like 'package.module:function'"),
    (":marker", "must look like"),
    ("modelport.nothing_here:x", "cannot load extension 'modelport.nothing_here:x'"),
    (f"{__name__}:missing", "cannot load extension"),
])
def test_a_bad_name_is_a_clear_error(path: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        load_extensions([path], PARTS)


def test_serve_mounts_the_console_unless_told_not_to(tmp_path: Path) -> None:
    build_registry(tmp_path)
    for args, console in (([], True), (["--no-ui"], False)):
        server = ServerProcess(tmp_path, ["fraud", *args], workers=1)
        try:
            server.wait_ready()
            answer = httpx.get(f"{server.url}/ui/models", timeout=10)
            if console:
                assert answer.status_code == 200 and "<h1>Models</h1>" in answer.text
            else:
                assert answer.status_code == 404 and "no route GET /ui/models" in answer.text
            assert httpx.get(f"{server.url}/v2/health/live").status_code == 200
        finally:
            assert server.stop() == 0
