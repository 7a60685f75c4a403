#!/usr/bin/env bash
# The local stack: private PostgreSQL and Redis (deploy/stack.sh), schema
# migrations, the bootstrap tenants, then every daemon in the background with
# a pid file and a log under the state folder. `make run` and the test runner
# both use it; everything it touches lives under HD_STATE_DIR.
#
#   deploy/local.sh run                 start, print the URL and logins, stream logs; Ctrl-C stops all
#   deploy/local.sh start               start everything, return once every daemon is ready
#   deploy/local.sh stop                stop every daemon and the databases under the state folder
#   deploy/local.sh start-daemon NAME   start one daemon (bus, auth, gateway, ...) and wait until ready
#   deploy/local.sh stop-daemon NAME    SIGTERM, wait up to 10 s, then SIGKILL
#   deploy/local.sh kill-daemon NAME    SIGKILL at once (crash tests)
#   deploy/local.sh restart-postgres    restart the private PostgreSQL
#   deploy/local.sh status              which daemons run
#   deploy/local.sh daemons             print the daemon list (start order)
#   deploy/local.sh port-env            print NAME=value for every port setting, all free
#                                       and distinct (a private stack: tests, bench)
#
# Parameters (environment; defaults from libs/include/hd/config.def):
#   HD_STATE_DIR (var/), HD_BIN_DIR (build/bin), HD_DAEMONS (start order; default: the
#   lines of daemons.def), HD_PG_PORT, HD_REDIS_PORT, HD_HTTP_PORT,
#   HD_GATEWAY_ADMIN_PORT, HD_BUS_PUB_URL, HD_BUS_SUB_URL, HD_BUS_ADMIN_PORT, and for
#   each service daemon
#   HD_<NAME>_URL and HD_<NAME>_ADMIN_PORT (HD_AUTH_URL, HD_AUTH_ADMIN_PORT, ...),
#   HD_DB_MODE=test (PostgreSQL without fsync), HD_READY_TIMEOUT_S (30),
#   HD_HTTP_BIND and HD_ADMIN_BIND (127.0.0.1 here, unlike config.def's 0.0.0.0
#   for containers: the stack, its /metrics and admin ports stay on this machine;
#   the NNG URLs' defaults already name 127.0.0.1), HD_STACK_TLS (1: every NNG
#   link over tls+tcp:// with mutual TLS; 0: plain tcp://).
# Certificates: with HD_STACK_TLS=1 the first start creates an internal CA and
# one certificate per daemon (hd-NAME) under $HD_STATE_DIR/tls (openssl,
# deploy/stack.sh tls-certs); each daemon gets its own as HD_TLS_CERT_FILE and
# HD_TLS_KEY_FILE, and tcp:// addresses become tls+tcp:// (docs/operations.md,
# Certificates).
# Secrets: HD_JWT_SECRET and HD_MAIL_KEY are kept in $HD_STATE_DIR/jwt.secret
# and mail.key (0600) when not given; generated admin passwords are kept in
# $HD_STATE_DIR/credentials (0600) and printed to the terminal only, never to
# a log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG_DEF=$ROOT/libs/include/hd/config.def
STACK=$ROOT/deploy/stack.sh

die() { echo "local.sh: $*" >&2; exit 1; }
say() { echo "local.sh: $*" >&2; }

# Prints the value of setting $1: the environment, else its config.def default.
setting() {
	local name=$1
	if [ -n "${!name+x}" ]; then
		printf '%s' "${!name}"
		return
	fi
	sed -n "s/^HD_SETTING(\"$name\", \"\([^\"]*\)\".*/\1/p" "$CONFIG_DEF"
}

