-- The nearby search inside PostgreSQL, two ways, for docs/benchmarks.md (run
-- by tests/load/bench.sh as the superuser after seed_field.sql):
--   knn:  what hd-field runs: ST_DWithin + ORDER BY location <-> point over
--         the GiST index (tenant_id, location)
--   scan: the baseline, a plain haversine formula over every technician of
--         the tenant with the skill, sorted, without the index
-- :n random points of the seeded area, radius 10 km, one of 8 skills, 25 rows;
-- prints p50 and p99 of each in milliseconds.
\set ON_ERROR_STOP on
-- as hd-field runs them (services/field/field.h, FS_NO_JIT_STMT)
SET jit = off;
SELECT set_config('app.tenant_id', :'tid', false) \gset ignored_
CREATE TEMP TABLE bench_times (kind text, ms double precision);
DO $$
DECLARE
	tid uuid := current_setting('app.tenant_id')::uuid;
	skills text[] := ARRAY['hvac', 'electric', 'plumbing', 'gas', 'network', 'printers', 'elevators', 'locks'];
	lat float8;
	lon float8;
	sk text;
	p geography;
	t0 timestamptz;
	dummy int;
BEGIN
	FOR i IN 1..current_setting('bench.n')::int LOOP
		lat := 48.72 + random() * 0.27;
		lon := 2.15 + random() * 0.40;
		sk := skills[1 + (i % 8)];
		p := ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
		t0 := clock_timestamp();
		SELECT count(*) INTO dummy FROM (SELECT t.id FROM field.technicians t
			WHERE t.tenant_id = tid AND t.skills @> ARRAY[sk] AND ST_DWithin(t.location, p, 10000, false)
			ORDER BY t.location <-> p LIMIT 25) x;
		INSERT INTO bench_times VALUES ('knn', extract(epoch FROM clock_timestamp() - t0) * 1000);
		t0 := clock_timestamp();
		SELECT count(*) INTO dummy FROM (SELECT h.id FROM (SELECT t.id, 2 * 6371.0088 * asin(sqrt(
			sin(radians(ST_Y(t.location::geometry) - lat) / 2) ^ 2
			+ cos(radians(lat)) * cos(radians(ST_Y(t.location::geometry)))
			  * sin(radians(ST_X(t.location::geometry) - lon) / 2) ^ 2)) AS km
			FROM field.technicians t WHERE t.tenant_id = tid AND t.skills @> ARRAY[sk]) h
			WHERE h.km <= 10 ORDER BY h.km LIMIT 25) x;
		INSERT INTO bench_times VALUES ('scan', extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END
$$;
SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3)
FROM bench_times GROUP BY kind ORDER BY kind;
