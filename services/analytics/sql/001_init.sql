-- analytics schema (docs/architecture.md "Analytics"). Run as hd_owner by
-- `hd-analytics --migrate`; the daemon connects as hd_app, which owns nothing,
-- so row-level security always applies to it.
--
-- The figures are exact: instead of counters or sketches the schema keeps one
-- row per fact the events tell (a ticket, a first response, a move to solved,
-- a breach, a rating, a work order), and every reply is computed from these
-- rows by SQL (counts, percentile_cont). hd-ticket's and hd-field's events are
-- applied by the libs consumer (hd/consumer.h) through apply_ticket_event and
-- apply_field_event, in the transaction that moves analytics.consumed.
CREATE SCHEMA IF NOT EXISTS analytics;
GRANT USAGE ON SCHEMA analytics TO hd_app;

-- RFC 3339 UTC with milliseconds, the API's one time format.
CREATE FUNCTION analytics.ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Minutes from a to b (fractional), as float8 for percentile_cont.
CREATE FUNCTION analytics.minutes(a timestamptz, b timestamptz) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (extract(epoch FROM (b - a)) / 60)::double precision
$$;

-- One row per ticket: its current state as the last event told it.
CREATE TABLE analytics.tickets (
	tenant_id          uuid        NOT NULL,
	ticket_id          uuid        NOT NULL,
	created_at         timestamptz NOT NULL,
	status             text        NOT NULL,
	priority           text        NOT NULL,
	assignee_id        uuid,
	first_response_at  timestamptz,
	first_response_due timestamptz,
	resolution_due     timestamptz,
	solved_at          timestamptz,
	-- an sla.breached event said this target was missed
	fr_breached        boolean     NOT NULL DEFAULT false,
	res_breached       boolean     NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, ticket_id)
);
-- the summary's one pass over a window's tickets reads this index only
CREATE INDEX tickets_created_idx ON analytics.tickets (tenant_id, created_at)
	INCLUDE (status, priority, first_response_at, first_response_due, solved_at, resolution_due,
	         fr_breached, res_breached);

-- The first public answer of an agent or admin (comment.added with
-- first_response), by whom and how long after the ticket's creation.
CREATE TABLE analytics.first_responses (
	tenant_id uuid             NOT NULL,
	ticket_id uuid             NOT NULL,
	at        timestamptz      NOT NULL,
	agent_id  uuid,
	minutes   double precision NOT NULL,
	PRIMARY KEY (tenant_id, ticket_id)
);
CREATE INDEX first_responses_at_idx ON analytics.first_responses (tenant_id, at) INCLUDE (minutes);

-- Every move to solved (a ticket may be solved, reopened, solved again), by
-- whom (NULL: an automation at creation) and the minutes since creation.
CREATE TABLE analytics.solves (
	tenant_id uuid             NOT NULL,
	ticket_id uuid             NOT NULL,
	at        timestamptz      NOT NULL,
	agent_id  uuid,
	minutes   double precision NOT NULL,
	PRIMARY KEY (tenant_id, ticket_id, at)
);
CREATE INDEX solves_at_idx ON analytics.solves (tenant_id, at) INCLUDE (minutes);

-- SLA targets missed (sla.breached), at the time they fell due.
CREATE TABLE analytics.breaches (
	tenant_id uuid        NOT NULL,
	ticket_id uuid        NOT NULL,
	target    text        NOT NULL,
	due       timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, ticket_id, target)
);
CREATE INDEX breaches_due_idx ON analytics.breaches (tenant_id, due);

-- The requester's rating, credited to the ticket's assignee when rated.
CREATE TABLE analytics.ratings (
	tenant_id uuid        NOT NULL,
	ticket_id uuid        NOT NULL,
	at        timestamptz NOT NULL,
	agent_id  uuid,
	good      boolean     NOT NULL,
	PRIMARY KEY (tenant_id, ticket_id)
);
CREATE INDEX ratings_at_idx ON analytics.ratings (tenant_id, at);

CREATE TABLE analytics.work_orders (
	tenant_id     uuid        NOT NULL,
	work_order_id uuid        NOT NULL,
	created_at    timestamptz NOT NULL,
	completed_at  timestamptz,
	PRIMARY KEY (tenant_id, work_order_id)
);
CREATE INDEX work_orders_created_idx ON analytics.work_orders (tenant_id, created_at);
CREATE INDEX work_orders_completed_idx ON analytics.work_orders (tenant_id, completed_at)
	WHERE completed_at IS NOT NULL;

