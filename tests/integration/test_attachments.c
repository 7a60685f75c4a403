/* Integration tests of attachments: the storage module (hd/storage.h) and
 * hd-ticket's attachments.* operations, tickets' and comments'
 * attachment_ids, a ticket's files (tickets.attachments), driven
 * over NNG (ticket_it.h) against the test PostgreSQL. The same suite runs
 * twice: on the local backend (a temporary folder) and on S3 against the
 * S3-compatible server of tools/s3 (SigV4 signatures checked), started here
 * on a free port. Env as test_ticket.c: HD_TEST_DATABASE_URL,
 * HD_TEST_DATABASE_ADMIN_URL, HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "hd/attach.h"
#include "hd/storage.h"
#include "ticket_it.h"

#define MAX_UPLOAD 1048576 /* HD_MAX_UPLOAD_BYTES of the daemon under test */

static struct {
	it_who admin, agent, cust, cust2, other;
	char dir[128]; /* the local backend's folder, or the S3 server's */
	pid_t s3_pid;
	char s3_endpoint[64];
} U;

static const unsigned char png[]
    = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 1, 2, 3, 4 };

/* ---- set-up per backend ---- */

static void users_make(void)
{
	it_who_make(&U.admin, NULL, "admin");
	it_who_make(&U.agent, U.admin.tenant, "agent");
	it_who_make(&U.cust, U.admin.tenant, "customer");
	it_who_make(&U.cust2, U.admin.tenant, "customer");
	it_who_make(&U.other, NULL, "admin");
}

