/*
 * bench_docstore: the docstore measured through libmongoc on loopback, next to
 * the limits it cannot beat, measured in the same run:
 *
 *   workloads  insert_one, find_one by _id, find_one on a secondary index, a
 *              1,000-document cursor; ops/s, p50 and p99, with 1 and 16
 *              clients (threads, each with its own single-threaded client)
 *   idle       10,000 connections that did a hello and stay open; the
 *              docstore's RSS before and after, and per connection
 *   limits     raw SQLite (in this process, WAL) point insert and read of the
 *              same documents; a loopback TCP ping-pong of the same message
 *              sizes as find_one by _id
 *
 * and prints the targets: find_one by _id p50 <= 2 x (ping-pong p50 + SQLite
 * read p50); 10,000 idle connections in <= 200 MB RSS.
 *
 *   bench_docstore [--tether PATH | --uri URI [--pid PID]] [--seconds S] [--conns N]
 *
 * Without --uri it starts `PATH db --port 0 --dir TMP` itself (PATH from
 * --tether, $TETHER_BIN, or ../tether next to this program) and stops it.
 */
#include <bson/bson.h>
#include <mongoc/mongoc.h>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    NDOCS = 10000,      /* documents in the read collection */
    CURSOR_DOCS = 1000, /* documents the cursor workload reads */
    MAX_THREADS = 16,
};

typedef enum workload {
    WL_INSERT = 0,   /* insert_one of a new document */
    WL_FIND_ID = 1,  /* find_one {_id: random} */
    WL_FIND_IDX = 2, /* find_one {k: random}, k has an index */
    WL_CURSOR = 3,   /* find {} over 1,000 documents, read to the end */
} workload_t;

static const char *const workload_names[] = {"insert_one", "find_one by _id",
                                             "find_one by index", "cursor 1,000 docs"};

typedef struct lat {
    int64_t *ns; /* one latency per operation */
    size_t n;
    size_t cap;
} lat_t;

