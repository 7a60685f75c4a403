#!/usr/bin/env bash
# Builds every container image (docs/operations.md, "Images") with whichever
# engine this machine has: Docker when `docker info` answers, else podman.
#
#   deploy/images.sh engine          print "docker", "podman" or "none"
#   deploy/images.sh build VERSION   build helpdesk/<name>:VERSION for every
#                                    image of daemons.def, the certs image and,
#                                    when the public ones cannot be pulled, the
#                                    local PostgreSQL + PostGIS and Redis images
#   deploy/images.sh env             print the compose variables that name the
#                                    datastore images build chose (KEY=VALUE)
#   deploy/images.sh list VERSION    the platform's images, one per line
#
# Base images: the public ones (debian:12.11, debian:12.11-slim, the Node
# image for the console, postgis/postgis, redis) where a registry answers;
# otherwise a Debian 12 base made here with debootstrap from the Debian
# mirror (cached in var/images/, rebuilt when missing), the console built on
# the host (`make web`), and PostgreSQL + PostGIS and Redis installed from
# Debian on that base (deploy/docker/datastores.Dockerfile). One code path:
# only the FROM lines' arguments differ.
#
# podman runs with deploy/podman/containers.conf (runc, cgroupfs, no default
# ulimits: what a VM or container without systemd needs; see the file).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$ROOT/var/images
DOCKERFILE=$ROOT/deploy/docker/Dockerfile
DATASTORES=$ROOT/deploy/docker/datastores.Dockerfile
LOCAL_BASE=localhost/helpdesk-debian:12
# Fully qualified: podman resolves no short names without a search list.
PUBLIC_BUILD=docker.io/library/debian:12.11
PUBLIC_RUNTIME=docker.io/library/debian:12.11-slim
PUBLIC_NODE=docker.io/library/node:22.12.0-bookworm-slim
PUBLIC_POSTGRES=docker.io/postgis/postgis:15-3.3
PUBLIC_REDIS=docker.io/library/redis:7.0
LOCAL_POSTGRES=localhost/helpdesk-postgres:15
LOCAL_REDIS=localhost/helpdesk-redis:7

log() { echo "images: $*" >&2; }
die() { log "$*"; exit 1; }

engine() {
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		echo docker
	elif command -v podman >/dev/null && podman_cmd info >/dev/null 2>&1; then
		echo podman
	else
		echo none
	fi
}

podman_cmd() {
	CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf} podman "$@"
}

# The engine's command line: `E build …`, `E image inspect …`.
E() {
	if [ "$ENGINE" = podman ]; then podman_cmd "$@"; else docker "$@"; fi
}

have_image() { E image inspect "$1" >/dev/null 2>&1; }

# Pulls image unless it is here; false when no registry gives it (bounded:
# an unreachable registry must not stall the build for minutes).
pullable() {
	have_image "$1" && return 0
	if [ "$ENGINE" = podman ]; then
		timeout 120 env CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}" \
			podman pull -q "$1"
	else
		timeout 120 docker pull -q "$1"
	fi >/dev/null 2>&1 </dev/null
}

