"""Retention: inference log partitions older than a configured age are deleted.

Age is the partition's date (``date=YYYY-MM-DD``, the day the rows were written, UTC), so a
test can write old partitions directly. Run by the server's scheduler on each tick (the
leader only) and by ``modelport privacy retention``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fsspec

from modelport.monitoring.log_reader import log_files

__all__ = ["apply_retention"]


def apply_retention(root: str, max_age: timedelta, *, now: datetime | None = None,
                    dry_run: bool = False) -> list[str]:
    """Delete (or list, with ``dry_run``) the log files of days older than ``max_age``."""
    fs, _ = fsspec.core.url_to_fs(root)
    cutoff = ((now or datetime.now(UTC)) - max_age).strftime("%Y-%m-%d")
    old = [path for path, _model, _version, day in log_files(root) if day < cutoff]
    if not dry_run:
        for path in old:
            fs.rm(path)
        for folder in sorted({p.rsplit("/", 1)[0] for p in old}):
            try:
                if not fs.ls(folder):
                    fs.rmdir(folder)
            except (OSError, FileNotFoundError):
                pass
    return old