typedef struct stats {
    double ops_per_s;
    double server_cpu_us; /* docstore CPU time per operation; < 0 unknown */
    double p50_us;
    double p99_us;
    size_t n;
} stats_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lat_push(lat_t *l, int64_t v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->ns = realloc(l->ns, l->cap * sizeof *l->ns);
        if (!l->ns) {
            perror("realloc");
            exit(1);
        }
    }
    l->ns[l->n++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts l and fills the percentiles; ops/s is the caller's. */
static stats_t lat_stats(lat_t *l)
{
    stats_t s = {0};
    if (l->n == 0)
        return s;
    qsort(l->ns, l->n, sizeof *l->ns, cmp_i64);
    s.n = l->n;
    s.p50_us = (double)l->ns[l->n / 2] / 1000.0;
    s.p99_us = (double)l->ns[(size_t)((double)(l->n - 1) * 0.99)] / 1000.0;
    return s;
}

/* The document every workload and the SQLite limit use: about 170 bytes. */
static void make_doc(bson_t *doc, int32_t id)
{
    char name[32], email[48];
    snprintf(name, sizeof name, "user-%06d", id);
    snprintf(email, sizeof email, "user-%06d@example.com", id);
    BSON_APPEND_INT32(doc, "_id", id);
    BSON_APPEND_INT32(doc, "k", NDOCS - 1 - (id % NDOCS));
    BSON_APPEND_UTF8(doc, "name", name);
    BSON_APPEND_UTF8(doc, "email", email);
    BSON_APPEND_INT32(doc, "age", id % 90);
    BSON_APPEND_UTF8(doc, "pad", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

/* ---- the docstore process ---- */

typedef struct server {
    pid_t pid;          /* 0 when we did not start it */
    char dir[256];      /* its --dir, removed at the end */
    char log[PATH_MAX]; /* its stderr */
    int port;
} server_t;

static int server_start(const char *bin, server_t *srv)
{
    snprintf(srv->dir, sizeof srv->dir, "/tmp/bench-docstore.XXXXXX");
    if (!mkdtemp(srv->dir)) {
        perror("mkdtemp");
        return -1;
    }
    char data[PATH_MAX + 8];
    snprintf(data, sizeof data, "%s/data", srv->dir);
    mkdir(data, 0700);
    snprintf(srv->log, sizeof srv->log, "%s/docstore.log", srv->dir);
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        int fd = open(srv->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
            _exit(126);
        execl(bin, bin, "db", "--port", "0", "--dir", data, (char *)NULL);
        _exit(127);
    }
    srv->pid = pid;
    /* Wait for the "listening" line: poll the log, give up after 20 s or on exit. */
    int64_t end = now_ns() + 20 * 1000000000LL;
    while (now_ns() < end) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "bench: %s db exited before listening (status %d); log in %s\n", bin,
                    status, srv->log);
            srv->pid = 0;
            return -1;
        }
        FILE *f = fopen(srv->log, "r");
        if (f) {
            char line[512];
            while (fgets(line, sizeof line, f)) {
                const char *p = strstr(line, "docstore listening on 127.0.0.1:");
                if (p) {
                    srv->port = atoi(p + strlen("docstore listening on 127.0.0.1:"));
                    fclose(f);
                    return 0;
                }
            }
            fclose(f);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "bench: no listening line in %s after 20 s\n", srv->log);
    return -1;
}

static void server_stop(server_t *srv)
{
    if (srv->pid > 0) {
        kill(srv->pid, SIGTERM);
        int64_t end = now_ns() + 10 * 1000000000LL;
        int status;
        while (waitpid(srv->pid, &status, WNOHANG) == 0) {
            if (now_ns() > end) {
                kill(srv->pid, SIGKILL);
                waitpid(srv->pid, &status, 0);
                break;
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (srv->dir[0]) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: could not remove %s\n", srv->dir);
    }
}

/* VmRSS of pid in kB, or -1. */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* utime + stime of pid in microseconds, or -1. */
static double cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* ---- libmongoc workloads ---- */

typedef struct worker {
    const char *uri;
    workload_t wl;
    int idx;                     /* thread number */
    int64_t end_ns;              /* set by the main thread after the barrier */
    pthread_barrier_t *barrier;  /* start together */
    lat_t lat;                   /* OUT */
    int errors;                  /* OUT */
    uint32_t seed;
} worker_t;

static volatile int64_t g_end_ns;
static volatile int32_t g_insert_base;

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static bool one_op(mongoc_collection_t *c, workload_t wl, worker_t *w, int32_t i)
{
    bson_error_t err;
    if (wl == WL_INSERT) {
        bson_t doc = BSON_INITIALIZER;
        make_doc(&doc, g_insert_base + w->idx * 10000000 + i);
        bool ok = mongoc_collection_insert_one(c, &doc, NULL, NULL, &err);
        bson_destroy(&doc);
        return ok;
    }
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    int expect = 1;
    if (wl == WL_FIND_ID || wl == WL_FIND_IDX) {
        BSON_APPEND_INT32(&filter, wl == WL_FIND_ID ? "_id" : "k", (int32_t)(rnd(&w->seed) % NDOCS));
        BSON_APPEND_INT64(&opts, "limit", 1);
        BSON_APPEND_BOOL(&opts, "singleBatch", true);
    } else {
        expect = CURSOR_DOCS;
    }
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &filter, &opts, NULL);
    const bson_t *d;
    int n = 0;
    while (mongoc_cursor_next(cur, &d))
        n++;
    bool ok = !mongoc_cursor_error(cur, &err) && n == expect;
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    bson_destroy(&opts);
    return ok;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    mongoc_client_t *cl = mongoc_client_new(w->uri);
    mongoc_client_set_error_api(cl, MONGOC_ERROR_API_VERSION_2);
    const char *cname = w->wl == WL_INSERT ? "ins" : w->wl == WL_CURSOR ? "c1000" : "docs";
    mongoc_collection_t *c = mongoc_client_get_collection(cl, "bench", cname);
    /* Warm up: connects, handshakes and reads once before the clock starts. */
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    mongoc_client_command_simple(cl, "admin", ping, NULL, NULL, NULL);
    bson_destroy(ping);
    int32_t i = 0;
    if (w->wl != WL_INSERT)
        one_op(c, w->wl, w, i++);
    pthread_barrier_wait(w->barrier);
    pthread_barrier_wait(w->barrier); /* the main thread set g_end_ns in between */
    while (now_ns() < g_end_ns) {
        int64_t t0 = now_ns();
        if (!one_op(c, w->wl, w, i++)) {
            w->errors++;
            continue;
        }
        lat_push(&w->lat, now_ns() - t0);
    }
    mongoc_collection_destroy(c);
    mongoc_client_destroy(cl);
    return NULL;
}

static stats_t run_workload(const char *uri, pid_t pid, workload_t wl, int nthreads, double secs,
                            int *errors)
{
    pthread_t th[MAX_THREADS];
    worker_t w[MAX_THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker_t){.uri = uri, .wl = wl, .idx = i, .barrier = &barrier,
                          .seed = 2463534242u + (uint32_t)i * 7919u};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    pthread_barrier_wait(&barrier);
    double cpu0 = pid > 0 ? cpu_us(pid) : -1;
    int64_t t0 = now_ns();
    g_end_ns = t0 + (int64_t)(secs * 1e9);
    pthread_barrier_wait(&barrier);
    lat_t all = {0};
    *errors = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        for (size_t j = 0; j < w[i].lat.n; j++)
            lat_push(&all, w[i].lat.ns[j]);
        free(w[i].lat.ns);
        *errors += w[i].errors;
    }
    double wall = (double)(now_ns() - t0) / 1e9;
    double cpu1 = pid > 0 ? cpu_us(pid) : -1;
    pthread_barrier_destroy(&barrier);
    stats_t s = lat_stats(&all);
    s.ops_per_s = (double)all.n / wall;
    s.server_cpu_us = cpu0 >= 0 && cpu1 >= 0 && all.n ? (cpu1 - cpu0) / (double)all.n : -1;
    free(all.ns);
    g_insert_base += 100000000;
    return s;
}

static int preload(const char *uri)
{
    mongoc_client_t *cl = mongoc_client_new(uri);
    mongoc_client_set_error_api(cl, MONGOC_ERROR_API_VERSION_2);
    mongoc_database_t *db = mongoc_client_get_database(cl, "bench");
    bson_error_t err;
    int rc = -1;
    mongoc_database_drop_with_opts(db, NULL, NULL);
    const char *colls[] = {"docs", "c1000"};
    const int counts[] = {NDOCS, CURSOR_DOCS};
    for (int k = 0; k < 2; k++) {
        mongoc_collection_t *c = mongoc_client_get_collection(cl, "bench", colls[k]);
        mongoc_bulk_operation_t *b = mongoc_collection_create_bulk_operation_with_opts(c, NULL);
        for (int i = 0; i < counts[k]; i++) {
            bson_t doc = BSON_INITIALIZER;
            make_doc(&doc, i);
            mongoc_bulk_operation_insert(b, &doc);
            bson_destroy(&doc);
        }
        bool ok = mongoc_bulk_operation_execute(b, NULL, &err) != 0;
        mongoc_bulk_operation_destroy(b);
        mongoc_collection_destroy(c);
        if (!ok) {
            fprintf(stderr, "bench: preload %s: %s\n", colls[k], err.message);
            goto out;
        }
    }
    bson_t *cmd = BCON_NEW("createIndexes", "docs", "indexes", "[", "{", "key", "{", "k",
                           BCON_INT32(1), "}", "name", "k_1", "}", "]");
    bool ok = mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &err);
    bson_destroy(cmd);
    if (!ok) {
        fprintf(stderr, "bench: createIndexes: %s\n", err.message);
        goto out;
    }
    rc = 0;
out:
    mongoc_database_destroy(db);
    mongoc_client_destroy(cl);
    return rc;
}

