-- Ticket service schema: tickets, per-tenant counters, comments, history,
-- SLA policies, idempotency keys and the transactional outbox.
-- Every table carries tenant_id first and is guarded by row-level security
-- on app.tenant_id (set with set_config(..., true) at the start of each
-- transaction by the daemon, which connects as hd_app).
CREATE SCHEMA IF NOT EXISTS ticket;
GRANT USAGE ON SCHEMA ticket TO hd_app;

-- UUIDv7 (RFC 9562) for rows created inside SQL (outbox events, history).
CREATE FUNCTION ticket.uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
	SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
		substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
		FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- RFC 3339 UTC with milliseconds, the API's one time format. STABLE like
-- to_char, so the planner inlines it (an IMMUTABLE label would stop that).
CREATE FUNCTION ticket.ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- The caller's tenant, NULL when unset (after commit it reads '').
CREATE FUNCTION ticket.current_tenant() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;

-- One row per tenant: "UPDATE ... RETURNING" inside the ticket's own
-- transaction gives gap-free numbers (the row lock serialises creators).
CREATE TABLE ticket.counters (
	tenant_id   uuid   PRIMARY KEY,
	last_number bigint NOT NULL DEFAULT 0
);

CREATE TABLE ticket.tickets (
	tenant_id          uuid        NOT NULL,
	id                 uuid        NOT NULL,
	number             bigint      NOT NULL,
	subject            text        NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
	description        text        NOT NULL DEFAULT '' CHECK (octet_length(description) <= 65536),
	status             text        NOT NULL DEFAULT 'new'
	                   CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')),
	priority           text        NOT NULL DEFAULT 'normal'
	                   CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
	category           text        CHECK (char_length(category) BETWEEN 1 AND 100),
	tags               text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
	requester_id       uuid        NOT NULL,
	assignee_id        uuid,
	-- millisecond precision: API times and keyset cursors are exact
	created_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	first_response_at  timestamptz,
	solved_at          timestamptz,
	merged_into        uuid,
	time_spent_minutes integer     NOT NULL DEFAULT 0,
	satisfaction       text,
	first_response_due timestamptz,
	resolution_due     timestamptz,
	sla_breached       boolean     NOT NULL DEFAULT false,
	version            integer     NOT NULL DEFAULT 1,
	deleted_at         timestamptz,
	search             tsvector    GENERATED ALWAYS AS
	                   (to_tsvector('english'::regconfig, subject || ' ' || description)) STORED,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, number)
);
-- keyset lists: (created_at desc, id desc) and (updated_at desc, id desc)
CREATE INDEX tickets_created_idx ON ticket.tickets (tenant_id, created_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_updated_idx ON ticket.tickets (tenant_id, updated_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_requester_idx ON ticket.tickets (tenant_id, requester_id, created_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_assignee_idx ON ticket.tickets (tenant_id, assignee_id, created_at DESC, id DESC)
	WHERE deleted_at IS NULL;
CREATE INDEX tickets_tags_idx ON ticket.tickets USING gin (tags);
CREATE INDEX tickets_search_idx ON ticket.tickets USING gin (search);

-- The API's ticket object.
CREATE FUNCTION ticket.ticket_json(t ticket.tickets) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
		'id', t.id, 'number', t.number, 'subject', t.subject, 'description', t.description,
		'status', t.status, 'priority', t.priority, 'category', t.category, 'tags', t.tags,
		'requester_id', t.requester_id, 'assignee_id', t.assignee_id,
		'created_at', ticket.ts(t.created_at), 'updated_at', ticket.ts(t.updated_at),
		'first_response_at', ticket.ts(t.first_response_at), 'solved_at', ticket.ts(t.solved_at),
		'merged_into', t.merged_into, 'time_spent_minutes', t.time_spent_minutes,
		'satisfaction', t.satisfaction,
		'sla', json_build_object('first_response_due', ticket.ts(t.first_response_due),
		                         'resolution_due', ticket.ts(t.resolution_due),
		                         'breached', t.sla_breached),
		'version', t.version)
$$;

CREATE TABLE ticket.comments (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	ticket_id  uuid        NOT NULL,
	author_id  uuid        NOT NULL,
	author_role text       NOT NULL,
	body       text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 65536),
	public     boolean     NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, ticket_id) REFERENCES ticket.tickets (tenant_id, id)
);
CREATE INDEX comments_ticket_idx ON ticket.comments (tenant_id, ticket_id, created_at, id);

-- Audit trail: one row per changed field.
CREATE TABLE ticket.history (
	tenant_id  uuid        NOT NULL,
	id         bigserial   NOT NULL,
	ticket_id  uuid        NOT NULL,
	at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	actor_id   uuid,
	field      text        NOT NULL,
	old_value  jsonb,
	new_value  jsonb,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, ticket_id) REFERENCES ticket.tickets (tenant_id, id)
);
CREATE INDEX history_ticket_idx ON ticket.history (tenant_id, ticket_id, id);

-- SLA policy: {"urgent":{"first_response_minutes":..,"resolution_minutes":..},..}
CREATE TABLE ticket.sla_policies (
	tenant_id      uuid        PRIMARY KEY,
	targets        jsonb       NOT NULL DEFAULT '{}',
	business_hours jsonb,
	updated_at     timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);

