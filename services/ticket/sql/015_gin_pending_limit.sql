-- Searches while tickets are being created (issue 18, docs/benchmarks.md "At
-- scale", second round). The GIN indexes on tags and search (001) take new
-- entries into a pending list (fastupdate, on by default), merged into the
-- index by whichever insert finds it over gin_pending_list_limit (4 MB by
-- default) or by VACUUM. Every search reads the whole pending list: at
-- 1,000,000 tickets, after some 30,000 creates, a rare word read 489 buffers
-- instead of 93 and an absent tag 163 instead of 3 (EXPLAIN (ANALYZE,
-- BUFFERS) as hd_app), 7-17 ms instead of under 1 ms. Merging is cheap per
-- ticket (182 ms for 390 pages of search entries, about 17 us a ticket), so
-- a small list costs creates little, and the insert that merges it waits
-- tens of milliseconds instead of hundreds. ALTER INDEX ... SET takes a
-- brief lock and rebuilds nothing.
ALTER INDEX ticket.tickets_search_idx SET (gin_pending_list_limit = 256);
ALTER INDEX ticket.tickets_tags_idx SET (gin_pending_list_limit = 256);
