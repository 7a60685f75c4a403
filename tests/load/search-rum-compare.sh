#!/usr/bin/env bash
# Knowledge search ranking: today's GIN + ts_rank_cd over every match against
# a RUM index's ordered scan bounded to k candidates then ranked with
# ts_rank_cd (docs/benchmarks.md, "Knowledge search", third round;
# docs/architecture.md, "GIN, not RUM"). A measurement, not a test.
#
# Needs a stack seeded by `HD_BENCH_KEEP=1 make bench-search` (its articles
# in one tenant), the Debian package postgresql-15-rum on the database host,
# and psql on that same host (the CPU of the backend is read from /proc).
#   HD_CMP_SUPER_URL  a superuser URL of the helpdesk database (required)
#   HD_CMP_RUNS       executions per query and method (50)
#   HD_CMP_K          candidates taken from the RUM scan (100)
# Creates the extension and a RUM index, prints, and drops the index again;
# the write cost is measured in transactions that are rolled back.
set -euo pipefail

URL=${HD_CMP_SUPER_URL:?HD_CMP_SUPER_URL: a superuser URL of the helpdesk database}
RUNS=${HD_CMP_RUNS:-50}
K=${HD_CMP_K:-100}
[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$K" =~ ^[1-9][0-9]*$ ]] || {
	echo "search-rum-compare.sh: HD_CMP_RUNS and HD_CMP_K must be positive integers" >&2
	exit 1
}
WORK=$(mktemp -d /tmp/hd-rum-compare.XXXXXX)
PSQL=(psql -X -qAt -v ON_ERROR_STOP=1 "$URL")
cleanup() {
	"${PSQL[@]}" -c "DROP INDEX IF EXISTS knowledge.articles_search_rum_cmp" >/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

TENANT=$("${PSQL[@]}" -c "SELECT tenant_id FROM knowledge.articles GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
[ -n "$TENANT" ] || { echo "search-rum-compare.sh: no articles (make bench-search first)" >&2; exit 1; }
word() { "${PSQL[@]}" -c "SELECT knowledge.bench_word($1)"; }

# The two plans of one query :'q' (the articles are English, so one
# configuration; the function's other parts are the same either way).
cat >"$WORK/gin.sql" <<SQL
SELECT b.id, ts_rank_cd(b.search, q, 1)
       * (1 + 0.1 * ln(1 + greatest(b.helpful - b.not_helpful, 0))) AS score
FROM knowledge.articles b, websearch_to_tsquery('english', :'q') q
WHERE b.search @@ q AND b.tenant_id = '$TENANT' AND b.status = 'published'
ORDER BY score DESC, b.id LIMIT 10;
SQL
cat >"$WORK/rum.sql" <<SQL
SELECT t.id, ts_rank_cd(b.search, q, 1)
       * (1 + 0.1 * ln(1 + greatest(b.helpful - b.not_helpful, 0))) AS score
FROM websearch_to_tsquery('english', :'q') q,
LATERAL (SELECT a.id FROM knowledge.articles a
         WHERE a.search @@ q AND a.tenant_id = '$TENANT' AND a.status = 'published'
         ORDER BY a.search <=> q LIMIT $K) t
JOIN knowledge.articles b ON b.tenant_id = '$TENANT' AND b.id = t.id
ORDER BY score DESC, t.id LIMIT 10;
SQL

# CPU ms of the backend per execution of plan $1 for query $2 (3 warm-up
# runs, then RUNS), and the shared buffers of one EXPLAIN (ANALYZE, BUFFERS).
measure() {
	local plan=$WORK/$1.sql q=$2 i
	{
		echo "SET enable_bitmapscan = $([ "$1" = rum ] && echo off || echo on);"
		echo "SELECT pg_backend_pid() AS pid \\gset"
		echo "\\setenv PID :pid"
		for i in 1 2 3; do cat "$plan"; done
		echo "\\! awk '{print \$14 + \$15}' /proc/\$PID/stat >$WORK/t0"
		for ((i = 0; i < RUNS; i++)); do cat "$plan"; done
		echo "\\! awk '{print \$14 + \$15}' /proc/\$PID/stat >$WORK/t1"
		echo "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"
		cat "$plan"
	} >"$WORK/run.sql"
	"${PSQL[@]}" -v q="$q" -f "$WORK/run.sql" >"$WORK/out"
	printf '%-5s %-22s %7s CPU ms/query  %s\n' "$1" "'$q'" \
		"$(awk -v n="$RUNS" -v hz="$(getconf CLK_TCK)" 'NR == FNR { a = $1; next }
			{ printf "%.2f", ($1 - a) * 1000 / hz / n }' "$WORK/t0" "$WORK/t1")" \
		"$(grep -m1 -o 'Buffers: shared hit=[0-9]*\( read=[0-9]*\)\?' "$WORK/out" | cut -d' ' -f2-)"
}

"${PSQL[@]}" -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS rum" >/dev/null
T0=$(date +%s)
"${PSQL[@]}" -c "CREATE INDEX articles_search_rum_cmp ON knowledge.articles
	USING rum (search rum_tsvector_ops)" >/dev/null
echo "$(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
	"$("${PSQL[@]}" -c "SELECT count(*) FROM knowledge.articles") articles; RUM index built in" \
	"$(($(date +%s) - T0)) s, $("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_relation_size('knowledge.articles_search_rum_cmp'))
		|| ' (GIN ' || pg_size_pretty(pg_relation_size('knowledge.articles_search')) || ')'")"
for q in "$(word 1)" "$(word 1) $(word 2)" "$(word 40) $(word 55)" "$(word 3000)" \
	"$(word 3000) $(word 4200)"; do
	measure gin "$q"
	measure rum "$q"
done

# The first ten of each: 40 random pairs (a common word and one of the 500
# first) and the 20 most common words alone.
"${PSQL[@]}" <<SQL
SET enable_bitmapscan = off;
CREATE TEMP TABLE qs AS
	SELECT knowledge.bench_word((random() * 59)::int + 1) || ' '
	       || knowledge.bench_word((random() * 499)::int + 1) AS q, 2 AS words
	FROM generate_series(1, 40)
	UNION ALL SELECT knowledge.bench_word(g), 1 FROM generate_series(1, 20) g;
CREATE TEMP TABLE tops AS
SELECT qs.q, qs.words,
	(SELECT array_agg(id ORDER BY score DESC, id) FROM (
		SELECT b.id, ts_rank_cd(b.search, t, 1)
		       * (1 + 0.1 * ln(1 + greatest(b.helpful - b.not_helpful, 0))) AS score
		FROM knowledge.articles b WHERE b.search @@ t AND b.tenant_id = '$TENANT'
		ORDER BY score DESC, b.id LIMIT 10) e) AS exact,
	(SELECT array_agg(id ORDER BY score DESC, id) FROM (
		SELECT c.id, ts_rank_cd(c.search, t, 1)
		       * (1 + 0.1 * ln(1 + greatest(c.helpful - c.not_helpful, 0))) AS score
		FROM (SELECT * FROM knowledge.articles a WHERE a.search @@ t AND a.tenant_id = '$TENANT'
		      ORDER BY a.search <=> t LIMIT $K) c
		ORDER BY score DESC, c.id LIMIT 10) r) AS bounded
FROM qs, LATERAL websearch_to_tsquery('english', qs.q) t;
SELECT format('first ten, %s-word queries: %s of %s the same; %s of the exact ten found on average',
	words, count(*) FILTER (WHERE exact = bounded), count(*),
	round(avg((SELECT count(*) FROM unnest(exact) e WHERE e = ANY (bounded))), 1))
FROM tops GROUP BY words ORDER BY words;
SQL

# Writes: 2,000 articles inserted with and without the RUM index, each in a
# transaction rolled back.
for with_rum in true false; do
	"${PSQL[@]}" <<SQL
CREATE TEMP TABLE src AS
	SELECT knowledge.bench_text(5) AS title, knowledge.bench_text(80) AS body
	FROM generate_series(1, 2000);
BEGIN;
$([ $with_rum = true ] || echo "DROP INDEX knowledge.articles_search_rum_cmp;")
SELECT pg_current_wal_insert_lsn() AS lsn, clock_timestamp() AS t0 \gset
INSERT INTO knowledge.articles (tenant_id, id, title, body, locale, status, author_id)
SELECT '$TENANT', gen_random_uuid(), title, body, 'en', 'published', gen_random_uuid() FROM src;
SELECT format('2,000 inserts %s the RUM index: %s ms, WAL %s',
	CASE WHEN $with_rum THEN 'with' ELSE 'without' END,
	round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000),
	pg_size_pretty(pg_current_wal_insert_lsn() - :'lsn'::pg_lsn));
ROLLBACK;
SQL
done
