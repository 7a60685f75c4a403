-- Searches after many articles were written (docs/benchmarks.md, "Knowledge
-- search"): the GIN indexes of 001 take new entries into a pending list
-- (fastupdate) merged by the insert that finds it over gin_pending_list_limit
-- (4 MB by default) or by VACUUM, and every search reads the whole list.
-- With 30,000 articles just written, the full-text index scan of a
-- two-word query took 122-195 ms, and 14 ms once VACUUM had merged the list
-- (EXPLAIN ANALYZE, make bench-search). A small list keeps searches near
-- the merged figure whatever autovacuum's pace; the insert that merges it
-- waits a few milliseconds. The same limit as hd-ticket's (ticket 015).
ALTER INDEX knowledge.articles_search SET (gin_pending_list_limit = 256);
ALTER INDEX knowledge.articles_title_trgm SET (gin_pending_list_limit = 256);
