// Validates a `helm template` output: every document against its Kubernetes
// schema (npm kubernetes-models, by apiVersion/kind), then the chart's
// invariants (per-daemon objects, probes, hardening, NetworkPolicies, hooks).
//
//   node tests/deploy/validate.mjs RENDERED.yaml --daemons auth[,ticket]
//        [--migrate auth] [--replicas N] [--ingress] [--existing-secret NAME]
//        [--jwt-alg HS256|RS256|ES256] [--cert-manager] [--disabled ticket]
//        [--consumes ticket=field[+auth],...] [--datastore-ca SECRET]
//        [--hook-secret SECRET] [--service-account NAME] [--common-label k=v]
//        [--no-web] [--jwt-keys-secret SECRET]
// Conveniences (docs/operations.md, Values): PDBs let a drain evict unready
// pods (unhealthyPodEvictionPolicy: AlwaysAllow), each Deployment's
// app.kubernetes.io/version is its image tag, the helm test pod pulls with the
// same imagePullSecrets; with --service-account every pod runs as it (no
// token mounted); with --common-label every object carries the label.
// Secrets (docs/operations.md, Secrets): every pod that reads the Secret has
// a checksum/secret annotation; a generated HS256 secret is kept
// (helm.sh/resource-policy: keep); with --hook-secret the hook Jobs read only
// that Secret. Hooks: the migration NetworkPolicy is a hook created before
// the hook Secret and the Jobs.
// With --datastore-ca every pod that gets HD_DATABASE_URL mounts that
// Secret's ca.crt read-only at /etc/helpdesk/datastore-ca (sslrootcert=).
// With --jwt-keys-secret (jwt.keysSecret) the gateway and auth, and only
// they, mount that Secret read-only as HD_JWT_KEYS_DIR (docs/operations.md,
// Key rotation).
// A consumer of another daemon's events (values daemons.<name>.consumes)
// reaches that daemon's rpc port for events.since, and is among its
// HD_TLS_RPC_PEERS (docs/operations.md, The bus).
// A disabled daemon's HD_<NAME>_URL is empty: the gateway answers its routes
// 503 and stays ready (docs/operations.md, Disabling a daemon).
// Mutual TLS (docs/operations.md, Certificates): every NNG address is
// tls+tcp://, every component mounts its own certificate Secret and gets
// HD_TLS_*; with --cert-manager one Certificate per component names it.
// Web console (docs/operations.md, Web console): the gateway's HD_WEB_ROOT is
// the folder where deploy/docker/Dockerfile puts the built console in the
// gateway image, and `helm test` GETs / on the gateway; with --no-web
// (gateway.webRoot "") HD_WEB_ROOT is empty and / is not tested.
import fs from 'node:fs';
import path from 'node:path';
import { check, finish, repoRoot, toolRequire } from './lib.mjs';

const YAML = toolRequire('yaml');

function parseArgs(argv) {
	const o = { file: argv[0], web: true, daemons: [], migrate: [], replicas: 0, ingress: false, existingSecret: '', jwtAlg: 'HS256', certManager: false, smtpCa: '', disabled: [], consumes: {}, datastoreCa: '', hookSecret: '', serviceAccount: '', commonLabel: '', jwtKeysSecret: '' };
	for (let i = 1; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--daemons') o.daemons = argv[++i].split(',').filter(Boolean);
		else if (a === '--migrate') o.migrate = argv[++i].split(',').filter(Boolean);
		else if (a === '--replicas') o.replicas = Number(argv[++i]);
		else if (a === '--ingress') o.ingress = true;
		else if (a === '--no-web') o.web = false;
		else if (a === '--existing-secret') o.existingSecret = argv[++i];
		else if (a === '--jwt-alg') o.jwtAlg = argv[++i];
		else if (a === '--cert-manager') o.certManager = true;
		else if (a === '--datastore-ca') o.datastoreCa = argv[++i];
		else if (a === '--smtp-ca') o.smtpCa = argv[++i];
		else if (a === '--jwt-keys-secret') o.jwtKeysSecret = argv[++i];
		else if (a === '--hook-secret') o.hookSecret = argv[++i];
		else if (a === '--service-account') o.serviceAccount = argv[++i];
		else if (a === '--common-label') o.commonLabel = argv[++i];
		else if (a === '--disabled') o.disabled = argv[++i].split(',').filter(Boolean);
		else if (a === '--consumes') {
			for (const pair of argv[++i].split(',').filter(Boolean)) {
				const [who, from] = pair.split('=');
				o.consumes[who] = (from || '').split('+').filter(Boolean);
			}
		}
		else throw new Error(`unknown argument ${a}`);
	}
	return o;
}

