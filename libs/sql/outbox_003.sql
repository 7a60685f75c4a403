-- hd_outbox_003: the relay runs on a connection of its own as hd_relay
-- (HD_RELAY_DATABASE_URL), the only role that may run <schema>.outbox_claim,
-- the SECURITY DEFINER function that reads and marks every tenant's events.
-- hd_app, the role of every request handler, keeps INSERT (events written in
-- the change's transaction) and SELECT (events.since, under row-level
-- security) and loses the claim and UPDATE: no request path can mark an
-- event published. docs/operations.md, "Database roles".
GRANT USAGE ON SCHEMA :"schema" TO hd_relay;
REVOKE EXECUTE ON FUNCTION :"schema".outbox_claim(integer) FROM hd_app;
GRANT EXECUTE ON FUNCTION :"schema".outbox_claim(integer) TO hd_relay;
REVOKE UPDATE ON :"schema".outbox FROM hd_app;
