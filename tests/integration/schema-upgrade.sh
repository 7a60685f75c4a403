#!/usr/bin/env bash
# schema-upgrade.sh PREV_SRC BIN_DIR DAEMON...: for each daemon, a new
# database migrated by this tree's hd-DAEMON --migrate and one migrated first
# from the previous release's migrations (PREV_SRC/services/DAEMON/sql, the
# commit deploy/previous-release names) and then from this tree's must end
# with the same schema: the same functions (text, grants, settings,
# SECURITY DEFINER) and the same `pg_dump --schema-only` of the schema
# (docs/adding-a-daemon.md, repeatable files). Runs its own PostgreSQL on
# free ports (deploy/stack.sh). Prints "N passed, M failed" (tests/run.sh).
set -euo pipefail

prev=$1 bin=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
stack=$root/deploy/stack.sh
dir=$(mktemp -d /tmp/hd-schema-upgrade.XXXXXX)
cleanup() {
	"$stack" db-stop "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
pg=$("$stack" free-port)
redis=$("$stack" free-port)
while [ "$redis" = "$pg" ]; do redis=$("$stack" free-port); done
"$stack" db-start "$dir" "$pg" "$redis" test >/dev/null
super() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg" -U postgres "$@"; }

# migrate DATABASE DAEMON SQL_DIR
migrate() {
	local var
	var=HD_$(echo "$2" | tr '[:lower:]' '[:upper:]')_SQL_DIR
	env "$var=$3" HD_DATABASE_ADMIN_URL="postgresql://hd_owner@127.0.0.1:$pg/$1" \
		HD_MIGRATE_WAIT_S=0 HD_LOG_LEVEL=warn "$bin/hd-$2" --migrate
}

# describe DATABASE SCHEMA: its functions, then its schema-only dump
describe() {
	super -d "$1" -At -c "SELECT p.oid::regprocedure, CASE WHEN p.prokind = 'a' THEN 'aggregate'
		ELSE pg_get_functiondef(p.oid) END, p.proacl,
		p.proconfig, p.prosecdef FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = '$2' ORDER BY p.oid::regprocedure::text" || return 1
	pg_dump -h 127.0.0.1 -p "$pg" -U postgres --schema-only -n "$2" "$1" |
		grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict'
}

passed=0 failed=0
for d in "$@"; do
	old=$prev/services/$d/sql
	if [ ! -d "$old" ]; then
		echo "--- $d: no migrations in the previous release, nothing to compare"
		continue
	fi
	for db in fresh_$d upgraded_$d; do
		super -d postgres -c "CREATE DATABASE $db TEMPLATE helpdesk" -c "GRANT ALL ON DATABASE $db TO hd_owner"
	done
	schema=$d # each daemon's schema is named after it (services/*/main.c)
	if migrate "fresh_$d" "$d" "$root/services/$d/sql" && migrate "upgraded_$d" "$d" "$old" &&
		migrate "upgraded_$d" "$d" "$root/services/$d/sql" &&
		describe "fresh_$d" "$schema" >"$dir/$d.new" && describe "upgraded_$d" "$schema" >"$dir/$d.old" &&
		diff "$dir/$d.new" "$dir/$d.old" >"$dir/$d.diff"; then
		echo "--- $d: a new schema and one upgraded from the previous release are the same"
		passed=$((passed + 1))
	else
		echo "--- $d: FAILED: new and upgraded schemas differ (< new, > upgraded):"
		head -60 "$dir/$d.diff"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
