/* End to end: attachments over HTTP (docs/architecture.md, "Attachments").
 * POST /v1/attachments with raw bytes (its own HD_MAX_UPLOAD_BYTES limit,
 * set to 2 MiB by tests/run.sh, above HD_MAX_BODY_BYTES), the declared type
 * checked against the bytes (415/422), comments and work orders claiming
 * uploads, GET /v1/attachments/{id} per role and tenant (404 to whoever may
 * not see what it is attached to), the work order's signature image, and
 * the expiry of unclaimed uploads (HD_ATTACHMENT_TTL_S=8). Environment as
 * tickets_e2e.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "hd/db.h"
#include "tickets_e2e.h"

static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',
	'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0 };

static int setup(void **state)
{
	(void)state;
	return tk_setup("at");
}

/* POSTs len bytes of data as type named name with token; returns the status
 * and the id in id (when 201). */
static long upload(const char *token, const char *type, const char *name, const void *data,
    size_t len, char id[37])
{
	httpc_resp r;
	char hname[300];
	const char *h[] = { hname, NULL };
	char *body = malloc(len + 1);
	assert_non_null(body);
	memcpy(body, data, len);
	body[len] = '\0';
	snprintf(hname, sizeof hname, "X-Filename: %s", name);
	/* httpc sends body as a C string: the bytes here hold no NUL past len */
	assert_int_equal(httpc_call(&r, "POST", "/v1/attachments", token, body, type, h), 0);
	long status = r.status;
	if (status == 201 && id != NULL)
		snprintf(id, 37, "%s", jstr(r.json, "id"));
	if (status >= 400)
		assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
	free(body);
	return status;
}

/* A PNG upload: its 8-byte signature (httpc sends a C string, so the
 * bytes stop before the first NUL of png[]). */
static void upload_png(const char *token, char id[37])
{
	assert_int_equal(upload(token, "image/png", "shot.png", png, 8, id), 201);
}

static void expect_download(const char *token, const char *id, long status)
{
	char path[96];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/attachments/%s", id);
	long got = req(&r, "GET", path, token, NULL);
	if (got != status)
		fprintf(stderr, "GET %s: %ld %s\n", path, got, r.body);
	assert_int_equal(got, status);
	if (status == 200) {
		assert_int_equal(r.body_len, 8);
		assert_memory_equal(r.body, png, 8);
		assert_string_equal(httpc_header(&r, "Content-Type"), "image/png");
		assert_non_null(strstr(httpc_header(&r, "Content-Disposition"), "attachment;"));
		assert_string_equal(httpc_header(&r, "X-Content-Type-Options"), "nosniff");
	}
	httpc_resp_free(&r);
}

static void test_upload_download(void **state)
{
	(void)state;
	char id[37];
	httpc_resp r;
	const char *h[] = { "X-Filename: ..%2F..%2Freport%20%C3%A9t%C3%A9.png", NULL };
	assert_int_equal(
	    httpc_call(&r, "POST", "/v1/attachments", W.cust1, "\x89PNG\r\n\x1a\n", "image/png", h),
	    0);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(r.json, "filename"), "report \xc3\xa9t\xc3\xa9.png");
	assert_string_equal(jstr(r.json, "content_type"), "image/png");
	assert_int_equal(jnum(r.json, "size"), 8);
	assert_string_equal(jstr(r.json, "sha256"),
	    "4c4b6a3be1314ab86138bef4314dde022e600960d8689a2c8f8631802d20dab6");
	snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	expect_download(W.cust1, id, 200);
	expect_download(W.cust2, id, 404);
	expect_download(W.agent, id, 404);
	expect_download(W.demo, id, 404);
	expect_download(NULL, id, 401);
}

static void test_refusals(void **state)
{
	(void)state;
	size_t big = 3u << 20, mid = 1536u << 10;
	char *data = malloc(big + 1), id[37];
	assert_non_null(data);
	memset(data, 'a', big);
	data[big] = '\0';
	assert_int_equal(upload(W.cust1, "application/x-msdownload", "a.exe", "MZ", 2, NULL), 415);
	assert_int_equal(upload(W.cust1, "image/png", "a.png", "hello", 5, NULL), 422);
	assert_int_equal(upload(W.cust1, "application/pdf", "a.pdf", "GIF89a", 6, NULL), 422);
	/* above HD_MAX_BODY_BYTES, under HD_MAX_UPLOAD_BYTES: this route only */
	assert_int_equal(upload(W.cust1, "text/plain", "mid.txt", data, mid, id), 201);
	expect(413, "POST", "/v1/tickets", W.cust1, data + big - mid);
	assert_int_equal(upload(W.cust1, "text/plain", "big.txt", data, big, NULL), 413);
	free(data);
}