# A Debian 12 minbase root file system from the Debian mirror, without the
# package cache, lists, documentation and locales, imported as LOCAL_BASE.
local_base() {
	have_image "$LOCAL_BASE" && return 0
	local tar=$CACHE/debian-12-minbase-v2.tar # v2: apt keeps no cache
	if [ ! -s "$tar" ]; then
		command -v debootstrap >/dev/null ||
			die "no registry answers and debootstrap is missing (apt-get install debootstrap)"
		local rootfs=$CACHE/rootfs
		rm -rf "$rootfs" && mkdir -p "$CACHE"
		log "making a Debian 12 base with debootstrap (about a minute)"
		debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
			>"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed: see $CACHE/debootstrap.log"
		rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
			"$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
			"$rootfs"/usr/share/locale/*
		# as Debian's official images do: apt keeps no package cache (about
		# 80 MB in every layer that runs apt-get otherwise)
		cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<-'APT'
			DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
			APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
			Dir::Cache::pkgcache "";
			Dir::Cache::srcpkgcache "";
		APT
		tar -C "$rootfs" -cf "$tar.part" . && mv "$tar.part" "$tar"
		rm -rf "$rootfs"
	fi
	E import "$tar" "$LOCAL_BASE" >/dev/null 2>&1 || die "importing $tar failed"
}

# Chooses the FROM arguments: public bases when pullable, else local ones.
choose_bases() {
	if pullable "$PUBLIC_BUILD" && pullable "$PUBLIC_RUNTIME"; then
		log "bases: $PUBLIC_BUILD, $PUBLIC_RUNTIME"
		BUILD_ARGS+=(--build-arg "DEBIAN_BUILD=$PUBLIC_BUILD" --build-arg "DEBIAN_RUNTIME=$PUBLIC_RUNTIME")
	else
		local_base
		log "bases: $LOCAL_BASE (no registry answered; made with debootstrap)"
		BUILD_ARGS+=(--build-arg "DEBIAN_BUILD=$LOCAL_BASE" --build-arg "DEBIAN_RUNTIME=$LOCAL_BASE")
	fi
	if pullable "$PUBLIC_NODE"; then
		log "console: built in $PUBLIC_NODE"
		BUILD_ARGS+=(--build-arg "NODE_BUILD=$PUBLIC_NODE")
	else
		log "console: built on the host (make web), no Node image"
		make -C "$ROOT" web >/dev/null || die "make web failed"
		[ -s "$ROOT/web/dist/index.html" ] || die "web/dist has no index.html"
		BUILD_ARGS+=(--build-arg WEB_STAGE=web-prebuilt)
	fi
	# podman: apt-get inside the build needs the host's network, and only the
	# docker image format keeps HEALTHCHECK (OCI has no such field)
	[ "$ENGINE" = podman ] && BUILD_ARGS+=(--network host --format docker)
	return 0
}

build_one() {
	local target=$1 tag=$2 file=${3:-$DOCKERFILE}
	log "building $tag"
	E build -q -f "$file" --target "$target" -t "$tag" "${BUILD_ARGS[@]}" "$ROOT" >/dev/null ||
		die "building $tag failed"
}

# The datastores compose needs: the public images, else local equivalents.
datastores() {
	if pullable "$PUBLIC_POSTGRES" && pullable "$PUBLIC_REDIS"; then
		POSTGRES_IMAGE=$PUBLIC_POSTGRES REDIS_IMAGE=$PUBLIC_REDIS
		return 0
	fi
	build_one postgres "$LOCAL_POSTGRES" "$DATASTORES"
	build_one redis "$LOCAL_REDIS" "$DATASTORES"
	POSTGRES_IMAGE=$LOCAL_POSTGRES REDIS_IMAGE=$LOCAL_REDIS
}

cmd_build() {
	local version=$1
	[ "$ENGINE" != none ] || die "no container engine (Docker or podman) can run here"
	BUILD_ARGS=()
	choose_bases
	build_one certs "helpdesk/certs:$version"
	"$ROOT/tools/daemons.sh" images | while read -r name image; do
		build_one "$name" "$image:$version"
	done
	datastores
	printf 'HD_POSTGRES_IMAGE=%s\nHD_REDIS_IMAGE=%s\n' "$POSTGRES_IMAGE" "$REDIS_IMAGE" >"$CACHE/compose.env"
	log "done: $(image_list "$version" | paste -sd' ')"
}

# Every image of the platform, with its tag.
image_list() {
	echo "helpdesk/certs:$1"
	"$ROOT/tools/daemons.sh" images | while read -r _ image; do echo "$image:$1"; done
}

ENGINE=$(engine)
case "${1:-}" in
engine) echo "$ENGINE" ;;
build) mkdir -p "$CACHE"; cmd_build "${2:?version}" ;;
env) cat "$CACHE/compose.env" ;;
list) image_list "${2:?version}" ;;
*) die "usage: $0 engine | build VERSION | env | list VERSION" ;;
esac