static void common_env(void)
{
	char max[24];
	snprintf(max, sizeof max, "%d", MAX_UPLOAD);
	setenv("HD_MAX_UPLOAD_BYTES", max, 1);
	setenv("HD_ATTACHMENT_TTL_S", "20", 1);
	/* no hd-field here: work order checks are the e2e tests'; a call to it
	 * waits for its link until this deadline, then is a 503 (hd/peer.h) */
	setenv("HD_PEER_TIMEOUT_MS", "1000", 1);
	assert_true(daemon_child_port_env("HD_FIELD_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	assert_true(daemon_child_port_env("HD_KNOWLEDGE_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
}

static int setup_local(void **state)
{
	(void)state;
	snprintf(U.dir, sizeof U.dir, "/tmp/hd-attach-it.XXXXXX");
	assert_non_null(mkdtemp(U.dir));
	setenv("HD_STORAGE_BACKEND", "local", 1);
	setenv("HD_STORAGE_DIR", U.dir, 1);
	common_env();
	users_make();
	return it_daemon_start(&U.admin);
}

/* Starts tools/s3/start.sh and waits for its ready file (the port). */
static void s3_server_start(void)
{
	char ready[160], tool[512], data[160];
	const char *root = getenv("HD_TEST_ROOT");
	snprintf(U.dir, sizeof U.dir, "/tmp/hd-attach-s3.XXXXXX");
	assert_non_null(mkdtemp(U.dir));
	snprintf(ready, sizeof ready, "%s/ready", U.dir);
	snprintf(data, sizeof data, "%s/data", U.dir);
	snprintf(tool, sizeof tool, "%s/tools/s3/start.sh", root != NULL ? root : "../..");
	U.s3_pid = fork();
	assert_true(U.s3_pid >= 0);
	if (U.s3_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		execl(tool, tool, data, "hd-test", ready, (char *)NULL);
		_exit(127);
	}
	for (int t = 0; t < 1200; t++) { /* npm ci may run first: up to 2 minutes */
		FILE *f = fopen(ready, "r");
		int port = 0;
		if (f != NULL && fscanf(f, "%d", &port) == 1 && port > 0) {
			fclose(f);
			snprintf(U.s3_endpoint, sizeof U.s3_endpoint, "http://127.0.0.1:%d", port);
			return;
		}
		if (f != NULL)
			fclose(f);
		if (waitpid(U.s3_pid, NULL, WNOHANG) == U.s3_pid)
			fail_msg("tools/s3/start.sh exited (node and npm needed)");
		usleep(100000);
	}
	fail_msg("the S3 test server did not start");
}

static int setup_s3(void **state)
{
	(void)state;
	s3_server_start();
	setenv("HD_STORAGE_BACKEND", "s3", 1);
	setenv("HD_S3_ENDPOINT", U.s3_endpoint, 1);
	setenv("HD_S3_BUCKET", "hd-test", 1);
	setenv("HD_S3_REGION", "us-east-1", 1);
	setenv("HD_S3_PATH_STYLE", "true", 1);
	setenv("HD_S3_ACCESS_KEY_ID", "S3RVER", 1);
	setenv("HD_S3_SECRET_ACCESS_KEY", "S3RVER", 1);
	common_env();
	users_make();
	return it_daemon_start(&U.admin);
}

static void dir_remove(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	it_daemon_stop(state);
	if (U.s3_pid > 0) {
		kill(U.s3_pid, SIGTERM);
		waitpid(U.s3_pid, NULL, 0);
		U.s3_pid = 0;
	}
	dir_remove(U.dir);
	return 0;
}

/* ---- helpers ---- */

static char *b64(const unsigned char *in, size_t len)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(len / 3 * 4 + 8), *o = out;
	assert_non_null(out);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0)
		    | (i + 2 < len ? in[i + 2] : 0);
		*o++ = t[w >> 18 & 63];
		*o++ = t[w >> 12 & 63];
		*o++ = i + 1 < len ? t[w >> 6 & 63] : '=';
		*o++ = i + 2 < len ? t[w & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* attachments.create as w; returns the reply (caller frees). */
static daemon_reply create(
    const it_who *w, const char *name, const char *type, const unsigned char *data, size_t len)
{
	char *enc = b64(data, len);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "filename", name);
	cJSON_AddStringToObject(body, "content_type", type);
	cJSON_AddStringToObject(body, "data", enc);
	char *text = cJSON_PrintUnformatted(body);
	daemon_reply r = it_call("attachments.create", w, NULL, NULL, text);
	free(text);
	free(enc);
	cJSON_Delete(body);
	return r;
}

/* A PNG upload by w; its id in id. */
static void upload_png(const it_who *w, char id[37])
{
	daemon_reply r = create(w, "shot.png", "image/png", png, sizeof png);
	it_expect_status(&r, 201);
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
}

/* attachments.get as w: asserts status, and for 200 the bytes and headers. */
static void expect_download(const it_who *w, const char *id, int status)
{
	daemon_reply r = it_call("attachments.get", w, id, NULL, NULL);
	if (r.status != status)
		fail_msg("download of %s: expected %d, got %d: %s", id, status, r.status, r.body);
	if (status == 200) {
		assert_int_equal(r.body_len, sizeof png);
		assert_memory_equal(r.body, png, sizeof png);
		assert_string_equal(it_header(&r, "content-type"), "image/png");
		assert_non_null(strstr(it_header(&r, "content-disposition"), "attachment;"));
		assert_string_equal(it_header(&r, "x-content-type-options"), "nosniff");
	}
	daemon_reply_free(&r);
}

static long rows(void)
{
	return it_admin_count("SELECT count(*) FROM ticket.attachments", NULL, NULL);
}

/* The storage of the backend under test, opened from the same settings. */
static hd_storage *storage_open(void)
{
	hd_storage_config cfg;
	hd_storage *s = NULL;
	assert_int_equal(hd_storage_config_load(&cfg), HD_OK);
	assert_int_equal(hd_storage_open(&s, &cfg), HD_OK);
	return s;
}

static bool count_sink(const void *chunk, size_t len, void *arg)
{
	(void)chunk;
	*(size_t *)arg += len;
	return true;
}

/* Whether the object of attachment id of tenant exists. */
static bool object_exists(const char *tenant, const char *id)
{
	char key[HD_STORAGE_KEY_MAX];
	size_t n = 0;
	hd_storage *s = storage_open();
	assert_true(hd_storage_key(tenant, id, key));
	hd_err err = hd_storage_get(s, key, count_sink, &n);
	hd_storage_close(s);
	assert_true(err == HD_OK || err == HD_ERR_NOT_FOUND);
	return err == HD_OK;
}

/* ---- the suite (both backends) ---- */

typedef struct collect {
	unsigned char *buf;
	size_t len, chunks;
} collect;

static bool collect_sink(const void *chunk, size_t len, void *arg)
{
	collect *c = arg;
	memcpy(c->buf + c->len, chunk, len);
	c->len += len;
	c->chunks++;
	return true;
}

/* The module alone: whole objects in, the same bytes out in chunks,
 * overwrite, delete, absent objects, keys that are not ours. */
static void test_storage_roundtrip(void **state)
{
	(void)state;
	char key[HD_STORAGE_KEY_MAX], id[37], sha[HD_SHA256_HEX + 1];
	size_t big = 3u << 20;
	unsigned char *data = malloc(big);
	collect got = { malloc(big), 0, 0 };
	hd_storage *s = storage_open();
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	assert_int_equal(hd_uuid_v7(id), HD_OK);
	assert_true(hd_storage_key(U.admin.tenant, id, key));
	hd_sha256_hex("x", 1, sha);
	assert_int_equal(hd_storage_put(s, key, "x", 1, sha), HD_OK);
	hd_sha256_hex(data, big, sha);
	assert_int_equal(hd_storage_put(s, key, data, big, sha), HD_OK); /* overwrite */
	assert_int_equal(hd_storage_get(s, key, collect_sink, &got), HD_OK);
	assert_int_equal(got.len, big);
	assert_true(got.chunks > 1); /* streamed, not in one piece */
	assert_memory_equal(got.buf, data, big);
	assert_int_equal(hd_storage_delete(s, key), HD_OK);
	assert_int_equal(hd_storage_delete(s, key), HD_OK); /* absent: fine */
	got.len = 0;
	assert_int_equal(hd_storage_get(s, key, collect_sink, &got), HD_ERR_NOT_FOUND);
	assert_int_equal(hd_storage_put(s, "../../etc/passwd", "x", 1, sha), HD_ERR_INVALID);
	assert_int_equal(hd_storage_get(s, "a/b", collect_sink, &got), HD_ERR_INVALID);
	hd_storage_close(s);
	free(got.buf);
	free(data);
}

/* Upload, then the uploader alone sees an unattached upload; other users
 * and other tenants get 404. */
static void test_upload_and_download(void **state)
{
	(void)state;
	char id[37], sha[HD_SHA256_HEX + 1];
	daemon_reply r
	    = create(&U.cust, "../../etc/Report \"1\".png", "Image/PNG", png, sizeof png);
	it_expect_status(&r, 201);
	strcpy(id, it_str(r.json, "id"));
	hd_sha256_hex(png, sizeof png, sha);
	assert_string_equal(it_str(r.json, "sha256"), sha);
	assert_string_equal(it_str(r.json, "filename"), "Report 1.png");
	assert_string_equal(it_str(r.json, "content_type"), "image/png");
	assert_int_equal(it_num(r.json, "size"), sizeof png);
	daemon_reply_free(&r);
	assert_true(object_exists(U.cust.tenant, id));
	expect_download(&U.cust, id, 200);
	expect_download(&U.cust2, id, 404);
	expect_download(&U.agent, id, 404);
	expect_download(&U.other, id, 404);
}

/* The gateway's raw upload: body bytes, Content-Type and X-Filename. */
static void test_raw_upload(void **state)
{
	(void)state;
	hd_envelope e;
	daemon_reply r;
	memset(&e, 0, sizeof e);
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof e.op, "attachments.upload");
	strcpy(e.tenant_id, U.agent.tenant);
	strcpy(e.user_id, U.agent.user);
	snprintf(e.role, sizeof e.role, "agent");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 10000;
	assert_int_equal(
	    hd_envelope_add_header(&e, "content-type", "text/plain; charset=utf-8"), HD_OK);
	assert_int_equal(
	    hd_envelope_add_header(&e, "x-filename", "notes%20%C3%A9t%C3%A9.txt"), HD_OK);
	e.body = "caf\xc3\xa9\n";
	e.body_len = strlen(e.body);
	assert_int_equal(daemon_child_call(IT.client, &e, 10000, &r), HD_OK);
	it_expect_status(&r, 201);
	assert_string_equal(it_str(r.json, "filename"), "notes \xc3\xa9t\xc3\xa9.txt");
	assert_string_equal(it_str(r.json, "content_type"), "text/plain");
	daemon_reply_free(&r);
}

