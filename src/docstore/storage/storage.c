/*
 * Storage, part 1: databases (one SQLite connection each, a file
 * <dir>/<db>.sqlite or an in-memory database), the catalog of collections and
 * indexes, prepared statements, transactions, and collection DDL.
 * Index specs are parsed here too, since the catalog loads them.
 * storage_docs.c writes documents; storage_index.c creates indexes and plans
 * scans; storage_rename.c renames collections (copying across databases).
 * Nothing here calls into those files, so they all depend on this one. See storage.h for the
 * contract and storage_internal.h for the schema.
 *
 * Durability: WAL with synchronous=NORMAL. A COMMIT returns once its frames
 * are written to the WAL file (in the OS page cache), so an acknowledged write
 * survives the process being killed (SIGKILL, crash); the WAL is fsynced at
 * checkpoints, so an OS crash or power loss may lose the last commits but
 * never corrupts the database. FULL would fsync every commit (~ms each).
 */
#include "docstore/storage/storage_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_STMT_CACHE_MAX 256

/* ---- names ---- */

int st_check_db_name(const char *db, docstore_error_t *err)
{
    size_t n = db ? strlen(db) : 0;
    if (n == 0) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "Invalid database name: ''");
        return -1;
    }
    if (n >= 64) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "db name is too long");
        return -1;
    }
    if (strpbrk(db, "/\\. \"$*<>:|?") != NULL) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "Invalid database name: '%s'", db);
        return -1;
    }
    return 0;
}

int st_check_coll_name(const char *db, const char *coll, docstore_error_t *err)
{
    size_t n = coll ? strlen(coll) : 0;
    if (n == 0) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "Invalid namespace specified '%s.'",
                           db);
        return -1;
    }
    if (coll[0] == '.' || strchr(coll, '$') != NULL || strncmp(coll, "system.", 7) == 0) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "Invalid collection name: %s", coll);
        return -1;
    }
    if (strlen(db) + 1 + n > 255) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE,
                           "Fully qualified namespace is too long. Namespace: %s.%s", db, coll);
        return -1;
    }
    return 0;
}

/* ---- SQLite helpers ---- */

int st_sql_error(st_db_t *d, const char *what, docstore_error_t *err)
{
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: %s: %s", what,
                       d && d->sql ? sqlite3_errmsg(d->sql) : "no database");
    return -1;
}

