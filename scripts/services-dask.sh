#!/usr/bin/env bash
# Start (or stop) a throwaway local Dask cluster for the Dask batch-engine tests: a scheduler
# on a non-default port and two single-threaded workers, all run with the `dask` command of .venv
# (so the workers import modelport from its editable install).
#   scripts/services-dask.sh start   -> prints: export MODELPORT_TEST_DASK_SCHEDULER=tcp://127.0.0.1:PORT
#   scripts/services-dask.sh stop
# Both commands are idempotent; logs go to .test-services/dask/.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/.test-services/dask"
PORT=${MODELPORT_TEST_DASK_PORT:-58786}
ADDRESS="tcp://127.0.0.1:$PORT"
DASK="$PWD/.venv/bin/dask"
WORKERS=2

running() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() {
  if [ ! -x "$DASK" ]; then
    echo "services-dask.sh: $DASK is missing; install the extra: .venv/bin/pip install -e '.[dask]'" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  if ! running "$DIR/scheduler.pid"; then
    nohup "$DASK" scheduler --host 127.0.0.1 --port "$PORT" --no-dashboard \
      >"$DIR/scheduler.log" 2>&1 &
    echo $! >"$DIR/scheduler.pid"
  fi
  for i in $(seq "$WORKERS"); do
    if ! running "$DIR/worker-$i.pid"; then
      # One thread per worker, and one OpenMP thread per model call inside it.
      OMP_NUM_THREADS=1 nohup "$DASK" worker "$ADDRESS" --nthreads 1 --nworkers 1 \
        --name "modelport-test-$i" --no-dashboard --local-directory "$DIR/worker-$i" \
        --death-timeout 120 >"$DIR/worker-$i.log" 2>&1 &
      echo $! >"$DIR/worker-$i.pid"
    fi
  done
  if ! "$PWD/.venv/bin/python" - "$ADDRESS" "$WORKERS" >&2 <<'PY'
import sys
from distributed import Client

with Client(sys.argv[1], timeout=120) as client:
    client.wait_for_workers(int(sys.argv[2]), timeout=180)
PY
  then
    echo "services-dask.sh: the cluster at $ADDRESS did not come up; see $DIR/*.log" >&2
    exit 1
  fi
  echo "export MODELPORT_TEST_DASK_SCHEDULER=$ADDRESS"
}

stop() {
  local pidfile pid
  for pidfile in "$DIR"/worker-*.pid "$DIR/scheduler.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
