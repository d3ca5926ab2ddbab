"""``model-settings.json``: what an image knows about the model it carries.

Written by ``modelport build`` next to the artifact, read by the image's boot at every start.
It names the version exactly (number, sha256, signature, aliases) so the container serves the
very version that was built, and refuses to start when the artifact's bytes changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import InvalidInput
from modelport.registry.records import VersionInfo

__all__ = ["MODEL_DIR", "SETTINGS_FILE", "ModelSettings", "store_path"]

MODEL_DIR = "/opt/modelport/model"
"""Where the image keeps the model: ``store/`` (content-addressed) and the settings file."""
SETTINGS_FILE = "model-settings.json"


def store_path(root: Path, sha256: str, name: str) -> Path:
    """The artifact store's layout (``sha256/<2>/<sha>/<name>``), so the baked store is used
    in place: registering from it finds the bytes already where they belong."""
    return root / "sha256" / sha256[:2] / sha256 / name


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSettings:
    """One baked model version; plain JSON values only."""

    name: str
    version: int
    flavor: str
    artifact_name: str
    artifact_sha256: str
    signature: dict[str, Any]
    aliases: tuple[str, ...] = ()
    trust_pickle: bool = False
    card: str | None = None
    description: str | None = None
    reference_name: str | None = None
    reference_sha256: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_version(
        cls, info: VersionInfo, artifact: Path, reference: Path | None, description: str | None
    ) -> ModelSettings:
        return cls(
            name=info.name,
            version=info.version,
            flavor=info.flavor,
            artifact_name=artifact.name,
            artifact_sha256=info.artifact_sha256,
            signature=info.signature.to_dict(),
            aliases=tuple(info.aliases),
            trust_pickle=info.trust_pickle,
            card=info.card,
            description=description,
            reference_name=reference.name if reference else None,
            reference_sha256=info.lineage.reference_sha256 if reference else None,
            tags=dict(info.tags),
            metrics=dict(info.metrics),
            params=dict(info.params),
            lineage={k: v for k, v in info.to_dict()["lineage"].items()
                     if k not in ("reference_uri", "reference_sha256")},
        )

    @property
    def ref(self) -> str:
        """What the container serves: ``name@alias`` when the version had one, else exact."""
        return f"{self.name}@{self.aliases[0]}" if self.aliases else f"{self.name}:{self.version}"

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["aliases"] = list(self.aliases)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> ModelSettings:
        try:
            data = json.loads(path.read_text())
            data["aliases"] = tuple(data.get("aliases", ()))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInput(f"{path} is not a readable model-settings file: {exc}") from None
