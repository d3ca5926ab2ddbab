"""Serve what the registry holds: references resolve through it, artifacts load hash-checked."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import Any

from modelport.config import RegistrySettings
from modelport.errors import ModelportError, NotFound
from modelport.registry import ModelRef, Registry, VersionInfo
from modelport.registry.loader import load_version
from modelport.registry.refs import parse_ref
from modelport.runtimes.base import Runtime
from modelport.serving.source import ResolvedVersion

__all__ = ["RegistrySource"]


class RegistrySource:
    """A :class:`~modelport.serving.source.ModelSource` backed by a :class:`Registry`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._infos: dict[tuple[str, str], VersionInfo] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: RegistrySettings | None = None) -> RegistrySource:
        """Open the registry named by ``settings`` (or the MODELPORT_* environment)."""
        return cls(Registry.open(settings))

    def check(self, refs: Sequence[str], *, endpoints: Collection[str] = ()) -> None:
        """Refuse, in one line, references to models, versions or aliases that do not exist.

        A lazily loaded model may load later, but it must exist now: a typo found at start
        is one line, not a server that reports ready and answers 404 later. A bare name that
        is a deployment endpoint (``endpoints``) is served through its deployment.
        """
        problems: list[str] = []
        for text in refs:
            try:
                ref = parse_ref(text)
                if ref.alias is None and ref.version is None and ref.name in endpoints:
                    continue
                self.registry.resolve(ref)
            except ModelportError as exc:
                problems.append(f"{text}: {exc.message}")
        if problems:
            raise NotFound(f"cannot serve {'; '.join(problems)}")

    def names(self) -> list[str]:
        return [m.name for m in self.registry.list_models()]

    def resolve(self, ref: ModelRef) -> ResolvedVersion:
        info = self.registry.resolve(ref)
        version = str(info.version)
        with self._lock:
            self._infos[(info.name, version)] = info
        revision = ""
        if info.flavor == "pipeline":  # its steps' aliases may move: follow them too
            from modelport.pipelines.revision import step_revision

            revision = step_revision(self.registry, info)
        return ResolvedVersion(
            name=info.name, version=version, platform=info.flavor, signature=info.signature,
            revision=revision,
        )

    def load(self, version: ResolvedVersion) -> Runtime:
        with self._lock:
            info = self._infos.get((version.name, version.version))
        if info is None:
            info = self.registry.resolve(ModelRef(version.name, version=int(version.version)))
        return load_version(self.registry, info)

    def warm_up_rows(self, version: ResolvedVersion) -> list[dict[str, Any]] | None:
        """The first rows of the version's reference sample (None when it has none)."""
        import pandas as pd

        with self._lock:
            info = self._infos.get((version.name, version.version))
        if info is None:
            info = self.registry.resolve(ModelRef(version.name, version=int(version.version)))
        path = self.registry.fetch_reference(info)
        if path is None:
            return None
        frame = pd.read_parquet(path).head(_WARM_UP_ROWS)
        names = [spec.name for spec in info.signature.inputs]
        if not set(names) <= set(frame.columns):
            return None
        return [{str(k): v for k, v in row.items()} for row in frame[names].to_dict("records")]


_WARM_UP_ROWS = 16
