/*
 * The user and IAM registries and the SASL conversation frame: loading the
 * --users and --iam JSON files (passwords become SCRAM keys at once), role
 * checks, and dispatch of saslStart/saslContinue to SCRAM or MONGODB-AWS.
 */
#include "docstore/auth/auth_internal.h"

#include "common/log.h"
#include "docstore/auth/saslprep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_FILE_MAX (16 * 1024 * 1024)

static int auth_read_json_array(const char *path, bson_t *out, docstore_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(AUTH_FILE_MAX + 16);
    size_t n = text ? fread(text + 6, 1, AUTH_FILE_MAX, f) : 0;
    fclose(f);
    if (text == NULL || n == AUTH_FILE_MAX) {
        free(text);
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s: unreadable or larger than 16 MB", path);
        return -1;
    }
    /* libbson parses documents, not arrays: wrap the array as {"a": [...]}. */
    memcpy(text, "{\"a\":", 5);
    text[5] = ' ';
    text[6 + n] = '}';
    bson_error_t berr;
    bool ok = bson_init_from_json(out, text, (ssize_t)(n + 7), &berr);
    free(text);
    bson_iter_t it;
    if (!ok || !bson_iter_init_find(&it, out, "a") || !BSON_ITER_HOLDS_ARRAY(&it)) {
        if (ok)
            bson_destroy(out);
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s: not a JSON array of objects", path);
        return -1;
    }
    return 0;
}

static const char *auth_get_str(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

static bool auth_copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL || strlen(src) >= cap)
        return false;
    strcpy(dst, src);
    return true;
}

/* roles: "readWrite" (the user's db) or {role, db}; normalized to [{role, db}]. */
static int auth_parse_roles(const bson_t *entry, const char *user_db, bson_t *roles)
{
    bson_init(roles);
    bson_iter_t it, ai;
    if (!bson_iter_init_find(&it, entry, "roles"))
        return 0;
    if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &ai))
        return -1;
    uint32_t i = 0;
    while (bson_iter_next(&ai)) {
        const char *role = NULL, *db = user_db;
        if (BSON_ITER_HOLDS_UTF8(&ai)) {
            role = bson_iter_utf8(&ai, NULL);
        } else if (BSON_ITER_HOLDS_DOCUMENT(&ai)) {
            bson_t sub;
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&ai, &len, &data);
            if (!bson_init_static(&sub, data, len))
                return -1;
            role = auth_get_str(&sub, "role");
            db = auth_get_str(&sub, "db");
        }
        if (role == NULL || db == NULL)
            return -1;
        char key[16];
        const char *k;
        bson_uint32_to_string(i++, &k, key, sizeof key);
        bson_t r;
        bson_append_document_begin(roles, k, -1, &r);
        BSON_APPEND_UTF8(&r, "role", role);
        BSON_APPEND_UTF8(&r, "db", db);
        bson_append_document_end(roles, &r);
    }
    return 0;
}

/* Parses one array entry into elem (zeroed); on failure frees what it made. */
typedef int (*auth_entry_fn)(const char *path, size_t index, const bson_t *entry, void *elem,
                             docstore_error_t *err);

/* Reads path's JSON array of objects into a growing array of elem_size
 * records, one per entry, through parse. 0, or -1 with err (the records
 * parsed so far stay in *arr and count in *n, for the caller to free). */
static int auth_load_array(const char *path, void **arr, size_t *n, size_t elem_size,
                           auth_entry_fn parse, docstore_error_t *err)
{
    bson_t doc;
    if (auth_read_json_array(path, &doc, err) == -1)
        return -1;
    bson_iter_t it, ai;
    bson_iter_init_find(&it, &doc, "a");
    bson_iter_recurse(&it, &ai);
    size_t cap = 0;
    int rc = 0;
    for (size_t index = 0; rc == 0 && bson_iter_next(&ai); index++) {
        bson_t entry;
        uint32_t len;
        const uint8_t *data;
        if (!BSON_ITER_HOLDS_DOCUMENT(&ai)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s: entry %zu is not an object", path,
                               index);
            rc = -1;
            break;
        }
        bson_iter_document(&ai, &len, &data);
        bson_init_static(&entry, data, len);
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *grown = realloc(*arr, cap * elem_size);
            if (grown == NULL) {
                docstore_error_oom(err);
                rc = -1;
                break;
            }
            *arr = grown;
        }
        void *elem = (char *)*arr + *n * elem_size;
        memset(elem, 0, elem_size);
        rc = parse(path, index, &entry, elem, err);
        if (rc == 0)
            (*n)++;
    }
    bson_destroy(&doc);
    return rc;
}

