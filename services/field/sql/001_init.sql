-- field schema: technicians, work orders, their checklists, parts and
-- history (docs/architecture.md, "Field service"). Run as hd_owner by
-- `hd-field --migrate`; the daemon connects as hd_app, which owns nothing, so
-- row-level security always applies to it. Every tenant table leads its key
-- with tenant_id and forces RLS with the policy tenant_id = app.tenant_id
-- (set per transaction with set_config(..., true)); an unset tenant sees no
-- rows at all. The outbox and idempotency_keys tables are the shared
-- migrations' (libs/sql), applied after these files.
--
-- PostGIS must be installed in the database by a superuser (deploy/stack.sh
-- db-start does, the compose image ships it, the chart documents it): it is
-- not a trusted extension, so here IF NOT EXISTS only checks it is there.
-- btree_gist is trusted: the owner enables it for the exclusion constraint.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE SCHEMA IF NOT EXISTS field;
GRANT USAGE ON SCHEMA field TO hd_app;

-- RFC 3339 UTC with milliseconds, the API's one time format.
CREATE FUNCTION field.ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A keyset cursor's time (hd/page.h): microseconds, UTC.
CREATE FUNCTION field.cursor_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Weekly working hours, the shape of the SLA business hours
-- ({"timezone","days":{"mon":[["09:00","17:00"]],...}}, validated by the
-- daemon, libs/src/hours.c): true when [s, e) lies inside one window of the
-- local day s falls on, or when there are no working hours at all.
CREATE FUNCTION field.hours_cover(wh jsonb, s timestamptz, e timestamptz)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
	tz text;
	ls timestamp;
	le timestamp;
	w jsonb;
BEGIN
	IF wh IS NULL THEN
		RETURN true;
	END IF;
	tz := wh ->> 'timezone';
	ls := s AT TIME ZONE tz;
	le := e AT TIME ZONE tz;
	FOR w IN SELECT * FROM jsonb_array_elements(COALESCE(wh -> 'days' ->
		(ARRAY['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])[extract(dow FROM ls)::int + 1],
		'[]'::jsonb)) LOOP
		-- "24:00" is the end of the day (time has no 24:00 + 1 day)
		IF ls >= ls::date + (w ->> 0)::time
		   AND le <= ls::date + (w ->> 1)::interval THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END
$$;

CREATE TABLE field.technicians (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	user_id       uuid        NOT NULL,
	-- trimmed, lower case, unique, sorted by the daemon
	skills        text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(skills) <= 32),
	location      geography(Point, 4326),
	available     boolean     NOT NULL DEFAULT true,
	-- false once hd-auth said the user is no longer an active technician
	user_active   boolean     NOT NULL DEFAULT true,
	working_hours jsonb       CHECK (working_hours IS NULL OR
	              ('2000-01-01 00:00:00+00'::timestamptz AT TIME ZONE (working_hours ->> 'timezone')) IS NOT NULL),
	last_seen_at  timestamptz,
	created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	version       integer     NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT technicians_user_key UNIQUE (tenant_id, user_id)
);
-- nearest first: KNN (<->) walks this index in distance order
CREATE INDEX technicians_location_idx ON field.technicians USING gist (tenant_id, location);
CREATE INDEX technicians_created_idx ON field.technicians (tenant_id, created_at, id);
CREATE INDEX technicians_skills_idx ON field.technicians USING gin (skills);

CREATE FUNCTION field.technician_json(t field.technicians) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', t.id, 'user_id', t.user_id, 'skills', t.skills,
		'location', CASE WHEN t.location IS NULL THEN NULL ELSE json_build_object(
			'lat', ST_Y(t.location::geometry), 'lon', ST_X(t.location::geometry)) END,
		'available', t.available, 'active', t.user_active, 'working_hours', t.working_hours,
		'last_seen_at', field.ts(t.last_seen_at), 'created_at', field.ts(t.created_at),
		'updated_at', field.ts(t.updated_at), 'version', t.version)
$$;