int st_exec(st_db_t *d, const char *sql, docstore_error_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(d->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* A one-statement command (BEGIN, SAVEPOINT, COMMIT...) through the cache. */
static int exec_cached(st_db_t *d, const char *sql, docstore_error_t *err)
{
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    int r = sqlite3_step(s);
    st_stmt_done(d, s);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return st_sql_error(d, sql, err);
    return 0;
}

int st_stmt(st_db_t *d, const char *sql, sqlite3_stmt **out, docstore_error_t *err)
{
    for (size_t i = 0; i < d->nstmts; i++) {
        if (strcmp(d->stmts[i].sql, sql) == 0) {
            if (sqlite3_stmt_busy(d->stmts[i].stmt))
                break; /* in use by an outer loop: hand out a private one */
            *out = d->stmts[i].stmt;
            return 0;
        }
    }
    if (sqlite3_prepare_v2(d->sql, sql, -1, out, NULL) != SQLITE_OK) {
        *out = NULL;
        return st_sql_error(d, "prepare", err);
    }
    if (d->nstmts >= ST_STMT_CACHE_MAX)
        return 0; /* uncached: finalized by st_stmt_done */
    for (size_t i = 0; i < d->nstmts; i++) {
        if (strcmp(d->stmts[i].sql, sql) == 0)
            return 0; /* a busy duplicate: stays private */
    }
    if (d->nstmts % 16 == 0) {
        st_stmt_t *p = realloc(d->stmts, (d->nstmts + 16) * sizeof *p);
        if (p == NULL)
            return 0;
        d->stmts = p;
    }
    char *copy = strdup(sql);
    if (copy == NULL)
        return 0;
    d->stmts[d->nstmts].sql = copy;
    d->stmts[d->nstmts].stmt = *out;
    d->nstmts++;
    return 0;
}

void st_stmt_done(st_db_t *d, sqlite3_stmt *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < d->nstmts; i++) {
        if (d->stmts[i].stmt == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return;
        }
    }
    sqlite3_finalize(s);
}

void st_stmt_clear(st_db_t *d)
{
    for (size_t i = 0; i < d->nstmts; i++) {
        sqlite3_finalize(d->stmts[i].stmt);
        free(d->stmts[i].sql);
    }
    free(d->stmts);
    d->stmts = NULL;
    d->nstmts = 0;
}

/* ---- catalog ---- */

void st_index_free(st_index_t *ix)
{
    st_index_opts_free(ix);
    free(ix->name);
    if (ix->spec)
        bson_destroy(ix->spec);
    if (ix->key)
        bson_destroy(ix->key);
    for (size_t i = 0; i < ix->nfields; i++)
        free(ix->fields[i]);
    free(ix->fields);
    free(ix->desc);
    memset(ix, 0, sizeof *ix);
}

static void coll_free(st_coll_t *c)
{
    free(c->name);
    for (size_t i = 0; i < c->nindexes; i++)
        st_index_free(&c->indexes[i]);
    free(c->indexes);
    if (c->options != NULL)
        bson_destroy(c->options);
    memset(c, 0, sizeof *c);
}

static void meta_free(st_db_t *d)
{
    for (size_t i = 0; i < d->ncolls; i++)
        coll_free(&d->colls[i]);
    free(d->colls);
    d->colls = NULL;
    d->ncolls = 0;
}

st_coll_t *st_coll_find(st_db_t *d, const char *coll)
{
    for (size_t i = 0; i < d->ncolls; i++) {
        if (strcmp(d->colls[i].name, coll) == 0)
            return &d->colls[i];
    }
    return NULL;
}

/* Reads a catalog row's options: capped collections keep their limits. */
static int coll_options_load(st_coll_t *c, const void *data, int len)
{
    if (data == NULL || len <= 5)
        return 0;
    c->options = bson_new_from_data(data, (size_t)len);
    if (c->options == NULL)
        return 0; /* unreadable options: as none */
    bson_iter_t it;
    c->capped = bson_iter_init_find(&it, c->options, "capped") && bson_iter_as_bool(&it);
    if (c->capped && bson_iter_init_find(&it, c->options, "size"))
        c->cap_size = bson_iter_as_int64(&it);
    if (c->capped && bson_iter_init_find(&it, c->options, "max"))
        c->cap_max = bson_iter_as_int64(&it);
    return 0;
}

int st_meta_load(st_db_t *d, docstore_error_t *err)
{
    meta_free(d);
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (st_stmt(d, "SELECT name, id, uuid, options FROM _catalog ORDER BY name", &s, err))
        return -1;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        st_coll_t *p = realloc(d->colls, (d->ncolls + 1) * sizeof *p);
        if (p == NULL)
            goto nomem;
        d->colls = p;
        st_coll_t *c = &d->colls[d->ncolls];
        memset(c, 0, sizeof *c);
        c->name = strdup((const char *)sqlite3_column_text(s, 0));
        if (c->name == NULL)
            goto nomem;
        d->ncolls++;
        c->id = sqlite3_column_int64(s, 1);
        if (sqlite3_column_bytes(s, 2) == 16)
            memcpy(c->uuid, sqlite3_column_blob(s, 2), 16);
        if (coll_options_load(c, sqlite3_column_blob(s, 3), sqlite3_column_bytes(s, 3)) != 0)
            goto nomem;
    }
    if (r != SQLITE_DONE) {
        st_sql_error(d, "catalog", err);
        goto out;
    }
    st_stmt_done(d, s);
    s = NULL;
    if (st_stmt(d,
                "SELECT coll, i.id, spec, m.id IS NOT NULL FROM _indexes i"
                " LEFT JOIN _multikey m ON m.id = i.id ORDER BY coll, i.id",
                &s, err))
        goto out;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        st_coll_t *c = st_coll_find(d, (const char *)sqlite3_column_text(s, 0));
        if (c == NULL)
            continue;
        bson_t spec;
        if (!bson_init_static(&spec, sqlite3_column_blob(s, 2),
                              (size_t)sqlite3_column_bytes(s, 2))) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: corrupt index spec");
            goto out;
        }
        st_index_t *p = realloc(c->indexes, (c->nindexes + 1) * sizeof *p);
        if (p == NULL)
            goto nomem;
        c->indexes = p;
        st_index_t *ix = &c->indexes[c->nindexes];
        if (st_index_parse(&spec, ix, err))
            goto out;
        ix->id = sqlite3_column_int64(s, 1);
        ix->multikey = sqlite3_column_int(s, 3) != 0;
        c->nindexes++;
    }
    if (r != SQLITE_DONE) {
        st_sql_error(d, "catalog", err);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
out:
    st_stmt_done(d, s);
    return rc;
}

