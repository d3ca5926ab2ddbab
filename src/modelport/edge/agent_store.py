"""The device's model folder, laid out so that a power cut at any moment leaves a whole model.

    DIR/versions/v<version>-<sha12>/   one complete version: the artifact + manifest.json
    DIR/current  -> versions/...       the version being served (a symlink)
    DIR/previous -> versions/...       the last good version before it (for rollback)
    DIR/tmp/<sha256>.part              a download in progress (resumed after a restart)
    DIR/refused.json                   versions refused or rolled back (not fetched again)

A version folder is filled inside ``tmp/`` and renamed into ``versions/`` (one atomic rename),
and a link is switched by writing a new link under ``tmp/`` and renaming it over the old one,
so ``current`` is always either the old or the new complete folder, never a half one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from modelport.edge.runner import MANIFEST

__all__ = ["AgentStore"]

CURRENT = "current"
PREVIOUS = "previous"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class AgentStore:
    """One device folder (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.versions = self.root / "versions"
        self.tmp = self.root / "tmp"
        for folder in (self.root, self.versions, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def folder_name(version: int, sha256: str) -> str:
        return f"v{version}-{sha256[:12]}"

    def part_file(self, sha256: str) -> Path:
        return self.tmp / f"{sha256}.part"

    def link(self, name: str) -> Path | None:
        """The folder a link points at, or None (missing or dangling)."""
        path = self.root / name
        if not path.is_symlink():
            return None
        target = (self.root / os.readlink(path)).resolve()
        return target if target.is_dir() else None

    def install(self, part: Path, manifest: dict[str, Any]) -> Path:
        """Move a verified download into its own version folder; returns the folder."""
        final = self.versions / self.folder_name(int(manifest["version"]), manifest["sha256"])
        if final.is_dir():  # a crash after the rename, before the swap: it is complete
            part.unlink(missing_ok=True)
            return final
        stage = self.tmp / f"stage-{uuid.uuid4().hex}"
        stage.mkdir()
        _write_synced(stage / MANIFEST, json.dumps(manifest).encode())
        with part.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(part, stage / manifest["artifact"])
        _fsync_dir(stage)
        os.rename(stage, final)
        _fsync_dir(self.versions)
        return final

    def point(self, name: str, folder: Path) -> None:
        """Switch link ``name`` to ``folder`` atomically (rename of a new link over it)."""
        fresh = self.tmp / f"{name}.{uuid.uuid4().hex}.link"
        os.symlink(os.path.relpath(folder, self.root), fresh)
        os.replace(fresh, self.root / name)
        _fsync_dir(self.root)

    def swap(self, folder: Path) -> None:
        """Serve ``folder``; the version served until now becomes ``previous``."""
        old = self.link(CURRENT)
        if old is not None and old != folder.resolve():
            self.point(PREVIOUS, old)
        self.point(CURRENT, folder)

    def clean(self, keep: int = 3) -> None:
        """Drop stale staging folders and links, and all but ``keep`` old version folders."""
        for entry in self.tmp.iterdir():
            if entry.name.startswith("stage-"):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.endswith(".link"):
                entry.unlink(missing_ok=True)
        pinned = {self.link(CURRENT), self.link(PREVIOUS)}
        folders = sorted(self.versions.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for folder in folders[keep:]:
            if folder.resolve() not in pinned:
                shutil.rmtree(folder, ignore_errors=True)

    def refused(self) -> dict[str, str]:
        """``"<version>-<sha12>"`` -> why it was refused."""
        try:
            data: dict[str, str] = json.loads((self.root / "refused.json").read_text())
            return data
        except (OSError, ValueError):
            return {}

    def refuse(self, version: int, sha256: str, reason: str) -> None:
        data = self.refused()
        data[f"{version}-{sha256[:12]}"] = reason
        fresh = self.tmp / f"refused.{uuid.uuid4().hex}.json"
        _write_synced(fresh, json.dumps(data).encode())
        os.replace(fresh, self.root / "refused.json")
