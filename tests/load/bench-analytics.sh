#!/usr/bin/env bash
# `make bench-analytics`: a benchmark of hd-analytics, not a test
# (docs/benchmarks.md, "Analytics"). On a private stack (deploy/local.sh on
# free ports, fsync on) with hd-analytics stopped, seeds HD_BENCH_EVENTS
# (1,000,000) hd-ticket events of the demo tenant (analytics_seed.sql: four
# per ticket over a year), starts hd-analytics and times how long it takes
# to apply them all (events/s; the consumer catches up through replay pages,
# one transaction per page). Then wrk (lua/analytics.lua) on
#   GET /v1/analytics/summary over the last 90 days
#   GET /v1/analytics/timeseries?metric=tickets.created&interval=day, 90 days
# and prints requests/s, p50 and p99. Env: HD_BIN_DIR, HD_BENCH_EVENTS,
# HD_BENCH_DURATION (10s), HD_BENCH_CONNS (8), HD_BENCH_KEEP=1 keeps the stack.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=$ROOT/deploy/local.sh
EVENTS=${HD_BENCH_EVENTS:-1000000}
DUR=${HD_BENCH_DURATION:-10s}
CONNS=${HD_BENCH_CONNS:-8}
export HD_BIN_DIR=${HD_BIN_DIR:-$ROOT/build/bin}
say() { echo "bench-analytics.sh: $*" >&2; }
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

command -v wrk >/dev/null || { say "wrk not found (deploy/stack.sh deps)"; exit 1; }
STATE=$(mktemp -d /tmp/hd-bench-an.XXXXXX)
chmod 755 "$STATE"
finish() {
	if [ "${HD_BENCH_KEEP:-0}" = 1 ]; then say "stack kept: HD_STATE_DIR=$STATE/stack $LOCAL stop"; return; fi
	HD_STATE_DIR=$STATE/stack "$LOCAL" stop >/dev/null 2>&1 || true
	rm -rf "$STATE"
}
trap finish EXIT
trap 'exit 130' INT TERM # so that finish runs

export HD_STATE_DIR=$STATE/stack HD_LOG_LEVEL=warn HD_RATE_LIMIT_PER_MIN=100000000
export HD_DEMO_ADMIN_PASSWORD="dA-$(hex 12)" HD_PLATFORM_ADMIN_PASSWORD="pA-$(hex 12)"
while IFS='=' read -r k v; do export "$k=$v"; done < <("$LOCAL" port-env)
"$LOCAL" start >"$STATE/start.log" 2>&1 || { tail -5 "$STATE/start.log"; exit 1; }
BASE=http://127.0.0.1:$HD_HTTP_PORT
SUPER="postgresql://postgres@127.0.0.1:$HD_PG_PORT/helpdesk"
TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"acme\",\"email\":\"admin@acme.local\",\"password\":\"$HD_DEMO_ADMIN_PASSWORD\"}" \
	"$BASE/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TENANT=$(psql "$SUPER" -Atc "SELECT id FROM auth.tenants WHERE slug = 'acme'")

"$LOCAL" stop-daemon analytics
say "seeding $EVENTS events"
psql "$SUPER" -q -v ON_ERROR_STOP=1 -v n=$((EVENTS / 4)) -v tenant="$TENANT" -v agent="$TENANT" \
	-f "$ROOT/tests/load/analytics_seed.sql"
LAST=$(psql "$SUPER" -Atc "SELECT max(pub_seq) FROM ticket.outbox")
T0=$(date +%s.%N)
"$LOCAL" start-daemon analytics
until [ "$(psql "$SUPER" -Atc "SELECT last_seq FROM analytics.consumed WHERE source = 'ticket'")" = "$LAST" ]; do
	sleep 0.2
done
T1=$(date +%s.%N)
python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); \
print(f'applied {n} events in {s:.1f} s: {n / s:,.0f} events/s')" "$EVENTS" "$T0" "$T1"
# CPU spent per event (less sensitive to other load than the rate): the
# PostgreSQL backends of hd-analytics' applying connection and of hd-ticket's
# replay, and the two daemons (/proc/PID/stat utime + stime, in ticks)
cpu_ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
APPLY_PID=$(psql "$SUPER" -Atc "SELECT pid FROM pg_stat_activity WHERE query LIKE '%analytics.apply_events%' AND usename = 'hd_app' AND pid <> pg_backend_pid() LIMIT 1")
# (hd-ticket's backend whose last statement was the replay, if any)
REPLAY_PID=$(psql "$SUPER" -Atc "SELECT pid FROM pg_stat_activity WHERE query LIKE '%\"ticket\".outbox_replay%' AND usename = 'hd_app' AND pid <> pg_backend_pid() ORDER BY backend_start LIMIT 1")
for who in "apply-backend:$APPLY_PID" "replay-backend:$REPLAY_PID" "hd-analytics:$(cat "$STATE/stack/run/analytics.pid")" \
	"hd-ticket:$(cat "$STATE/stack/run/ticket.pid")"; do
	[ -n "${who#*:}" ] || { echo "cpu ${who%%:*}: its process was not found"; continue; }
	t=$(cpu_ticks "${who#*:}")
	python3 -c "import sys, os; t = int(sys.argv[2]) / os.sysconf('SC_CLK_TCK'); \
print(f'cpu {sys.argv[1]}: {t:.1f} s, {t * 1e6 / int(sys.argv[3]):.0f} us/event (since its start)')" "${who%%:*}" "${t:-0}" "$EVENTS"
done
psql "$SUPER" -q -c "VACUUM ANALYZE"

FROM=$(date -u -d '-90 days' +%Y-%m-%dT%H:%M:%SZ)
TO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for path in "/v1/analytics/summary?from=$FROM&to=$TO" \
	"/v1/analytics/timeseries?metric=tickets.created&interval=day&from=$FROM&to=$TO"; do
	curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE$path" || { say "GET $path failed"; exit 1; }
	HD_BENCH_PATH=$path HD_BENCH_TOKEN=$TOKEN wrk -t2 -c"$CONNS" -d"$DUR" --latency \
		-s "$ROOT/tests/load/lua/analytics.lua" "$BASE" >"$STATE/wrk.txt"
	rps=$(awk '/^Requests\/sec/ {print $2}' "$STATE/wrk.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$STATE/wrk.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$STATE/wrk.txt")
	errs=$(awk '/Non-2xx/ {print $NF}' "$STATE/wrk.txt")
	echo "${path%%\?*}: $rps req/s, p50 $p50, p99 $p99, non-2xx ${errs:-0} ($CONNS connections)"
done
echo "machine: $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/')"
