#!/usr/bin/env bash
# `make bench-sse`: the event-stream benchmark (a benchmark, not a test;
# docs/benchmarks.md, "Event streams"). Starts a private stack (deploy/local.sh
# on free ports under a temporary folder, fsync on), logs in as acme's admin,
# and runs tests/load/sse_bench.c: HD_SSE_BENCH_STREAMS (10000) idle
# GET /v1/stream connections of that user, the gateway's VmRSS before and
# after, then HD_SSE_BENCH_EVENTS (20) tickets created one after the other and
# the delay until each stream read each ticket.created frame (p50, p99, max).
# The stack runs with the caps lifted that would refuse one user's 10,000
# streams from one address: HD_HTTP_MAX_CONNS=20000,
# HD_HTTP_MAX_CONNS_PER_ADDR=0, HD_SSE_MAX_PER_USER=20000. Prints the figures;
# copy them into docs/benchmarks.md with the date, the machine and its load.
# Env: HD_BIN_DIR (build/bin), HD_SSE_BENCH_STREAMS, HD_SSE_BENCH_EVENTS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=$ROOT/deploy/local.sh
export HD_BIN_DIR=${HD_BIN_DIR:-$ROOT/build/bin}
export HD_SSE_BENCH_STREAMS=${HD_SSE_BENCH_STREAMS:-10000}
export HD_SSE_BENCH_EVENTS=${HD_SSE_BENCH_EVENTS:-20}
WORK=$(mktemp -d /tmp/hd-bench-sse.XXXXXX)
chmod 755 "$WORK" # PostgreSQL runs as postgres under it
cleanup() {
	HD_STATE_DIR=$WORK/stack "$LOCAL" stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

cc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/sse_bench" "$ROOT/tests/load/sse_bench.c"
ulimit -n $((HD_SSE_BENCH_STREAMS + 1024)) # the gateway inherits it
while IFS='=' read -r name value; do export "$name=$value"; done < <("$LOCAL" port-env)
export HD_STATE_DIR=$WORK/stack HD_LOG_LEVEL=warn
export HD_HTTP_MAX_CONNS=20000 HD_HTTP_MAX_CONNS_PER_ADDR=0 HD_SSE_MAX_PER_USER=20000
export HD_RATE_LIMIT_PER_MIN=100000000
HD_DEMO_ADMIN_PASSWORD="dA-$(random_hex 12)" HD_PLATFORM_ADMIN_PASSWORD="pA-$(random_hex 12)"
HD_JWT_SECRET=$(random_hex 32)
export HD_DEMO_ADMIN_PASSWORD HD_PLATFORM_ADMIN_PASSWORD HD_JWT_SECRET
"$LOCAL" start >"$WORK/start.log" 2>&1 || { tail -20 "$WORK/start.log"; exit 1; }
body=$(printf '{"tenant":"acme","email":"admin@acme.local","password":"%s"}' "$HD_DEMO_ADMIN_PASSWORD")
HD_SSE_BENCH_TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d "$body" \
	"http://127.0.0.1:$HD_HTTP_PORT/v1/auth/login" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
HD_SSE_BENCH_GW_PID=$(cat "$HD_STATE_DIR/run/gateway.pid")
export HD_SSE_BENCH_TOKEN HD_SSE_BENCH_GW_PID
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$WORK/sse_bench"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
