/* Unit tests of the notification daemon's pure pieces: the address guard
 * (services/notification/guard.c), the webhook URL check (url.c), the
 * delivery signature, the retry backoff and the secrets (sign.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include "notification.h"

static bool internal(const char *text)
{
	unsigned char a[16];
	if (!nt_addr_from_text(text, a))
		fail_msg("not an address: %s", text);
	return nt_addr_internal(a);
}

static void test_internal_addresses(void **state)
{
	(void)state;
	static const char *const inside[] = { "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "169.254.169.254", "169.254.0.1", "100.64.0.1",
		"0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "240.0.0.1", "::", "::1",
		"fe80::1", "febf::1", "fc00::1", "fd00:ec2::254", "fdff::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.1.1.1", "::ffff:169.254.169.254", "64:ff9b::a00:1",
		"2002:c0a8:101::1", "::127.0.0.1", NULL };
	static const char *const outside[] = { "1.1.1.1", "8.8.8.8", "172.32.0.1", "172.15.255.255",
		"192.169.0.1", "100.128.0.1", "169.253.1.1", "2606:4700::1111", "2001:db8::1",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "fec0::1x", NULL };
	for (int i = 0; inside[i] != NULL; i++)
		if (!internal(inside[i]))
			fail_msg("%s should be internal", inside[i]);
	for (int i = 0; outside[i] != NULL; i++) {
		unsigned char a[16];
		if (!nt_addr_from_text(outside[i], a))
			continue; /* not an address at all ("fec0::1x") */
		if (nt_addr_internal(a))
			fail_msg("%s should be reachable", outside[i]);
	}
}