int st_next_id(st_db_t *d, int64_t *out, docstore_error_t *err)
{
    sqlite3_stmt *s;
    if (st_stmt(d,
                "SELECT max(coalesce((SELECT max(id) FROM _catalog), 0),"
                " coalesce((SELECT max(id) FROM _indexes), 0)) + 1",
                &s, err))
        return -1;
    int rc = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        rc = st_sql_error(d, "next id", err);
    st_stmt_done(d, s);
    return rc;
}

/* ---- databases ---- */

static void db_close(st_db_t *d)
{
    st_stmt_clear(d);
    meta_free(d);
    if (d->sql)
        sqlite3_close_v2(d->sql);
    free(d->name);
    free(d);
}

static char *db_path(const docstore_storage_t *st, const char *db, const char *suffix)
{
    size_t n = strlen(st->dir) + strlen(db) + strlen(suffix) + 16;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s.sqlite%s", st->dir, db, suffix);
    return p;
}

static int db_open(docstore_storage_t *st, const char *name, st_db_t **out, docstore_error_t *err)
{
    st_db_t *d = calloc(1, sizeof *d);
    char *path = NULL;
    if (d == NULL || (d->name = strdup(name)) == NULL)
        goto nomem;
    int rc;
    if (st->dir) {
        if ((path = db_path(st, name, "")) == NULL)
            goto nomem;
        rc = sqlite3_open_v2(path, &d->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    } else {
        rc = sqlite3_open_v2(":memory:", &d->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    }
    free(path);
    path = NULL;
    if (rc != SQLITE_OK) {
        st_sql_error(d, "open", err);
        goto fail;
    }
    sqlite3_busy_timeout(d->sql, 5000);
    if (st_exec(d,
                "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16000;"
                "CREATE TABLE IF NOT EXISTS _catalog(name TEXT PRIMARY KEY, id INTEGER NOT NULL,"
                " uuid BLOB, options BLOB);"
                "CREATE TABLE IF NOT EXISTS _indexes(coll TEXT NOT NULL, name TEXT NOT NULL,"
                " id INTEGER NOT NULL, spec BLOB NOT NULL, PRIMARY KEY(coll, name));"
                "CREATE TABLE IF NOT EXISTS _multikey(id INTEGER PRIMARY KEY);",
                err))
        goto fail;
    if (st_meta_load(d, err))
        goto fail;
    d->next = st->dbs;
    st->dbs = d;
    *out = d;
    return 0;
nomem:
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
fail:
    free(path);
    if (d)
        db_close(d);
    return -1;
}

int st_db_get(docstore_storage_t *st, const char *db, bool create, st_db_t **out,
              docstore_error_t *err)
{
    *out = NULL;
    if (st_check_db_name(db, err))
        return -1;
    for (st_db_t *d = st->dbs; d; d = d->next) {
        if (strcmp(d->name, db) == 0) {
            *out = d;
            return 0;
        }
    }
    if (!create) {
        if (st->dir == NULL)
            return 0;
        char *path = db_path(st, db, "");
        if (path == NULL) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            return -1;
        }
        struct stat sb;
        int exists = stat(path, &sb) == 0;
        free(path);
        if (!exists)
            return 0;
    }
    return db_open(st, db, out, err);
}

/* One server per directory: an exclusive flock on DOCSTORE_DIR_LOCK in dir,
 * held (through st->lock_fd) until docstore_storage_close or exit, and the
 * owner's pid written into it so a second server can name it. Two servers
 * on one dir would otherwise stall on each other's SQLite locks and take over
 * the databases the first has not opened yet. 0 or -1 with err set. */
static int dir_lock(docstore_storage_t *st, docstore_error_t *err)
{
    size_t n = strlen(st->dir) + sizeof DOCSTORE_DIR_LOCK + 2;
    char *path = malloc(n);
    if (path == NULL) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    snprintf(path, n, "%s/%s", st->dir, DOCSTORE_DIR_LOCK);
    int fd, rc = -1;
    do
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    while (fd == -1 && errno == EINTR);
    if (fd == -1) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: cannot open %s: %s", path,
                           strerror(errno));
        goto out;
    }
    int r;
    do
        r = flock(fd, LOCK_EX | LOCK_NB);
    while (r == -1 && errno == EINTR);
    if (r == -1) {
        int e = errno;
        char pid[24] = "";
        ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
        long owner = got > 0 ? strtol(pid, NULL, 10) : 0;
        if (e == EWOULDBLOCK && owner > 0)
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR,
                               "%s is in use by another tether db (pid %ld): one server per "
                               "directory",
                               st->dir, owner);
        else if (e == EWOULDBLOCK)
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR,
                               "%s is in use by another tether db (pid unknown): one server per "
                               "directory",
                               st->dir);
        else
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: cannot lock %s: %s", path,
                               strerror(e));
        close(fd);
        goto out;
    }
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* The pid is only a hint for a second server's message: the flock is the
     * lock, so a failed write changes nothing else. */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len)
        (void)ftruncate(fd, 0);
    st->lock_fd = fd;
    rc = 0;
