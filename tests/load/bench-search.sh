#!/usr/bin/env bash
# `make bench-search`: knowledge search at scale, a benchmark, not a test
# (docs/benchmarks.md, "Knowledge search"). On a private stack (deploy/local.sh
# on free ports, fsync on) seeds HD_BENCH_ARTICLES (100,000) published English
# articles into the demo tenant straight into knowledge.articles as the owner
# role (tests/load/search_seed.sql: titles of 5 words and bodies of 80 drawn
# by a Zipf-like law from 60 helpdesk words and made-up ones, up to rank
# 20,000). Then wrk -c HD_BENCH_CONNS (64) with GET /v1/kb/search?q=…:
#   common-2  the two most common words ("printer network": thousands of
#             matches, every one ranked)
#   mid-2     two words of middling rank
#   rare-2    two words of rank in the thousands (a handful of matches)
#   typo      a misspelt title word that full text does not find: the
#             trigram fallback on titles answers
#   mix       all of the above and more pairs, at random
#   zipf      what a help center sees (docs/benchmarks.md, "Knowledge search
#             cache"): HD_BENCH_QUERIES (5,000) distinct queries, pairs of
#             words of random ranks and one in ten with a typo, drawn by a
#             Zipf law (query k with weight 1/k), so some repeat and most do
#             not, while an article changes every second (a helpful vote
#             through the API: a new knowledge generation, so every cached
#             reply of the tenant is left behind); prints the result cache's
#             hit ratio of the run from hd-knowledge's /metrics
# and prints requests/s, p50 and p99 of each. The single-query scenarios
# repeat one query with no writes, so with the result cache on (the default)
# they measure the cache after their first request: run them with
# HD_KNOWLEDGE_SEARCH_CACHE_TTL_S=0 to measure the database. Env: HD_BIN_DIR, HD_BENCH_ARTICLES,
# HD_BENCH_CONNS, HD_BENCH_DURATION (15s), HD_BENCH_KEEP=1 keeps the stack,
# HD_BENCH_ONLY="zipf mix" runs only those scenarios, HD_BENCH_QUERIES,
# HD_KNOWLEDGE_SEARCH_CACHE_TTL_S=0 measures without the cache.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/load
LOCAL=$ROOT/deploy/local.sh
N=${HD_BENCH_ARTICLES:-100000}
NQ=${HD_BENCH_QUERIES:-5000}
ONLY=${HD_BENCH_ONLY:-}
CONNS=${HD_BENCH_CONNS:-64}
DUR=${HD_BENCH_DURATION:-15s}
THREADS=2
export HD_BIN_DIR=${HD_BIN_DIR:-$ROOT/build/bin}

die() { echo "bench-search.sh: $*" >&2; exit 1; }
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "HD_BENCH_ARTICLES must be a positive integer"
[[ "$NQ" =~ ^[1-9][0-9]*$ ]] || die "HD_BENCH_QUERIES must be a positive integer"
[ -x "$HD_BIN_DIR/hd-knowledge" ] || die "$HD_BIN_DIR/hd-knowledge not found: build first (make)"
command -v wrk >/dev/null || die "wrk not found (deploy/stack.sh deps bench)"

WORK=$(mktemp -d /tmp/hd-bench-search.XXXXXX)
chmod 755 "$WORK" # initdb runs as postgres
export HD_STATE_DIR=$WORK/stack HD_LOG_LEVEL=warn HD_STACK_TLS=0 HD_RATE_LIMIT_PER_MIN=100000000
export HD_DEMO_ADMIN_PASSWORD="bench-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
while IFS='=' read -r name value; do export "$name=$value"; done < <("$LOCAL" port-env)
WRITER=
cleanup() {
	[ -z "$WRITER" ] || kill "$WRITER" 2>/dev/null || true
	if [ "${HD_BENCH_KEEP:-0}" = 1 ]; then
		echo "stack left running under $HD_STATE_DIR"
	else
		"$LOCAL" stop >/dev/null 2>&1 || true
		rm -rf "$WORK" 2>/dev/null || true
	fi
}
trap cleanup EXIT

"$LOCAL" start >"$WORK/start.log" 2>&1 || { cat "$WORK/start.log"; die "stack did not start"; }
BASE="http://127.0.0.1:$HD_HTTP_PORT"
LOGIN=$(curl -sf "$BASE/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"acme\",\"email\":\"admin@acme.local\",\"password\":\"$HD_DEMO_ADMIN_PASSWORD\"}")
TOKEN=$(jq -r .access_token <<<"$LOGIN")
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "could not sign in"
# the token's tenant and user (the JWT's payload, base64url)
claims=$(cut -d. -f2 <<<"$TOKEN" | tr '_-' '/+')
claims=$(base64 -d 2>/dev/null <<<"$claims$(printf '%*s' $(((4 - ${#claims} % 4) % 4)) '' | tr ' ' '=')" || true)
TENANT=$(jq -r .tid <<<"$claims")
USER_ID=$(jq -r .sub <<<"$claims")

OWNER="postgresql://hd_owner@127.0.0.1:$HD_PG_PORT/helpdesk"
echo "seeding $N articles..." >&2
T0=$(date +%s)
psql -qAt "$OWNER" -v ON_ERROR_STOP=1 -v tenant="$TENANT" -v author="$USER_ID" -v n="$N" \
	-f "$HERE/search_seed.sql" >/dev/null
echo "seeded in $(($(date +%s) - T0)) s" >&2

