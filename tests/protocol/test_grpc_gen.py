"""The committed gRPC stubs match the .proto, import as a package, and coexist with Triton's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_stubs_match_the_proto() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen_grpc.sh"), "--check"],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stubs match" in result.stdout


def test_stubs_import_as_a_package_beside_tritonclient() -> None:
    import tritonclient.grpc.service_pb2 as triton_pb  # registers inference.* in the default pool

    from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
    from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc

    assert pb.DESCRIPTOR.package == "inference"
    assert pb.DESCRIPTOR.pool is not triton_pb.DESCRIPTOR.pool
    service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert {m.name for m in service.methods} >= {
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
        "RepositoryIndex",
        "RepositoryModelLoad",
        "RepositoryModelUnload",
    }
    assert hasattr(pb_grpc, "add_GRPCInferenceServiceServicer_to_server")


def test_every_message_tritonclient_uses_has_tritons_field_numbers_and_types() -> None:
    import tritonclient.grpc.service_pb2 as triton_pb

    from modelport.protocol.grpc_gen import grpc_service_pb2 as pb

    def fields(descriptor: object) -> set[tuple[str, int, int, bool]]:
        out = set()
        for f in descriptor.fields:  # type: ignore[attr-defined]
            out.add((f.name, f.number, f.type, f.is_repeated))
        for nested in descriptor.nested_types:  # type: ignore[attr-defined]
            out |= {(f"{nested.name}.{n}", *rest) for n, *rest in fields(nested)}
        return out

    ours = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    theirs = triton_pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    for method in ours.methods:
        twin = theirs.methods_by_name[method.name]
        assert method.full_name == twin.full_name
        assert (method.client_streaming, method.server_streaming) == (
            twin.client_streaming,
            twin.server_streaming,
        )
        for mine, triton in (
            (method.input_type, twin.input_type),
            (method.output_type, twin.output_type),
        ):
            assert mine.full_name == triton.full_name
            assert fields(mine) == fields(triton), mine.full_name
