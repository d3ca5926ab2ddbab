"""The image's HEALTHCHECK: ``GET /v2/health/ready`` on the port boot recorded; exit 0 or 1.

Plain ``urllib``: the image carries no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

__all__ = ["main"]


def main() -> int:
    home = Path(os.environ.get("MODELPORT_HOME", "/tmp/modelport"))
    try:
        port = (home / ".serve-port").read_text().strip()
    except OSError:
        port = os.environ.get("MODELPORT_PORT", "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2) as r:
            return 0 if r.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
