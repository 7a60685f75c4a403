#!/usr/bin/env bash
# `make eval-triage`: an evaluation of the auto-triage classifier, not a
# test (docs/benchmarks.md, "Auto-triage evaluation"). Generates a labelled
# corpus (tools/triage-corpus.py: synthetic, with overlapping vocabularies
# and label noise), starts a throwaway PostgreSQL, migrates auth, ticket and
# knowledge, and in one tenant
#   - trains the classifier on the training split with knowledge.triage_learn,
#     the function the consumer of hd-ticket's events calls for each decision;
#   - stores every ticket in ticket.tickets (training split solved, held-out
#     split new), for today's similar-solved-tickets method;
#   - for each held-out ticket, writes knowledge.triage_input of its text, the
#     similar tickets' prediction (ticket.ticket_suggestions) and the training
#     split's majority labels as one JSON line;
# then scores them with tests/load/eval_triage.c, which predicts with the
# classifier's own C (libs/src/triage.c), and prints Markdown tables.
# Env: HD_BIN_DIR (build/bin), HD_EVAL_N (4000 tickets), HD_EVAL_SEED (1),
#   HD_EVAL_NOISE (0.1), HD_EVAL_KEEP=1 keeps the temporary folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HD_BIN_DIR:-$root/build/bin}
stack=$root/deploy/stack.sh
dir=$(mktemp -d /tmp/hd-eval-triage.XXXXXX)
cleanup() {
	"$stack" db-stop "$dir" >/dev/null 2>&1 || true
	[ "${HD_EVAL_KEEP:-}" = 1 ] && echo "kept $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT

read -r pgport redisport <<<"$("$stack" free-port 2 | tr '\n' ' ')"
"$stack" db-start "$dir" "$pgport" "$redisport" test >/dev/null
export HD_DATABASE_ADMIN_URL="postgresql://hd_owner@127.0.0.1:$pgport/helpdesk"
export HD_DATABASE_URL="postgresql://hd_app@127.0.0.1:$pgport/helpdesk"
for d in auth ticket knowledge; do
	up=$(echo "$d" | tr a-z A-Z)
	env "HD_${up}_SQL_DIR=$root/services/$d/sql" HD_LOG_LEVEL=warn "$bin/hd-$d" --migrate
done

python3 "$root/tools/triage-corpus.py" --n "${HD_EVAL_N:-4000}" --seed "${HD_EVAL_SEED:-1}" \
	--noise "${HD_EVAL_NOISE:-0.1}" >"$dir/corpus.csv"
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$root/libs/include" $(pkg-config --cflags libcjson) \
	"$root/tests/load/eval_triage.c" "$root/libs/src/triage.c" \
	$(pkg-config --libs libcjson) -lm -o "$dir/eval_triage"

tenant=$(python3 -c 'import uuid; print(uuid.uuid4())')
psql -q -v ON_ERROR_STOP=1 -v tenant="$tenant" "$HD_DATABASE_ADMIN_URL" <<SQL
CREATE TABLE public.eval_corpus (n serial PRIMARY KEY, split text, subject text,
	description text, category text, priority text, id uuid DEFAULT gen_random_uuid());
\copy public.eval_corpus (split, subject, description, category, priority) FROM '$dir/corpus.csv' CSV HEADER
SELECT set_config('app.tenant_id', :'tenant', false) \g /dev/null
SELECT count(*) FROM (SELECT knowledge.triage_learn('category', c.id, c.category,
	c.subject || E'\n' || c.description, c.id), knowledge.triage_learn('priority', c.id,
	c.priority, c.subject || E'\n' || c.description, c.id)
	FROM public.eval_corpus c WHERE c.split = 'train' ORDER BY c.n) x \g /dev/null
INSERT INTO ticket.tickets (tenant_id, id, number, subject, description, status, priority,
	category, requester_id, solved_at)
SELECT :'tenant', c.id, c.n, c.subject, c.description,
	CASE c.split WHEN 'train' THEN 'solved' ELSE 'new' END, c.priority,
	CASE c.split WHEN 'train' THEN c.category END, gen_random_uuid(),
	CASE c.split WHEN 'train' THEN now() END
FROM public.eval_corpus c;
SQL
psql -At -v ON_ERROR_STOP=1 -v tenant="$tenant" "$HD_DATABASE_ADMIN_URL" >"$dir/rows.jsonl" <<SQL
SELECT set_config('app.tenant_id', :'tenant', false) \g /dev/null
WITH majority AS (
	SELECT (SELECT category FROM public.eval_corpus WHERE split = 'train'
	        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS category,
	       (SELECT priority FROM public.eval_corpus WHERE split = 'train'
	        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS priority)
SELECT json_build_object('category', c.category, 'priority', c.priority,
	'model', knowledge.triage_input(c.subject || E'\n' || c.description),
	'similar', ticket.ticket_suggestions(:'tenant', c.id) -> 'predicted',
	'majority', json_build_object('category', m.category, 'priority', m.priority))
FROM public.eval_corpus c, majority m WHERE c.split = 'test' ORDER BY c.n;
SQL
echo "Corpus: tools/triage-corpus.py --n ${HD_EVAL_N:-4000} --seed ${HD_EVAL_SEED:-1}" \
	"--noise ${HD_EVAL_NOISE:-0.1} (generated; 80 % training, 20 % held out)"
"$dir/eval_triage" <"$dir/rows.jsonl"
