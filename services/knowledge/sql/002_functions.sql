-- Writes and search of the knowledge schema, in plpgsql (the outbox table
-- comes after this folder on a fresh database: hd/outbox.h). All SECURITY
-- INVOKER: they run as hd_app under row-level security for app.tenant_id.

-- The tenant of the transaction (set by the daemon or knowledge.help_tenant).
CREATE FUNCTION knowledge.tenant() RETURNS uuid
	LANGUAGE sql STABLE
	AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- A version's time: now, but always after the article's previous version, so
-- that versions listed by (created_at, id) are in version order.
CREATE FUNCTION knowledge.next_time(p_prev timestamptz) RETURNS timestamptz
	LANGUAGE sql STABLE
	AS $$ SELECT greatest(date_trunc('milliseconds', now()),
		coalesce(p_prev + interval '1 millisecond', '-infinity')) $$;

CREATE FUNCTION knowledge.emit(p_type text, p_actor uuid, p_data json) RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	INSERT INTO knowledge.outbox (tenant_id, type, actor_id, data)
	VALUES (knowledge.tenant(), p_type, p_actor, p_data);
END $$;

-- POST /v1/kb/articles: the article as version 1; article.created (and
-- article.published when it is born published). Returns the article.
CREATE FUNCTION knowledge.article_create(p_id uuid, p_actor uuid, p_title text, p_body text,
	p_tags json, p_locale text, p_status text) RETURNS json
	LANGUAGE plpgsql
	AS $$
DECLARE a knowledge.articles;
BEGIN
	INSERT INTO knowledge.articles (tenant_id, id, title, body, tags, locale, status, author_id,
		published_at)
	VALUES (knowledge.tenant(), p_id, p_title, p_body,
		coalesce(ARRAY(SELECT json_array_elements_text(p_tags)), '{}'),
		coalesce(p_locale, 'en'), coalesce(p_status, 'draft'), p_actor,
		CASE WHEN p_status = 'published' THEN date_trunc('milliseconds', now()) END)
	RETURNING * INTO a;
	INSERT INTO knowledge.article_versions (tenant_id, article_id, version, title, body, tags,
		locale, status, author_id, created_at)
	VALUES (a.tenant_id, a.id, 1, a.title, a.body, a.tags, a.locale, a.status, p_actor,
		a.created_at);
	PERFORM knowledge.emit('article.created', p_actor, knowledge.article_json(a));
	IF a.status = 'published' THEN
		PERFORM knowledge.emit('article.published', p_actor, knowledge.article_json(a));
	END IF;
	RETURN knowledge.article_json(a);
END $$;

-- A new current text for article p_id (PATCH and restore): NULL arguments
-- keep the current value. Outcome: 'not_found', 'stale' (If-Match p_if_match
-- is not the current version), 'unchanged' (nothing differs: no version) or
-- 'changed' (version + 1, a version row, article.updated, and
-- article.published when the status became published). j: the article.
CREATE FUNCTION knowledge.article_write(p_id uuid, p_if_match integer, p_actor uuid,
	p_title text, p_body text, p_tags json, p_locale text, p_status text,
	OUT outcome text, OUT j json, OUT version integer)
	LANGUAGE plpgsql
	AS $$
DECLARE cur knowledge.articles; nw knowledge.articles;
BEGIN
	SELECT * INTO cur FROM knowledge.articles a
	WHERE a.tenant_id = knowledge.tenant() AND a.id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		outcome := 'not_found';
		RETURN;
	END IF;
	j := knowledge.article_json(cur);
	version := cur.version;
	IF p_if_match IS NOT NULL AND p_if_match <> cur.version THEN
		outcome := 'stale';
		RETURN;
	END IF;
	nw := cur;
	nw.title := coalesce(p_title, cur.title);
	nw.body := coalesce(p_body, cur.body);
	nw.tags := CASE WHEN p_tags IS NULL THEN cur.tags
		ELSE ARRAY(SELECT json_array_elements_text(p_tags)) END;
	nw.locale := coalesce(p_locale, cur.locale);
	nw.status := coalesce(p_status, cur.status);
	IF (nw.title, nw.body, nw.tags, nw.locale, nw.status)
		IS NOT DISTINCT FROM (cur.title, cur.body, cur.tags, cur.locale, cur.status) THEN
		outcome := 'unchanged';
		RETURN;
	END IF;
	UPDATE knowledge.articles a SET title = nw.title, body = nw.body, tags = nw.tags,
		locale = nw.locale, status = nw.status, version = a.version + 1,
		updated_at = knowledge.next_time(a.updated_at),
		published_at = CASE WHEN nw.status = 'published' AND cur.status <> 'published'
			THEN knowledge.next_time(a.updated_at) ELSE a.published_at END
	WHERE a.tenant_id = cur.tenant_id AND a.id = cur.id
	RETURNING * INTO nw;
	INSERT INTO knowledge.article_versions (tenant_id, article_id, version, title, body, tags,
		locale, status, author_id, created_at)
	VALUES (nw.tenant_id, nw.id, nw.version, nw.title, nw.body, nw.tags, nw.locale, nw.status,
		p_actor, nw.updated_at);
	j := knowledge.article_json(nw);
	version := nw.version;
	outcome := 'changed';
	PERFORM knowledge.emit('article.updated', p_actor, j);
	IF nw.status = 'published' AND cur.status <> 'published' THEN
		PERFORM knowledge.emit('article.published', p_actor, j);
	END IF;
