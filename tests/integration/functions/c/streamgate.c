/*
 * A streaming test function for test_platform_stream.*: it streams "first\n",
 * then waits (at most 10 s) for the file named by the event's "gate" to
 * exist, which the test creates only once it has read "first" from the
 * InvokeWithResponseStream answer, and then streams "second\n". A platform
 * that buffered the stream would hold "first" back: the gate would never
 * open and the function would stream "gate closed\n" instead. The event's
 * "end" says how it ends after that: "ok" (returns), "fail" (an error, sent
 * in the stream's trailers), "hang" (sleeps past its Timeout) or "exit" (the
 * process exits with status 3 mid-stream). An event with "bytes" (a decimal
 * string) instead streams that many bytes of 'x', 64 KiB a write, and
 * returns (the streamed-size limits). Built as
 * build/tests/functions/streamgate/bootstrap.
 */
#include <tether/tether.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The string value of "key" in a flat JSON event (no escapes), into out. */
static void field(const char *json, const char *key, char *out, size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    out[0] = '\0';
    const char *p = strstr(json, pat);
    if (p == NULL)
        return;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p++ != '"')
        return;
    const char *end = strchr(p, '"');
    size_t n = end != NULL ? (size_t)(end - p) : 0;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static int streamgate(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)user;
    char gate[512], end[16];
    field(ev->payload, "gate", gate, sizeof gate);
    field(ev->payload, "end", end, sizeof end);
    char bytes[32];
    field(ev->payload, "bytes", bytes, sizeof bytes);
    int rc = tether_stream_begin(res, "text/plain");
    if (bytes[0] != '\0') {
        static char block[65536];
        memset(block, 'x', sizeof block);
        for (unsigned long long left = strtoull(bytes, NULL, 10); rc == 0 && left > 0;) {
            size_t n = left < sizeof block ? (size_t)left : sizeof block;
            rc = tether_stream_write(res, block, n);
            left -= n;
        }
        return rc;
    }
    if (rc == 0)
        rc = tether_stream_write(res, "first\n", 6);
    int open = 0;
    for (int i = 0; rc == 0 && i < 1000 && !open; i++) {
        open = gate[0] != '\0' && access(gate, F_OK) == 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (!open)
            nanosleep(&ts, NULL);
    }
    if (rc == 0)
        rc = open ? tether_stream_write(res, "second\n", 7)
                  : tether_stream_write(res, "gate closed\n", 12);
    if (rc != 0)
        return rc;
    if (strcmp(end, "fail") == 0)
        return tether_response_error(res, "GateError", "failed after streaming");
    if (strcmp(end, "hang") == 0)
        sleep(30);
    if (strcmp(end, "exit") == 0)
        _exit(3);
    return 0;
}

int main(void)
{
    return tether_run_handler(streamgate);
}
