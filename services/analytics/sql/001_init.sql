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

-- Functions: R_common.sql (helpers), R_events.sql (applying events),
-- R_reports.sql (the figures): repeatable files, one text each.

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
