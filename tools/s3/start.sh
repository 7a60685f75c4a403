#!/usr/bin/env bash
# Starts the tests' S3-compatible server (serve.js, @20minutes/s3rver with
# SigV4 checking) in the foreground: tools/s3/start.sh DIR BUCKET READY_FILE.
# Installs the pinned package (npm ci) first when package-lock.json changed
# since the last install. READY_FILE gets the port once it listens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "tools/s3: node is required" >&2; exit 1; }
stamp=$here/node_modules/.hd-lock-sha
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	# one installer at a time (the normal and sanitizer runs may start together)
	exec 9>"$here/.install.lock"
	flock 9
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
		echo "$want" >"$stamp"
	fi
	flock -u 9
fi
exec node "$here/serve.js" "$@"
