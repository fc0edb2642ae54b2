/*
 * A test function for the live page (test_platform_livepage.js).
 *
 * {"fork": "1"}: on the instance's first such event, forks a child that
 * opens its own MongoDB connection (libmongoc, MONGODB_URI), pings, and then
 * holds it until its parent dies; the handler answers once the ping is done,
 * with {"pid": PID, "child": CHILD}. The instance's connection is then held
 * by a process other than the runtime, which the page must still count as
 * the instance's.
 *
 * {"log": "N"}: grows its stdout pipe to 1 MB, writes N bytes of filler
 * lines and then the line "last line of REQUEST-ID" into it at once, and
 * answers: the result reaches tether up while most of the output still
 * waits in the pipe (tether up reads 64 KB of it per loop turn), and the
 * page's log tail must still end with that line, Tail asked or not.
 *
 * Built as build/tests/functions/forkdb/bootstrap.
 */
#include <tether/tether.h>

#include <errno.h>
#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static pid_t child = -1;

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

/* The child: its own connection, held until the parent goes. */
static void run_child(int ready)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int fd = 3; fd < 1024; fd++) /* not the runtime's sockets and pipes */
        if (fd != ready)
            close(fd);
    const char *uri = getenv("MONGODB_URI");
    mongoc_init();
    mongoc_client_t *c = uri != NULL ? mongoc_client_new(uri) : NULL;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_error_t error;
    int ok = c != NULL && mongoc_client_command_simple(c, "admin", ping, NULL, NULL, &error);
    bson_destroy(ping);
    char byte = ok ? 'y' : 'n';
    while (write(ready, &byte, 1) == -1 && errno == EINTR) {
    }
    close(ready);
    for (;;)
        pause();
}

static int forkdb(const tether_event_t *ev, tether_response_t *res, void *user)
{
    (void)user;
    char arg[32];
    field(ev->payload, "log", arg, sizeof arg);
    if (arg[0] != '\0') {
        long left = strtol(arg, NULL, 10);
        (void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20); /* at most pipe-max-size */
        static const char filler[] = "filler filler filler filler filler filler filler filler\n";
        for (; left > 0; left -= (long)sizeof filler - 1)
            fputs(filler, stdout);
        printf("last line of %s\n", ev->request_id);
        fflush(stdout);
        return tether_response_printf(res, "{\"pid\":%d}", (int)getpid());
    }
    field(ev->payload, "fork", arg, sizeof arg);
    if (arg[0] != '\0' && child == -1) {
        int p[2];
        if (pipe(p) == -1)
            return tether_response_error(res, "PipeFailed", "%s", strerror(errno));
        fflush(NULL);
        child = fork();
        if (child == 0) {
            close(p[0]);
            run_child(p[1]);
        }
        close(p[1]);
        if (child == -1) {
            close(p[0]);
            return tether_response_error(res, "ForkFailed", "%s", strerror(errno));
        }
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        char byte = 'n';
        int r = poll(&pf, 1, 10000);
        if (r == 1 && read(p[0], &byte, 1) != 1)
            byte = 'n';
        close(p[0]);
        if (byte != 'y')
            return tether_response_error(res, "ChildNotConnected", "the child's ping failed");
    }
    return tether_response_printf(res, "{\"pid\":%d,\"child\":%d}", (int)getpid(), (int)child);
}

int main(void)
{
    return tether_run_handler(forkdb);
}
