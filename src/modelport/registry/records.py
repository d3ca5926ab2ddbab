"""What the registry hands out: frozen plain values, never live database rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelport.protocol.signature import Signature
from modelport.registry.lineage import Lineage


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionInfo:
    """Everything known about one model version (what ``models show`` prints)."""

    name: str
    version: int
    flavor: str
    artifact_uri: str
    artifact_sha256: str
    artifact_size: int
    signature: Signature
    registered_by: str
    created_at: datetime
    status: str = "ready"
    trust_pickle: bool = False
    card: str | None = None
    lineage: Lineage = field(default_factory=Lineage)
    aliases: tuple[str, ...] = ()
    """Aliases pointing at this version, sorted."""
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The exact reference of this version, e.g. ``fraud:3``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``--json`` output and HTTP answers)."""
        return {
            "name": self.name,
            "version": self.version,
            "flavor": self.flavor,
            "artifact": {
                "uri": self.artifact_uri,
                "sha256": self.artifact_sha256,
                "size": self.artifact_size,
            },
            "signature": self.signature.to_dict(),
            "registered_by": self.registered_by,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "trust_pickle": self.trust_pickle,
            "card": self.card,
            "lineage": {k: getattr(self.lineage, k) for k in Lineage.__dataclass_fields__},
            "aliases": list(self.aliases),
            "tags": dict(self.tags),
            "metrics": dict(self.metrics),
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSummary:
    """One model: its description, how many versions, which aliases point where."""

    name: str
    description: str | None
    created_at: datetime
    latest_version: int | None
    """Highest existing version, or None once every version was deleted."""
    version_count: int
    aliases: Mapping[str, int] = field(default_factory=dict)
    """Alias name -> version number."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasMove:
    """One change of an alias: set (``from_version`` None), moved, or removed (``to`` None)."""

    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: datetime