-- Idempotency-Key replies, kept 24 hours.
CREATE TABLE ticket.idempotency_keys (
	tenant_id    uuid        NOT NULL,
	key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
	request_hash text        NOT NULL,
	status       integer     NOT NULL,
	body         text        NOT NULL,
	location     text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, key)
);

-- Transactional outbox: written in the same transaction as the change;
-- the relay publishes rows in seq order and sets published_at.
CREATE TABLE ticket.outbox (
	seq          bigserial   PRIMARY KEY,
	id           uuid        NOT NULL DEFAULT ticket.uuid_v7() UNIQUE,
	tenant_id    uuid        NOT NULL,
	type         text        NOT NULL,
	occurred_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	actor_id     uuid,
	data         json        NOT NULL,
	published_at timestamptz,
	-- sla.breached: once per ticket and target
	sla_ticket_id uuid,
	sla_target    text,
	UNIQUE (tenant_id, sla_ticket_id, sla_target)
);
CREATE INDEX outbox_unpublished_idx ON ticket.outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_tenant_seq_idx ON ticket.outbox (tenant_id, seq);

-- No NOTIFY trigger on purpose: a transaction that NOTIFYs takes a
-- database-wide lock at commit and holds it through the WAL flush, which
-- serialises every writer's commit. The relay is woken in-process after each
-- committed write and by a 1 s timer (outbox.c).

-- Allowed status moves (docs/openapi.yaml): new -> open|pending|on_hold|solved,
-- open <-> pending <-> on_hold (and open <-> on_hold), open|pending|on_hold
-- -> solved, solved -> open|closed; closed is final.
CREATE FUNCTION ticket.status_move_ok(f text, t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (f, t) IN (('new', 'open'), ('new', 'pending'), ('new', 'on_hold'), ('new', 'solved'),
	                  ('open', 'pending'), ('open', 'on_hold'), ('open', 'solved'),
	                  ('pending', 'open'), ('pending', 'on_hold'), ('pending', 'solved'),
	                  ('on_hold', 'open'), ('on_hold', 'pending'), ('on_hold', 'solved'),
	                  ('solved', 'open'), ('solved', 'closed'))
$$;

-- The API's comment object.
CREATE FUNCTION ticket.comment_json(c ticket.comments) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', c.id, 'ticket_id', c.ticket_id, 'author_id', c.author_id,
	                         'body', c.body, 'public', c.public, 'created_at', ticket.ts(c.created_at))
$$;

-- A domain event as published on the bus and returned by events.since.
CREATE FUNCTION ticket.event_json(o ticket.outbox) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', o.id, 'seq', o.seq, 'type', o.type, 'tenant_id', o.tenant_id,
	                         'occurred_at', ticket.ts(o.occurred_at), 'actor', o.actor_id, 'data', o.data)
$$;

-- Row-level security on every tenant table, binding the owner too.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['counters', 'tickets', 'comments', 'history', 'sla_policies',
	                         'idempotency_keys', 'outbox'] LOOP
		EXECUTE format('ALTER TABLE ticket.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE ticket.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON ticket.%I USING (tenant_id = ticket.current_tenant()) '
		               'WITH CHECK (tenant_id = ticket.current_tenant())', t);
	END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON ticket.counters, ticket.tickets, ticket.sla_policies TO hd_app;
GRANT SELECT, INSERT ON ticket.comments, ticket.history TO hd_app;
GRANT SELECT, INSERT, DELETE ON ticket.idempotency_keys TO hd_app;
GRANT SELECT, INSERT, UPDATE ON ticket.outbox TO hd_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ticket TO hd_app;

-- The relay works across tenants: these SECURITY DEFINER functions run as the
-- owner, which a policy of its own lets through on the two tables they touch.
CREATE POLICY relay ON ticket.outbox TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY relay ON ticket.tickets TO CURRENT_USER USING (true) WITH CHECK (true);

-- Unpublished events in seq order: (seq, type, event json).
CREATE FUNCTION ticket.outbox_pending(lim integer)
RETURNS TABLE (seq bigint, type text, event text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT o.seq, o.type, ticket.event_json(o)::text FROM ticket.outbox o
	WHERE o.published_at IS NULL ORDER BY o.seq LIMIT lim
$$;

-- Marks events published up to and including seq upto (only those given).
CREATE FUNCTION ticket.outbox_mark(seqs bigint[]) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH m AS (UPDATE ticket.outbox SET published_at = now()
	           WHERE seq = ANY(seqs) AND published_at IS NULL RETURNING 1)
	SELECT count(*)::integer FROM m
$$;

-- The SLA breach detector (ticket.sla_detect) is in R_sla_detect.sql; these
-- partial indexes serve it.
CREATE INDEX tickets_frt_due_idx ON ticket.tickets (first_response_due)
	WHERE deleted_at IS NULL AND first_response_at IS NULL;
CREATE INDEX tickets_res_due_idx ON ticket.tickets (resolution_due)
	WHERE deleted_at IS NULL AND status NOT IN ('solved', 'closed');
