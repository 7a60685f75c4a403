-- hd_outbox_004: <schema>.outbox_replay, the cross-tenant page of published
-- events behind <source>_events.replay (hd_outbox_events_replay), which
-- consumers in other daemons use to catch up after a gap or a restart
-- (hd/consumer.h, docs/architecture.md "Event consumers"). SECURITY DEFINER:
-- it reads every tenant's events past row-level security, so EXECUTE is
-- hd_app's only, and the operation checks that its caller is a daemon
-- (never routed by the gateway).
CREATE OR REPLACE FUNCTION :"schema".outbox_replay(p_after bigint, p_limit integer)
RETURNS TABLE (event text, pub_seq bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
	SELECT :"schema".event_json(o)::text, o.pub_seq FROM :"schema".outbox o
	WHERE o.pub_seq > p_after ORDER BY o.pub_seq LIMIT p_limit
$f$;
REVOKE ALL ON FUNCTION :"schema".outbox_replay(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION :"schema".outbox_replay(bigint, integer) TO hd_app;
