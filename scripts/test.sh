#!/usr/bin/env bash
# Set everything up on a fresh machine and run the whole test suite (lint, types, tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
eval "$(scripts/services.sh start)"
trap 'scripts/services.sh stop' EXIT
echo "==> ruff"; .venv/bin/ruff check src tests
echo "==> mypy (strict on src/)"; .venv/bin/mypy
echo "==> pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