function loadDocs(file) {
	const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
	const errs = docs.flatMap((d) => d.errors.map((e) => e.message));
	check('rendered YAML parses', errs.length === 0, errs.join('; '));
	return docs.map((d) => d.toJS()).filter((d) => d && typeof d === 'object');
}

// cert-manager's Certificate has no model in kubernetes-models: the fields
// the chart sets, checked by hand (cert-manager.io/v1 CertificateSpec).
function certificateCheck(doc) {
	const s = doc.spec || {};
	const ok = typeof s.secretName === 'string' && Array.isArray(s.dnsNames) && s.dnsNames.length > 0 &&
		typeof s.issuerRef?.name === 'string' && ['Issuer', 'ClusterIssuer'].includes(s.issuerRef.kind) &&
		['ECDSA', 'RSA', 'Ed25519'].includes(s.privateKey?.algorithm) &&
		(s.usages || []).includes('server auth') && (s.usages || []).includes('client auth');
	return check(`schema Certificate/${doc.metadata?.name}`, ok, JSON.stringify(s));
}

// kubernetes-models/<group/version>/<Kind>, e.g. apps/v1/Deployment, v1/Service.
function schemaCheck(doc) {
	const id = `${doc.kind}/${doc.metadata?.name}`;
	if (doc.apiVersion === 'cert-manager.io/v1' && doc.kind === 'Certificate') return certificateCheck(doc);
	let Model;
	try {
		Model = toolRequire(`kubernetes-models/${doc.apiVersion}/${doc.kind}`)[doc.kind];
	} catch (e) {
		return check(`schema ${id}`, false, `no model for ${doc.apiVersion} ${doc.kind}`);
	}
	try {
		new Model(doc).validate();
		return check(`schema ${id}`, true);
	} catch (e) {
		return check(`schema ${id}`, false, e.message.split('\n').slice(0, 3).join(' | '));
	}
}

const find = (docs, kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
const component = (d) => d.metadata?.labels?.['app.kubernetes.io/component'];
const envOf = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e]));

// Pod-level and container-level hardening, for any pod template.
function checkPodSecurity(id, pod) {
	const psc = pod.securityContext || {};
	check(`${id} runAsNonRoot`, psc.runAsNonRoot === true && psc.runAsUser > 0);
	check(`${id} no service account token`, pod.automountServiceAccountToken === false);
	for (const c of pod.containers || []) {
		const sc = c.securityContext || {};
		check(`${id}/${c.name} readOnlyRootFilesystem`, sc.readOnlyRootFilesystem === true);
		check(`${id}/${c.name} no privilege escalation`, sc.allowPrivilegeEscalation === false);
		check(`${id}/${c.name} drops ALL capabilities`, (sc.capabilities?.drop || []).includes('ALL') && !(sc.capabilities?.add || []).length);
		check(`${id}/${c.name} resources`, !!(c.resources?.requests && c.resources?.limits?.memory));
		check(`${id}/${c.name} pinned image`, /:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(c.image) && !c.image.endsWith(':latest'), c.image);
	}
}

function checkProbes(id, c) {
	const names = new Set((c.ports || []).map((p) => p.name));
	const ok = (p, path) => p?.httpGet?.path === path && names.has(p.httpGet.port);
	check(`${id} liveness /healthz on a declared port`, ok(c.livenessProbe, '/healthz'));
	check(`${id} readiness /readyz on a declared port`, ok(c.readinessProbe, '/readyz'));
}

