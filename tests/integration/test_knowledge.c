/* hd-knowledge against a real PostgreSQL, over NNG as the gateway calls it:
 * articles with versions, If-Match and restore; who sees drafts; search
 * ranking, locale stemming, snippets and the typo fallback; feedback; the
 * public help center's isolation (no author_id for anonymous readers);
 * kb.suggest; the outbox payloads; knowledge_events.since; the search
 * result cache: the generation every write bumps, no stale reply served. */
#include "hd/redis.h"
#include "ticket_it.h"

static it_who admin, agent, customer, other_admin, other_customer;
static char slug_a[40], slug_b[40];

/* A tenant with slug in auth.tenants (knowledge.help_tenant reads it). */
static void tenant_make(const it_who *w, char slug[40])
{
	char *out = NULL, email[80], user[37];
	snprintf(slug, 40, "kb-%s", w->tenant + 24);
	snprintf(email, sizeof email, "%s@kb.test", slug);
	assert_int_equal(hd_uuid_v7(user), HD_OK);
	const char *p[4] = { w->tenant, slug, user, email };
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "SELECT auth.bootstrap_ensure($1::uuid, $2, 'KB test', $3::uuid, $4,"
	                     " 'KB', 'admin', 'x')",
	                     4, p, &out),
	    HD_OK);
	free(out);
}

static int group_setup(void **state)
{
	(void)state;
	it_auth_schema();
	it_who_make(&admin, NULL, "admin");
	it_who_make(&agent, admin.tenant, "agent");
	it_who_make(&customer, admin.tenant, "customer");
	it_who_make(&other_admin, NULL, "admin");
	it_who_make(&other_customer, other_admin.tenant, "customer");
	if (it_daemon_start_named("knowledge", "kb.settings_get", &admin) != 0)
		return -1;
	tenant_make(&admin, slug_a);
	tenant_make(&other_admin, slug_b);
	return 0;
}

/* Creates an article as w from body and copies its id. */
static void article(const it_who *w, const char *body, char id[37])
{
	daemon_reply r = it_call("articles.create", w, NULL, NULL, body);
	it_expect_status(&r, 201);
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
}

/* Calls op for article id and version n as w, with one optional header. */
static daemon_reply call_version(
    const char *op, const it_who *w, const char *id, const char *n, const char *if_match)
{
	const char *params[] = { "id", id, "n", n, NULL };
	return it_call_params(
	    op, w, params, NULL, NULL, if_match != NULL ? "if-match" : NULL, if_match);
}

/* Calls a help-center op for slug (and article id when not NULL), anonymously. */
static daemon_reply call_help(const char *op, const char *slug, const char *id, const char *query)
{
	const char *params[] = { "tenant_slug", slug, id != NULL ? "id" : NULL, id, NULL };
	return it_call_params(op, NULL, params, query, NULL, NULL, NULL);
}

/* The position of article id in a reply's items, -1 when absent. */
static int item_index(const daemon_reply *r, const char *id)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
	int i = 0;
	const cJSON *it;
	assert_true(cJSON_IsArray(items));
	cJSON_ArrayForEach(it, items)
	{
		if (strcmp(it_str(it, "id"), id) == 0)
			return i;
		i++;
	}
	return -1;
}

static const cJSON *item_at(const daemon_reply *r, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "items"), i);
}

