-- A tag filter that reads only its tenant's rows (issue 18, docs/benchmarks.md
-- "At scale", fifth round). tickets_tags_idx (001) has no tenant: a rare tag
-- found its rows in every tenant and the list fetched each one from the table
-- to drop the other tenants' (at 2,000,000 tickets, tag-299 in acme read 2,266
-- heap pages, 393 ms from disk). A GIN index over (tenant_id, tags) answers
-- both conditions at once: GIN intersects the tag's short posting list with
-- the tenant's, stepping through the long one, and the table is read for the
-- tenant's matches only. btree_gin gives GIN the uuid equality; it is a
-- trusted extension (PostgreSQL 13+), so the database owner that runs the
-- migrations may create it, as pg_trgm (services/knowledge/sql/001_init.sql);
-- Debian's postgresql-15 and the postgis/postgis image ship it.
-- It replaces tickets_tags_idx: beside it, the planner priced the old index's
-- smaller size over the heap reads it costs and kept it for a large tenant.
-- Same small pending list as the other GIN index (015). A plain CREATE INDEX blocks writes to tickets while it builds: about
-- 9 s at 2,000,000 tickets (docs/operations.md, Upgrades).
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;
CREATE INDEX tickets_tenant_tags_idx ON ticket.tickets USING gin (tenant_id, tags)
	WITH (gin_pending_list_limit = 256);
DROP INDEX ticket.tickets_tags_idx;