out:
    free(path);
    return rc;
}

int docstore_storage_open(const char *dir, docstore_storage_t **out, docstore_error_t *err)
{
    *out = NULL;
    docstore_storage_t *st = calloc(1, sizeof *st);
    if (st == NULL) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    st->lock_fd = -1;
    if (dir) {
        if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: cannot create %s: %s", dir,
                               strerror(errno));
            free(st);
            return -1;
        }
        st->dir = strdup(dir);
        if (st->dir == NULL) {
            free(st);
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            return -1;
        }
        if (dir_lock(st, err) != 0) {
            free(st->dir);
            free(st);
            return -1;
        }
    }
    *out = st;
    return 0;
}

static void db_unlink_files(docstore_storage_t *st, const char *db)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *p = db_path(st, db, suffixes[i]);
        if (p)
            unlink(p);
        free(p);
    }
}

void docstore_storage_close(docstore_storage_t *st)
{
    if (st == NULL)
        return;
    while (st->dbs) {
        st_db_t *d = st->dbs;
        st->dbs = d->next;
        bool empty = d->ncolls == 0;
        char *name = strdup(d->name);
        db_close(d);
        /* A database exists while it has a collection: drop leftovers. */
        if (empty && st->dir && name)
            db_unlink_files(st, name);
        free(name);
    }
    if (st->lock_fd != -1)
        close(st->lock_fd); /* releases the directory */
    free(st->dir);
    free(st);
}

int64_t docstore_storage_docs_examined(const docstore_storage_t *st)
{
    return st->docs_examined;
}

static int64_t db_size(st_db_t *d)
{
    sqlite3_stmt *s;
    int64_t n = 0;
    if (sqlite3_prepare_v2(d->sql,
                           "SELECT page_count * page_size FROM pragma_page_count(), "
                           "pragma_page_size()",
                           -1, &s, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

int docstore_storage_list_databases(docstore_storage_t *st, docstore_doclist_t *out,
                                    docstore_error_t *err)
{
    if (st->dir) {
        /* Open every database file so the listing sees their catalogs. */
        DIR *dh = opendir(st->dir);
        if (dh == NULL) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: cannot read %s: %s", st->dir,
                               strerror(errno));
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(dh)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n <= 7 || strcmp(e->d_name + n - 7, ".sqlite") != 0 || n - 7 >= 64)
                continue;
            char name[64];
            memcpy(name, e->d_name, n - 7);
            name[n - 7] = '\0';
            st_db_t *d;
            docstore_error_t ignored = {0};
            if (st_db_get(st, name, false, &d, &ignored) != 0)
                docstore_error_clear(&ignored);
        }
        closedir(dh);
    }
    /* Sorted by name, as MongoDB lists them. */
    size_t n = 0;
    for (st_db_t *d = st->dbs; d; d = d->next)
        n++;
    st_db_t **v = calloc(n ? n : 1, sizeof *v);
    if (v == NULL) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    n = 0;
    for (st_db_t *d = st->dbs; d; d = d->next)
        v[n++] = d;
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && strcmp(v[j - 1]->name, v[j]->name) > 0; j--) {
            st_db_t *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (v[i]->ncolls == 0)
            continue;
        bson_t *doc = bson_new();
        BSON_APPEND_UTF8(doc, "name", v[i]->name);
        BSON_APPEND_INT64(doc, "sizeOnDisk", db_size(v[i]));
        BSON_APPEND_BOOL(doc, "empty", false);
        if (docstore_doclist_push(out, doc) != 0) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            rc = -1;
        }
    }
    free(v);
    return rc;
}

