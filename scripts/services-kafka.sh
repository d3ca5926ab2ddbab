#!/usr/bin/env bash
# Install and start (or stop) a throwaway Kafka-protocol broker for the Kafka streaming tests.
#   scripts/services-kafka.sh start   -> prints: export MODELPORT_TEST_KAFKA_BOOTSTRAP=127.0.0.1:PORT
#   scripts/services-kafka.sh stop
#
# The broker is nafka (https://pypi.org/project/nafka/), a small third-party broker that speaks
# the Kafka wire protocol, in a Python 3.13 virtual environment of its own. It is not Apache
# Kafka: one partition per topic, no replication, no transactions, and no session expiry for
# consumer-group members. Both commands are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/.test-services"
VENV="$DIR/nafka-venv"
PORT=${MODELPORT_TEST_KAFKA_PORT:-59092}
PIDFILE="$DIR/nafka.pid"

find_python313() {
  local candidate
  for candidate in "${MODELPORT_PYTHON313:-}" "$(command -v python3.13 || true)" \
      "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do
    # A pyenv shim exists even where it cannot run 3.13, so the candidate must really start.
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "services-kafka.sh: nafka needs Python 3.13; install it (e.g. pyenv install 3.13) or set MODELPORT_PYTHON313" >&2
  return 1
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

start() {
  mkdir -p "$DIR"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import nafka" 2>/dev/null; then
    local py; py=$(find_python313)
    echo "==> creating $VENV with $py and installing nafka" >&2
    "$py" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q nafka >&2
  fi
  if ! running; then
    rm -f "$DIR/nafka.sqlite" "$DIR/nafka.log"
    # Same as `python -m nafka --port P --file F`, but logging at WARNING: nafka's own main()
    # logs every request at DEBUG, which slows it down and fills the disk.
    nohup "$VENV/bin/python" -c "
import asyncio, logging, sys
from nafka.server import run_server
logging.basicConfig(level=logging.WARNING)
asyncio.run(run_server(sys.argv[1], int(sys.argv[2])))
" "$DIR/nafka.sqlite" "$PORT" >"$DIR/nafka.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do port_open && break; sleep 0.1; done
    if ! port_open; then
      echo "services-kafka.sh: nafka did not start on port $PORT; see $DIR/nafka.log" >&2
      exit 1
    fi
  fi
  echo "export MODELPORT_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$PORT"
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
