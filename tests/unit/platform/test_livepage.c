/*
 * The live page's pieces that need no browser (platform/livepage.c): the
 * /proc join finds this process's own TCP connection to a listener by its
 * port (and nothing for another port, or a process that is gone), and one
 * only a forked child holds through the process tree; the ring
 * of recent invocations keeps the last PLATFORM_LIVE_RECENT, newest first,
 * with the tail's last bytes escaped; the database's port is read from an
 * external --db URI (first host, 27017 without a port, unknown for SRV).
 * test_platform_livepage.js drives the page itself in Chromium.
 */
#include "harness.h"
#include "platform/instance.h"
#include "platform/invocation.h"
#include "platform/livepage.h"
#include "platform/platform.h"
#include "platform/recent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, 4) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_db_ports(void)
{
    int port, other;
    int lfd = listener(&port), ofd = listener(&other);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(cfd, (struct sockaddr *)&a, sizeof a) == 0);
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    CHECK(getsockname(cfd, (struct sockaddr *)&local, &len) == 0);
    int sfd = accept(lfd, NULL, NULL);
    CHECK(sfd >= 0);

    int self = (int)getpid(), gone = 0x7ffffff0;
    int ports[4] = {0};
    /* our connection to the listener, seen from the client's side only: the
       accepted socket's remote port is the client's, not the listener's */
    CHECK_INT(platform_livepage_db_ports(&self, 1, port, ports, 4), 1);
    CHECK_INT(ports[0], ntohs(local.sin_port));
    CHECK_INT(platform_livepage_db_ports(&self, 1, other, ports, 4), 0);
    CHECK_INT(platform_livepage_db_ports(&gone, 1, port, ports, 4), -1); /* no such process */
    close(cfd);
    close(sfd);
    close(ofd);
    close(lfd);
}

/* A connection only a child process holds is found through the process tree
 * (an instance without a control group). */
static void test_child_connection(void)
{
    int port;
    int lfd = listener(&port);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(cfd, (struct sockaddr *)&a, sizeof a) == 0);
    int sfd = accept(lfd, NULL, NULL);
    CHECK(sfd >= 0);
    int hold[2];
    CHECK(pipe(hold) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) { /* holds cfd until the parent closes the pipe */
        close(hold[1]);
        char c;
        while (read(hold[0], &c, 1) == -1 && errno == EINTR) {
        }
        _exit(0);
    }
    close(hold[0]);
    close(cfd); /* now only the child holds it */

    platform_instance_t inst;
    memset(&inst, 0, sizeof inst);
    inst.pid = getpid();
    int pids[8], ports[4] = {0};
    int n = platform_livepage_instance_pids(&inst, pids, 8);
    CHECK(n >= 2);
    CHECK_INT(pids[0], (int)getpid());
    int seen = 0;
    for (int i = 1; i < n; i++)
        seen |= pids[i] == (int)child;
    CHECK(seen);
    CHECK_INT(platform_livepage_db_ports(pids, 1, port, ports, 4), 0); /* not ours */
    CHECK_INT(platform_livepage_db_ports(pids, n, port, ports, 4), 1); /* the child's */

    close(hold[1]);
    CHECK(waitpid(child, NULL, 0) == child);
    close(sfd);
    close(lfd);
}

static void record(const char *id, int error, const char *tail)
{
    platform_tail_t t;
    memset(&t, 0, sizeof t);
    platform_tail_append(&t, tail, strlen(tail));
    platform_recent_add(id, "", 0, error, 1.0, &t);
}

static void test_recent_and_db(void)
{
    platform_t p;
    memset(&p, 0, sizeof p);
    buf_t b;
    buf_init(&b, 1 << 20);

    char big[3000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    big[sizeof big - 2] = '"'; /* the tail's last byte: kept, escaped */
    record("first", 0, big);
    for (int i = 0; i < PLATFORM_LIVE_RECENT; i++) {
        char id[16];
        snprintf(id, sizeof id, "id-%d", i);
        record(id, i == PLATFORM_LIVE_RECENT - 1, "line\n");
    }
    CHECK_INT(platform_livepage_json(&p, &b), 0);
    CHECK(strstr(b.data, "\"id\":\"first\"") == NULL); /* pushed out of the ring */
    char *newest = strstr(b.data, "\"recent\":[{\"id\":\"id-31\"");
    CHECK(newest != NULL);
    CHECK(newest != NULL && strstr(newest, "\"error\":true") != NULL);
    CHECK(strstr(b.data, "\"id\":\"id-0\"") != NULL);
    CHECK(strstr(b.data, "\"db\":{\"kind\":\"none\",\"port\":0}") != NULL);
    CHECK(strstr(b.data, "\"instances\":[]") != NULL);
    CHECK(strstr(b.data, "{\"status\":{") == b.data);

    buf_reset(&b);
    record("tail", 0, big);
    CHECK_INT(platform_livepage_json(&p, &b), 0);
    const char *t = strstr(b.data, "\"id\":\"tail\"");
    const char *tail = t ? strstr(t, "\"tail\":\"") : NULL;
    CHECK(tail != NULL);
    if (tail != NULL) {
        tail += strlen("\"tail\":\"");
        size_t xs = strspn(tail, "x");
        CHECK_INT((int)xs, PLATFORM_LIVE_TAIL_MAX - 1); /* the last 4 KB: x... and the quote */
        CHECK(strncmp(tail + xs, "\\\"\"", 3) == 0);
    }

    static const struct {
        const char *uri;
        const char *want;
    } uris[] = {
        {"mongodb://app:pw@db.example.com:27018,h2:27019/app",
         "\"kind\":\"external\",\"port\":27018}"},
        {"mongodb://db.example.com/app", "\"kind\":\"external\",\"port\":27017}"},
        {"mongodb://[::1]/app", "\"kind\":\"external\",\"port\":27017}"},
        {"mongodb://[::1]:27020/app", "\"kind\":\"external\",\"port\":27020}"},
        {"mongodb+srv://u:p@cluster0.example.net/", "\"kind\":\"external\",\"port\":0}"},
    };
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        char uri[128];
        snprintf(uri, sizeof uri, "%s", uris[i].uri);
        p.mongodb_uri = uri;
        buf_reset(&b);
        CHECK_INT(platform_livepage_json(&p, &b), 0);
        if (strstr(b.data, uris[i].want) == NULL)
            fprintf(stderr, "%s: %s\n", uris[i].uri, strstr(b.data, "\"db\""));
        CHECK(strstr(b.data, uris[i].want) != NULL);
    }
    buf_free(&b);
}

int main(void)
{
    RUN(test_db_ports);
    RUN(test_child_connection);
    RUN(test_recent_and_db);
    TEST_REPORT();
}
