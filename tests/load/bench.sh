#!/usr/bin/env bash
# `make bench`: a benchmark, not a test. Starts a private stack (deploy/local.sh
# on free ports under a temporary state folder, PostgreSQL with fsync on),
# seeds the demo tenant acme with 10,000 tickets (seed.sql), logs in as its
# admin, then runs wrk against the gateway:
#   get     GET /v1/tickets/{random seeded id}   lua/get_ticket.lua
#   list    GET /v1/tickets?limit=25             lua/list_tickets.lua
#   healthz GET /healthz                         lua/healthz.lua
#   mix     a realistic mix over several tenants lua/mix.lua (reads, next pages, 10% writes)
#   nearby  GET /v1/technicians?near=&radius_km=10&skill=  lua/nearby.lua
#   dispatch POST /v1/work-orders/{id}/dispatch  lua/dispatch.lua (each seeded work order once)
#   create  POST /v1/tickets                     lua/create_ticket.lua (last: it adds rows)
# For nearby and dispatch it seeds HD_BENCH_TECHS technicians (users in auth
# too) and HD_BENCH_WORK_ORDERS unassigned work orders in acme
# (seed_field.sql), then checks with one SQL query that no technician is
# double-booked, and times the nearby query inside PostgreSQL against a plain
# haversine scan without the index (field_baseline.sql).
# For mix it also creates HD_BENCH_MIX_TENANTS - 1 tenants (POST /v1/tenants as
# the platform admin), seeds each with TICKETS/4 tickets and logs in as each
# one's admin (docs/benchmarks.md, "The mix scenario").
# and prints requests/s, p50/p99, non-2xx and socket errors, whether ticket
# numbers are still gapless, and each daemon's peak RSS (VmHWM). The results
# go to docs/benchmarks.md between the "bench:begin/end" markers (the rest of
# the file is kept).
#
# With HD_BENCH_PEER=node it then runs the Node reference peer found in
# HD_BENCH_PEER_DIR (required then: the peers are not part of this repository;
# the folder holds pg.sh, seed.sh, mint-token.py and node/) with the same Lua
# scripts on the same machine, and adds a ratio table (docs/benchmarks.md).
#
# Env: HD_BIN_DIR (build/bin), HD_BENCH_DURATION (10s), HD_BENCH_CONNS (64),
#   HD_BENCH_THREADS (2), HD_BENCH_WARMUP (2s; 0 = none), HD_BENCH_TICKETS (10000),
#   HD_BENCH_SCENARIOS ("get list healthz mix create"), HD_BENCH_MIX_TENANTS (4,
#   acme included), HD_BENCH_DOC (docs/benchmarks.md;
#   "-" = do not write), HD_BENCH_PEER (node), HD_BENCH_PEER_DIR, HD_BENCH_NODE_DIR
#   (a writable copy of the Node peer with node_modules; default /tmp/hd-bench-node),
#   HD_BENCH_KEEP=1 leaves the stack running (prints its state folder),
#   HD_BENCH_THINK_MS (0; N > 0: every connection pauses N ms between a reply
#   and its next request, lua/paced.lua: latency at the offered rate).
#   Daemon tuning (HD_WORKERS, HD_DB_CONNS, HD_HTTP_THREADS, ...) passes through.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/load
STACK=$ROOT/deploy/stack.sh
LOCAL=$ROOT/deploy/local.sh
DUR=${HD_BENCH_DURATION:-10s}
CONNS=${HD_BENCH_CONNS:-64}
THREADS=${HD_BENCH_THREADS:-2}
WARM=${HD_BENCH_WARMUP:-2s}
TICKETS=${HD_BENCH_TICKETS:-10000}
SCENARIOS=${HD_BENCH_SCENARIOS:-get list healthz mix nearby dispatch create}
TECHS=${HD_BENCH_TECHS:-10000}
WORK_ORDERS=${HD_BENCH_WORK_ORDERS:-50000}
MIX_TENANTS=${HD_BENCH_MIX_TENANTS:-4}
THINK_MS=${HD_BENCH_THINK_MS:-0}
MIX_TICKETS=$((TICKETS / 4 > 0 ? TICKETS / 4 : 1)) # each mix tenant's (bench-scale.sh sets its own)
SEED_SQL=$HERE/seed.sql                            # bench-scale.sh: scale_seed.sql
SEED_ROLE=hd_owner                                 # bench-scale.sh: postgres
DOC=${HD_BENCH_DOC:-$ROOT/docs/benchmarks.md}
PEER=${HD_BENCH_PEER:-}
PEER_DIR=${HD_BENCH_PEER_DIR:-}
NODE_DIR=${HD_BENCH_NODE_DIR:-/tmp/hd-bench-node}
export HD_BIN_DIR=${HD_BIN_DIR:-$ROOT/build/bin}