static void test_versions_if_match_restore(void **state)
{
	(void)state;
	char id[37];
	article(&agent,
	    "{\"title\":\"Reset a password\",\"body\":\"Open settings.\",\"tags\":[\"account\"]}",
	    id);
	daemon_reply r = it_call("articles.get", &agent, id, NULL, NULL);
	it_expect_status(&r, 200);
	assert_string_equal(it_str(r.json, "status"), "draft");
	assert_string_equal(it_str(r.json, "locale"), "en");
	assert_string_equal(it_header(&r, "etag"), "\"1\"");
	daemon_reply_free(&r);

	r = it_call_h("articles.update", &agent, id, NULL, "{\"title\":\"Reset your password\"}",
	    "if-match", "\"1\"");
	it_expect_status(&r, 200);
	assert_int_equal(it_num(r.json, "version"), 2);
	daemon_reply_free(&r);
	/* a stale If-Match changes nothing */
	it_check_h(412, "articles.update", &agent, id, "{\"body\":\"stale\"}", "if-match", "\"1\"");
	it_check_h(412, "articles.update", &agent, id, "{\"body\":\"x\"}", "if-match", "bogus");
	r = it_call_h("articles.update", &admin, id, NULL,
	    "{\"body\":\"Open settings, then Security.\"}", "if-match", "W/\"2\"");
	it_expect_status(&r, 200);
	assert_int_equal(it_num(r.json, "version"), 3);
	daemon_reply_free(&r);

	r = it_call("articles.versions", &agent, id, NULL, NULL);
	it_expect_status(&r, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), 3);
	assert_int_equal(it_num(cJSON_GetArrayItem(items, 0), "version"), 3);
	assert_int_equal(it_num(cJSON_GetArrayItem(items, 2), "version"), 1);
	assert_string_equal(it_str(cJSON_GetArrayItem(items, 2), "title"), "Reset a password");
	assert_string_equal(it_str(cJSON_GetArrayItem(items, 0), "author_id"), admin.user);
	daemon_reply_free(&r);

	r = call_version("articles.restore", &agent, id, "1", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(it_num(r.json, "version"), 4);
	assert_string_equal(it_str(r.json, "title"), "Reset a password");
	assert_string_equal(it_str(r.json, "body"), "Open settings.");
	daemon_reply_free(&r);
	r = call_version("articles.restore", &agent, id, "2", "\"3\"");
	it_expect_status(&r, 412);
	daemon_reply_free(&r);
	r = call_version("articles.restore", &agent, id, "99", NULL);
	it_expect_status(&r, 404);
	assert_non_null(strstr(r.body, "version not found"));
	daemon_reply_free(&r);
	r = it_call("articles.versions", &agent, id, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 4);
	daemon_reply_free(&r);
	/* roles: writes are staff only; versions too */
	it_check(403, "articles.update", &customer, id, "{\"title\":\"x\"}");
	r = call_version("articles.restore", &customer, id, "1", NULL);
	it_expect_status(&r, 403);
	daemon_reply_free(&r);
	it_check(403, "articles.versions", &customer, id, NULL);
	/* another tenant: not found */
	it_check(404, "articles.get", &other_admin, id, NULL);
	it_check(404, "articles.update", &other_admin, id, "{\"title\":\"x\"}");
	it_check(404, "articles.versions", &other_admin, id, NULL);
	it_check(404, "articles.delete", &other_admin, id, NULL);
	it_check(204, "articles.delete", &agent, id, NULL);
	it_check(404, "articles.get", &agent, id, NULL);
}

static void test_validation(void **state)
{
	(void)state;
	it_check_422("title", "articles.create", &agent, NULL, "{\"body\":\"b\"}");
	it_check_422("body", "articles.create", &agent, NULL, "{\"title\":\"t\"}");
	it_check_422("locale", "articles.create", &agent, NULL,
	    "{\"title\":\"t\",\"body\":\"b\",\"locale\":\"english!\"}");
	it_check_422("status", "articles.create", &agent, NULL,
	    "{\"title\":\"t\",\"body\":\"b\",\"status\":\"live\"}");
	it_check_422("tags", "articles.create", &agent, NULL,
	    "{\"title\":\"t\",\"body\":\"b\",\"tags\":[1]}");
	it_check_422("color", "articles.create", &agent, NULL,
	    "{\"title\":\"t\",\"body\":\"b\",\"color\":1}");
	it_check(400, "articles.create", &agent, NULL, "{nope");
	it_check(403, "articles.create", &customer, NULL, "{\"title\":\"t\",\"body\":\"b\"}");
	it_check(401, "articles.create", NULL, NULL, "{\"title\":\"t\",\"body\":\"b\"}");
	daemon_reply r = it_call("kb.search", &agent, NULL, "locale=en", NULL);
	it_expect_422(&r, "q");
	r = it_call("kb.search", &agent, NULL, "q=x&limit=500", NULL);
	it_expect_422(&r, "limit");
	r = it_call("articles.list", &agent, NULL, "status=live", NULL);
	it_expect_422(&r, "status");
	it_check_422("helpful", "articles.feedback", &customer, admin.user, "{\"helpful\":1}");
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM knowledge.articles WHERE title = 't'", NULL, NULL),
	    0);
}

