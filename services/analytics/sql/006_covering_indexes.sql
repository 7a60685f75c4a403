-- Indexes the reports read without the heap (docs/architecture.md
-- "Analytics", Rollups; docs/benchmarks.md "Analytics", third run).
--
-- The rollup rows a report sums were fetched from the heap one page each
-- (rows of a day or an hour are written in the order events arrive, so they
-- lie on as many pages as there are rows): a 90-day median read ~2,800
-- `minutes_days` pages, a day series 2,160 `hours` pages. With the summed
-- columns in the primary key's INCLUDE list the same reads are index-only
-- (a few dozen leaf pages). The rollups' updates were already mostly
-- non-HOT (their pages are full), so the wider keys cost the writer little.
ALTER TABLE analytics.minutes_days DROP CONSTRAINT minutes_days_pkey,
	ADD PRIMARY KEY (tenant_id, kind, day, bucket) INCLUDE (n);
ALTER TABLE analytics.hours DROP CONSTRAINT hours_pkey,
	ADD PRIMARY KEY (tenant_id, span, hour) INCLUDE (created, solved, breaches, wo_completed);

-- The facts of a window's partial days (a median's edges) with their
-- bucket and minutes, index-only.
DROP INDEX analytics.first_responses_at_idx;
CREATE INDEX first_responses_at_idx ON analytics.first_responses (tenant_id, at)
	INCLUDE (bucket, minutes);
DROP INDEX analytics.solves_at_idx;
CREATE INDEX solves_at_idx ON analytics.solves (tenant_id, at) INCLUDE (bucket, minutes);

-- The summary reads rollups now, not this index's copy of every ticket's
-- state; the partial hours at a window's edges read whole rows anyway. A
-- plain index is narrower to write, and a status change no longer touches
-- it (HOT-eligible).
DROP INDEX analytics.tickets_created_idx;
CREATE INDEX tickets_created_idx ON analytics.tickets (tenant_id, created_at);