declare -A SCRIPT=([get]=get_ticket.lua [list]=list_tickets.lua [healthz]=healthz.lua
	[mix]=mix.lua [create]=create_ticket.lua [nearby]=nearby.lua [dispatch]=dispatch.lua)
declare -A TITLE=([get]="GET /v1/tickets/{id}" [list]="GET /v1/tickets?limit=25"
	[healthz]="GET /healthz" [mix]="mix of $MIX_TENANTS tenants" [create]="POST /v1/tickets"
	[nearby]="GET /v1/technicians?near=…" [dispatch]="POST /v1/work-orders/{id}/dispatch")

die() { echo "bench.sh: $*" >&2; exit 1; }
say() { echo "bench.sh: $*" >&2; }
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

command -v wrk >/dev/null || die "wrk not found: deploy/stack.sh deps (or apt-get install wrk)"
[ -x "$HD_BIN_DIR/hd-gateway" ] || die "$HD_BIN_DIR/hd-gateway not found: build first (make)"
for s in $SCENARIOS; do [ -n "${SCRIPT[$s]:-}" ] || die "unknown scenario $s"; done
[[ "$THINK_MS" =~ ^[0-9]+$ ]] || die "HD_BENCH_THINK_MS must be a whole number of milliseconds"
if [ "$THINK_MS" -gt 0 ]; then
	for s in "${!TITLE[@]}"; do TITLE[$s]+=", ${THINK_MS} ms pauses"; done
fi
[[ "$MIX_TENANTS" =~ ^[1-9][0-9]*$ ]] || die "HD_BENCH_MIX_TENANTS must be a positive integer"

WORK=$(mktemp -d /tmp/hd-bench.XXXXXX)
chmod 755 "$WORK"
RESULTS=$WORK/results.tsv # impl scenario rps p50_ms p99_ms non2xx sockerr
RSS=$WORK/rss.tsv         # impl process peak_rss_kib
: >"$RESULTS"
: >"$RSS"
PEER_PIDS=()

