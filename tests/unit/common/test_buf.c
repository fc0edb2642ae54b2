/* Unit tests of the capped buffer. */
#include "harness.h"
#include "common/buf.h"

#include <stdlib.h>

static void test_append_and_cap(void)
{
    buf_t b;
    buf_init(&b, 10);
    CHECK_INT(buf_append_str(&b, "hello"), 0);
    CHECK_INT(buf_append_str(&b, "world"), 0);
    CHECK_STR(b.data, "helloworld");
    CHECK_INT(buf_append_str(&b, "!"), BUF_ERR_TOOBIG);
    CHECK_INT(b.len, 10);
    buf_reset(&b);
    CHECK_INT(buf_printf(&b, "%d-%s", 42, "x"), 0);
    CHECK_STR(b.data, "42-x");
    buf_free(&b);
}

static void test_printf_large_and_steal(void)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(buf_printf(&b, "<%s>", big), 0);
    CHECK_INT(b.len, 1001);
    size_t n;
    char *p = buf_steal(&b, &n);
    CHECK_INT(n, 1001);
    CHECK(p[0] == '<' && p[1000] == '>');
    CHECK(b.data == NULL && b.len == 0);
    free(p);
}

int main(void)
{
    RUN(test_append_and_cap);
    RUN(test_printf_large_and_steal);
    return TEST_REPORT();
}
