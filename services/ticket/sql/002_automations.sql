-- Automation rules: on ticket.created / ticket.updated, when every condition
-- holds, apply the actions to the ticket row before it is written (a BEFORE
-- trigger, so in the same transaction and statement as the change). Rules run
-- once, in creation order, in a single pass: an action never fires another
-- rule or another UPDATE, so rules cannot loop.
CREATE TABLE ticket.automations (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
	event      text        NOT NULL CHECK (event IN ('ticket.created', 'ticket.updated')),
	conditions jsonb       NOT NULL DEFAULT '[]',
	actions    jsonb       NOT NULL DEFAULT '[]',
	active     boolean     NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	version    integer     NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX automations_event_idx ON ticket.automations (tenant_id, event, created_at, id)
	WHERE active;
ALTER TABLE ticket.automations ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket.automations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket.automations USING (tenant_id = ticket.current_tenant())
	WITH CHECK (tenant_id = ticket.current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON ticket.automations TO hd_app;

CREATE FUNCTION ticket.automation_json(a ticket.automations) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', a.id, 'name', a.name, 'event', a.event,
	                         'conditions', a.conditions, 'actions', a.actions, 'active', a.active,
	                         'created_at', ticket.ts(a.created_at),
	                         'updated_at', ticket.ts(a.updated_at), 'version', a.version)
$$;

-- One condition {"field","op","value"} against a ticket row.
CREATE FUNCTION ticket.automation_cond(t ticket.tickets, c jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT COALESCE(CASE
		WHEN c ->> 'field' = 'tags' THEN CASE c ->> 'op'
			WHEN 'eq' THEN (c ->> 'value') = ANY (t.tags)
			WHEN 'contains' THEN (c ->> 'value') = ANY (t.tags)
			WHEN 'ne' THEN NOT ((c ->> 'value') = ANY (t.tags))
			WHEN 'in' THEN t.tags && ARRAY(SELECT jsonb_array_elements_text(c -> 'value'))
		END
		ELSE (SELECT CASE c ->> 'op'
			WHEN 'eq' THEN v.x = (c ->> 'value')
			WHEN 'ne' THEN v.x IS DISTINCT FROM (c ->> 'value')
			WHEN 'contains' THEN strpos(lower(COALESCE(v.x, '')), lower(c ->> 'value')) > 0
			WHEN 'in' THEN v.x = ANY (ARRAY(SELECT jsonb_array_elements_text(c -> 'value')))
		END FROM (SELECT CASE c ->> 'field' WHEN 'subject' THEN t.subject
			WHEN 'description' THEN t.description WHEN 'priority' THEN t.priority
			WHEN 'category' THEN t.category WHEN 'status' THEN t.status END) v(x))
	END, false)
$$;

-- The rule runner (a BEFORE trigger on tickets) is in R_automations.sql.
