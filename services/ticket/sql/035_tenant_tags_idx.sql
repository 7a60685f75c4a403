-- A tag filter that reads only its tenant's rows (issue 18, docs/benchmarks.md
-- "At scale", fifth round). tickets_tags_idx (001) has no tenant: a rare tag
-- found its rows in every tenant and the list fetched each one from the table
-- to drop the other tenants' (at 2,000,000 tickets, tag-299 in acme read 2,378
-- buffers, in a tenant of 100,000 tickets 622 for its 5 matches' page). A GIN
-- index over (tenant_id, tags, assignee_id) answers the conditions at once:
-- GIN intersects the tag's short posting list with the tenant's (and the
-- assignee's, for a tag with an assignee), stepping through the long ones, and
-- the table is read for the tenant's matches only (1,512 and 159 buffers).
-- assignee_id is in it because the planner does not AND two indexes that both
-- use the tenant condition: without it, a tag with an assignee lost the
-- BitmapAnd of tickets_tags_idx and tickets_assignee_idx (370 buffers in acme,
-- 1,512 with (tenant_id, tags) alone; 354 with this index).
-- btree_gin gives GIN the uuid equality; it is a trusted extension (PostgreSQL
-- 13+), so the database owner that runs the migrations may create it, as
-- pg_trgm (services/knowledge/sql/001_init.sql); Debian's postgresql-15 and the
-- postgis/postgis image ship it. It replaces tickets_tags_idx (dropped by 036,
-- in its own transaction: here, holding the build's share lock, the drop's
-- exclusive lock deadlocked with a running daemon's write; beside the old
-- index, the planner preferred the old, smaller one in a large tenant). Same
-- small pending list as the other GIN index (015). A plain CREATE INDEX: writes
-- to tickets wait while it builds, 4 s at 2,000,000 tickets on a quiet machine
-- (docs/operations.md, Upgrades and migrations).
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;
CREATE INDEX tickets_tenant_tags_idx ON ticket.tickets USING gin (tenant_id, tags, assignee_id)
	WITH (gin_pending_list_limit = 256);