function checkComponent(docs, opts, dep) {
	const name = dep.metadata.name;
	const comp = component(dep);
	const pod = dep.spec.template.spec;
	const c = pod.containers[0];
	checkPodSecurity(`Deployment ${name}`, pod);
	checkProbes(`Deployment ${name}`, c);
	const admin = (c.ports || []).find((p) => p.name === 'admin');
	const ann = dep.spec.template.metadata.annotations || {};
	check(`${name} is scraped on its admin port (never the public one)`,
		!!admin && ann['prometheus.io/port'] === String(admin.containerPort) && ann['prometheus.io/path'] === '/metrics');
	const svc = find(docs, 'Service', name);
	check(`headless Service ${name}`, svc?.spec?.clusterIP === 'None');
	const pdb = find(docs, 'PodDisruptionBudget', name);
	check(`PDB ${name}`, !!pdb && pdb.spec.selector.matchLabels['app.kubernetes.io/component'] === comp);
	const hpa = find(docs, 'HorizontalPodAutoscaler', name);
	if (comp === 'bus') {
		check(`bus runs exactly one replica`, dep.spec.replicas === 1 && !hpa);
		check('bus rolls by Recreate (never two forwarders)', dep.spec.strategy?.type === 'Recreate');
	} else {
		// docs/operations.md, Rollouts: a new pod serves before an old one goes
		check(`${name} minReadySeconds covers the gateways' re-resolve (>= 10)`, dep.spec.minReadySeconds >= 10);
		check(`${name} keeps every old pod until a new one is available`,
			dep.spec.strategy?.rollingUpdate?.maxUnavailable === 0);
		check(`HPA ${name}`, hpa?.spec?.scaleTargetRef?.name === name);
		if (opts.replicas) check(`HPA ${name} minReplicas >= ${opts.replicas}`, hpa?.spec?.minReplicas >= opts.replicas);
	}
	check(`NetworkPolicy ${name}`, !!find(docs, 'NetworkPolicy', name));
	const env = envOf(c);
	if (opts.existingSecret) {
		const refs = (c.env || []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom.secretKeyRef.name);
		check(`${name} reads only the existing secret`, refs.every((r) => r === opts.existingSecret), refs.join(','));
	}
	checkTls(docs, opts, name, comp, pod, env);
	return { name, comp, env, dep };
}

// The component's certificate: its Secret mounted read-only where HD_TLS_*
// point, every NNG address of its own tls+tcp://, and with cert-manager a
// Certificate naming hd-<component> into that Secret.
function checkTls(docs, opts, name, comp, pod, env) {
	const vol = (pod.volumes || []).find((v) => v.name === 'tls');
	const mount = (pod.containers[0].volumeMounts || []).find((m) => m.name === 'tls');
	check(`${name} mounts its certificate Secret`, !!vol?.secret?.secretName && mount?.readOnly === true &&
		mount.mountPath === '/etc/helpdesk/tls');
	const files = ['HD_TLS_CA_FILE', 'HD_TLS_CERT_FILE', 'HD_TLS_KEY_FILE'].map((k) => env[k]?.value || '');
	check(`${name} HD_TLS_* point into the mount`, files.every((f) => f.startsWith('/etc/helpdesk/tls/')), files.join(' '));
	const urls = Object.entries(env).filter(([k]) => /^HD_[A-Z0-9_]+_URL$/.test(k) && !/DATABASE|REDIS/.test(k));
	check(`${name} listens on tls+tcp:// only`, urls.every(([, e]) => (e.value || '').startsWith('tls+tcp://')),
		urls.map(([k, e]) => `${k}=${e.value}`).join(' '));
	if (!opts.certManager) return;
	const cert = docs.find((d) => d.kind === 'Certificate' && d.spec?.secretName === vol?.secret?.secretName);
	check(`${name} Certificate names hd-${comp}`, !!cert && cert.spec.commonName === `hd-${comp}` &&
		JSON.stringify(cert.spec.dnsNames) === JSON.stringify([`hd-${comp}`]));
}

// Every egress rule that opens `port` in the policy of `comp`.
function opensPort(docs, comp, port) {
	return docs.some((d) => d.kind === 'NetworkPolicy' && d.spec.podSelector?.matchLabels?.['app.kubernetes.io/component'] === comp &&
		(d.spec.egress || []).some((r) => (r.ports || []).some((p) => p.port === port)));
}

// True when the policy of component `comp` has an egress rule to the pods of `target`.
function egressTo(docs, comp, target) {
	return docs.some((d) => d.kind === 'NetworkPolicy' && d.spec.podSelector?.matchLabels?.['app.kubernetes.io/component'] === comp &&
		(d.spec.egress || []).some((r) => (r.to || []).some((t) => t.podSelector?.matchLabels?.['app.kubernetes.io/component'] === target)));
}

