-- notification schema (docs/architecture.md, "Notifications"). Run as
-- hd_owner by `hd-notification --migrate`; the daemon connects as hd_app,
-- which owns nothing, so row-level security always applies to it. Every
-- tenant table leads its key with tenant_id and forces RLS with the policy
-- tenant_id = app.tenant_id (set per transaction with set_config(..., true));
-- an unset tenant sees no rows at all. The webhook dispatcher claims due
-- deliveries of every tenant through one SECURITY DEFINER function
-- (deliveries_claim), which the owner-only "dispatcher" policies let through.
CREATE SCHEMA IF NOT EXISTS notification;
GRANT USAGE ON SCHEMA notification TO hd_app;

-- RFC 3339 UTC with milliseconds, the API's one time format.
CREATE FUNCTION notification.ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
-- A keyset cursor's time (hd/page.h): microseconds, UTC.
CREATE FUNCTION notification.cursor_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- What this daemon knows of each ticket, kept from hd-ticket's events
-- (ticket.created, ticket.updated, ticket.merged carry the whole ticket):
-- who asked and who works on it, so that a comment or an SLA breach reaches
-- them without asking hd-ticket.
CREATE TABLE notification.tickets (
	tenant_id    uuid   NOT NULL,
	id           uuid   NOT NULL,
	number       bigint,
	subject      text   NOT NULL DEFAULT '',
	requester_id uuid,
	assignee_id  uuid,
	PRIMARY KEY (tenant_id, id)
);

-- In-app notifications, one row per person and cause. event_id + user_id +
-- type is unique: an event applied once gives each person one notification.
CREATE TABLE notification.notifications (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL DEFAULT gen_random_uuid(),
	user_id    uuid        NOT NULL,
	type       text        NOT NULL CHECK (char_length(type) BETWEEN 1 AND 64),
	title      text        NOT NULL CHECK (char_length(title) <= 300),
	body       text        NOT NULL CHECK (char_length(body) <= 2000),
	ticket_id  uuid,
	cause_id   uuid        NOT NULL,
	read_at    timestamptz,
	created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT notifications_once UNIQUE (tenant_id, cause_id, user_id, type)
);
CREATE INDEX notifications_by_user ON notification.notifications (tenant_id, user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notification.notifications (tenant_id, user_id, created_at DESC, id DESC)
	WHERE read_at IS NULL;

-- Webhook subscriptions. secret signs the deliveries (X-Helpdesk-Signature);
-- the API shows it once, at creation. failures counts consecutive failed
-- deliveries: at HD_WEBHOOK_MAX_FAILURES the webhook turns inactive.
CREATE TABLE notification.webhooks (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	url           text        NOT NULL CHECK (char_length(url) BETWEEN 8 AND 2048),
	events        text[]      NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
	active        boolean     NOT NULL DEFAULT true,
	secret        text        NOT NULL CHECK (char_length(secret) >= 32),
	failures      integer     NOT NULL DEFAULT 0,
	disabled_at   timestamptz,
	created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	version       integer     NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);

-- One delivery of one event to one webhook, with every attempt counted.
-- The id is the X-Helpdesk-Delivery header, the same on every retry.
-- status: pending (due at next_attempt_at), succeeded, failed (gave up after
-- HD_WEBHOOK_RETRY_HOURS or the webhook was disabled or deleted).
-- lease_until: a dispatcher is working on it until then (a crashed one's
-- claim runs out and another attempt is made).
CREATE TABLE notification.deliveries (
	tenant_id        uuid        NOT NULL,
	id               uuid        NOT NULL DEFAULT gen_random_uuid(),
	webhook_id       uuid        NOT NULL,
	cause_id         uuid        NOT NULL,
	event_type       text        NOT NULL,
	body             text        NOT NULL,
	status           text        NOT NULL DEFAULT 'pending'
	                 CHECK (status IN ('pending', 'succeeded', 'failed')),
	attempts         integer     NOT NULL DEFAULT 0,
	last_status_code integer,
	last_error       text,
	next_attempt_at  timestamptz,
	lease_until      timestamptz,
	created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	updated_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT deliveries_once UNIQUE (tenant_id, webhook_id, cause_id),
	FOREIGN KEY (tenant_id, webhook_id) REFERENCES notification.webhooks ON DELETE CASCADE
);
CREATE INDEX deliveries_due ON notification.deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON notification.deliveries (tenant_id, webhook_id, created_at DESC, id DESC);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['tickets', 'notifications', 'webhooks', 'deliveries'] LOOP
		EXECUTE format('ALTER TABLE notification.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE notification.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON notification.%I'
			' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
			' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON notification.%I TO hd_app', t);
	END LOOP;
END
$$;
-- The owner (deliveries_claim, SECURITY DEFINER) reads due deliveries of
-- every tenant; hd_app never does.
CREATE POLICY dispatcher ON notification.deliveries TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY dispatcher ON notification.webhooks TO CURRENT_USER USING (true) WITH CHECK (true);
