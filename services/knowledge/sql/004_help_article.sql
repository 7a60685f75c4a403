-- The article object of the public help center: the API's article without
-- author_id (who wrote an article is staff information; an anonymous reader
-- gets no user id of the tenant). Same members, same order otherwise.
CREATE FUNCTION knowledge.help_article_json(a knowledge.articles) RETURNS json
	LANGUAGE sql STABLE
	AS $$ SELECT json_build_object('id', a.id, 'title', a.title, 'body', a.body,
		'tags', to_json(a.tags), 'locale', a.locale, 'status', a.status,
		'version', a.version, 'helpful', a.helpful, 'not_helpful', a.not_helpful,
		'created_at', knowledge.ts_json(a.created_at),
		'updated_at', knowledge.ts_json(a.updated_at),
		'published_at', knowledge.ts_json(a.published_at)) $$;
