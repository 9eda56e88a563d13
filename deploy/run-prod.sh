#!/usr/bin/env bash
# Serve 政务通 the production way on loopback: PostgreSQL, Redis and K daphne processes behind nginx.
#
#   deploy/run-prod.sh [--daphnes K] [--port 8080] [--tls-port 8443] [--throwaway] [--layer core|pubsub]
#
# Same code as `make run`, with DEBUG=0, DATABASE_URL and REDIS_URL. The database lives under var/prod/
# (kept between runs) unless --throwaway is given. Ctrl-C (or kill) stops every service it started.
# Needs: the venv (make setup), postgresql, redis-server, nginx and openssl from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
if [ ! -x "$PY" ]; then
    echo "==> ERROR: no virtualenv: run 'make setup' first" >&2
    exit 1
fi
missing=()
for binary in redis-server nginx openssl; do
    command -v "$binary" >/dev/null 2>&1 || [ -x "/usr/sbin/$binary" ] || missing+=("$binary")
done
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> ERROR: missing: ${missing[*]} (apt-get install postgresql redis-server nginx openssl)" >&2
    exit 1
fi

# Every open websocket is a descriptor in daphne and two in nginx.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

child=""
stop() {
    # Forward the signal; deploy/stack.py stops nginx, daphne, Redis and PostgreSQL in that order.
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" || true
    fi
}
trap stop INT TERM HUP
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

"$PY" deploy/stack.py "$@" &
child=$!
status=0
wait "$child" || status=$?
exit "$status"
