#!/usr/bin/env bash
# Install (Debian packages) and start throwaway PostgreSQL and Redis servers for the tests
# (and install promtool, which the monitoring tests run).
#   scripts/services.sh start   -> prints export lines for the test environment
#   scripts/services.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/.test-services"
PG_PORT=${MODELPORT_TEST_PG_PORT:-55432}
REDIS_PORT=${MODELPORT_TEST_REDIS_PORT:-56379}

need_pkgs() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
    # The Debian packages start their own clusters on default ports; we use our own.
    service postgresql stop >/dev/null 2>&1 || true
    service redis-server stop >/dev/null 2>&1 || true
  fi
  # promtool (from Debian's prometheus package) checks deploy/monitoring's rules and their
  # unit tests; only the tool is needed, not a running Prometheus.
  if ! command -v promtool >/dev/null 2>&1; then
    echo "==> apt-get install prometheus (for promtool)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends prometheus >&2
    service prometheus stop >/dev/null 2>&1 || true
  fi
}

start() {
  need_pkgs
  mkdir -p "$DIR"
  local bin; bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
  chown postgres "$DIR" 2>/dev/null || true
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    runuser -u postgres -- "$bin/initdb" -D "$DIR/pg" -U postgres -A trust >/dev/null
  fi
  if ! runuser -u postgres -- "$bin/pg_ctl" -D "$DIR/pg" status >/dev/null 2>&1; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$DIR/pg" -l "$DIR/pg.log" -w \
      -o "-p $PG_PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >&2
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
      --appendonly no --dir "$DIR" --logfile "$DIR/redis.log" --pidfile "$DIR/redis.pid" >&2
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export MODELPORT_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export MODELPORT_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop() {
  local bin; bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)" 2>/dev/null || true)
  [ -n "$bin" ] && [ -d "$DIR/pg" ] && runuser -u postgres -- "$bin/pg_ctl" -D "$DIR/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
