#!/usr/bin/env bash
# `make bench-scale`: lists, filters and searches at scale (docs/benchmarks.md,
# "At scale"). A benchmark, not a test, and not part of make test. It:
# 1. starts a private stack like make bench (tests/load/bench.sh, whose stack
#    functions it sources: free ports, a temporary state folder, fsync on);
# 2. seeds acme with HD_SCALE_TICKETS (1,000,000) tickets and HD_SCALE_TENANTS
#    (10) more tenants with HD_SCALE_TENANT_TICKETS (100,000) each, with
#    tests/load/scale_seed.sql (Zipf words, skewed statuses, tags, requesters,
#    ten years), then VACUUM ANALYZE and a CHECKPOINT;
# 3. runs wrk -c64 on each scenario of the list mix against acme (every filter
#    of GET /v1/tickets alone and combined; common, rare and absent values; q
#    with 1-3 words; both sort orders; deep cursors), then "all": every
#    scenario of every tenant at random;
# 4. runs POST /v1/tickets (lua/create_ticket.lua) against acme and reads the
#    PostgreSQL CPU time it took per create, then checks gapless numbers;
# 5. writes the table to HD_SCALE_OUT (build/bench-scale.md) and to
#    docs/benchmarks.md between the "bench-scale:begin/end" markers.
# Env: HD_SCALE_TICKETS, HD_SCALE_TENANTS, HD_SCALE_TENANT_TICKETS, HD_SCALE_OUT,
#   HD_SCALE_ONLY (scenario names to run, space separated; default all),
#   HD_BENCH_DURATION (5s), HD_BENCH_WARMUP (1s), HD_BENCH_CONNS (64),
#   HD_BENCH_DOC ("-" = do not write it), HD_BENCH_KEEP=1 (leave the stack),
#   HD_SCALE_REUSE (the folder of a kept run: no new stack, no seeding).
set -euo pipefail

export HD_BENCH_DURATION=${HD_BENCH_DURATION:-5s} HD_BENCH_WARMUP=${HD_BENCH_WARMUP:-1s}
# shellcheck source=tests/load/bench.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench.sh"

TICKETS=${HD_SCALE_TICKETS:-1000000}
MIX_TENANTS=$((${HD_SCALE_TENANTS:-10} + 1))
MIX_TICKETS=${HD_SCALE_TENANT_TICKETS:-100000}
SEED_SQL=$HERE/scale_seed.sql
SEED_ROLE=postgres # scale_seed.sql turns triggers off for its transaction
SCENARIOS=mix # stack_seed: seed the other tenants too
OUT=${HD_SCALE_OUT:-$ROOT/build/bench-scale.md}
ONLY=${HD_SCALE_ONLY:-}
SCALE=$WORK/scale.tsv # scenario path rps p50 p99 max non2xx
: >"$SCALE"

# A requester's or assignee's id as scale_seed.sql makes it: md5("$1:$2:$3").
seed_uuid() {
	printf '%s' "$1:$2:$3" | md5sum | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/'
}

# Word $1 of scale_seed.sql's vocabulary when $1 > 40 (a pseudo-word).
seed_word() {
	local a=(ka lo mi ne ru ta vo zi be 'do' fu gi ha je pu so)
	local b=(ra le mo nu ti va ze bo di fa go hu ji ke po sa)
	local c=(ran lek mos nut tim vap zel bor dix fam gol hup jil kez pom sab)
	echo "${a[$1 % 16]}${a[$1 / 16 % 16]}${b[$1 / 256 % 16]}${c[$1 / 4096 % 16]}"
}

# The cursor after ticket number $2 of tenant $1 in the order of column $3.
deep_cursor() {
	tenant_sql "SELECT ticket.ts($3) || '|' || id FROM ticket.tickets
		WHERE tenant_id = '$1' AND number = $2" "$1" | grep '|' | tr -d '\n' |
		base64 -w0 | tr '+/' '-_' | tr -d '='
}