function checkNetwork(docs, comps, opts) {
	const deny = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name.endsWith('-default-deny'));
	check('NetworkPolicy default deny (ingress and egress)', !!deny && !deny.spec.ingress && !deny.spec.egress &&
		['Ingress', 'Egress'].every((t) => deny.spec.policyTypes.includes(t)) && !deny.spec.podSelector.matchLabels['app.kubernetes.io/component']);
	const pg = 5432;
	const redis = 6379;
	for (const k of comps) {
		check(`PostgreSQL egress only with HD_DATABASE_URL: ${k.comp}`, opensPort(docs, k.comp, pg) === !!k.env.HD_DATABASE_URL);
		check(`Redis egress only with HD_REDIS_URL: ${k.comp}`, opensPort(docs, k.comp, redis) === !!k.env.HD_REDIS_URL);
		const pol = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === k.name);
		if (!pol || k.comp === 'gateway' || k.comp === 'bus') continue;
		const rpc = (pol.spec.ingress || []).filter((r) => (r.ports || []).some((p) => p.port === 'rpc'));
		const from = rpc.map((r) => (r.from.length === 1 && !r.from[0].namespaceSelector
			? r.from[0].podSelector?.matchLabels?.['app.kubernetes.io/component'] : undefined));
		// besides the gateway, only daemons that list this one in their peers
		// (values daemons.<name>.peers), whose own policy opens the egress to it
		check(`only the gateway and its callers reach ${k.comp}'s rpc port`,
			from.filter((c) => c === 'gateway').length === 1 &&
			from.every((c) => c === 'gateway' || (c !== undefined && egressTo(docs, c, k.comp))), from.join(','));
	}
	check('gateway has no PostgreSQL egress', !opensPort(docs, 'gateway', pg));
	for (const [who, sources] of Object.entries(opts.consumes)) {
		for (const src of sources) {
			const target = comps.find((k) => k.comp === src);
			const peers = (target?.env.HD_TLS_RPC_PEERS?.value || '').split(',');
			check(`consumer ${who} reaches ${src}'s rpc port (events.since)`, egressTo(docs, who, src));
			check(`${src} takes calls from its consumer ${who} (HD_TLS_RPC_PEERS)`, peers.includes(`hd-${who}`), peers.join(','));
		}
	}
}

// tls.caSecret: the database CA where PostgreSQL is reached (Deployments and Jobs).
function checkDatastoreCa(docs, opts) {
	if (!opts.datastoreCa) return;
	const pods = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job').map((d) => [`${d.kind} ${d.metadata.name}`, d.spec.template.spec]);
	for (const [id, pod] of pods) {
		const c = pod.containers[0];
		if (!envOf(c).HD_DATABASE_URL) continue;
		const vol = (pod.volumes || []).find((v) => v.secret?.secretName === opts.datastoreCa);
		const mount = vol && (c.volumeMounts || []).find((m) => m.name === vol.name);
		check(`${id} mounts the datastore CA for sslrootcert=`, !!mount && mount.readOnly === true &&
			mount.mountPath === '/etc/helpdesk/datastore-ca' && (vol.secret.items || []).some((i) => i.key === 'ca.crt'));
	}
}

// mail.smtpCa ("secret:NAME" or "configMap:NAME"): the relay's CA mounted
// read-only in hd-notification only, HD_SMTP_CA_FILE naming the file there;
// without it no pod mounts one and HD_SMTP_CA_FILE is unset.
function checkSmtpCa(comps, opts) {
	const [kind, name] = opts.smtpCa.split(':');
	for (const k of comps) {
		const pod = k.dep.spec.template.spec;
		const vol = (pod.volumes || []).find((v) => v.name === 'smtp-ca');
		const mount = (pod.containers[0].volumeMounts || []).find((m) => m.name === 'smtp-ca');
		const file = k.env.HD_SMTP_CA_FILE?.value;
		if (k.comp !== 'notification' || !opts.smtpCa) {
			check(`${k.name} has no SMTP CA`, !vol && !mount && !file);
			continue;
		}
		const src = kind === 'secret' ? vol?.secret?.secretName : vol?.configMap?.name;
		const items = (kind === 'secret' ? vol?.secret?.items : vol?.configMap?.items) || [];
		check(`${k.name} mounts the SMTP CA of ${kind} ${name}`, src === name && mount?.readOnly === true &&
			items.some((i) => i.path === 'ca.crt'), JSON.stringify(vol));
		check(`${k.name} HD_SMTP_CA_FILE is the mounted file`, file === `${mount?.mountPath}/ca.crt`, file);
	}
}

