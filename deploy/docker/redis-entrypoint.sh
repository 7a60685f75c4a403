#!/bin/sh
# Entry point of the local Redis image (deploy/docker/datastores.Dockerfile).
# Like the official image, Redis listens on every address with protected
# mode off: the container network is the boundary (compose publishes no
# Redis port). Without a configuration file Redis 7 would refuse every
# client but loopback in protected mode. Any other command runs as given.
set -eu
if [ "${1:-}" = redis-server ]; then
	shift
	exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
