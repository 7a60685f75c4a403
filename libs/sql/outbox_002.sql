-- hd_outbox_002: <schema>.outbox_claim is SECURITY DEFINER (it runs as the
-- owner, across tenants): EXECUTE is revoked from PUBLIC and granted only to
-- hd_app, the role of the daemon's connections, on which the relay runs
-- (worker 0). Request handlers never call it; a role of its own for the relay
-- needs a connection of its own (docs/operations.md, Database roles).
REVOKE ALL ON FUNCTION :"schema".outbox_claim(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION :"schema".outbox_claim(integer) TO hd_app;
