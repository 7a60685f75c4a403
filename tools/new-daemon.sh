#!/usr/bin/env bash
# make new-daemon NAME=foo: a new daemon services/foo from the skeleton in
# tools/new-daemon/ (main.c on hd_daemon_main with schema foo, a Makefile, the
# first migration sql/001_init.sql with a tenant table under row-level
# security), its line on daemons.def with the next free NNG and admin ports,
# and the generated files updated (tools/daemons.sh gen). With no further
# edit it builds, migrates, starts with the local stack, answers /healthz and
# is in compose, the Dockerfile and the chart (docs/adding-a-daemon.md).
# Removing it: delete services/foo and its daemons.def line, then make daemons.
#
#   tools/new-daemon.sh NAME     (DAEMONS_ROOT: another tree, as tools/daemons.sh)
set -euo pipefail

TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${DAEMONS_ROOT:-$(dirname "$TOOLS")}
DEF=$ROOT/daemons.def
SKELETON=$TOOLS/new-daemon

die() { echo "new-daemon.sh: $*" >&2; exit 1; }

name=${1:-}
[[ $name =~ ^[a-z][a-z0-9]{1,19}$ ]] ||
	die "usage: $0 NAME (2-20 characters: a lowercase letter, then lowercase letters and digits)"
case $name in
gateway | bus | migrate | test | config | network | bootstrap | public | user)
	die "$name is a reserved name (chart components, PostgreSQL)" ;;
esac
grep -q "^HD_DAEMON($name," "$DEF" && die "$name is already on daemons.def"
[ -e "$ROOT/services/$name" ] && die "services/$name exists already"
grep -q '^HD_DAEMON(gateway,' "$DEF" || die "daemons.def has no gateway line to insert before"

# The next ports after the highest on the list.
next_port() {
	sed -n 's/^HD_DAEMON([a-z0-9]*, \([0-9]*\), \([0-9]*\),.*/\1 \2/p' "$DEF" |
		awk -v col="$1" '$col > max { max = $col } END { print max + 1 }'
}
rpc=$(next_port 1)
admin=$(next_port 2)
line="HD_DAEMON($name, $rpc, $admin, \"helpdesk/$name\", \"services/$name/sql\")"

dest=$ROOT/services/$name
mkdir -p "$dest/sql"
for f in Makefile main.c sql/001_init.sql; do
	sed -e "s/@NAME@/$name/g" -e "s/@UNAME@/${name^^}/g" "$SKELETON/$f" >"$dest/$f"
done
# its line goes before the gateway's (start order: the gateway last)
sed -i "/^HD_DAEMON(gateway,/i $line" "$DEF"
echo "new-daemon.sh: services/$name created; daemons.def: $line"
"$TOOLS/daemons.sh" gen
cat <<EOF
new-daemon.sh: next: make -j2 && make run (hd-$name starts with the stack; its
admin port $admin answers /healthz); operations and routes: docs/adding-a-daemon.md.
EOF