/* ---- limits: raw SQLite ---- */

static int sqlite_limits(const char *dir, const char *sync, stats_t *ins, stats_t *rd)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/raw.sqlite", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *put = NULL, *get = NULL;
    int rc = -1;
    char pragma[128];
    snprintf(pragma, sizeof pragma, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", sync);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE TABLE docs (id BLOB PRIMARY KEY, doc BLOB NOT NULL) WITHOUT ROWID",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO docs (id, doc) VALUES (?, ?)", -1, &put, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT doc FROM docs WHERE id = ?", -1, &get, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: sqlite: %s\n", db ? sqlite3_errmsg(db) : "open");
        goto out;
    }
    lat_t li = {0}, lr = {0};
    int64_t t0 = now_ns();
    for (int i = 0; i < NDOCS; i++) {
        bson_t doc = BSON_INITIALIZER;
        make_doc(&doc, i);
        uint8_t key[8];
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((uint64_t)i >> (56 - 8 * b));
        int64_t s = now_ns();
        sqlite3_bind_blob(put, 1, key, 8, SQLITE_STATIC);
        sqlite3_bind_blob(put, 2, bson_get_data(&doc), (int)doc.len, SQLITE_STATIC);
        int st = sqlite3_step(put);
        sqlite3_reset(put);
        lat_push(&li, now_ns() - s);
        bson_destroy(&doc);
        if (st != SQLITE_DONE) {
            fprintf(stderr, "bench: sqlite insert: %s\n", sqlite3_errmsg(db));
            goto out;
        }
    }
    double wi = (double)(now_ns() - t0) / 1e9;
    uint32_t seed = 88172645u;
    t0 = now_ns();
    for (int i = 0; i < 100000; i++) {
        uint32_t id = rnd(&seed) % NDOCS;
        uint8_t key[8];
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((uint64_t)id >> (56 - 8 * b));
        int64_t s = now_ns();
        sqlite3_bind_blob(get, 1, key, 8, SQLITE_STATIC);
        bool found = false;
        if (sqlite3_step(get) == SQLITE_ROW) {
            bson_t doc;
            found = bson_init_static(&doc, sqlite3_column_blob(get, 0),
                                     (size_t)sqlite3_column_bytes(get, 0)) &&
                    bson_has_field(&doc, "email");
        }
        sqlite3_reset(get);
        lat_push(&lr, now_ns() - s);
        if (!found) {
            fprintf(stderr, "bench: sqlite read of %u found nothing\n", id);
            goto out;
        }
    }
    double wr = (double)(now_ns() - t0) / 1e9;
    *ins = lat_stats(&li);
    ins->server_cpu_us = -1;
    ins->ops_per_s = (double)li.n / wi;
    *rd = lat_stats(&lr);
    rd->server_cpu_us = -1;
    rd->ops_per_s = (double)lr.n / wr;
    free(li.ns);
    free(lr.ns);
    rc = 0;
