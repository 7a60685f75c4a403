-- Events in commit order. `seq` (bigserial) is taken inside the writing
-- transaction, so a row with a lower seq can commit after one with a higher
-- seq, and a reader paging by seq could step over it for good. The relay now
-- numbers events when it claims them (only committed rows are visible to it),
-- serialised by an advisory lock: `pub_seq` is gap-free and never assigned
-- behind a reader. Events carry pub_seq as their "seq"; events.since pages by it.
ALTER TABLE ticket.outbox ADD COLUMN pub_seq bigint;
UPDATE ticket.outbox SET pub_seq = seq WHERE published_at IS NOT NULL;
CREATE UNIQUE INDEX outbox_pub_seq_idx ON ticket.outbox (pub_seq);
CREATE INDEX outbox_tenant_pub_seq_idx ON ticket.outbox (tenant_id, pub_seq)
	WHERE pub_seq IS NOT NULL;
DROP INDEX ticket.outbox_tenant_seq_idx;

CREATE OR REPLACE FUNCTION ticket.event_json(o ticket.outbox) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', o.id, 'seq', o.pub_seq, 'type', o.type, 'tenant_id', o.tenant_id,
	                         'occurred_at', ticket.ts(o.occurred_at), 'actor', o.actor_id, 'data', o.data)
$$;

DROP FUNCTION ticket.outbox_pending(integer);
DROP FUNCTION ticket.outbox_mark(bigint[]);

-- Claims up to lim unpublished events (oldest seq first), numbers them after
-- the last pub_seq, marks them published and returns (type, event json) in
-- pub_seq order for the relay to publish. One statement, one round trip.
CREATE FUNCTION ticket.outbox_claim(lim integer) RETURNS TABLE (type text, event text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	base bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('ticket.outbox_claim'));
	SELECT COALESCE(max(o.pub_seq), 0) INTO base FROM ticket.outbox o;
	RETURN QUERY
	WITH c AS (
		SELECT x.seq, base + row_number() OVER (ORDER BY x.seq) AS p
		FROM (SELECT o.seq FROM ticket.outbox o WHERE o.published_at IS NULL
		      ORDER BY o.seq LIMIT lim) x
	), u AS (
		UPDATE ticket.outbox o SET pub_seq = c.p, published_at = now() FROM c
		WHERE o.seq = c.seq
		RETURNING o.pub_seq, o.type, ticket.event_json(o)::text AS event
	)
	SELECT u.type, u.event FROM u ORDER BY u.pub_seq;
END
$$;
