"""A model source that loads only artifacts carrying a valid Ed25519 signature."""

from __future__ import annotations

import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry import ModelRef, Registry
from modelport.runtimes.base import Runtime
from modelport.security.signing import SIGNATURE_TAG, verify_artifact
from modelport.serving.registry_source import RegistrySource
from modelport.serving.source import ModelSource, ResolvedVersion

__all__ = ["SignedSource"]

log = logging.getLogger(__name__)


class SignedSource:
    """Wraps a :class:`RegistrySource`: ``load`` first checks the version's signature."""

    def __init__(self, inner: ModelSource, key: Ed25519PublicKey) -> None:
        if not isinstance(inner, RegistrySource):
            raise InvalidInput("--require-signed works with models from the registry only")
        self.inner: RegistrySource = inner
        self.key = key

    @property
    def registry(self) -> Registry:
        """The wrapped source's registry (routing reads deployments from it)."""
        return self.inner.registry

    def names(self) -> list[str]:
        return self.inner.names()

    def resolve(self, ref: ModelRef) -> ResolvedVersion:
        return self.inner.resolve(ref)

    def load(self, version: ResolvedVersion) -> Runtime:
        info = self.inner.registry.resolve(ModelRef(version.name, version=int(version.version)))
        try:
            verify_artifact(self.key, name=info.name, version=info.version,
                            sha256=info.artifact_sha256, signature=info.tags.get(SIGNATURE_TAG))
        except UnsafeArtifact:
            raise  # the model manager logs why, with the model's name
        return self.inner.load(version)

    def warm_up_rows(self, version: ResolvedVersion) -> list[dict[str, Any]] | None:
        return self.inner.warm_up_rows(version)