/* 413, 415, 422: nothing stored. */
static void test_refusals_store_nothing(void **state)
{
	(void)state;
	long before = rows();
	size_t big = MAX_UPLOAD + 10;
	unsigned char *data = calloc(1, big);
	daemon_reply r = create(&U.cust, "a.png", "image/png", (const unsigned char *)"hello", 5);
	it_expect_422(&r, "data");
	r = create(&U.cust, "a.exe", "application/x-msdownload", (const unsigned char *)"MZ", 2);
	it_expect_status(&r, 415);
	daemon_reply_free(&r);
	r = create(&U.cust, "a.txt", "text/plain", png, sizeof png);
	it_expect_422(&r, "data");
	memcpy(data, png, sizeof png);
	r = create(&U.cust, "big.png", "image/png", data, big);
	it_expect_status(&r, 413);
	daemon_reply_free(&r);
	it_check_422("data", "attachments.create", &U.cust, NULL,
	    "{\"filename\":\"a\",\"content_type\":\"text/plain\",\"data\":\"not base64!\"}");
	it_check(401, "attachments.create", NULL, NULL,
	    "{\"filename\":\"a\",\"content_type\":\"text/plain\",\"data\":\"YQ==\"}");
	assert_int_equal(rows(), before);
	free(data);
}

