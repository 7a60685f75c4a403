-- A run of consecutive events of one source applied in one transaction
-- (hd/consumer.h, hd_consumer_spec.batch_sql): a consumer catching up
-- through a replay page pays one round trip per page instead of one per
-- event. Each event's effect runs as alone, in its tenant (app.tenant_id set
-- for the rest of the transaction, so row-level security applies to it).
-- The position moves once for the run: analytics.consume checks that the
-- first event is the next one (HDC01 otherwise) and locks the position's
-- row, the run must be consecutive, and the position ends at its last event
-- (moving it per event would grow a chain of row versions a page long).
CREATE FUNCTION analytics.apply_events(p_source text, p_events json) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	e json;
	first_seq bigint := (p_events -> 0 ->> 'seq')::bigint;
	n integer := 0;
BEGIN
	IF p_source NOT IN ('ticket', 'field') THEN
		RAISE EXCEPTION 'analytics consumes no source %', p_source;
	END IF;
	PERFORM analytics.consume(p_source, first_seq);
	FOR e IN SELECT x FROM json_array_elements(p_events) x LOOP
		IF (e ->> 'seq')::bigint <> first_seq + n THEN
			RAISE EXCEPTION 'event % of % does not follow the run', e ->> 'seq', p_source
				USING ERRCODE = 'HDC01';
		END IF;
		PERFORM set_config('app.tenant_id', e ->> 'tenant_id', true);
		IF p_source = 'ticket' THEN
			PERFORM analytics.apply_ticket_event((e ->> 'tenant_id')::uuid, e ->> 'type', e -> 'data',
				(e ->> 'id')::uuid, (e ->> 'seq')::bigint, (e ->> 'actor')::uuid);
		ELSE
			PERFORM analytics.apply_field_event((e ->> 'tenant_id')::uuid, e ->> 'type', e -> 'data',
				(e ->> 'id')::uuid, (e ->> 'seq')::bigint, (e ->> 'actor')::uuid);
		END IF;
		n := n + 1;
	END LOOP;
	UPDATE analytics.consumed c SET last_seq = first_seq + n - 1 WHERE c.source = p_source;
	RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION analytics.apply_events(text, json) TO hd_app;
