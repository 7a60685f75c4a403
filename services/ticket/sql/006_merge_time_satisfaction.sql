-- Merging tickets, time entries and customer satisfaction (docs/openapi.yaml "Tickets").
-- The ticket row already carries merged_into, time_spent_minutes and
-- satisfaction (the rating); these tables hold the details.

-- Time logged on a ticket; tickets.time_spent_minutes is their sum, kept in
-- the statement that inserts an entry (the ticket row lock orders them).
CREATE TABLE ticket.time_entries (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	ticket_id  uuid        NOT NULL,
	user_id    uuid        NOT NULL,
	minutes    integer     NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
	note       text        CHECK (char_length(note) <= 2000),
	billable   boolean     NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, ticket_id) REFERENCES ticket.tickets (tenant_id, id)
);
CREATE INDEX time_entries_ticket_idx ON ticket.time_entries (tenant_id, ticket_id, created_at, id);

CREATE FUNCTION ticket.time_entry_json(e ticket.time_entries) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', e.id, 'ticket_id', e.ticket_id, 'user_id', e.user_id,
	                         'minutes', e.minutes, 'note', e.note, 'billable', e.billable,
	                         'created_at', ticket.ts(e.created_at))
$$;

-- The requester's rating, once per ticket (the primary key).
CREATE TABLE ticket.satisfaction (
	tenant_id  uuid        NOT NULL,
	ticket_id  uuid        NOT NULL,
	user_id    uuid        NOT NULL,
	rating     text        NOT NULL CHECK (rating IN ('good', 'bad')),
	comment    text        CHECK (char_length(comment) <= 2000),
	created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (tenant_id, ticket_id),
	FOREIGN KEY (tenant_id, ticket_id) REFERENCES ticket.tickets (tenant_id, id)
);

CREATE FUNCTION ticket.satisfaction_json(s ticket.satisfaction) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('ticket_id', s.ticket_id, 'user_id', s.user_id, 'rating', s.rating,
	                         'comment', s.comment, 'created_at', ticket.ts(s.created_at))
$$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['time_entries', 'satisfaction'] LOOP
		EXECUTE format('ALTER TABLE ticket.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE ticket.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON ticket.%I USING (tenant_id = ticket.current_tenant()) '
		               'WITH CHECK (tenant_id = ticket.current_tenant())', t);
	END LOOP;
END
$$;
GRANT SELECT, INSERT ON ticket.time_entries, ticket.satisfaction TO hd_app;

-- Merges ticket src into dst for the caller's tenant (RLS applies: this runs
-- as the caller). Both rows are locked first, lower id first, so two merges
-- of the same pair in opposite directions cannot deadlock. Outcomes:
-- 'ok' (ticket: the target's json), 'source_missing', 'self',
-- 'target_missing', 'source_closed', 'target_closed' (nothing written).
-- On 'ok': the source is closed with merged_into, its comments are copied
-- onto the target (keeping their times, so the target's list interleaves
-- them), both histories and two ticket.updated events plus one
-- ticket.merged event record it.
CREATE FUNCTION ticket.ticket_merge(p_tenant uuid, p_src uuid, p_dst uuid, p_actor uuid)
RETURNS TABLE (r_outcome text, r_ticket text, r_version integer) LANGUAGE plpgsql AS $$
DECLARE
	s ticket.tickets;
	d ticket.tickets;
	locked integer;
	old_status text;
	at timestamptz := date_trunc('milliseconds', now());
BEGIN
	SELECT count(*) INTO locked FROM (SELECT 1 FROM ticket.tickets x
		WHERE x.tenant_id = p_tenant AND x.id IN (p_src, p_dst) AND x.deleted_at IS NULL
		ORDER BY x.id FOR UPDATE) l;
	SELECT * INTO s FROM ticket.tickets x
		WHERE x.tenant_id = p_tenant AND x.id = p_src AND x.deleted_at IS NULL;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'source_missing', NULL::text, NULL::integer; RETURN;
	END IF;
	IF p_src = p_dst THEN
		RETURN QUERY SELECT 'self', NULL::text, NULL::integer; RETURN;
	END IF;
	SELECT * INTO d FROM ticket.tickets x
		WHERE x.tenant_id = p_tenant AND x.id = p_dst AND x.deleted_at IS NULL;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'target_missing', NULL::text, NULL::integer; RETURN;
	END IF;
	IF s.status = 'closed' OR s.merged_into IS NOT NULL THEN
		RETURN QUERY SELECT 'source_closed', NULL::text, NULL::integer; RETURN;
	END IF;
	IF d.status = 'closed' OR d.merged_into IS NOT NULL THEN
		RETURN QUERY SELECT 'target_closed', NULL::text, NULL::integer; RETURN;
	END IF;

	old_status := s.status;
	UPDATE ticket.tickets x SET status = 'closed', merged_into = p_dst, updated_at = at,
		solved_at = COALESCE(x.solved_at, at), version = x.version + 1
		WHERE x.tenant_id = p_tenant AND x.id = p_src RETURNING x.* INTO s;
	INSERT INTO ticket.comments (tenant_id, id, ticket_id, author_id, author_role, body, public,
	                             created_at)
		SELECT p_tenant, ticket.uuid_v7(), p_dst, c.author_id, c.author_role, c.body, c.public,
		       c.created_at
		FROM ticket.comments c WHERE c.tenant_id = p_tenant AND c.ticket_id = p_src
		ORDER BY c.created_at, c.id;
	UPDATE ticket.tickets x SET updated_at = at, version = x.version + 1
		WHERE x.tenant_id = p_tenant AND x.id = p_dst RETURNING x.* INTO d;

	INSERT INTO ticket.history (tenant_id, ticket_id, at, actor_id, field, old_value, new_value)
	SELECT p_tenant, h.t, at, p_actor, h.f, h.o, h.n FROM (VALUES
		(p_src, 'status', to_jsonb(old_status), to_jsonb(s.status)),
		(p_src, 'merged_into', 'null'::jsonb, to_jsonb(p_dst)),
		(p_dst, 'merged_from', 'null'::jsonb, to_jsonb(p_src))) h(t, f, o, n)
	WHERE h.o IS DISTINCT FROM h.n;
	INSERT INTO ticket.outbox (tenant_id, type, actor_id, data) VALUES
		(p_tenant, 'ticket.updated', p_actor, json_build_object('ticket', ticket.ticket_json(s),
		 'changes', json_build_object(
		     'status', json_build_object('from', old_status, 'to', s.status),
		     'merged_into', json_build_object('from', NULL, 'to', p_dst)))),
		(p_tenant, 'ticket.updated', p_actor, json_build_object('ticket', ticket.ticket_json(d),
		 'changes', json_build_object('merged_from', json_build_object('from', NULL, 'to', p_src)))),
		(p_tenant, 'ticket.merged', p_actor, json_build_object('source_id', p_src,
		 'target_id', p_dst, 'ticket', ticket.ticket_json(d)));
	RETURN QUERY SELECT 'ok', ticket.ticket_json(d)::text, d.version;
END
$$;
