#!/usr/bin/env bash
# Builds the web console: web/ -> web/dist, which the gateway serves
# (HD_WEB_ROOT, docs/web.md). Skips everything when the sources did not
# change since the last build (a hash of them is kept in web/dist/.build-stamp,
# a dot file the gateway never serves); runs `npm ci` only when
# package-lock.json is newer than web/node_modules.
#
# Exit status: 0 built or up to date, 1 the build failed, 3 Node.js >= 20.19
# or npm is missing. `make run` goes on without the console on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEB=$ROOT/web
say() { echo "web-build: $*" >&2; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	say "node and npm are needed to build the web console (Node.js >= 20.19)"
	exit 3
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
	say "Node.js $(node --version) is too old: the console's build (Vite) needs >= 20.19"
	exit 3
}

cd "$WEB"
hash=$(find src public index.html package.json package-lock.json vite.config.ts tsconfig.json -type f \
	-not -name '*.test.ts' -not -name '*.test.tsx' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f dist/.build-stamp ] && [ "$(cat dist/.build-stamp)" = "$hash" ] && [ -f dist/index.html ]; then
	say "web/dist is up to date"
	exit 0
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	say "npm ci"
	npm ci --no-audit --no-fund --loglevel=error || { say "npm ci failed"; exit 1; }
fi
say "building web/dist"
npx --no-install tsc -b || { say "type check failed"; exit 1; }
npx --no-install vite build --logLevel warn || { say "vite build failed"; exit 1; }
echo "$hash" >dist/.build-stamp
say "built web/dist ($(du -sh dist | cut -f1))"
