#!/usr/bin/env bash
# `make bench-attachments`: what one large attachment costs in memory, a
# benchmark, not a test (docs/benchmarks.md, "Attachments"). Starts a private
# stack (deploy/local.sh on free ports, TLS on the NNG links as in
# production, the local storage backend), uploads a HD_BENCH_MIB (20) MiB
# file HD_BENCH_ROUNDS (5) times through the gateway (POST /v1/attachments)
# and downloads each (GET /v1/attachments/{id}), compared byte for byte,
# then prints the peak resident memory (VmHWM of /proc/<pid>/status) of
# hd-gateway and hd-ticket before and after, and the wall time per request.
# Then the downloads alone: the peaks are reset (5 > /proc/<pid>/clear_refs)
# after each upload, and the highest peak seen during a download is printed.
# HD_BIN_DIR selects the binaries (build/bin), so two builds compare on one
# machine; HD_BENCH_KEEP=1 leaves the stack running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=$ROOT/deploy/local.sh
MIB=${HD_BENCH_MIB:-20}
ROUNDS=${HD_BENCH_ROUNDS:-5}
export HD_BIN_DIR=${HD_BIN_DIR:-$ROOT/build/bin}

die() { echo "bench-attachments.sh: $*" >&2; exit 1; }
[[ "$MIB" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "HD_BENCH_MIB and HD_BENCH_ROUNDS must be positive integers"
[ -x "$HD_BIN_DIR/hd-gateway" ] || die "$HD_BIN_DIR/hd-gateway not found: build first (make)"

WORK=$(mktemp -d /tmp/hd-bench-attach.XXXXXX)
chmod 755 "$WORK" # initdb runs as postgres
HD_DEMO_ADMIN_PASSWORD="bench-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
export HD_STATE_DIR=$WORK/stack HD_LOG_LEVEL=warn HD_SMTP_URL=smtp://127.0.0.1:1 \
	HD_MAX_UPLOAD_BYTES=$(((MIB + 5) * 1048576)) HD_DEMO_ADMIN_PASSWORD
while IFS='=' read -r name value; do export "$name=$value"; done < <("$LOCAL" port-env)
# the stack stays with HD_BENCH_KEEP=1, else it stops and its folder goes
if [ "${HD_BENCH_KEEP:-0}" = 1 ]; then trap 'echo "stack left running under $HD_STATE_DIR"' EXIT
else trap '"$LOCAL" stop >/dev/null 2>&1; rm -rf "$WORK" 2>/dev/null; true' EXIT; fi

# resets the peak RSS of daemon $1 to its current RSS
rss_reset() { echo 5 >"/proc/$(cat "$HD_STATE_DIR/run/$1.pid")/clear_refs"; }
# peak RSS (KiB) of daemon $1
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$(cat "$HD_STATE_DIR/run/$1.pid")/status"; }
# peak and current RSS (MiB) of daemon $1
rss() {
	awk '/^VmHWM:/ { h = int($2 / 1024) } /^VmRSS:/ { r = int($2 / 1024) }
		END { printf "peak %d MiB (now %d MiB)", h, r }' "/proc/$(cat "$HD_STATE_DIR/run/$1.pid")/status"
}

"$LOCAL" start >"$WORK/start.log" 2>&1 || { cat "$WORK/start.log"; die "stack did not start"; }
BASE="http://127.0.0.1:$HD_HTTP_PORT"
TOKEN=$(curl -sf "$BASE/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"acme\",\"email\":\"admin@acme.local\",\"password\":\"$HD_DEMO_ADMIN_PASSWORD\"}" |
	jq -r .access_token)
if [ -z "$TOKEN" ] || [ "$TOKEN" = null ]; then die "could not log in"; fi
head -c $((MIB * 786432)) /dev/urandom | base64 -w 0 >"$WORK/file.txt" # MIB MiB of text
echo "before: hd-gateway $(rss gateway), hd-ticket $(rss ticket)"
for i in $(seq 1 "$ROUNDS"); do
	out=$(curl -sS -o "$WORK/up.json" -w '%{http_code} %{time_total}' "$BASE/v1/attachments" \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' -H "X-Filename: bench-$i.txt" \
		--data-binary "@$WORK/file.txt")
	[ "${out%% *}" = 201 ] || die "upload $i answered ${out%% *}: $(cat "$WORK/up.json")"
	id=$(jq -r .id "$WORK/up.json")
	pre_gw=$(hwm_kib gateway) pre_ticket=$(hwm_kib ticket)
	rss_reset gateway
	rss_reset ticket
	base_gw=$(hwm_kib gateway) base_ticket=$(hwm_kib ticket)
	down=$(curl -sS -o "$WORK/down.bin" -w '%{http_code} %{time_total}' "$BASE/v1/attachments/$id" \
		-H "Authorization: Bearer $TOKEN")
	[ "${down%% *}" = 200 ] || die "download $i answered ${down%% *}"
	cmp -s "$WORK/file.txt" "$WORK/down.bin" || die "download $i differs from the file"
	dl_gw=$(($(hwm_kib gateway) - base_gw)) dl_ticket=$(($(hwm_kib ticket) - base_ticket))
	[ "$dl_gw" -gt "${dl_gw_max:-0}" ] && dl_gw_max=$dl_gw
	[ "$dl_ticket" -gt "${dl_ticket_max:-0}" ] && dl_ticket_max=$dl_ticket
	# the overall peak must survive the reset: hold the one seen before it
	[ "$pre_gw" -gt "${up_gw_max:-0}" ] && up_gw_max=$pre_gw
	[ "$pre_ticket" -gt "${up_ticket_max:-0}" ] && up_ticket_max=$pre_ticket
	echo "round $i: upload ${out#* } s, download ${down#* } s"
done
[ "$(hwm_kib gateway)" -gt "$up_gw_max" ] && up_gw_max=$(hwm_kib gateway)
[ "$(hwm_kib ticket)" -gt "$up_ticket_max" ] && up_ticket_max=$(hwm_kib ticket)
echo "after: hd-gateway peak $((up_gw_max / 1024)) MiB, hd-ticket peak $((up_ticket_max / 1024)) MiB (now: hd-gateway $(rss gateway), hd-ticket $(rss ticket))"
echo "a download alone: hd-gateway peak +$((dl_gw_max / 1024)) MiB, hd-ticket peak +$((dl_ticket_max / 1024)) MiB over the RSS it started at"
echo "$(date -u +%F) $(nproc) vCPU, load $(cut -d' ' -f1-3 /proc/loadavg), $MIB MiB x $ROUNDS, binaries $HD_BIN_DIR"
