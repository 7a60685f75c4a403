/* Unit tests of mail in's pure pieces (services/notification/inbound_text.c,
 * inbound.c): which messages are automatic, which ticket a reply names,
 * HTML reduced to text, quoted history trimmed, and whole messages read by
 * GMime (charsets, encoded words, multipart, HTML only). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "notification.h"

#define TICKET_ID "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

static void test_automatic(void **state)
{
	(void)state;
	nt_in_headers h = { .from_addr = "jo@example.org" };
	assert_false(nt_in_automatic(&h));
	h.auto_submitted = " No ";
	assert_false(nt_in_automatic(&h));
	h.auto_submitted = "auto-replied";
	assert_true(nt_in_automatic(&h));
	h.auto_submitted = "no; comment";
	assert_false(nt_in_automatic(&h));
	h.auto_submitted = NULL;
	h.precedence = "Bulk";
	assert_true(nt_in_automatic(&h));
	h.precedence = "list";
	assert_true(nt_in_automatic(&h));
	h.precedence = "first-class";
	assert_false(nt_in_automatic(&h));
	h.return_path = "<>";
	assert_true(nt_in_automatic(&h));
	h.return_path = "<jo@example.org>";
	assert_false(nt_in_automatic(&h));
	h.autoreply_flag = true;
	assert_true(nt_in_automatic(&h));
	h.autoreply_flag = false;
	h.report = true;
	assert_true(nt_in_automatic(&h));
	h.report = false;
	h.from_addr = "MAILER-DAEMON@mx.example.org";
	assert_true(nt_in_automatic(&h));
	h.from_addr = "postmaster@example.org";
	assert_true(nt_in_automatic(&h));
	h.from_addr = "mailer-daemon-fan@example.org";
	assert_false(nt_in_automatic(&h));
	h.from_addr = "";
	assert_true(nt_in_automatic(&h));
}

static void test_thread(void **state)
{
	(void)state;
	nt_in_thread t;
	assert_int_equal(nt_in_subject_number("Re: [#42] Printer"), 42);
	assert_int_equal(nt_in_subject_number("[#] [#x] Re: [#7]"), 7);
	assert_int_equal(nt_in_subject_number("#42 no brackets"), 0);
	assert_int_equal(nt_in_subject_number("[#0]"), 0);
	assert_int_equal(nt_in_subject_number(NULL), 0);
	assert_true(nt_in_our_id("t12." TICKET_ID "@desk.example.com", &t));
	assert_int_equal(t.number, 12);
	assert_string_equal(t.ticket_id, TICKET_ID);
	assert_true(nt_in_our_id("t12.c" TICKET_ID "@desk.example.com", &t));
	assert_int_equal(t.number, 12);
	assert_string_equal(t.ticket_id, "");
	static const char *const bad[] = { "t12." TICKET_ID, "x12." TICKET_ID "@d",
		"t." TICKET_ID "@d", "t12.0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5@d",
		"t12.0190a1b2xc3d4-7e5f-8a9b-0c1d2e3f4a5b@d", "t12.c@d", "CAF0123@mail.gmail.com",
		"", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		if (nt_in_our_id(bad[i], &t))
			fail_msg("took %s for ours", bad[i]);
}

static void expect_html(const char *html, const char *text)
{
	char *got = nt_in_html_text(html);
	assert_non_null(got);
	assert_string_equal(got, text);
	free(got);
}

static void test_html(void **state)
{
	(void)state;
	expect_html("<p>Hello&nbsp;<b>there</b></p><p>Line&#33; &#x263A; &amp; &lt;x&gt;</p>",
	    "Hello there\n\nLine! \xe2\x98\xba & <x>");
	expect_html("<html><head><title>T</title><style>p{}</style></head><body>A<br>B"
	            "<script>alert(1)</script></body></html>",
	    "A\nB");
	expect_html("Mine<blockquote>old <blockquote>older</blockquote> text</blockquote>after",
	    "Mineafter");
	expect_html("a  \n\t b<!-- <p>hidden</p> -->c", "a bc");
	expect_html("&unknown; & &#99999999999;", "&unknown; & &#99999999999;");
	expect_html("<p></p><p></p><p></p>x", "x");
	expect_html("unclosed <b", "unclosed");
	expect_html("&#0;", "\xef\xbf\xbd");
}

static void expect_trim(const char *text, const char *want)
{
	char *copy = strdup(text);
	assert_non_null(copy);
	assert_int_equal(nt_in_trim_quotes(copy), strlen(want));
	assert_string_equal(copy, want);
	free(copy);
}

static void test_quotes(void **state)
{
	(void)state;
	expect_trim("Thanks, fixed.\n\nOn Mon, 7 Dec 2026 at 10:00, Desk <d@x.y> wrote:\n> old\n",
	    "Thanks, fixed.");
	expect_trim("Thanks.\nOn Mon, 7 Dec 2026 at 10:00, a very long name\n<d@x.y> wrote:\n> old",
	    "Thanks.");
	expect_trim(
	    "Top\n> quoted\nmy answer\n> more quoted\n\n> end\n", "Top\n> quoted\nmy answer");
	expect_trim("Hi\r\n-----Original Message-----\r\nFrom: x\r\n", "Hi");
	expect_trim("Hi\n________________________________\nFrom: x", "Hi");
	expect_trim("Merci\nLe lun. 7 déc. 2026, Desk a écrit :\n> vieux", "Merci");
	expect_trim("Body\n-- \nJo, Acme Ltd", "Body");
	expect_trim("> only quoted\n> text", "> only quoted\n> text");
	expect_trim("", "");
	expect_trim("On my way, as I wrote:\nmore", "On my way, as I wrote:\nmore");
}

static void parse(const char *raw, nt_inbound *m)
{
	assert_int_equal(nt_inbound_parse(raw, strlen(raw), m), HD_OK);
}

static void test_parse_reply(void **state)
{
	(void)state;
	nt_inbound m;
	parse("From: =?ISO-8859-1?Q?Jos=E9?= <Jose@Example.ORG>\r\n"
	      "To: support@desk.example.com\r\n"
	      "Subject: =?UTF-8?B?UmU6IFsjMTJdIENhZsOp?=\r\n"
	      "Message-ID: <abc123@mail.example.org>\r\n"
	      "In-Reply-To: <t12.c" TICKET_ID "@desk.example.com>\r\n"
	      "References: <t12." TICKET_ID "@desk.example.com> <t12.c" TICKET_ID
	      "@desk.example.com>\r\n"
	      "MIME-Version: 1.0\r\n"
	      "Content-Type: text/plain; charset=iso-8859-1\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	      "Voil=E0, merci.\r\n\r\nOn Mon, 7 Dec 2026, Desk wrote:\r\n> old\r\n",
	    &m);
	assert_string_equal(m.from_addr, "jose@example.org");
	assert_string_equal(m.from_name, "Jos\xc3\xa9");
	assert_string_equal(m.subject, "Re: [#12] Caf\xc3\xa9");
	assert_string_equal(m.message_id, "abc123@mail.example.org");
	assert_false(m.automatic);
	assert_int_equal(m.thread.number, 12);
	assert_string_equal(m.thread.ticket_id, ""); /* In-Reply-To names a comment */
	assert_string_equal(m.body, "Voil\xc3\xa0, merci.");
	nt_inbound_fini(&m);
}