out:
    sqlite3_finalize(put);
    sqlite3_finalize(get);
    sqlite3_close(db);
    return rc;
}

/* ---- limits: loopback TCP ping-pong ---- */

typedef struct echo {
    int listen_fd;
    size_t req, rep; /* bytes read, bytes answered, per round */
    int rounds;
} echo_t;

static bool read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = write(fd, (const char *)buf + put, n - put);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        put += (size_t)r;
    }
    return true;
}

static void *echo_main(void *arg)
{
    echo_t *e = arg;
    int fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[4096], rep[4096];
    memset(rep, 'r', sizeof rep);
    for (int i = 0; i < e->rounds; i++)
        if (!read_full(fd, req, e->req) || !write_full(fd, rep, e->rep))
            break;
    close(fd);
    return NULL;
}

static int pingpong(size_t req, size_t rep, stats_t *out)
{
    int rounds = 50000;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&a, sizeof a) == -1 || listen(lfd, 1) == -1 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) == -1) {
        perror("bench: ping-pong listener");
        return -1;
    }
    echo_t e = {.listen_fd = lfd, .req = req, .rep = rep, .rounds = rounds};
    pthread_t th;
    pthread_create(&th, NULL, echo_main, &e);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == -1) {
        perror("bench: ping-pong connect");
        return -1;
    }
    char q[4096], r[4096];
    memset(q, 'q', sizeof q);
    lat_t l = {0};
    int64_t t0 = now_ns();
    for (int i = 0; i < rounds; i++) {
        int64_t s = now_ns();
        if (!write_full(fd, q, req) || !read_full(fd, r, rep))
            break;
        lat_push(&l, now_ns() - s);
    }
    double wall = (double)(now_ns() - t0) / 1e9;
    close(fd);
    pthread_join(th, NULL);
    close(lfd);
    *out = lat_stats(&l);
    out->server_cpu_us = -1;
    out->ops_per_s = (double)l.n / wall;
    free(l.ns);
    return l.n == (size_t)rounds ? 0 : -1;
}

