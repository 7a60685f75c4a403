-- knowledge schema: help-center articles, their versions, helpful feedback
-- and the tenant's help-center setting. Run as hd_owner by
-- `hd-knowledge --migrate`; the daemon connects as hd_app, which owns
-- nothing, so row-level security always applies to it. Every tenant table
-- leads its key with tenant_id and forces RLS with the policy tenant_id =
-- app.tenant_id (set per transaction with set_config(..., true)); an unset
-- tenant sees no rows at all. Search: docs/architecture.md, "Knowledge search".
CREATE SCHEMA IF NOT EXISTS knowledge;
GRANT USAGE ON SCHEMA knowledge TO hd_app;

-- Trigram similarity for the typo fallback of search. pg_trgm is a trusted
-- extension (PostgreSQL 13+), so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- The text-search configuration of a locale ("en", "de-AT", "pt_BR"): every
-- snowball language PostgreSQL 15 ships, by its ISO 639-1 code; `simple`
-- (no stemming, no stop words) for any other. Each name is a constant of
-- type regconfig, so the function inlines (a cast of text would not).
CREATE FUNCTION knowledge.regconfig(p_locale text) RETURNS regconfig
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT (CASE lower(substr(p_locale, 1, 2))
		WHEN 'ar' THEN 'pg_catalog.arabic'::regconfig WHEN 'hy' THEN 'pg_catalog.armenian'::regconfig
		WHEN 'eu' THEN 'pg_catalog.basque'::regconfig WHEN 'ca' THEN 'pg_catalog.catalan'::regconfig
		WHEN 'da' THEN 'pg_catalog.danish'::regconfig WHEN 'nl' THEN 'pg_catalog.dutch'::regconfig
		WHEN 'en' THEN 'pg_catalog.english'::regconfig WHEN 'fi' THEN 'pg_catalog.finnish'::regconfig
		WHEN 'fr' THEN 'pg_catalog.french'::regconfig WHEN 'de' THEN 'pg_catalog.german'::regconfig
		WHEN 'el' THEN 'pg_catalog.greek'::regconfig WHEN 'hi' THEN 'pg_catalog.hindi'::regconfig
		WHEN 'hu' THEN 'pg_catalog.hungarian'::regconfig WHEN 'id' THEN 'pg_catalog.indonesian'::regconfig
		WHEN 'ga' THEN 'pg_catalog.irish'::regconfig WHEN 'it' THEN 'pg_catalog.italian'::regconfig
		WHEN 'lt' THEN 'pg_catalog.lithuanian'::regconfig WHEN 'ne' THEN 'pg_catalog.nepali'::regconfig
		WHEN 'no' THEN 'pg_catalog.norwegian'::regconfig WHEN 'nb' THEN 'pg_catalog.norwegian'::regconfig
		WHEN 'nn' THEN 'pg_catalog.norwegian'::regconfig WHEN 'pt' THEN 'pg_catalog.portuguese'::regconfig
		WHEN 'ro' THEN 'pg_catalog.romanian'::regconfig WHEN 'ru' THEN 'pg_catalog.russian'::regconfig
		WHEN 'sr' THEN 'pg_catalog.serbian'::regconfig WHEN 'es' THEN 'pg_catalog.spanish'::regconfig
		WHEN 'sv' THEN 'pg_catalog.swedish'::regconfig WHEN 'ta' THEN 'pg_catalog.tamil'::regconfig
		WHEN 'tr' THEN 'pg_catalog.turkish'::regconfig WHEN 'yi' THEN 'pg_catalog.yiddish'::regconfig
		ELSE 'pg_catalog.simple'::regconfig END) $$;

