"""Chromium for the console's browser tests: Debian's own build driven by Playwright, offline.

``scripts/setup.sh`` installs the ``chromium`` package and the dev extra installs Playwright
for Python; no browser is ever downloaded. Screenshots go to a temporary folder, or to
``$MODELPORT_UI_SCREENSHOTS`` (how the README's pictures in ``docs/console`` are made).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1100, "height": 680}


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium; fails with the command to run when it is not installed."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        raise AssertionError("Chromium is not installed: apt-get install -y chromium "
                             "(scripts/setup.sh does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(fallback: Path) -> Path:
    chosen = os.environ.get("MODELPORT_UI_SCREENSHOTS")
    folder = Path(chosen) if chosen else fallback
    folder.mkdir(parents=True, exist_ok=True)
    return folder
