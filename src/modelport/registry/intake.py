"""Registering a model file: detect its flavor, prove it loads, infer its signature, record it.

The artifact is loaded once before anything is written, so a corrupt or unsafe file never
becomes a version. ``train_data`` records lineage (URI and content hash) and keeps a sample of
the table as the version's reference data, which drift checks later compare live traffic to.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import ModelportError, NotFound, UnsupportedArtifact
from modelport.protocol.signature import Signature
from modelport.registry.lineage import capture
from modelport.registry.records import VersionInfo
from modelport.registry.service import Registry
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.catalog import create_runtime, detect_flavor
from modelport.tabular_files import read_table

REFERENCE_ROWS = 10_000
"""Rows of the training table kept as reference data (a uniform sample, fixed seed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """What the user says about a model file being registered."""

    name: str
    artifact: Path
    registered_by: str
    flavor: str | None = None
    signature: Signature | None = None
    trust_pickle: bool = False
    train_data: Path | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None
    card: str | None = None
    description: str | None = None
    parent_version: int | None = None


def register_artifact(registry: Registry, reg: Registration) -> VersionInfo:
    """Check the artifact end to end, then add it as the next version of ``reg.name``."""
    artifact = Path(reg.artifact)
    if not artifact.exists():
        raise NotFound(f"model file {artifact} does not exist")
    if reg.train_data is not None and not Path(reg.train_data).exists():
        raise NotFound(f"training data {reg.train_data} does not exist")
    flavor = reg.flavor or detect_flavor(artifact)
    runtime = create_runtime(
        flavor, LoadOptions(trust_pickle=reg.trust_pickle, signature=reg.signature)
    )
    try:
        runtime.load(artifact)
        signature = runtime.signature()  # the runtime reconciles a given signature with the model
    except ModelportError:
        raise
    except Exception as exc:
        raise UnsupportedArtifact(
            f"{artifact} does not load as a {flavor} model: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        runtime.unload()
    lineage = capture(reg.train_data, parent_version=reg.parent_version)
    with tempfile.TemporaryDirectory(prefix="modelport-reference-") as tmp:
        reference = None
        if reg.train_data is not None:
            reference = Path(tmp) / "reference.parquet"
            _write_reference(Path(reg.train_data), reference)
        return registry.register(
            reg.name,
            artifact,
            flavor=flavor,
            signature=signature,
            registered_by=reg.registered_by,
            metrics=reg.metrics,
            params=reg.params,
            tags=reg.tags,
            lineage=lineage,
            card=reg.card,
            alias=reg.alias,
            description=reg.description,
            trust_pickle=reg.trust_pickle,
            reference_data=reference,
        )


def _write_reference(train_data: Path, target: Path) -> None:
    table = read_table(train_data)
    if len(table) > REFERENCE_ROWS:
        table = table.sample(n=REFERENCE_ROWS, random_state=0).sort_index()
    table.to_parquet(target, index=False)