// jwt.keysSecret: the rotation keys where tokens are verified (gateway, auth).
function checkJwtKeys(docs, opts) {
	if (!opts.jwtKeysSecret) return;
	for (const d of docs.filter((x) => x.kind === 'Deployment')) {
		const pod = d.spec.template.spec;
		const c = pod.containers[0];
		const vol = (pod.volumes || []).find((v) => v.secret?.secretName === opts.jwtKeysSecret);
		const mount = vol && (c.volumeMounts || []).find((m) => m.name === vol.name);
		const dir = envOf(c).HD_JWT_KEYS_DIR?.value;
		const verifies = ['gateway', 'auth'].includes(component(d));
		check(`${d.metadata.name} ${verifies ? 'mounts' : 'does not mount'} the JWT rotation keys`,
			verifies ? !!mount && mount.readOnly === true && dir === mount.mountPath : !vol && !dir);
	}
}

const secretRefs = (c) => (c.env || []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom.secretKeyRef.name);
const hookWeight = (d) => Number(d?.metadata?.annotations?.['helm.sh/hook-weight'] ?? NaN);

function checkSecrets(docs, opts) {
	for (const dep of docs.filter((d) => d.kind === 'Deployment')) {
		const c = dep.spec.template.spec.containers[0];
		if (!secretRefs(c).length) continue;
		const sum = dep.spec.template.metadata.annotations?.['checksum/secret'] || '';
		check(`${dep.metadata.name} restarts when its Secret changes (checksum/secret)`, /^[0-9a-f]{64}$/.test(sum), sum);
	}
	const made = docs.find((d) => d.kind === 'Secret' && !d.metadata.annotations?.['helm.sh/hook']);
	if (made && opts.jwtAlg === 'HS256' && made.data?.['jwt-secret'])
		check('a chart-made HS256 secret is kept (helm.sh/resource-policy: keep)',
			made.metadata.annotations?.['helm.sh/resource-policy'] === 'keep');
	if (opts.hookSecret) {
		for (const j of docs.filter((d) => d.kind === 'Job')) {
			const refs = secretRefs(j.spec.template.spec.containers[0]);
			check(`Job ${j.metadata.name} reads only ${opts.hookSecret}`, refs.length > 0 && refs.every((r) => r === opts.hookSecret), refs.join(','));
		}
		check('no chart-made hook Secret with existingHookSecret', !docs.some((d) => d.kind === 'Secret' && d.metadata.annotations?.['helm.sh/hook']));
	}
}

function checkConveniences(docs, opts) {
	for (const pdb of docs.filter((d) => d.kind === 'PodDisruptionBudget'))
		check(`PDB ${pdb.metadata.name} evicts unready pods (AlwaysAllow)`, pdb.spec.unhealthyPodEvictionPolicy === 'AlwaysAllow');
	const deps = docs.filter((d) => d.kind === 'Deployment');
	for (const dep of deps) {
		const image = dep.spec.template.spec.containers[0].image;
		const tag = image.replace(/@sha256:[0-9a-f]+$/, '').split(':').pop();
		check(`${dep.metadata.name} version label is its image tag`,
			dep.spec.template.metadata.labels['app.kubernetes.io/version'] === tag && dep.metadata.labels['app.kubernetes.io/version'] === tag, `${tag}`);
	}
	const pulls = JSON.stringify(deps[0]?.spec.template.spec.imagePullSecrets || []);
	for (const t of docs.filter((d) => d.kind === 'Pod'))
		check(`test Pod ${t.metadata.name} pulls like the Deployments`, JSON.stringify(t.spec.imagePullSecrets || []) === pulls);
	if (opts.serviceAccount) {
		const sa = docs.find((d) => d.kind === 'ServiceAccount');
		check('ServiceAccount without an automounted token', sa?.metadata?.name === opts.serviceAccount && sa.automountServiceAccountToken === false);
		const pods = [...deps, ...docs.filter((d) => d.kind === 'Job')].map((d) => d.spec.template.spec);
		check(`every pod runs as ${opts.serviceAccount}`, pods.every((p) => p.serviceAccountName === opts.serviceAccount));
	}
	if (opts.commonLabel) {
		const [k, v] = opts.commonLabel.split('=');
		const missing = docs.filter((d) => d.metadata?.labels?.[k] !== v).map((d) => `${d.kind}/${d.metadata?.name}`);
		check(`every object has commonLabels ${k}=${v}`, missing.length === 0, missing.join(' '));
	}
}