/* A comment claims its author's uploads; then whoever sees the comment
 * may download them, and no one else. */
static void test_comment_attachments(void **state)
{
	(void)state;
	char ticket[37], mine[37], other[37], internal[37], body[256];
	it_ticket(&U.cust, "{\"subject\":\"printer\"}", ticket);
	upload_png(&U.cust, mine);
	upload_png(&U.cust2, other);
	/* someone else's upload: 422, and no comment */
	snprintf(body, sizeof body, "{\"body\":\"see\",\"attachment_ids\":[\"%s\",\"%s\"]}", mine,
	    other);
	it_check(422, "comments.create", &U.cust, ticket, body);
	snprintf(
	    body, sizeof body, "{\"body\":\"see\",\"attachment_ids\":[\"%s\",\"%s\"]}", mine, mine);
	it_check_422("attachment_ids", "comments.create", &U.cust, ticket, body);
	snprintf(body, sizeof body, "{\"body\":\"see\",\"attachment_ids\":[\"%s\"]}", mine);
	daemon_reply r = it_call("comments.create", &U.cust, ticket, NULL, body);
	it_expect_status(&r, 201);
	const cJSON *atts = cJSON_GetObjectItemCaseSensitive(r.json, "attachments");
	assert_int_equal(cJSON_GetArraySize(atts), 1);
	assert_string_equal(it_str(cJSON_GetArrayItem(atts, 0), "id"), mine);
	daemon_reply_free(&r);
	/* already attached: another comment cannot take it */
	it_check(422, "comments.create", &U.cust, ticket, body);
	r = it_call("comments.list", &U.agent, ticket, NULL, NULL);
	it_expect_status(&r, 200);
	assert_non_null(strstr(r.body, mine));
	daemon_reply_free(&r);
	expect_download(&U.cust, mine, 200);
	expect_download(&U.agent, mine, 200);
	expect_download(&U.admin, mine, 200);
	expect_download(&U.cust2, mine, 404);
	expect_download(&U.other, mine, 404);
	/* an internal comment's file: staff only */
	upload_png(&U.agent, internal);
	snprintf(body, sizeof body,
	    "{\"body\":\"internal\",\"public\":false,\"attachment_ids\":[\"%s\"]}", internal);
	it_check(201, "comments.create", &U.agent, ticket, body);
	expect_download(&U.admin, internal, 200);
	expect_download(&U.cust, internal, 404);
}