static void test_customer_sees_published_only(void **state)
{
	(void)state;
	char draft[37], pub[37], archived[37];
	article(&agent, "{\"title\":\"Internal draft\",\"body\":\"Secret plan.\"}", draft);
	article(
	    &agent, "{\"title\":\"Visible\",\"body\":\"Hello.\",\"status\":\"published\"}", pub);
	article(&agent, "{\"title\":\"Old\",\"body\":\"Gone.\",\"status\":\"archived\"}", archived);
	it_check(404, "articles.get", &customer, draft, NULL);
	it_check(404, "articles.get", &customer, archived, NULL);
	it_check(200, "articles.get", &customer, pub, NULL);
	it_check(404, "articles.feedback", &customer, draft, "{\"helpful\":true}");
	daemon_reply r = it_call("articles.list", &customer, NULL, "status=draft", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 0);
	daemon_reply_free(&r);
	r = it_call("articles.list", &customer, NULL, "limit=100", NULL);
	assert_true(item_index(&r, pub) >= 0);
	assert_int_equal(item_index(&r, draft), -1);
	daemon_reply_free(&r);
	r = it_call("articles.list", &agent, NULL, "status=draft&limit=100", NULL);
	assert_true(item_index(&r, draft) >= 0);
	assert_int_equal(item_index(&r, pub), -1);
	daemon_reply_free(&r);
	r = it_call("kb.search", &customer, NULL, "q=secret", NULL);
	assert_int_equal(item_index(&r, draft), -1);
	daemon_reply_free(&r);
	r = it_call("kb.search", &agent, NULL, "q=secret", NULL);
	assert_int_equal(item_index(&r, draft), 0);
	daemon_reply_free(&r);
	/* publishing makes it visible, and is an event */
	it_check(200, "articles.update", &agent, draft, "{\"status\":\"published\"}");
	it_check(200, "articles.get", &customer, draft, NULL);
	assert_int_equal(it_admin_count("SELECT count(*) FROM knowledge.outbox WHERE type ="
	                                " 'article.published' AND data->>'id' = $1",
	                     draft, NULL),
	    1);
}

static void test_search_ranking_and_locales(void **state)
{
	(void)state;
	char in_title[37], in_body[37], en[37], de[37], snippet_id[37];
	article(&other_admin,
	    "{\"title\":\"Toner cartridge replacement\",\"body\":\"Open the front cover and pull"
	    " it out.\",\"status\":\"published\"}",
	    in_title);
	article(&other_admin,
	    "{\"title\":\"Office supplies\",\"body\":\"Paper, pens and a spare toner for the"
	    " copier are in room 4.\",\"status\":\"published\"}",
	    in_body);
	daemon_reply r = it_call("kb.search", &other_customer, NULL, "q=toner", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(item_index(&r, in_title), 0);
	assert_int_equal(item_index(&r, in_body), 1);
	assert_true(cJSON_GetObjectItemCaseSensitive(item_at(&r, 0), "score")->valuedouble
	    > cJSON_GetObjectItemCaseSensitive(item_at(&r, 1), "score")->valuedouble);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(item_at(&r, 0), "fuzzy")));
	daemon_reply_free(&r);

	article(&other_admin,
	    "{\"title\":\"Printer offline\",\"body\":\"When the printer shows offline, restart"
	    " the print spooler.\",\"locale\":\"en\",\"status\":\"published\"}",
	    en);
	article(&other_admin,
	    "{\"title\":\"Netzwerk\",\"body\":\"Alle Drucker im Büro hängen am WLAN.\","
	    "\"locale\":\"de\",\"status\":\"published\"}",
	    de);
	r = it_call("kb.search", &other_customer, NULL, "q=printers&locale=en", NULL);
	assert_int_equal(item_index(&r, en), 0);
	const char *snippet = it_str(item_at(&r, 0), "snippet");
	assert_non_null(strstr(snippet, "<mark>printer</mark>"));
	daemon_reply_free(&r);
	/* German stemming: Druckern (dative plural) -> drucker */
	r = it_call("kb.search", &other_customer, NULL, "q=Druckern&locale=de", NULL);
	assert_int_equal(item_index(&r, de), 0);
	assert_non_null(strstr(it_str(item_at(&r, 0), "snippet"), "<mark>Drucker</mark>"));
	daemon_reply_free(&r);
	/* without a locale each article is searched in its own language */
	r = it_call("kb.search", &other_customer, NULL, "q=Druckern", NULL);
	assert_int_equal(item_index(&r, de), 0);
	daemon_reply_free(&r);
	/* English stemming does not apply to the German article's simple words */
	r = it_call("kb.search", &other_customer, NULL, "q=printers&locale=de", NULL);
	assert_int_equal(item_index(&r, en), -1);
	daemon_reply_free(&r);

	/* typo: no full-text hit, the title by trigrams, marked fuzzy */
	r = it_call("kb.search", &other_customer, NULL, "q=pritner", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(item_index(&r, en), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item_at(&r, 0), "fuzzy")));
	daemon_reply_free(&r);
	/* full-text hits come first, the fallback fills up to limit */
	r = it_call("kb.search", &other_customer, NULL, "q=printer&limit=1", NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	daemon_reply_free(&r);

	/* snippets are HTML-escaped around the marks */
	article(&other_admin,
	    "{\"title\":\"Markup\",\"body\":\"Type <script> into the zebra field.\","
	    "\"status\":\"published\"}",
	    snippet_id);
	r = it_call("kb.search", &other_customer, NULL, "q=zebra", NULL);
	snippet = it_str(item_at(&r, 0), "snippet");
	assert_null(strstr(snippet, "<script>"));
	assert_non_null(strstr(snippet, "&lt;script&gt;"));
	assert_non_null(strstr(snippet, "<mark>zebra</mark>"));
	daemon_reply_free(&r);
	/* another tenant's search never sees these */
	r = it_call("kb.search", &admin, NULL, "q=toner", NULL);
	assert_int_equal(item_index(&r, in_title), -1);
	daemon_reply_free(&r);
}

