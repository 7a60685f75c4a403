// Checks the chart's operators' view (docs/operations.md, "Monitoring") in a
// `helm template` output rendered with monitoring.*.enabled:
//   - one ServiceMonitor per component, scraping the admin port's /metrics;
//   - the PrometheusRule's groups written to OUT/rules.yaml for promtool
//     (check rules, and the unit tests of tests/deploy/alerts-test.yaml);
//   - every Grafana dashboard ConfigMap: JSON that loads, the fields Grafana
//     needs (uid, title, schemaVersion, panels with gridPos and targets), and
//     every panel query written to OUT/dashboards.yaml as a recording rule, so
//     promtool parses each PromQL expression too;
//   - every hd_* metric an alert or a panel names is one the code defines
//     (METRICS: a file of the names, one per line), so a renamed metric
//     cannot leave an alert that never fires.
//
//   node tests/deploy/monitoring.mjs RENDERED.yaml OUT_DIR METRICS --components gateway,bus,auth,...
import fs from 'node:fs';
import path from 'node:path';
import { check, finish, toolRequire } from './lib.mjs';

const YAML = toolRequire('yaml');
const [file, outDir, metricsFile, flag, componentsArg] = process.argv.slice(2);
if (flag !== '--components') throw new Error('usage: monitoring.mjs RENDERED OUT METRICS --components a,b');
const components = componentsArg.split(',').filter(Boolean);
const known = new Set(fs.readFileSync(metricsFile, 'utf8').split('\n').filter(Boolean));
const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS()).filter(Boolean);
const byKind = (k) => docs.filter((d) => d.kind === k);

// The hd_* metric names in a PromQL expression (histogram series suffixes
// stripped), each checked against the names the code defines.
function metricsOf(expr) {
	return [...expr.matchAll(/\bhd_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}
function checkMetrics(where, expr) {
	const unknown = metricsOf(expr).filter((m) => !known.has(m));
	check(`${where}: every metric it names exists`, unknown.length === 0, unknown.join(', '));
}

// ServiceMonitors
const monitors = byKind('ServiceMonitor');
for (const c of components) {
	const m = monitors.find((x) => x.metadata?.labels?.['app.kubernetes.io/component'] === c);
	check(`ServiceMonitor for ${c}`, !!m);
	if (!m) continue;
	const ep = m.spec?.endpoints ?? [];
	check(`ServiceMonitor ${c} scrapes admin /metrics`, ep.length === 1 && ep[0].port === 'admin' && ep[0].path === '/metrics');
	check(`ServiceMonitor ${c} selects the component`,
		m.spec?.selector?.matchLabels?.['app.kubernetes.io/component'] === c && (m.spec?.namespaceSelector?.matchNames ?? []).length === 1);
}

// PrometheusRule
const rules = byKind('PrometheusRule');
check('one PrometheusRule', rules.length === 1);
const groups = rules[0]?.spec?.groups ?? [];
for (const g of groups) {
	for (const r of g.rules ?? []) {
		check(`alert ${r.alert} has severity and summary`, !!r.labels?.severity && !!r.annotations?.summary);
		checkMetrics(`alert ${r.alert}`, r.expr ?? '');
	}
}
fs.writeFileSync(path.join(outDir, 'rules.yaml'), YAML.stringify({ groups }));

// Dashboards
const boards = byKind('ConfigMap').filter((cm) => cm.metadata?.labels?.grafana_dashboard === '1');
check('dashboards rendered', boards.length >= 2, `${boards.length}`);
const queries = [];
for (const cm of boards) {
	for (const [key, text] of Object.entries(cm.data ?? {})) {
		let d;
		try {
			d = JSON.parse(text);
		} catch (e) {
			check(`dashboard ${key} is JSON`, false, e.message);
			continue;
		}
		check(`dashboard ${key} has uid, title, schemaVersion, panels`,
			typeof d.uid === 'string' && d.uid.length > 0 && d.uid.length <= 40 && typeof d.title === 'string'
			&& Number.isInteger(d.schemaVersion) && Array.isArray(d.panels) && d.panels.length > 0);
		const vars = (d.templating?.list ?? []).map((v) => v.name);
		check(`dashboard ${key} asks for datasource and namespace`, vars.includes('datasource') && vars.includes('namespace'));
		const ids = new Set();
		for (const p of d.panels ?? []) {
			const g = p.gridPos ?? {};
			check(`dashboard ${key} panel "${p.title}" is placed and unique`,
				!ids.has(p.id) && [g.x, g.y, g.w, g.h].every(Number.isInteger) && g.x + g.w <= 24);
			ids.add(p.id);
			check(`dashboard ${key} panel "${p.title}" has queries`, (p.targets ?? []).length > 0 && p.targets.every((t) => t.expr && t.refId));
			for (const t of p.targets ?? []) {
				checkMetrics(`dashboard ${key} panel "${p.title}"`, t.expr);
				const expr = t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', 'helpdesk');
				queries.push({ record: `helpdesk:panel:${queries.length}`, expr });
			}
		}
	}
}
fs.writeFileSync(path.join(outDir, 'dashboards.yaml'), YAML.stringify({ groups: [{ name: 'panels', rules: queries }] }));
finish();
