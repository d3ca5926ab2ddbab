"""The model registry: models, versions, aliases, lineage, and the artifact store.

Open it with ``Registry.open()`` (settings from ``MODELPORT_*``), ``register`` a model file
or folder, ``resolve("fraud@production")`` to a :class:`VersionInfo`, and ``fetch_artifact``
for a local, hash-checked path to load.
"""

from modelport.registry.lineage import Lineage, current_code_revision, hash_path
from modelport.registry.records import AliasMove, ModelSummary, VersionInfo
from modelport.registry.refs import ModelRef, parse_ref
from modelport.registry.service import Registry
from modelport.registry.store import ArtifactStore, StoredArtifact

__all__ = [
    "AliasMove",
    "ArtifactStore",
    "Lineage",
    "ModelRef",
    "ModelSummary",
    "Registry",
    "StoredArtifact",
    "VersionInfo",
    "current_code_revision",
    "hash_path",
    "parse_ref",
]