STATE=${HD_STATE_DIR:-$ROOT/var}
# The parameters `start` used, so that stop/start-daemon later reach the same
# stack whatever the caller's environment (the environment still wins).
PARAMS="HD_BIN_DIR HD_DAEMONS HD_DB_MODE HD_PG_PORT HD_REDIS_PORT HD_HTTP_PORT
HD_BUS_PUB_URL HD_BUS_SUB_URL HD_BUS_ADMIN_PORT HD_GATEWAY_ADMIN_PORT HD_HTTP_BIND HD_ADMIN_BIND
HD_STACK_TLS"
load_params() {
	local line name
	[ -s "$STATE/stack.env" ] || return 0
	while IFS= read -r line; do
		name=${line%%=*}
		[[ $name =~ ^HD_[A-Z0-9_]+$ ]] || continue
		[ -n "${!name+x}" ] || export "${line?}"
	done <"$STATE/stack.env"
}
save_params() {
	local name
	for name in $PARAMS $(service_params); do
		[ -n "${!name+x}" ] && printf '%s=%s\n' "$name" "${!name}"
	done >"$STATE/stack.env"
	return 0
}
# The daemons by default: daemons.def in its order, the bus first, the gateway
# last (it is ready only once every service is).
default_daemons() { "$ROOT/tools/daemons.sh" names; }
# HD_<NAME>_URL and HD_<NAME>_ADMIN_PORT of every service daemon in the list.
service_params() {
	local name
	for name in $DAEMONS; do
		case $name in bus | gateway) continue ;; esac
		echo "HD_${name^^}_URL HD_${name^^}_ADMIN_PORT"
	done
}
load_params
BIN=${HD_BIN_DIR:-$ROOT/build/bin}
[ -d "$BIN" ] && BIN=$(cd "$BIN" && pwd)
DAEMONS=${HD_DAEMONS:-$(default_daemons)}
export HD_BIN_DIR=$BIN HD_DAEMONS=$DAEMONS
READY_TIMEOUT=${HD_READY_TIMEOUT_S:-30}
TLS=$(setting HD_STACK_TLS)
export HD_STACK_TLS=$TLS
TLS_DIR=$STATE/tls
LOG=$STATE/log
RUN=$STATE/run
PG_PORT=$(setting HD_PG_PORT)
REDIS_PORT=$(setting HD_REDIS_PORT)

# The settings every daemon gets: one stack, one set of addresses.
export_settings() {
	local n
	export HD_PG_PORT=$PG_PORT HD_REDIS_PORT=$REDIS_PORT
	export HD_DATABASE_URL="postgresql://hd_app@127.0.0.1:$PG_PORT/helpdesk"
	export HD_DATABASE_ADMIN_URL="postgresql://hd_owner@127.0.0.1:$PG_PORT/helpdesk"
	export HD_RELAY_DATABASE_URL="postgresql://hd_relay@127.0.0.1:$PG_PORT/helpdesk"
	export HD_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	# loopback unless told otherwise (config.def's 0.0.0.0 suits containers)
	export HD_HTTP_BIND=${HD_HTTP_BIND:-127.0.0.1} HD_ADMIN_BIND=${HD_ADMIN_BIND:-127.0.0.1}
	# no load balancer in front: stop at once (docs/operations.md, Rollouts)
	export HD_SHUTDOWN_DRAIN_S=${HD_SHUTDOWN_DRAIN_S:-0}
	# the web console this worktree built (tools/web-build.sh, docs/web.md)
	export HD_WEB_ROOT=${HD_WEB_ROOT:-$ROOT/web/dist}
	# attachment bytes of the local storage backend (docs/operations.md,
	# Attachments and storage): with the stack's other state
	export HD_STORAGE_DIR=${HD_STORAGE_DIR:-$STATE/attachments}
	for n in HD_HTTP_PORT HD_GATEWAY_ADMIN_PORT HD_BUS_PUB_URL HD_BUS_SUB_URL HD_BUS_ADMIN_PORT \
		$(service_params); do
		export "$n=$(nng_scheme "$(setting "$n")")"
	done
	load_jwt_secret
	load_mail_key
	load_tls
	smtp_url
}