static void test_comment_attachments(void **state)
{
	(void)state;
	char ticket[37], mine[37], theirs[37], internal[37], path[160], body[256];
	httpc_resp r;
	ticket_new_id(W.cust1, "printer broken", ticket);
	upload_png(W.cust1, mine);
	upload_png(W.cust2, theirs);
	tk_path(path, sizeof path, ticket, "/comments");
	snprintf(body, sizeof body, "{\"body\":\"photo\",\"attachment_ids\":[\"%s\"]}", theirs);
	expect(422, "POST", path, W.cust1, body);
	snprintf(body, sizeof body, "{\"body\":\"photo\",\"attachment_ids\":[\"%s\"]}", mine);
	assert_int_equal(req(&r, "POST", path, W.cust1, body), 201);
	const cJSON *atts = cJSON_GetObjectItemCaseSensitive(r.json, "attachments");
	assert_int_equal(cJSON_GetArraySize(atts), 1);
	assert_string_equal(jstr(cJSON_GetArrayItem(atts, 0), "id"), mine);
	httpc_resp_free(&r);
	expect_download(W.cust1, mine, 200);
	expect_download(W.agent, mine, 200);
	expect_download(W.admin, mine, 200);
	expect_download(W.tech, mine, 200);
	expect_download(W.cust2, mine, 404);
	expect_download(W.demo, mine, 404);
	/* an internal comment's file: staff only */
	upload_png(W.agent, internal);
	snprintf(body, sizeof body,
	    "{\"body\":\"internal\",\"public\":false,\"attachment_ids\":[\"%s\"]}", internal);
	expect(201, "POST", path, W.agent, body);
	expect_download(W.admin, internal, 200);
	expect_download(W.cust1, internal, 404);
	/* GET /v1/tickets/{id}/attachments: the customer sees the public
	 * comment's file, staff both; nobody else sees the ticket */
	tk_path(path, sizeof path, ticket, "/attachments");
	assert_int_equal(req(&r, "GET", path, W.cust1, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 2);
	httpc_resp_free(&r);
	expect(404, "GET", path, W.cust2, NULL);
	expect(404, "GET", path, W.demo, NULL);
	expect(404, "GET", "/v1/tickets/00000000-0000-7000-8000-000000000000/attachments", W.admin,
	    NULL);
	expect(404, "GET", "/v1/tickets/not-a-uuid/attachments", W.admin, NULL);
}

/* A work order's files: who sees the work order sees them; its sign-off
 * takes the customer's signature as an image. */
static void test_work_order_attachments(void **state)
{
	(void)state;
	char file[37], sig[37], txt[37], wo[37], tech_profile[37], path[160], body[700];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\"printers\"],\"location\":{\"lat\":48.85,\"lon\":2."
	    "35}}",
	    W.tech_id);
	assert_int_equal(req(&r, "POST", "/v1/technicians", W.admin, body), 201);
	snprintf(tech_profile, sizeof tech_profile, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/technicians/%s", tech_profile);
	expect(200, "PATCH", path, W.tech, "{\"available\":true}");
	upload_png(W.agent, file); /* claimed at once: HD_ATTACHMENT_TTL_S is short here */
	snprintf(body, sizeof body,
	    "{\"title\":\"Printer\",\"location\":{\"lat\":48.851,\"lon\":2.351},"
	    "\"required_skills\":[\"printers\"],\"window\":{\"start\":\"2031-03-03T09:00:00Z\","
	    "\"end\":\"2031-03-03T10:00:00Z\"},\"attachment_ids\":[\"%s\"]}",
	    file);
	assert_int_equal(req(&r, "POST", "/v1/work-orders", W.agent, body), 201);
	snprintf(wo, sizeof wo, "%s", jstr(r.json, "id"));
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "attachment_ids"), 0)
	        ->valuestring,
	    file);
	httpc_resp_free(&r);
	/* claimed already: a second work order cannot take it */
	expect(422, "POST", "/v1/work-orders", W.agent, body);
	expect_download(W.agent, file, 200);
	expect_download(W.cust1, file, 404);
	expect_download(W.demo, file, 404);
	expect_download(W.tech, file, 404); /* not the technician's work order yet */
	snprintf(path, sizeof path, "/v1/work-orders/%s/dispatch", wo);
	expect(200, "POST", path, W.agent, "{}");
	expect_download(W.tech, file, 200);
	snprintf(path, sizeof path, "/v1/work-orders/%s", wo);
	expect(200, "PATCH", path, W.tech, "{\"status\":\"on_site\"}");
	/* the signature must be an image the technician uploaded */
	assert_int_equal(upload(W.tech, "text/plain", "sig.txt", "signed", 6, txt), 201);
	snprintf(body, sizeof body,
	    "{\"status\":\"completed\",\"signed_by\":\"M. Client\","
	    "\"signature_attachment_id\":\"%s\"}",
	    txt);
	expect_invalid("PATCH", path, W.tech, body, "signature_attachment_id");
	expect_invalid("PATCH", path, W.tech,
	    "{\"signature_attachment_id\":\"0190a000-0000-7000-8000-000000000001\"}",
	    "signature_attachment_id");
	upload_png(W.tech, sig);
	snprintf(body, sizeof body,
	    "{\"status\":\"completed\",\"signed_by\":\"M. Client\","
	    "\"signature_attachment_id\":\"%s\"}",
	    sig);
	assert_int_equal(req(&r, "PATCH", path, W.tech, body), 200);
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(r.json, "sign_off");
	assert_string_equal(jstr(off, "signature_attachment_id"), sig);
	httpc_resp_free(&r);
	expect_download(W.agent, sig, 200);
	expect_download(W.cust1, sig, 404);
}