# The scenarios of tenant $1 with $2 tickets: "name path" lines. Values:
# common, rare and absent ones of scale_seed.sql's distributions.
scale_paths() {
	local tid=$1 n=$2 l='/v1/tickets?limit=25'
	local a1 r1 rrare none rare mid1 mid2 mid3 dc du
	a1=$(seed_uuid "$tid" a 1)
	r1=$(seed_uuid "$tid" r 1)
	rrare=$(seed_uuid "$tid" r 4999)
	none=$(seed_uuid "$tid" none 0)
	rare=$(seed_word 65000)
	mid1=$(seed_word 200) mid2=$(seed_word 211) mid3=$(seed_word 223)
	dc=$(deep_cursor "$tid" $((n / 2)) created_at)
	du=$(deep_cursor "$tid" $((n / 2)) updated_at)
	cat <<EOF
first-page $l
first-page-asc $l&sort=created_at
updated-desc $l&sort=-updated_at
updated-asc $l&sort=updated_at
number ${l}&number=$((n / 3))
status-common $l&status=closed
status-rare $l&status=on_hold
status-updated $l&status=new&sort=-updated_at
priority-rare $l&priority=urgent
priority-common-asc $l&priority=normal&sort=created_at
status+priority $l&status=open&priority=urgent
status+priority-absent $l&status=pending&priority=urgent
assignee $l&assignee_id=$a1
assignee-absent $l&assignee_id=$none
requester-common $l&requester_id=$r1
requester-rare $l&requester_id=$rrare
requester-absent $l&requester_id=$none
tag-common $l&tag=hardware
tag-rare $l&tag=tag-299
tag-absent $l&tag=nosuchtag
q-common $l&q=printer
q-rare $l&q=$rare
q-absent $l&q=zyxwvut
q-2-common $l&q=printer%20jammed
q-3-common $l&q=printer%20jammed%20toner
q-3-mid $l&q=$mid1%20$mid2%20$mid3
q-common+rare $l&q=printer%20$rare
q-common-asc $l&q=printer&sort=created_at
status+tag $l&status=open&tag=printer
status+q $l&status=closed&q=password
assignee+status $l&assignee_id=$a1&status=pending
requester+status $l&requester_id=$r1&status=open
tag+priority $l&tag=vip&priority=urgent
assignee+tag-rare $l&assignee_id=$a1&tag=tag-299
all-filters $l&status=solved&priority=high&tag=hardware&q=error
deep-created $l&cursor=$dc
deep-created-asc $l&sort=created_at&cursor=$dc
deep-updated $l&sort=-updated_at&cursor=$du
deep-status $l&status=closed&cursor=$dc
deep-tag $l&tag=hardware&cursor=$dc
deep-q $l&q=printer&cursor=$dc
deep-q-rare-asc $l&q=$rare&sort=created_at&cursor=$dc
EOF
}

# "<token> <path>" lines of every scenario of every tenant ($WORK/mix.txt
# names each tenant's token; its ids file tells the size).
all_paths() {
	local token ids tid
	while read -r token ids; do
		tid=$(jwt_claim tid "$token")
		scale_paths "$tid" "$(wc -l <"$ids")" | awk -v t="$token" '{ print t, $2 }'
	done <"$WORK/mix.txt"
}

# Runs wrk on the paths file $2 as scenario $1 ($3: the path shown).
scale_run() {
	local name=$1 paths=$2 shown=$3 raw=$WORK/scale.$1.txt lua=$HERE/lua/scale_list.lua
	export HD_SCALE_PATHS=$paths
	[ "$WARM" = 0 ] || wrk -t"$THREADS" -c"$CONNS" -d"$WARM" -s "$lua" "$BASE" >/dev/null
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency -s "$lua" "$BASE" >"$raw"
	scale_record "$name" "$shown" "$raw"
}

# Appends the figures of wrk's output $3 for scenario $1 (path $2) to $SCALE.
scale_record() {
	local rps p50 p99 max non2xx
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$3")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$3")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$3")")
	max=$(to_ms "$(awk '$1 == "Latency" {print $4; exit}' "$3")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$3")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$rps" "$p50" "$p99" "$max" "${non2xx:-0}" >>"$SCALE"
	printf '%-24s %8s req/s  p50 %8s ms  p99 %8s ms  max %8s ms  non-2xx %s\n' \
		"$1" "$rps" "$p50" "$p99" "$max" "${non2xx:-0}" >&2
}

wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# Every scenario alone against acme, then all of them over every tenant.
scale_lists() {
	local name path
	scale_paths "$TENANT_ID" "$TICKETS" >"$WORK/acme.paths"
	while read -r name path; do
		wanted "$name" || continue
		echo "$TOKEN $path" >"$WORK/one.paths"
		scale_run "$name" "$WORK/one.paths" "$path"
	done <"$WORK/acme.paths"
	if wanted all; then
		all_paths >"$WORK/all.paths"
		scale_run all "$WORK/all.paths" "every scenario above, in all $MIX_TENANTS tenants at random"
	fi
}

