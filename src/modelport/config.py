"""Settings, split by concern and composed into one root.

Every field reads from an environment variable ``MODELPORT_<FIELD>`` (for example
``MODELPORT_HOME``, ``MODELPORT_DATABASE_URL``) or from a YAML file given to
:func:`load_settings`. Settings are plain values: nothing here opens a file or a socket.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore")


class RegistrySettings(BaseSettings):
    """Where registry state and artifacts live."""

    model_config = _ENV

    home: Path = Field(default=Path(".modelport"))
    """Folder for the default SQLite database and artifact store."""

    database_url: str | None = None
    """SQLAlchemy URL of the registry database; SQLite in ``home`` when unset."""

    artifact_root: str | None = None
    """Local folder or fsspec URL of the artifact store; ``home/artifacts`` when unset."""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'registry.db').resolve()}"

    def resolved_artifact_root(self) -> str:
        if self.artifact_root:
            return self.artifact_root
        return str((self.home / "artifacts").resolve())


class BatchingSettings(BaseModel):
    """Default adaptive-batching policy; models may override it."""

    max_batch_size: int = 64
    """Flush a batch once it holds this many rows (1 disables batching)."""

    max_delay_ms: float = 2.0
    """Flush a batch at the latest this long after its first request arrived."""


class ServerSettings(BaseSettings):
    """The online server: ports, processes and limits."""

    model_config = _ENV

    host: str = "127.0.0.1"
    """Address to bind; anything but loopback requires authentication."""

    port: int = 8080
    """REST port."""

    grpc_port: int | None = 8081
    """gRPC port, or None to serve REST only."""

    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    """Worker processes sharing the ports."""

    max_body_bytes: int = 64 * 1024 * 1024
    """Requests with a larger body are refused with 413."""

    max_loaded_models: int = 16
    """Least-recently-used models beyond this count are unloaded."""

    default_deadline_ms: float | None = None
    """Deadline of a request that sets none (x-deadline-ms, deadline_ms, gRPC deadline)."""


class Settings(BaseModel):
    """The composition of every concern's settings."""

    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    batching: BatchingSettings = Field(default_factory=BatchingSettings)


def load_settings(path: Path | None = None) -> Settings:
    """Settings from the environment, overridden by a YAML file when one is given."""
    if path is None:
        return Settings()
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return Settings(
        registry=RegistrySettings(**raw.get("registry", {})),
        server=ServerSettings(**raw.get("server", {})),
        batching=BatchingSettings(**raw.get("batching", {})),
    )