int docstore_storage_drop_database(docstore_storage_t *st, const char *db, docstore_error_t *err)
{
    if (st_check_db_name(db, err))
        return -1;
    for (st_db_t **pp = &st->dbs; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, db) == 0) {
            st_db_t *d = *pp;
            *pp = d->next;
            db_close(d);
            break;
        }
    }
    if (st->dir)
        db_unlink_files(st, db);
    return 0;
}

/* ---- transactions ---- */

int docstore_storage_begin(docstore_storage_t *st, const char *db, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, true, &d, err))
        return -1;
    if (d->txn++ > 0)
        return 0;
    if (exec_cached(d, "BEGIN IMMEDIATE", err)) {
        d->txn = 0;
        return -1;
    }
    return 0;
}

int docstore_storage_commit(docstore_storage_t *st, const char *db, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    if (d == NULL || d->txn == 0)
        return 0;
    if (--d->txn > 0)
        return 0;
    if (exec_cached(d, "COMMIT", err)) {
        docstore_error_t ignored = {0};
        exec_cached(d, "ROLLBACK", &ignored);
        st_cap_forget(d);
        st_meta_load(d, &ignored);
        docstore_error_clear(&ignored);
        return -1;
    }
    return 0;
}

void docstore_storage_rollback(docstore_storage_t *st, const char *db)
{
    st_db_t *d;
    docstore_error_t ignored = {0};
    if (st_db_get(st, db, false, &d, &ignored) == 0 && d != NULL && d->txn > 0) {
        d->txn = 0;
        exec_cached(d, "ROLLBACK", &ignored);
        st_cap_forget(d);
        st_meta_load(d, &ignored);
    }
    docstore_error_clear(&ignored);
}

int st_op_begin(st_db_t *d, docstore_error_t *err)
{
    return exec_cached(d, "SAVEPOINT op", err);
}

int st_op_end(st_db_t *d, bool ok, docstore_error_t *err)
{
    docstore_error_t ignored = {0};
    if (ok) {
        if (exec_cached(d, "RELEASE op", err) == 0)
            return 0;
        /* The commit itself failed (disk full, I/O): nothing was written. */
    }
    exec_cached(d, "ROLLBACK TO op", &ignored);
    st_cap_forget(d);
    exec_cached(d, "RELEASE op", &ignored);
    st_meta_load(d, &ignored);
    docstore_error_clear(&ignored);
    return ok ? -1 : 0;
}

/* ---- collections ---- */

int st_coll_create(st_db_t *d, const char *coll, st_coll_t **out, docstore_error_t *err)
{
    return st_coll_create_opts(d, coll, NULL, out, err);
}