static int auth_parse_user(const char *path, size_t index, const bson_t *entry, void *elem,
                           docstore_error_t *err)
{
    auth_user_t *u = elem;
    const char *password = auth_get_str(entry, "password");
    if (!auth_copy_str(u->name, sizeof u->name, auth_get_str(entry, "user")) ||
        !auth_copy_str(u->db, sizeof u->db, auth_get_str(entry, "db"))) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s: entry %zu needs \"user\" and \"db\"",
                           path, index);
        return -1;
    }
    if (password != NULL && strcmp(u->db, "$external") == 0) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s: $external user %s cannot have a password",
                           path, u->name);
        return -1;
    }
    bson_t roles;
    int roles_rc = auth_parse_roles(entry, u->db, &roles);
    u->roles = roles_rc == 0 ? bson_copy(&roles) : NULL;
    bson_destroy(&roles);
    if (u->roles == NULL) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s: user %s: bad \"roles\"", path, u->name);
        return -1;
    }
    if (password != NULL) {
        /* SCRAM-SHA-256 derives from the SASLprep'd password, SCRAM-SHA-1 from
         * the password as given (MongoDB's auth spec). */
        char *prepared = NULL;
        const char *why = NULL;
        if (docstore_saslprep(password, &prepared, &why) == -1) {
            bson_destroy(u->roles);
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "%s: user %s: the password cannot be prepared for SCRAM-SHA-256 "
                               "(SASLprep, RFC 4013): %s",
                               path, u->name, why);
            return -1;
        }
        int rc = auth_scram_derive(u->name, password, AUTH_MECH_SCRAM_SHA1, &u->sha1);
        if (rc == 0)
            rc = auth_scram_derive(u->name, prepared, AUTH_MECH_SCRAM_SHA256, &u->sha256);
        crypto_cleanse(prepared, strlen(prepared));
        free(prepared);
        if (rc == -1) {
            bson_destroy(u->roles);
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "cannot derive SCRAM keys");
            return -1;
        }
        u->has_password = true;
    }
    return 0;
}

static int auth_parse_iam(const char *path, size_t index, const bson_t *entry, void *elem,
                          docstore_error_t *err)
{
    auth_iam_cred_t *c = elem;
    const char *token = auth_get_str(entry, "sessionToken");
    if (!auth_copy_str(c->access_key_id, sizeof c->access_key_id,
                       auth_get_str(entry, "accessKeyId")) ||
        !auth_copy_str(c->secret_access_key, sizeof c->secret_access_key,
                       auth_get_str(entry, "secretAccessKey")) ||
        !auth_copy_str(c->arn, sizeof c->arn, auth_get_str(entry, "arn")) ||
        (token != NULL && !auth_copy_str(c->session_token, sizeof c->session_token, token))) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "%s: entry %zu needs accessKeyId, secretAccessKey and arn", path,
                           index);
        return -1;
    }
    return 0;
}