# CPU ticks (utime + stime) of every PostgreSQL process of the stack.
pg_ticks() {
	local pm pid sum=0
	pm=$(head -1 "$HD_STATE_DIR/pg/postmaster.pid")
	for pid in $(pgrep -P "$pm"); do
		sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

# POST /v1/tickets at scale: creates/s, and PostgreSQL CPU per create.
scale_creates() {
	local t0 t1 last0 last1 raw=$WORK/scale.create.txt hz
	wanted create || return 0
	hz=$(getconf CLK_TCK)
	last0=$(tenant_sql "SELECT last_number FROM ticket.counters WHERE tenant_id = '$TENANT_ID'" | grep -E '^[0-9]')
	t0=$(pg_ticks)
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency -s "$HERE/lua/create_ticket.lua" \
		-H "Authorization: Bearer $TOKEN" "$BASE" >"$raw"
	t1=$(pg_ticks)
	last1=$(tenant_sql "SELECT last_number FROM ticket.counters WHERE tenant_id = '$TENANT_ID'" | grep -E '^[0-9]')
	scale_record create "POST /v1/tickets" "$raw"
	CREATE_CPU=$(awk -v t=$((t1 - t0)) -v n=$((last1 - last0)) -v hz="$hz" \
		'BEGIN { if (n > 0) printf "%.0f µs of PostgreSQL CPU per create (%d creates)", t * 1e6 / hz / n, n }')
	say "creates: $CREATE_CPU"
	GAPLESS_C=$(stack_gapless)
	say "gapless numbers in acme: $GAPLESS_C"
}

scale_report() {
	local mem cpu
	mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC') (make bench-scale)"
	echo
	echo "Machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr). wrk -t$THREADS -c$CONNS -d$DUR --latency"
	echo "after a $WARM warm-up per scenario; servers, PostgreSQL 15 (fsync on) and wrk on the same machine."
	echo "Load average (1/5/15 min) before the runs: $LOAD_BEFORE, after: $LOAD_AFTER (other work on the machine skews every figure)."
	echo "Seeded: $TICKETS tickets in acme and $((MIX_TENANTS - 1)) tenants of $MIX_TICKETS ($SEED_TIME s to seed, VACUUM ANALYZE included)."
	echo "Creates: ${CREATE_CPU:-not run}. Gapless numbers after the creates: ${GAPLESS_C:-not checked}."
	echo
	echo "| scenario | request (acme, limit 25) | req/s | p50 ms | p99 ms | max ms | non-2xx |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ p = $2; gsub(/cursor=[A-Za-z0-9_-]+/, "cursor=…", p); gsub(/[0-9a-f]{8}-[0-9a-f-]{27}/, "<uuid>", p)
		printf "| %s | `%s` | %s | %s | %s | %s | %s |\n", $1, p, $3, $4, $5, $6, $7 }' "$SCALE"
	echo
	echo "Peak RSS (VmHWM) after the runs:"
	echo
	echo "| process | peak RSS |"
	echo "|---|---:|"
	awk -F'\t' '{ printf "| %s | %.1f MiB |\n", $2, $3 / 1024 }' "$RSS"
}

# HD_SCALE_REUSE=<the temporary folder of a run kept with HD_BENCH_KEEP=1>:
# runs the scenarios again on that stack and its seeded tickets (e.g. after
# restarting hd-ticket on other code: docs/benchmarks.md "At scale").
stack_reuse() {
	local kept=$1
	if [ ! -s "$kept/stack/stack.env" ] || [ ! -s "$kept/mix.txt" ]; then
		die "no kept bench-scale stack in $kept"
	fi
	export HD_STATE_DIR=$kept/stack
	local line
	while IFS= read -r line; do
		[[ ${line%%=*} =~ ^HD_[A-Z0-9_]+$ ]] && export "${line?}"
	done <"$HD_STATE_DIR/stack.env"
	BASE=http://127.0.0.1:$HD_HTTP_PORT
	TOKEN=$(cat "$kept/token")
	TENANT_ID=$(jwt_claim tid "$TOKEN")
	TICKETS=$(wc -l <"$kept/ids.c.txt")
	cp "$kept/mix.txt" "$WORK/mix.txt"
	SEED_TIME="0 (a kept stack)"
	# the stack is not this run's to stop: only its own folder goes
	trap 'rm -rf "$WORK"' EXIT
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "${HD_SCALE_REUSE:-}" ]; then
	stack_reuse "$HD_SCALE_REUSE"
else
	stack_start
	SEED_START=$(date +%s)
	stack_seed
	psql -X -q -d "postgresql://postgres@127.0.0.1:$HD_PG_PORT/helpdesk" -c 'VACUUM ANALYZE' -c CHECKPOINT
	SEED_TIME=$(($(date +%s) - SEED_START))
	say "seeded in $SEED_TIME s"
fi
scale_lists
scale_creates
for name in $("$LOCAL" daemons); do
	pid=$(cat "$HD_STATE_DIR/run/$name.pid" 2>/dev/null) && record_rss "hd-$name" "$pid" c
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$(dirname "$OUT")"
scale_report | tee "$OUT"
[ "$DOC" = - ] || write_doc '<!-- bench-scale:begin (tests/load/bench-scale.sh writes below) -->' \
	'<!-- bench-scale:end -->' <"$OUT"
