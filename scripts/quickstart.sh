#!/usr/bin/env bash
# Fresh machine to a served model: set up, train the fraud example, register it, predict locally,
# then serve it and send one Open Inference Protocol request.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
export MODELPORT_HOME="${MODELPORT_HOME:-$PWD/.modelport}"

echo "==> training the fraud model (examples/fraud/train.py)"
metrics=$(python examples/fraud/train.py)
auc=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["auc"])' "$metrics")

echo "==> registering it"
modelport models register examples/fraud/model.json --name fraud --metric "auc=$auc" \
    --train-data examples/fraud/data/train.parquet --alias staging --card examples/fraud/CARD.md
version=$(modelport models versions fraud --json | python -c 'import json,sys; print(json.load(sys.stdin)[-1]["version"])')
modelport models alias fraud production "$version"
modelport models show fraud

echo "==> predicting locally (no server)"
modelport predict fraud@production --input examples/fraud/data/rows.csv

if modelport serve --help >/dev/null 2>&1; then
  echo "==> serving fraud@production on :8080 and sending one request"
  modelport serve fraud@production --port 8080 --grpc-port 8081 --workers 1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 60); do curl -sf localhost:8080/v2/health/ready >/dev/null && break; sleep 0.5; done
  python examples/fraud/request.py --url http://localhost:8080
fi
