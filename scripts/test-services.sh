#!/usr/bin/env bash
# The shared stores the state tests use, from Debian's packages: PostgreSQL (role and database
# "auditor") and Redis on their default loopback ports. Needs root (or sudo).
#   test-services.sh [start]    starts whatever is not running (idempotent)
#   test-services.sh running    one line per running store: "postgres <version> <cluster>",
#                               "redis <pid>"
#   test-services.sh stop FILE  stops exactly the stores FILE lists (lines as `running` prints)
# .ci/run notes what runs before it installs anything and stops only what it added.
set -euo pipefail
SUDO=""
AS_POSTGRES="runuser -u postgres --"
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; AS_POSTGRES="sudo -u postgres"; fi

start() {
  if [ -z "$(pg_lsclusters --no-header)" ]; then
    $SUDO pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main
  fi
  local cluster
  cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
  if ! pg_lsclusters --no-header | grep -q online; then $SUDO pg_ctlcluster $cluster start; fi
  $AS_POSTGRES psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='auditor'" | grep -q 1 \
    || $AS_POSTGRES psql -qc "CREATE ROLE auditor LOGIN PASSWORD 'auditor'"
  $AS_POSTGRES psql -qtAc "SELECT 1 FROM pg_database WHERE datname='auditor'" | grep -q 1 \
    || $AS_POSTGRES createdb -O auditor auditor
  redis-cli -p 6379 ping >/dev/null 2>&1 \
    || redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no
}

# A store that is down is not an error here (pipefail would make redis-cli's refusal one).
running() {
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters --no-header | awk '$4 == "online" {print "postgres "$1" "$2}' || true
  fi
  if command -v redis-cli >/dev/null; then
    redis-cli -p 6379 info server 2>/dev/null | tr -d '\r' \
      | awk -F: '$1 == "process_id" {print "redis "$2}' || true
  fi
  return 0
}

stop() {
  while read -r kind a b; do
    case "$kind" in
      postgres) $SUDO pg_ctlcluster "$a" "$b" stop ;;
      redis)
        # By its pid, and only while that pid is still a redis-server.
        if grep -q redis-server "/proc/$a/cmdline" 2>/dev/null; then
          kill "$a"
          for _ in $(seq 50); do kill -0 "$a" 2>/dev/null || break; sleep 0.1; done
        fi
        ;;
    esac
  done <"$1"
}

case "${1:-start}" in
  start) start ;;
  running) running ;;
  stop) stop "${2:?stop needs the file listing what to stop}" ;;
  *) echo "usage: $0 [start] | running | stop FILE" >&2; exit 2 ;;
esac
