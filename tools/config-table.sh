#!/usr/bin/env bash
# Generates the README's table of HD_* settings from config.def, the one list
# of settings (make docs-config). The table sits between two marker comments
# in the README and is replaced whole; the rest of the file is kept.
#
#   tools/config-table.sh CONFIG_DEF README          rewrite the table
#   tools/config-table.sh CONFIG_DEF README --check  exit 1 when it is out of date
#   tools/config-table.sh CONFIG_DEF                 print the table
set -euo pipefail

BEGIN='<!-- BEGIN config-table: generated from libs/include/hd/config.def by `make docs-config`; do not edit -->'
END='<!-- END config-table -->'

die() { echo "config-table.sh: $*" >&2; exit 1; }

# Prints the Markdown table for the HD_SETTING lines of $1.
table() {
	local re='^HD_SETTING\("([A-Z0-9_]+)", (NULL|"([^"]*)"), "(.*)"\)$' line n=0 def desc
	echo "| setting | default | what it does |"
	echo "|---|---|---|"
	while IFS= read -r line; do
		[[ $line == HD_SETTING* ]] || continue
		[[ $line =~ $re ]] || die "cannot parse: $line"
		if [ "${BASH_REMATCH[2]}" = NULL ]; then
			def="*(none)*"
		elif [ -z "${BASH_REMATCH[3]}" ]; then
			def="*(empty)*"
		else
			def="\`${BASH_REMATCH[3]}\`"
		fi
		desc=${BASH_REMATCH[4]//|/\\|}
		desc=${desc//\\\"/\"}
		echo "| \`${BASH_REMATCH[1]}\` | $def | $desc |"
		n=$((n + 1))
	done <"$1"
	[ "$n" -gt 0 ] || die "no HD_SETTING lines in $1"
}

# Prints README $1 with the block between the markers replaced by file $2.
splice() {
	grep -qxF "$BEGIN" "$1" || die "$1 lacks the line: $BEGIN"
	grep -qxF "$END" "$1" || die "$1 lacks the line: $END"
	awk -v b="$BEGIN" -v e="$END" -v t="$2" '
		$0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$1"
}

[ $# -ge 1 ] && [ -r "$1" ] || die "usage: $0 CONFIG_DEF [README [--check]]"
if [ $# -eq 1 ]; then
	table "$1"
	exit 0
fi
tmp=$(mktemp)
out=$(mktemp)
trap 'rm -f "$tmp" "$out"' EXIT
table "$1" >"$tmp"
splice "$2" "$tmp" >"$out"
if [ "${3:-}" = --check ]; then
	cmp -s "$out" "$2" || die "$2: the settings table is out of date: run make docs-config"
	exit 0
fi
cmp -s "$out" "$2" || cat "$out" >"$2"