CREATE TABLE field.work_orders (
	tenant_id       uuid        NOT NULL,
	id              uuid        NOT NULL,
	title           text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
	description     text        NOT NULL DEFAULT '' CHECK (octet_length(description) <= 65536),
	ticket_id       uuid,
	location        geography(Point, 4326) NOT NULL,
	address         text        CHECK (char_length(address) <= 500),
	required_skills text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(required_skills) <= 32),
	window_start    timestamptz NOT NULL,
	window_end      timestamptz NOT NULL,
	priority        text        NOT NULL DEFAULT 'normal'
	                CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
	status          text        NOT NULL DEFAULT 'unassigned'
	                CHECK (status IN ('unassigned', 'scheduled', 'en_route', 'on_site',
	                                  'completed', 'cancelled')),
	technician_id   uuid,
	distance_km     double precision,
	eta_minutes     integer,
	notes           text        NOT NULL DEFAULT '' CHECK (octet_length(notes) <= 65536),
	signed_by       text        CHECK (char_length(signed_by) BETWEEN 1 AND 200),
	signed_at       timestamptz,
	completed_at    timestamptz,
	created_by      uuid        NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	version         integer     NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT work_orders_window_check CHECK (window_end > window_start),
	CONSTRAINT work_orders_assigned_check CHECK (
		(status = 'unassigned') = (technician_id IS NULL) OR status = 'cancelled'),
	FOREIGN KEY (tenant_id, technician_id) REFERENCES field.technicians (tenant_id, id),
	-- No double booking, ever: one technician's active work orders never
	-- overlap in time (checked by the database under any race).
	CONSTRAINT work_orders_no_double_booking EXCLUDE USING gist (
		tenant_id WITH =, technician_id WITH =, tstzrange(window_start, window_end) WITH &&)
		WHERE (technician_id IS NOT NULL AND status IN ('scheduled', 'en_route', 'on_site'))
);
CREATE INDEX work_orders_window_idx ON field.work_orders (tenant_id, window_start, id);
CREATE INDEX work_orders_technician_idx ON field.work_orders
	(tenant_id, technician_id, window_start, id) WHERE technician_id IS NOT NULL;

-- Allowed moves of a work order's status (dispatch makes unassigned -> scheduled).
CREATE FUNCTION field.status_move_ok(cur text, nxt text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (cur, nxt) IN (('scheduled', 'en_route'), ('en_route', 'on_site'),
	                      ('on_site', 'completed'), ('scheduled', 'on_site'))
	    OR (nxt = 'cancelled' AND cur NOT IN ('completed', 'cancelled'))
$$;

CREATE TABLE field.checklist_items (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	work_order_id uuid        NOT NULL,
	text          text        NOT NULL CHECK (char_length(text) BETWEEN 1 AND 500),
	required      boolean     NOT NULL DEFAULT false,
	done          boolean     NOT NULL DEFAULT false,
	done_at       timestamptz,
	done_by       uuid,
	created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, work_order_id) REFERENCES field.work_orders (tenant_id, id)
);
CREATE INDEX checklist_items_wo_idx ON field.checklist_items (tenant_id, work_order_id, created_at, id);

CREATE FUNCTION field.checklist_item_json(c field.checklist_items) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', c.id, 'text', c.text, 'required', c.required, 'done', c.done,
		'done_at', field.ts(c.done_at), 'done_by', c.done_by)
$$;

CREATE TABLE field.parts (
	tenant_id     uuid        NOT NULL,
	id            uuid        NOT NULL,
	work_order_id uuid        NOT NULL,
	sku           text        NOT NULL CHECK (char_length(sku) BETWEEN 1 AND 64),
	description   text        CHECK (char_length(description) <= 500),
	quantity      integer     NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
	created_by    uuid        NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, work_order_id) REFERENCES field.work_orders (tenant_id, id)
);
CREATE INDEX parts_wo_idx ON field.parts (tenant_id, work_order_id, created_at, id);

CREATE FUNCTION field.part_json(p field.parts) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', p.id, 'work_order_id', p.work_order_id, 'sku', p.sku,
		'description', p.description, 'quantity', p.quantity, 'created_by', p.created_by,
		'created_at', field.ts(p.created_at))
$$;

-- Audit trail of work orders: one row per changed field, like tickets'.
CREATE TABLE field.history (
	tenant_id     uuid        NOT NULL,
	id            bigserial   NOT NULL,
	work_order_id uuid        NOT NULL,
	at            timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	actor_id      uuid,
	field         text        NOT NULL,
	old_value     jsonb,
	new_value     jsonb,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, work_order_id) REFERENCES field.work_orders (tenant_id, id)
);
CREATE INDEX history_wo_idx ON field.history (tenant_id, work_order_id, id);

-- The API's work order (work_order_json) is in R_work_orders.sql.

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['technicians', 'work_orders', 'checklist_items', 'parts', 'history'] LOOP
		EXECUTE format('ALTER TABLE field.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE field.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON field.%I'
			' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
			' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON field.%I TO hd_app', t);
	END LOOP;
END
$$;
GRANT USAGE ON SEQUENCE field.history_id_seq TO hd_app;
