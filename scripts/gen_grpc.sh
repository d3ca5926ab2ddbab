#!/usr/bin/env bash
# Generate the Python gRPC stubs from src/modelport/protocol/grpc_service.proto into
# src/modelport/protocol/grpc_gen/ (committed).
#
#   scripts/gen_grpc.sh           regenerate the stubs
#   scripts/gen_grpc.sh --check   exit 1 if the committed stubs drift from the .proto (for CI)
#
# Two edits follow protoc, both needed for the stubs to work inside the package:
#  1. the _grpc module imports its messages by absolute package path
#     (modelport.protocol.grpc_gen.grpc_service_pb2), not as a top-level module;
#  2. the messages live in a private descriptor pool, not protobuf's default one, because
#     other V2 clients (tritonclient.grpc, kserve) register the same `inference.*` names there
#     and one process could otherwise not import both.
# --check ignores the lines that only stamp the grpcio-tools/protobuf version used.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
PROTO_DIR=src/modelport/protocol
PROTO=grpc_service.proto
DEST="$PROTO_DIR/grpc_gen"
PACKAGE=modelport.protocol.grpc_gen

generate() {  # $1: output folder
  local out="$1"
  mkdir -p "$out"
  "$PYTHON" -m grpc_tools.protoc -I "$PROTO_DIR" \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" "$PROTO"
  sed -i -E "s/^import grpc_service_pb2 as /from $PACKAGE import grpc_service_pb2 as /" \
    "$out/grpc_service_pb2_grpc.py"
  sed -i -E 's/_descriptor_pool\.Default\(\)\.AddSerializedFile\(/_descriptor_pool.DescriptorPool().AddSerializedFile(/' \
    "$out/grpc_service_pb2.py"
  grep -q "^from $PACKAGE import grpc_service_pb2 as " "$out/grpc_service_pb2_grpc.py" \
    || { echo "gen_grpc: could not rewrite the import in grpc_service_pb2_grpc.py" >&2; exit 2; }
  grep -q "_descriptor_pool.DescriptorPool().AddSerializedFile(" "$out/grpc_service_pb2.py" \
    || { echo "gen_grpc: could not move the messages to a private descriptor pool" >&2; exit 2; }
  cat > "$out/__init__.py" <<'EOF'
"""Generated from ../grpc_service.proto by scripts/gen_grpc.sh. Do not edit; regenerate."""
EOF
}

if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp/grpc_gen"
  if ! diff -r -x __pycache__ \
      -I '^# Protobuf Python Version:' -I '^GRPC_GENERATED_VERSION = ' -I '^    [0-9]+,$' \
      "$DEST" "$tmp/grpc_gen"; then
    echo "gen_grpc: the stubs in $DEST drift from $PROTO_DIR/$PROTO; run scripts/gen_grpc.sh" >&2
    exit 1
  fi
  echo "gen_grpc: stubs match $PROTO_DIR/$PROTO"
elif [[ $# -eq 0 ]]; then
  rm -rf "$DEST"
  generate "$DEST"
  echo "gen_grpc: wrote $DEST"
else
  echo "usage: scripts/gen_grpc.sh [--check]" >&2
  exit 2
fi