/* A work order create with attachment_ids replayed under its
 * Idempotency-Key answers the first reply (its files are claimed already,
 * by the first work order: the replay must not claim them again). */
static void test_work_order_replay(void **state)
{
	(void)state;
	char file[37], first[37], body[600];
	const char *key = "Idempotency-Key: wo-replay-1";
	httpc_resp r;
	upload_png(W.agent, file);
	snprintf(body, sizeof body,
	    "{\"title\":\"Replay\",\"location\":{\"lat\":48.851,\"lon\":2.351},"
	    "\"window\":{\"start\":\"2031-03-04T09:00:00Z\",\"end\":\"2031-03-04T10:00:00Z\"},"
	    "\"attachment_ids\":[\"%s\"]}",
	    file);
	assert_int_equal(req_h(&r, "POST", "/v1/work-orders", W.agent, body, key), 201);
	snprintf(first, sizeof first, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	for (int i = 0; i < 2; i++) {
		long st = req_h(&r, "POST", "/v1/work-orders", W.agent, body, key);
		if (st != 201)
			fprintf(stderr, "replay: %ld %s\n", st, r.body);
		assert_int_equal(st, 201);
		assert_string_equal(jstr(r.json, "id"), first);
		httpc_resp_free(&r);
	}
	/* the key with another body is still 422, and claims nothing */
	snprintf(body, sizeof body,
	    "{\"title\":\"Other\",\"location\":{\"lat\":48.851,\"lon\":2.351},"
	    "\"window\":{\"start\":\"2031-03-04T09:00:00Z\",\"end\":\"2031-03-04T10:00:00Z\"},"
	    "\"attachment_ids\":[\"%s\"]}",
	    file);
	assert_int_equal(req_h(&r, "POST", "/v1/work-orders", W.agent, body, key), 422);
	assert_true(has_field_error(&r, "Idempotency-Key"));
	httpc_resp_free(&r);
	expect_download(W.agent, file, 200);
}

/* The uploads of user id recorded in the database (superuser: every tenant). */
static long uploads_of(const char *user_id)
{
	char *v = NULL;
	const char *p[1] = { user_id };
	assert_int_equal(
	    hd_db_exec_sync(httpc_env("HD_TEST_DATABASE_SUPER_URL"),
	        "SELECT count(*) FROM ticket.attachments WHERE uploaded_by = $1", 1, p, &v),
	    HD_OK);
	long n = v != NULL ? strtol(v, NULL, 10) : -1;
	free(v);
	return n;
}

/* A client that sends half its declared body and goes: nothing stored. */
static void test_half_upload_stores_nothing(void **state)
{
	(void)state;
	const char *base = httpc_env("HD_TEST_BASE_URL"), *colon = strrchr(base, ':');
	struct sockaddr_in a = { .sin_family = AF_INET };
	char head[2048], chunk[4096];
	long before = uploads_of(W.cust1_id);
	assert_non_null(colon);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	int n = snprintf(head, sizeof head,
	    "POST /v1/attachments HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: text/plain\r\nX-Filename: half.txt\r\nContent-Length: 400000\r\n\r\n",
	    W.cust1);
	assert_int_equal(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
	memset(chunk, 'h', sizeof chunk);
	for (int i = 0; i < 50; i++) /* 200 KiB of 400 */
		assert_int_equal(
		    send(fd, chunk, sizeof chunk, MSG_NOSIGNAL), (ssize_t)sizeof chunk);
	close(fd);
	/* a whole upload right after on a new connection is served and counted */
	char id[37];
	upload_png(W.cust1, id);
	assert_int_equal(uploads_of(W.cust1_id), before + 1);
}

/* A socket to the gateway that takes little at a time (a small receive
 * buffer), so a large answer does not fit the socket at once. */
static int slow_client(void)
{
	const char *base = httpc_env("HD_TEST_BASE_URL"), *colon = strrchr(base, ':');
	struct sockaddr_in a = { .sin_family = AF_INET };
	int small = 4096;
	assert_non_null(colon);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* A 1.5 MiB download read slowly: the gateway writes the body from the
 * reply message while the client takes it (docs/architecture.md,
 * Attachments); every byte arrives, in order. */
static void test_large_download_read_slowly(void **state)
{
	(void)state;
	size_t len = 1536 * 1024, got = 0, cap = len + 8192;
	char *file = malloc(len), *in = malloc(cap), head[1024], id[37];
	assert_non_null(file);
	assert_non_null(in);
	for (size_t i = 0; i < len; i++)
		file[i] = (char)('a' + (i * 7 + i / 4099) % 26);
	assert_int_equal(upload(W.cust1, "text/plain", "big.txt", file, len, id), 201);
	int fd = slow_client();
	int n = snprintf(head, sizeof head,
	    "GET /v1/attachments/%s HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer %s\r\n"
	    "Connection: close\r\n\r\n",
	    id, W.cust1);
	assert_int_equal(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
	usleep(300000); /* the answer meets a full socket */
	ssize_t r;
	while (got < cap && (r = recv(fd, in + got, cap - got < 4096 ? cap - got : 4096, 0)) > 0)
		got += (size_t)r;
	close(fd);
	assert_true(got > len);
	assert_memory_equal(in, "HTTP/1.1 200", 12);
	const char *body = memmem(in, got, "\r\n\r\n", 4);
	assert_non_null(body);
	body += 4;
	assert_int_equal((size_t)(in + got - body), len);
	assert_memory_equal(body, file, len);
	free(in);
	free(file);
}

/* Unclaimed uploads go after HD_ATTACHMENT_TTL_S (8 s here). */
static void test_expiry(void **state)
{
	(void)state;
	char id[37], path[96];
	httpc_resp r;
	upload_png(W.cust1, id);
	snprintf(path, sizeof path, "/v1/attachments/%s", id);
	double deadline = httpc_now_s() + 40;
	long status = 200;
	while (status == 200 && httpc_now_s() < deadline) {
		status = req(&r, "GET", path, W.cust1, NULL);
		httpc_resp_free(&r);
		if (status == 200)
			usleep(500000);
	}
	assert_int_equal(status, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_download),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_comment_attachments),
		cmocka_unit_test(test_work_order_attachments),
		cmocka_unit_test(test_work_order_replay),
		cmocka_unit_test(test_half_upload_stores_nothing),
		cmocka_unit_test(test_large_download_read_slowly),
		cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