/* The OP_MSG sizes of find_one by _id as libmongoc sends it (find, filter,
 * limit, singleBatch, $db, lsid) and of the docstore's reply. */
static void find_one_sizes(size_t *req, size_t *rep)
{
    uint8_t uuid[16] = {0};
    bson_t cmd = BSON_INITIALIZER, f, lsid;
    BSON_APPEND_UTF8(&cmd, "find", "docs");
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &f);
    BSON_APPEND_INT32(&f, "_id", 1234);
    bson_append_document_end(&cmd, &f);
    BSON_APPEND_INT64(&cmd, "limit", 1);
    BSON_APPEND_BOOL(&cmd, "singleBatch", true);
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "lsid", &lsid);
    BSON_APPEND_BINARY(&lsid, "id", BSON_SUBTYPE_UUID, uuid, 16);
    bson_append_document_end(&cmd, &lsid);
    BSON_APPEND_UTF8(&cmd, "$db", "bench");
    *req = 16 + 4 + 1 + cmd.len;
    bson_destroy(&cmd);
    bson_t reply = BSON_INITIALIZER, cur, batch, doc = BSON_INITIALIZER;
    make_doc(&doc, 1234);
    BSON_APPEND_DOCUMENT_BEGIN(&reply, "cursor", &cur);
    BSON_APPEND_ARRAY_BEGIN(&cur, "firstBatch", &batch);
    BSON_APPEND_DOCUMENT(&batch, "0", &doc);
    bson_append_array_end(&cur, &batch);
    BSON_APPEND_INT64(&cur, "id", 0);
    BSON_APPEND_UTF8(&cur, "ns", "bench.docs");
    bson_append_document_end(&reply, &cur);
    BSON_APPEND_DOUBLE(&reply, "ok", 1.0);
    *rep = 16 + 4 + 1 + reply.len;
    bson_destroy(&doc);
    bson_destroy(&reply);
}

/* ---- idle connections ---- */

/* An OP_MSG hello on admin; returns its length. */
static size_t hello_msg(uint8_t *buf, size_t cap, int32_t request_id)
{
    bson_t b = BSON_INITIALIZER;
    BSON_APPEND_INT32(&b, "hello", 1);
    BSON_APPEND_UTF8(&b, "$db", "admin");
    size_t len = 16 + 4 + 1 + b.len;
    if (len > cap) {
        bson_destroy(&b);
        return 0;
    }
    int32_t hdr[4] = {(int32_t)len, request_id, 0, 2013};
    memcpy(buf, hdr, 16); /* little-endian host */
    memset(buf + 16, 0, 4);
    buf[20] = 0;
    memcpy(buf + 21, bson_get_data(&b), b.len);
    bson_destroy(&b);
    return len;
}

/* serverStatus.connections.current as the server counts it, or -1. */
static long server_connections(const char *uri)
{
    mongoc_client_t *cl = mongoc_client_new(uri);
    bson_t *cmd = BCON_NEW("serverStatus", BCON_INT32(1));
    bson_t reply;
    long n = -1;
    if (cl && mongoc_client_command_simple(cl, "admin", cmd, NULL, &reply, NULL)) {
        bson_iter_t it;
        if (bson_iter_init(&it, &reply) &&
            bson_iter_find_descendant(&it, "connections.current", &it) && BSON_ITER_HOLDS_NUMBER(&it))
            n = (long)bson_iter_as_int64(&it);
    }
    bson_destroy(&reply);
    bson_destroy(cmd);
    mongoc_client_destroy(cl);
    return n;
}

