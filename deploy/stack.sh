#!/usr/bin/env bash
# The local stack's private PostgreSQL 15 and Redis 7, and the Debian
# packages the project needs. One place for these steps: `make run`, the
# test runner and CI all call this script.
#
#   deploy/stack.sh deps                       install missing packages (apt)
#   deploy/stack.sh free-port [N]              print N distinct free TCP ports on 127.0.0.1
#   deploy/stack.sh db-start DIR PGPORT REDISPORT [test]
#                                              init (once) and start both servers
#                                              under DIR; "test" turns fsync off
#   deploy/stack.sh db-stop DIR                stop both servers started under DIR
#   deploy/stack.sh pg-restart DIR             restart PostgreSQL under DIR (same options)
#   deploy/stack.sh tls-certs DIR NAME...      the internal CA (DIR/ca.pem, ca.key) and, for
#                                              each NAME, DIR/NAME.pem + NAME.key naming
#                                              hd-NAME (CN and DNS SAN); existing files kept
#                                              (docs/operations.md, Certificates)
#
# Roles: hd_owner owns the schemas (migrations), hd_app is what the daemons
# use (it owns nothing, so row-level security applies to it), hd_relay is the
# outbox relays' (the only role that may claim events to publish).
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
PACKAGES="build-essential pkg-config libevent-dev libnng-dev libpq-dev libhiredis-dev
libcjson-dev libjwt-dev libssl-dev libmbedtls-dev openssl libcmocka-dev libargon2-dev liboath-dev
libcurl4-openssl-dev zlib1g-dev libgmime-3.0-dev postgresql-15 postgresql-15-postgis-3 redis-server
curl jq clang wrk cppcheck clang-format python3-aiosmtpd dovecot-imapd"
TEST_PACKAGES="chromium podman runc debootstrap docker-compose netavark aardvark-dns iptables catatonit"

die() { echo "stack.sh: $*" >&2; exit 1; }

cmd_deps() {
	local missing=() p packages=$PACKAGES
	# tests: the browser the web console's end-to-end test drives (docs/web.md);
	# podman, docker-compose and debootstrap for the containers check
	# (tests/containers/run.sh)
	[ "${1:-}" = test ] && packages="$packages $TEST_PACKAGES"
	for p in $packages; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	# Node.js and npm (OpenAPI lint): any install will do, e.g. NodeSource's
	# nodejs that bundles npm; only when npm is absent take Debian's.
	command -v npm >/dev/null || missing+=(nodejs npm)
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "stack.sh: installing ${missing[*]}" >&2
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo=(sudo)
		else
			die "missing packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
		fi
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_free_port() {
	local n=${1:-1} p got=" " count=0
	for _ in $(seq 1 $((200 * n))); do
		p=$((20000 + RANDOM % 12000)) # below the kernel's ephemeral range (32768+)
		case $got in *" $p "*) continue ;; esac
		port_busy "$p" && continue
		got="$got$p "
		echo "$p"
		count=$((count + 1))
		[ "$count" -ge "$n" ] && return 0
	done
	die "no free port found"
}

