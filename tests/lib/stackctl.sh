#!/usr/bin/env bash
# Lets end-to-end tests stop, start, crash and restart parts of the stack the
# test runner started (HD_TEST_STACK_CTL points here). The runner exports
# HD_TEST_STACK_DIR, the state folder of that stack; deploy/local.sh reads the
# ports and binaries it was started with from there.
#
#   stackctl.sh stop NAME          graceful stop (SIGTERM, then SIGKILL after 10 s)
#   stackctl.sh start NAME [ARG]   start (with the daemon's argument) and wait until ready
#   stackctl.sh kill NAME          SIGKILL at once
#   stackctl.sh restart-postgres   restart the stack's PostgreSQL
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -n "${HD_TEST_STACK_DIR:-}" ] || { echo "stackctl.sh: HD_TEST_STACK_DIR is not set" >&2; exit 2; }
export HD_STATE_DIR=$HD_TEST_STACK_DIR
LOCAL=$ROOT/deploy/local.sh

case "${1:-}" in
stop) exec "$LOCAL" stop-daemon "${2:?name}" ;;
start) exec "$LOCAL" start-daemon "${2:?name}" "${@:3}" ;;
kill) exec "$LOCAL" kill-daemon "${2:?name}" ;;
restart-postgres) exec "$LOCAL" restart-postgres ;;
*) echo "usage: $0 stop|start|kill NAME | restart-postgres" >&2; exit 2 ;;
esac