int docstore_auth_new(const char *users_file, const char *iam_file, docstore_auth_t **out,
                      docstore_error_t *err)
{
    docstore_auth_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    void *users = NULL, *iam = NULL;
    int rc = 0;
    if (users_file != NULL)
        rc = auth_load_array(users_file, &users, &a->n_users, sizeof *a->users, auth_parse_user,
                             err);
    a->users = users;
    if (rc == 0 && iam_file != NULL)
        rc = auth_load_array(iam_file, &iam, &a->n_iam, sizeof *a->iam, auth_parse_iam, err);
    a->iam = iam;
    if (rc != 0) {
        docstore_auth_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void docstore_auth_free(docstore_auth_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_users; i++)
        bson_destroy(a->users[i].roles);
    crypto_cleanse(a->users, a->n_users * sizeof *a->users);
    crypto_cleanse(a->iam, a->n_iam * sizeof *a->iam);
    free(a->users);
    free(a->iam);
    free(a);
}

void docstore_auth_append_mechs(const docstore_auth_t *a, const char *db_user, bool scram,
                                bool aws, bson_t *reply)
{
    const char *dot = strchr(db_user, '.');
    if (dot == NULL || (size_t)(dot - db_user) >= 128)
        return;
    char db[128];
    memcpy(db, db_user, (size_t)(dot - db_user));
    db[dot - db_user] = '\0';
    const auth_user_t *u = auth_find_user(a, db, dot + 1);
    if (u == NULL)
        return;
    bool external = strcmp(u->db, "$external") == 0;
    bson_t arr;
    bson_append_array_begin(reply, "saslSupportedMechs", -1, &arr);
    if (u->has_password && scram) {
        BSON_APPEND_UTF8(&arr, "0", "SCRAM-SHA-1");
        BSON_APPEND_UTF8(&arr, "1", "SCRAM-SHA-256");
    } else if (external && aws) {
        BSON_APPEND_UTF8(&arr, "0", "MONGODB-AWS");
    }
    bson_append_array_end(reply, &arr);
}

int docstore_sasl_start(docstore_auth_t *a, const char *db, const char *mechanism,
                        const uint8_t *payload, uint32_t len, bool skip_empty_exchange,
                        docstore_sasl_t **out, bson_t *reply, docstore_error_t *err)
{
    auth_mech_t mech;
    if (strcmp(mechanism, "SCRAM-SHA-256") == 0)
        mech = AUTH_MECH_SCRAM_SHA256;
    else if (strcmp(mechanism, "SCRAM-SHA-1") == 0)
        mech = AUTH_MECH_SCRAM_SHA1;
    else if (strcmp(mechanism, "MONGODB-AWS") == 0)
        mech = AUTH_MECH_AWS;
    else {
        docstore_error_set(err, DOCSTORE_MECHANISM_UNAVAILABLE,
                           "Received authentication for mechanism %.64s which is not enabled",
                           mechanism);
        return -1;
    }
    if (strlen(db) >= sizeof((docstore_sasl_t *)0)->db) {
        docstore_error_set(err, DOCSTORE_AUTHENTICATION_FAILED, "Authentication failed.");
        return -1;
    }
    docstore_sasl_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    s->auth = a;
    s->mech = mech;
    s->skip_empty_exchange = skip_empty_exchange;
    snprintf(s->db, sizeof s->db, "%s", db);
    bson_init(&s->principal.roles);
    int rc;
    if (mech == AUTH_MECH_AWS) {
        if (strcmp(db, "$external") != 0) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "MONGODB-AWS must be used with the $external database");
            rc = -1;
        } else {
            rc = auth_aws_start(s, payload, len, reply, err);
        }
    } else {
        rc = auth_scram_start(s, db, payload, len, reply, err);
    }
    if (rc == -1) {
        docstore_sasl_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int docstore_sasl_continue(docstore_sasl_t *s, time_t now, const uint8_t *payload, uint32_t len,
                           bson_t *reply, docstore_error_t *err)
{
    switch (s->step) {
    case AUTH_STEP_FIRST_SENT:
        if (s->mech == AUTH_MECH_AWS)
            return auth_aws_continue(s, now, payload, len, reply, err);
        return auth_scram_continue(s, payload, len, reply, err);
    case AUTH_STEP_FINAL_SENT:
        /* the client's empty message closing the exchange */
        s->step = AUTH_STEP_DONE;
        auth_reply(reply, true, "", 0);
        return 0;
    case AUTH_STEP_DONE:
    case AUTH_STEP_FAILED:
        break;
    }
    docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "No SASL session state found");
    s->step = AUTH_STEP_FAILED;
    return -1;
}

bool docstore_sasl_done(const docstore_sasl_t *s)
{
    return s->step == AUTH_STEP_DONE || s->step == AUTH_STEP_FINAL_SENT;
}

const char *docstore_sasl_db(const docstore_sasl_t *s)
{
    return s->db;
}

const docstore_principal_t *docstore_sasl_principal(const docstore_sasl_t *s)
{
    return &s->principal;
}

const char *docstore_sasl_mechanism(const docstore_sasl_t *s)
{
    static const char *const names[] = {"SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-AWS"};
    return names[s->mech];
}

