-- Seeds :n tickets with the shapes of a real helpdesk for tenant :tid, straight
-- into the ticket service's tables as the superuser (docs/benchmarks.md,
-- "At scale"). Run by tests/load/bench-scale.sh:
--   psql -v ON_ERROR_STOP=1 -v tid=UUID -v n=1000000 -f scale_seed.sql
-- Everything is generate_series and random(): 1,000,000 tickets take minutes.
--
-- The shapes:
-- - words: a Zipf vocabulary of 65,535 ranks (rank k drawn with probability
--   about 1/k: k = floor(65536^random())). Ranks 1..40 are helpdesk words
--   ("printer", "password", "vpn", ...), the others pseudo-words of four
--   syllables ("kalomoran"), so a few words are in most tickets and most words
--   are in a handful. Subjects have 4..8 words, descriptions 12..41.
-- - status: 45% closed, 30% solved, 8% open, 7% new, 6% pending, 4% on_hold.
-- - priority: 20% low, 60% normal, 17% high, 3% urgent; an urgent ticket is
--   never pending (so "priority=urgent&status=pending" matches nothing).
-- - tags: 0..3 of a Zipf list of 300 ("hardware", "printer", ... "tag-299").
-- - requesters: 5,000 per tenant, Zipf (a few file hundreds), ids
--   md5(tenant || ':r:' || k); assignees: 40, ids md5(tenant || ':a:' || k),
--   one ticket in five unassigned.
-- - created_at: ten years up to now, in number order; updated_at up to 30
--   days later (never in the future); ids are UUIDv7 of created_at.
-- - comments: 0..3 a ticket, words of its description (none on closed ones:
--   a closed ticket takes no comment, sql/008_closed_is_final.sql).
-- Numbers continue the tenant's counter without a gap (tests/load/seed.sql).
BEGIN;
-- as the superuser (bench-scale.sh): no trigger fires, foreign keys included
-- (checking 900,000 comments' keys took longer than writing them); every row
-- is valid by construction (comments on the tenant's own open tickets)
SET LOCAL session_replication_role = replica;
SELECT set_config('app.tenant_id', :'tid', true) \gset ignored_
INSERT INTO ticket.counters (tenant_id, last_number) VALUES (:'tid', :n)
	ON CONFLICT (tenant_id) DO UPDATE SET last_number = ticket.counters.last_number + :n;
INSERT INTO ticket.tickets (tenant_id, id, number, subject, description, status, priority,
                            tags, requester_id, assignee_id, created_at, updated_at, solved_at)
SELECT :'tid',
       encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
              substring(int8send((extract(epoch FROM s.ts) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
       c.last_number - :n + s.i,
       initcap(x.subject),
       x.description,
       s.status,
       CASE WHEN s.r2 < 0.20 THEN 'low' WHEN s.r2 < 0.80 THEN 'normal'
            WHEN s.r2 < 0.97 OR s.status = 'pending' THEN 'high' ELSE 'urgent' END,
       ARRAY(SELECT DISTINCT CASE k WHEN 1 THEN 'hardware' WHEN 2 THEN 'printer' WHEN 3 THEN 'network'
                     WHEN 4 THEN 'billing' WHEN 5 THEN 'vip' WHEN 6 THEN 'email' WHEN 7 THEN 'vpn'
                     WHEN 8 THEN 'onboarding' ELSE 'tag-' || k END
             FROM (SELECT floor(power(300, random()))::integer AS k
                   FROM generate_series(1, (s.r3 * 3.99)::integer + s.i * 0)) g),
       md5(:'tid' || ':r:' || floor(power(5000, random()))::integer)::uuid,
       CASE WHEN s.r1 >= 0.2 THEN md5(:'tid' || ':a:' || (1 + (s.r3 * 997)::integer % 40))::uuid END,
       s.ts,
       least(date_trunc('milliseconds', now()), s.ts + make_interval(secs => s.r2 * 2592000)),
       CASE WHEN s.status IN ('solved', 'closed')
            THEN least(date_trunc('milliseconds', now()), s.ts + make_interval(secs => s.r2 * 2592000)) END
FROM ticket.counters c,
     LATERAL (SELECT i, random() AS r1, random() AS r2, random() AS r3,
                     CASE WHEN i % 100 < 45 THEN 'closed' WHEN i % 100 < 75 THEN 'solved'
                          WHEN i % 100 < 83 THEN 'open' WHEN i % 100 < 90 THEN 'new'
                          WHEN i % 100 < 96 THEN 'pending' ELSE 'on_hold' END AS status,
                     date_trunc('milliseconds', now() - make_interval(
                         secs => (:n - i)::double precision * 315360000 / :n)) AS ts
              FROM generate_series(1, :n) AS i) s,
     -- the words of subject (the first 4..8) and description (12..40 more),
     -- drawn per ticket (the expression is inline: a SQL function per word
     -- made the seed four times slower)
     LATERAL (SELECT string_agg(w, ' ') FILTER (WHERE g <= 4 + s.i % 5) AS subject,
                     string_agg(w, ' ') FILTER (WHERE g > 4 + s.i % 5) AS description
              FROM (SELECT g, CASE WHEN k <= 40 THEN (ARRAY['printer', 'password', 'email',
                      'error', 'login', 'network', 'laptop', 'vpn', 'screen', 'account',
                      'install', 'update', 'slow', 'crash', 'invoice', 'refund', 'delivery',
                      'order', 'phone', 'wifi', 'access', 'reset', 'broken', 'jammed', 'outlook',
                      'license', 'backup', 'server', 'mouse', 'keyboard', 'monitor', 'battery',
                      'cable', 'driver', 'toner', 'scanner', 'meeting', 'calendar', 'badge',
                      'office'])[k]
                    ELSE (ARRAY['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'be', 'do', 'fu',
                      'gi', 'ha', 'je', 'pu', 'so'])[1 + k % 16]
                      || (ARRAY['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'be', 'do', 'fu',
                      'gi', 'ha', 'je', 'pu', 'so'])[1 + k / 16 % 16]
                      || (ARRAY['ra', 'le', 'mo', 'nu', 'ti', 'va', 'ze', 'bo', 'di', 'fa', 'go',
                      'hu', 'ji', 'ke', 'po', 'sa'])[1 + k / 256 % 16]
                      || (ARRAY['ran', 'lek', 'mos', 'nut', 'tim', 'vap', 'zel', 'bor', 'dix',
                      'fam', 'gol', 'hup', 'jil', 'kez', 'pom', 'sab'])[1 + k / 4096 % 16] END AS w
                    FROM (SELECT g, floor(power(65536, random()))::integer AS k
                          FROM generate_series(1, 16 + s.i % 5 + (s.r1 * 29)::integer) g) z) y) x
WHERE c.tenant_id = :'tid';
INSERT INTO ticket.comments (tenant_id, id, ticket_id, author_id, author_role, body, public, created_at)
SELECT t.tenant_id, gen_random_uuid(), t.id,
       CASE WHEN g % 2 = 1 THEN t.requester_id ELSE coalesce(t.assignee_id, t.requester_id) END,
       CASE WHEN g % 2 = 1 THEN 'customer' ELSE 'agent' END,
       array_to_string((string_to_array(t.description, ' '))[g * 3:g * 3 + 8], ' '), g < 3,
       t.created_at + make_interval(mins => g * 30)
FROM ticket.tickets t, generate_series(1, (t.number % 4)::integer) g
WHERE t.tenant_id = :'tid' AND t.status <> 'closed'
  AND t.number > (SELECT last_number FROM ticket.counters WHERE tenant_id = :'tid') - :n;
COMMIT;
