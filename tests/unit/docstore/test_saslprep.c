/*
 * Unit tests of SASLprep (RFC 4013) for SCRAM-SHA-256 passwords: the RFC's
 * own examples (section 3), the mapping tables, NFKC, and each way a string
 * is refused (prohibited, unassigned, bidi, bad UTF-8), with reasons that
 * never quote the input.
 */
#include "harness.h"

#include "docstore/auth/saslprep.h"

#include <stdlib.h>
#include <string.h>

static void expect_ok(const char *in, const char *want)
{
    char *out = NULL;
    const char *why = "unset";
    CHECK_INT(docstore_saslprep(in, &out, &why), 0);
    if (out != NULL)
        CHECK_STR(out, want);
    CHECK(why == NULL);
    free(out);
}

static void expect_refused(const char *in, const char *reason_part)
{
    char *out = NULL;
    const char *why = NULL;
    CHECK_INT(docstore_saslprep(in, &out, &why), -1);
    CHECK(out == NULL);
    CHECK(why != NULL && strstr(why, reason_part) != NULL);
    if (why != NULL && in[0] != '\0')
        CHECK(strstr(why, in) == NULL);
}

static void test_rfc4013_examples(void)
{
    expect_ok("I\xC2\xAD"
              "X",
              "IX");                    /* U+00AD soft hyphen: mapped to nothing */
    expect_ok("user", "user");          /* no transformation */
    expect_ok("USER", "USER");          /* case preserved */
    expect_ok("\xC2\xAA", "a");         /* U+00AA: NFKC */
    expect_ok("\xE2\x85\xA8", "IX");    /* U+2168 ROMAN NUMERAL NINE: NFKC */
    expect_refused("\x07", "prohibit"); /* U+0007: control */
    expect_refused("\xD8\xA7"
                   "1",
                   "right-to-left"); /* U+0627 then '1': bidi */
}

static void test_mapping_and_nfkc(void)
{
    expect_ok("p@ss:w0rd,=x", "p@ss:w0rd,=x"); /* ASCII stays as is */
    expect_ok("a\xC2\xA0"
              "b",
              "a b"); /* U+00A0 → space */
    expect_ok("a\xE3\x80\x80"
              "b",
              "a b"); /* U+3000 ideographic space */
    /* U+200B is in both B.1 (to nothing) and C.1.2 (to space): ICU, MongoDB's
     * server and the Node driver map it to a space; pymongo drops it. */
    expect_ok("a\xE2\x80\x8B"
              "b",
              "a b");
    expect_ok("a\xE2\x80\x8C"
              "b",
              "ab"); /* U+200C ZWNJ: B.1 only */
    expect_ok("\xEF\xBB\xBF"
              "ab",
              "ab");                                                   /* U+FEFF */
    expect_ok("caf\xC3\xA9", "caf\xC3\xA9");                           /* é stays composed */
    expect_ok("cafe\xCC\x81", "caf\xC3\xA9");                          /* e + U+0301 composes */
    expect_ok("\xEF\xAC\x81", "fi");                                   /* U+FB01 ligature */
    expect_ok("\xEF\xBC\xA1", "A");                                    /* U+FF21 fullwidth A */
    expect_ok("\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC"); /* CJK unchanged */
    expect_ok("\xD7\x90\xD7\x91", "\xD7\x90\xD7\x91");                 /* all RTL is fine */
    expect_ok("", "");
}

static void test_refusals(void)
{
    expect_refused("abc\x7f", "prohibit"); /* DEL */
    expect_refused("a\tb", "prohibit");    /* ASCII control */
    expect_refused("a\xC2\x85"
                   "b",
                   "prohibit");                  /* U+0085 NEL (C.2.2) */
    expect_refused("a\xEE\x80\x80", "prohibit"); /* U+E000 private use */
    expect_refused("a\xEF\xBF\xBD", "prohibit"); /* U+FFFD (C.6) */
    expect_refused("a\xEF\xBF\xBE", "prohibit"); /* U+FFFE non-character */
    expect_refused("a\xE2\x80\x8E", "prohibit"); /* U+200E LRM (C.8) */
    expect_refused("a\xC8\xA1", "unassigned");   /* U+0221, unassigned in 3.2 */
    expect_refused("a\xC3", "UTF-8");            /* truncated */
    expect_refused("a\xC0\xAF", "UTF-8");        /* overlong */
    expect_refused("a\xED\xA0\x80", "UTF-8");    /* encoded surrogate */
    char *big = malloc(5000);
    if (big != NULL) {
        memset(big, 'a', 4999);
        big[4999] = '\0';
        expect_refused(big, "4096");
        free(big);
    }
}

int main(void)
{
    RUN(test_rfc4013_examples);
    RUN(test_mapping_and_nfkc);
    RUN(test_refusals);
    return TEST_REPORT();
}
