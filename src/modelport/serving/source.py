"""Where served models come from: the seam between the server and the registry.

The server asks a :class:`ModelSource` two questions: *which version does this reference mean
now* (cheap, asked again every poll to follow aliases) and *give me that version loaded*
(expensive, asked once per version). Both are synchronous; the model manager calls them in a
thread. :class:`StaticSource` serves runtimes built in Python (tests, notebooks, embedding);
:mod:`modelport.serving.registry_source` serves what the registry holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modelport.errors import InvalidInput, NotFound
from modelport.protocol.signature import Signature
from modelport.registry.refs import ModelRef, check_model_name
from modelport.runtimes.base import Runtime


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedVersion:
    """What a reference points at right now."""

    name: str
    version: str
    platform: str
    """The runtime flavor, reported as the model's platform in metadata."""
    signature: Signature | None = None
    """The registered signature, when known before loading."""
    revision: str = ""
    """What the version stands on beyond its number (a pipeline: its steps' versions); a
    change swaps the version in like a new one."""


class ModelSource(Protocol):
    """Resolves references to versions and loads versions into ready runtimes."""

    def names(self) -> list[str]:
        """Every model name this source can serve, for the repository index."""
        ...

    def resolve(self, ref: ModelRef) -> ResolvedVersion:
        """The version ``ref`` means now; NotFound when there is none."""
        ...

    def load(self, version: ResolvedVersion) -> Runtime:
        """A loaded runtime for ``version``; any ModelportError when it cannot load."""
        ...


RuntimeFactory = Callable[[], Runtime]


@dataclass(slots=True)
class _Entry:
    platform: str
    factory: RuntimeFactory
    signature: Signature | None


class StaticSource:
    """Models defined in Python: each version is a factory returning a loaded runtime.

    Aliases can be moved at any time (thread-safe), which is how tests and embedders drive a
    hot swap without a registry.
    """

    def __init__(self) -> None:
        self._versions: dict[str, dict[int, _Entry]] = {}
        self._aliases: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def add(
        self,
        name: str,
        version: int,
        factory: RuntimeFactory,
        *,
        platform: str = "python",
        signature: Signature | None = None,
        aliases: tuple[str, ...] = (),
    ) -> None:
        """Register ``name:version``; ``factory`` is called each time the version loads."""
        check_model_name(name)
        if version < 1:
            raise InvalidInput(f"model versions start at 1, got {version} for {name!r}")
        with self._lock:
            self._versions.setdefault(name, {})[version] = _Entry(platform, factory, signature)
            for alias in aliases:
                self._aliases.setdefault(name, {})[alias] = version

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``name@alias`` at ``version`` (which must exist)."""
        with self._lock:
            if version not in self._versions.get(name, {}):
                raise NotFound(f"model {name!r} has no version {version}; add it first")
            self._aliases.setdefault(name, {})[alias] = version

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._versions)

    def resolve(self, ref: ModelRef) -> ResolvedVersion:
        with self._lock:
            versions = self._versions.get(ref.name)
            if not versions:
                raise NotFound(
                    f"model {ref.name!r} is not known; known models: "
                    f"{', '.join(sorted(self._versions)) or 'none'}"
                )
            if ref.version is not None:
                number = ref.version
                if number not in versions:
                    raise NotFound(
                        f"model {ref.name!r} has no version {number}; it has versions "
                        f"{', '.join(map(str, sorted(versions)))}"
                    )
            elif ref.alias is not None:
                found = self._aliases.get(ref.name, {}).get(ref.alias)
                if found is None:
                    raise NotFound(f"model {ref.name!r} has no alias {ref.alias!r}")
                number = found
            else:
                number = max(versions)
            entry = versions[number]
        return ResolvedVersion(
            name=ref.name, version=str(number), platform=entry.platform, signature=entry.signature
        )

    def load(self, version: ResolvedVersion) -> Runtime:
        with self._lock:
            entry = self._versions[version.name][int(version.version)]
        return entry.factory()
