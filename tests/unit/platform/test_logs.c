/* Unit tests of log framing: the 4 KB tail ring, line cutting, REPORT lines. */
#include "harness.h"
#include "platform/logs.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_tail_small(void)
{
    platform_tail_t t;
    memset(&t, 0, sizeof t);
    char out[PLATFORM_TAIL_MAX];
    CHECK_INT(platform_tail_copy(&t, out), 0);
    platform_tail_append(&t, "hello ", 6);
    platform_tail_append(&t, "world", 5);
    size_t n = platform_tail_copy(&t, out);
    CHECK_INT(n, 11);
    CHECK(memcmp(out, "hello world", 11) == 0);
}

static void test_tail_wraps_keeps_last(void)
{
    platform_tail_t t;
    memset(&t, 0, sizeof t);
    char line[100];
    /* 1000 numbered lines of 10 bytes: the tail is the last 4096 bytes */
    char *all = malloc(10000 + 1);
    size_t alen = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(line, sizeof line, "line %04d\n", i);
        platform_tail_append(&t, line, 10);
        memcpy(all + alen, line, 10);
        alen += 10;
    }
    char out[PLATFORM_TAIL_MAX];
    size_t n = platform_tail_copy(&t, out);
    CHECK_INT(n, PLATFORM_TAIL_MAX);
    CHECK(memcmp(out, all + alen - PLATFORM_TAIL_MAX, PLATFORM_TAIL_MAX) == 0);
    /* one append larger than the ring keeps its own last bytes */
    char big[PLATFORM_TAIL_MAX + 500];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    platform_tail_append(&t, big, sizeof big);
    n = platform_tail_copy(&t, out);
    CHECK_INT(n, PLATFORM_TAIL_MAX);
    CHECK(memcmp(out, big + 500, PLATFORM_TAIL_MAX) == 0);
    free(all);
}

typedef struct seen {
    char lines[16][PLATFORM_LINE_MAX + 1];
    size_t lens[16];
    int n;
} seen_t;

static void collect(void *arg, const char *line, size_t len)
{
    seen_t *s = arg;
    if (s->n < 16) {
        memcpy(s->lines[s->n], line, len);
        s->lines[s->n][len] = '\0';
        s->lens[s->n] = len;
    }
    s->n++;
}

static void test_lines_split_and_partial(void)
{
    static platform_lines_t l;
    static seen_t s;
    memset(&l, 0, sizeof l);
    memset(&s, 0, sizeof s);
    platform_lines_feed(&l, "one\ntw", 6, collect, &s);
    CHECK_INT(s.n, 1);
    CHECK_STR(s.lines[0], "one");
    platform_lines_feed(&l, "o\r\nthree\n\nfour", 14, collect, &s);
    CHECK_INT(s.n, 4);
    CHECK_STR(s.lines[1], "two");
    CHECK_STR(s.lines[2], "three");
    CHECK_STR(s.lines[3], "");
    platform_lines_flush(&l, collect, &s);
    CHECK_INT(s.n, 5);
    CHECK_STR(s.lines[4], "four");
    platform_lines_flush(&l, collect, &s);
    CHECK_INT(s.n, 5);
}

static void test_lines_overlong(void)
{
    static platform_lines_t l;
    static seen_t s;
    memset(&l, 0, sizeof l);
    memset(&s, 0, sizeof s);
    size_t n = PLATFORM_LINE_MAX * 2 + 10;
    char *data = malloc(n + 1);
    memset(data, 'x', n);
    data[n] = '\n';
    platform_lines_feed(&l, data, n + 1, collect, &s);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.lens[0], PLATFORM_LINE_MAX);
    CHECK_INT(s.lens[1], PLATFORM_LINE_MAX);
    CHECK_INT(s.lens[2], 10);
    free(data);
}

static void test_report(void)
{
    char out[512];
    platform_report_format(out, sizeof out, "abc", 2.5, 128, 40, -1);
    CHECK_STR(out, "REPORT RequestId: abc\tDuration: 2.50 ms\tBilled Duration: 3 ms\t"
                   "Memory Size: 128 MB\tMax Memory Used: 40 MB\t");
    platform_report_format(out, sizeof out, "abc", 0.1, 256, 1, 12.345);
    CHECK_STR(out, "REPORT RequestId: abc\tDuration: 0.10 ms\tBilled Duration: 1 ms\t"
                   "Memory Size: 256 MB\tMax Memory Used: 1 MB\tInit Duration: 12.35 ms\t");
    platform_report_format(out, sizeof out, "abc", 7.0, 128, 1, -1);
    CHECK(strstr(out, "Billed Duration: 7 ms") != NULL);
}

static void test_tree_peak(void)
{
    CHECK(platform_tree_peak_kb(getpid()) > 0);
    CHECK_INT(platform_tree_peak_kb(-5), 0);
}

int main(void)
{
    RUN(test_tail_small);
    RUN(test_tail_wraps_keeps_last);
    RUN(test_lines_split_and_partial);
    RUN(test_lines_overlong);
    RUN(test_report);
    RUN(test_tree_peak);
    return TEST_REPORT();
}