-- Article text is plain text, not HTML: escaped before the text-search
-- parser sees it, which would otherwise take "<x ...>" for a tag (and skip
-- what follows <script>), and before ts_headline marks matches with <mark>.
CREATE FUNCTION knowledge.escape_html(p text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT replace(replace(replace(p, '&', '&amp;'), '<', '&lt;'), '>', '&gt;') $$;

-- The configurations a search without a locale parses its query in: one
-- per distinct configuration knowledge.regconfig gives.
CREATE FUNCTION knowledge.regconfigs() RETURNS SETOF regconfig
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT DISTINCT knowledge.regconfig(l) FROM unnest(ARRAY['ar', 'hy', 'eu', 'ca',
		'da', 'nl', 'en', 'fi', 'fr', 'de', 'el', 'hi', 'hu', 'id', 'ga', 'it', 'lt', 'ne',
		'no', 'pt', 'ro', 'ru', 'sr', 'es', 'sv', 'ta', 'tr', 'yi', 'xx']) l $$;

-- The document searched: title weight A, tags B, body C, each in the
-- configuration of the article's locale.
CREATE FUNCTION knowledge.article_tsv(p_locale text, p_title text, p_tags text[], p_body text)
	RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT setweight(to_tsvector(knowledge.regconfig(p_locale),
		   knowledge.escape_html(p_title)), 'A')
		|| setweight(to_tsvector(knowledge.regconfig(p_locale),
		   knowledge.escape_html(coalesce(pg_catalog.array_to_string(p_tags, ' '), ''))), 'B')
		|| setweight(to_tsvector(knowledge.regconfig(p_locale),
		   knowledge.escape_html(p_body)), 'C') $$;

CREATE TABLE knowledge.articles (
	tenant_id    uuid        NOT NULL,
	id           uuid        NOT NULL,
	title        text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
	body         text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 100000),
	tags         text[]      NOT NULL DEFAULT '{}',
	locale       text        NOT NULL DEFAULT 'en'
	             CONSTRAINT articles_locale_check CHECK (locale ~ '^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$'),
	status       text        NOT NULL DEFAULT 'draft'
	             CHECK (status IN ('draft', 'published', 'archived')),
	version      integer     NOT NULL DEFAULT 1,
	helpful      integer     NOT NULL DEFAULT 0,
	not_helpful  integer     NOT NULL DEFAULT 0,
	author_id    uuid        NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	published_at timestamptz,
	search       tsvector    GENERATED ALWAYS AS
	             (knowledge.article_tsv(locale, title, tags, body)) STORED,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX articles_search ON knowledge.articles USING gin (search);
CREATE INDEX articles_title_trgm ON knowledge.articles USING gin (title public.gin_trgm_ops);
CREATE INDEX articles_list ON knowledge.articles (tenant_id, created_at DESC, id DESC);

-- One row per version of an article: the whole text as it was made current
-- (creation is version 1; every PATCH and restore adds one).
CREATE TABLE knowledge.article_versions (
	tenant_id  uuid        NOT NULL,
	article_id uuid        NOT NULL,
	version    integer     NOT NULL,
	id         uuid        NOT NULL DEFAULT gen_random_uuid(),
	title      text        NOT NULL,
	body       text        NOT NULL,
	tags       text[]      NOT NULL,
	locale     text        NOT NULL,
	status     text        NOT NULL,
	author_id  uuid        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (tenant_id, article_id, version),
	FOREIGN KEY (tenant_id, article_id) REFERENCES knowledge.articles ON DELETE CASCADE
);

-- One helpful / not helpful vote per user and article (the last one counts).
CREATE TABLE knowledge.feedback (
	tenant_id  uuid        NOT NULL,
	article_id uuid        NOT NULL,
	user_id    uuid        NOT NULL,
	helpful    boolean     NOT NULL,
	at         timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, article_id, user_id),
	FOREIGN KEY (tenant_id, article_id) REFERENCES knowledge.articles ON DELETE CASCADE
);

-- The tenant's help-center setting: public = readable without a token.
CREATE TABLE knowledge.settings (
	tenant_id  uuid        NOT NULL PRIMARY KEY,
	public     boolean     NOT NULL DEFAULT false,
	updated_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['articles', 'article_versions', 'feedback', 'settings'] LOOP
		EXECUTE format('ALTER TABLE knowledge.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE knowledge.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON knowledge.%I'
			' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
			' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON knowledge.%I TO hd_app', t);
	END LOOP;
END $$;

-- The owner (this migration's role) reads every article: only for
-- knowledge.search, a SECURITY DEFINER function that filters on the
-- transaction's tenant itself (002_functions.sql says why).
CREATE POLICY search_owner ON knowledge.articles FOR SELECT TO CURRENT_USER USING (true);

CREATE FUNCTION knowledge.ts_json(t timestamptz) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- The article object of the API.
CREATE FUNCTION knowledge.article_json(a knowledge.articles) RETURNS json
	LANGUAGE sql STABLE
	AS $$ SELECT json_build_object('id', a.id, 'title', a.title, 'body', a.body,
		'tags', to_json(a.tags), 'locale', a.locale, 'status', a.status,
		'version', a.version, 'helpful', a.helpful, 'not_helpful', a.not_helpful,
		'author_id', a.author_id, 'created_at', knowledge.ts_json(a.created_at),
		'updated_at', knowledge.ts_json(a.updated_at),
		'published_at', knowledge.ts_json(a.published_at)) $$;

-- A version row of GET .../versions.
CREATE FUNCTION knowledge.version_json(v knowledge.article_versions) RETURNS json
	LANGUAGE sql STABLE
	AS $$ SELECT json_build_object('version', v.version, 'title', v.title, 'body', v.body,
		'tags', to_json(v.tags), 'locale', v.locale, 'status', v.status,
		'author_id', v.author_id, 'created_at', knowledge.ts_json(v.created_at)) $$;

-- The public help center names a tenant by its slug (auth.tenant_id_by_slug,
-- the one fact auth exposes for sign-in). When that tenant made its help
-- center public, sets app.tenant_id to it for the rest of the transaction and
-- returns it; otherwise leaves app.tenant_id empty (RLS: no rows) and
-- returns NULL. SECURITY INVOKER: the settings row is read under RLS, for the
-- tenant just set.
CREATE FUNCTION knowledge.help_tenant(p_slug text) RETURNS uuid
	LANGUAGE plpgsql VOLATILE
	AS $$
DECLARE tid uuid := auth.tenant_id_by_slug(p_slug);
BEGIN
	IF tid IS NULL THEN
		PERFORM set_config('app.tenant_id', '', true);
		RETURN NULL;
	END IF;
	PERFORM set_config('app.tenant_id', tid::text, true);
	IF EXISTS (SELECT 1 FROM knowledge.settings s WHERE s.tenant_id = tid AND s.public) THEN
		RETURN tid;
	END IF;
	PERFORM set_config('app.tenant_id', '', true);
	RETURN NULL;
END $$;
