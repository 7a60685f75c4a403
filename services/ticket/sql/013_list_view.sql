-- The filtered ticket list's own view (issue 18, docs/benchmarks.md "At scale").
-- Under row-level security PostgreSQL evaluates the policy's condition before
-- any condition that is not leakproof, and neither @> on arrays nor @@ on
-- tsvectors is: as hd_app the GIN indexes on tags and search could never be
-- used, so a rare or absent tag or word walked the whole tenant (0.65-0.8 s
-- at 1,000,000 tickets) even with custom plans. This view runs with its
-- owner's rights, whose relay policy (001) is "true", and carries the tenant
-- condition itself, the same one as the policy: a row of another tenant is
-- never returned, and the planner may use every index. hd_app may only read
-- it; services/ticket/list_sql.h reads filtered lists through it, nothing else
-- does. Not a security_barrier view: the daemon's statement is the only one
-- that reads it, and its conditions are its own.
CREATE VIEW ticket.tickets_listed AS
	SELECT * FROM ticket.tickets WHERE tenant_id = ticket.current_tenant();
GRANT SELECT ON ticket.tickets_listed TO hd_app;

-- A word that is not among the column's most common lexemes is priced at half
-- the rarest one's frequency. With the default statistics target (1,000
-- lexemes) that was 0.15% of the tickets, so an absent word looked common
-- enough for the ordered scan, which then read the whole tenant (0.8 s at
-- 1,000,000 tickets); 5,000 lexemes price it near 0.03%, and the GIN index
-- wins. ANALYZE then samples 150,000 rows instead of 30,000.
ALTER TABLE ticket.tickets ALTER COLUMN search SET STATISTICS 500;
