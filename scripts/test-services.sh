#!/usr/bin/env bash
# Starts the shared stores the state tests use, from Debian's packages: PostgreSQL (role and
# database "auditor") and Redis on their default loopback ports. Idempotent; needs root (or sudo).
set -euo pipefail
SUDO=""
AS_POSTGRES="runuser -u postgres --"
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; AS_POSTGRES="sudo -u postgres"; fi
if [ -z "$(pg_lsclusters --no-header)" ]; then
  $SUDO pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main
fi
CLUSTER=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if ! pg_lsclusters --no-header | grep -q online; then $SUDO pg_ctlcluster $CLUSTER start; fi
$AS_POSTGRES psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='auditor'" | grep -q 1 \
  || $AS_POSTGRES psql -qc "CREATE ROLE auditor LOGIN PASSWORD 'auditor'"
$AS_POSTGRES psql -qtAc "SELECT 1 FROM pg_database WHERE datname='auditor'" | grep -q 1 \
  || $AS_POSTGRES createdb -O auditor auditor
redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no