int st_coll_create_opts(st_db_t *d, const char *coll, const bson_t *options, st_coll_t **out,
                        docstore_error_t *err)
{
    if (st_check_coll_name(d->name, coll, err))
        return -1;
    int64_t id;
    if (st_next_id(d, &id, err))
        return -1;
    uint8_t uuid[16];
    if (RAND_bytes(uuid, sizeof uuid) != 1) {
        for (size_t i = 0; i < sizeof uuid; i++)
            uuid[i] = (uint8_t)random();
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
    char sql[160];
    snprintf(sql, sizeof sql,
             "CREATE TABLE c%lld(rid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,"
             " doc BLOB NOT NULL)",
             (long long)id);
    if (st_exec(d, sql, err))
        return -1;
    sqlite3_stmt *s;
    if (st_stmt(d, "INSERT INTO _catalog(name, id, uuid, options) VALUES (?, ?, ?, ?)", &s, err))
        return -1;
    bson_t empty = BSON_INITIALIZER;
    sqlite3_bind_text(s, 1, coll, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, id);
    sqlite3_bind_blob(s, 3, uuid, sizeof uuid, SQLITE_TRANSIENT);
    const bson_t *opts = options != NULL ? options : &empty;
    sqlite3_bind_blob(s, 4, bson_get_data(opts), (int)opts->len, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    st_stmt_done(d, s);
    if (r != SQLITE_DONE)
        return st_sql_error(d, "create collection", err);
    if (st_meta_load(d, err))
        return -1;
    *out = st_coll_find(d, coll);
    return *out ? 0 : -1;
}

int st_coll_drop(st_db_t *d, st_coll_t *c, docstore_error_t *err)
{
    char sql[128];
    st_stmt_clear(d); /* statements on the dropped tables would fail later */
    for (size_t i = 0; i < c->nindexes; i++) {
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS i%lld; DELETE FROM _multikey WHERE id = %lld",
                 (long long)c->indexes[i].id, (long long)c->indexes[i].id);
        if (st_exec(d, sql, err))
            return -1;
    }
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS c%lld", (long long)c->id);
    if (st_exec(d, sql, err))
        return -1;
    sqlite3_stmt *s;
    if (st_stmt(d, "DELETE FROM _indexes WHERE coll = ?1", &s, err))
        return -1;
    sqlite3_bind_text(s, 1, c->name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    st_stmt_done(d, s);
    if (r != SQLITE_DONE)
        return st_sql_error(d, "drop", err);
    if (st_stmt(d, "DELETE FROM _catalog WHERE name = ?1", &s, err))
        return -1;
    sqlite3_bind_text(s, 1, c->name, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(s);
    st_stmt_done(d, s);
    if (r != SQLITE_DONE)
        return st_sql_error(d, "drop", err);
    return st_meta_load(d, err);
}

static void append_uuid(bson_t *doc, const char *key, const uint8_t uuid[16])
{
    bson_append_binary(doc, key, -1, BSON_SUBTYPE_UUID, uuid, 16);
}

int docstore_storage_list_collections(docstore_storage_t *st, const char *db,
                                      docstore_doclist_t *out, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    if (d == NULL)
        return 0;
    for (size_t i = 0; i < d->ncolls; i++) {
        bson_t *doc = bson_new(), child;
        BSON_APPEND_UTF8(doc, "name", d->colls[i].name);
        BSON_APPEND_UTF8(doc, "type", "collection");
        BSON_APPEND_DOCUMENT_BEGIN(doc, "options", &child);
        if (d->colls[i].options != NULL)
            bson_concat(&child, d->colls[i].options);
        bson_append_document_end(doc, &child);
        BSON_APPEND_DOCUMENT_BEGIN(doc, "info", &child);
        BSON_APPEND_BOOL(&child, "readOnly", false);
        append_uuid(&child, "uuid", d->colls[i].uuid);
        bson_append_document_end(doc, &child);
        BSON_APPEND_DOCUMENT_BEGIN(doc, "idIndex", &child);
        BSON_APPEND_INT32(&child, "v", 2);
        bson_t key;
        BSON_APPEND_DOCUMENT_BEGIN(&child, "key", &key);
        BSON_APPEND_INT32(&key, "_id", 1);
        bson_append_document_end(&child, &key);
        BSON_APPEND_UTF8(&child, "name", "_id_");
        bson_append_document_end(doc, &child);
        if (docstore_doclist_push(out, doc)) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            return -1;
        }
    }
    return 0;
}

int docstore_storage_create_collection(docstore_storage_t *st, const char *db, const char *coll,
                                       bool must_not_exist, docstore_error_t *err)
{
    return docstore_storage_create_collection_opts(st, db, coll, NULL, must_not_exist, err);
}

int docstore_storage_create_collection_opts(docstore_storage_t *st, const char *db,
                                            const char *coll, const bson_t *options,
                                            bool must_not_exist, docstore_error_t *err)
{
    st_db_t *d;
    if (st_check_db_name(db, err) || st_check_coll_name(db, coll, err))
        return -1;
    if (st_db_get(st, db, true, &d, err))
        return -1;
    if (st_coll_find(d, coll) != NULL) {
        if (!must_not_exist)
            return 0;
        docstore_error_set(err, DOCSTORE_NAMESPACE_EXISTS, "Collection %s.%s already exists.", db,
                           coll);
        return -1;
    }
    st_coll_t *c;
    if (st_op_begin(d, err))
        return -1;
    int rc = st_coll_create_opts(d, coll, options, &c, err);
    return st_op_end(d, rc == 0, err) == 0 ? rc : -1;
}

int docstore_storage_drop_collection(docstore_storage_t *st, const char *db, const char *coll,
                                     bool *existed, docstore_error_t *err)
{
    if (existed)
        *existed = false;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL)
        return 0;
    if (st_op_begin(d, err))
        return -1;
    int rc = st_coll_drop(d, c, err);
    if (st_op_end(d, rc == 0, err) != 0 || rc != 0)
        return -1;
    if (existed)
        *existed = true;
    return 0;
}

int docstore_storage_collection_stats(docstore_storage_t *st, const char *db, const char *coll,
                                      int64_t *count, int64_t *size, int32_t *nindexes,
                                      docstore_error_t *err)
{
    *count = 0;
    *size = 0;
    *nindexes = 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found");
        return -1;
    }
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*), coalesce(sum(length(doc)), 0) FROM c%lld",
             (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    int rc = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *count = sqlite3_column_int64(s, 0);
        *size = sqlite3_column_int64(s, 1);
    } else {
        rc = st_sql_error(d, "stats", err);
    }
    st_stmt_done(d, s);
    *nindexes = (int32_t)(1 + c->nindexes);
    return rc;
}

