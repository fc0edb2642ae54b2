/*
 * The live page (see livepage.h): the route, the ring of recent invocations,
 * the /proc join of instances to their database connections, and the live
 * document.
 *
 * Which connections an instance holds is read from the instance's side, so
 * it works for the embedded docstore and an external --db alike: the socket
 * inodes of /proc/PID/fd of every process of the instance, looked up in
 * /proc/PID/net/tcp and tcp6 (the instance's network namespace), established
 * and to the database's port. An instance's processes are its control
 * group's members (cgroup.procs) where it has a group, else the runtime and
 * its descendants (/proc/PID/task/TID/children): a connection a function's
 * child process holds is the instance's too.
 * With the embedded docstore, each of its connections (docstore_server_peers,
 * safe from any thread) is then matched to an instance by the client's port:
 * the docstore's peer port is the instance socket's local port. Connections
 * no instance holds (mongosh, a test client) are shown as other clients.
 *
 * The ring is one per process (tether up runs one platform): invocation.c
 * records into it without knowing about the page.
 */
#include "platform/livepage.h"

#include "common/log.h"
#include "platform/cgroup.h"
#include "docstore/net/db_thread.h"
#include "platform/function.h"
#include "platform/instance.h"
#include "platform/invocation.h"
#include "platform/platform.h"
#include "platform/recent.h"
#include "platform/reply.h"
#include "platform/status.h"
#include "platform/template.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepage_html.h" /* generated from livepage.html: livepage_html[], livepage_html_len */

#define LIVE_JSON_MAX  (16 * 1024 * 1024)
#define LIVE_FD_MAX    4096  /* descriptors of one instance looked at */
#define LIVE_CONN_MAX  256   /* database connections listed per instance */
#define LIVE_PEERS_MAX 1024  /* docstore connections listed */
#define LIVE_TCP_LINES 65536 /* lines of /proc/PID/net/tcp read */
#define LIVE_PIDS_MAX  64    /* processes of one instance looked at */

/* ---- /proc -------------------------------------------------------------- */

static int cmp_ulong(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

/* The socket inodes of pid's descriptors, sorted. -1 when /proc/PID/fd
 * cannot be read. */
static int pid_socket_inodes(int pid, unsigned long *out, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    for (int seen = 0; n < max && seen < LIVE_FD_MAX && (e = readdir(d)) != NULL; seen++) {
        if (e->d_name[0] == '.')
            continue;
        char link[64], target[64];
        snprintf(link, sizeof link, "/proc/%d/fd/%.16s", pid, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        unsigned long ino;
        if (sscanf(target, "socket:[%lu]", &ino) == 1)
            out[n++] = ino;
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof out[0], cmp_ulong);
    return n;
}

/* Adds to ports the local ports of /proc/PID/net/FILE's established
 * connections to remote port db_port whose inode is in inodes. */
static int scan_tcp(int pid, const char *file, int db_port, const unsigned long *inodes,
                    int n_inodes, int *ports, int max, int found)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/net/%s", pid, file);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return found;
    char line[512];
    for (int i = 0; i < LIVE_TCP_LINES && fgets(line, sizeof line, f) != NULL; i++) {
        char local[64], remote[64];
        unsigned st;
        unsigned long ino;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %*s %*s %lu", local, remote, &st, &ino) !=
            4)
            continue; /* the header */
        const char *lc = strrchr(local, ':'), *rc = strrchr(remote, ':');
        if (st != 1 || lc == NULL || rc == NULL) /* 01: TCP_ESTABLISHED */
            continue;
        if ((int)strtol(rc + 1, NULL, 16) != db_port)
            continue;
        if (bsearch(&ino, inodes, (size_t)n_inodes, sizeof inodes[0], cmp_ulong) == NULL)
            continue;
        if (found < max)
            ports[found] = (int)strtol(lc + 1, NULL, 16);
        found++;
    }
    fclose(f);
    return found;
}

