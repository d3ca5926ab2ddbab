"""podman for the container tests, the way it works offline on these machines.

Its store, configuration and the base image (``scripts/podman-base.sh``: Debian bookworm's
Python 3.11 made with debootstrap) live in one cache folder that survives test runs, so the
base is built once. runc, not crun (crun fails on this host's cgroups); rlimits at 1024
(the sandbox cannot raise them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MODELPORT_PODMAN_CACHE", "/var/tmp/modelport-podman"))
BASE = "localhost/modelport-base:bookworm"
WHEELHOUSE = CACHE / "wheels"


def environment() -> dict[str, str]:
    """os.environ plus the variables that point podman at the cached store and settings."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for sub in ("root", "runroot", "tmp"):
        (CACHE / sub).mkdir(exist_ok=True)
    storage = CACHE / "storage.conf"
    storage.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{CACHE}/root"\n'
                       f'runroot = "{CACHE}/runroot"\n')
    containers = CACHE / "containers.conf"
    containers.write_text(
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        f'[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'image_copy_tmp_dir = "{CACHE}/tmp"\n')
    return {**os.environ, "CONTAINERS_STORAGE_CONF": str(storage),
            "CONTAINERS_CONF": str(containers), "TMPDIR": str(CACHE / "tmp"),
            "MODELPORT_PODMAN_CACHE": str(CACHE)}


def unavailable() -> str | None:
    """Why podman cannot run here, or None when it can (the base image is made if missing)."""
    if shutil.which("podman") is None or shutil.which("runc") is None:
        return "podman and runc are not installed (scripts/test.sh installs them as root)"
    env = environment()
    done = subprocess.run(["podman", "info"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return f"podman info fails here: {done.stderr.strip()[-300:]}"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "podman-base.sh")], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"the base image could not be made: {(done.stdout + done.stderr)[-300:]}"
    return None


def podman(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], env=environment(), capture_output=True, text=True,
                          check=check, timeout=timeout)
