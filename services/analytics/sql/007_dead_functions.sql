-- Functions no current code calls (the per-event application of
-- 001_init.sql, replaced by the set-based one of R_events.sql): dropped, so
-- that a database upgraded from an earlier release ends with the same
-- functions as a new one, each of them defined in a repeatable file
-- (docs/adding-a-daemon.md).
DROP FUNCTION IF EXISTS analytics.ticket_upsert(uuid, json);
DROP FUNCTION IF EXISTS analytics.solve_add(uuid, json, timestamptz, uuid);