# Over TLS, tcp://ADDR becomes tls+tcp://ADDR (other values unchanged).
nng_scheme() {
	if [ "$TLS" = 1 ] && [[ $1 == tcp://* ]]; then echo "tls+$1"; else echo "$1"; fi
}

# The CA and every daemon's certificate under var/tls (created once); each
# daemon's own pair is given at its start (daemon_start).
load_tls() {
	[ "$TLS" = 1 ] || return 0
	# shellcheck disable=SC2086 # one argument per daemon name
	"$STACK" tls-certs "$TLS_DIR" $DAEMONS
	export HD_TLS_CA_FILE=$TLS_DIR/ca.pem
}

# Random hex of $1 bytes (no openssl needed).
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# HD_JWT_SECRET from the environment, else var/jwt.secret (created once, 0600).
load_jwt_secret() {
	[ -n "${HD_JWT_SECRET:-}" ] && { export HD_JWT_SECRET; return; }
	if [ ! -s "$STATE/jwt.secret" ]; then
		(umask 077 && random_hex 32 >"$STATE/jwt.secret")
	fi
	HD_JWT_SECRET=$(cat "$STATE/jwt.secret")
	export HD_JWT_SECRET
}

# HD_MAIL_KEY (mailbox passwords of mail in) from the environment, else
# var/mail.key (created once, 0600), like the JWT secret.
load_mail_key() {
	[ -n "${HD_MAIL_KEY:-}" ] && { export HD_MAIL_KEY; return; }
	if [ ! -s "$STATE/mail.key" ]; then
		(umask 077 && random_hex 32 >"$STATE/mail.key")
	fi
	HD_MAIL_KEY=$(cat "$STATE/mail.key")
	export HD_MAIL_KEY
}

# Admin passwords: the environment, else var/credentials, else generated now
# (first start only: later the admins exist already) and kept in
# var/credentials (0600) so that every `make run` can print them again.
load_credentials() {
	local first=$1 cred=$STATE/credentials generated=no n
	for n in HD_PLATFORM_ADMIN_PASSWORD HD_DEMO_ADMIN_PASSWORD; do
		[ -z "${!n:-}" ] && [ -s "$cred" ] && printf -v "$n" '%s' "$(sed -n "s/^$n=//p" "$cred")"
		if [ -z "${!n:-}" ] && [ "$first" = yes ]; then
			printf -v "$n" '%s' "$(random_hex 12)"
			generated=yes
		fi
		export "$n=${!n:-}"
	done
	HD_PLATFORM_ADMIN_EMAIL=$(setting HD_PLATFORM_ADMIN_EMAIL)
	HD_DEMO_ADMIN_EMAIL=$(setting HD_DEMO_ADMIN_EMAIL)
	export HD_PLATFORM_ADMIN_EMAIL HD_DEMO_ADMIN_EMAIL
	[ "$generated" = yes ] || return 0
	(umask 077 && printf 'HD_PLATFORM_ADMIN_PASSWORD=%s\nHD_DEMO_ADMIN_PASSWORD=%s\n' \
		"$HD_PLATFORM_ADMIN_PASSWORD" "$HD_DEMO_ADMIN_PASSWORD" >"$cred")
}

# Readiness probe of daemon $1: gateway /readyz on the HTTP port, the bus
# /healthz (it has no dependencies), every other daemon /readyz on its admin port.
ready_url() {
	local name=$1 port
	case $name in
	gateway) echo "http://127.0.0.1:$(setting HD_HTTP_PORT)/readyz" ;;
	bus) echo "http://127.0.0.1:$(setting HD_BUS_ADMIN_PORT)/healthz" ;;
	*)
		port=$(setting "HD_${name^^}_ADMIN_PORT")
		[ -n "$port" ] || die "no HD_${name^^}_ADMIN_PORT for daemon $name"
		echo "http://127.0.0.1:$port/readyz"
		;;
	esac
}

# Prints the pid of daemon $1 when it runs (checked against /proc, so a
# recycled pid is never taken for ours).
daemon_pid() {
	local f=$RUN/$1.pid pid
	[ -s "$f" ] || return 1
	pid=$(cat "$f" 2>/dev/null) || return 1 # a concurrent stop may remove it
	[ -r "/proc/$pid/cmdline" ] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "hd-$1" || return 1
	echo "$pid"
}

wait_ready() {
	local name=$1 url
	url=$(ready_url "$name")
	for _ in $(seq 1 $((READY_TIMEOUT * 10))); do
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		# the pid file's process (checked without /proc: it may not have exec'ed yet)
		if ! kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
			tail -20 "$LOG/$name.log" >&2 || true
			die "hd-$name exited during start-up (log: $LOG/$name.log)"
		fi
		sleep 0.1
	done
	tail -20 "$LOG/$name.log" >&2 || true
	die "hd-$name not ready after ${READY_TIMEOUT}s at $url (log: $LOG/$name.log)"
}

# Starts daemon $1 in its own session (Ctrl-C reaches only this script, which
# then stops the daemons in order), logs appended to var/log/NAME.log.
daemon_start() {
	local name=$1 bin=$BIN/hd-$1
	shift # the rest: the daemon's arguments (hd-analytics --rebuild)
	[ -x "$bin" ] || die "$bin not found: build first (make)"
	if daemon_pid "$name" >/dev/null; then
		say "hd-$name already running"
		return 0
	fi
	mkdir -p "$LOG" "$RUN"
	(
		cd "$ROOT"
		[ "$TLS" != 1 ] || export HD_TLS_CERT_FILE=$TLS_DIR/$name.pem HD_TLS_KEY_FILE=$TLS_DIR/$name.key
		exec setsid "$bin" "$@" >>"$LOG/$name.log" 2>&1 </dev/null
	) &
	echo $! >"$RUN/$name.pid"
	wait_ready "$name"
}

