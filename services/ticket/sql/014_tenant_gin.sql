-- Tag and full-text lists per tenant (issue 18, docs/benchmarks.md "At
-- scale", second round). The GIN indexes on tags and search (001) held every
-- tenant's rows: a tag or a word rare in the database still meant one heap
-- fetch per matching ticket of every tenant, each then dropped by the tenant
-- condition (tag-299 at 2,000,000 tickets: 2,275 rows fetched for acme's
-- 1,170; in a tenant of 100,000, about 117 of them). With tenant_id as the
-- first column (btree_gin's uuid operator class) the index scan returns the
-- tenant's rows only: the scan walks the tenant's posting tree only where
-- the value's entries point. Each ticket gets one more GIN entry per index,
-- in place of nothing: the old indexes go, since every reader of tags and
-- search (the list's view ticket.tickets_listed, 013, and
-- ticket.ticket_suggestions, 007) names the tenant.
-- btree_gin is a trusted extension: the database's owner may create it.
-- On an existing database this builds with a plain CREATE INDEX, which blocks
-- writes to tickets while it runs (docs/operations.md, "Upgrades and migrations").
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;
CREATE INDEX tickets_tenant_tags_idx ON ticket.tickets USING gin (tenant_id, tags);
CREATE INDEX tickets_tenant_search_idx ON ticket.tickets USING gin (tenant_id, search);
DROP INDEX ticket.tickets_tags_idx;
DROP INDEX ticket.tickets_search_idx;