int platform_livepage_db_ports(const int *pids, int n_pids, int db_port, int *ports, int max)
{
    static unsigned long inodes[LIVE_FD_MAX]; /* the loop's thread only */
    int n = 0, readable = 0;
    for (int i = 0; i < n_pids && n < LIVE_FD_MAX; i++) {
        int k = pid_socket_inodes(pids[i], inodes + n, LIVE_FD_MAX - n);
        if (k >= 0) {
            readable = 1;
            n += k;
        }
    }
    if (!readable)
        return -1;
    if (n == 0 || db_port <= 0)
        return 0;
    qsort(inodes, (size_t)n, sizeof inodes[0], cmp_ulong);
    int found = scan_tcp(pids[0], "tcp", db_port, inodes, n, ports, max, 0);
    return scan_tcp(pids[0], "tcp6", db_port, inodes, n, ports, max, found);
}

/* The children of every thread of pid, appended to pids[*n..max). */
static void proc_children(int pid, int *pids, int *n, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while (*n < max && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[96], buf[1024];
        snprintf(file, sizeof file, "/proc/%d/task/%.16s/children", pid, e->d_name);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd == -1)
            continue;
        ssize_t len;
        do {
            len = read(fd, buf, sizeof buf - 1);
        } while (len == -1 && errno == EINTR);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        char *s = buf, *end;
        for (long c; *n < max && (c = strtol(s, &end, 10), end != s); s = end)
            if (c > 0)
                pids[(*n)++] = (int)c;
    }
    closedir(d);
}

int platform_livepage_instance_pids(const platform_instance_t *inst, int *pids, int max)
{
    if (max <= 0 || inst->pid <= 0)
        return 0;
    int n = 0;
    pids[n++] = (int)inst->pid; /* first: its network namespace is read */
    if (inst->cg != NULL) {
        static int members[LIVE_PIDS_MAX];
        int m = platform_cgroup_pids(inst->cg, members, LIVE_PIDS_MAX);
        for (int i = 0; i < m && n < max; i++)
            if (members[i] != (int)inst->pid)
                pids[n++] = members[i];
        if (m >= 0)
            return n;
    }
    for (int done = 0; done < n && n < max; done++) /* breadth first */
        proc_children(pids[done], pids, &n, max);
    return n;
}

/* VmRSS of pid in kB, or -1. */
static long pid_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* The database's port as functions reach it: the embedded docstore's, or the
 * first host's of an external --db URI (27017 when it names none); 0 when
 * not known (no database, or mongodb+srv, whose hosts come from DNS). */
static int db_port_of(platform_t *p)
{
    if (p->db != NULL)
        return docstore_thread_port(p->db);
    const char *u = p->mongodb_uri;
    if (u == NULL || strncmp(u, "mongodb://", 10) != 0)
        return 0;
    u += 10;
    size_t hosts = strcspn(u, "/?");
    const char *at = NULL;
    for (const char *q = u; q < u + hosts; q++)
        if (*q == '@')
            at = q;
    const char *h = at ? at + 1 : u;
    size_t len = strcspn(h, ",/?");
    const char *colon = NULL;
    for (const char *q = h; q < h + len; q++)
        if (*q == ':')
            colon = q;
    if (colon == NULL || (h[0] == '[' && memchr(colon, ']', (size_t)(h + len - colon)) != NULL))
        return 27017;
    int port = atoi(colon + 1);
    return port > 0 && port < 65536 ? port : 0;
}

/* ---- the live document ---------------------------------------------------- */

typedef struct live_owner {
    int port;                      /* the client's local port */
    const platform_function_t *fn; /* the instance holding it */
    const platform_instance_t *inst;
} live_owner_t;

static int peer_port(const char *peer)
{
    const char *c = strrchr(peer, ':');
    return c ? atoi(c + 1) : 0;
}