function checkHooks(docs, opts) {
	const jobs = docs.filter((d) => d.kind === 'Job');
	const migPolicy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name.endsWith('-migrate'));
	const hooks = (migPolicy?.metadata?.annotations?.['helm.sh/hook'] || '').split(',');
	const later = [...jobs, ...docs.filter((d) => d.kind === 'Secret' && d.metadata.annotations?.['helm.sh/hook'])];
	check('migration NetworkPolicy is a pre-install,pre-upgrade hook before the hook Secret and Jobs',
		hooks.includes('pre-install') && hooks.includes('pre-upgrade') && later.every((d) => hookWeight(d) > hookWeight(migPolicy)),
		`${hookWeight(migPolicy)} vs ${later.map(hookWeight)}`);
	for (const d of opts.migrate) {
		const job = jobs.find((j) => j.metadata.name.endsWith(`-migrate-${d}`));
		const hook = job?.metadata?.annotations?.['helm.sh/hook'] || '';
		check(`migration Job for ${d} is a pre-install,pre-upgrade hook`, hook.split(',').includes('pre-install') && hook.split(',').includes('pre-upgrade'));
		const c = job?.spec?.template?.spec?.containers?.[0];
		check(`migration Job for ${d} runs --migrate with the owner URL`, !!c && c.args?.includes('--migrate') && !!envOf(c).HD_DATABASE_ADMIN_URL);
	}
	for (const j of jobs) checkPodSecurity(`Job ${j.metadata.name}`, j.spec.template.spec);
	const tests = docs.filter((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test');
	check('helm test pod exists', tests.length >= 1);
	for (const t of tests) {
		checkPodSecurity(`test Pod ${t.metadata.name}`, t.spec);
		const urls = (t.spec.containers[0].args || []).filter((a) => a.endsWith('/readyz'));
		check(`helm test GETs /readyz on every component`, urls.length === docs.filter((d) => d.kind === 'Deployment').length, urls.join(' '));
	}
}

function checkConfig(docs, opts, comps) {
	const cm = docs.find((d) => d.kind === 'ConfigMap' && component(d) === 'config');
	for (const d of opts.daemons) {
		const url = cm?.data?.[`HD_${d.toUpperCase().replace(/-/g, '_')}_URL`] || '';
		check(`gateway dials ${d} through its headless Service over TLS`, /^tls\+tcp:\/\/[a-z0-9-]+-[a-z0-9-]+\.[a-z0-9-]+\.svc:\d+$/.test(url) &&
			comps.some((k) => k.comp === d && url.startsWith(`tls+tcp://${k.name}.`)), url);
	}
	for (const d of opts.disabled) {
		const key = `HD_${d.toUpperCase().replace(/-/g, '_')}_URL`;
		check(`disabled ${d}: ${key} is empty (routes 503, gateway ready)`, cm?.data?.[key] === '', cm?.data?.[key]);
	}
	for (const k of ['HD_BUS_PUB_URL', 'HD_BUS_SUB_URL'])
		check(`${k} over TLS`, /^tls\+tcp:\/\//.test(cm?.data?.[k] || ''), cm?.data?.[k]);
	check('ConfigMap JWT alg', cm?.data?.HD_JWT_ALG === opts.jwtAlg);
	// a stopping pod drains before it exits, within its grace period
	const drain = Number(cm?.data?.HD_SHUTDOWN_DRAIN_S);
	check('HD_SHUTDOWN_DRAIN_S > 0 (rollouts drain)', drain > 0, cm?.data?.HD_SHUTDOWN_DRAIN_S);
	for (const k of comps)
		check(`${k.name} grace period >= drain + 15 s`, k.dep.spec.template.spec.terminationGracePeriodSeconds >= drain + 15);
	const gw = comps.find((k) => k.comp === 'gateway');
	if (opts.jwtAlg === 'HS256') {
		check('gateway gets the HS256 secret', !!gw?.env.HD_JWT_SECRET);
	} else {
		check('gateway gets only the public key', !!gw?.env.HD_JWT_PUBLIC_KEY_FILE && !gw?.env.HD_JWT_PRIVATE_KEY_FILE);
		const signers = comps.filter((k) => k.env.HD_JWT_PRIVATE_KEY_FILE).map((k) => k.comp);
		check('only auth gets the private key', signers.length === 1 && signers[0] === 'auth', signers.join(','));
		// the files mounted from the Secret: the public key where tokens are verified, the private one in auth only
		const keyFiles = (k) => (k.dep.spec.template.spec.volumes || []).find((v) => v.name === 'jwt-keys')?.secret?.items?.map((i) => i.key) || [];
		const privateMounts = comps.filter((k) => keyFiles(k).includes('jwt-private-key.pem')).map((k) => k.comp);
		check('only auth mounts jwt-private-key.pem', privateMounts.join(',') === 'auth', privateMounts.join(','));
		check('gateway mounts jwt-public-key.pem', keyFiles(gw).includes('jwt-public-key.pem'));
	}
	if (opts.existingSecret) {
		check('no chart-made Secret with an existing secret', !docs.some((d) => d.kind === 'Secret'));
	}
	const ing = docs.find((d) => d.kind === 'Ingress');
	check(opts.ingress ? 'Ingress with TLS' : 'no Ingress by default', opts.ingress ? !!ing?.spec?.tls?.length : !ing);
}

// The folder of the console in the gateway image: the gateway stage's ENV
// HD_WEB_ROOT, into which it COPYs the web stage's /web/dist ('' if not).
function imageWebRoot() {
	const text = fs.readFileSync(path.join(repoRoot, 'deploy/docker/Dockerfile'), 'utf8');
	const stage = text.match(/^FROM\s+\S+\s+AS\s+gateway\s*$([\s\S]*?)(?=^FROM\s|(?![\s\S]))/im)?.[1] || '';
	const root = stage.match(/\bHD_WEB_ROOT=(\S+)/)?.[1] || '';
	const copied = new RegExp(`^COPY\\s+--from=web\\s+/web/dist/?\\s+${root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/?\\s*$`, 'm').test(stage);
	check('gateway image carries the console at its HD_WEB_ROOT (Dockerfile)', root !== '' && copied, root);
	return root;
}

function checkWeb(docs, opts, comps) {
	const want = opts.web ? imageWebRoot() : '';
	const gw = comps.find((k) => k.comp === 'gateway');
	const got = gw?.env.HD_WEB_ROOT?.value;
	check(opts.web ? 'gateway serves the console the image carries (HD_WEB_ROOT)' : 'gateway serves no console (HD_WEB_ROOT empty)',
		got === want, `${got} vs ${want}`);
	const svc = docs.find((d) => d.kind === 'Service' && component(d) === 'gateway' && d.spec.clusterIP !== 'None');
	const root = svc ? new RegExp(`^http://${svc.metadata.name}\\.[a-z0-9-]+\\.svc:${svc.spec.ports[0].port}/$`) : null;
	const tests = docs.filter((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test');
	const getsRoot = tests.some((t) => (t.spec.containers[0].args || []).some((a) => root?.test(a)));
	check(opts.web ? 'helm test GETs the console at the gateway\'s /' : 'helm test does not GET / without a console', getsRoot === opts.web);
}

function main() {
	const opts = parseArgs(process.argv.slice(2));
	const docs = loadDocs(opts.file);
	for (const d of docs) schemaCheck(d);
	const deps = docs.filter((d) => d.kind === 'Deployment');
	const names = deps.map(component).sort();
	const want = ['bus', 'gateway', ...opts.daemons].sort();
	check('one Deployment per component', JSON.stringify(names) === JSON.stringify(want), `${names} vs ${want}`);
	const comps = deps.map((d) => checkComponent(docs, opts, d));
	check('gateway client Service', docs.some((d) => d.kind === 'Service' && component(d) === 'gateway' && d.spec.clusterIP !== 'None'));
	checkNetwork(docs, comps, opts);
	checkHooks(docs, opts);
	checkSecrets(docs, opts);
	checkConveniences(docs, opts);
	checkDatastoreCa(docs, opts);
	checkSmtpCa(comps, opts);
	checkJwtKeys(docs, opts);
	checkConfig(docs, opts, comps);
	checkWeb(docs, opts, comps);
	finish();
}

main();