static void test_feedback(void **state)
{
	(void)state;
	char id[37];
	article(&agent,
	    "{\"title\":\"VPN\",\"body\":\"Install the client.\",\"status\":\"published\"}", id);
	it_check(204, "articles.feedback", &customer, id, "{\"helpful\":true}");
	it_check(204, "articles.feedback", &customer, id, "{\"helpful\":false}");
	it_check(204, "articles.feedback", &agent, id, "{\"helpful\":true}");
	daemon_reply r = it_call("articles.get", &customer, id, NULL, NULL);
	assert_int_equal(it_num(r.json, "helpful"), 1);
	assert_int_equal(it_num(r.json, "not_helpful"), 1);
	daemon_reply_free(&r);
	it_check(404, "articles.feedback", &other_customer, id, "{\"helpful\":true}");
}

static void test_help_center_isolation(void **state)
{
	(void)state;
	char pub[37], draft[37], archived[37], other[37];
	article(&admin,
	    "{\"title\":\"Help one\",\"body\":\"Public walrus text.\",\"status\":\"published\"}",
	    pub);
	article(&admin, "{\"title\":\"Help two\",\"body\":\"Draft walrus text.\"}", draft);
	article(&admin,
	    "{\"title\":\"Help three\",\"body\":\"Archived walrus.\",\"status\":\"archived\"}",
	    archived);
	article(&other_admin,
	    "{\"title\":\"Other walrus\",\"body\":\"Other tenant "
	    "walrus.\",\"status\":\"published\"}",
	    other);
	/* not public yet: 404 */
	daemon_reply r = call_help("help.articles", slug_a, NULL, NULL);
	it_expect_status(&r, 404);
	daemon_reply_free(&r);
	it_check(403, "kb.settings_put", &agent, NULL, "{\"public\":true}");
	it_check_422("public", "kb.settings_put", &admin, NULL, "{\"public\":\"yes\"}");
	it_check(200, "kb.settings_put", &admin, NULL, "{\"public\":true}");
	r = it_call("kb.settings_get", &agent, NULL, NULL, NULL);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "public")));
	daemon_reply_free(&r);
	r = it_call("kb.settings_get", &other_admin, NULL, NULL, NULL);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "public")));
	daemon_reply_free(&r);

	r = call_help("help.articles", slug_a, NULL, "limit=100");
	it_expect_status(&r, 200);
	assert_true(item_index(&r, pub) >= 0);
	assert_int_equal(item_index(&r, draft), -1);
	assert_int_equal(item_index(&r, archived), -1);
	assert_int_equal(item_index(&r, other), -1);
	/* anonymous readers get no user id of the tenant */
	const cJSON *listed = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(r.json, "items"), item_index(&r, pub));
	assert_null(cJSON_GetObjectItemCaseSensitive(listed, "author_id"));
	assert_string_equal(it_str(listed, "title"), "Help one");
	daemon_reply_free(&r);
	r = call_help("help.article", slug_a, pub, NULL);
	it_expect_status(&r, 200);
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "author_id"));
	assert_string_equal(it_str(r.json, "id"), pub);
	daemon_reply_free(&r);
	/* staff still see who wrote it */
	r = it_call("articles.get", &agent, pub, NULL, NULL);
	assert_string_equal(it_str(r.json, "author_id"), admin.user);
	daemon_reply_free(&r);
	const char *hidden[] = { draft, archived, other };
	for (int i = 0; i < 3; i++) {
		r = call_help("help.article", slug_a, hidden[i], NULL);
		it_expect_status(&r, 404);
		daemon_reply_free(&r);
	}
	r = call_help("help.search", slug_a, NULL, "q=walrus");
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	assert_int_equal(item_index(&r, pub), 0);
	daemon_reply_free(&r);
	/* the other tenant's center is not public; an unknown slug is nothing */
	const char *closed[] = { slug_b, "no-such-tenant" };
	for (int i = 0; i < 2; i++) {
		r = call_help("help.search", closed[i], NULL, "q=walrus");
		it_expect_status(&r, 404);
		daemon_reply_free(&r);
		r = call_help("help.article", closed[i], other, NULL);
		it_expect_status(&r, 404);
		daemon_reply_free(&r);
	}
	it_check(200, "kb.settings_put", &admin, NULL, "{\"public\":false}");
	r = call_help("help.article", slug_a, pub, NULL);
	it_expect_status(&r, 404);
	daemon_reply_free(&r);
}

