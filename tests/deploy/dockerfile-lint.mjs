// Lints the Dockerfiles: npm dockerfile-utils (the Docker language server's
// validator: syntax, instruction arguments, flags) and then this project's
// image rules for every final target (a stage no other stage builds FROM),
// following the FROM chain as Docker does (USER, HEALTHCHECK, ENTRYPOINT
// are inherited): non-root numeric USER, exec-form HEALTHCHECK and
// ENTRYPOINT, no ADD of URLs, base images pinned to a version tag or digest,
// a slim runtime base, no compilers in a final image.
//
//   node tests/deploy/dockerfile-lint.mjs [Dockerfile ...]
import fs from 'node:fs';
import path from 'node:path';
import { check, finish, repoRoot, toolRequire } from './lib.mjs';

const { validate } = toolRequire('dockerfile-utils');

// Instructions with continuation lines joined and comments dropped.
function instructions(text) {
	const out = [];
	let cur = '';
	for (const raw of text.split('\n')) {
		const line = raw.trim();
		if (!cur && (line.startsWith('#') || !line)) continue;
		if (line.startsWith('#')) continue;
		cur += (cur ? ' ' : '') + line.replace(/\\$/, '').trim();
		if (!line.endsWith('\\')) {
			const m = cur.match(/^(\S+)\s*(.*)$/);
			out.push({ op: m[1].toUpperCase(), args: m[2] });
			cur = '';
		}
	}
	return out;
}

// Stages: {name, from, ops[]}; global ARG defaults resolve ${X} in FROM.
function stages(ins) {
	const args = {};
	const list = [];
	for (const i of ins) {
		if (i.op === 'ARG' && !list.length) {
			const [k, v = ''] = i.args.split('=');
			args[k.trim()] = v.trim();
		} else if (i.op === 'FROM') {
			const m = i.args.replace(/--platform=\S+\s+/, '').match(/^(\S+)(?:\s+AS\s+(\S+))?/i);
			const from = m[1].replace(/\$\{?(\w+)\}?/g, (_, k) => args[k] ?? '');
			list.push({ name: (m[2] || String(list.length)).toLowerCase(), from, ops: [] });
		} else if (list.length) {
			list[list.length - 1].ops.push(i);
		}
	}
	return list;
}

// The effective value of an image setting for a stage, following FROM.
function effective(byName, stage, op) {
	for (let s = stage; s; s = byName[s.from.toLowerCase()]) {
		const hit = [...s.ops].reverse().find((i) => i.op === op);
		if (hit) return hit.args;
	}
	return undefined;
}

function baseImage(byName, stage) {
	let s = stage;
	while (byName[s.from.toLowerCase()]) s = byName[s.from.toLowerCase()];
	return s.from;
}

const execForm = (a) => {
	try {
		const v = JSON.parse(a);
		return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
	} catch {
		return false;
	}
};

function lintFile(file) {
	const rel = path.relative(repoRoot, file);
	const text = fs.readFileSync(file, 'utf8');
	const problems = validate(text).filter((d) => d.severity === 1);
	check(`${rel}: dockerfile-utils`, problems.length === 0, problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`).join('; '));
	const ins = instructions(text);
	check(`${rel}: no ADD (COPY only, never URLs)`, !ins.some((i) => i.op === 'ADD'));
	const all = stages(ins);
	const byName = Object.fromEntries(all.map((s) => [s.name, s]));
	// A files stage (FROM scratch, only COPY: web-prebuilt) carries files for
	// another stage to copy; it is no image to run and scratch needs no pin.
	const filesStage = (s) => s.from === 'scratch' && s.ops.every((i) => i.op === 'COPY');
	for (const s of all) {
		if (byName[s.from.toLowerCase()] || filesStage(s)) continue;
		check(`${rel} [${s.name}]: base image pinned`, /@sha256:[0-9a-f]{64}$/.test(s.from) || /^[^:@]+:\d[\w.-]*$/.test(s.from), s.from);
	}
	const used = new Set(all.map((s) => s.from.toLowerCase()));
	const copiedFrom = new Set(all.flatMap((s) => s.ops.flatMap((i) => [...i.args.matchAll(/--from=(\S+)/g)].map((m) => m[1].toLowerCase()))));
	const finals = all.filter((s) => !used.has(s.name) && !copiedFrom.has(s.name) && !filesStage(s));
	check(`${rel}: has final targets`, finals.length > 0);
	for (const s of finals) {
		const id = `${rel} [${s.name}]`;
		const user = effective(byName, s, 'USER') || '';
		check(`${id}: runs as a non-root numeric user`, /^[1-9]\d*(:\d+)?$/.test(user) && !/^0(:|$)/.test(user), user);
		const hc = effective(byName, s, 'HEALTHCHECK') || '';
		const hcCmd = hc.replace(/^(--\S+\s+)*CMD\s+/, '');
		check(`${id}: exec-form HEALTHCHECK`, hc !== '' && hcCmd !== hc && execForm(hcCmd), hc);
		const ep = effective(byName, s, 'ENTRYPOINT') || '';
		check(`${id}: exec-form ENTRYPOINT`, execForm(ep), ep);
		check(`${id}: slim runtime base`, /-slim|distroless|scratch/.test(baseImage(byName, s)), baseImage(byName, s));
		const chainRuns = [];
		for (let t = s; t; t = byName[t.from.toLowerCase()]) chainRuns.push(...t.ops.filter((i) => i.op === 'RUN').map((i) => i.args));
		check(`${id}: no toolchain in the image`, !chainRuns.some((r) => /build-essential|\bgcc\b|-dev\b/.test(r)));
	}
}

function main() {
	const files = process.argv.slice(2);
	if (!files.length) files.push(path.join(repoRoot, 'deploy/docker/Dockerfile'));
	for (const f of files) lintFile(f);
	finish();
}

main();
