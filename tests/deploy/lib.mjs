// Shared helpers of the deploy checks: the tool folder's packages and a tiny
// PASS/FAIL reporter whose lines tests/deploy/check.sh counts.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Packages live in tools/k8s/node_modules (installed by check.sh with npm ci).
export const toolRequire = createRequire(path.join(repoRoot, 'tools/k8s/package.json'));

let failed = 0;

// Records one named check: ok is a boolean, detail explains a failure.
export function check(name, ok, detail = '') {
	if (ok) {
		console.log(`PASS ${name}`);
	} else {
		failed++;
		console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
	}
	return ok;
}

// Exit status for the script: non-zero when any check failed.
export function finish() {
	process.exit(failed ? 1 : 0);
}