static void test_suggest(void **state)
{
	(void)state;
	char id[37];
	article(&agent,
	    "{\"title\":\"Mailbox full\",\"body\":\"Archive old mail to free quota.\",\"status\":"
	    "\"published\"}",
	    id);
	daemon_reply r = it_call("kb.suggest", &agent, NULL, NULL,
	    "{\"text\":\"My mailbox says it is full and I cannot receive anything\"}");
	it_expect_status(&r, 200);
	assert_int_equal(item_index(&r, id), 0);
	daemon_reply_free(&r);
	it_check(403, "kb.suggest", &customer, NULL, "{\"text\":\"mailbox\"}");
	it_check_422("text", "kb.suggest", &agent, NULL, "{\"limit\":3}");
}

static void test_outbox_payloads(void **state)
{
	(void)state;
	int seen[HD_EVENT__COUNT] = { 0 };
	assert_true(it_outbox_payloads_check_in("knowledge", seen) > 0);
	assert_true(seen[HD_EVENT_article_created] > 0);
	assert_true(seen[HD_EVENT_article_updated] > 0);
	assert_true(seen[HD_EVENT_article_published] > 0);
	assert_true(seen[HD_EVENT_article_deleted] > 0);
}

/* The article events of the caller's tenant, by the source-named
 * knowledge_events.since (published by the relay: waits for them). */
static int events_of(const it_who *w)
{
	int n = 0;
	for (int t = 0; t < 100; t++) {
		daemon_reply r = it_call("knowledge_events.since", w, NULL, "limit=1000", NULL);
		it_expect_status(&r, 200);
		const cJSON *ev;
		n = 0;
		cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
		{
			assert_string_equal(it_str(ev, "tenant_id"), w->tenant);
			assert_true(strncmp(it_str(ev, "type"), "article.", 8) == 0);
			n++;
		}
		daemon_reply_free(&r);
		if (n > 0)
			break;
		usleep(100000);
	}
	return n;
}

static void test_events_since(void **state)
{
	(void)state;
	assert_true(events_of(&agent) > 0);
	assert_true(events_of(&other_admin) > 0);
	it_check(403, "knowledge_events.since", &customer, NULL, NULL);
	/* every tenant's events are for a daemon's consumer only */
	it_check(403, "knowledge_events.replay", &admin, NULL, NULL);
}

/* The tenant's knowledge generation (sql/007_search_generation.sql). */
static long generation_of(const it_who *w)
{
	return it_admin_count("SELECT coalesce((SELECT generation FROM knowledge.search_generations"
	                      " WHERE tenant_id = $1::uuid), 0)",
	    w->tenant, NULL);
}

/* How many replies of w's tenant the search cache holds in Redis. */
static long cached_replies(const it_who *w)
{
	char pattern[96], *out = NULL;
	snprintf(pattern, sizeof pattern, "kb:{%s}:search:*", w->tenant);
	const char *argv[4] = { "EVAL", "return #redis.call('KEYS', ARGV[1])", "0", pattern };
	assert_int_equal(hd_redis_command_sync(it_env("HD_TEST_REDIS_URL"), 4, argv, &out), HD_OK);
	long n = out != NULL ? strtol(out, NULL, 10) : -1;
	free(out);
	return n;
}

/* Every statement that writes articles gives the tenant a new, larger
 * generation (and only that tenant); a read does not. */
