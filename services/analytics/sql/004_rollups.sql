-- Rollups and set-based application (docs/architecture.md "Analytics",
-- "Rollups"; issue 13's performance targets, docs/benchmarks.md).
--
-- The fact tables of 001_init.sql stay the truth. Two rollups are kept in
-- the same transaction as the facts they sum, by the same statements:
--   analytics.hours        per UTC hour (span 1) and per UTC day (span 24):
--                          the tickets created in it as they stand now
--                          (status, priority, SLA met/decided) and the facts
--                          that happened in it (solves, breaches, work
--                          orders created and completed);
--   analytics.minutes_days per UTC day and duration bucket: how many first
--                          responses / solves of that many minutes.
-- A report over [from, to) reads the rollup rows of the whole days and
-- hours inside the window and the facts of the two partial hours at its
-- edges, so it reads O(days + hours at the edges) rows instead of every fact. Exact percentiles: the day
-- histograms say which bucket holds the wanted rank and how many values lie
-- below it; the facts of that one bucket in the window (an index on
-- (tenant, bucket, at)) give the exact value. No sketch, no sampling.
--
-- A replay page is applied set-based (analytics.apply_events): parsed once
-- into typed rows (analytics.ticket_fact), then per tenant in the page a
-- handful of INSERT ... SELECT statements over those rows, whatever the
-- page's length. The per-event path (events from the bus) runs the same
-- code on a one-event page, so both paths keep the rollups alike. The
-- functions that do all this are in the repeatable files R_common.sql,
-- R_events.sql and R_reports.sql (docs/adding-a-daemon.md); this file keeps
-- the tables, the type of a parsed event and minutes_bucket (the stored
-- bucket columns are computed by it).

-- ---- duration buckets ----

-- The bucket of a duration in minutes: 0 for none or less, then four
-- buckets per doubling (1 + floor(4 log2(1 + m))). Monotone in m, so the
-- k-th smallest value lies in the bucket where the counts reach k.
CREATE FUNCTION analytics.minutes_bucket(m double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN m > 0 THEN LEAST(1 + floor(4 * ln(1 + m) / ln(2::float8)), 32767)::smallint
	            ELSE 0::smallint END
$$;

ALTER TABLE analytics.first_responses
	ADD COLUMN bucket smallint GENERATED ALWAYS AS (analytics.minutes_bucket(minutes)) STORED;
ALTER TABLE analytics.solves
	ADD COLUMN bucket smallint GENERATED ALWAYS AS (analytics.minutes_bucket(minutes)) STORED;
-- the values of one bucket in a window, for the exact percentile
CREATE INDEX first_responses_bucket_idx ON analytics.first_responses (tenant_id, bucket, at)
	INCLUDE (minutes);
CREATE INDEX solves_bucket_idx ON analytics.solves (tenant_id, bucket, at) INCLUDE (minutes);

-- ---- rollup tables ----

CREATE TABLE analytics.hours (
	tenant_id    uuid        NOT NULL,
	hour         timestamptz NOT NULL, -- a UTC hour's start
	-- the tickets created in this hour, as they stand now
	created      bigint NOT NULL DEFAULT 0,
	s_new        bigint NOT NULL DEFAULT 0,
	s_open       bigint NOT NULL DEFAULT 0,
	s_pending    bigint NOT NULL DEFAULT 0,
	s_on_hold    bigint NOT NULL DEFAULT 0,
	s_solved     bigint NOT NULL DEFAULT 0,
	s_closed     bigint NOT NULL DEFAULT 0,
	p_low        bigint NOT NULL DEFAULT 0,
	p_normal     bigint NOT NULL DEFAULT 0,
	p_high       bigint NOT NULL DEFAULT 0,
	p_urgent     bigint NOT NULL DEFAULT 0,
	fr_met       bigint NOT NULL DEFAULT 0,
	fr_decided   bigint NOT NULL DEFAULT 0,
	res_met      bigint NOT NULL DEFAULT 0,
	res_decided  bigint NOT NULL DEFAULT 0,
	-- facts that happened in this hour
	solved       bigint NOT NULL DEFAULT 0, -- moves to solved (solves.at)
	breaches     bigint NOT NULL DEFAULT 0, -- missed targets (breaches.due)
	wo_created   bigint NOT NULL DEFAULT 0,
	wo_completed bigint NOT NULL DEFAULT 0,
	span         smallint NOT NULL DEFAULT 1 CHECK (span IN (1, 24)), -- hours it covers
	PRIMARY KEY (tenant_id, span, hour)
);

CREATE TABLE analytics.minutes_days (
	tenant_id uuid        NOT NULL,
	kind      smallint    NOT NULL CHECK (kind IN (1, 2)), -- 1 first responses, 2 solves
	day       timestamptz NOT NULL, -- a UTC day's start
	bucket    smallint    NOT NULL, -- analytics.minutes_bucket
	n         bigint      NOT NULL,
	PRIMARY KEY (tenant_id, kind, day, bucket)
);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['hours', 'minutes_days'] LOOP
		EXECUTE format('ALTER TABLE analytics.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE analytics.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON analytics.%I '
		               'USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid) '
		               'WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON analytics.%I TO hd_app', t);
	END LOOP;
END
$$;

-- ---- applying events, set-based ----

-- One hd-ticket event as the facts it tells, typed (the fields that do not
-- apply are NULL): a ticket object (ticket.created, ticket.updated), a move
-- to solved, a rating, a first response, a missed target, a deletion.
CREATE TYPE analytics.ticket_fact AS (
	seq bigint, tenant_id uuid, ticket_id uuid,
	obj boolean, created_at timestamptz, status text, priority text, assignee_id uuid,
	first_response_at timestamptz, first_response_due timestamptz,
	resolution_due timestamptz, solved_at timestamptz,
	solve_at timestamptz, solve_agent uuid,
	rating_at timestamptz, rating_agent uuid, rating_good boolean,
	fr_at timestamptz, fr_agent uuid,
	target text, due timestamptz,
	deleted boolean
);

-- ---- the rollups of the facts already kept ----
-- A database of the release before the rollups (deploy/previous-release)
-- holds facts without rollups. They are not filled here: the functions that
-- keep them are in R_events.sql, applied after this file, and the old
-- release's pods keep applying events with the old functions until then.
-- This table marks the upgrade; R_events.sql, in the transaction that
-- installs the new functions, does what `hd-analytics --rebuild` does
-- (forgets the facts and both positions, so that every event is applied
-- again from seq 1 and keeps the rollups) and drops it
-- (docs/operations.md, "Rebuilding the analytics figures").
CREATE TABLE analytics.rollups_backfill ();
