-- Runs once, on the first start of the compose PostgreSQL (as its superuser,
-- from /docker-entrypoint-initdb.d). Same layout as deploy/stack.sh:
-- hd_owner owns the schemas and runs migrations; hd_app is what the daemons
-- use and owns nothing, so row-level security applies to it; hd_relay is the
-- outbox relays' (the only role that may claim events to publish).
-- Passwords come from the environment (psql 15 \getenv), never from this file.
\set ON_ERROR_STOP on
\getenv owner_password HD_OWNER_PASSWORD
\getenv app_password HD_APP_PASSWORD
\getenv relay_password HD_RELAY_PASSWORD

CREATE ROLE hd_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE hd_app LOGIN PASSWORD :'app_password';
CREATE ROLE hd_relay LOGIN PASSWORD :'relay_password';
CREATE DATABASE helpdesk OWNER hd_owner;
REVOKE ALL ON DATABASE helpdesk FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE helpdesk TO hd_app;
GRANT CONNECT ON DATABASE helpdesk TO hd_relay;

\connect helpdesk
-- hd-field: geography columns (PostGIS) and its exclusion constraint (btree_gist)
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