# start-daemon: a daemon started again is ready when the running gateway
# serves it again too (its /readyz checks every upstream; its dialer
# reconnects within a second), so that the next request through the gateway
# is not a 503 of the reconnect.
start_one() {
	daemon_start "$@"
	[ "$1" != gateway ] && [ "$1" != bus ] && daemon_pid gateway >/dev/null || return 0
	local url detail
	url=$(ready_url gateway)
	for _ in $(seq 1 100); do
		# 200, or a 503 that names other upstreams (a test may keep one down)
		detail=$(curl -sS --max-time 1 "$url" 2>/dev/null) || detail="not ready: $1"
		grep -q "not ready:.*\b$1\b" <<<"$detail" || return 0
		sleep 0.1
	done
	say "the gateway does not serve hd-$1 yet (10 s): $detail"
}

# Stops daemon $1: signal $2 (TERM), then KILL after 10 s.
daemon_stop() {
	local name=$1 sig=${2:-TERM} pid
	pid=$(daemon_pid "$name") || { rm -f "$RUN/$name.pid"; return 0; }
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "hd-$name did not stop within 10 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	fi
	rm -f "$RUN/$name.pid"
}

# Runs one-off commands of the daemons that have them: migrations for those
# with an sql/ folder, then the auth bootstrap (platform and demo tenants).
prepare_database() {
	local name
	for name in $DAEMONS; do
		[ -d "$ROOT/services/$name/sql" ] || continue
		(cd "$ROOT" && "$BIN/hd-$name" --migrate >>"$LOG/migrate.log" 2>&1) ||
			{ tail -20 "$LOG/migrate.log" >&2; die "hd-$name --migrate failed (log: $LOG/migrate.log)"; }
	done
	case " $DAEMONS " in
	*" auth "*)
		# stdout to the terminal: generated passwords must not reach a log file.
		(cd "$ROOT" && "$BIN/hd-auth" --bootstrap 2>>"$LOG/bootstrap.log") ||
			{ tail -20 "$LOG/bootstrap.log" >&2; die "hd-auth --bootstrap failed (log: $LOG/bootstrap.log)"; }
		;;
	esac
}

# A local SMTP server that records every mail hd-notification sends into
# $STATE/mail (a Maildir: one file per message, in new/), from Debian's
# python3-aiosmtpd, on HD_LOCAL_SMTP_PORT (2525); not when HD_SMTP_URL names
# a relay of your own (docs/operations.md, E-mail).
smtp_start() {
	[ -z "${HD_SMTP_URL:-}" ] || return 0
	command -v aiosmtpd >/dev/null || { say "aiosmtpd not found (python3-aiosmtpd): no e-mail"; return 0; }
	if ! { [ -s "$RUN/smtp.pid" ] && kill -0 "$(cat "$RUN/smtp.pid")" 2>/dev/null; }; then
		aiosmtpd -n -l "127.0.0.1:${HD_LOCAL_SMTP_PORT:-2525}" -c aiosmtpd.handlers.Mailbox \
			"$STATE/mail" >>"$LOG/smtp.log" 2>&1 &
		echo $! >"$RUN/smtp.pid"
	fi
	echo "${HD_LOCAL_SMTP_PORT:-2525}" >"$RUN/smtp.port"
	smtp_url
}
# HD_SMTP_URL of the local recorder, when it runs and no relay was given.
smtp_url() {
	[ -z "${HD_SMTP_URL:-}" ] && [ -s "$RUN/smtp.port" ] \
		&& export HD_SMTP_URL="smtp://127.0.0.1:$(cat "$RUN/smtp.port")"
	return 0
}
smtp_stop() {
	[ -s "$RUN/smtp.pid" ] && kill "$(cat "$RUN/smtp.pid")" 2>/dev/null
	rm -f "$RUN/smtp.pid" "$RUN/smtp.port"
}

cmd_start() {
	local first=no name
	mkdir -p "$STATE" "$LOG" "$RUN"
	chmod 700 "$RUN"
	[ -s "$STATE/pg/PG_VERSION" ] || first=yes
	"$STACK" db-start "$STATE" "$PG_PORT" "$REDIS_PORT" ${HD_DB_MODE:+"$HD_DB_MODE"}
	export_settings
	save_params
	load_credentials "$first"
	prepare_database
	smtp_start
	for name in $DAEMONS; do
		daemon_start "$name"
	done
}