static void test_allow_list(void **state)
{
	(void)state;
	nt_cidr_list allow;
	unsigned char a[16];
	assert_true(nt_cidr_list_parse("127.0.0.2/32, 10.8.0.0/16 ,fd12::/16,::1", &allow));
	assert_int_equal(allow.count, 4);
	assert_true(nt_addr_from_text("127.0.0.2", a) && nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("::ffff:127.0.0.2", a) && nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("127.0.0.1", a) && !nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("10.8.255.1", a) && nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("10.9.0.1", a) && !nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("fd12:3::1", a) && nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("fd13::1", a) && !nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("::1", a) && nt_addr_allowed(a, &allow));
	assert_true(nt_addr_from_text("8.8.8.8", a) && nt_addr_allowed(a, NULL));
	assert_true(nt_cidr_list_parse("", &allow) && allow.count == 0);
	assert_true(nt_cidr_list_parse(NULL, &allow) && allow.count == 0);
	assert_true(nt_cidr_list_parse(" , ", &allow) && allow.count == 0);
	static const char *const bad[] = { "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0/8", "host.example", "10.0.0.0/8x", "1.2.3.4/ 8", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		if (nt_cidr_list_parse(bad[i], &allow))
			fail_msg("accepted %s", bad[i]);
	char many[2048] = "";
	for (int i = 0; i <= NT_CIDR_MAX; i++)
		strcat(many, "10.0.0.1,");
	assert_false(nt_cidr_list_parse(many, &allow));
}

static void test_urls(void **state)
{
	(void)state;
	nt_cidr_list allow;
	nt_url u;
	const char *why = NULL;
	assert_true(nt_cidr_list_parse("127.0.0.2/32", &allow));
	assert_true(nt_url_check("https://hooks.example.com/x?y=1", false, &allow, &u, &why));
	assert_true(u.https && !u.literal && u.port == 443);
	assert_string_equal(u.host, "hooks.example.com");
	assert_true(nt_url_check("http://127.0.0.2:8080/h", true, &allow, &u, &why));
	assert_true(u.literal && u.port == 8080 && !u.https);
	assert_true(nt_url_check("https://[2606:4700::1111]/h", false, &allow, &u, &why));
	assert_string_equal(u.host, "2606:4700::1111");
	assert_false(nt_url_check("http://hooks.example.com/x", false, &allow, &u, &why));
	assert_string_equal(why, "must be an https:// URL");
	static const char *const bad[] = { "https://127.0.0.1/h", "https://10.0.0.1/h",
		"https://[::1]/h", "https://[::ffff:10.0.0.1]/h", "https://169.254.169.254/",
		"https://[fe80::1%25eth0]/h", "https://u:p@example.com/h",
		"https://example.com/h#f", "ftp://example.com/h", "https:///h",
		"https://exa mple.com/h", "example.com/path", "https://example.com/\x7f",
		"file:///etc/passwd", "gopher://example.com:70/", "http://1.2:0/",
		"https://127.1/h", "https://0x7f000001/h", "https://2130706433/h", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		if (nt_url_check(bad[i], true, &allow, &u, &why))
			fail_msg("accepted %s", bad[i]);
	char longer[NT_URL_MAX + 32] = "https://example.com/";
	memset(longer + strlen(longer), 'a', NT_URL_MAX);
	longer[NT_URL_MAX + 1] = '\0';
	assert_false(nt_url_check(longer, true, &allow, &u, &why));
}

/* The vector computed with openssl(1):
 * printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test */
static void test_signature(void **state)
{
	(void)state;
	char sig[NT_SIG_MAX];
	assert_true(nt_sign("whsec_test", 1700000000, "{\"a\":1}", 7, sig));
	assert_string_equal(sig,
	    "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
	char other[NT_SIG_MAX];
	assert_true(nt_sign("whsec_test", 1700000000, "{\"a\":2}", 7, other));
	assert_string_not_equal(sig, other);
	assert_true(nt_sign("whsec_other", 1700000000, "{\"a\":1}", 7, other));
	assert_string_not_equal(sig, other);
}

static void test_backoff(void **state)
{
	(void)state;
	/* rnd 0: half the schedule; rnd max: all of it */
	assert_int_equal(nt_backoff_ms(1, 1000, 3600000, 0), 500);
	assert_int_equal(nt_backoff_ms(1, 1000, 3600000, UINT32_MAX), 1000);
	assert_int_equal(nt_backoff_ms(2, 1000, 3600000, UINT32_MAX), 2000);
	assert_int_equal(nt_backoff_ms(4, 1000, 3600000, UINT32_MAX), 8000);
	assert_int_equal(nt_backoff_ms(40, 1000, 3600000, UINT32_MAX), 3600000);
	assert_int_equal(nt_backoff_ms(1000, 1000, 3600000, 0), 1800000);
	for (uint32_t r = 0; r < 4000000000u; r += 99999989u) {
		int64_t d = nt_backoff_ms(3, 1000, 3600000, r);
		assert_true(d >= 2000 && d <= 4000);
	}
	assert_int_equal(nt_backoff_ms(0, 0, 10, UINT32_MAX), 1);
}

static void test_secret(void **state)
{
	(void)state;
	char a[NT_SECRET_LEN + 1], b[NT_SECRET_LEN + 1];
	assert_true(nt_secret_new(a) && nt_secret_new(b));
	assert_int_equal(strlen(a), NT_SECRET_LEN);
	assert_true(strncmp(a, "whsec_", 6) == 0);
	assert_int_equal(strspn(a + 6, "0123456789abcdef"), 48);
	assert_string_not_equal(a, b);
}

/* Decodes the base64 lines that follow marker in text (up to a blank line). */
static char *part_text(const char *text, const char *marker)
{
	const char *p = strstr(text, marker);
	static char out[4096];
	unsigned char raw[4096];
	size_t n = 0;
	if (p == NULL || (p = strstr(p, "\r\n\r\n")) == NULL)
		return NULL;
	p += 4;
	char b64[4096];
	size_t k = 0;
	while (*p != '\0' && *p != '-' && k < sizeof b64 - 1) {
		if (*p != '\r' && *p != '\n')
			b64[k++] = *p;
		p++;
	}
	b64[k] = '\0';
	int len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)k);
	if (len < 0)
		return NULL;
	while (k > 0 && b64[k - 1] == '=') { /* DecodeBlock counts the padding */
		k--;
		len--;
	}
	n = (size_t)len;
	memcpy(out, raw, n);
	out[n] = '\0';
	return out;
}

static void test_mail(void **state)
{
	(void)state;
	char from[128];
	assert_true(nt_mail_from_addr("support+{tenant}@example.com", "acme", from, sizeof from));
	assert_string_equal(from, "support+acme@example.com");
	assert_true(nt_mail_from_addr("desk@example.com", "acme", from, sizeof from));
	assert_false(nt_mail_from_addr("{tenant}", "acme", from, sizeof from));
	assert_false(nt_mail_from_addr("a@b.c\r\nBcc: x@y.z", "acme", from, sizeof from));
	static const char *const bad[] = { "", "a", "@b.c", "a@", "a@b@c", "a b@c.d", "a<b@c.d",
		"a@b.c\r\nX: y", "\"a\"@b.c", "\xc3\xa9@b.c", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		if (nt_mail_addr_ok(bad[i]))
			fail_msg("accepted address %s", bad[i]);
	nt_mail m = { .from_name = "Acme \"Support\"",
		.from_addr = "support+acme@example.com",
		.to_addr = "jo@example.org",
		.subject = "Re: [#12] Caf\xc3\xa9 r\xc3\xa9ponse\r\nBcc: evil@example.net",
		.body = "Line <one> & \"two\"\nline 2",
		.message_id = "t12.c1@example.com",
		.in_reply_to = "t12.abc@example.com",
		.date = 1700000000 };
	size_t len = 0;
	char *text = nt_mail_build(&m, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(text, "From: =?UTF-8?B?"));
	assert_non_null(strstr(text, "To: <jo@example.org>\r\n"));
	assert_non_null(strstr(text, "Subject: =?UTF-8?B?"));
	assert_null(strstr(text, "Bcc:")); /* the CR LF of the subject is inside an encoded word */
	assert_non_null(strstr(text, "Message-ID: <t12.c1@example.com>\r\n"));
	assert_non_null(strstr(text, "In-Reply-To: <t12.abc@example.com>\r\n"));
	assert_non_null(strstr(text, "References: <t12.abc@example.com>\r\n"));
	assert_string_equal(part_text(text, "text/plain"), m.body);
	assert_string_equal(part_text(text, "text/html"),
	    "<!DOCTYPE html><html><body><p>Line &lt;one&gt; &amp; &quot;two&quot;<br>line "
	    "2</p></body></html>");
	free(text);
	m.in_reply_to = NULL;
	m.from_name = "Plain";
	text = nt_mail_build(&m, &len);
	assert_non_null(text);
	assert_null(strstr(text, "In-Reply-To:"));
	assert_non_null(strstr(text, "From: \"Plain\" <support+acme@example.com>\r\n"));
	free(text);
	m.to_addr = "x@y.z>\r\nBcc: <evil@example.net";
	assert_null(nt_mail_build(&m, &len));
	m.to_addr = "jo@example.org";
	m.message_id = "a>b@c";
	assert_null(nt_mail_build(&m, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_internal_addresses),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_mail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
