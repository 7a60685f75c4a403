-- knowledge.search, current definition (a repeatable file: --migrate applies
-- it whenever this text changes; docs/adding-a-daemon.md, "Migrations").
-- (It was first written in 002_functions.sql, as SQL.)
--
-- Search (docs/architecture.md, "Knowledge search"): full text in each
-- article's own configuration, ranked by ts_rank_cd normalised by document
-- length (flag 1) times a small boost from helpful feedback; when it finds
-- fewer than p_limit, titles similar by trigrams (word_similarity >= 0.3)
-- fill the rest, marked "fuzzy": true. Snippets: ts_headline over the
-- HTML-escaped body, matches in <mark>...</mark>. p_locale: only articles of
-- that locale; p_published_only: customers, the help center, suggestions.
-- The GIN index finds the candidates with the query parsed in every
-- configuration that may apply, ORed (a constant for the plan); each
-- candidate is then matched and ranked with the query in its own.
-- Row-level security would keep the indexes out: @@ and <% are not
-- leakproof, so PostgreSQL evaluates them only on rows the policy already
-- let through, which means a scan of the tenant's rows. So the function runs
-- as the owner (SECURITY DEFINER), which the search_owner policy of
-- 001_init.sql lets read articles, and filters on the transaction's tenant
-- itself (knowledge.tenant(): NULL, and so no rows, when unset).
--
-- PL/pgSQL rather than SQL: a SQL function that is not inlined (this one
-- has SET clauses) is planned again at every call, and planning its query
-- cost more than running it (about 30 of 35 ms with 3,000 articles); a
-- PL/pgSQL function keeps its plan for the connection's life.
-- The query is parsed once per configuration (tsqs), not once per
-- matching row and again for its rank; the index is probed once, with the
-- distinct variants ORed (three for "printer network", not 29); and only
-- ids and ranks are sorted, the ten kept then read whole. With 5,000
-- articles (make bench-search, c64, load 12-14 from other work on 2 cores)
-- a two-common-word query went from 68-74 to 116-122 requests/s, the mix
-- from 130-148 to 174-179. With 100,000 (docs/benchmarks.md, "Knowledge
-- search", second round) the rows' own queries are looked up in an array,
-- not joined: the join let the planner probe the index once per
-- configuration (29 probes, 620 ms for a common pair; one: 139 ms, and
-- 51-71 ms per call with the tsvector in the row, 006_search_inline.sql).

-- pg_trgm's settings exist once its library is loaded in this session: a
-- call loads it, so that the SET clause below names a known setting.
SELECT public.similarity('', '');

CREATE OR REPLACE FUNCTION knowledge.search(p_q text, p_locale text, p_limit integer,
	p_published_only boolean, p_any boolean) RETURNS json
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	SET pg_trgm.word_similarity_threshold = 0.3
	AS $$
DECLARE
	cfgs regconfig[]; -- the configurations that may apply
	tsqs tsquery[];   -- the query parsed in each (same order)
	any_tsq tsquery;  -- their distinct variants ORed: the GIN probe
BEGIN
SELECT array_agg(c.cfg), array_agg(knowledge.query(c.cfg, p_q, p_any)) INTO cfgs, tsqs
FROM (SELECT knowledge.regconfig(p_locale) AS cfg WHERE p_locale IS NOT NULL
      UNION ALL SELECT r FROM knowledge.regconfigs() r WHERE p_locale IS NULL) c;
SELECT knowledge.tsquery_or_agg(DISTINCT t) INTO any_tsq FROM unnest(tsqs) t;
RETURN (WITH top AS (
	-- every match ranked with the query in its own configuration (looked up
	-- per row, not joined: a join made the planner probe the index once per
	-- configuration), carrying only what the ranking needs
	SELECT b.id, x.tsq,
	       ts_rank_cd(b.search, x.tsq, 1)
	       * (1 + 0.1 * ln(1 + greatest(b.helpful - b.not_helpful, 0))) AS score
	FROM knowledge.articles b
	CROSS JOIN LATERAL (SELECT tsqs[array_position(cfgs, knowledge.regconfig(b.locale))]
		AS tsq) x
	WHERE b.search @@ any_tsq
	  AND b.search @@ x.tsq
	  AND b.tenant_id = knowledge.tenant()
	  AND (p_locale IS NULL OR b.locale = p_locale)
	  AND (NOT p_published_only OR b.status = 'published')
	ORDER BY score DESC, b.id LIMIT p_limit),
ft AS (
	SELECT b.id, b.title, b.body, b.locale, t.tsq, t.score
	FROM top t JOIN knowledge.articles b ON b.tenant_id = knowledge.tenant() AND b.id = t.id),
fz AS (
	SELECT b.id, b.title, b.body, b.locale, NULL::tsquery AS tsq,
	       public.word_similarity(p_q, b.title)::float8 AS score
	FROM knowledge.articles b
	WHERE (SELECT count(*) FROM ft) < p_limit AND p_q OPERATOR(public.<%) b.title
	  AND b.tenant_id = knowledge.tenant()
	  AND (p_locale IS NULL OR b.locale = p_locale)
	  AND (NOT p_published_only OR b.status = 'published')
	  AND b.id NOT IN (SELECT id FROM ft)
	ORDER BY score DESC, b.id
	LIMIT greatest(p_limit - (SELECT count(*) FROM ft), 0)),
hits AS (
	SELECT false AS fuzzy, * FROM ft UNION ALL SELECT true, * FROM fz)
SELECT json_build_object('items', coalesce(json_agg(json_build_object('id', h.id,
	'title', h.title,
	'snippet', ts_headline(knowledge.regconfig(h.locale), knowledge.escape_html(h.body),
		coalesce(h.tsq, knowledge.query(knowledge.regconfig(h.locale), p_q, true)),
		'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=2,'
		' FragmentDelimiter=" … "'),
	'score', round(h.score::numeric, 6), 'fuzzy', h.fuzzy)
	ORDER BY h.fuzzy, h.score DESC, h.id), '[]'::json))
FROM hits h);
END
$$;