static void test_parse_multipart(void **state)
{
	(void)state;
	nt_inbound m;
	parse("From: jo@example.org\r\nSubject: Printer\r\nMessage-ID: <m1@example.org>\r\n"
	      "References: <t9." TICKET_ID "@desk.example.com>\r\n"
	      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	      "--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
	      "--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML side</p>\r\n"
	      "--b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
	      "base64\r\n\r\n"
	      "UGxhaW4gc2lkZQ==\r\n--b2--\r\n"
	      "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
	      "filename=a.txt\r\n\r\n"
	      "attached\r\n--b1--\r\n",
	    &m);
	assert_string_equal(m.body, "Plain side");
	assert_int_equal(m.thread.number, 9);
	assert_string_equal(m.thread.ticket_id, TICKET_ID);
	/* the attachment is a file; the HTML alternative is not */
	assert_int_equal(m.nparts, 1);
	assert_string_equal(m.parts,
	    "[{\"filename\":\"a.txt\",\"content_type\":\"text/plain\","
	    "\"size\":8,\"data\":\"YXR0YWNoZWQ=\"}]");
	nt_inbound_fini(&m);
	/* an inline image and a base64 PDF, decoded; a forwarded message is not kept */
	parse("From: jo@example.org\r\nSubject: Scan\r\nMIME-Version: 1.0\r\n"
	      "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	      "--b1\r\nContent-Type: text/plain\r\n\r\nSee scan.\r\n"
	      "--b1\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\n"
	      "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
	      "--b1\r\nContent-Type: application/pdf; name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?=\"\r\n"
	      "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	      "JVBERi0xLjQ=\r\n"
	      "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\n"
	      "Subject: old\r\n\r\nold text\r\n--b1--\r\n",
	    &m);
	assert_string_equal(m.body, "See scan.");
	assert_int_equal(m.nparts, 2);
	assert_string_equal(m.parts,
	    "[{\"filename\":\"\",\"content_type\":\"image/"
	    "png\",\"size\":8,\"data\":\"iVBORw0KGgo=\"},"
	    "{\"filename\":\"r\u00e9sum\u00e9.pdf\",\"content_type\":\"application/"
	    "pdf\",\"size\":8,"
	    "\"data\":\"JVBERi0xLjQ=\"}]");
	nt_inbound_fini(&m);
	parse("From: jo@example.org\r\nSubject: Only HTML [#5]\r\nMIME-Version: 1.0\r\n"
	      "Content-Type: text/html; charset=windows-1252\r\n\r\n"
	      "<div>Caf\xe9 &amp; cr\xe8me</div><blockquote>old</blockquote>\r\n",
	    &m);
	assert_string_equal(m.body, "Caf\xc3\xa9 & cr\xc3\xa8me");
	assert_int_equal(m.thread.number, 5);
	assert_string_equal(m.message_id, "");
	assert_int_equal(m.nparts, 0);
	assert_string_equal(m.parts, "[]");
	nt_inbound_fini(&m);
}

static void test_parse_automatic(void **state)
{
	(void)state;
	nt_inbound m;
	parse("From: jo@example.org\r\nAuto-Submitted: auto-replied\r\nSubject: Out of "
	      "office\r\n\r\nAway.\r\n",
	    &m);
	assert_true(m.automatic);
	nt_inbound_fini(&m);
	parse(
	    "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nSubject: Undelivered\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
	    " boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--r--\r\n",
	    &m);
	assert_true(m.automatic);
	nt_inbound_fini(&m);
	parse("From: \"not an address\"\r\nSubject: x\r\n\r\ny\r\n", &m);
	assert_true(m.automatic);
	assert_string_equal(m.from_addr, "");
	nt_inbound_fini(&m);
	assert_int_equal(nt_inbound_parse("", 0, &m), HD_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_automatic),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_parse_multipart),
		cmocka_unit_test(test_parse_automatic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