static int idle_connections(const char *uri, int port, int nconns, pid_t pid, int *opened,
                            long *before_kb, long *after_kb, long *counted)
{
    int *fds = calloc((size_t)nconns, sizeof *fds);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t msg[128], reply[65536];
    *before_kb = pid > 0 ? rss_kb(pid) : -1;
    *opened = 0;
    int rc = 0;
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1) {
            fprintf(stderr, "bench: socket %d: %s\n", i, strerror(errno));
            rc = -1;
            break;
        }
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        size_t len = hello_msg(msg, sizeof msg, i + 1);
        int32_t rlen = 0;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == -1 || !write_full(fd, msg, len) ||
            !read_full(fd, &rlen, 4) || rlen < 16 || (size_t)rlen > sizeof reply ||
            !read_full(fd, reply, (size_t)rlen - 4)) {
            fprintf(stderr, "bench: connection %d: hello failed (%s)\n", i, strerror(errno));
            close(fd);
            rc = -1;
            break;
        }
        fds[(*opened)++] = fd;
    }
    *after_kb = pid > 0 ? rss_kb(pid) : -1;
    *counted = *opened ? server_connections(uri) : -1;
    for (int i = 0; i < *opened; i++)
        close(fds[i]);
    free(fds);
    return rc;
}

/* ---- main ---- */

static void print_row(const char *name, int clients, const stats_t *s, int errors)
{
    printf("  %-22s %7d %12.0f %10.1f %10.1f", name, clients, s->ops_per_s, s->p50_us, s->p99_us);
    if (s->server_cpu_us >= 0)
        printf(" %12.1f", s->server_cpu_us);
    if (errors)
        printf("   (%d errors)", errors);
    printf("\n");
}

