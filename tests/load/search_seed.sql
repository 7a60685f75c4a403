-- make bench-search (tests/load/bench-search.sh): :n published English
-- articles of tenant :tenant by :author, straight into knowledge.articles
-- (the generated tsvector and the indexes as the API would leave them).
-- Titles of 5 words, bodies of 80, each word drawn from
-- knowledge.bench_word's vocabulary (60 helpdesk words, then made-up ones of
-- 5 to 9 letters up to rank 20,000, from a hash: their trigrams as varied as
-- a language's) by a Zipf-Mandelbrot law (rank + 99 log-uniform): the most
-- common word is in about 15 % of the articles, a word of rank 50 in about
-- 10 %, one of rank 3,000 in under 1 %; so two common words together match
-- a few thousand of 100,000 articles and two rare ones a handful. One in
-- twenty articles has 0 to 50 helpful votes, so the ranking's feedback boost
-- has something to act on.
CREATE OR REPLACE FUNCTION knowledge.bench_word(r integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN r <= 60 THEN (ARRAY['printer', 'network', 'password', 'email', 'vpn',
		'login', 'account', 'invoice', 'laptop', 'screen', 'install', 'update', 'error',
		'access', 'server', 'wifi', 'phone', 'battery', 'keyboard', 'mouse', 'backup',
		'license', 'payment', 'refund', 'shipping', 'order', 'delivery', 'camera', 'driver',
		'firewall', 'browser', 'calendar', 'meeting', 'storage', 'disk', 'memory', 'crash',
		'slow', 'reset', 'sync', 'outlook', 'spreadsheet', 'document', 'chat', 'monitor',
		'cable', 'router', 'scanner', 'toner', 'paper', 'jam', 'ink', 'bluetooth', 'audio',
		'video', 'microphone', 'headset', 'dock', 'charger', 'certificate'])[r]
	ELSE translate(substr(md5('word' || r), 1, 5 + r % 5), '0123456789', 'qwrtypsdfg') END
$$;

CREATE OR REPLACE FUNCTION knowledge.bench_text(words integer) RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT string_agg(knowledge.bench_word(least(20000,
		floor(exp(ln(100) + random() * (ln(20100) - ln(100))))::integer - 99)), ' ')
	FROM generate_series(1, words)
$$;

SET app.tenant_id = :'tenant';
INSERT INTO knowledge.articles (tenant_id, id, title, body, locale, status, author_id, published_at,
	helpful)
SELECT :'tenant', gen_random_uuid(), knowledge.bench_text(5), knowledge.bench_text(80), 'en',
       'published', :'author', now(),
       CASE WHEN random() < 0.05 THEN (random() * 50)::integer ELSE 0 END
FROM generate_series(1, :n) g;
-- as autovacuum leaves it: the GIN pending list merged, statistics taken
VACUUM ANALYZE knowledge.articles;