# the vocabulary's words by rank (search_seed.sql's knowledge.bench_word)
word() { psql -qAt "$OWNER" -c "SELECT knowledge.bench_word($1)"; }
COMMON="$(word 1)%20$(word 2)"
MID="$(word 40)%20$(word 55)"
RARE="$(word 3000)%20$(word 4200)"
TYPO=pritner
P="/v1/kb/search?limit=10&q="
{
	echo "common-2 $P$COMMON"
	echo "mid-2 $P$MID"
	echo "rare-2 $P$RARE"
	echo "typo $P$TYPO"
} >"$WORK/scenarios"
# the mix: those and 40 more pairs of random ranks
{
	awk '{print $2}' "$WORK/scenarios"
	for _ in $(seq 1 40); do
		echo "$P$(word $((RANDOM % 500 + 1)))%20$(word $((RANDOM % 20000 + 1)))"
	done
} | sed "s#^#$TOKEN #" >"$WORK/mix.paths"

to_ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[^m]s$/) n *= 1000;
		printf "%.1f", n }'
}
run() {
	local name=$1 raw=$WORK/$1.txt
	export HD_SCALE_PATHS=$2
	wrk -t"$THREADS" -c"$CONNS" -d5s -s "$HERE/lua/scale_list.lua" "$BASE" >/dev/null
	# --timeout: a slow answer counts in the latencies (wrk's 2 s default
	# left it out, as a socket timeout)
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --timeout 10s --latency -s "$HERE/lua/scale_list.lua" \
		"$BASE" >"$raw"
	printf '%-10s %8s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s\n' "$name" \
		"$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$raw")" \
		"$(to_ms "$(awk '$1 == "50%" {print $2}' "$raw")")" \
		"$(to_ms "$(awk '$1 == "99%" {print $2}' "$raw")")" \
		"$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$raw" | grep . || echo 0)"
}
match_count() {
	psql -qAt "$OWNER" -c "SELECT count(*) FROM knowledge.articles
		WHERE search @@ plainto_tsquery('english', '${1//%20/ }')"
}
for s in COMMON MID RARE; do
	curl -sf "$BASE$P${!s}" -H "Authorization: Bearer $TOKEN" >/dev/null || die "search $s failed"
done
echo "$(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N articles;" \
	"c$CONNS, $DUR each; matches: common-2 $(match_count "$COMMON")," \
	"mid-2 $(match_count "$MID"), rare-2 $(match_count "$RARE")"
# the zipf scenario's requests: 20,000 draws of query k (1..NQ) with
# weight 1/k; query k is a pair of words of random ranks (seeded by k), one
# in ten with two letters of its first word swapped (a typo)
zipf_paths() {
	psql -qAt "$OWNER" -v nq="$NQ" <<'SQL'
SELECT q FROM (
	SELECT k, CASE WHEN k % 10 = 0
		THEN overlay(w1 placing substr(w1, 3, 1) || substr(w1, 2, 1) from 2 for 2)
		ELSE w1 END || '%20' || w2 AS q
	FROM (SELECT k, knowledge.bench_word(1 + (hashint4(k) & 1023) % 500) AS w1,
		knowledge.bench_word(1 + (hashint4(-k) & 65535) % 20000) AS w2
	      FROM generate_series(1, :nq) k) p) qs
JOIN LATERAL (SELECT 1 FROM generate_series(1, greatest(1, round(20000.0 / k
	/ (ln(:nq) + 0.5772))::int))) r ON true
SQL
}
# one helpful vote a second on a random seeded article (votes alternate so
# the counters move both ways); every one is a new knowledge generation
writer() {
	local ids=() v=true
	mapfile -t ids < <(psql -qAt "$OWNER" -c "SELECT id FROM knowledge.articles
		WHERE tenant_id = '$TENANT' ORDER BY random() LIMIT 200")
	while :; do
		curl -s -o /dev/null "$BASE/v1/kb/articles/${ids[RANDOM % ${#ids[@]}]}/feedback" \
			-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
			-d "{\"helpful\":$v}" || true
		[ "$v" = true ] && v=false || v=true
		sleep 1
	done
}
cache_count() {
	curl -s "http://127.0.0.1:$HD_KNOWLEDGE_ADMIN_PORT/metrics" |
		awk -v r="$1" '$1 == "hd_knowledge_search_cache_total{result=\"" r "\"}" {print $2}' |
		grep . || echo 0
}
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
while read -r name path; do
	wanted "$name" || continue
	echo "$TOKEN $path" >"$WORK/one.paths"
	run "$name" "$WORK/one.paths"
done <"$WORK/scenarios"
if wanted mix; then run mix "$WORK/mix.paths"; fi
if wanted zipf; then
	zipf_paths | awk -v pre="$TOKEN $P" '{print pre $0}' >"$WORK/zipf.paths"
	writer &
	WRITER=$!
	h0=$(cache_count hit) m0=$(cache_count miss) b0=$(cache_count bypass)
	run zipf "$WORK/zipf.paths"
	kill "$WRITER" 2>/dev/null || true
	WRITER=
	h=$(($(cache_count hit) - h0)) m=$(($(cache_count miss) - m0)) b=$(($(cache_count bypass) - b0))
	echo "zipf: $(wc -l <"$WORK/zipf.paths") draws of $NQ queries, $(sort -u "$WORK/zipf.paths" |
		wc -l) distinct; result cache: $h hits, $m misses, $b bypass" \
		"(hit ratio $(awk -v h="$h" -v t="$((h + m + b))" 'BEGIN {printf "%.1f", t ? 100 * h / t : 0}') %," \
		"warm-up included)"
fi
