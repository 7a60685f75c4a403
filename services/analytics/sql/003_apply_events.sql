-- A run of consecutive events of one source applied in one transaction
-- (hd/consumer.h, hd_consumer_spec.batch_sql): a consumer catching up
-- through a replay page pays one round trip per page instead of one per
-- event. Each event is applied exactly as alone: in its tenant
-- (app.tenant_id set for the rest of the transaction, so row-level security
-- applies to its effect), position moved first (analytics.consume raises
-- HDC01 when it is not the next one, and the whole run rolls back).
CREATE FUNCTION analytics.apply_events(p_source text, p_events json) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	e json;
	n integer := 0;
BEGIN
	FOR e IN SELECT x FROM json_array_elements(p_events) x LOOP
		PERFORM set_config('app.tenant_id', e ->> 'tenant_id', true);
		PERFORM analytics.consume(p_source, (e ->> 'seq')::bigint);
		IF p_source = 'ticket' THEN
			PERFORM analytics.apply_ticket_event((e ->> 'tenant_id')::uuid, e ->> 'type', e -> 'data',
				(e ->> 'id')::uuid, (e ->> 'seq')::bigint, (e ->> 'actor')::uuid);
		ELSIF p_source = 'field' THEN
			PERFORM analytics.apply_field_event((e ->> 'tenant_id')::uuid, e ->> 'type', e -> 'data',
				(e ->> 'id')::uuid, (e ->> 'seq')::bigint, (e ->> 'actor')::uuid);
		ELSE
			RAISE EXCEPTION 'analytics consumes no source %', p_source;
		END IF;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION analytics.apply_events(text, json) TO hd_app;
