#!/usr/bin/env bash
# Create .venv and install modelport with every extra and the test tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=.venv/.modelport-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing modelport and its extras into .venv (first run takes a few minutes)"
  .venv/bin/pip install -q -e '.[dev,torch,transformers,dask,kafka,redis,onnx,edge]'
  touch "$stamp"
fi
