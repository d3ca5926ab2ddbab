"""The model registry: models, versions, aliases, tags, metrics, and their artifacts.

Synchronous on purpose: the CLI and batch jobs call it directly, the server from a thread.
Each method is one short transaction. Artifacts are stored before any row is written, so a
failure leaves at most an unreferenced (content-addressed, harmless) file, never a half row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from modelport.config import RegistrySettings
from modelport.errors import Conflict, NotFound
from modelport.protocol.signature import Signature
from modelport.registry import db, inputs, reads, writes
from modelport.registry import tables as t
from modelport.registry.lineage import Lineage
from modelport.registry.records import AliasMove, ModelSummary, VersionInfo
from modelport.registry.refs import (
    ModelRef,
    check_alias_name,
    check_model_name,
    check_settable_alias,
    parse_ref,
)
from modelport.registry.store import ArtifactStore


class Registry:
    """Models and their versions in a database, artifacts in an :class:`ArtifactStore`."""

    def __init__(self, engine: Engine, store: ArtifactStore) -> None:
        self.engine = engine
        """The registry database; other modules add their own tables to it."""
        self.store = store

    @classmethod
    def open(cls, settings: RegistrySettings | None = None, *, create: bool = True) -> Registry:
        """Connect (creating or upgrading the schema) using ``settings`` or the environment.

        With ``create=False`` (what read-only commands use) a SQLite registry that does not
        exist yet is NotFound, naming the file looked for, instead of being created empty.
        """
        settings = settings or RegistrySettings()
        path = settings.sqlite_path()
        if not create and path is not None and not path.exists():
            raise NotFound(
                f"no registry at {path.resolve()}: nothing has been registered there. Register "
                f"a model (modelport models register FILE --name NAME), or point at an existing "
                f"registry with MODELPORT_HOME (the folder holding registry.db) or "
                f"MODELPORT_DATABASE_URL"
            )
        if not settings.database_url or not settings.artifact_root:
            settings.home.mkdir(parents=True, exist_ok=True)
        engine = db.open_engine(settings.resolved_database_url())
        store = ArtifactStore(settings.resolved_artifact_root(), cache_dir=settings.home / "cache")
        return cls(engine, store)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({db.redact(str(self.engine.url))!r}, {self.store.root!r})"

    # -- writing -------------------------------------------------------------------------

    def register(
        self,
        name: str,
        artifact_path: Path,
        *,
        flavor: str,
        signature: Signature,
        registered_by: str,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        lineage: Lineage | None = None,
        card: str | None = None,
        alias: str | None = None,
        description: str | None = None,
        trust_pickle: bool = False,
        reference_data: Path | None = None,
    ) -> VersionInfo:
        """Store the artifact, then add the next version of ``name`` in one transaction.

        Concurrent registrations of one model get distinct version numbers; numbers of
        deleted versions are never handed out again.
        """
        check_model_name(name)
        inputs.check_flavor(flavor)
        inputs.check_signature(signature)
        inputs.check_actor(registered_by, "registered_by")
        clean_tags = inputs.text_values("tag", tags)
        clean_params = inputs.text_values("param", params)
        clean_metrics = inputs.metric_values(metrics)
        if alias is not None:
            check_settable_alias(alias)
        lineage = lineage or Lineage()
        artifact = self.store.put(Path(artifact_path))
        if reference_data is not None:
            ref = self.store.put_file(Path(reference_data))
            lineage = replace(lineage, reference_uri=ref.uri, reference_sha256=ref.sha256)
        row: dict[str, Any] = {
            "flavor": flavor,
            "artifact_uri": artifact.uri,
            "artifact_sha256": artifact.sha256,
            "artifact_size": artifact.size,
            "signature": signature.to_dict(),
            "card": card,
            "trust_pickle": bool(trust_pickle),
            "status": "ready",
            "registered_by": registered_by,
            **{k: getattr(lineage, k) for k in Lineage.__dataclass_fields__},
        }

        def work(conn: Connection) -> int:
            now = t.utcnow()
            model = writes.get_or_create_model(conn, name, description, now)
            parent = lineage.parent_version
            if parent is not None and parent not in reads.version_numbers(conn, model.id):
                raise NotFound(
                    f"lineage parent_version {parent} is not a version of model {name!r}"
                )
            conn.execute(
                sa.update(t.models)
                .where(t.models.c.id == model.id)
                .values(last_version=t.models.c.last_version + 1)
            )
            version = int(
                conn.execute(
                    sa.select(t.models.c.last_version).where(t.models.c.id == model.id)
                ).scalar_one()
            )
            version_id = conn.execute(
                sa.insert(t.model_versions)
                .values(model_id=model.id, version=version, created_at=now, **row)
                .returning(t.model_versions.c.id)
            ).scalar_one()
            writes.put_values(conn, t.tags, version_id, clean_tags)
            writes.put_values(conn, t.params, version_id, clean_params)
            writes.put_values(conn, t.metrics, version_id, clean_metrics)
            if alias is not None:
                writes.move_alias(conn, model, alias, version, registered_by, now)
            return version

        version = db.run_write(self.engine, work, retry_integrity=True)
        return self.resolve(ModelRef(name, version=version))

    def set_alias(self, name: str, alias: str, version: int, *, actor: str) -> AliasMove:
        """Point ``alias`` at ``version`` atomically; the move is kept in the alias history."""
        check_settable_alias(alias)
        inputs.check_version(version)
        inputs.check_actor(actor, "actor")

        def work(conn: Connection) -> AliasMove:
            model = reads.require_model(conn, name, lock=True)
            reads.pick_version(conn, model, ModelRef(name, version=version))
            return writes.move_alias(conn, model, alias, version, actor, t.utcnow())

        return db.run_write(self.engine, work)

    def delete_alias(self, name: str, alias: str, *, actor: str) -> AliasMove:
        """Remove ``alias``; the history records the removal (``to_version`` None)."""
        check_alias_name(alias)
        inputs.check_actor(actor, "actor")

        def work(conn: Connection) -> AliasMove:
            model = reads.require_model(conn, name, lock=True)
            current = reads.pick_version(conn, model, ModelRef(name, alias=alias))
            conn.execute(
                sa.delete(t.aliases).where(
                    t.aliases.c.model_id == model.id, t.aliases.c.name == alias
                )
            )
            return writes.record_move(conn, model, alias, current, None, actor, t.utcnow())

        return db.run_write(self.engine, work)

    def delete_version(self, name: str, version: int) -> None:
        """Delete one version and its tags, metrics and params; refused while aliased.

        The artifact stays in the store: other versions may share its bytes.
        """
        inputs.check_version(version)

        def work(conn: Connection) -> None:
            model = reads.require_model(conn, name, lock=True)
            reads.pick_version(conn, model, ModelRef(name, version=version))
            pointing = sorted(a for a, v in reads.alias_map(conn, model.id).items() if v == version)
            if pointing:
                raise _aliased(name, version, pointing)
            conn.execute(
                sa.delete(t.model_versions).where(
                    t.model_versions.c.model_id == model.id,
                    t.model_versions.c.version == version,
                )
            )

        try:
            db.run_write(self.engine, work)
        except exc.IntegrityError as err:  # an alias appeared despite the lock: still refuse
            raise Conflict(f"cannot delete {name}:{version}: an alias points at it") from err

    def set_tags(self, name: str, version: int, tags: Mapping[str, Any]) -> VersionInfo:
        """Add or overwrite tags of one version."""
        return self._put_version_values(name, version, t.tags, inputs.text_values("tag", tags))

    def log_metrics(self, name: str, version: int, metrics: Mapping[str, float]) -> VersionInfo:
        """Add or overwrite metrics of one version (e.g. evaluation after registration)."""
        return self._put_version_values(name, version, t.metrics, inputs.metric_values(metrics))

    def _put_version_values(
        self, name: str, version: int, table: sa.Table, values: Mapping[str, Any]
    ) -> VersionInfo:
        inputs.check_version(version)

        def work(conn: Connection) -> None:
            model = reads.require_model(conn, name, lock=True)  # one writer per model
            reads.pick_version(conn, model, ModelRef(name, version=version))
            version_id = conn.execute(
                sa.select(t.model_versions.c.id).where(
                    t.model_versions.c.model_id == model.id,
                    t.model_versions.c.version == version,
                )
            ).scalar_one()
            writes.put_values(conn, table, version_id, values)

        db.run_write(self.engine, work)
        return self.resolve(ModelRef(name, version=version))

    # -- reading -------------------------------------------------------------------------

    def resolve(self, ref: str | ModelRef) -> VersionInfo:
        """The version a reference designates: ``fraud`` (latest), ``fraud@prod``, ``fraud:3``."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        with db.transaction(self.engine) as conn:
            model = reads.require_model(conn, ref.name)
            number = reads.pick_version(conn, model, ref)
            return reads.version_infos(conn, model, [number])[0]

    def list_models(self) -> list[ModelSummary]:
        with db.transaction(self.engine) as conn:
            return reads.summaries(conn)

    def get_model(self, name: str) -> ModelSummary:
        with db.transaction(self.engine) as conn:
            reads.require_model(conn, name)
            return reads.summaries(conn, name)[0]

    def list_versions(self, name: str) -> list[VersionInfo]:
        """Every version of ``name``, oldest first."""
        with db.transaction(self.engine) as conn:
            return reads.version_infos(conn, reads.require_model(conn, name))

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of the model's aliases (or of one alias), oldest first."""
        with db.transaction(self.engine) as conn:
            return reads.alias_events(conn, reads.require_model(conn, name), alias)

    def fetch_artifact(self, info: VersionInfo) -> Path:
        """A local path to the version's artifact, its sha256 checked on every call."""
        return self.store.fetch(
            info.artifact_uri, info.artifact_sha256, model=info.name, version=info.version
        )

    def fetch_reference(self, info: VersionInfo) -> Path | None:
        """A local path to the version's reference data sample, checked, or None."""
        lin = info.lineage
        if lin.reference_uri is None or lin.reference_sha256 is None:
            return None
        return self.store.fetch(
            lin.reference_uri, lin.reference_sha256, model=info.name, version=info.version
        )


def _aliased(name: str, version: int, pointing: list[str]) -> Conflict:
    names = ", ".join(pointing)
    return Conflict(
        f"cannot delete {name}:{version}: alias {names} points at it; move the alias to "
        f"another version (modelport models alias {name} {pointing[0]} VERSION) or remove it "
        f"(modelport models unalias {name} {pointing[0]}) first",
        details={"aliases": pointing},
    )