/* The ids in the attachments of a tickets.attachments page, as one string
 * "id:comment_id|..." (comment_id "-" for the description). */
static void ticket_files(const it_who *w, const char *ticket, char *out, size_t size)
{
	daemon_reply r = it_call("tickets.attachments", w, ticket, NULL, NULL);
	const cJSON *it;
	size_t n = 0;
	it_expect_status(&r, 200);
	out[0] = '\0';
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		const char *c = it_str(it, "comment_id");
		n += (size_t)snprintf(out + n, size - n, "%s:%s|", it_str(it, "id"), c ? c : "-");
		assert_true(n < size);
	}
	daemon_reply_free(&r);
}

/* A ticket's description claims its creator's uploads in its create; a
 * replay under the Idempotency-Key claims nothing again; the ticket's
 * files list the description's and the comments' (customers: public ones). */
static void test_ticket_attachments(void **state)
{
	(void)state;
	char ticket[37], desc[37], other[37], pub[37], internal[37], body[400], want[400];
	char got[800];
	upload_png(&U.cust, desc);
	upload_png(&U.cust2, other);
	snprintf(body, sizeof body, "{\"subject\":\"files\",\"attachment_ids\":[\"%s\"]}", other);
	it_check(422, "tickets.create", &U.cust, NULL, body);
	assert_int_equal(it_admin_count("SELECT count(*) FROM ticket.attachments WHERE id = $1"
	                                " AND ticket_id IS NULL",
	                     other, NULL),
	    1);
	snprintf(body, sizeof body, "{\"subject\":\"files\",\"attachment_ids\":[\"%s\"]}", desc);
	daemon_reply r
	    = it_call_h("tickets.create", &U.cust, NULL, NULL, body, "idempotency-key", "files-1");
	it_expect_status(&r, 201);
	strcpy(ticket, it_str(r.json, "id"));
	daemon_reply_free(&r);
	r = it_call_h(
	    "tickets.create", &U.cust, NULL, NULL, body, "idempotency-key", "files-1"); /* replay */
	it_expect_status(&r, 201);
	assert_string_equal(it_str(r.json, "id"), ticket);
	daemon_reply_free(&r);
	/* the batched create (no key) claims too; and a claimed file is no one else's */
	it_check(422, "tickets.create", &U.cust, NULL, body);
	expect_download(&U.cust, desc, 200);
	expect_download(&U.agent, desc, 200);
	expect_download(&U.cust2, desc, 404);
	expect_download(&U.other, desc, 404);
	upload_png(&U.cust, pub);
	snprintf(body, sizeof body, "{\"body\":\"more\",\"attachment_ids\":[\"%s\"]}", pub);
	it_check(201, "comments.create", &U.cust, ticket, body);
	upload_png(&U.agent, internal);
	snprintf(body, sizeof body,
	    "{\"body\":\"note\",\"public\":false,\"attachment_ids\":[\"%s\"]}", internal);
	r = it_call("comments.create", &U.agent, ticket, NULL, body);
	it_expect_status(&r, 201);
	char note[37];
	strcpy(note, it_str(r.json, "id"));
	daemon_reply_free(&r);
	ticket_files(&U.agent, ticket, got, sizeof got);
	assert_non_null(strstr(got, desc));
	snprintf(want, sizeof want, "%s:-|", desc);
	assert_non_null(strstr(got, want));
	snprintf(want, sizeof want, "%s:%s|", internal, note);
	assert_non_null(strstr(got, want));
	assert_non_null(strstr(got, pub));
	ticket_files(&U.cust, ticket, got, sizeof got);
	assert_non_null(strstr(got, desc));
	assert_non_null(strstr(got, pub));
	assert_null(strstr(got, internal));
	it_check(404, "tickets.attachments", &U.cust2, ticket, NULL);
	it_check(404, "tickets.attachments", &U.other, ticket, NULL);
	/* a ticket's files never expire */
	it_admin_count("UPDATE ticket.attachments SET created_at = now() - interval '1 day'"
	               " WHERE id = $1",
	    desc, NULL);
	assert_int_equal(
	    it_admin_count(
	        "SELECT count(*) FROM ticket.attachments_expired(20, 1000) WHERE id = $1", desc,
	        NULL),
	    0);
}