void docstore_sasl_free(docstore_sasl_t *s)
{
    if (s == NULL)
        return;
    free(s->auth_message);
    bson_destroy(&s->principal.roles);
    free(s);
}

/* The built-in roles the docstore knows, as MongoDB defines them (others
 * grant nothing). A role marked admin_only counts only when granted on
 * "admin"; any_db ones then apply to every database. */
static const struct auth_role {
    const char *name;
    bool admin_only;              /* only on admin */
    bool any_db;                  /* its database access covers every database */
    bool db_access;               /* grants access to databases at all */
    docstore_access_t max;        /* the highest access it grants there */
    bool list_databases;          /* the listDatabases action on the cluster */
    docstore_cluster_t cluster;   /* cluster-wide privileges */
} auth_roles[] = {
    {"read", false, false, true, DOCSTORE_ACCESS_READ, false, DOCSTORE_CLUSTER_NONE},
    {"readWrite", false, false, true, DOCSTORE_ACCESS_WRITE, false, DOCSTORE_CLUSTER_NONE},
    {"dbOwner", false, false, true, DOCSTORE_ACCESS_DB_ADMIN, false, DOCSTORE_CLUSTER_NONE},
    {"readAnyDatabase", true, true, true, DOCSTORE_ACCESS_READ, true, DOCSTORE_CLUSTER_NONE},
    {"readWriteAnyDatabase", true, true, true, DOCSTORE_ACCESS_WRITE, true,
     DOCSTORE_CLUSTER_NONE},
    {"clusterMonitor", true, false, false, DOCSTORE_ACCESS_READ, true, DOCSTORE_CLUSTER_MONITOR},
    {"root", true, true, true, DOCSTORE_ACCESS_DB_ADMIN, true, DOCSTORE_CLUSTER_ADMIN},
};

/* Calls fn for each {role, db} of p that is a known role; stops when fn returns true. */
static bool auth_each_role(const docstore_principal_t *p,
                           bool (*fn)(const struct auth_role *r, const char *db, void *arg),
                           void *arg)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, &p->roles))
        return false;
    while (bson_iter_next(&it)) {
        bson_iter_t r;
        const char *role = NULL, *rdb = NULL;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &r))
            continue;
        while (bson_iter_next(&r)) {
            if (BSON_ITER_HOLDS_UTF8(&r) && strcmp(bson_iter_key(&r), "role") == 0)
                role = bson_iter_utf8(&r, NULL);
            else if (BSON_ITER_HOLDS_UTF8(&r) && strcmp(bson_iter_key(&r), "db") == 0)
                rdb = bson_iter_utf8(&r, NULL);
        }
        if (role == NULL || rdb == NULL)
            continue;
        for (size_t i = 0; i < sizeof auth_roles / sizeof auth_roles[0]; i++) {
            const struct auth_role *def = &auth_roles[i];
            if (strcmp(def->name, role) != 0 || (def->admin_only && strcmp(rdb, "admin") != 0))
                continue;
            if (fn(def, rdb, arg))
                return true;
        }
    }
    return false;
}

typedef struct auth_allows_arg {
    const char *db;
    docstore_access_t level;
} auth_allows_arg_t;

static bool auth_role_allows(const struct auth_role *r, const char *rdb, void *arg)
{
    const auth_allows_arg_t *a = arg;
    return r->db_access && r->max >= a->level && (r->any_db || strcmp(rdb, a->db) == 0);
}

bool docstore_principal_allows(const docstore_principal_t *p, const char *db,
                               docstore_access_t level)
{
    auth_allows_arg_t a = {db, level};
    return auth_each_role(p, auth_role_allows, &a);
}

bool docstore_principal_can(const docstore_principal_t *p, const char *db, bool write)
{
    return docstore_principal_allows(p, db, write ? DOCSTORE_ACCESS_WRITE : DOCSTORE_ACCESS_READ);
}

static bool auth_role_lists(const struct auth_role *r, const char *rdb, void *arg)
{
    (void)rdb, (void)arg;
    return r->list_databases;
}

bool docstore_principal_lists_databases(const docstore_principal_t *p)
{
    return auth_each_role(p, auth_role_lists, NULL);
}

