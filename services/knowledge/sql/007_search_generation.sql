-- The knowledge GENERATION of each tenant: the key of the search result
-- cache (docs/architecture.md, "Knowledge search cache"). Any statement that
-- inserts, updates or deletes articles (create, PATCH, publish, archive,
-- restore, delete, helpful feedback) gives each tenant it touched a new
-- generation, in the same transaction, so a search that sees the new
-- articles also sees the new generation and a cached reply keyed with an
-- older one is never read again. Values come from one sequence, so a
-- generation is never reused, even if a tenant's row is deleted and made
-- again (only restoring a backup moves the sequence back: docs/operations.md).
CREATE SEQUENCE knowledge.search_generation_seq;

CREATE TABLE knowledge.search_generations (
	tenant_id  uuid   NOT NULL PRIMARY KEY,
	generation bigint NOT NULL
);
ALTER TABLE knowledge.search_generations ENABLE ROW LEVEL SECURITY;
ALTER TABLE knowledge.search_generations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON knowledge.search_generations
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- the trigger's function runs as the owner and bumps the tenants of the
-- rows written, whatever the session's tenant (the bench's seed has none)
CREATE POLICY generation_owner ON knowledge.search_generations TO CURRENT_USER
	USING (true) WITH CHECK (true);
GRANT SELECT ON knowledge.search_generations TO hd_app;

-- The caller's generation (0 before its first article). STABLE: called in
-- the search's own statement it reads the same snapshot as the search.
CREATE FUNCTION knowledge.search_generation() RETURNS bigint
	LANGUAGE sql STABLE
	AS $$ SELECT coalesce((SELECT g.generation FROM knowledge.search_generations g
		WHERE g.tenant_id = knowledge.tenant()), 0) $$;

-- Statement level: one bump per tenant per statement, however many rows
-- (tenants in order, so two statements never wait on each other in turn).
CREATE FUNCTION knowledge.bump_search_generation() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO knowledge.search_generations AS g (tenant_id, generation)
		SELECT t.tenant_id, nextval('knowledge.search_generation_seq')
		FROM (SELECT DISTINCT o.tenant_id FROM old_rows o ORDER BY 1) t
		ON CONFLICT (tenant_id) DO UPDATE SET generation = EXCLUDED.generation;
	ELSE
		INSERT INTO knowledge.search_generations AS g (tenant_id, generation)
		SELECT t.tenant_id, nextval('knowledge.search_generation_seq')
		FROM (SELECT DISTINCT n.tenant_id FROM new_rows n ORDER BY 1) t
		ON CONFLICT (tenant_id) DO UPDATE SET generation = EXCLUDED.generation;
	END IF;
	RETURN NULL;
END $$;

-- Transition tables allow one event per trigger: three triggers.
CREATE TRIGGER articles_generation_insert AFTER INSERT ON knowledge.articles
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION knowledge.bump_search_generation();
CREATE TRIGGER articles_generation_update AFTER UPDATE ON knowledge.articles
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION knowledge.bump_search_generation();
CREATE TRIGGER articles_generation_delete AFTER DELETE ON knowledge.articles
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION knowledge.bump_search_generation();