END $$;

-- POST .../versions/{n}/restore: version p_n's text (title, body, tags,
-- locale; the status stays) as a new version. Outcomes of article_write,
-- and 'version_not_found'.
CREATE FUNCTION knowledge.article_restore(p_id uuid, p_n integer, p_if_match integer,
	p_actor uuid, OUT outcome text, OUT j json, OUT version integer)
	LANGUAGE plpgsql
	AS $$
DECLARE v knowledge.article_versions;
BEGIN
	SELECT * INTO v FROM knowledge.article_versions x
	WHERE x.tenant_id = knowledge.tenant() AND x.article_id = p_id AND x.version = p_n;
	IF NOT FOUND THEN
		outcome := CASE WHEN EXISTS (SELECT 1 FROM knowledge.articles a
			WHERE a.tenant_id = knowledge.tenant() AND a.id = p_id)
			THEN 'version_not_found' ELSE 'not_found' END;
		RETURN;
	END IF;
	SELECT w.outcome, w.j, w.version INTO outcome, j, version
	FROM knowledge.article_write(p_id, p_if_match, p_actor, v.title, v.body, to_json(v.tags),
		v.locale, NULL) w;
END $$;

-- POST .../feedback: the caller's vote (one per user, the last counts),
-- kept in the article's counters. False when the article is not there (or
-- not published, for p_published_only).
CREATE FUNCTION knowledge.article_feedback(p_id uuid, p_user uuid, p_helpful boolean,
	p_published_only boolean) RETURNS boolean
	LANGUAGE plpgsql
	AS $$
DECLARE old boolean;
BEGIN
	PERFORM 1 FROM knowledge.articles a WHERE a.tenant_id = knowledge.tenant() AND a.id = p_id
		AND (NOT p_published_only OR a.status = 'published') FOR UPDATE;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	SELECT f.helpful INTO old FROM knowledge.feedback f
	WHERE f.tenant_id = knowledge.tenant() AND f.article_id = p_id AND f.user_id = p_user;
	INSERT INTO knowledge.feedback (tenant_id, article_id, user_id, helpful)
	VALUES (knowledge.tenant(), p_id, p_user, p_helpful)
	ON CONFLICT (tenant_id, article_id, user_id)
	DO UPDATE SET helpful = EXCLUDED.helpful, at = now();
	UPDATE knowledge.articles a
	SET helpful = a.helpful + p_helpful::int - coalesce(old::int, 0),
	    not_helpful = a.not_helpful + (NOT p_helpful)::int - coalesce((NOT old)::int, 0)
	WHERE a.tenant_id = knowledge.tenant() AND a.id = p_id;
	RETURN true;
END $$;

-- The query of a search in configuration p_cfg: p_any false reads q as a
-- web search (all words, "quoted phrases", -not, or); true matches any of
-- its words (suggestions from a ticket's whole text).
CREATE FUNCTION knowledge.query(p_cfg regconfig, p_q text, p_any boolean) RETURNS tsquery
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT CASE WHEN p_any THEN coalesce(nullif(
		array_to_string(tsvector_to_array(to_tsvector(p_cfg, p_q)), ' | '), ''), '''''')::tsquery
		ELSE websearch_to_tsquery(p_cfg, p_q) END $$;

-- ORs the queries of several configurations (knowledge.search, R_search.sql).
CREATE AGGREGATE knowledge.tsquery_or_agg(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);