cleanup() {
	local pid
	for pid in "${PEER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ -n "${PEER_PG_DIR:-}" ] && HD_PG_DIR=$PEER_PG_DIR "$PEER_DIR/pg.sh" destroy >/dev/null 2>&1
	if [ "${HD_BENCH_KEEP:-0}" = 1 ]; then
		say "stack left running at ${BASE:-?} (token and ids in $WORK): HD_STATE_DIR=$WORK/stack deploy/local.sh stop"
		return
	fi
	HD_STATE_DIR=$WORK/stack "$LOCAL" stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that cleanup runs

# Field $1 of the JSON object on stdin (python3 stdlib; values are flat strings).
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# Claim $1 of the JWT $2 (payload only; the signature is the server's business).
jwt_claim() {
	python3 -c 'import base64,json,sys; p=sys.argv[2].split(".")[1]; p+="="*(-len(p)%4)
print(json.loads(base64.urlsafe_b64decode(p))[sys.argv[1]])' "$1" "$2"
}

# Every port of the stack, free and private.
stack_ports() {
	local name value
	while IFS='=' read -r name value; do export "$name=$value"; done < <("$LOCAL" port-env)
}

# The stack, fsync on (no HD_DB_MODE=test). A port taken by someone else
# between free-port and bind fails the start: then again on other ports.
stack_start() {
	local attempt
	export HD_STATE_DIR=$WORK/stack
	unset HD_DB_MODE
	HD_PLATFORM_ADMIN_PASSWORD="pA-$(random_hex 12)"
	HD_DEMO_ADMIN_PASSWORD="dA-$(random_hex 12)"
	export HD_PLATFORM_ADMIN_PASSWORD HD_DEMO_ADMIN_PASSWORD
	export HD_RATE_LIMIT_PER_MIN=${HD_RATE_LIMIT_PER_MIN:-100000000}
	export HD_ACCESS_TOKEN_TTL_S=${HD_ACCESS_TOKEN_TTL_S:-7200}
	export HD_LOG_LEVEL=${HD_LOG_LEVEL:-warn}
	for attempt in 1 2 3; do
		stack_ports
		# the secret where local.sh keeps it, so that start-daemon (tuning
		# runs on a stack kept with HD_BENCH_KEEP=1) finds the same one
		mkdir -p "$HD_STATE_DIR"
		(umask 077 && random_hex 32 >"$HD_STATE_DIR/jwt.secret")
		HD_JWT_SECRET=$(cat "$HD_STATE_DIR/jwt.secret")
		say "starting the stack under $HD_STATE_DIR (gateway on :$HD_HTTP_PORT, PostgreSQL on :$HD_PG_PORT, fsync on)"
		if "$LOCAL" start >"$WORK/stack-start.log" 2>&1; then
			BASE=http://127.0.0.1:$HD_HTTP_PORT
			return 0
		fi
		tail -5 "$WORK/stack-start.log" >&2
		"$LOCAL" stop >/dev/null 2>&1 || true
		rm -rf "$HD_STATE_DIR"
		say "stack start failed (attempt $attempt of 3)"
	done
	die "stack start failed"
}

# Logs in as acme's admin (TOKEN, TENANT_ID, USER_ID), then seeds its tickets
# and writes their ids to $WORK/ids.c.txt.
stack_seed() {
	local body reply
	body=$(printf '{"tenant":"acme","email":"%s","password":"%s"}' \
		"${HD_DEMO_ADMIN_EMAIL:-admin@acme.local}" "$HD_DEMO_ADMIN_PASSWORD")
	reply=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$BASE/v1/auth/login") ||
		die "login as the acme admin failed"
	TOKEN=$(json_field access_token <<<"$reply")
	(umask 077 && echo "$TOKEN" >"$WORK/token") # for HD_BENCH_KEEP=1 (removed otherwise)
	TENANT_ID=$(jwt_claim tid "$TOKEN")
	USER_ID=$(jwt_claim sub "$TOKEN")
	seed_tenant acme "$TENANT_ID" "$USER_ID" "$TICKETS" "$WORK/ids.c.txt"
	case " $SCENARIOS " in *" mix "*) mix_tenants ;; esac
	case " $SCENARIOS " in *" nearby "* | *" dispatch "*) seed_field ;; esac
	psql -X -q -d "postgresql://postgres@127.0.0.1:$HD_PG_PORT/helpdesk" -c CHECKPOINT
}

# Seeds $4 tickets for tenant $1 (id $2, requester $3) and writes their ids to $5.
seed_tenant() {
	local slug=$1 tid=$2 uid=$3 n=$4 ids=$5
	say "seeding $n tickets for $slug ($tid)"
	psql -X -q -v ON_ERROR_STOP=1 -v tid="$tid" -v uid="$uid" -v n="$n" \
		-d "postgresql://$SEED_ROLE@127.0.0.1:$HD_PG_PORT/helpdesk" -f "$SEED_SQL" >/dev/null
	tenant_sql "SELECT id FROM ticket.tickets WHERE tenant_id = '$tid' ORDER BY number" "$tid" | grep -E '^[0-9a-f-]{36}$' >"$ids"
	[ "$(wc -l <"$ids")" -ge "$n" ] || die "seeding $slug wrote $(wc -l <"$ids") ids"
}

# Seeds acme's technicians and work orders (seed_field.sql) and writes the
# work orders' ids, shuffled, to $WORK/wo.txt (lua/dispatch.lua).
seed_field() {
	local super="postgresql://postgres@127.0.0.1:$HD_PG_PORT/helpdesk"
	say "seeding $TECHS technicians and $WORK_ORDERS work orders for acme"
	psql -X -q -v ON_ERROR_STOP=1 -v tid="$TENANT_ID" -v techs="$TECHS" -v orders="$WORK_ORDERS" \
		-d "$super" -f "$HERE/seed_field.sql" >/dev/null
	psql -X -q -tA -d "$super" -c "SELECT id FROM field.work_orders WHERE tenant_id = '$TENANT_ID'
		AND status = 'unassigned' ORDER BY random()" | grep -E '^[0-9a-f-]{36}$' >"$WORK/wo.txt"
	export HD_WO_IDS_FILE=$WORK/wo.txt HD_WO_THREADS=$THREADS
}

