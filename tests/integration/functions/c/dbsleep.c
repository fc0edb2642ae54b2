/*
 * A test function for the live page (test_platform_livepage.js): each
 * invocation pings the database through libtether's managed client (so the
 * instance holds its one connection), then sleeps {"ms": N} milliseconds
 * (at most 10 s), long enough for a browser polling the page to see it
 * busy. Answers {"pid": PID}. Built as build/tests/functions/dbsleep/bootstrap.
 */
#include <tether/db.h>
#include <tether/tether.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int dbsleep_init(void **user, tether_error_t *err)
{
    (void)user;
    return tether_db_open(NULL, err);
}

static int dbsleep_handler(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)user;
    mongoc_client_t *c = tether_db();
    if (c == NULL)
        return tether_response_error(res, "DatabaseUnavailable", "%s", tether_db_error());
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_error_t error;
    bool ok = mongoc_client_command_simple(c, "admin", ping, NULL, NULL, &error);
    bson_destroy(ping);
    if (!ok)
        return tether_response_error(res, "DatabaseError", "%s", error.message);
    const char *ms = strstr(event->payload, "\"ms\":"); /* NUL-terminated */
    long n = ms ? strtol(ms + 5, NULL, 10) : 0;
    if (n > 10000)
        n = 10000;
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (n > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
    return tether_response_printf(res, "{\"pid\":%d}", (int)getpid());
}

int main(void)
{
    static const tether_config_t config = {.init = dbsleep_init, .handler = dbsleep_handler};
    return tether_run(&config);
}