static bool auth_role_cluster(const struct auth_role *r, const char *rdb, void *arg)
{
    (void)rdb;
    return r->cluster >= *(const docstore_cluster_t *)arg;
}

bool docstore_principal_cluster(const docstore_principal_t *p, docstore_cluster_t level)
{
    return auth_each_role(p, auth_role_cluster, &level);
}

/* The actions each access level adds, in MongoDB's names (sorted when merged). */
static const char *const auth_read_actions[] = {
    "collStats", "dbHash", "dbStats", "find", "killCursors", "listCollections", "listIndexes",
    NULL,
};
static const char *const auth_write_actions[] = {
    "convertToCapped", "createCollection", "createIndex", "dropCollection", "dropIndex",
    "insert",          "remove",           "renameCollectionSameDB",        "update",
    NULL,
};
static const char *const auth_db_admin_actions[] = {"dropDatabase", NULL};
/* Cluster actions of DOCSTORE_CLUSTER_MONITOR, then those ADMIN adds. */
static const char *const auth_cluster_monitor_actions[] = {
    "getCmdLineOpts", "getLog", "getParameter", "hostInfo", "inprog", "serverStatus", NULL,
};
static const char *const auth_cluster_admin_actions[] = {"killAnySession", NULL};
static const char *const *const auth_cluster_actions[] = {auth_cluster_monitor_actions,
                                                          auth_cluster_admin_actions};

static int auth_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends {resource: <res>, actions: [list sorted]} to the array arr; res
 * names a database (db, collection "") or, with db NULL, the cluster. */
static void auth_append_actions(bson_t *arr, const char *db, const char **list, size_t n)
{
    bson_t priv, res, acts;
    char key[16];
    const char *k;
    qsort(list, n, sizeof list[0], auth_cmp_str);
    bson_uint32_to_string(bson_count_keys(arr), &k, key, sizeof key);
    BSON_APPEND_DOCUMENT_BEGIN(arr, k, &priv);
    BSON_APPEND_DOCUMENT_BEGIN(&priv, "resource", &res);
    if (db != NULL) {
        BSON_APPEND_UTF8(&res, "db", db);
        BSON_APPEND_UTF8(&res, "collection", "");
    } else {
        BSON_APPEND_BOOL(&res, "cluster", true);
    }
    bson_append_document_end(&priv, &res);
    BSON_APPEND_ARRAY_BEGIN(&priv, "actions", &acts);
    for (size_t i = 0; i < n; i++) {
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
        BSON_APPEND_UTF8(&acts, k, list[i]);
    }
    bson_append_array_end(&priv, &acts);
    bson_append_document_end(arr, &priv);
}

static bool auth_append_privilege(const struct auth_role *r, const char *rdb, void *arg)
{
    bson_t *arr = arg;
    const char *list[32];
    size_t n = 0;
    if (r->db_access) {
        const char *const *levels[] = {auth_read_actions, auth_write_actions,
                                       auth_db_admin_actions};
        for (int l = 0; l <= (int)r->max; l++) {
            for (size_t i = 0; levels[l][i] != NULL && n < 32; i++)
                list[n++] = levels[l][i];
        }
        auth_append_actions(arr, r->any_db ? "" : rdb, list, n);
    }
    n = 0;
    if (r->list_databases)
        list[n++] = "listDatabases";
    for (int l = 1; l <= (int)r->cluster; l++) {
        for (size_t i = 0; auth_cluster_actions[l - 1][i] != NULL && n < 32; i++)
            list[n++] = auth_cluster_actions[l - 1][i];
    }
    if (n > 0)
        auth_append_actions(arr, NULL, list, n);
    return false;
}

void docstore_principal_append_privileges(const docstore_principal_t *p, bson_t *arr)
{
    auth_each_role(p, auth_append_privilege, arr);
}

void docstore_principal_copy(const docstore_principal_t *src, docstore_principal_t *dst)
{
    memcpy(dst->user, src->user, sizeof dst->user);
    memcpy(dst->db, src->db, sizeof dst->db);
    dst->uid = src->uid;
    bson_copy_to(&src->roles, &dst->roles);
}

void docstore_principal_clear(docstore_principal_t *p)
{
    bson_destroy(&p->roles);
    memset(p, 0, sizeof *p);
    bson_init(&p->roles);
}