# After the field scenarios: the double bookings one SQL query finds (must be
# 0), and the nearby query inside PostgreSQL, KNN against a haversine scan.
field_checks() {
	local super="postgresql://postgres@127.0.0.1:$HD_PG_PORT/helpdesk"
	DOUBLE_BOOKED=$(psql -X -q -tA -d "$super" -c "SELECT count(*) FROM field.work_orders a
		JOIN field.work_orders b ON a.tenant_id = b.tenant_id AND a.technician_id = b.technician_id
		AND a.id < b.id AND tstzrange(a.window_start, a.window_end) && tstzrange(b.window_start, b.window_end)
		WHERE a.status IN ('scheduled', 'en_route', 'on_site') AND b.status IN ('scheduled', 'en_route', 'on_site')")
	DISPATCHED=$(psql -X -q -tA -d "$super" -c "SELECT count(*) FROM field.work_orders
		WHERE tenant_id = '$TENANT_ID' AND status = 'scheduled'")
	BASELINE=$(PGOPTIONS="-c bench.n=200" psql -X -q -tA -F' ' -v tid="$TENANT_ID" -d "$super" \
		-f "$HERE/field_baseline.sql" | grep -E '^(knn|scan) ')
	say "field: $DISPATCHED work orders dispatched, $DOUBLE_BOOKED double bookings; in PostgreSQL (p50 p99 ms): $(echo $BASELINE)"
}

# The tenants of the mix: acme (its admin's token) and MIX_TENANTS - 1 more,
# made with POST /v1/tenants as the platform admin (docs/openapi.yaml), each
# seeded with TICKETS/4 tickets and used through its own admin's token.
# Writes $WORK/mix.txt ("<token> <ids file>" a line, for lua/mix.lua) and
# MIX_TIDS (every mix tenant's id, for the gapless check).
mix_tenants() {
	local body reply ptoken i slug pass token tid
	local n=$MIX_TICKETS
	(umask 077 && echo "$TOKEN $WORK/ids.c.txt" >"$WORK/mix.txt")
	MIX_TIDS=$TENANT_ID
	[ "$MIX_TENANTS" -gt 1 ] || return 0
	body=$(printf '{"tenant":"platform","email":"%s","password":"%s"}' \
		"${HD_PLATFORM_ADMIN_EMAIL:-admin@platform.local}" "$HD_PLATFORM_ADMIN_PASSWORD")
	reply=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$BASE/v1/auth/login") ||
		die "login as the platform admin failed"
	ptoken=$(json_field access_token <<<"$reply")
	for i in $(seq 2 "$MIX_TENANTS"); do
		slug=bench-mix-$i
		pass="mA-$(random_hex 12)"
		body=$(printf '{"name":"Bench mix %s","slug":"%s","admin_email":"admin@%s.local","admin_password":"%s"}' \
			"$i" "$slug" "$slug" "$pass")
		curl -fsS -o /dev/null -H "Authorization: Bearer $ptoken" -H 'Content-Type: application/json' \
			-d "$body" "$BASE/v1/tenants" || die "POST /v1/tenants ($slug) failed"
		body=$(printf '{"tenant":"%s","email":"admin@%s.local","password":"%s"}' "$slug" "$slug" "$pass")
		reply=$(curl -fsS -H 'Content-Type: application/json' -d "$body" "$BASE/v1/auth/login") ||
			die "login as the admin of $slug failed"
		token=$(json_field access_token <<<"$reply")
		tid=$(jwt_claim tid "$token")
		seed_tenant "$slug" "$tid" "$(jwt_claim sub "$token")" "$n" "$WORK/ids.mix-$i.txt"
		(umask 077 && echo "$token $WORK/ids.mix-$i.txt" >>"$WORK/mix.txt")
		MIX_TIDS+=" $tid"
	done
}

# Runs query $1 as the owner role inside tenant $2 (default acme). RLS binds the
# owner too, except on ticket.tickets, where its relay policy sees every tenant:
# queries of tickets name the tenant themselves.
tenant_sql() {
	psql -X -q -tA -F' ' -v ON_ERROR_STOP=1 -d "postgresql://hd_owner@127.0.0.1:$HD_PG_PORT/helpdesk" <<SQL
BEGIN;
SELECT set_config('app.tenant_id', '${2:-$TENANT_ID}', true) \\g /dev/null
$1;
COMMIT;
SQL
}

# "yes (N tickets, numbers 1..N, counter N)" when the numbers of tenant $1
# (default acme) have no gap.
stack_gapless() {
	local row n lo hi distinct last
	local tid=${1:-$TENANT_ID}
	row=$(tenant_sql "SELECT count(*), min(number), max(number), count(DISTINCT number),
		(SELECT last_number FROM ticket.counters WHERE tenant_id = '$tid')
		FROM ticket.tickets WHERE tenant_id = '$tid'" "$tid" | grep -E '^[0-9]')
	read -r n lo hi distinct last <<<"$row"
	if [ "$lo" = 1 ] && [ "$hi" = "$n" ] && [ "$distinct" = "$n" ] && [ "$last" = "$n" ]; then
		echo "yes ($n tickets, numbers 1..$hi, counter $last)"
	else
		echo "NO: count $n, numbers $lo..$hi, distinct $distinct, counter $last"
	fi
}

# Latency "1.23ms" / "850.00us" / "1.02s" in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000;
		else if (v ~ /m$/) n *= 60000; printf "%.2f", n }'
}

# Runs scenario $2 of implementation $1 against $3 with token $4 (ids: $HD_IDS_FILE).
run_scenario() {
	local impl=$1 s=$2 url=$3 token=$4 lua raw rps p50 p99 non2xx serr
	local -a auth=()
	lua=$HERE/lua/${SCRIPT[$s]}
	if [ "$THINK_MS" -gt 0 ]; then
		# (paced.lua: the first pause of each of a thread's connections is random)
		export HD_BENCH_PACED_SCRIPT=$lua HD_BENCH_THINK_MS=$THINK_MS HD_BENCH_CONNS=$CONNS \
			HD_BENCH_THREADS=$THREADS
		lua=$HERE/lua/paced.lua
	fi
	# healthz needs no token; mix sends each tenant's own (lua/mix.lua)
	[ "$s" = healthz ] || [ "$s" = mix ] || auth=(-H "Authorization: Bearer $token")
	if [ "$WARM" != 0 ]; then
		# lua/dispatch.lua: the warm-up dispatches the first half of the work orders
		HD_WO_HALF=1 wrk -t"$THREADS" -c"$CONNS" -d"$WARM" -s "$lua" "${auth[@]}" "$url" >/dev/null
	fi
	raw=$WORK/$impl.$s.txt
	HD_WO_HALF=2 wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency -s "$lua" "${auth[@]}" "$url" >"$raw"
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$raw")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$raw")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$raw")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$raw")
	serr=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$raw")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$s" "$rps" "$p50" "$p99" "${non2xx:-0}" "${serr:-0}" >>"$RESULTS"
	printf '%-7s %-26s %9s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s  socket errors %s\n' \
		"$impl" "${TITLE[$s]}" "$rps" "$p50" "$p99" "${non2xx:-0}" "${serr:-0}" >&2
	# lua/mix.lua's done(): the share of each kind of request, and the non-2xx by kind
	grep '^mix: ' "$raw" | sed 's/^/bench.sh: /' >&2 || true
}

