-- Seeds the field service for tests/load/bench.sh (docs/benchmarks.md, "Field
-- service"), run as the superuser (it writes auth.users as well):
--   psql -v ON_ERROR_STOP=1 -v tid=UUID -v techs=10000 -v orders=50000 -f seed_field.sql
-- :techs users of role technician in auth (active) and their technicians,
-- spread uniformly over a 30 x 30 km metropolitan area around Paris (48.72..48.99
-- N, 2.15..2.55 E), each with 1 to 3 of 8 skills, available, no working hours;
-- :orders unassigned work orders in the same area, each needing one skill,
-- with one-hour windows one hour apart (so that none of them overlap and every
-- dispatch finds the nearest qualified technician free).
BEGIN;
SELECT set_config('app.tenant_id', :'tid', true) \gset ignored_
CREATE TEMP TABLE bench_skills (n int, skill text) ON COMMIT DROP;
INSERT INTO bench_skills VALUES (0, 'hvac'), (1, 'electric'), (2, 'plumbing'), (3, 'gas'),
	(4, 'network'), (5, 'printers'), (6, 'elevators'), (7, 'locks');
CREATE TEMP TABLE bench_techs ON COMMIT DROP AS
SELECT gen_random_uuid() AS user_id, gen_random_uuid() AS id, i,
       48.72 + random() * 0.27 AS lat, 2.15 + random() * 0.40 AS lon
FROM generate_series(1, :techs) AS i;
INSERT INTO auth.users (tenant_id, id, email, name, role, password_hash)
SELECT :'tid', user_id, 'bench-tech-' || i || '@acme.local', 'Bench technician ' || i,
       'technician', 'x' FROM bench_techs;
INSERT INTO field.technicians (tenant_id, id, user_id, skills, location)
SELECT :'tid', t.id, t.user_id,
       ARRAY(SELECT DISTINCT s.skill FROM bench_skills s
             WHERE s.n IN (t.i % 8, (t.i / 8) % 8, (t.i / 64) % 8) AND (s.n = t.i % 8 OR t.i % 3 > 0)
             ORDER BY 1),
       ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)::geography
FROM bench_techs t;
INSERT INTO field.work_orders (tenant_id, id, title, location, required_skills, window_start,
                               window_end, created_by)
SELECT :'tid', gen_random_uuid(), 'Bench work order ' || i,
       ST_SetSRID(ST_MakePoint(2.15 + random() * 0.40, 48.72 + random() * 0.27), 4326)::geography,
       ARRAY[(SELECT skill FROM bench_skills WHERE n = i % 8)],
       timestamptz '2031-01-01 00:00:00+00' + make_interval(hours => i),
       timestamptz '2031-01-01 01:00:00+00' + make_interval(hours => i),
       (SELECT id FROM auth.users WHERE tenant_id = :'tid' AND role = 'admin' LIMIT 1)
FROM generate_series(1, :orders) AS i;
COMMIT;
ANALYZE auth.users, field.technicians, field.work_orders;
