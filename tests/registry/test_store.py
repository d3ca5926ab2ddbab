from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import fsspec
import pytest

from modelport.errors import IntegrityError, InvalidInput, NotFound
from modelport.registry.lineage import hash_path
from modelport.registry.store import ArtifactStore


@pytest.fixture(params=["folder", "file-url", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    cache = tmp_path / "cache"
    if request.param == "folder":
        return ArtifactStore(str(tmp_path / "store"), cache_dir=cache)
    if request.param == "file-url":
        return ArtifactStore(f"file://{tmp_path / 'store'}", cache_dir=cache)
    return ArtifactStore(f"memory://mp-{uuid.uuid4().hex}", cache_dir=cache)


def _overwrite(uri: str, data: bytes) -> None:
    fs, path = fsspec.core.url_to_fs(uri)
    fs.pipe_file(path, data)


def test_put_file_is_content_addressed_and_keeps_the_name(
    store: ArtifactStore, artifact: Path
) -> None:
    stored = store.put(artifact)
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert stored.sha256 == digest
    assert stored.size == artifact.stat().st_size
    assert stored.uri.endswith(f"{digest}/model.json")
    assert store.put(artifact) == stored  # idempotent


def test_fetch_returns_the_same_bytes(store: ArtifactStore, artifact: Path) -> None:
    stored = store.put(artifact)
    local = store.fetch(stored.uri, stored.sha256, model="fraud", version=1)
    assert local.read_bytes() == artifact.read_bytes()
    assert local.name == "model.json"


def test_put_and_fetch_a_directory(store: ArtifactStore, artifact_dir: Path) -> None:
    stored = store.put(artifact_dir)
    assert stored.sha256 == hash_path(artifact_dir)
    assert stored.size == sum(p.stat().st_size for p in artifact_dir.rglob("*") if p.is_file())
    local = store.fetch(stored.uri, stored.sha256, model="bert", version=2)
    assert local.is_dir()
    assert (local / "tokenizer" / "vocab.txt").read_text() == "a\nb\nc\n"
    assert hash_path(local) == stored.sha256


def test_tampered_file_is_refused_naming_model_version_and_both_hashes(
    store: ArtifactStore, artifact: Path
) -> None:
    stored = store.put(artifact)
    _overwrite(stored.uri, b"evil bytes")
    evil = hashlib.sha256(b"evil bytes").hexdigest()
    with pytest.raises(IntegrityError) as info:
        store.fetch(stored.uri, stored.sha256, model="fraud", version=3)
    message = str(info.value)
    assert "'fraud'" in message and "version 3" in message
    assert stored.sha256 in message and evil in message
    assert info.value.details["actual_sha256"] == evil


def test_tampered_directory_is_refused(store: ArtifactStore, artifact_dir: Path) -> None:
    stored = store.put(artifact_dir)
    _overwrite(f"{stored.uri}/config.json", b'{"layers": 99}')
    with pytest.raises(IntegrityError, match="version 1"):
        store.fetch(stored.uri, stored.sha256, model="bert", version=1)


def test_every_fetch_checks_again(store: ArtifactStore, artifact: Path, tmp_path: Path) -> None:
    stored = store.put(artifact)
    first = store.fetch(stored.uri, stored.sha256, model="fraud", version=1)
    first.write_bytes(b"changed after the first load")  # the store copy or the local cache
    _overwrite(stored.uri, b"changed at the source too")
    with pytest.raises(IntegrityError):
        store.fetch(stored.uri, stored.sha256, model="fraud", version=1)


def test_put_repairs_a_damaged_copy(store: ArtifactStore, artifact: Path) -> None:
    stored = store.put(artifact)
    _overwrite(stored.uri, b"rot")
    assert store.put(artifact) == stored
    local = store.fetch(stored.uri, stored.sha256, model="fraud", version=1)
    assert local.read_bytes() == artifact.read_bytes()


def test_missing_artifact_is_not_found(store: ArtifactStore, artifact: Path) -> None:
    stored = store.put(artifact)
    fs, path = fsspec.core.url_to_fs(stored.uri)
    fs.rm(path)
    with pytest.raises(NotFound, match="'fraud' version 4 is missing"):
        store.fetch(stored.uri, stored.sha256, model="fraud", version=4)


def test_put_of_a_missing_path_is_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        store.put(tmp_path / "nothing.onnx")


def test_put_bytes_and_put_file(store: ArtifactStore, artifact_dir: Path) -> None:
    stored = store.put_bytes(b"PAR1 fake parquet", "reference.parquet")
    assert stored.uri.endswith("/reference.parquet")
    assert stored.sha256 == hashlib.sha256(b"PAR1 fake parquet").hexdigest()
    local = store.fetch(stored.uri, stored.sha256, model="m", version=1)
    assert local.read_bytes() == b"PAR1 fake parquet"
    with pytest.raises(InvalidInput, match="plain file name"):
        store.put_bytes(b"x", "../escape")
    with pytest.raises(InvalidInput, match="is a directory"):
        store.put_file(artifact_dir)


def test_remote_fetch_uses_the_local_cache(tmp_path: Path, artifact: Path) -> None:
    store = ArtifactStore(f"memory://mp-{uuid.uuid4().hex}", cache_dir=tmp_path / "cache")
    stored = store.put(artifact)
    local = store.fetch(stored.uri, stored.sha256, model="fraud", version=1)
    assert local.is_relative_to(tmp_path / "cache")
    # The cached, verified copy keeps serving even if the remote object disappears.
    fs, path = fsspec.core.url_to_fs(stored.uri)
    fs.rm(path)
    assert store.fetch(stored.uri, stored.sha256, model="fraud", version=1) == local


def test_unusable_root_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="fsspec URL"):
        ArtifactStore("nosuchprotocol://bucket/x")
    with pytest.raises(InvalidInput, match="empty"):
        ArtifactStore("")
