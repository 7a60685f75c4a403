// Writes k8s/helpdesk/README.md from the chart's values.yaml (helm-docs
// style): every value's path, its default and the comment written above it
// (or after it on its line). `--check` writes nothing and fails when the
// README is not what values.yaml gives (tests/deploy/check.sh runs it; `make
// chart-readme` rewrites it). Prints PASS/FAIL like the other deploy checks.
import fs from 'node:fs';
import path from 'node:path';
import { check, finish, repoRoot, toolRequire } from './lib.mjs';

const YAML = toolRequire('yaml');
// HD_CHART_DIR: another copy of the chart (check.sh's negative control)
const chart = process.env.HD_CHART_DIR || path.join(repoRoot, 'k8s/helpdesk');
const readmePath = path.join(chart, 'README.md');

// A comment block as one line of Markdown-safe text.
const clean = (text) => (text || '').split('\n').map((l) => l.replace(/^\s*#?\s?/, '').trim())
	.filter(Boolean).join(' ').replace(/\|/g, '\\|');

// The default of a leaf, as inline code (maps and lists shown as JSON).
function shown(node) {
	const v = node && typeof node.toJSON === 'function' ? node.toJSON() : node;
	return `\`${JSON.stringify(v).replace(/\|/g, '\\|')}\``;
}

// Rows for map node under prefix: nested maps with keys are walked; a
// map's own comment becomes a row only for an empty map (e.g. {}).
function rows(map, prefix, out) {
	for (const pair of map.items) {
		const key = `${prefix}${pair.key.value}`;
		const v = pair.value;
		const doc = clean([pair.key.commentBefore, v?.commentBefore, v?.comment].filter(Boolean).join('\n'));
		if (YAML.isMap(v) && v.items.length > 0) {
			if (doc) out.push({ key, def: '', doc });
			rows(v, `${key}.`, out);
		} else {
			out.push({ key, def: shown(v), doc });
		}
	}
	return out;
}

function render() {
	const text = fs.readFileSync(path.join(chart, 'values.yaml'), 'utf8');
	const doc = YAML.parseDocument(text);
	const table = rows(doc.contents, '', []).map((r) => `| \`${r.key}\` | ${r.def} | ${r.doc} |`);
	return [
		'# helpdesk Helm chart',
		'',
		'<!-- Generated from values.yaml by tests/deploy/chart-readme.mjs (`make chart-readme`); do not edit. -->',
		'',
		'The operations guide is docs/operations.md (install, rollouts, secrets,',
		'datastores over TLS, the bus, upgrades). Every value, its default and what',
		'it does, as values.yaml says:',
		'',
		'| value | default | meaning |',
		'| --- | --- | --- |',
		...table,
		'',
	].join('\n');
}

const want = render();
if (process.argv.includes('--check')) {
	const have = fs.existsSync(readmePath) ? fs.readFileSync(readmePath, 'utf8') : '';
	check('k8s/helpdesk/README.md matches values.yaml (make chart-readme)', have === want);
	finish();
} else {
	fs.writeFileSync(readmePath, want);
}