# Runs a command as the PostgreSQL cluster owner.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd_db_start() {
	local dir=$1 pgport=$2 redisport=$3 mode=${4:-}
	[ -n "$dir" ] && [ -n "$pgport" ] && [ -n "$redisport" ] || die "usage: db-start DIR PGPORT REDISPORT [test]"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	local pgdata=$dir/pg
	if [ ! -s "$pgdata/PG_VERSION" ]; then
		mkdir -p "$pgdata"
		[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata"
		chmod 700 "$pgdata"
		as_pg "$PG_BIN/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	fi
	local opts="-k $pgdata -p $pgport -c listen_addresses=127.0.0.1 -c max_connections=200"
	# full-page images compressed (docs/operations.md, PostgreSQL settings)
	opts="$opts -c wal_compression=lz4"
	[ "$mode" = test ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if ! as_pg "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
		as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -w -t 30 -l "$pgdata/server.log" -o "$opts" start >/dev/null ||
			{ tail -20 "$pgdata/server.log" >&2; die "PostgreSQL did not start"; }
	fi
	local psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres)
	"${psql[@]}" -d postgres <<'SQL'
SELECT 'CREATE ROLE hd_owner LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hd_owner')\gexec
SELECT 'CREATE ROLE hd_app LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hd_app')\gexec
SELECT 'CREATE ROLE hd_relay LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hd_relay')\gexec
SELECT 'CREATE DATABASE helpdesk OWNER hd_owner' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'helpdesk')\gexec
SQL
	"${psql[@]}" -d helpdesk -c "GRANT CONNECT ON DATABASE helpdesk TO hd_app, hd_relay" \
		-c "CREATE EXTENSION IF NOT EXISTS postgis" -c "CREATE EXTENSION IF NOT EXISTS btree_gist" >/dev/null 2>&1 ||
		"${psql[@]}" -d helpdesk -c "GRANT CONNECT ON DATABASE helpdesk TO hd_app, hd_relay"
	mkdir -p "$dir/redis"
	if ! redis-cli -p "$redisport" ping >/dev/null 2>&1; then
		local persist=(--appendonly yes --appendfsync everysec)
		[ "$mode" = test ] && persist=(--save '' --appendonly no)
		redis-server --port "$redisport" --bind 127.0.0.1 "${persist[@]}" --daemonize yes \
			--dir "$dir/redis" --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log"
		local i
		for i in $(seq 1 200); do
			[ "$(redis-cli -p "$redisport" ping 2>/dev/null)" = PONG ] && break
			sleep 0.05
		done
		[ "$(redis-cli -p "$redisport" ping 2>/dev/null)" = PONG ] ||
			{ tail -5 "$dir/redis/redis.log" >&2 2>/dev/null; die "Redis did not start on port $redisport"; }
	fi
}

cmd_db_stop() {
	local dir=$1
	[ -d "$dir" ] || return 0
	if [ -s "$dir/pg/PG_VERSION" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ -s "$dir/redis/redis.pid" ]; then
		kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
		rm -f "$dir/redis/redis.pid"
	fi
}

cmd_pg_restart() {
	local dir=$1
	[ -s "$dir/pg/PG_VERSION" ] || die "no PostgreSQL under $dir"
	as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -m fast -w -t 30 -l "$dir/pg/server.log" restart >/dev/null ||
		{ tail -20 "$dir/pg/server.log" >&2; die "PostgreSQL did not restart"; }
}

# ECDSA P-256 keys, unencrypted, 0600; certificates for both TLS roles
# (every component listens or dials, some both).
new_key_csr() { # KEY CSR SUBJECT
	(umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1" -out "$2" -subj "$3" 2>/dev/null)
}
serial() { echo "0x$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"; }

cmd_tls_certs() {
	local dir=${1:?usage: tls-certs DIR NAME...} name ext
	shift
	command -v openssl >/dev/null || die "openssl not found: deploy/stack.sh deps"
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
		(umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 -set_serial "$(serial)" \
			-subj "/O=helpdesk/CN=helpdesk internal CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null) || die "cannot create the CA in $dir"
	fi
	ext=$(mktemp)
	for name in "$@"; do
		[ -s "$dir/$name.pem" ] && [ -s "$dir/$name.key" ] && continue
		printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:hd-$name" >"$ext"
		if ! new_key_csr "$dir/$name.key" "$dir/$name.csr" "/O=helpdesk/CN=hd-$name" ||
			! openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
				-set_serial "$(serial)" -days 825 -extfile "$ext" -out "$dir/$name.pem" 2>/dev/null; then
			rm -f "$ext"
			die "cannot create the certificate of hd-$name in $dir"
		fi
		rm -f "$dir/$name.csr"
	done
	rm -f "$ext"
}

case "${1:-}" in
deps) cmd_deps "${2:-}" ;;
tls-certs) shift; cmd_tls_certs "$@" ;;
free-port) cmd_free_port "${2:-1}" ;;
db-start) shift; cmd_db_start "$@" ;;
db-stop) shift; cmd_db_stop "$@" ;;
pg-restart) shift; cmd_pg_restart "$@" ;;
*) die "usage: $0 deps [test]|tls-certs DIR NAME...|free-port|db-start DIR PGPORT REDISPORT [test]|db-stop DIR|pg-restart DIR" ;;
esac
