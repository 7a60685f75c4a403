-- Tag lists read only their tenant's rows (issue 18, docs/benchmarks.md "At
-- scale", third round). The GIN index on tags (001) held one posting list per
-- tag for every tenant together: a tag rare in acme's 1,000,000 tickets
-- (tag-299, 1,170 of them) fetched the 2,275 heap rows of all eleven tenants
-- to sort acme's, and in a tenant of 100,000 the same 2,275 rows for its 100;
-- and the planner priced a tag by the whole table's statistics, so a tag
-- common elsewhere looked common in a tenant that has few. The keys of this
-- index are "<tenant id>/<tag>" (the tenant's text is always 36 characters,
-- so no tag can spell another's key): a posting list is one tenant's tag, and
-- the index expression has its own statistics (the most common keys per
-- tenant). services/ticket/ticket_list_sql.c writes the filter as
--   ticket.tag_keys(t.tenant_id, t.tags) @> ticket.tag_keys($1, ARRAY[$n])
-- which the planner matches to the index (the same expression) and folds on
-- the right (immutable, constant arguments in a custom plan).
--
-- The function's body must never change (an index stores its results): a
-- different key needs a new function and a new index, which is why it lives
-- here and not in a repeatable R_ file. PL/pgSQL: its loop of simple
-- expressions costs a few microseconds a row, where an SQL body with a
-- sub-select (not inlinable) set up an executor per call.
CREATE FUNCTION ticket.tag_keys(tenant uuid, tags text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	tag text;
	keys text[] := '{}';
	prefix text := tenant::text || '/';
BEGIN
	FOREACH tag IN ARRAY tags LOOP
		keys := keys || (prefix || tag);
	END LOOP;
	RETURN keys;
END
$$;

-- as 015 did for the old index: searches read the whole pending list
CREATE INDEX tickets_tag_keys_idx ON ticket.tickets USING gin (ticket.tag_keys(tenant_id, tags))
	WITH (gin_pending_list_limit = 256);
-- 11 tenants x 300 tags are 3,300 keys: 5,000 most common elements keep
-- nearly all of them, so a tenant's rare tag is priced by its own count
ALTER INDEX ticket.tickets_tag_keys_idx ALTER COLUMN 1 SET STATISTICS 500;
-- only the list's tag filter read it (automations test tags row by row)
DROP INDEX ticket.tickets_tags_idx;
ANALYZE ticket.tickets;
