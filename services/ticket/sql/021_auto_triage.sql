-- The auto_triage automation action (docs/architecture.md, "Auto-triage"):
-- a ticket.created rule with {"type": "auto_triage", "value": "0.8"} asks
-- hd-knowledge's classifier for the new ticket's category and priority and
-- applies each prediction whose confidence reaches the threshold, through
-- the normal update path as the system (history entries and a
-- ticket.updated event with actor null). The classifier answers over NNG,
-- so the rule cannot act inside the insert like the other actions: an AFTER
-- INSERT trigger queues the ticket here, and hd-ticket's worker 0 claims the
-- queue (auto_triage.c), asks knowledge (kb.triage) and applies the answer
-- only while the ticket is still at version 1 (no person changed it since).
-- A claim that gets no answer is tried again 30 s later, three times in all.
CREATE TABLE ticket.auto_triage_queue (
	tenant_id  uuid        NOT NULL,
	ticket_id  uuid        NOT NULL,
	threshold  numeric     NOT NULL CHECK (threshold > 0 AND threshold <= 1),
	attempts   integer     NOT NULL DEFAULT 0,
	not_before timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, ticket_id)
);
CREATE INDEX auto_triage_queue_due_idx ON ticket.auto_triage_queue (not_before);
ALTER TABLE ticket.auto_triage_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket.auto_triage_queue FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket.auto_triage_queue USING (tenant_id = ticket.current_tenant())
	WITH CHECK (tenant_id = ticket.current_tenant());
-- the claim works across tenants, as the owner (like the relay's functions)
CREATE POLICY claim ON ticket.auto_triage_queue TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, DELETE ON ticket.auto_triage_queue TO hd_app;

-- Queues a new ticket when an active ticket.created rule whose conditions
-- hold has an auto_triage action (the lowest threshold of such rules wins).
-- AFTER the insert: it sees the row as the BEFORE rules left it.
CREATE FUNCTION ticket.auto_triage_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ticket.auto_triage_queue (tenant_id, ticket_id, threshold)
	SELECT NEW.tenant_id, NEW.id, min((a ->> 'value')::numeric)
	FROM ticket.automations au, jsonb_array_elements(au.actions) a
	WHERE au.tenant_id = NEW.tenant_id AND au.event = 'ticket.created' AND au.active
	  AND a ->> 'type' = 'auto_triage'
	  AND (SELECT bool_and(ticket.automation_cond(NEW, c)) FROM jsonb_array_elements(au.conditions) c)
	      IS NOT FALSE
	HAVING count(*) > 0;
	RETURN NULL;
END
$$;
CREATE TRIGGER auto_triage_enqueue AFTER INSERT ON ticket.tickets
	FOR EACH ROW EXECUTE FUNCTION ticket.auto_triage_enqueue();

-- Claims up to lim queued tickets of any tenant that are due: each is tried
-- again no sooner than 30 s later unless done (deleted) by then; the ones
-- tried three times, deleted or closed are dropped. Returns what asking
-- knowledge needs: tenant, ticket, threshold and the ticket's text.
CREATE FUNCTION ticket.auto_triage_claim(lim integer)
	RETURNS TABLE (tenant_id uuid, ticket_id uuid, threshold numeric, words text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM ticket.auto_triage_queue q WHERE q.attempts >= 3
	   OR NOT EXISTS (SELECT 1 FROM ticket.tickets t WHERE t.tenant_id = q.tenant_id
	                  AND t.id = q.ticket_id AND t.deleted_at IS NULL AND t.status <> 'closed');
	RETURN QUERY
	WITH due AS (
		SELECT q.tenant_id, q.ticket_id FROM ticket.auto_triage_queue q
		WHERE q.not_before <= now() ORDER BY q.not_before LIMIT lim FOR UPDATE SKIP LOCKED
	), claimed AS (
		UPDATE ticket.auto_triage_queue q SET attempts = q.attempts + 1,
		       not_before = now() + interval '30 seconds'
		FROM due WHERE q.tenant_id = due.tenant_id AND q.ticket_id = due.ticket_id
		RETURNING q.tenant_id, q.ticket_id, q.threshold
	)
	SELECT c.tenant_id, c.ticket_id, c.threshold,
	       left(t.subject || E'\n' || coalesce(t.description, ''), 1000)
	FROM claimed c JOIN ticket.tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id;
END
$$;
-- as every SECURITY DEFINER function (010_definer_grants.sql): not PUBLIC's,
-- only hd_app's (worker 0 of hd-ticket)
REVOKE ALL ON FUNCTION ticket.auto_triage_claim(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.auto_triage_claim(integer) TO hd_app;
