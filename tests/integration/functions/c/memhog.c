/*
 * A test function that allocates and touches {"mb": N} megabytes, keeps them
 * until it answers, and answers {"pid":..,"mb":N}: past its MemorySize the
 * platform's control group kills it (test_platform_contain.js). Built as
 * build/tests/functions/memhog/bootstrap.
 */
#include <tether/tether.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int memhog(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)user;
    const char *k = strstr(ev->payload, "\"mb\":");
    long mb = k ? strtol(k + 5, NULL, 10) : 1;
    if (mb < 0 || mb > 4096)
        mb = 1;
    char **blocks = calloc((size_t)mb + 1, sizeof *blocks);
    for (long i = 0; blocks != NULL && i < mb; i++) {
        blocks[i] = malloc(1 << 20);
        if (blocks[i] != NULL)
            memset(blocks[i], (int)(i & 0x7f) + 1, 1 << 20); /* touched: resident */
    }
    int rc = tether_response_printf(res, "{\"pid\":%d,\"mb\":%ld}", (int)getpid(), mb);
    for (long i = 0; blocks != NULL && i < mb; i++)
        free(blocks[i]);
    free(blocks);
    return rc;
}

int main(void)
{
    return tether_run_handler(memhog);
}
