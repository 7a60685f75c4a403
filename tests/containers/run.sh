#!/usr/bin/env bash
# The containers check of `make test` (docs/operations.md, "Images"): builds
# every image with deploy/images.sh (Docker, else podman; local Debian bases
# when no registry answers), checks each image (runs as 10001, `--version`,
# runtime size), starts deploy/compose.yaml under a project of its own with
# docker-compose (Debian's; against podman's Docker-compatible socket when
# podman is the engine), waits for every service, runs the contract suite
# (tests/contract/auth.sh) against the containerised gateway, stops and
# starts the stack and finds its data kept, and removes everything it made
# (containers, volumes, network; the images stay as a build cache).
# Skipped, and said so, only where no engine can run a container.
# Prints PASS/FAIL lines and `N passed, M failed`; exits 1 on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMAGES=$ROOT/deploy/images.sh
COMPOSE_FILE=$ROOT/deploy/compose.yaml
TAG=containers-check
PROJECT=hdcheck$$
MAX_RUNTIME_MB=${HD_IMAGE_MAX_MB:-150}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hd-containers.XXXXXX")
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

ENGINE=$("$IMAGES" engine)
if [ "$ENGINE" = none ]; then
	echo "SKIP containers: no container engine can run here (neither docker info nor podman info answers)"
	finish
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}
E() { if [ "$ENGINE" = podman ]; then podman "$@"; else docker "$@"; fi; }

# podman: its Docker-compatible API on a socket of this run, for
# docker-compose; and the HEALTHCHECKs, which podman runs from systemd timers
# that a host without systemd does not have, run here every second instead.
SERVICE_PID= HEALTH_PID=
start_podman_api() {
	podman system service --time=0 "unix://$WORK/podman.sock" >"$WORK/podman-api.log" 2>&1 &
	SERVICE_PID=$!
	export DOCKER_HOST=unix://$WORK/podman.sock
	for _ in $(seq 1 50); do [ -S "$WORK/podman.sock" ] && return 0; sleep 0.2; done
	return 1
}
run_healthchecks() {
	while sleep 1; do
		for c in $(podman ps -q --filter "label=com.docker.compose.project=$PROJECT"); do
			podman healthcheck run "$c" >/dev/null 2>&1 || true
		done
	done
}

