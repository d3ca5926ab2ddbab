"""Each process loads a model version once and keeps it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from modelport.batch import model as batch_model
from modelport.batch.model import ModelSpec, runtime_for
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact


def _spec(registry: Registry, path: Path, name: str) -> ModelSpec:
    info = register_artifact(registry, Registration(name=name, artifact=path, registered_by="t"))
    return ModelSpec(info=info, store_root=registry.store.root)


def test_a_model_is_loaded_once_per_process_and_the_oldest_is_unloaded(
    tmp_path: Path, batch_registry: Registry, fraud_model_file: Path
) -> None:
    specs = []
    for i in range(batch_model.CACHE_SIZE + 1):
        own = tmp_path / f"model-{i}.json"
        own.write_bytes(fraud_model_file.read_bytes() + b" " * (i + 1))
        specs.append(_spec(batch_registry, own, f"m{i}"))
    first, loaded = runtime_for(specs[0])
    assert loaded
    again, loaded_again = runtime_for(specs[0])
    assert again is first and not loaded_again
    for spec in specs[1:]:
        assert runtime_for(spec)[1]
    reloaded, loaded = runtime_for(specs[0])  # evicted by the newer ones: loaded anew
    assert loaded and reloaded is not first


def test_the_same_artifact_with_another_signature_is_another_model(
    batch_registry: Registry, fraud_model_file: Path
) -> None:
    spec = _spec(batch_registry, fraud_model_file, "fraud")
    renamed = replace(spec.info.signature, tabular=False)
    other = ModelSpec(info=replace(spec.info, signature=renamed), store_root=spec.store_root)
    assert other.cache_key != spec.cache_key
    assert other.cache_key.startswith(spec.info.artifact_sha256)