# Stops everything under the state folder and says, in one line, what stopped.
cmd_stop() {
	local name rev="" tail_pid stopped=""
	# a `run` streaming logs in another terminal ends with the stack
	if [ -s "$STATE/run-tail.pid" ]; then
		tail_pid=$(cat "$STATE/run-tail.pid")
		rm -f "$STATE/run-tail.pid"
		kill "$tail_pid" 2>/dev/null || true
	fi
	for name in $DAEMONS; do rev="$name $rev"; done
	for name in $rev; do
		daemon_pid "$name" >/dev/null && stopped="$stopped, hd-$name"
		daemon_stop "$name" TERM
	done
	[ -s "$RUN/smtp.pid" ] && stopped="$stopped, SMTP recorder"
	smtp_stop
	[ -s "$STATE/pg/postmaster.pid" ] && stopped="$stopped, PostgreSQL"
	[ -s "$STATE/redis/redis.pid" ] && stopped="$stopped, Redis"
	"$STACK" db-stop "$STATE"
	if [ -n "$stopped" ]; then
		echo "Stopped ${stopped#, } (data kept in $STATE)."
	else
		echo "Nothing was running under $STATE."
	fi
}

print_banner() {
	local url
	url="http://127.0.0.1:$(setting HD_HTTP_PORT)"
	cat <<EOF

Helpdesk is running at $url   (logs: $LOG/, Ctrl-C stops everything)
Open $url in a browser and sign in with a login below (docs/web.md).

  platform admin: tenant platform, $HD_PLATFORM_ADMIN_EMAIL, password ${HD_PLATFORM_ADMIN_PASSWORD:-(printed at first start)}
  demo admin:     tenant acme,     $HD_DEMO_ADMIN_EMAIL, password ${HD_DEMO_ADMIN_PASSWORD:-(printed at first start)}

EOF
	[ -s "$STATE/credentials" ] && echo "  (generated passwords are kept in $STATE/credentials)"
	[ -s "$RUN/smtp.port" ] && echo "  mail sent to requesters is recorded in $STATE/mail/new/ (local SMTP recorder)"
	echo
}

cmd_run() {
	local tail_pid=""
	# shellcheck disable=SC2317
	on_signal() {
		trap - INT TERM EXIT
		[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
		echo
		cmd_stop
		exit 0
	}
	trap on_signal INT TERM
	trap 'cmd_stop' EXIT
	cmd_start
	print_banner
	tail -n 0 -F "$LOG"/*.log &
	tail_pid=$!
	echo "$tail_pid" >"$STATE/run-tail.pid"
	wait "$tail_pid" || true
}

cmd_status() {
	local name pid
	for name in $DAEMONS; do
		if pid=$(daemon_pid "$name"); then echo "hd-$name running (pid $pid)"; else echo "hd-$name stopped"; fi
	done
}

need_name() { [ -n "${1:-}" ] || die "usage: $0 ${2} NAME"; }

# Every port setting of the stack with a free, distinct port (NAME=value lines).
cmd_port_env() {
	# the SMTP recorder's too: a second stack on 2525 could not bind it, and
	# every mail of that stack failed and was retried (docs/benchmarks.md,
	# "At scale", third round)
	local names=(HD_PG_PORT HD_REDIS_PORT HD_HTTP_PORT HD_GATEWAY_ADMIN_PORT HD_BUS_ADMIN_PORT
		HD_BUS_PUB_URL HD_BUS_SUB_URL HD_LOCAL_SMTP_PORT)
	local name ports i=0
	for name in $DAEMONS; do
		case $name in bus | gateway) ;; *) names+=("HD_${name^^}_URL" "HD_${name^^}_ADMIN_PORT") ;; esac
	done
	mapfile -t ports < <("$STACK" free-port "${#names[@]}")
	for name in "${names[@]}"; do
		case $name in *_URL) echo "$name=$(nng_scheme "tcp://127.0.0.1:${ports[i]}")" ;; *) echo "$name=${ports[i]}" ;; esac
		i=$((i + 1))
	done
}

case "${1:-}" in
run) cmd_run ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
daemons) echo "$DAEMONS" ;;
port-env) cmd_port_env ;;
start-daemon) need_name "${2:-}" start-daemon; export_settings; load_credentials no; start_one "$2" "${@:3}" ;;
stop-daemon) need_name "${2:-}" stop-daemon; daemon_stop "$2" TERM ;;
kill-daemon) need_name "${2:-}" kill-daemon; daemon_stop "$2" KILL ;;
restart-postgres) "$STACK" pg-restart "$STATE" ;;
*) die "usage: $0 run|start|stop|status|start-daemon NAME|stop-daemon NAME|kill-daemon NAME|restart-postgres|daemons|port-env" ;;
esac