static int instances_json(platform_t *p, buf_t *b, int db_port, live_owner_t *owners,
                          size_t *n_owners, size_t max_owners)
{
    int rc = buf_append_str(b, ",\"instances\":[");
    int first = 1;
    static int ports[LIVE_CONN_MAX];
    for (size_t i = 0; rc == 0 && i < p->n_functions; i++) {
        const platform_function_t *fn = p->functions[i];
        const platform_instance_t *inst;
        TAILQ_FOREACH(inst, &fn->live, live_link)
        {
            if (rc != 0)
                break;
            static int pids[LIVE_PIDS_MAX];
            int n_pids = platform_livepage_instance_pids(inst, pids, LIVE_PIDS_MAX);
            int n = n_pids > 0 ? platform_livepage_db_ports(pids, n_pids, db_port, ports,
                                                            LIVE_CONN_MAX)
                               : -1;
            long rss = -1; /* every process's, summed */
            for (int k = 0; k < n_pids; k++) {
                long kb = pid_rss_kb(pids[k]);
                if (kb >= 0)
                    rss = (rss < 0 ? 0 : rss) + kb;
            }
            const platform_cgroup_t *cg = inst->cg;
            rc = buf_printf(b, "%s{\"function\":", first ? "" : ",");
            first = 0;
            if (rc == 0)
                rc = buf_append_json_cstr(b, fn->spec->name);
            if (rc == 0)
                rc = buf_printf(
                    b,
                    ",\"id\":%u,\"pid\":%d,\"rssKb\":%ld,\"peakKb\":%llu,"
                    "\"containment\":\"%s\",\"memoryLimitMb\":%llu,\"memoryLimitEnforced\":%s,"
                    "\"dbConnections\":%d,\"pids\":[",
                    inst->id, (int)inst->pid, rss, (unsigned long long)inst->peak_kb,
                    platform_containment_name(cg ? cg->kind : PLATFORM_CONTAIN_SIGNALS),
                    cg ? (unsigned long long)(cg->limit_bytes >> 20)
                       : (unsigned long long)fn->spec->memory_mb,
                    cg ? "true" : "false", n < 0 ? 0 : n);
            for (int k = 0; rc == 0 && k < n_pids; k++)
                rc = buf_printf(b, "%s%d", k ? "," : "", pids[k]);
            if (rc == 0)
                rc = buf_append_str(b, "],\"dbLocalPorts\":[");
            for (int k = 0; rc == 0 && k < n && k < LIVE_CONN_MAX; k++) {
                rc = buf_printf(b, "%s%d", k ? "," : "", ports[k]);
                if (*n_owners < max_owners)
                    owners[(*n_owners)++] = (live_owner_t){ports[k], fn, inst};
            }
            if (rc == 0)
                rc = buf_append_str(b, "]}");
        }
    }
    if (rc == 0)
        rc = buf_append_str(b, "]");
    return rc;
}

static int db_json(platform_t *p, buf_t *b, int db_port, const live_owner_t *owners,
                   size_t n_owners)
{
    const char *kind = p->db != NULL ? "embedded" : p->mongodb_uri != NULL ? "external" : "none";
    int rc = buf_printf(b, ",\"db\":{\"kind\":\"%s\",\"port\":%d", kind, db_port);
    if (rc != 0 || p->db == NULL)
        return rc == 0 ? buf_append_str(b, "}") : rc;
    static docstore_peer_t peers[LIVE_PEERS_MAX];
    size_t total = docstore_thread_peers(p->db, peers, LIVE_PEERS_MAX);
    rc = buf_printf(b, ",\"open\":%zu,\"connections\":[", total);
    for (size_t i = 0; rc == 0 && i < total && i < LIVE_PEERS_MAX; i++) {
        int port = peer_port(peers[i].peer);
        const live_owner_t *o = NULL;
        for (size_t k = 0; k < n_owners && o == NULL; k++)
            if (owners[k].port == port)
                o = &owners[k];
        rc = buf_printf(b, "%s{\"id\":%lld,\"peer\":", i ? "," : "", (long long)peers[i].id);
        if (rc == 0)
            rc = buf_append_json_cstr(b, peers[i].peer);
        if (rc == 0)
            rc = buf_printf(b, ",\"createdMs\":%lld,\"function\":", (long long)peers[i].created_ms);
        if (rc == 0)
            rc = buf_append_json_cstr(b, o ? o->fn->spec->name : NULL);
        if (rc == 0 && o != NULL)
            rc = buf_printf(b, ",\"instance\":%u,\"pid\":%d}", o->inst->id, (int)o->inst->pid);
        else if (rc == 0)
            rc = buf_append_str(b, ",\"instance\":null,\"pid\":null}");
    }
    if (rc == 0)
        rc = buf_append_str(b, "]}");
    return rc;
}

