#!/usr/bin/env bash
# Everything `make test` and CI run, in order:
#   1. build (build/) and the web console (tools/web-build.sh), then the suite:
#      unit (and the console's Vitest tests), then integration beside end to
#      end (the cmocka programs, then tests/contract/auth.sh, a client written
#      from docs/openapi.yaml, then the console in chromium: tools/web-test.sh
#      e2e); HD_TEST_SERIAL=1 runs integration first, alone
#   2. build with SANITIZE=address,undefined (build-san/), the suite again
#   3. fuzz targets for FUZZ_SECONDS each (when clang is there)
#   4. make lint, the README's settings table, make openapi-lint
#   5. the deployment files' checks (tests/deploy/check.sh)
#   6. the containers check: every image built, the compose stack run
#      (tests/containers/run.sh; skipped where no engine can run a container)
# A suite run starts its own PostgreSQL and Redis on free ports under a temp
# folder for the integration tests, then a whole stack (deploy/local.sh) for
# the end-to-end tests; daemon logs with "Sanitizer" or "runtime error" fail
# the run. cmocka's summaries are counted, and the last line printed is
# "N passed, M failed" (a step that fails without a cmocka summary counts as
# one failure), after the steps' wall times, longest first (each program of
# unit, integration and e2e also prints its own: "-- test_x: N s"). Exit
# status 0 only when nothing failed and tests ran.
#
# Environment: HD_TEST_JOBS (make -j, default nproc), FUZZ_SECONDS (5, from
# the same seed corpora: docs/architecture.md, "Testing"),
# HD_TEST_STEP_TIMEOUT (seconds per step, 600),
# HD_TEST_KEEP=1 keeps the temp folder, HD_TEST_ONLY="normal|san" runs one build, HD_TEST_ONLY=deploy only step 5,
# HD_TEST_ONLY=e2e only the normal build's end-to-end step; HD_TEST_E2E="test_a test_b" runs only those
# programs (without the contract and browser checks),
# HD_TEST_ONLY=containers only step 6.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STACK=$ROOT/deploy/stack.sh
LOCAL=$ROOT/deploy/local.sh
JOBS=${HD_TEST_JOBS:-$(nproc)}
# A hung test must not eat CI's time: each step is killed after this long.
STEP_TIMEOUT=${HD_TEST_STEP_TIMEOUT:-600}
export FUZZ_SECONDS=${FUZZ_SECONDS:-5}
# Sanitizer reports must fail loudly, in test output and daemon logs alike.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# daemons the tests stop stop at once; tests of the drain set their own
# (docs/operations.md, Rollouts)
export HD_SHUTDOWN_DRAIN_S=${HD_SHUTDOWN_DRAIN_S:-0}

