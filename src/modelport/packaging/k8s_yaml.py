"""Manifests to plain YAML: block style, keys in the order written, no anchors or aliases.

PyYAML writes ``&id001`` anchors when one Python object appears twice (a shared labels dict);
Kubernetes tooling mostly copes, people reading the file do not. This dumper never aliases.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

__all__ = ["dump_all", "write_manifests"]


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_all(manifests: Iterable[dict[str, Any]]) -> str:
    """Documents separated by ``---``, each plain YAML."""
    return yaml.dump_all(
        list(manifests), Dumper=_PlainDumper, sort_keys=False, default_flow_style=False,
        explicit_start=True, width=100,
    )


def write_manifests(files: dict[str, list[dict[str, Any]]], out: Path) -> list[Path]:
    """Write each relative file of ``files`` under ``out``; the paths written, in order."""
    written = []
    for relative, manifests in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_all(manifests))
        written.append(target)
    return written