static int recent_json(buf_t *b)
{
    int rc = buf_append_str(b, ",\"recent\":[");
    for (size_t i = 0; rc == 0 && i < platform_recent_count(); i++) { /* newest first */
        const platform_recent_t *r = platform_recent_get(i);
        rc = buf_printf(b, "%s{\"id\":\"%s\",\"function\":", i ? "," : "", r->id);
        if (rc == 0)
            rc = buf_append_json_cstr(b, r->function);
        if (rc == 0)
            rc = buf_printf(b,
                            ",\"type\":\"%s\",\"error\":%s,\"durationMs\":%.2f,\"endedMs\":%llu,"
                            "\"tail\":",
                            r->event ? "Event" : "RequestResponse", r->error ? "true" : "false",
                            r->ms, (unsigned long long)r->ended_ms);
        if (rc == 0)
            rc = buf_append_json_str(b, r->tail, r->tail_len);
        if (rc == 0)
            rc = buf_append_str(b, "}");
    }
    if (rc == 0)
        rc = buf_append_str(b, "]");
    return rc;
}

int platform_livepage_json(platform_t *p, buf_t *b)
{
    int rc = buf_append_str(b, "{\"status\":");
    if (rc == 0)
        rc = platform_status_json(p, b);
    int db_port = db_port_of(p);
    static live_owner_t owners[LIVE_PEERS_MAX];
    size_t n_owners = 0;
    if (rc == 0)
        rc = instances_json(p, b, db_port, owners, &n_owners, LIVE_PEERS_MAX);
    if (rc == 0)
        rc = db_json(p, b, db_port, owners, n_owners);
    if (rc == 0)
        rc = recent_json(b);
    if (rc == 0)
        rc = buf_append_str(b, "}\n");
    return rc;
}

/* ---- the route ------------------------------------------------------------ */

static void live_send(struct evhttp_request *req, const char *type, const void *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* the page's data is the developer's: no framing by other sites, no
       sniffing of the JSON as something else */
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    struct evbuffer *out = evbuffer_new();
    if (out == NULL || evbuffer_add(out, body, len) != 0) {
        if (out != NULL)
            evbuffer_free(out);
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
        return;
    }
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

int platform_livepage_route(platform_t *p, struct evhttp_request *req, const char *path)
{
    int page = strcmp(path, "/_tether/") == 0 || strcmp(path, "/_tether") == 0;
    int json = strcmp(path, "/_tether/live.json") == 0;
    if (!page && !json)
        return 0;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        platform_reply_send_error(req, 405, "MethodNotAllowedException",
                                  "Method not allowed: use GET", NULL, NULL);
        return 1;
    }
    if (strcmp(path, "/_tether") == 0) { /* relative URLs in the page need the slash */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/_tether/");
        evhttp_send_reply(req, 301, "Moved Permanently", NULL);
        return 1;
    }
    if (page) {
        live_send(req, "text/html; charset=utf-8", livepage_html, livepage_html_len);
        return 1;
    }
    buf_t b;
    buf_init(&b, LIVE_JSON_MAX);
    if (platform_livepage_json(p, &b) != 0)
        platform_reply_send_error(req, 500, "ServiceException", "live document too large", NULL,
                                  NULL);
    else
        live_send(req, "application/json", b.data, b.len);
    buf_free(&b);
    return 1;
}