# Peak RSS (VmHWM, KiB) of pid $2 recorded as process $1 of implementation $3.
record_rss() {
	local kib
	kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$2/status" 2>/dev/null) || return 0
	[ -n "$kib" ] && printf '%s\t%s\t%s\n' "$3" "$1" "$kib" >>"$RSS"
	return 0
}

bench_c() {
	local s name pid code
	stack_start
	stack_seed
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/v1/tickets/$(head -1 "$WORK/ids.c.txt")")
	[ "$code" = 200 ] || die "GET of a seeded ticket answers $code, not 200"
	export HD_IDS_FILE=$WORK/ids.c.txt HD_MIX_FILE=$WORK/mix.txt
	for s in $SCENARIOS; do run_scenario c "$s" "$BASE" "$TOKEN"; done
	for name in $("$LOCAL" daemons); do
		pid=$(cat "$HD_STATE_DIR/run/$name.pid" 2>/dev/null) && record_rss "hd-$name" "$pid" c
	done
	case " $SCENARIOS " in *" nearby "* | *" dispatch "*) field_checks ;; esac
	GAPLESS_C=$(stack_gapless)
	say "gapless numbers: $GAPLESS_C"
	if [ -n "${MIX_TIDS:-}" ]; then
		local tid g
		GAPLESS_MIX=yes
		for tid in $MIX_TIDS; do
			g=$(stack_gapless "$tid")
			[ "${g#yes}" != "$g" ] || GAPLESS_MIX="NO in $tid: $g"
		done
		say "gapless numbers in the $MIX_TENANTS tenants of the mix: $GAPLESS_MIX"
	fi
	[ "${HD_BENCH_KEEP:-0}" = 1 ] || { "$LOCAL" stop >/dev/null 2>&1 || true; }
}

