from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from modelport.errors import Conflict, IntegrityError, InvalidInput, NotFound
from modelport.protocol.signature import Signature
from modelport.registry import Lineage, ModelRef, Registry, VersionInfo
from modelport.registry import tables as t


def _register(registry: Registry, artifact: Path, signature: Signature, **kw: Any) -> VersionInfo:
    kw.setdefault("registered_by", "alice")
    return registry.register("fraud", artifact, flavor="xgboost", signature=signature, **kw)


def _version_rows(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(t.model_versions)).scalar_one()
        )


def test_register_then_resolve_returns_everything(
    registry: Registry, artifact: Path, signature: Signature, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.parquet"
    reference.write_bytes(b"PAR1 sample rows")
    info = _register(
        registry,
        artifact,
        signature,
        metrics={"auc": 0.91, "rows": 1000},
        params={"max_depth": 6, "objective": "binary:logistic"},
        tags={"team": "risk"},
        lineage=Lineage(training_data_uri="s3://data/train.parquet", code_revision="abc123"),
        card="# Fraud model\nTrained on 2024 data.",
        alias="staging",
        description="card fraud scores",
        trust_pickle=True,
        reference_data=reference,
    )
    assert info.ref == "fraud:1"
    assert info.flavor == "xgboost"
    assert info.artifact_sha256 == hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert info.artifact_size == artifact.stat().st_size
    assert info.signature == signature
    assert info.aliases == ("staging",)
    assert info.metrics == {"auc": 0.91, "rows": 1000.0}
    assert info.params == {"max_depth": "6", "objective": "binary:logistic"}
    assert info.tags == {"team": "risk"}
    assert info.card is not None and info.card.startswith("# Fraud model")
    assert info.trust_pickle is True
    assert info.registered_by == "alice"
    assert info.lineage.code_revision == "abc123"
    assert info.lineage.reference_sha256 == hashlib.sha256(b"PAR1 sample rows").hexdigest()
    assert abs(info.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert info.created_at.tzinfo is not None
    assert registry.resolve("fraud@staging") == info
    assert registry.resolve("fraud") == info
    assert registry.resolve(ModelRef("fraud", version=1)) == info
    reference_copy = registry.fetch_reference(info)
    assert reference_copy is not None and reference_copy.read_bytes() == b"PAR1 sample rows"
    assert info.to_dict()["artifact"]["sha256"] == info.artifact_sha256


def test_versions_count_up_and_plain_name_means_latest(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    numbers = [_register(registry, artifact, signature).version for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert registry.resolve("fraud").version == 3
    assert registry.resolve("fraud@latest").version == 3
    assert [v.version for v in registry.list_versions("fraud")] == [1, 2, 3]


def test_models_are_listed_with_counts_and_aliases(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    _register(registry, artifact, signature, alias="production")
    _register(registry, artifact, signature)
    registry.register("churn", artifact, flavor="sklearn", signature=signature, registered_by="bob")
    summaries = registry.list_models()
    assert [s.name for s in summaries] == ["churn", "fraud"]
    fraud = registry.get_model("fraud")
    assert fraud.version_count == 2
    assert fraud.latest_version == 2
    assert fraud.aliases == {"production": 1}


def test_alias_moves_are_atomic_and_recorded(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    _register(registry, artifact, signature, alias="production")
    _register(registry, artifact, signature)
    move = registry.set_alias("fraud", "production", 2, actor="carol")
    assert (move.from_version, move.to_version, move.actor) == (1, 2, "carol")
    assert registry.resolve("fraud@production").version == 2
    assert registry.resolve("fraud:2").aliases == ("production",)
    assert registry.resolve("fraud:1").aliases == ()
    registry.set_alias("fraud", "production", 2, actor="carol")  # no move, no event
    registry.delete_alias("fraud", "production", actor="dave")
    history = registry.alias_history("fraud")
    assert [(h.alias, h.from_version, h.to_version, h.actor) for h in history] == [
        ("production", None, 1, "alice"),
        ("production", 1, 2, "carol"),
        ("production", 2, None, "dave"),
    ]
    assert registry.alias_history("fraud", "staging") == []
    with pytest.raises(NotFound, match="no alias 'production'"):
        registry.resolve("fraud@production")


def test_delete_version_is_refused_while_aliased(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    _register(registry, artifact, signature, alias="production")
    _register(registry, artifact, signature, tags={"x": "y"}, metrics={"auc": 0.5})
    with pytest.raises(Conflict, match="alias production points at it"):
        registry.delete_version("fraud", 1)
    assert registry.resolve("fraud:1").version == 1
    registry.delete_version("fraud", 2)
    assert [v.version for v in registry.list_versions("fraud")] == [1]
    with pytest.raises(NotFound, match="no version 2; versions: 1"):
        registry.resolve("fraud:2")
    # Numbers of deleted versions are not handed out again.
    assert _register(registry, artifact, signature).version == 3
    with registry.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.tags)).scalar_one() == 0


def test_unknown_refs_are_not_found_with_hints(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    with pytest.raises(NotFound, match="registry is empty"):
        registry.resolve("fraud")
    _register(registry, artifact, signature, alias="production")
    registry.set_alias("fraud", "staging", 1, actor="alice")
    with pytest.raises(NotFound, match="did you mean 'fraud'"):
        registry.resolve("frud")
    with pytest.raises(NotFound, match=r"its aliases: production -> 1, staging -> 1"):
        registry.resolve("fraud@prod")
    with pytest.raises(NotFound, match="no version 7; versions: 1"):
        registry.resolve("fraud:7")
    with pytest.raises(NotFound, match="no version 9"):
        registry.set_alias("fraud", "canary", 9, actor="alice")
    with pytest.raises(NotFound, match="no model named 'ghost'"):
        registry.list_versions("ghost")
    with pytest.raises(NotFound):
        registry.alias_history("ghost")
    with pytest.raises(NotFound):
        registry.delete_version("fraud", 5)
    with pytest.raises(InvalidInput, match="NAME@ALIAS"):
        registry.resolve("fraud@")


def test_missing_artifact_leaves_no_row(
    registry: Registry, signature: Signature, tmp_path: Path
) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        registry.register(
            "fraud",
            tmp_path / "missing.json",
            flavor="xgboost",
            signature=signature,
            registered_by="alice",
        )
    assert registry.list_models() == []
    assert _version_rows(registry) == 0


def test_failure_inside_the_transaction_rolls_everything_back(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    with pytest.raises(NotFound, match="parent_version 7"):
        _register(registry, artifact, signature, lineage=Lineage(parent_version=7), alias="prod")
    assert registry.list_models() == []  # the model row created in that transaction is gone
    assert _version_rows(registry) == 0
    assert _register(registry, artifact, signature).version == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flavor": "XGBoost!"}, "invalid flavor"),
        ({"signature": {"inputs": []}}, "Signature.for_table"),
        ({"registered_by": " "}, "registered_by"),
        ({"metrics": {"auc": float("nan")}}, "finite"),
        ({"metrics": {"auc": "high"}}, "must be a number"),
        ({"tags": {"owner": ["a"]}}, "string or a number"),
        ({"tags": {"": "x"}}, "1-256 characters"),
        ({"alias": "latest"}, "reserved"),
        ({"name": "bad name"}, "invalid model name"),
    ],
)
def test_bad_register_arguments_are_invalid_input(
    registry: Registry,
    artifact: Path,
    signature: Signature,
    kwargs: dict[str, object],
    message: str,
) -> None:
    args: dict[str, object] = {
        "name": "fraud",
        "flavor": "xgboost",
        "signature": signature,
        "registered_by": "alice",
    }
    args.update(kwargs)
    name = args.pop("name")
    with pytest.raises(InvalidInput, match=message):
        registry.register(name, artifact, **args)  # type: ignore[arg-type]
    assert _version_rows(registry) == 0


def test_tags_and_metrics_can_be_added_later(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    _register(registry, artifact, signature, tags={"team": "risk"}, metrics={"auc": 0.8})
    info = registry.set_tags("fraud", 1, {"team": "fraud-ops", "reviewed": True})
    assert info.tags == {"team": "fraud-ops", "reviewed": "True"}
    info = registry.log_metrics("fraud", 1, {"auc": 0.85, "f1": 0.6})
    assert info.metrics == {"auc": 0.85, "f1": 0.6}
    with pytest.raises(NotFound):
        registry.log_metrics("fraud", 2, {"auc": 0.9})
    with pytest.raises(InvalidInput, match="whole number"):
        registry.set_tags("fraud", 0, {"a": "b"})


def test_directory_artifacts_round_trip(
    registry: Registry, artifact_dir: Path, signature: Signature
) -> None:
    info = registry.register(
        "bert", artifact_dir, flavor="transformers", signature=signature, registered_by="eve"
    )
    local = registry.fetch_artifact(info)
    assert (local / "config.json").read_text() == '{"layers": 2}'


def test_tampered_artifact_is_refused_at_load(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    info = _register(registry, artifact, signature)
    assert registry.fetch_artifact(info).read_bytes() == artifact.read_bytes()
    stored = Path(info.artifact_uri)
    stored.write_bytes(b'{"trees": "swapped"}')
    changed = hashlib.sha256(b'{"trees": "swapped"}').hexdigest()
    with pytest.raises(IntegrityError) as err:
        registry.fetch_artifact(registry.resolve("fraud"))
    message = str(err.value)
    assert "'fraud' version 1" in message
    assert info.artifact_sha256 in message and changed in message