WORK=$(mktemp -d /tmp/hd-test.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/logs"
PASSED=0
FAILED=0
FAILURES=()
STACK_DIRS=()
DB_DIRS=()
T0=$SECONDS
SIDE_PID=

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

note() { printf '\n=== %s\n' "$*"; }

# Records a failed step: its cmocka count when it printed one, else 1.
fail_step() {
	local name=$1 count=${2:-0}
	FAILURES+=("$name")
	[ "$count" -gt 0 ] || FAILED=$((FAILED + 1))
}

# Adds the cmocka summaries found in log $1 to the totals, and sets
# STEP_PASSED / STEP_FAILED to this log's share.
count_log() {
	STEP_PASSED=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	STEP_FAILED=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	PASSED=$((PASSED + STEP_PASSED))
	FAILED=$((FAILED + STEP_FAILED))
}

# Runs step $1 = command..., output to the terminal and logs/$1.log.
# Returns the command's status.
step() {
	local name=$1 log=$WORK/logs/$1.log rc=0 t=$SECONDS
	shift
	note "$name: $*"
	timeout -k 10 "$STEP_TIMEOUT" "$@" 2>&1 | tee "$log" || rc=$?
	[ "$rc" -eq 124 ] && echo "--- $name: timed out after $STEP_TIMEOUT s (HD_TEST_STEP_TIMEOUT)"
	count_log "$log"
	echo "--- $name: exit $rc, $((SECONDS - t)) s, cmocka: $STEP_PASSED passed, $STEP_FAILED failed"
	# steps run in subshells too: their times go through a file
	echo "$((SECONDS - t)) $name" >>"$WORK/step-times"
	if [ "$rc" -ne 0 ] || [ "$STEP_FAILED" -gt 0 ]; then
		fail_step "$name" "$STEP_FAILED"
		return 1
	fi
}

# Fails step $1 when a daemon log under $2 shows a sanitizer report.
check_daemon_logs() {
	local name=$1 dir=$2 hits
	mapfile -t hits < <(grep -l -E 'Sanitizer|runtime error' "$dir"/log/*.log 2>/dev/null || true)
	[ ${#hits[@]} -eq 0 ] && return 0
	echo "--- $name: sanitizer reports in daemon logs:"
	grep -H -n -E -A20 'Sanitizer|runtime error' "${hits[@]}" | head -120
	fail_step "$name-daemon-logs"
}

show_daemon_logs() {
	local f
	for f in "$1"/log/*.log; do
		[ -s "$f" ] || continue
		echo "--- last lines of $f"
		tail -n 30 "$f"
	done
}

# Names the failed cmocka tests and their messages, so that the last lines
# of a run (all a CI summary may keep) say what failed, not only the step.
show_failed_tests() {
	local hits
	hits=$(grep -H -E '^(\[ +(FAILED|ERROR|LINE) +\] |FAIL )|tests failed:|==[0-9]+==ERROR: |runtime error' \
		"$WORK"/logs/*.log 2>/dev/null |
		grep -v -E '\] [0-9]+ test\(s\)' | sed "s#^$WORK/logs/##" | tail -n 40) || true
	[ -n "$hits" ] || return 0
	echo
	echo "failed tests (log: line):"
	echo "$hits"
}

# Where the time went: every step's wall time, longest first.
show_step_times() {
	[ -s "$WORK/step-times" ] || return 0
	echo
	echo "step times (s), longest first:"
	sort -rn "$WORK/step-times" | awk '{printf "  %5d  %s\n", $1, $2}'
}

cleanup() {
	local rc=$? d
	set +e
	# an integration suite still running beside (interrupted run)
	[ -n "${SIDE_PID:-}" ] && kill "$SIDE_PID" 2>/dev/null && wait "$SIDE_PID" 2>/dev/null
	for d in "${STACK_DIRS[@]}"; do HD_STATE_DIR=$d "$LOCAL" stop >/dev/null 2>&1; done
	for d in "${DB_DIRS[@]}"; do "$STACK" db-stop "$d" >/dev/null 2>&1; done
	show_step_times
	show_failed_tests
	if [ "${HD_TEST_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	[ "$rc" -ne 0 ] && [ ${#FAILURES[@]} -eq 0 ] && FAILURES+=("run.sh (exit $rc)") && FAILED=$((FAILED + 1))
	echo
	echo "total time: $((SECONDS - T0)) s"
	[ ${#FAILURES[@]} -gt 0 ] && echo "failed steps: ${FAILURES[*]}"
	[ "$PASSED" -eq 0 ] && [ "$FAILED" -eq 0 ] && echo "no tests ran"
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -gt 0 ] || [ "$PASSED" -eq 0 ]; then exit 1; fi
	exit 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs make target run in tests/$1 when that folder has a Makefile.
run_tests() {
	local kind=$1 tag=$2 build=$3 san=$4
	if [ ! -f "tests/$kind/Makefile" ]; then
		echo "--- tests/$kind has no Makefile yet: skipped"
		return 0
	fi
	# -j: the test programs compile side by side; they still run one by one
	step "$kind-$tag" make -C "tests/$kind" -j"$JOBS" run BUILD="$build" SANITIZE="$san" \
		${HD_TEST_E2E:+ONLY="$HD_TEST_E2E"} || true
}

# Integration tests: PostgreSQL and Redis of their own.
suite_integration() {
	local tag=$1 build=$2 san=$3 dir=$WORK/$1/db pg redis
	{ read -r pg && read -r redis; } < <("$STACK" free-port 2)
	DB_DIRS+=("$dir")
	"$STACK" db-start "$dir" "$pg" "$redis" test || { fail_step "db-start-$tag"; return 0; }
	(
		export HD_TEST_DATABASE_URL="postgresql://hd_app@127.0.0.1:$pg/helpdesk"
		export HD_TEST_DATABASE_ADMIN_URL="postgresql://hd_owner@127.0.0.1:$pg/helpdesk"
		export HD_TEST_DATABASE_SUPER_URL="postgresql://postgres@127.0.0.1:$pg/helpdesk"
		# the outbox relay of every daemon the tests start (its own role)
		export HD_RELAY_DATABASE_URL="postgresql://hd_relay@127.0.0.1:$pg/helpdesk"
		export HD_TEST_REDIS_URL="redis://127.0.0.1:$redis/0"
		export HD_TEST_BIN_DIR=$build/bin HD_TEST_ROOT=$ROOT
		run_tests integration "$tag" "$build" "$san"
		# the subshell's totals go back through a file
		echo "$PASSED $FAILED ${FAILURES[*]}" >"$WORK/$tag/integration.counts"
	)
	read_counts "$WORK/$tag/integration.counts"
	"$STACK" db-stop "$dir"
}

# Takes over the totals a subshell wrote ("passed failed failures...").
read_counts() {
	local p f rest
	[ -s "$1" ] || { fail_step "$(basename "$1" .counts)-runner-error"; return 0; }
	read -r p f rest <"$1"
	PASSED=$p
	FAILED=$f
	# shellcheck disable=SC2206
	FAILURES=($rest)
}

# End-to-end tests: the whole stack on free ports, driven over HTTP.
suite_e2e() {
	local tag=$1 build=$2 san=$3 dir=$WORK/$1/stack
	STACK_DIRS+=("$dir")
	(
		export HD_STATE_DIR=$dir HD_BIN_DIR=$build/bin HD_DB_MODE=test
		# every NNG link over tls+tcp:// as make run has them
		# (docs/architecture.md, "Trust between the components");
		# HD_TEST_STACK_TLS=0 runs the stack plain, and test_tls then skips
		export HD_STACK_TLS=${HD_TEST_STACK_TLS:-1}
		# the e2e programs make hundreds of calls and logins from one address
		export HD_RATE_LIMIT_PER_MIN=${HD_RATE_LIMIT_PER_MIN:-100000}
		export HD_LOGIN_IP_LIMIT=${HD_LOGIN_IP_LIMIT:-10000}
		# short deadlines and a low connection cap, so test_hostile's clients
		# meet them in seconds
		export HD_HTTP_WRITE_TIMEOUT_MS=${HD_HTTP_WRITE_TIMEOUT_MS:-2000}
		export HD_HTTP_REQUEST_TIMEOUT_MS=${HD_HTTP_REQUEST_TIMEOUT_MS:-3000}
		export HD_HTTP_MAX_CONNS=${HD_HTTP_MAX_CONNS:-1500}
		# per client address: test_hostile opens more from 127.0.0.2; no
		# other e2e test holds this many at once from one address
		export HD_HTTP_MAX_CONNS_PER_ADDR=${HD_HTTP_MAX_CONNS_PER_ADDR:-64}
		export HD_HTTP_LOOP_BUFFER_BYTES=${HD_HTTP_LOOP_BUFFER_BYTES:-33554432}
		# test_notification's webhook receivers listen on 127.0.0.2, the one
		# internal address its deliveries may reach (127.0.0.1 stays refused);
		# retries of a few hundred ms and a short run of failures
		export HD_WEBHOOK_ALLOW_CIDRS=${HD_WEBHOOK_ALLOW_CIDRS:-127.0.0.2/32}
		export HD_WEBHOOK_RETRY_BASE_MS=${HD_WEBHOOK_RETRY_BASE_MS:-200}
		export HD_WEBHOOK_RETRY_MAX_MS=${HD_WEBHOOK_RETRY_MAX_MS:-1000}
		export HD_WEBHOOK_MAX_FAILURES=${HD_WEBHOOK_MAX_FAILURES:-5}
		# test_stream: heartbeats in half a second, a slow client reset soon
		export HD_SSE_HEARTBEAT_MS=${HD_SSE_HEARTBEAT_MS:-500}
		export HD_SSE_BUFFER_BYTES=${HD_SSE_BUFFER_BYTES:-16384}
		# and stream tickets that expire within the test's patience
		export HD_SSE_TICKET_TTL_S=${HD_SSE_TICKET_TTL_S:-3}
		# test_attachments: uploads above HD_MAX_BODY_BYTES (1 MiB) and below
		# 2 MiB pass, larger are 413; unclaimed uploads go after 8 s
		export HD_MAX_UPLOAD_BYTES=${HD_MAX_UPLOAD_BYTES:-2097152}
		export HD_ATTACHMENT_TTL_S=${HD_ATTACHMENT_TTL_S:-8}
		local name value
		while IFS='=' read -r name value; do export "$name=$value"; done < <("$LOCAL" port-env)
		HD_PLATFORM_ADMIN_PASSWORD="pA-$(random_hex 12)"
		HD_DEMO_ADMIN_PASSWORD="dA-$(random_hex 12)"
		HD_JWT_SECRET=$(random_hex 32)
		export HD_PLATFORM_ADMIN_PASSWORD HD_DEMO_ADMIN_PASSWORD HD_JWT_SECRET
		# a real SMTP server recording what hd-notification mails into a
		# Maildir (Debian's python3-aiosmtpd; test_notification, test_invitations
		# read it), requiring STARTTLS with a certificate of a test CA that
		# hd-notification trusts (HD_SMTP_CA_FILE); test_smtp_relay stops and
		# restarts it (tests/lib/smtpd.sh)
		local smtp_port
		smtp_port=$("$STACK" free-port 1)
		export HD_TEST_MAILDIR=$dir-mail HD_SMTP_URL="smtp://127.0.0.1:$smtp_port"
		export HD_TEST_SMTPD=$ROOT/tests/lib/smtpd.sh HD_TEST_SMTP_DIR=$dir-smtp HD_TEST_SMTP_PORT=$smtp_port
		export HD_SMTP_CA_FILE=$HD_TEST_SMTP_DIR/ca.pem
		step "smtpd-$tag" tests/lib/smtpd.sh start "$HD_TEST_SMTP_DIR" "$smtp_port" "$HD_TEST_MAILDIR" || true
		# a real IMAP server (Debian's dovecot-imapd) with one mailbox that
		# test_mail_in fills; mailbox passwords are sealed with HD_MAIL_KEY
		local imap_port
		imap_port=$("$STACK" free-port 1)
		export HD_MAIL_KEY=${HD_MAIL_KEY:-$(random_hex 32)}
		# a killed poller's mailbox is taken over in seconds (test_mail_in);
		# the test IMAP server is on 127.0.0.1, the one internal address
		# mailboxes may reach here
		export HD_MAIL_LEASE_MS=${HD_MAIL_LEASE_MS:-3000}
		export HD_MAIL_ALLOW_CIDRS=${HD_MAIL_ALLOW_CIDRS:-127.0.0.1/32}
		export HD_TEST_IMAP_DIR=$dir-imap HD_TEST_IMAP_PORT=$imap_port
		export HD_TEST_IMAP_USER=support@mail.test HD_TEST_IMAP_PASSWORD="imap-$(random_hex 8)"
		step "imapd-$tag" tests/lib/imapd.sh start "$HD_TEST_IMAP_DIR" "$imap_port" \
			"$HD_TEST_IMAP_USER" || true
		if step "stack-start-$tag" "$LOCAL" start; then
			export HD_TEST_BASE_URL="http://127.0.0.1:$HD_HTTP_PORT"
			export HD_TEST_DEMO_TENANT=acme
			export HD_TEST_DEMO_EMAIL=${HD_DEMO_ADMIN_EMAIL:-admin@acme.local}
			export HD_TEST_DEMO_PASSWORD=$HD_DEMO_ADMIN_PASSWORD
			export HD_TEST_PLATFORM_EMAIL=${HD_PLATFORM_ADMIN_EMAIL:-admin@platform.local}
			export HD_TEST_PLATFORM_PASSWORD=$HD_PLATFORM_ADMIN_PASSWORD
			export HD_TEST_STACK_CTL=$ROOT/tests/lib/stackctl.sh HD_TEST_STACK_DIR=$dir
			export HD_TEST_DATABASE_URL="postgresql://hd_app@127.0.0.1:$HD_PG_PORT/helpdesk"
			# the outbox relay of the daemons tests start themselves (replicas)
			export HD_RELAY_DATABASE_URL="postgresql://hd_relay@127.0.0.1:$HD_PG_PORT/helpdesk"
			export HD_TEST_DATABASE_ADMIN_URL="postgresql://hd_owner@127.0.0.1:$HD_PG_PORT/helpdesk"
			export HD_TEST_DATABASE_SUPER_URL="postgresql://postgres@127.0.0.1:$HD_PG_PORT/helpdesk"
			export HD_TEST_REDIS_URL="redis://127.0.0.1:$HD_REDIS_PORT/0"
			export HD_TEST_BIN_DIR=$build/bin HD_TEST_ROOT=$ROOT
			# the stack's NNG links are tls+tcp:// (local.sh, HD_STACK_TLS):
			# test programs and the extra gateways they start dial the
			# daemons with the gateway's certificate
			if [ "$HD_STACK_TLS" = 1 ]; then
				export HD_TLS_CA_FILE=$dir/tls/ca.pem
				export HD_TLS_CERT_FILE=$dir/tls/gateway.pem HD_TLS_KEY_FILE=$dir/tls/gateway.key
			fi
			run_tests e2e "$tag" "$build" "$san"
			if [ -z "${HD_TEST_E2E:-}" ]; then
				counted_step "contract-$tag" bash tests/contract/auth.sh
				# the browser flows once: the sanitizer build serves the same files
				[ "$tag" = normal ] && counted_step "web-e2e" tools/web-test.sh e2e
			fi
		fi
		"$LOCAL" stop || fail_step "stack-stop-$tag"
		tests/lib/smtpd.sh stop "$HD_TEST_SMTP_DIR"
		tests/lib/imapd.sh stop "$HD_TEST_IMAP_DIR"
		check_daemon_logs "e2e-$tag" "$dir"
		[ ${#FAILURES[@]} -eq 0 ] || show_daemon_logs "$dir"
		echo "$PASSED $FAILED ${FAILURES[*]}" >"$WORK/$tag/e2e.counts"
	)
	read_counts "$WORK/$tag/e2e.counts"
}

# Runs step $1 = command... that prints PASS/FAIL lines and "N passed, M
# failed" (not cmocka); those counts join the totals (step() already counted
# one failure when it exits non-zero).
counted_step() {
	local name=$1 p f rc=0
	step "$@" || rc=1
	read -r p f < <(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' \
		"$WORK/logs/$name.log" | tail -1)
	PASSED=$((PASSED + ${p:-0}))
	[ "$rc" -ne 0 ] && [ "${f:-0}" -gt 1 ] && FAILED=$((FAILED + f - 1))
	return 0
}

# The deployment files (chart, compose, Dockerfile): tests/deploy/check.sh.
deploy_check() {
	counted_step deploy-check bash tests/deploy/check.sh
}

# Every image built and the compose stack run (tests/containers/run.sh);
# its own step timeout: a first build on a new machine makes the Debian base
# and compiles every daemon in a container.
containers_check() {
	STEP_TIMEOUT=${HD_TEST_CONTAINERS_TIMEOUT:-1200} counted_step containers bash tests/containers/run.sh
}

# The previous release's gateway and hd-ticket (the commit
# deploy/previous-release names), built from git into the temp folder for
# tests/e2e/test_skew.c (HD_TEST_PREV_BIN_DIR); -O0, as only behaviour counts;
# and tests/integration/schema-upgrade.sh on its migrations.
# A clone without that commit (shallow) leaves it unset and the test skips.
build_previous() {
	local ref dir=$WORK/prev
	ref=$(grep -v '^#' deploy/previous-release | head -1)
	if ! git -C "$ROOT" cat-file -e "$ref^{commit}" 2>/dev/null; then
		echo "--- the previous release $ref is not in this clone: test_skew skips"
		return 0
	fi
	mkdir -p "$dir/src"
	git -C "$ROOT" archive "$ref" | tar -x -C "$dir/src"
	# every schema migrated from that release ends as a new one
	# (docs/adding-a-daemon.md, repeatable files)
	counted_step schema-upgrade bash tests/integration/schema-upgrade.sh "$dir/src" "$ROOT/build/bin" \
		auth ticket field knowledge notification analytics
	if CFLAGS=-O0 step build-previous make -C "$dir/src" -j"$JOBS" gateway services/ticket \
		BUILD="$dir/build"; then
		export HD_TEST_PREV_BIN_DIR=$dir/build/bin
	fi
}

# Adds to the totals what a run beside this shell added to its starting
# totals $1 ("passed failed failures...") as it wrote them in file $2.
merge_counts() {
	local bp bf brest p f rest name
	read -r bp bf brest <<<"$1"
	[ -s "$2" ] || { fail_step "$(basename "$2" .counts)-runner-error"; return 0; }
	read -r p f rest <"$2"
	PASSED=$((PASSED + p - bp))
	FAILED=$((FAILED + f - bf))
	for name in $rest; do
		[[ " $brest " == *" $name "* ]] || FAILURES+=("$name")
	done
}

# The integration suite beside the end-to-end one: each has its own
# PostgreSQL and Redis on free ports and its own folders, and both spend
# most of their time waiting on servers, so together they take about as long
# as the end-to-end suite alone (docs/architecture.md, "Testing"). The
# integration output is printed whole once both ended. The sanitizer build
# runs them one after the other, as HD_TEST_SERIAL=1 does for both: its
# binaries take two to three times the CPU, and beside its integration suite
# its end-to-end checks with deadlines (a peer call's 2 s, a TLS handshake)
# missed them on a 2-core machine.
integration_and_e2e() {
	local tag=$1 build=$2 san=$3 base out
	out=$WORK/logs/integration-$tag.out
	if [ "${HD_TEST_SERIAL:-0}" = 1 ] || [ -n "$san" ]; then
		suite_integration "$tag" "$build" "$san"
		[ "$tag" = normal ] && build_previous
		suite_e2e "$tag" "$build" "$san"
		return 0
	fi
	base="$PASSED $FAILED ${FAILURES[*]}"
	DB_DIRS+=("$WORK/$tag/db")
	note "integration-$tag: runs beside e2e-$tag (output below once both ended)"
	(
		suite_integration "$tag" "$build" "$san"
		echo "$PASSED $FAILED ${FAILURES[*]}" >"$WORK/$tag/integration-side.counts"
	) >"$out" 2>&1 &
	SIDE_PID=$!
	[ "$tag" = normal ] && build_previous
	suite_e2e "$tag" "$build" "$san"
	wait "$SIDE_PID" || true
	SIDE_PID=
	note "integration-$tag (ran beside e2e-$tag): its output"
	cat "$out"
	merge_counts "$base" "$WORK/$tag/integration-side.counts"
}

# One build and one suite run: $1 tag, $2 SANITIZE value.
build_and_suite() {
	local tag=$1 san=$2 build
	build=$ROOT/build
	[ -z "$san" ] || build=$ROOT/build-san
	mkdir -p "$WORK/$tag"
	step "build-$tag" make -j"$JOBS" all BUILD="$build" SANITIZE="$san" || return 0
	if [ "$tag" = normal ] || [ ! -f web/dist/index.html ]; then
		# the stack's gateway serves web/dist (test_web, the browser flows)
		step "web-build-$tag" tools/web-build.sh || true
	fi
	[ "$tag" = normal ] && counted_step "web-unit" tools/web-test.sh unit
	run_tests unit "$tag" "$build" "$san"
	integration_and_e2e "$tag" "$build" "$san"
}

case "${HD_TEST_ONLY:-}" in
normal) build_and_suite normal "" ;;
e2e)
	# the end-to-end programs alone (HD_TEST_E2E="test_a test_b": those)
	mkdir -p "$WORK/normal"
	step build-normal make -j"$JOBS" all BUILD="$ROOT/build" || exit 1
	[ -f web/dist/index.html ] || step web-build-normal tools/web-build.sh || true
	build_previous
	suite_e2e normal "$ROOT/build" ""
	;;
deploy) deploy_check ;;
containers) containers_check ;;
san) build_and_suite san address,undefined ;;
*)
	build_and_suite normal ""
	build_and_suite san address,undefined
	if [ ! -f tests/fuzz/Makefile ]; then
		echo "--- tests/fuzz has no Makefile yet: skipped"
	elif command -v clang >/dev/null; then
		step fuzz make -C tests/fuzz -k -j"$JOBS" run FUZZ_SECONDS="$FUZZ_SECONDS" || true
	else
		echo "--- clang not found: fuzz targets skipped"
	fi
	step lint make lint || true
	step docs-config tools/config-table.sh libs/include/hd/config.def README.md --check || true
	step openapi-lint make openapi-lint || true
	deploy_check
	containers_check
	;;
esac
