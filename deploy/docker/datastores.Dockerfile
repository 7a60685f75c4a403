# syntax=docker/dockerfile:1
# Local equivalents of the public datastore images deploy/compose.yaml uses
# (postgis/postgis:15-3.3 and redis:7.0), built from Debian 12 packages when
# no registry gives those (deploy/images.sh; docs/operations.md, "Images").
# They keep the parts of the official images' contract compose relies on:
# POSTGRES_PASSWORD, /docker-entrypoint-initdb.d/*.sql run once on a new
# data directory, data in /var/lib/postgresql/data, pg_isready; redis-server
# and redis-cli with data in /data.
ARG DEBIAN_RUNTIME=debian:12.11-slim

FROM ${DEBIAN_RUNTIME} AS postgres
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      postgresql-15 postgresql-15-postgis-3 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY deploy/docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]

FROM ${DEBIAN_RUNTIME} AS redis
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY deploy/docker/redis-entrypoint.sh /usr/local/bin/redis-entrypoint
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
