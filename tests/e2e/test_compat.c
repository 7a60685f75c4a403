/* Independent deploys (issue 4): the envelope is versioned and tolerant, so
 * a gateway and a daemon of different builds still talk. Both directions go
 * through the real binaries of this tree:
 *  - a request envelope carrying header fields this tree does not know, sent
 *    straight over NNG to the running hd-auth (HD_AUTH_URL), gets a normal
 *    reply;
 *  - a gateway of this tree (HD_TEST_BIN_DIR), pointed at a stand-in auth
 *    daemon that answers with unknown reply fields, passes the reply through
 *    to the HTTP client unchanged.
 * Environment: see proc_e2e.h, plus HD_AUTH_URL (the stack's auth daemon). */
#include <pthread.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include "daemon_child.h"
#include "hd/rpc.h"
#include "proc_e2e.h"

/* ---- a newer gateway talking to this tree's hd-auth ---- */

static void test_daemon_ignores_unknown_request_fields(void **state)
{
	(void)state;
	hd_rpc_client *c = NULL;
	assert_int_equal(hd_rpc_client_open(&c, httpc_env("HD_AUTH_URL")), HD_OK);
	int64_t until = pe_now_ms() + 5000;
	while (!hd_rpc_client_connected(c) && pe_now_ms() < until)
		pe_sleep_ms(10);
	assert_true(hd_rpc_client_connected(c));
	/* known fields plus ones a later gateway might add */
	size_t len = 0;
	char *msg = pe_envelope("{\"v\":1,\"op\":\"auth.jwks\",\"rid\":\"compat-req-1\","
	                        "\"ip\":\"127.0.0.1\",\"priority\":\"high\","
	                        "\"trace\":{\"sampled\":true,\"hops\":[1,2]},\"retry\":0}",
	    NULL, &len);
	char *raw = NULL;
	size_t raw_len = 0;
	assert_int_equal(daemon_child_call_raw(c, msg, len, 5000, &raw, &raw_len), HD_OK);
	free(msg);
	hd_reply r;
	assert_int_equal(hd_reply_decode(raw, raw_len, &r), HD_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(memmem(r.body, r.body_len, "\"keys\"", 6));
	hd_rpc_free(raw);
	hd_rpc_client_close(c);
}

/* ---- this tree's gateway talking to a newer daemon ---- */

typedef struct fake_daemon {
	nng_socket sock;
	pthread_t th;
	char op[64]; /* the op of the last request it decoded */
	int served;
} fake_daemon;

/* Answers every request with a reply whose header has unknown fields. */
static void *fake_daemon_main(void *arg)
{
	fake_daemon *f = arg;
	for (;;) {
		nng_msg *m = NULL;
		if (nng_recvmsg(f->sock, &m, 0) != 0)
			return NULL; /* closed */
		hd_envelope e;
		if (hd_envelope_decode(nng_msg_body(m), nng_msg_len(m), &e) == HD_OK)
			snprintf(f->op, sizeof f->op, "%s", e.op);
		nng_msg_free(m);
		size_t len = 0;
		char *rep
		    = pe_envelope("{\"v\":1,\"status\":200,\"headers\":{\"x-compat\":\"yes\"},"
		                  "\"cache\":{\"ttl\":5},\"served_by\":\"newer-auth\"}",
		        "{\"compat\":true}", &len);
		f->served++;
		nng_send(f->sock, rep, len, 0);
		free(rep);
	}
}

static void test_gateway_ignores_unknown_reply_fields(void **state)
{
	(void)state;
	static fake_daemon f;
	int rpc_port = pe_free_port(), http_port = pe_free_port();
	char url[64], auth_env[80], port_env[48], base[64], ready[96], login[96];
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", rpc_port);
	assert_int_equal(nng_rep0_open(&f.sock), 0);
	assert_int_equal(nng_listen(f.sock, url, NULL, 0), 0);
	assert_int_equal(pthread_create(&f.th, NULL, fake_daemon_main, &f), 0);

	char redis_env[600];
	snprintf(redis_env, sizeof redis_env, "HD_REDIS_URL=%s", httpc_env("HD_TEST_REDIS_URL"));
	snprintf(auth_env, sizeof auth_env, "HD_AUTH_URL=%s", url);
	snprintf(port_env, sizeof port_env, "HD_HTTP_PORT=%d", http_port);
	char admin_env[48];
	snprintf(admin_env, sizeof admin_env, "HD_GATEWAY_ADMIN_PORT=%d", pe_free_port());
	snprintf(base, sizeof base, "http://127.0.0.1:%d", http_port);
	snprintf(ready, sizeof ready, "%s/readyz", base);
	snprintf(login, sizeof login, "%s/v1/auth/login", base);
	const char *env[] = { auth_env, port_env, admin_env, redis_env, NULL };
	pid_t gw = pe_spawn("gateway", NULL, "compat-gateway", env);
	assert_true(pe_wait_ready(ready, gw, 20000));

	httpc_resp r;
	assert_int_equal(
	    httpc_call(&r, "POST", login, NULL,
	        "{\"tenant\":\"acme\",\"email\":\"a@b.c\",\"password\":\"x\"}", NULL, NULL),
	    0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"compat\":true}");
	const char *h = httpc_header(&r, "x-compat");
	assert_non_null(h);
	assert_string_equal(h, "yes");
	httpc_resp_free(&r);
	assert_string_equal(f.op, "auth.login");
	assert_int_equal(f.served, 1);

	assert_int_equal(pe_stop(gw, SIGTERM), 0);
	nng_close(f.sock);
	pthread_join(f.th, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_ignores_unknown_request_fields),
		cmocka_unit_test(test_gateway_ignores_unknown_reply_fields),
	};
	return cmocka_run_group_tests(tests, NULL, pe_teardown);
}
