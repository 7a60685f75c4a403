#!/usr/bin/env bash
# daemons.def, the one list of daemons, for shell and make: prints it in the
# shapes the build and the local stack need, generates the files derived from
# it (`make daemons`), and checks the tree against it (tests/deploy/check.sh).
#
#   tools/daemons.sh names      every daemon, in start order
#   tools/daemons.sh services   the daemons behind the gateway (those with an NNG port)
#   tools/daemons.sh migrate    the daemons with a migrations folder
#   tools/daemons.sh dirs       their source folders (gateway, services/NAME)
#   tools/daemons.sh images     "NAME IMAGE" lines (make images)
#   tools/daemons.sh gen        rewrite the generated files and blocks (make daemons)
#   tools/daemons.sh check      exit 1 naming every file that disagrees with the list
#
# Generated: gateway/services.def, k8s/helpdesk/daemons.yaml, and the blocks
# between "BEGIN <block>" and "END <block>" comment lines in
# libs/include/hd/config.def (then the README's settings table),
# deploy/compose.yaml and deploy/docker/Dockerfile. DAEMONS_ROOT points it
# at another tree (tools/new-daemon.sh, tests).
# shellcheck disable=SC2016 # the backquotes below are literal text (comments, Dockerfile lines)
set -euo pipefail

TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${DAEMONS_ROOT:-$(dirname "$TOOLS")}
DEF=$ROOT/daemons.def
MARK='generated from daemons.def by `make daemons`; do not edit'

die() { echo "daemons.sh: $*" >&2; exit 1; }

