"""Real separate processes writing one registry at the same moment, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import multiprocessing as mp
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from modelport.config import RegistrySettings
from modelport.protocol.signature import Signature, TensorSpec
from modelport.registry import Registry

PROCESSES = 2
EACH = 5
_CTX = mp.get_context("fork")


def _signature() -> Signature:
    return Signature.for_table(["x"], [TensorSpec(name="y", datatype="FP32", shape=(-1,))])


def _register_many(
    settings: RegistrySettings, artifact: Path, worker: int, barrier: Barrier, out: Any
) -> None:
    try:
        barrier.wait(timeout=60)
        with Registry.open(settings) as registry:  # also races the schema migration
            barrier.wait(timeout=60)  # then register at the same moment
            for i in range(EACH):
                info = registry.register(
                    "fraud",
                    artifact,
                    flavor="python",
                    signature=_signature(),
                    registered_by=f"worker-{worker}",
                    tags={"i": i},
                )
                out.put(("ok", info.version))
    except BaseException as err:  # report, so the parent can show what went wrong
        out.put(("error", repr(err)))


def _move_alias_many(settings: RegistrySettings, worker: int, barrier: Barrier, out: Any) -> None:
    try:
        with Registry.open(settings) as registry:
            barrier.wait(timeout=60)
            for i in range(EACH):
                registry.set_alias("fraud", "production", 1 + (worker + i) % 2, actor=f"w{worker}")
        out.put(("ok", worker))
    except BaseException as err:
        out.put(("error", repr(err)))


def _run(target: Any, args_for: Any, expected_messages: int) -> list[Any]:
    barrier = _CTX.Barrier(PROCESSES)
    out = _CTX.Queue()
    procs = [
        _CTX.Process(target=target, args=(*args_for(w), barrier, out)) for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in range(expected_messages)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [r for r in results if r[0] == "error"]
    assert not errors, errors
    return [value for _, value in results]


def test_concurrent_registrations_get_distinct_versions(
    registry_settings: RegistrySettings, artifact: Path
) -> None:
    versions = _run(
        _register_many,
        lambda w: (registry_settings, artifact, w),
        PROCESSES * EACH,
    )
    assert sorted(versions) == list(range(1, PROCESSES * EACH + 1))
    with Registry.open(registry_settings) as registry:
        listed = registry.list_versions("fraud")
        assert [v.version for v in listed] == list(range(1, PROCESSES * EACH + 1))
        assert {v.registered_by for v in listed} == {f"worker-{w}" for w in range(PROCESSES)}
        assert len(registry.list_models()) == 1


def test_concurrent_alias_moves_keep_a_consistent_history(
    registry_settings: RegistrySettings, artifact: Path, signature: Signature
) -> None:
    with Registry.open(registry_settings) as registry:
        for _ in range(2):
            registry.register(
                "fraud", artifact, flavor="python", signature=signature, registered_by="setup"
            )
    _run(_move_alias_many, lambda w: (registry_settings, w), PROCESSES)
    with Registry.open(registry_settings) as registry:
        history = registry.alias_history("fraud", "production")
        final = registry.resolve("fraud@production").version
    # Every recorded move starts where the previous one ended: no lost or torn updates.
    assert history[0].from_version is None
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version
        assert after.from_version != after.to_version
    assert history[-1].to_version == final


def _backend(registry: Registry) -> object:
    """The server process behind the pooled connection (PostgreSQL), else a constant."""
    with registry.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return None
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def _use_after_fork(registry: Registry, artifact: Path, signature: Signature, out: Any) -> None:
    try:
        info = registry.register(
            "fraud", artifact, flavor="python", signature=signature, registered_by="child"
        )
        out.put(("ok", info.version, _backend(registry)))
    except BaseException as err:
        out.put(("error", repr(err), None))


def test_a_registry_opened_before_fork_works_in_parent_and_child(
    registry: Registry, artifact: Path, signature: Signature
) -> None:
    registry.register("fraud", artifact, flavor="python", signature=signature, registered_by="p")
    parent_backend = _backend(registry)
    out = _CTX.Queue()
    child = _CTX.Process(target=_use_after_fork, args=(registry, artifact, signature, out))
    child.start()
    status, version, child_backend = out.get(timeout=60)
    child.join(timeout=60)
    assert (status, version, child.exitcode) == ("ok", 2, 0)
    # The child opened its own connection instead of sharing the parent's socket.
    if parent_backend is not None:
        assert child_backend != parent_backend
    assert _backend(registry) == parent_backend
    assert registry.resolve("fraud").version == 2
    assert [v.registered_by for v in registry.list_versions("fraud")] == ["p", "child"]
