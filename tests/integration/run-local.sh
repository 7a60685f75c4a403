#!/usr/bin/env bash
# Runs the integration tests against a throwaway PostgreSQL and Redis:
# starts both with deploy/stack.sh on free ports in a temporary folder,
# exports the HD_TEST_* URLs, runs `make run` here (extra arguments go to
# make, e.g. SANITIZE=address,undefined BUILD=/tmp/b), and stops the servers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stack=$root/deploy/stack.sh

dir=$(mktemp -d /tmp/hd-itest.XXXXXX)
cleanup() {
	"$stack" db-stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT

pgport=$("$stack" free-port)
redisport=$("$stack" free-port)
while [ "$redisport" = "$pgport" ]; do redisport=$("$stack" free-port); done
"$stack" db-start "$dir" "$pgport" "$redisport" test

export HD_TEST_DATABASE_URL="postgresql://hd_app@127.0.0.1:$pgport/helpdesk"
export HD_TEST_DATABASE_ADMIN_URL="postgresql://hd_owner@127.0.0.1:$pgport/helpdesk"
export HD_TEST_DATABASE_SUPER_URL="postgresql://postgres@127.0.0.1:$pgport/helpdesk"
# the outbox relay of every daemon the tests start (its own role)
export HD_RELAY_DATABASE_URL="postgresql://hd_relay@127.0.0.1:$pgport/helpdesk"
export HD_SHUTDOWN_DRAIN_S=${HD_SHUTDOWN_DRAIN_S:-0} # stopped daemons stop at once
export HD_TEST_REDIS_URL="redis://127.0.0.1:$redisport/0"

make -C "$here" run "$@"
