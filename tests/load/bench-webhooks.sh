#!/usr/bin/env bash
# `make bench-webhooks`: webhook fan-out of hd-notification, a benchmark, not
# a test (docs/benchmarks.md, "Webhook fan-out"). Starts a private stack
# (deploy/local.sh on free ports, PostgreSQL with fsync on) whose
# hd-notification may reach 127.0.0.2 (HD_WEBHOOK_ALLOW_CIDRS), a local
# receiver on 127.0.0.2 that answers 204 at once (hook_sink.py), registers a
# webhook for acme through the API, queues HD_BENCH_DELIVERIES (10,000)
# pending deliveries for it straight into notification.deliveries as the
# owner role, and measures how long the dispatcher takes to deliver them all
# (every one signed, POSTed through libcurl's multi interface, its outcome
# written back): deliveries/s = N / time until the last is `succeeded`.
# Prints the figures and writes them between the "bench-webhooks:begin/end"
# markers of docs/benchmarks.md (HD_BENCH_DOC; "-": do not write).
# Env: HD_BIN_DIR (build/bin), HD_BENCH_DELIVERIES (10000), HD_WEBHOOK_PARALLEL
# (64, passed through), HD_BENCH_KEEP=1 leaves the stack running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK=$ROOT/deploy/stack.sh
LOCAL=$ROOT/deploy/local.sh
N=${HD_BENCH_DELIVERIES:-10000}
DOC=${HD_BENCH_DOC:-$ROOT/docs/benchmarks.md}
export HD_BIN_DIR=${HD_BIN_DIR:-$ROOT/build/bin}

die() { echo "bench-webhooks.sh: $*" >&2; exit 1; }
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "HD_BENCH_DELIVERIES must be a positive integer"
[ -x "$HD_BIN_DIR/hd-notification" ] || die "$HD_BIN_DIR/hd-notification not found: build first (make)"

WORK=$(mktemp -d /tmp/hd-bench-hooks.XXXXXX)
chmod 755 "$WORK" # initdb runs as postgres
export HD_STATE_DIR=$WORK/stack HD_LOG_LEVEL=warn HD_STACK_TLS=0
export HD_WEBHOOK_ALLOW_CIDRS=127.0.0.2/32 HD_SMTP_URL=smtp://127.0.0.1:1
export HD_DEMO_ADMIN_PASSWORD="bench-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
while IFS='=' read -r name value; do export "$name=$value"; done < <("$LOCAL" port-env)
SINK_PORT=$("$STACK" free-port 1)
SINK_PID=""
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	if [ "${HD_BENCH_KEEP:-0}" = 1 ]; then
		echo "stack left running under $HD_STATE_DIR"
	else
		"$LOCAL" stop >/dev/null 2>&1 || true
		rm -rf "$WORK" 2>/dev/null || true # Redis may still be writing its folder
	fi
}
trap cleanup EXIT

"$LOCAL" start >"$WORK/start.log" 2>&1 || { cat "$WORK/start.log"; die "stack did not start"; }
/usr/bin/python3 "$ROOT/tests/load/hook_sink.py" 127.0.0.2 "$SINK_PORT" "$WORK/sink.count" &
SINK_PID=$!
BASE="http://127.0.0.1:$HD_HTTP_PORT"
TOKEN=$(curl -sf "$BASE/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"acme\",\"email\":\"admin@acme.local\",\"password\":\"$HD_DEMO_ADMIN_PASSWORD\"}" |
	jq -r .access_token)
HOOK=$(curl -sf "$BASE/v1/webhooks" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d "{\"url\":\"http://127.0.0.2:$SINK_PORT/hook\",\"events\":[\"ticket.created\"]}" | jq -r .id)
[ -n "$HOOK" ] && [ "$HOOK" != null ] || die "could not create the webhook"
OWNER="postgresql://hd_owner@127.0.0.1:$HD_PG_PORT/helpdesk"
psql -qAt "$OWNER" -v ON_ERROR_STOP=1 -c "
INSERT INTO notification.deliveries (tenant_id, webhook_id, cause_id, event_type, body, next_attempt_at)
SELECT w.tenant_id, w.id, gen_random_uuid(), 'ticket.created',
       json_build_object('id', gen_random_uuid(), 'seq', g, 'type', 'ticket.created',
                         'tenant_id', w.tenant_id, 'data', json_build_object('n', g))::text,
       clock_timestamp()
FROM notification.webhooks w, generate_series(1, $N) g WHERE w.id = '$HOOK'" >/dev/null
T0=$(date +%s.%N)
done_count=0
for _ in $(seq 1 1200); do
	done_count=$(psql -qAt "$OWNER" -c "SELECT count(*) FROM notification.deliveries
		WHERE webhook_id = '$HOOK' AND status = 'succeeded'")
	[ "$done_count" -ge "$N" ] && break
	sleep 0.1
done
T1=$(date +%s.%N)
[ "$done_count" -ge "$N" ] || die "only $done_count of $N deliveries succeeded in 120 s"
read -r FIRST LAST < <(psql -qAt -F ' ' "$OWNER" -c "SELECT extract(epoch FROM min(updated_at)),
	extract(epoch FROM max(updated_at)) FROM notification.deliveries WHERE webhook_id = '$HOOK'")
RECEIVED=$(cat "$WORK/sink.count" 2>/dev/null || echo 0)
RATE=$(awk -v n="$N" -v a="$T0" -v b="$T1" 'BEGIN { printf "%.0f", n / (b - a) }')
SPAN=$(awk -v a="$FIRST" -v b="$LAST" -v n="$N" 'BEGIN { printf "%.0f", (b > a) ? n / (b - a) : 0 }')
RSS=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$(cat "$HD_STATE_DIR/run/notification.pid")/status")
LINE="| $(date -u +%F) | $(nproc) vCPU, load $(cut -d' ' -f1-3 /proc/loadavg) | $N | ${HD_WEBHOOK_PARALLEL:-64} | $RATE | $SPAN | $RECEIVED | $RSS MiB |"
echo "deliveries: $N, wall ${RATE}/s (queue to last success), ${SPAN}/s (first to last success), receiver saw $RECEIVED, hd-notification peak RSS ${RSS} MiB"
if [ "$DOC" != - ]; then
	tmp=$(mktemp)
	awk -v line="$LINE" '
		/bench-webhooks:end/ { print line; skip = 0 }
		!skip { print }
		/bench-webhooks:begin/ { skip = 1;
			print "| date | machine | deliveries | in flight | deliveries/s (queued to last) | deliveries/s (first to last) | received | hd-notification RSS |"
			print "|---|---|---|---|---|---|---|---|" }
	' "$DOC" >"$tmp" && cat "$tmp" >"$DOC" && rm -f "$tmp"
fi
