"""Settings, split by concern and composed into one root.

Every field reads from an environment variable ``MODELPORT_<FIELD>`` (for example
``MODELPORT_HOME``, ``MODELPORT_DATABASE_URL``) or from a YAML file given to
:func:`load_settings`. Settings are plain values: nothing here opens a file or a socket.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore")


def default_home() -> Path:
    """Where the registry lives when ``MODELPORT_HOME`` is unset.

    ``./.modelport`` when that folder exists (a project that keeps its registry beside its
    code, as the quickstart does), else the user's data folder: ``$XDG_DATA_HOME/modelport``,
    by default ``~/.local/share/modelport``. So every directory sees the same registry.
    """
    local = Path(".modelport")
    if local.is_dir():
        return local
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "modelport"


class RegistrySettings(BaseSettings):
    """Where registry state and artifacts live."""

    model_config = _ENV

    home: Path = Field(default_factory=default_home)
    """Folder for the default SQLite database and artifact store (see :func:`default_home`)."""

    database_url: str | None = None
    """SQLAlchemy URL of the registry database; SQLite in ``home`` when unset."""

    artifact_root: str | None = None
    """Local folder or fsspec URL of the artifact store; ``home/artifacts`` when unset."""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'registry.db').resolve()}"

    def sqlite_path(self) -> Path | None:
        """The database file when the registry is SQLite (the default), else None."""
        url = self.resolved_database_url()
        if not url.startswith("sqlite"):
            return None
        database = url.split(":///", 1)[1] if ":///" in url else ""
        return Path(database.split("?", 1)[0]) if database and database != ":memory:" else None

    def location(self) -> str:
        """Where the registry is, for messages: the SQLite file or the database URL."""
        path = self.sqlite_path()
        if path is not None:
            return str(path)
        url = self.resolved_database_url()
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)

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