# The Node peer: its own PostgreSQL (pg.sh, fsync on) on a free port, seed.sh,
# the cluster of 2 workers, a token minted with the same claims the peer checks.
bench_node() {
	local port pgport url token pid i s
	[ -n "$PEER_DIR" ] || die "HD_BENCH_PEER=$PEER needs HD_BENCH_PEER_DIR (the folder of the peer implementations)"
	[ -x "$PEER_DIR/pg.sh" ] || die "no peer at $PEER_DIR (HD_BENCH_PEER_DIR)"
	if [ ! -d "$NODE_DIR/node_modules" ]; then
		rm -rf "$NODE_DIR"
		cp -r "$PEER_DIR/node" "$NODE_DIR"
		(cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
	{ read -r pgport && read -r port; } < <("$STACK" free-port 2)
	PEER_PG_DIR=$WORK/peer-pg
	export HD_IDS_FILE=$WORK/ids.node.txt
	local -a penv=(HD_PG_DIR="$PEER_PG_DIR" HD_PG_PORT="$pgport")
	say "Node peer: PostgreSQL on :$pgport, server on :$port"
	env "${penv[@]}" "$PEER_DIR/pg.sh" start >"$WORK/peer-pg.log" 2>&1 ||
		{ cat "$WORK/peer-pg.log" >&2; die "peer pg.sh start failed"; }
	env "${penv[@]}" HD_SEED_TICKETS="$TICKETS" "$PEER_DIR/seed.sh" >&2
	url=$(env "${penv[@]}" "$PEER_DIR/pg.sh" url)
	(cd "$NODE_DIR" && NODE_ENV=production HD_DATABASE_URL=$url HD_NODE_PORT=$port \
		HD_JWT_SECRET=$HD_JWT_SECRET exec node server.js) >"$WORK/node.log" 2>&1 &
	pid=$!
	PEER_PIDS+=("$pid")
	token=$(HD_JWT_SECRET=$HD_JWT_SECRET python3 "$PEER_DIR/mint-token.py" --ttl 7200)
	for i in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
			"http://127.0.0.1:$port/v1/tickets?limit=1")" = 200 ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$WORK/node.log" >&2; die "the Node peer exited"; }
		[ "$i" = 100 ] && die "the Node peer is not answering on :$port"
		sleep 0.1
	done
	for s in $SCENARIOS; do
		[ "$s" = healthz ] && continue # the peer has no /healthz
		if [ "$s" = mix ]; then        # the peer has one tenant
			say "node: mix skipped (the Node peer has one tenant)"
			continue
		fi
		run_scenario node "$s" "http://127.0.0.1:$port" "$token"
	done
	record_rss "node (primary)" "$pid" node
	for i in $(pgrep -P "$pid"); do record_rss "node (worker $i)" "$i" node; done
	GAPLESS_NODE=$(env "${penv[@]}" "$PEER_DIR/pg.sh" psql -tA -F' ' -c \
		"SELECT count(*) = max(number) AND count(DISTINCT number) = count(*) AND
		        max(number) = (SELECT last_number FROM ticket_counters WHERE tenant_id = t.tenant_id)
		 FROM tickets t WHERE tenant_id = 'aaaaaaaa-0000-4000-8000-00000000000a' GROUP BY tenant_id" |
		sed 's/^t$/yes/; s/^f$/NO/')
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	env "${penv[@]}" "$PEER_DIR/pg.sh" destroy >/dev/null 2>&1 || true
	PEER_PG_DIR=
}