static const char *default_tether(char *buf, size_t cap)
{
    const char *env = getenv("TETHER_BIN");
    if (env && *env)
        return env;
    ssize_t n = readlink("/proc/self/exe", buf, cap - 16);
    if (n > 0) {
        buf[n] = '\0';
        char *slash = strrchr(buf, '/');
        if (slash) {
            strcpy(slash, "/../tether");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "build/tether";
}

int main(int argc, char **argv)
{
    char exe[PATH_MAX];
    const char *tether = NULL, *uri_arg = NULL, *sync = "NORMAL";
    double secs = 2.0;
    int nconns = 10000;
    pid_t ext_pid = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tether") == 0 && i + 1 < argc)
            tether = argv[++i];
        else if (strcmp(argv[i], "--uri") == 0 && i + 1 < argc)
            uri_arg = argv[++i];
        else if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc)
            ext_pid = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            secs = atof(argv[++i]);
        else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
            nconns = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sqlite-sync") == 0 && i + 1 < argc)
            sync = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--tether PATH | --uri URI [--pid PID]] [--seconds S] [--conns N]"
                    " [--sqlite-sync NORMAL|FULL]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!tether)
        tether = default_tether(exe, sizeof exe);

    /* Room for the idle connections here and in the server we start. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if ((long)rl.rlim_cur < nconns + 200) {
            fprintf(stderr, "bench: RLIMIT_NOFILE %ld is too low for %d connections; using %ld\n",
                    (long)rl.rlim_cur, nconns, (long)rl.rlim_cur - 200);
            nconns = (int)rl.rlim_cur - 200;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    server_t srv = {0};
    char uri[512];
    pid_t pid = ext_pid;
    if (uri_arg) {
        snprintf(uri, sizeof uri, "%s", uri_arg);
    } else {
        if (server_start(tether, &srv) != 0) {
            server_stop(&srv);
            return 1;
        }
        pid = srv.pid;
        snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/?directConnection=true", srv.port);
    }
    mongoc_init();
    mongoc_log_set_handler(NULL, NULL);
    int status = 0;
    int64_t t_start = now_ns();

    double load[1] = {-1};
    getloadavg(load, 1);
    printf("docstore benchmark: %s, libmongoc %s, SQLite %s, %ld CPUs, load average %.1f\n",
           uri_arg ? uri_arg : tether, mongoc_get_version(), sqlite3_libversion(),
           sysconf(_SC_NPROCESSORS_ONLN), load[0]);
    if (preload(uri) != 0) {
        status = 1;
        goto out;
    }
    printf("  %d documents (~170 bytes) in bench.docs with an index on k; %d in bench.c1000;"
           " %.1f s per row\n\n", NDOCS, CURSOR_DOCS, secs);
    printf("  %-22s %7s %12s %10s %10s %12s\n", "workload", "clients", "ops/s", "p50 us", "p99 us",
           "server CPU us/op");
    stats_t find_id1 = {0};
    const int clients[] = {1, 16};
    for (int wl = WL_INSERT; wl <= WL_CURSOR; wl++) {
        for (int k = 0; k < 2; k++) {
            int errors = 0;
            stats_t s = run_workload(uri, pid, (workload_t)wl, clients[k], secs, &errors);
            print_row(workload_names[wl], clients[k], &s, errors);
            if (wl == WL_FIND_ID && k == 0)
                find_id1 = s;
            if (errors || s.n == 0)
                status = 1;
        }
    }
    fflush(stdout);

    stats_t sq_ins, sq_rd, pp;
    size_t req, rep;
    find_one_sizes(&req, &rep);
    char tmpdir[] = "/tmp/bench-sqlite.XXXXXX";
    printf("\n  limits (same documents, same message sizes):\n");
    if (!mkdtemp(tmpdir) || sqlite_limits(tmpdir, sync, &sq_ins, &sq_rd) != 0) {
        status = 1;
        goto out;
    }
    char rmcmd[64];
    snprintf(rmcmd, sizeof rmcmd, "rm -rf '%s'", tmpdir);
    if (system(rmcmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", tmpdir);
    char label[64];
    snprintf(label, sizeof label, "SQLite insert (%s)", sync);
    print_row(label, 1, &sq_ins, 0);
    print_row("SQLite point read", 1, &sq_rd, 0);
    if (pingpong(req, rep, &pp) != 0) {
        status = 1;
        goto out;
    }
    snprintf(label, sizeof label, "TCP ping-pong %zu/%zu B", req, rep);
    print_row(label, 1, &pp, 0);
    fflush(stdout);

    int opened = 0;
    long before = -1, after = -1, counted = -1;
    int64_t tc = now_ns();
    int irc = idle_connections(uri, srv.port ? srv.port : 0, uri_arg ? 0 : nconns, pid, &opened,
                               &before, &after, &counted);
    double conn_s = (double)(now_ns() - tc) / 1e9;

    double bound = 2.0 * (pp.p50_us + sq_rd.p50_us);
    double bound99 = 2.0 * (pp.p99_us + sq_rd.p99_us);
    printf("\n  targets:\n");
    printf("  find_one by _id (1 client) p50 %.1f us <= 2 x (ping-pong %.1f + SQLite read %.1f)"
           " = %.1f us: %s\n",
           find_id1.p50_us, pp.p50_us, sq_rd.p50_us, bound,
           find_id1.p50_us <= bound ? "MET" : "MISSED");
    printf("  (same at p99: %.1f us vs %.1f us: %s)\n", find_id1.p99_us, bound99,
           find_id1.p99_us <= bound99 ? "met" : "missed");
    if (uri_arg) {
        printf("  idle connections: skipped with --uri\n");
    } else if (irc != 0 || before < 0 || after < 0) {
        printf("  idle connections: only %d of %d opened (hello answered) in %.1f s: MISSED\n",
               opened, nconns, conn_s);
        status = 1;
    } else {
        double per_kb = opened ? (double)(after - before) / opened : 0;
        printf("  %d idle connections (each did a hello; serverStatus counts %ld), opened in %.1f s:"
               " docstore RSS %.1f MB -> %.1f MB, %.1f kB per connection; total <= 200 MB: %s\n",
               opened, counted, conn_s, before / 1024.0, after / 1024.0, per_kb,
               after <= 200 * 1024 ? "MET" : "MISSED");
    }
    printf("  whole run: %.1f s\n", (double)(now_ns() - t_start) / 1e9);
out:
    mongoc_cleanup();
    server_stop(&srv);
    return status;
}