-- The tenant's time zone for day and hour buckets (GET/PUT /v1/analytics/settings).
CREATE TABLE analytics.settings (
	tenant_id  uuid        PRIMARY KEY,
	timezone   text        NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['tickets', 'first_responses', 'solves', 'breaches', 'ratings',
	                         'work_orders', 'settings'] LOOP
		EXECUTE format('ALTER TABLE analytics.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE analytics.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON analytics.%I '
		               'USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid) '
		               'WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON analytics.%I TO hd_app', t);
	END LOOP;
END
$$;

-- The facts of a ticket as its JSON (the API's ticket object) tells them.
-- (PL/pgSQL, not SQL: a SQL function called per event would be planned
-- again on every call.)
CREATE FUNCTION analytics.ticket_upsert(p_tenant uuid, t json) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO analytics.tickets AS x (tenant_id, ticket_id, created_at, status, priority,
		assignee_id, first_response_at, first_response_due, resolution_due, solved_at)
	VALUES (p_tenant, (t ->> 'id')::uuid, (t ->> 'created_at')::timestamptz, t ->> 'status',
		t ->> 'priority', (t ->> 'assignee_id')::uuid, (t ->> 'first_response_at')::timestamptz,
		(t -> 'sla' ->> 'first_response_due')::timestamptz,
		(t -> 'sla' ->> 'resolution_due')::timestamptz, (t ->> 'solved_at')::timestamptz)
	ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET status = EXCLUDED.status,
		priority = EXCLUDED.priority, assignee_id = EXCLUDED.assignee_id,
		first_response_at = EXCLUDED.first_response_at,
		first_response_due = EXCLUDED.first_response_due,
		resolution_due = EXCLUDED.resolution_due, solved_at = EXCLUDED.solved_at;
END
$$;

-- A move to solved at `at` by p_agent.
CREATE FUNCTION analytics.solve_add(p_tenant uuid, t json, at timestamptz, p_agent uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO analytics.solves (tenant_id, ticket_id, at, agent_id, minutes)
	VALUES (p_tenant, (t ->> 'id')::uuid, at, p_agent,
	        analytics.minutes((t ->> 'created_at')::timestamptz, at))
	ON CONFLICT DO NOTHING;
END
$$;

-- The effect of one hd-ticket event (hd/consumer.h: tenant, type, data,
-- event id, seq, actor). Types that tell no figure change nothing.
CREATE FUNCTION analytics.apply_ticket_event(p_tenant uuid, p_type text, p_data json,
                                             p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	t  json := p_data -> 'ticket';
	ch json := p_data -> 'changes';
	at timestamptz;
BEGIN
	CASE p_type
	WHEN 'ticket.created' THEN
		PERFORM analytics.ticket_upsert(p_tenant, p_data);
		IF p_data ->> 'status' = 'solved' THEN -- an automation solved it at creation
			PERFORM analytics.solve_add(p_tenant, p_data, (p_data ->> 'solved_at')::timestamptz, NULL);
		END IF;
	WHEN 'ticket.updated' THEN
		PERFORM analytics.ticket_upsert(p_tenant, t);
		at := (t ->> 'updated_at')::timestamptz; -- the history entry's time
		IF ch -> 'status' ->> 'to' = 'solved' THEN
			PERFORM analytics.solve_add(p_tenant, t, at, p_actor);
		END IF;
		IF ch -> 'satisfaction' ->> 'to' IS NOT NULL THEN
			INSERT INTO analytics.ratings (tenant_id, ticket_id, at, agent_id, good)
			VALUES (p_tenant, (t ->> 'id')::uuid, at, (t ->> 'assignee_id')::uuid,
			        ch -> 'satisfaction' ->> 'to' = 'good')
			ON CONFLICT DO NOTHING;
		END IF;
	WHEN 'comment.added' THEN
		IF (p_data ->> 'first_response')::boolean THEN
			at := (p_data ->> 'created_at')::timestamptz;
			UPDATE analytics.tickets x SET first_response_at = at
				WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'ticket_id')::uuid;
			INSERT INTO analytics.first_responses (tenant_id, ticket_id, at, agent_id, minutes)
			SELECT p_tenant, x.ticket_id, at, (p_data ->> 'author_id')::uuid,
			       analytics.minutes(x.created_at, at)
			FROM analytics.tickets x
			WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'ticket_id')::uuid
			ON CONFLICT DO NOTHING;
		END IF;
	WHEN 'sla.breached' THEN
		INSERT INTO analytics.breaches (tenant_id, ticket_id, target, due)
		VALUES (p_tenant, (p_data ->> 'ticket_id')::uuid, p_data ->> 'target',
		        (p_data ->> 'due')::timestamptz)
		ON CONFLICT DO NOTHING;
		UPDATE analytics.tickets x
			SET fr_breached = x.fr_breached OR p_data ->> 'target' = 'first_response',
			    res_breached = x.res_breached OR p_data ->> 'target' = 'resolution'
			WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'ticket_id')::uuid;
	WHEN 'ticket.deleted' THEN -- a deleted ticket leaves every figure
		DELETE FROM analytics.first_responses x WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'id')::uuid;
		DELETE FROM analytics.solves x WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'id')::uuid;
		DELETE FROM analytics.breaches x WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'id')::uuid;
		DELETE FROM analytics.ratings x WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'id')::uuid;
		DELETE FROM analytics.tickets x WHERE x.tenant_id = p_tenant AND x.ticket_id = (p_data ->> 'id')::uuid;
	ELSE
		NULL;
	END CASE;
END
$$;

-- The effect of one hd-field event: work orders created and completed.
CREATE FUNCTION analytics.apply_field_event(p_tenant uuid, p_type text, p_data json,
                                            p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	w json := p_data -> 'work_order';
BEGIN
	IF p_type IN ('workorder.created', 'workorder.completed') THEN
		INSERT INTO analytics.work_orders AS x (tenant_id, work_order_id, created_at, completed_at)
		VALUES (p_tenant, (w ->> 'id')::uuid, (w ->> 'created_at')::timestamptz,
		        (w ->> 'completed_at')::timestamptz)
		ON CONFLICT (tenant_id, work_order_id) DO UPDATE SET completed_at = EXCLUDED.completed_at;
	END IF;
END
$$;

-- `hd-analytics --rebuild`: forgets every fact and both positions, so the
-- consumers apply every event again from seq 1. SECURITY DEFINER: TRUNCATE
-- is the owner's; hd_app may only call it.
CREATE FUNCTION analytics.rebuild_reset() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	TRUNCATE analytics.tickets, analytics.first_responses, analytics.solves,
	         analytics.breaches, analytics.ratings, analytics.work_orders;
	UPDATE analytics.consumed SET last_seq = 0;
END
$$;
REVOKE ALL ON FUNCTION analytics.rebuild_reset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics.rebuild_reset() TO hd_app;