/* Objects of the tenant's folder without a row (local backend); *objects
 * gets how many objects there are. */
static int objects_without_row(const char *tenant, int *objects, char *orphan, size_t size)
{
	char dir[300];
	struct dirent *e;
	int orphans = 0;
	*objects = 0;
	snprintf(dir, sizeof dir, "%s/%s", U.dir, tenant);
	DIR *d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(*objects)++;
		if (it_admin_count("SELECT count(*) FROM ticket.attachments WHERE id::text = $1",
		        e->d_name, NULL)
		    != 1) {
			orphans++;
			snprintf(orphan, size, "%s", e->d_name);
		}
	}
	closedir(d);
	return orphans;
}

/* A replayed upload's own object is deleted on the CPU pool after the
 * key's first reply went out (services/ticket/attachments.c,
 * upload_insert_cb): the test waits up to 5 s for it to go. */
static void wait_every_object_has_its_row(const char *tenant)
{
	char orphan[sizeof(((struct dirent *)0)->d_name)] = "";
	int objects = 0, orphans = 0;
	for (int i = 0; i < 100; i++) {
		orphans = objects_without_row(tenant, &objects, orphan, sizeof orphan);
		if (orphans == 0)
			break;
		usleep(50000);
	}
	if (orphans != 0)
		fail_msg("object %s has no row", orphan);
	assert_true(objects > 0);
}

/* attachments.create with an Idempotency-Key (mail in's retries): the same
 * key and body answer the first upload, one row and one object; another
 * body under the key is 422 and leaves nothing. */
static void test_create_keyed(void **state)
{
	(void)state;
	char first[37];
	daemon_reply r;
	long before = rows();
	char *enc = b64(png, sizeof png);
	char body[512];
	snprintf(body, sizeof body,
	    "{\"filename\":\"k.png\",\"content_type\":\"image/png\",\"data\":\"%s\"}", enc);
	r = it_call_h("attachments.create", &U.cust, NULL, NULL, body, "idempotency-key", "part-1");
	it_expect_status(&r, 201);
	strcpy(first, it_str(r.json, "id"));
	daemon_reply_free(&r);
	for (int i = 0; i < 2; i++) {
		r = it_call_h(
		    "attachments.create", &U.cust, NULL, NULL, body, "idempotency-key", "part-1");
		it_expect_status(&r, 201);
		assert_string_equal(it_str(r.json, "id"), first);
		daemon_reply_free(&r);
	}
	assert_int_equal(rows(), before + 1);
	/* the same key by another user is theirs */
	r = it_call_h(
	    "attachments.create", &U.cust2, NULL, NULL, body, "idempotency-key", "part-1");
	it_expect_status(&r, 201);
	assert_string_not_equal(it_str(r.json, "id"), first);
	daemon_reply_free(&r);
	snprintf(body, sizeof body,
	    "{\"filename\":\"other.png\",\"content_type\":\"image/png\",\"data\":\"%s\"}", enc);
	r = it_call_h("attachments.create", &U.cust, NULL, NULL, body, "idempotency-key", "part-1");
	it_expect_422(&r, "Idempotency-Key");
	assert_int_equal(rows(), before + 2);
	/* every object has its row: the replays' own uploads were deleted (the
	 * sweeper deletes an object before its row, never the other way) */
	if (strcmp(getenv("HD_STORAGE_BACKEND"), "local") == 0)
		wait_every_object_has_its_row(U.cust.tenant);
	free(enc);
}

