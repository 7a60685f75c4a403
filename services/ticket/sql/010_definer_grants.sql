-- SECURITY DEFINER functions run as the owner: each is revoked from PUBLIC
-- (PostgreSQL grants EXECUTE on a new function to everyone) and granted only
-- to the role that needs it.
--   ticket.sla_detect: hd_app (the SLA detector of hd-ticket's worker 0)
--   ticket.outbox_claim: the shared migration hd_outbox_002 (libs/sql)
REVOKE ALL ON FUNCTION ticket.sla_detect(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.sla_detect(integer) TO hd_app;