static void test_search_generation_bumps(void **state)
{
	(void)state;
	char id[37];
	long other = generation_of(&other_admin), g = generation_of(&admin), next;
	article(&agent, "{\"title\":\"Generation\",\"body\":\"Counting.\"}", id);
	assert_true((next = generation_of(&admin)) > g);
	g = next;
	it_check(200, "articles.update", &agent, id, "{\"status\":\"published\"}");
	assert_true((next = generation_of(&admin)) > g);
	g = next;
	it_check(204, "articles.feedback", &customer, id, "{\"helpful\":true}");
	assert_true((next = generation_of(&admin)) > g);
	g = next;
	it_check(200, "articles.get", &customer, id, NULL);
	daemon_reply r = it_call("kb.search", &customer, NULL, "q=generation", NULL);
	it_expect_status(&r, 200);
	daemon_reply_free(&r);
	assert_int_equal(generation_of(&admin), g);
	it_check(204, "articles.delete", &admin, id, NULL);
	assert_true(generation_of(&admin) > g);
	assert_int_equal(generation_of(&other_admin), other);
}

/* Searches q as w: the index of id in the reply, -1 when absent. */
static int search_index(const it_who *w, const char *q, const char *id)
{
	daemon_reply r = it_call("kb.search", w, NULL, q, NULL);
	it_expect_status(&r, 200);
	int i = item_index(&r, id);
	daemon_reply_free(&r);
	return i;
}

/* A cached reply is never served once the articles changed: a publish
 * shows the article to customers at once, an archive hides it at once,
 * and a draft found by staff never reaches a customer's reply. */
static void test_search_cache_exact(void **state)
{
	(void)state;
	char id[37];
	const char *q = "q=Quokka%20%20Calibration";
	article(&agent, "{\"title\":\"Quokka calibration\",\"body\":\"Turn the dial.\"}", id);
	long before = cached_replies(&admin);
	assert_int_equal(search_index(&agent, q, id), 0);
	assert_int_equal(search_index(&agent, "q=quokka%20calibration", id), 0);
	assert_int_equal(search_index(&customer, q, id), -1);
	assert_int_equal(search_index(&customer, q, id), -1);
	assert_true(cached_replies(&admin) >= before + 2);
	it_check(200, "articles.update", &agent, id, "{\"status\":\"published\"}");
	assert_int_equal(search_index(&customer, q, id), 0);
	assert_int_equal(search_index(&customer, q, id), 0);
	it_check(200, "articles.update", &agent, id, "{\"status\":\"archived\"}");
	assert_int_equal(search_index(&customer, q, id), -1);
	assert_int_equal(search_index(&agent, q, id), 0);
	assert_int_equal(search_index(&other_customer, q, id), -1);
}

/* Redis unreachable: a second hd-knowledge whose Redis is a closed port
 * still answers every search from PostgreSQL, with what changed. */
static void test_search_without_redis(void **state)
{
	(void)state;
	daemon_child kb2;
	char url[64], id[37];
	hd_rpc_client *c2 = NULL, *first = IT.client;
	article(&agent, "{\"title\":\"Platypus reboot\",\"body\":\"Hold power.\"}", id);
	setenv("HD_REDIS_URL", "redis://127.0.0.1:1/0", 1);
	it_child_start(&kb2, "knowledge", url);
	setenv("HD_REDIS_URL", it_env("HD_TEST_REDIS_URL"), 1);
	assert_int_equal(hd_rpc_client_open(&c2, url), HD_OK);
	for (int t = 0; t < 500 && !hd_rpc_client_connected(c2); t++)
		usleep(20000);
	IT.client = c2;
	assert_int_equal(search_index(&agent, "q=platypus%20reboot", id), 0);
	assert_int_equal(search_index(&customer, "q=platypus%20reboot", id), -1);
	it_check(200, "articles.update", &agent, id, "{\"status\":\"published\"}");
	assert_int_equal(search_index(&customer, "q=platypus%20reboot", id), 0);
	IT.client = first;
	hd_rpc_client_close(c2);
	assert_int_equal(daemon_child_stop(&kb2, SIGTERM), 0);
	assert_true(daemon_child_log_clean(&kb2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_if_match_restore),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_customer_sees_published_only),
		cmocka_unit_test(test_search_ranking_and_locales),
		cmocka_unit_test(test_feedback),
		cmocka_unit_test(test_help_center_isolation),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_outbox_payloads),
		cmocka_unit_test(test_events_since),
		cmocka_unit_test(test_search_generation_bumps),
		cmocka_unit_test(test_search_cache_exact),
		cmocka_unit_test(test_search_without_redis),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
