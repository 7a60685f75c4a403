#!/usr/bin/env bash
# The web console's tests, for tests/run.sh (docs/web.md):
#   tools/web-test.sh unit   Vitest (client logic, pages in jsdom)
#   tools/web-test.sh e2e    the browser flows (web/e2e/console.e2e.mjs) against the
#                            running stack of HD_TEST_BASE_URL, in Debian's chromium
# Both end with the line "N passed, M failed" that tests/run.sh counts.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/web"
[ -d node_modules ] || { echo "web-test: web/node_modules is missing: run tools/web-build.sh"; echo "0 passed, 1 failed"; exit 1; }

case "${1:-}" in
unit)
	report=$(mktemp)
	trap 'rm -f "$report"' EXIT
	rc=0
	npx --no-install vitest run --reporter=default --reporter=json --outputFile="$report" || rc=$?
	node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$report" ||
		echo "0 passed, 1 failed"
	exit "$rc"
	;;
e2e)
	chromium=${HD_CHROMIUM:-/usr/bin/chromium}
	if [ ! -x "$chromium" ]; then
		echo "web-test: no chromium at $chromium (apt-get install chromium; make test installs it)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	HD_CHROMIUM=$chromium exec node e2e/console.e2e.mjs
	;;
*)
	echo "usage: $0 unit|e2e" >&2
	exit 2
	;;
esac