compose() { docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

cleanup() {
	compose down -v --remove-orphans >"$WORK/down.log" 2>&1 || true
	[ -n "$HEALTH_PID" ] && kill "$HEALTH_PID" 2>/dev/null
	[ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- images ----
t0=$SECONDS
if "$IMAGES" build "$TAG" >"$WORK/build.log" 2>&1; then
	pass "deploy/images.sh build ($ENGINE, $((SECONDS - t0)) s)"
else
	fail "deploy/images.sh build ($ENGINE)"; tail -30 "$WORK/build.log" | sed 's/^/    /'
	finish
fi
grep '^images: ' "$WORK/build.log" | sed 's/^/    /'
set -a
# shellcheck disable=SC1090
. <("$IMAGES" env)
set +a

for image in $("$IMAGES" list "$TAG"); do
	name=${image#helpdesk/}; name=${name%%:*}
	user=$(E image inspect --format '{{.Config.User}}' "$image" 2>/dev/null)
	[ "$user" = 10001:10001 ] && pass "$name image runs as 10001" || fail "$name image runs as 10001 (User is '$user')"
	mb=$(( $(E image inspect --format '{{.Size}}' "$image") / 1000000 ))
	echo "    $image: $mb MB"
	[ "$mb" -lt "$MAX_RUNTIME_MB" ] && pass "$name image under $MAX_RUNTIME_MB MB ($mb MB)" ||
		fail "$name image under $MAX_RUNTIME_MB MB ($mb MB)"
	[ "$name" = certs ] && continue
	out=$(E run --rm --network none "$image" --version 2>/dev/null)
	[[ "$out" == "hd-$name "* ]] && pass "hd-$name --version in its image" || fail "hd-$name --version in its image: $out"
done

# ---- the compose stack ----
if [ "$ENGINE" = podman ]; then
	start_podman_api || { fail "podman system service"; finish; }
	run_healthchecks &
	HEALTH_PID=$!
fi
port=$("$ROOT/deploy/stack.sh" free-port)
export HD_VERSION=$TAG HD_ENV=production HD_GATEWAY_PUBLISH=127.0.0.1:$port
HD_JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
HD_PLATFORM_ADMIN_PASSWORD=pl-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
HD_DEMO_ADMIN_PASSWORD=de-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
export HD_JWT_SECRET HD_PLATFORM_ADMIN_PASSWORD HD_DEMO_ADMIN_PASSWORD
BASE=http://127.0.0.1:$port

# Waits up to $1 s for the gateway's /readyz.
wait_ready() {
	for _ in $(seq 1 "$1"); do
		curl -fsS -m 2 "$BASE/readyz" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

stack_up() {
	local what=$1
	if compose up -d --no-build >"$WORK/up-$what.log" 2>&1 && wait_ready 180; then
		pass "compose stack $what: every service up, gateway ready"
		return 0
	fi
	fail "compose stack $what"
	tail -20 "$WORK/up-$what.log" | sed 's/^/    /'
	compose ps 2>&1 | sed 's/^/    /'
	compose logs --tail 15 2>&1 | tail -60 | sed 's/^/    /'
	return 1
}

if ! stack_up "started"; then finish; fi
compose ps >"$WORK/ps.txt" 2>&1
for one in certs $("$ROOT/tools/daemons.sh" migrate | sed 's/^/migrate-/') bootstrap-auth; do
	grep -E "^${PROJECT}_${one}_1 .*Exit 0" "$WORK/ps.txt" >/dev/null &&
		pass "one-shot $one completed" || fail "one-shot $one completed: $(grep "_${one}_1" "$WORK/ps.txt")"
done
ro=$(E inspect --format '{{.HostConfig.ReadonlyRootfs}}' "${PROJECT}_gateway_1" 2>/dev/null)
[ "$ro" = true ] && pass "gateway container has a read-only root" || fail "gateway container has a read-only root ($ro)"

# Production makes no demo tenant: the platform admin onboards one, as an
# operator would, and the contract suite uses it.
login() { # tenant email password -> access token
	curl -fsS -m 5 -H 'Content-Type: application/json' "$BASE/v1/auth/login" \
		-d "{\"tenant\":\"$1\",\"email\":\"$2\",\"password\":\"$3\"}" | jq -r .access_token
}
ptok=$(login platform admin@platform.local "$HD_PLATFORM_ADMIN_PASSWORD")
st=$(curl -sS -m 10 -o "$WORK/tenant.json" -w '%{http_code}' -H "Authorization: Bearer $ptok" \
	-H 'Content-Type: application/json' "$BASE/v1/tenants" \
	-d "{\"name\":\"Acme\",\"slug\":\"acme\",\"admin_email\":\"admin@acme.local\",\"admin_password\":\"$HD_DEMO_ADMIN_PASSWORD\"}")
[ "$st" = 201 ] && pass "platform admin onboards a tenant" || fail "platform admin onboards a tenant ($st: $(cat "$WORK/tenant.json"))"

export HD_TEST_BASE_URL=$BASE HD_TEST_DEMO_TENANT=acme HD_TEST_DEMO_EMAIL=admin@acme.local \
	HD_TEST_DEMO_PASSWORD=$HD_DEMO_ADMIN_PASSWORD HD_TEST_PLATFORM_EMAIL=admin@platform.local \
	HD_TEST_PLATFORM_PASSWORD=$HD_PLATFORM_ADMIN_PASSWORD
bash "$ROOT/tests/contract/auth.sh" >"$WORK/contract.log" 2>&1
read -r cp cf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$WORK/contract.log" | tail -1)
if [ "${cf:-1}" -eq 0 ] && [ "${cp:-0}" -gt 0 ]; then
	pass "contract suite against the containerised gateway ($cp checks)"
else
	fail "contract suite against the containerised gateway (${cp:-0} passed, ${cf:-?} failed)"
	grep '^FAIL' "$WORK/contract.log" | head -20 | sed 's/^/    /'
fi

# Data kept across a stop and a start: a ticket made before is there after.
token() { login acme admin@acme.local "$HD_DEMO_ADMIN_PASSWORD"; }
tok=$(token)
tid=$(curl -fsS -m 5 -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	"$BASE/v1/tickets" -d '{"subject":"kept across a restart"}' | jq -r .id)
[ -n "$tid" ] && [ "$tid" != null ] && pass "ticket created in containers" || fail "ticket created in containers"
compose stop >"$WORK/stop.log" 2>&1 && pass "compose stop" || fail "compose stop"
if stack_up "started again"; then
	tok=$(token)
	got=$(curl -fsS -m 5 -H "Authorization: Bearer $tok" "$BASE/v1/tickets/$tid" | jq -r .subject)
	[ "$got" = "kept across a restart" ] && pass "data kept across a stop and a start" ||
		fail "data kept across a stop and a start (got '$got')"
fi
finish