# The markdown of this run (stdout).
report() {
	local mem cpu
	mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr). wrk -t$THREADS -c$CONNS -d$DUR --latency$([ "$THINK_MS" = 0 ] || echo ", each connection pausing $THINK_MS ms between requests")"
	echo "after a ${WARM} warm-up, on the same machine as the servers and PostgreSQL 15 (fsync on, wal_compression lz4)."
	echo "Load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER (other work on the machine skews every figure)."
	echo "Seeded: $TICKETS tickets in tenant acme. Gapless numbers after the run: ${GAPLESS_C:-not checked}."
	if [ -n "${GAPLESS_MIX:-}" ]; then
		echo "Mix: $MIX_TENANTS tenants (acme and $((MIX_TENANTS - 1)) more with $MIX_TICKETS tickets each), gapless numbers in all: $GAPLESS_MIX."
		[ -n "$PEER" ] && echo "The Node peer has one tenant: mix not run against it."
	fi
	[ -n "$PEER" ] && echo "Node peer gapless: ${GAPLESS_NODE:-not checked}."
	if [ -n "${DOUBLE_BOOKED:-}" ]; then
		echo "Field: $TECHS technicians over 30 x 30 km and $WORK_ORDERS work orders in acme; after the run"
		echo "$DISPATCHED dispatched, double bookings found by one SQL query: $DOUBLE_BOOKED. The nearby query inside"
		echo "PostgreSQL, 200 random points (p50 / p99 ms): $(awk '{printf "%s %s / %s; ", $1, $2, $3}' <<<"$BASELINE")(knn: GiST"
		echo "index, scan: haversine over every technician of the tenant with the skill, no index)."
	fi
	echo
	echo "| impl | scenario | req/s | p50 ms | p99 ms | non-2xx | socket errors |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	awk -F'\t' -v g="${TITLE[get]}" -v l="${TITLE[list]}" -v h="${TITLE[healthz]}" -v c="${TITLE[create]}" \
		-v m="${TITLE[mix]}" -v n="${TITLE[nearby]}" -v d="${TITLE[dispatch]}" \
		'BEGIN { t["get"] = g; t["list"] = l; t["healthz"] = h; t["create"] = c; t["mix"] = m; t["nearby"] = n; t["dispatch"] = d }
		 { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, t[$2], $3, $4, $5, $6, $7 }' "$RESULTS"
	echo
	echo "Peak RSS (VmHWM) after the runs:"
	echo
	echo "| impl | process | peak RSS |"
	echo "|---|---|---:|"
	awk -F'\t' '{ printf "| %s | %s | %.1f MiB |\n", $1, $2, $3 / 1024 }' "$RSS"
	[ -n "$PEER" ] || return 0
	echo
	echo "C against the Node peer (same scripts, same machine, same session):"
	echo
	echo "| scenario | C req/s | Node req/s | ratio | target | C p99 ms | Node p99 ms |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v g="${TITLE[get]}" -v l="${TITLE[list]}" -v c="${TITLE[create]}" \
		'BEGIN { t["get"] = g; t["list"] = l; t["create"] = c; want["get"] = "1.3x"; want["list"] = "2x"; want["create"] = "4x" }
		 { r[$1, $2] = $3; p[$1, $2] = $5 }
		 END { n = split("get list create", s, " ")
		       for (i = 1; i <= n; i++) { k = s[i]; if (!((("c", k) in r) && (("node", k) in r))) continue
		         printf "| %s | %s | %s | %.2fx | %s | %s | %s |\n", t[k], r["c", k], r["node", k],
		                r["c", k] / r["node", k], want[k], p["c", k], p["node", k] } }' "$RESULTS"
}

# Replaces the part of $DOC between the markers ($1 and $2; default make
# bench's) with stdin (creates the file).
write_doc() {
	local begin=${1:-'<!-- bench:begin (tests/load/bench.sh writes below) -->'} end=${2:-'<!-- bench:end -->'}
	local new=$WORK/report.md
	cat >"$new"
	[ -s "$DOC" ] || printf '# Benchmarks\n\nWritten by make bench (tests/load/bench.sh).\n' >"$DOC"
	grep -qF "$begin" "$DOC" || printf '\n%s\n%s\n' "$begin" "$end" >>"$DOC"
	awk -v b="$begin" -v e="$end" -v f="$new" '
		$0 == b { print; print ""; while ((getline l < f) > 0) print l; print ""; skip = 1; next }
		$0 == e { skip = 0 }
		!skip' "$DOC" >"$WORK/doc.md"
	cp "$WORK/doc.md" "$DOC"
	say "results written to $DOC"
}

# tests/load/bench-scale.sh sources this file for its stack functions (and
# the cleanup on exit) and runs its own scenarios.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bench_c
[ "$PEER" = node ] && bench_node
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
[ -z "$PEER" ] || [ "$PEER" = node ] || die "unknown HD_BENCH_PEER $PEER (node)"
echo
report | tee "$WORK/report.out.md"
[ "$DOC" = - ] || write_doc '' '' <"$WORK/report.out.md"
