-- Seeds :n tickets for tenant :tid (requester :uid) straight into the ticket
-- service's tables, run by tests/load/bench.sh as the owner role:
--   psql -v ON_ERROR_STOP=1 -v tid=UUID -v uid=UUID -v n=10000 -f seed.sql
-- Numbers 1..n and the tenant's counter row agree, so tickets created by the
-- benchmark continue the sequence without a gap. created_at is one second
-- apart (newest = number n); ids are UUIDv7 of created_at, as the service
-- makes them. RLS binds the owner too: app.tenant_id is set for the
-- transaction, so every policy lets these rows through. (bench.sh then runs
-- CHECKPOINT as the superuser, so the runs do not start with one.)
BEGIN;
SELECT set_config('app.tenant_id', :'tid', true) \gset ignored_
INSERT INTO ticket.counters (tenant_id, last_number) VALUES (:'tid', :n)
	ON CONFLICT (tenant_id) DO UPDATE SET last_number = ticket.counters.last_number + :n;
INSERT INTO ticket.tickets (tenant_id, id, number, subject, description, status, priority,
                            tags, requester_id, assignee_id, created_at, updated_at)
SELECT :'tid',
       encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
              substring(int8send((extract(epoch FROM ts) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
       c.last_number - :n + i,
       'Printer on floor ' || (i % 12) || ' is jammed again (#' || i || ')',
       repeat('The device shows error E' || (i % 97) || '. ', 6),
       (ARRAY['new', 'open', 'pending', 'on_hold', 'solved'])[1 + i % 5],
       (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + i % 5],
       CASE WHEN i % 3 = 0 THEN ARRAY['printer', 'hardware'] ELSE ARRAY['network'] END,
       :'uid', CASE WHEN i % 2 = 0 THEN :'uid'::uuid END,
       ts, ts
FROM ticket.counters c,
     LATERAL (SELECT i, date_trunc('milliseconds', now() - make_interval(secs => :n - i)) AS ts
              FROM generate_series(1, :n) AS i) s
WHERE c.tenant_id = :'tid';
COMMIT;
ANALYZE ticket.counters, ticket.tickets, ticket.outbox;