# The list as parallel arrays: NAMES RPC ADMIN IMAGE SQL (one entry per line).
NAMES=() RPC=() ADMIN=() IMAGE=() SQL=()
load() {
	local re='^HD_DAEMON\(([a-z][a-z0-9]*), ([0-9]+), ([0-9]+), "([a-z0-9./_-]+)", "([A-Za-z0-9./_-]*)"\)$' line
	[ -r "$DEF" ] || die "$DEF not found"
	while IFS= read -r line; do
		[[ $line == HD_DAEMON* ]] || continue
		[[ $line =~ $re ]] || die "daemons.def: cannot parse: $line"
		NAMES+=("${BASH_REMATCH[1]}")
		RPC+=("${BASH_REMATCH[2]}")
		ADMIN+=("${BASH_REMATCH[3]}")
		IMAGE+=("${BASH_REMATCH[4]}")
		SQL+=("${BASH_REMATCH[5]}")
	done <"$DEF"
	[ ${#NAMES[@]} -gt 0 ] || die "no HD_DAEMON lines in $DEF"
}

upper() { echo "${1^^}"; }
dir_of() { if [ "$1" = gateway ]; then echo gateway; else echo "services/$1"; fi; }
# The indexes of the daemons behind the gateway.
service_idx() {
	local i
	for i in "${!NAMES[@]}"; do [ "${RPC[i]}" -eq 0 ] || echo "$i"; done
}
# One line from the daemon's Makefile header ("# hd-auth: tenants, users." -> "tenants, users").
about() {
	sed -n "1s/^# hd-$1: *\(.*\)\.\$/\1/p" "$ROOT/$(dir_of "$1")/Makefile" 2>/dev/null
}

# ---- generators: each prints one file or block ----------------------------

gen_services_def() {
	local i
	echo "/* The daemons the gateway forwards to: HD_SERVICE(name, setting holding its"
	echo " * NNG address(es)). Route entries name a service by this token; \`gateway\`"
	echo " * (not listed) means the gateway answers itself. Generated from daemons.def"
	echo ' * by `make daemons`; do not edit. */'
	for i in $(service_idx); do
		echo "HD_SERVICE(${NAMES[i]}, \"HD_$(upper "${NAMES[i]}")_URL\")"
	done
}

gen_config_settings() {
	local i n u
	for i in "${!NAMES[@]}"; do
		n=${NAMES[i]} u=$(upper "${NAMES[i]}")
		[ "${RPC[i]}" -eq 0 ] ||
			echo "HD_SETTING(\"HD_${u}_URL\", \"tcp://127.0.0.1:${RPC[i]}\", \"$n daemon NNG address(es), comma-separated\")"
		[ "${ADMIN[i]}" -eq 0 ] ||
			echo "HD_SETTING(\"HD_${u}_ADMIN_PORT\", \"${ADMIN[i]}\", \"$n daemon admin HTTP port (/healthz, /readyz, /metrics)\")"
		[ -z "${SQL[i]}" ] ||
			echo "HD_SETTING(\"HD_${u}_SQL_DIR\", \"${SQL[i]}\", \"$n migrations folder\")"
	done
	# who may call a daemon's RPC socket by default: the gateway and every
	# daemon with one (any may call another; the chart narrows it per daemon)
	local peers=hd-gateway
	for i in $(service_idx); do peers="$peers,hd-${NAMES[i]}"; done
	echo "HD_SETTING(\"HD_TLS_RPC_PEERS\", \"$peers\", \"comma-separated component names whose certificates may call a daemon's tls+tcp:// RPC socket, besides the daemon's own (its self-probe): by default the gateway and every daemon with an NNG port of daemons.def (make daemons); the chart gives each daemon only its callers (peers, consumes)\")"
}

gen_compose_urls() {
	local i
	for i in $(service_idx); do
		echo "  HD_$(upper "${NAMES[i]}")_URL: tls+tcp://${NAMES[i]}:${RPC[i]}"
	done
}

gen_compose_daemons() {
	local i n u
	for i in $(service_idx); do
		n=${NAMES[i]} u=$(upper "$n")
		if [ -n "${SQL[i]}" ]; then
			cat <<EOF
  migrate-$n:
    <<: *one-shot
    image: ${IMAGE[i]}:\${HD_VERSION:-dev}
    build: {<<: *build, target: $n}
    command: ["--migrate"]
    environment:
      <<: *hd-env
      HD_DATABASE_ADMIN_URL: *owner-url
    depends_on:
      postgres:
        condition: service_healthy

EOF
		fi
		cat <<EOF
  $n:
    <<: *hardening
    image: ${IMAGE[i]}:\${HD_VERSION:-dev}
    build: {<<: *build, target: $n}
    environment:
      <<: *hd-env
      HD_${u}_URL: tls+tcp://0.0.0.0:${RPC[i]}
      HD_${u}_ADMIN_PORT: "${ADMIN[i]}"
      HD_TLS_CERT_FILE: /etc/helpdesk/tls/$n.pem
      HD_TLS_KEY_FILE: /etc/helpdesk/tls/$n.key
EOF
		# a daemon's own settings: services/<name>/compose-env.yaml, lines
		# "HD_X: \${HD_X:-}" (the notification daemon's SMTP relay)
		[ ! -f "$ROOT/services/$n/compose-env.yaml" ] \
			|| grep -v '^#' "$ROOT/services/$n/compose-env.yaml" | sed 's/^/      /'
		cat <<EOF
    volumes: ["tls:/etc/helpdesk/tls:ro"]
    expose: ["${RPC[i]}", "${ADMIN[i]}"]
    healthcheck:
      test: ["CMD", "/usr/local/bin/hd-$n", "--healthcheck"]
      interval: 10s
      timeout: 3s
      retries: 3
      start_period: 10s
    depends_on:
EOF
		[ -z "${SQL[i]}" ] || printf '      migrate-%s:\n        condition: service_completed_successfully\n' "$n"
		printf '      certs:\n        condition: service_completed_successfully\n'
		printf '      redis:\n        condition: service_healthy\n'
		printf '      bus:\n        condition: service_healthy\n\n'
	done
}

# The certs one-shot makes a certificate for every component (hd-<name>).
gen_compose_certs() {
	local i list=""
	for i in "${!NAMES[@]}"; do list="$list, \"${NAMES[i]}\""; done
	echo "    command: [${list#, }]"
}

gen_compose_gateway_deps() {
	local i
	for i in $(service_idx); do
		printf '      %s:\n        condition: service_healthy\n' "${NAMES[i]}"
	done
}

gen_docker_build() {
	local i
	for i in $(service_idx); do
		printf 'FROM build AS %s-build\nRUN make -C %s BUILD=/src/build -j"$(nproc)"\n\n' \
			"${NAMES[i]}" "$(dir_of "${NAMES[i]}")"
	done
}

gen_docker_images() {
	local i n u share what
	for i in $(service_idx); do
		n=${NAMES[i]} u=$(upper "$n") share=/usr/share/helpdesk/${NAMES[i]}/sql
		what=$(about "$n")
		echo "FROM runtime AS $n"
		echo "LABEL org.opencontainers.image.title=\"hd-$n\" \\"
		echo "      org.opencontainers.image.description=\"Helpdesk $n daemon${what:+ ($what)}\""
		echo "COPY --from=$n-build /src/build/bin/hd-$n /usr/local/bin/hd-$n"
		if [ -n "${SQL[i]}" ]; then
			echo "COPY ${SQL[i]}/ $share/"
			echo "ENV HD_${u}_URL=tls+tcp://0.0.0.0:${RPC[i]} \\"
			echo "    HD_${u}_ADMIN_PORT=${ADMIN[i]} \\"
			echo "    HD_${u}_SQL_DIR=$share"
		else
			echo "ENV HD_${u}_URL=tls+tcp://0.0.0.0:${RPC[i]} \\"
			echo "    HD_${u}_ADMIN_PORT=${ADMIN[i]}"
		fi
		echo "EXPOSE ${RPC[i]} ${ADMIN[i]}"
		echo "HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\"
		echo "  CMD [\"/usr/local/bin/hd-$n\", \"--healthcheck\"]"
		echo "ENTRYPOINT [\"/usr/local/bin/hd-$n\"]"
		echo
	done
}

gen_chart_daemons() {
	local i m
	echo "# The daemons behind the gateway: $MARK."
	echo "# The chart merges daemonDefaults and then daemons.<name> of the values over each."
	for i in $(service_idx); do
		m=false
		[ -z "${SQL[i]}" ] || m=true
		echo "${NAMES[i]}:"
		echo "  image: {repository: ${IMAGE[i]}}"
		echo "  port: ${RPC[i]}"
		echo "  adminPort: ${ADMIN[i]}"
		echo "  migrate: $m"
		echo "  dbAccess: $m"
		[ -z "${SQL[i]}" ] || echo "  sqlDir: /usr/share/helpdesk/${NAMES[i]}/sql"
	done
}

# ---- writing ---------------------------------------------------------------

# Prints file $1 with the lines between its "BEGIN $2" and "END $2" marker
# lines replaced by file $3.
splice() {
	local file=$1 block=$2 body=$3
	grep -q "BEGIN $block:" "$file" || die "$file lacks a BEGIN $block: marker line"
	grep -q "END $block\b" "$file" || die "$file lacks an END $block marker line"
	awk -v b="BEGIN $block:" -v e="END $block" -v t="$body" '
		index($0, b) { print; while ((getline l < t) > 0) print l; close(t); skip = 1; next }
		index($0, e) { skip = 0 }
		!skip { print }' "$file"
}

# Writes each generated file into folder $1 (same relative paths).
generate_into() {
	local out=$1 tmp
	tmp=$(mktemp -d)
	mkdir -p "$out/gateway" "$out/k8s/helpdesk" "$out/libs/include/hd" "$out/deploy/docker"
	gen_services_def >"$out/gateway/services.def"
	gen_chart_daemons >"$out/k8s/helpdesk/daemons.yaml"
	gen_config_settings >"$tmp/settings"
	splice "$ROOT/libs/include/hd/config.def" daemon-settings "$tmp/settings" >"$out/libs/include/hd/config.def"
	gen_compose_urls >"$tmp/urls"
	gen_compose_daemons >"$tmp/daemons"
	gen_compose_gateway_deps >"$tmp/deps"
	splice "$ROOT/deploy/compose.yaml" compose-urls "$tmp/urls" >"$tmp/c1"
	splice "$tmp/c1" compose-daemons "$tmp/daemons" >"$tmp/c2"
	gen_compose_certs >"$tmp/certs"
	splice "$tmp/c2" compose-gateway-deps "$tmp/deps" >"$tmp/c3"
	splice "$tmp/c3" compose-certs "$tmp/certs" >"$out/deploy/compose.yaml"
	gen_docker_build >"$tmp/build"
	gen_docker_images >"$tmp/images"
	splice "$ROOT/deploy/docker/Dockerfile" docker-build "$tmp/build" >"$tmp/d1"
	splice "$tmp/d1" docker-images "$tmp/images" >"$out/deploy/docker/Dockerfile"
	cp "$ROOT/README.md" "$out/README.md"
	"$TOOLS/config-table.sh" "$out/libs/include/hd/config.def" "$out/README.md"
	rm -rf "$tmp"
}

GENERATED="gateway/services.def k8s/helpdesk/daemons.yaml libs/include/hd/config.def
deploy/compose.yaml deploy/docker/Dockerfile README.md"

cmd_gen() {
	local out f
	out=$(mktemp -d)
	generate_into "$out"
	for f in $GENERATED; do
		cmp -s "$out/$f" "$ROOT/$f" || { cat "$out/$f" >"$ROOT/$f"; echo "daemons.sh: wrote $f"; }
	done
	rm -rf "$out"
}

# ---- checking --------------------------------------------------------------

PROBLEMS=0
problem() { echo "daemons.sh: $*" >&2; PROBLEMS=$((PROBLEMS + 1)); }

check_generated() {
	local out f
	out=$(mktemp -d)
	generate_into "$out"
	for f in $GENERATED; do
		cmp -s "$out/$f" "$ROOT/$f" && continue
		problem "$f disagrees with daemons.def (run make daemons):"
		{ diff -u "$ROOT/$f" "$out/$f" || true; } | sed -n "3,20p" | sed "s/^/    /" >&2
	done
	rm -rf "$out"
}

# The list itself: unique names and ports, the bus first and the gateway last.
check_list() {
	local i p seen=" " ports=" "
	[ "${NAMES[0]}" = bus ] || problem "daemons.def: the first daemon must be bus (start order)"
	[ "${NAMES[${#NAMES[@]} - 1]}" = gateway ] || problem "daemons.def: the last daemon must be gateway (start order)"
	for i in "${!NAMES[@]}"; do
		[[ $seen == *" ${NAMES[i]} "* ]] && problem "daemons.def: ${NAMES[i]} is listed twice"
		seen="$seen${NAMES[i]} "
		for p in "${RPC[i]}" "${ADMIN[i]}"; do
			[ "$p" -eq 0 ] && continue
			[[ $ports == *" $p "* ]] && problem "daemons.def: ${NAMES[i]}: port $p is taken by another daemon"
			ports="$ports$p "
		done
	done
}

# Each daemon's folder: a Makefile, a main.c naming the list's settings, its
# migrations; and no daemon folder missing from the list.
check_folders() {
	local i n u d mk
	for i in "${!NAMES[@]}"; do
		n=${NAMES[i]} u=$(upper "$n") d=$(dir_of "$n")
		[ -f "$ROOT/$d/Makefile" ] || { problem "daemons.def: $n: $d/Makefile not found"; continue; }
		grep -q "^NAME := hd-$n\$" "$ROOT/$d/Makefile" || problem "$d/Makefile: NAME is not hd-$n"
		[ "$n" = gateway ] && continue
		[ "${RPC[i]}" -eq 0 ] || grep -q "\"HD_${u}_URL\"" "$ROOT/$d/main.c" ||
			problem "$d/main.c: listen_url_setting is not \"HD_${u}_URL\" (daemons.def gives $n an NNG port)"
		[ "${ADMIN[i]}" -eq 0 ] || grep -q "\"HD_${u}_ADMIN_PORT\"" "$ROOT/$d/main.c" ||
			problem "$d/main.c: admin_port_setting is not \"HD_${u}_ADMIN_PORT\""
		if [ -n "${SQL[i]}" ]; then
			grep -q "\"${SQL[i]}\"" "$ROOT/$d/main.c" || problem "$d/main.c: sql_dir is not \"${SQL[i]}\" (daemons.def)"
			compgen -G "$ROOT/${SQL[i]}/*.sql" >/dev/null || problem "daemons.def: $n: no migrations in ${SQL[i]}"
		elif [ -d "$ROOT/$d/sql" ]; then
			problem "daemons.def: $n has $d/sql but no migrations folder on its line"
		fi
	done
	for mk in "$ROOT"/services/*/Makefile; do
		[ -e "$mk" ] || continue
		n=$(basename "$(dirname "$mk")")
		[[ " ${NAMES[*]} " == *" $n "* ]] || problem "services/$n has a Makefile but is not on daemons.def"
	done
}

cmd_check() {
	check_list
	check_folders
	check_generated
	[ "$PROBLEMS" -eq 0 ] || die "$PROBLEMS problem(s) with daemons.def"
	echo "daemons.sh: ${#NAMES[@]} daemons, every derived file agrees with daemons.def"
}

load
case "${1:-}" in
names) echo "${NAMES[*]}" ;;
services) for i in $(service_idx); do echo "${NAMES[i]}"; done ;;
migrate) for i in "${!NAMES[@]}"; do [ -z "${SQL[i]}" ] || echo "${NAMES[i]}"; done ;;
dirs) for n in "${NAMES[@]}"; do dir_of "$n"; done ;;
images) for i in "${!NAMES[@]}"; do echo "${NAMES[i]} ${IMAGE[i]}"; done ;;
gen) cmd_gen ;;
check) cmd_check ;;
*) die "usage: $0 names|services|migrate|dirs|images|gen|check" ;;
esac