/* Bytes of the pages of one SQLite table or index; 0 when dbstat is missing. */
static int64_t pages_of(st_db_t *d, const char *name)
{
    sqlite3_stmt *s;
    docstore_error_t ignored = {0};
    int64_t n = 0;
    if (st_stmt(d, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?1", &s, &ignored) !=
        0) {
        docstore_error_clear(&ignored);
        return 0;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    st_stmt_done(d, s);
    return n;
}

int docstore_storage_collection_sizes(docstore_storage_t *st, const char *db, const char *coll,
                                      int64_t *storage_size, bson_t *index_sizes,
                                      int64_t *total_index_size, docstore_error_t *err)
{
    *storage_size = 0;
    *total_index_size = 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found");
        return -1;
    }
    char name[64];
    snprintf(name, sizeof name, "c%lld", (long long)c->id);
    *storage_size = pages_of(d, name);
    /* The UNIQUE constraint on c<id>.id is SQLite's automatic index: _id_. */
    snprintf(name, sizeof name, "sqlite_autoindex_c%lld_1", (long long)c->id);
    int64_t n = pages_of(d, name);
    *total_index_size += n;
    BSON_APPEND_INT64(index_sizes, "_id_", n);
    for (size_t i = 0; i < c->nindexes; i++) {
        snprintf(name, sizeof name, "i%lld", (long long)c->indexes[i].id);
        n = pages_of(d, name);
        *total_index_size += n;
        BSON_APPEND_INT64(index_sizes, c->indexes[i].name, n);
    }
    return 0;
}

/* ---- specs ---- */

static int gen_name(const bson_t *key, buf_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, key))
        return -1;
    bool first = true;
    while (bson_iter_next(&it)) {
        int rc;
        if (!first && buf_append_str(out, "_") != 0)
            return -1;
        first = false;
        if (buf_append_str(out, bson_iter_key(&it)) != 0)
            return -1;
        switch (bson_iter_type(&it)) {
        case BSON_TYPE_INT32:
            rc = buf_printf(out, "_%d", bson_iter_int32(&it));
            break;
        case BSON_TYPE_INT64:
            rc = buf_printf(out, "_%lld", (long long)bson_iter_int64(&it));
            break;
        case BSON_TYPE_DOUBLE:
            rc = buf_printf(out, "_%g", bson_iter_double(&it));
            break;
        case BSON_TYPE_UTF8:
            rc = buf_printf(out, "_%s", bson_iter_utf8(&it, NULL));
            break;
        default:
            rc = buf_append_str(out, "_1");
            break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int docstore_index_default_name(const bson_t *key, char *out, size_t n)
{
    buf_t b;
    buf_init(&b, 1024);
    int rc = gen_name(key, &b);
    if (rc == 0)
        snprintf(out, n, "%s", b.data ? b.data : "");
    buf_free(&b);
    return rc;
}

int st_index_parse(const bson_t *spec, st_index_t *ix, docstore_error_t *err)
{
    memset(ix, 0, sizeof *ix);
    ix->ttl = -1;
    int opt;
    bson_iter_t it, kit;
    const uint8_t *kdata = NULL;
    uint32_t klen = 0;
    const char *name = NULL;
    if (!bson_iter_init(&it, spec))
        goto bad;
    while (bson_iter_next(&it)) {
        const char *f = bson_iter_key(&it);
        if (strcmp(f, "key") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "The field 'key' must be an object");
                goto fail;
            }
            bson_iter_document(&it, &klen, &kdata);
        } else if (strcmp(f, "name") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it)) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "The field 'name' must be a string");
                goto fail;
            }
            name = bson_iter_utf8(&it, NULL);
        } else if (strcmp(f, "unique") == 0) {
            ix->unique = bson_iter_as_bool(&it);
        } else if (strcmp(f, "v") == 0 || strcmp(f, "background") == 0 || strcmp(f, "ns") == 0 ||
                   strcmp(f, "comment") == 0) {
            /* accepted and meaningless here */
        } else if ((opt = st_index_opt_parse(&it, ix, err)) != 0) {
            if (opt < 0)
                goto fail;
        } else {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                               "index option '%s' is not supported by the docstore", f);
            goto fail;
        }
    }
    if (kdata == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "The 'key' field is a required property of an index specification");
        goto fail;
    }
    ix->key = bson_new_from_data(kdata, klen);
    if (ix->key == NULL || !bson_iter_init(&kit, ix->key))
        goto bad;
    size_t n = bson_count_keys(ix->key);
    if (n == 0) {
        docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX, "Index keys cannot be empty.");
        goto fail;
    }
    if (n > 32) {
        docstore_error_set(err, DOCSTORE_LOCATION_13103, "too many fields in index key");
        goto fail;
    }
    ix->fields = calloc(n, sizeof *ix->fields);
    ix->desc = calloc(n, sizeof *ix->desc);
    if (ix->fields == NULL || ix->desc == NULL)
        goto nomem;
    while (bson_iter_next(&kit)) {
        const char *f = bson_iter_key(&kit);
        if (f[0] == '\0' || f[0] == '$' || strstr(f, "..") != NULL || f[strlen(f) - 1] == '.') {
            docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                               "Index key contains an illegal field name: '%s'", f);
            goto fail;
        }
        if (BSON_ITER_HOLDS_UTF8(&kit)) {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                               "index type '%s' is not supported by the docstore",
                               bson_iter_utf8(&kit, NULL));
            goto fail;
        }
        if (!BSON_ITER_HOLDS_NUMBER(&kit) || bson_iter_as_double(&kit) == 0) {
            docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                               "Values in the index key pattern can't be 0 or non-numeric");
            goto fail;
        }
        ix->desc[ix->nfields] = bson_iter_as_double(&kit) < 0;
        ix->fields[ix->nfields] = strdup(f);
        if (ix->fields[ix->nfields] == NULL)
            goto nomem;
        ix->nfields++;
    }
    char gen[1024];
    if (name == NULL) {
        if (docstore_index_default_name(ix->key, gen, sizeof gen))
            goto nomem;
        name = gen;
    }
    if (name[0] == '\0') {
        docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX, "The index name cannot be empty");
        goto fail;
    }
    if (st_index_opts_check_id(ix, err))
        goto fail;
    if (strcmp(name, "_id_") == 0 || (n == 1 && strcmp(ix->fields[0], "_id") == 0)) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                           "the _id index exists always; another index on _id alone is not "
                           "supported by the docstore");
        goto fail;
    }
    ix->name = strdup(name);
    ix->spec = bson_new();
    if (ix->name == NULL || ix->spec == NULL)
        goto nomem;
    BSON_APPEND_INT32(ix->spec, "v", 2);
    BSON_APPEND_DOCUMENT(ix->spec, "key", ix->key);
    BSON_APPEND_UTF8(ix->spec, "name", ix->name);
    if (ix->unique)
        BSON_APPEND_BOOL(ix->spec, "unique", true);
    if (st_index_opts_finish(ix, err))
        goto fail;
    return 0;
bad:
    docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "invalid index specification");
    goto fail;
nomem:
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
fail:
    st_index_free(ix);
    return -1;
}

int docstore_storage_collection_options(docstore_storage_t *st, const char *db, const char *coll,
                                        bson_t *out, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found");
        return -1;
    }
    if (c->options != NULL)
        bson_concat(out, c->options);
    return 0;
}

void st_cap_forget(st_db_t *d)
{
    for (size_t i = 0; i < d->ncolls; i++)
        d->colls[i].cap_known = false;
}