/* Work orders claim through attachments.claim (hd-field's call); a
 * signature must be an image. */
static void test_work_order_claim(void **state)
{
	(void)state;
	char wo[37], img[37], txt[37], body[256];
	assert_int_equal(hd_uuid_v7(wo), HD_OK);
	upload_png(&U.agent, img);
	daemon_reply r = create(&U.agent, "n.txt", "text/plain", (const unsigned char *)"hi", 2);
	it_expect_status(&r, 201);
	strcpy(txt, it_str(r.json, "id"));
	daemon_reply_free(&r);
	snprintf(body, sizeof body,
	    "{\"work_order_id\":\"%s\",\"attachment_ids\":[\"%s\"],\"images_only\":true}", wo, txt);
	it_check(422, "attachments.claim", &U.agent, NULL, body);
	snprintf(body, sizeof body,
	    "{\"work_order_id\":\"%s\",\"attachment_ids\":[\"%s\"],\"images_only\":true}", wo, img);
	it_check(200, "attachments.claim", &U.agent, NULL, body);
	it_check(200, "attachments.claim", &U.agent, NULL, body); /* a retry */
	it_check(422, "attachments.claim", &U.other, NULL, body); /* another tenant */
	/* hd-field decides who sees a work order's files; it is not running */
	expect_download(&U.cust, img, 404);
	expect_download(&U.agent, img, 503);
}

/* Unattached uploads past HD_ATTACHMENT_TTL_S go, bytes included; claimed
 * ones stay. */
static void test_expiry(void **state)
{
	(void)state;
	char old[37], kept[37], ticket[37], body[160];
	upload_png(&U.cust, old);
	upload_png(&U.cust, kept);
	it_ticket(&U.cust, "{\"subject\":\"expiry\"}", ticket);
	snprintf(body, sizeof body, "{\"body\":\"k\",\"attachment_ids\":[\"%s\"]}", kept);
	it_check(201, "comments.create", &U.cust, ticket, body);
	const char *age = "UPDATE ticket.attachments SET created_at = now() - interval '1 day'"
	                  " WHERE id = ANY (ARRAY[$1::uuid, $2::uuid])";
	it_admin_count(age, old, kept);
	for (int t = 0; t < 300 && object_exists(U.cust.tenant, old); t++)
		usleep(100000);
	for (int t = 0; t < 100
	     && it_admin_count("SELECT count(*) FROM ticket.attachments WHERE id = $1", old, NULL)
	         > 0;
	     t++)
		usleep(100000);
	assert_false(object_exists(U.cust.tenant, old));
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.attachments WHERE id = $1", old, NULL), 0);
	expect_download(&U.cust, old, 404);
	assert_true(object_exists(U.cust.tenant, kept));
	expect_download(&U.cust, kept, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage_roundtrip),
		cmocka_unit_test(test_upload_and_download),
		cmocka_unit_test(test_raw_upload),
		cmocka_unit_test(test_refusals_store_nothing),
		cmocka_unit_test(test_comment_attachments),
		cmocka_unit_test(test_ticket_attachments),
		cmocka_unit_test(test_create_keyed),
		cmocka_unit_test(test_work_order_claim),
		cmocka_unit_test(test_expiry),
	};
	int failed
	    = cmocka_run_group_tests_name("attachments on local", tests, setup_local, teardown);
	failed += cmocka_run_group_tests_name("attachments on S3", tests, setup_s3, teardown);
	return failed;
}
