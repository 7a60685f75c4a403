#!/bin/sh
# Entry point of the local PostgreSQL + PostGIS image
# (deploy/docker/datastores.Dockerfile): on an empty data directory, initdb
# with POSTGRES_PASSWORD for the superuser, then every
# /docker-entrypoint-initdb.d/*.sql through psql with only local
# connections open; then PostgreSQL listening on every address with
# scram-sha-256 passwords, with the options the command gives (after
# "postgres", as the official image takes them). Runs as postgres.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust \
		--auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	rm -f "$pwfile"
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	# the temporary server: no TCP, a socket of its own, so that no client
	# (nor a healthcheck) reaches it before the init scripts are done
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
	for f in /docker-entrypoint-initdb.d/*.sql; do
		[ -e "$f" ] || continue
		echo "postgres-entrypoint: running $f"
		psql -v ON_ERROR_STOP=1 -h /tmp -U postgres -d postgres -f "$f"
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
# the official image's contract: a command that starts with "postgres" runs
# the server with the rest as its options (deploy/compose.yaml sets some)
if [ "${1:-}" = postgres ]; then
	shift
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
