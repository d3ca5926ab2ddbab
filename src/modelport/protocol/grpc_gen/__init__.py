"""Generated from ../grpc_service.proto by scripts/gen_grpc.sh. Do not edit; regenerate."""
