#!/usr/bin/env bash
# Set everything up on a fresh machine and run the whole test suite (lint, types, tests).
# Starts throwaway PostgreSQL, Redis, a local Dask cluster and two Kafka-protocol brokers
# (nafka, one partition per topic; Tansu, multi-partition) first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-browser.sh
services=(scripts/services.sh)
for extra in scripts/services-dask.sh scripts/services-kafka.sh scripts/services-tansu.sh; do
  [ -x "$extra" ] && services+=("$extra")
done
stop_all() { for s in "${services[@]}"; do "$s" stop || true; done; }
trap stop_all EXIT
for s in "${services[@]}"; do
  exports=$("$s" start) || { echo "test.sh: $s could not start its server; see above" >&2; exit 1; }
  eval "$exports"
done
echo "==> podman base image (container tests)"
scripts/podman-base.sh --install || echo "test.sh: podman cannot run here; tests/packaging says why it skips" >&2
echo "==> ruff"; .venv/bin/ruff check src tests
echo "==> mypy (strict on src/)"; .venv/bin/mypy
echo "==> pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
