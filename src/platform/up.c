/*
 * tether up: the command line, and the wiring of the platform's parts on one
 * event_base: template -> functions, the embedded docstore (or an external
 * MONGODB_URI), the Invoke API, SIGCHLD for instance exits, and SIGINT /
 * SIGTERM for a shutdown that leaves no process behind.
 */
#include "platform/up.h"

#include "common/base64.h"
#include "common/buf.h"
#include "common/crypto.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/tlsgen.h"
#include "docstore/auth/auth.h"
#include "docstore/net/db_thread.h"
#include "docstore/net/server.h"
#include "platform/admin_uri.h"
#include "platform/code.h"
#include "platform/creds.h"
#include "platform/function.h"
#include "platform/instance.h"
#include "platform/invoke_api.h"
#include "platform/sandbox.h"
#include "platform/cgroup.h"
#include "platform/platform.h"
#include "platform/template.h"
#include "platform/uri.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#define STOP_BACKSTOP_S 3                  /* shutdown ends the loop by then whatever happens */
#define DB_USERS_MAX    (16 * 1024 * 1024) /* the docstore's own limit on a users file */

static void usage(FILE *out)
{
    fprintf(out, "usage: tether up [--template FILE] [--port 9000] [--bind 127.0.0.1]\n"
                 "                 [--db-port 27017] [--db-dir DIR] [--db URI | --no-db]\n"
                 "                 [--db-users FILE] [--idle-timeout SECONDS] [--retry-delay MS]\n"
                 "                 [--isolate | --no-isolate] [--db-tls]\n"
                 "                 [--http-idle-timeout SECONDS] [--header-timeout SECONDS]\n"
                 "                 [--max-connections N] [--no-cgroups] [--db-max-time-ms MS]\n"
                 "                 [--db-ttl-monitor-seconds S]\n"
                 "Runs the functions of an AWS SAM template behind a Lambda-compatible\n"
                 "Invoke API, with the embedded docstore as their MongoDB. The docstore keeps\n"
                 "its data in memory, lost at exit, unless --db-dir DIR names a folder.\n"
                 "--db-users FILE (the docstore's users file) gives each IAM role the roles of\n"
                 "its $external user there, as on Atlas; without it every role gets\n"
                 "readWriteAnyDatabase. With --db-tls the docstore accepts only TLS, as Atlas\n"
                 "does, with a certificate from a CA made at start that the functions trust.\n"
                 "The docstore runs on its own thread; --db-max-time-ms MS is the time budget\n"
                 "of a query sent without maxTimeMS (default 1000; 0: none).\n");
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
    platform_t *p = arg;
    (void)sig;
    (void)what;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == -1 && errno == EINTR)
            continue;
        if (pid <= 0)
            break;
        platform_instance_t *inst = platform_instance_by_pid(p, pid);
        if (inst != NULL)
            platform_instance_on_exit(inst, status);
    }
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    platform_t *p = arg;
    (void)fd;
    (void)what;
    log_warn("platform", "instances still running at shutdown: SIGKILL");
    event_base_loopbreak(p->base);
}

static void on_sigstop(evutil_socket_t sig, short what, void *arg)
{
    platform_t *p = arg;
    (void)what;
    if (p->stopping) {
        log_warn("platform", "second signal: stopping now");
        event_base_loopbreak(p->base);
        return;
    }
    log_info("platform", "%s: stopping every instance", sig == SIGINT ? "SIGINT" : "SIGTERM");
    p->stopping = 1;
    for (size_t i = 0; i < p->n_functions; i++)
        platform_function_stop(p->functions[i]);
    struct timeval tv = {STOP_BACKSTOP_S, 0};
    p->stop_timer = evtimer_new(p->base, on_stop_timer, p);
    if (p->stop_timer != NULL)
        evtimer_add(p->stop_timer, &tv);
    platform_check_stopped(p);
}

/* Kills and reaps whatever is still alive; synchronous, for the very end. */
static void reap_all(platform_t *p)
{
    for (size_t i = 0; i < p->n_functions; i++) {
        platform_function_t *fn = p->functions[i];
        platform_instance_t *inst;
        while ((inst = TAILQ_FIRST(&fn->live)) != NULL) {
            platform_instance_kill(inst);
            int status = 0;
            while (waitpid(inst->pid, &status, 0) == -1 && errno == EINTR) {
            }
            platform_instance_on_exit(inst, status);
        }
    }
}

/* One control group per instance where the machine allows (cgroup.h); said
 * once, either way. */
static int start_containment(platform_t *p)
{
    char why[512] = "";
    p->cgroups = platform_cgroups_new(p->cfg.no_cgroups, why, sizeof why);
    if (p->cgroups == NULL)
        return -1;
    if (platform_cgroups_kind(p->cgroups) != PLATFORM_CONTAIN_SIGNALS)
        log_info("platform", "instances contained in control groups (%s): %s",
                 platform_containment_name(platform_cgroups_kind(p->cgroups)),
                 platform_cgroups_where(p->cgroups));
    else
        log_warn("platform",
                 "no control groups (%s): instances are contained with signals only "
                 "(MemorySize not enforced; a process in its own session escapes freeze and "
                 "reap)",
                 why);
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Writes text to dir/name, readable by us only. 0 or -1. */
static int write_private_file(const char *dir, const char *name, const char *text, size_t len,
                              char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    return fileio_write(path, text, len, 0600);
}

/*
 * With roles in the template, the embedded docstore requires authentication
 * as Atlas does: MONGODB-AWS for functions (their role's credentials are in
 * their environment), SCRAM for an "admin" user whose connection string is
 * written to a private file for the developer's own tools. The users and IAM
 * files are read at docstore start and deleted at once.
 */
/* The port's private folder (admin-uri, users, the local CA), made once. */
static int private_dir(platform_t *p)
{
    if (p->auth_dir[0] != '\0')
        return 0;
    if (platform_admin_dir_make(p->api_port, p->auth_dir, sizeof p->auth_dir, &p->auth_lock_fd) !=
        0) {
        p->auth_dir[0] = '\0';
        log_error("platform", "cannot create a private folder for the docstore: %s",
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* The files of --db-tls in the private folder, removed at exit. */
static const char *const tls_file_names[] = {"ca.pem", "server.pem", "server-key.pem",
                                             "ca-bundle.pem"};

/*
 * --db-tls: a local CA and a server certificate it signs (tlsgen.h) for the
 * docstore, and the bundle functions verify it with: this machine's public
 * CAs followed by the local CA, so a function's other TLS peers still verify.
 * Unisolated instances get it as SSL_CERT_FILE (NODE_EXTRA_CA_CERTS: the local
 * CA, for Node); the sandbox's /etc/pki/tls/certs/ca-bundle.crt gets the local
 * CA appended (sandbox.h).
 */
static int prepare_db_tls(platform_t *p, docstore_config_t *dc, tlsgen_files_t *files)
{
    char err[256];
    if (private_dir(p) != 0)
        return -1;
    if (tlsgen_make(p->auth_dir, p->cfg.bind, files, err, sizeof err) != 0) {
        log_error("platform", "--db-tls: %s", err);
        return -1;
    }
    char bundle[PATH_MAX];
    snprintf(bundle, sizeof bundle, "%s/ca-bundle.pem", p->auth_dir);
    p->db_ca = strdup(files->ca);
    p->db_ca_bundle = strdup(bundle);
    if (p->db_ca == NULL || p->db_ca_bundle == NULL ||
        platform_ca_bundle_write(bundle, files->ca) != 0 ||
        (p->sandbox != NULL && platform_sandbox_trust(p->sandbox, files->ca) != 0)) {
        log_error("platform", "--db-tls: cannot write the CA bundle %s: %s", bundle,
                  strerror(errno));
        return -1;
    }
    dc->tls_cert = files->cert;
    dc->tls_key = files->key;
    return 0;
}

static int prepare_db_auth(platform_t *p, docstore_config_t *dc, char *users_path, char *iam_path,
                           size_t pathlen, char password[32])
{
    if (private_dir(p) != 0)
        return -1;
    uint8_t rnd[18];
    if (crypto_random(rnd, sizeof rnd) != 0)
        return -1;
    base64_encode(rnd, sizeof rnd, password);
    for (char *c = password; *c; c++) {
        if (*c == '+' || *c == '/')
            *c = 'x'; /* keep the password URI-safe */
    }
    buf_t users, iam;
    buf_init(&users, DB_USERS_MAX + (1 << 20));
    buf_init(&iam, 1 << 20);
    int rc = platform_creds_users_json(&users, password, p->db_users, p->db_users_len) == 0 &&
                     platform_creds_iam_json(&iam) == 0 &&
                     write_private_file(p->auth_dir, "users.json", users.data, users.len,
                                        users_path, pathlen) == 0 &&
                     write_private_file(p->auth_dir, "iam.json", iam.data, iam.len, iam_path,
                                        pathlen) == 0
                 ? 0
                 : -1;
    crypto_cleanse(users.data, users.len);
    crypto_cleanse(iam.data, iam.len);
    buf_free(&users);
    buf_free(&iam);
    if (rc != 0) {
        log_error("platform", "cannot write the docstore's users in %s", p->auth_dir);
        return -1;
    }
    dc->auth = DOCSTORE_AUTH_BOTH;
    dc->users_file = users_path;
    dc->iam_file = iam_path;
    return 0;
}

/*
 * A function whose template sets MONGODB_URI keeps it (spawn.c), also when the
 * docstore requires authentication: say at start what that function gives up,
 * naming it, with the template's URI reduced to its hosts (it may hold a
 * password).
 */
static void warn_template_uris(platform_t *p)
{
    for (size_t i = 0; i < p->n_functions; i++) {
        const platform_function_spec_t *s = p->functions[i]->spec;
        const char *uri = NULL;
        for (size_t k = 0; k < s->n_env; k++) {
            if (strcmp(s->env[k].name, "MONGODB_URI") == 0)
                uri = s->env[k].value; /* the function's own comes after Globals' */
        }
        if (uri == NULL || strcmp(uri, p->mongodb_uri) == 0)
            continue;
        char shown[160];
        platform_uri_public(uri, shown, sizeof shown);
        log_warn("platform",
                 "function %s: the template's MONGODB_URI (%s) replaces the connection "
                 "string tether up gives it, so it loses MONGODB-AWS authentication with its "
                 "role %s to the embedded docstore on %s:%d, which requires authentication; "
                 "remove MONGODB_URI from its Environment (or Globals) to keep it",
                 s->name, shown, s->role_arn != NULL ? s->role_arn : "(none)", p->cfg.bind,
                 docstore_thread_port(p->db));
    }
}

static int start_database(platform_t *p)
{
    char uri[256];
    if (p->cfg.db_uri != NULL) {
        p->mongodb_uri = strdup(p->cfg.db_uri);
        log_info("platform", "functions use an external MongoDB (--db)");
        return p->mongodb_uri ? 0 : -1;
    }
    if (p->cfg.no_db) {
        log_info("platform", "no database (--no-db)");
        return 0;
    }
    docstore_config_t dc;
    docstore_config_init(&dc);
    dc.bind_address = p->cfg.bind;
    dc.port = p->cfg.db_port;
    dc.dir = p->cfg.db_dir;
    if (p->cfg.db_ttl_monitor_s > 0)
        dc.ttl_monitor_s = p->cfg.db_ttl_monitor_s;
    dc.max_time_ms = p->cfg.db_max_time_ms;
    char users_path[PATH_MAX], iam_path[PATH_MAX], password[32];
    static tlsgen_files_t tls_files;
    if (p->cfg.db_tls && prepare_db_tls(p, &dc, &tls_files) != 0)
        return -1;
    bool auth = platform_creds_count() > 0 || p->db_users != NULL;
    if (auth && prepare_db_auth(p, &dc, users_path, iam_path, sizeof users_path, password) != 0)
        return -1;
    docstore_thread_t *db = NULL;
    int rc = docstore_thread_start(&dc, &db);
    if (auth) {
        unlink(users_path);
        unlink(iam_path);
    }
    if (auth && rc == 0 && db != NULL) {
        char admin[PATH_MAX + 256], path[PATH_MAX];
        char admin_tls[PATH_MAX + 32] = "";
        if (p->db_ca != NULL)
            snprintf(admin_tls, sizeof admin_tls, "&tls=true&tlsCAFile=%s", p->db_ca);
        int n = snprintf(admin, sizeof admin, "mongodb://admin:%s@%s:%d/?authSource=admin%s\n",
                         password, p->cfg.bind, docstore_thread_port(db), admin_tls);
        if (write_private_file(p->auth_dir, "admin-uri", admin, (size_t)n, path, sizeof path))
            log_warn("platform", "cannot write %s", path);
        crypto_cleanse(admin, sizeof admin);
    }
    if (auth)
        crypto_cleanse(password, sizeof password);
    if ((rc != 0 || db == NULL) && p->cfg.db_dir != NULL) {
        /* the data asked for is not there (its folder in use by another
           server, unreadable): serving without it would lose writes */
        log_error("platform", "the embedded docstore did not start on --db-dir %s: stopping",
                  p->cfg.db_dir);
        return -1;
    }
    if (rc != 0 || db == NULL) {
        log_warn("platform", "the embedded docstore did not start: functions get no MONGODB_URI "
                             "(use --db URI for an external MongoDB, or --no-db to silence this)");
        return 0;
    }
    p->db = db;
    const char *tls = p->db_ca != NULL ? "tls=true" : "";
    if (auth)
        snprintf(uri, sizeof uri,
                 "mongodb://%s:%d/?authMechanism=MONGODB-AWS&authSource=%%24external%s%s",
                 p->cfg.bind, docstore_thread_port(db), tls[0] ? "&" : "", tls);
    else
        snprintf(uri, sizeof uri, "mongodb://%s:%d/%s%s", p->cfg.bind, docstore_thread_port(db),
                 tls[0] ? "?" : "", tls);
    p->mongodb_uri = strdup(uri);
    if (p->cfg.db_dir != NULL)
        log_info("platform", "docstore listening on %s:%d (data in %s)", p->cfg.bind,
                 docstore_thread_port(db), p->cfg.db_dir);
    else
        log_info("platform",
                 "docstore listening on %s:%d (data in memory, lost at exit: --db-dir DIR "
                 "keeps it)",
                 p->cfg.bind, docstore_thread_port(db));
    if (p->mongodb_uri == NULL)
        return -1;
    if (p->db_ca != NULL)
        log_info("platform",
                 "docstore accepts only TLS (--db-tls), as Atlas does: functions verify it "
                 "with a local CA, %s",
                 p->db_ca);
    if (auth) {
        char hint[64] = "";
        if (p->auth_lock_fd != -1)
            snprintf(hint, sizeof hint, " (`tether admin-uri --port %d` prints it)", p->api_port);
        log_info("platform",
                 "docstore requires authentication: functions use MONGODB-AWS with their "
                 "role's credentials; an admin connection string is in %s/admin-uri%s",
                 p->auth_dir, hint);
        if (p->db_users != NULL)
            log_info("platform",
                     "docstore users from %s: each role has the roles of its $external user "
                     "there; a role without one fails authentication, as on Atlas",
                     p->cfg.db_users);
        else
            log_info("platform",
                     "docstore: every function's role gets readWriteAnyDatabase (--db-users FILE "
                     "gives each role only its own privileges, as on Atlas)");
        warn_template_uris(p);
    }
    return 0;
}

/*
 * AWS Lambda gives every function an execution role (SAM makes one when the
 * template names none). Once any function has a Role, the embedded docstore
 * requires IAM authentication, so functions without one get SAM's default
 * role, named after the function, in the same account.
 */
static int assign_default_roles(platform_t *p)
{
    platform_template_t *t = p->tmpl;
    const char *account = NULL;
    size_t account_len = 0;
    for (size_t i = 0; i < t->n_functions && account == NULL; i++) {
        const char *arn = t->functions[i].role_arn;
        /* arn:aws:iam::ACCOUNT:role/NAME */
        if (arn != NULL && strncmp(arn, "arn:aws:iam::", 13) == 0) {
            const char *end = strchr(arn + 13, ':');
            if (end != NULL) {
                account = arn + 13;
                account_len = (size_t)(end - account);
            }
        }
    }
    bool any = false;
    for (size_t i = 0; i < t->n_functions; i++)
        any = any || t->functions[i].role_arn != NULL;
    if ((!any && p->cfg.db_users == NULL) || p->cfg.db_uri != NULL || p->cfg.no_db)
        return 0;
    if (account == NULL) {
        account = "123456789012";
        account_len = 12;
    }
    for (size_t i = 0; i < t->n_functions; i++) {
        platform_function_spec_t *f = &t->functions[i];
        if (f->role_arn != NULL)
            continue;
        char arn[512];
        snprintf(arn, sizeof arn, "arn:aws:iam::%.*s:role/%s-role-tether", (int)account_len,
                 account, f->logical_id);
        f->role_arn = strdup(arn);
        if (f->role_arn == NULL)
            return -1;
        log_info("platform", "function %s has no Role: it gets the default execution role %s",
                 f->name, arn);
    }
    return 0;
}

/* Reads path into out (at most out->max bytes). 0, or -1 with errno set. */
static int read_small_file(const char *path, buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    char chunk[8192];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n == 0 ? 0 : -1;
            break;
        }
        if (buf_append(out, chunk, (size_t)n) != 0) {
            errno = EFBIG;
            rc = -1;
            break;
        }
    }
    crypto_cleanse(chunk, sizeof chunk);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Does a hold a user named user in db? The docstore's saslSupportedMechs
 * lookup answers exactly that: nothing for an unknown user. */
static bool db_users_has(const docstore_auth_t *a, const char *db, const char *user)
{
    char key[1024];
    if (snprintf(key, sizeof key, "%s.%s", db, user) >= (int)sizeof key)
        return false;
    bson_t reply = BSON_INITIALIZER;
    docstore_auth_append_mechs(a, key, true, true, &reply);
    bool found = bson_has_field(&reply, "saslSupportedMechs");
    bson_destroy(&reply);
    return found;
}

/* Appends ", name" (or name first) to a list for a log line. */
static void list_add(buf_t *list, const char *name)
{
    int rc = buf_printf(list, "%s%s", list->len ? ", " : "", name);
    (void)rc; /* past the buffer's cap the list is cut short: it is only for a log line */
}

/* Was f's role given by assign_default_roles (SAM's LOGICALID-role-tether)? */
static bool has_default_role(const platform_function_spec_t *f)
{
    char tail[300];
    int n = snprintf(tail, sizeof tail, ":role/%s-role-tether", f->logical_id);
    size_t len = strlen(f->role_arn);
    return n > 0 && (size_t)n < sizeof tail && len >= (size_t)n &&
           strcmp(f->role_arn + len - (size_t)n, tail) == 0;
}

/*
 * Names, at start, each role of the template that has no $external user in
 * the --db-users file: its functions will fail MONGODB-AWS authentication to
 * the docstore (as on Atlas), so say which user to add. A Role the template
 * names is warned about, one line per role; the default execution roles of
 * functions without a Role (most of which never use a database) share one
 * line.
 */
static void report_roles_without_user(platform_t *p, const docstore_auth_t *a)
{
    const platform_template_t *t = p->tmpl;
    buf_t defaults, names;
    buf_init(&defaults, 1024);
    buf_init(&names, 1024);
    for (size_t i = 0; i < t->n_functions; i++) {
        const platform_function_spec_t *f = &t->functions[i];
        if (f->role_arn == NULL || db_users_has(a, "$external", f->role_arn))
            continue;
        if (has_default_role(f)) {
            list_add(&defaults, f->name);
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = t->functions[k].role_arn != NULL &&
                   strcmp(t->functions[k].role_arn, f->role_arn) == 0;
        if (seen)
            continue; /* named with the first function that has it */
        buf_reset(&names);
        int n = 0;
        for (size_t k = i; k < t->n_functions; k++) {
            const platform_function_spec_t *g = &t->functions[k];
            if (g->role_arn != NULL && strcmp(g->role_arn, f->role_arn) == 0) {
                list_add(&names, g->name);
                n++;
            }
        }
        log_warn("platform",
                 "role %s (%s) has no $external user in %s: %s MONGODB-AWS authentication "
                 "to the docstore, as on Atlas; add {\"user\": \"%s\", \"db\": \"$external\", "
                 "\"roles\": [...]} to %s",
                 f->role_arn, names.data ? names.data : f->name, p->cfg.db_users,
                 n > 1 ? "these functions fail" : "the function fails", f->role_arn,
                 p->cfg.db_users);
    }
    if (defaults.len > 0)
        log_info("platform",
                 "functions without a Role (%s) run with default execution roles that have no "
                 "$external user in %s: they cannot use the docstore",
                 defaults.data, p->cfg.db_users);
    buf_free(&defaults);
    buf_free(&names);
}

/*
 * --db-users FILE: the developer's database users, as on Atlas, where each
 * IAM role is a $external user with its own roles. The docstore's own loader
 * checks the file now (a bad entry stops tether up, naming the file and the
 * entry, never a secret); its text is kept for the users file written at
 * docstore start, after tether up's own admin user, and the template's roles
 * without a user are named.
 */
static int load_db_users(platform_t *p)
{
    const char *path = p->cfg.db_users;
    docstore_auth_t *a = NULL;
    docstore_error_t derr;
    memset(&derr, 0, sizeof derr);
    if (docstore_auth_new(path, NULL, &a, &derr) != 0) {
        fprintf(stderr, "tether up: --db-users: %s\n", derr.msg);
        docstore_error_clear(&derr);
        return -1;
    }
    int rc = -1;
    buf_t text;
    buf_init(&text, DB_USERS_MAX);
    if (db_users_has(a, "admin", "admin")) {
        fprintf(stderr,
                "tether up: --db-users: %s: user admin (db admin) is tether up's own "
                "administrator (its admin-uri): give yours another name\n",
                path);
        goto out;
    }
    if (read_small_file(path, &text) != 0) {
        fprintf(stderr, "tether up: --db-users: cannot read %s: %s\n", path, strerror(errno));
        goto out;
    }
    report_roles_without_user(p, a);
    p->db_users_len = text.len;
    p->db_users = buf_steal(&text, NULL);
    rc = p->db_users != NULL ? 0 : -1; /* the loader refuses an empty file */
out:
    if (text.data != NULL)
        crypto_cleanse(text.data, text.len);
    buf_free(&text);
    docstore_auth_free(a);
    return rc;
}

static void platform_free(platform_t *p)
{
    reap_all(p);
    for (size_t i = 0; i < p->n_functions; i++)
        platform_function_free(p->functions[i]);
    free(p->functions);
    platform_cgroups_free(p->cgroups); /* after the instances: removes what is left */
    platform_code_release(p); /* unpacked zips: no instance uses them any more */
    platform_invoke_api_stop(p);
    docstore_thread_stop(p->db);
    if (p->tmpl != NULL)
        platform_template_free(p->tmpl);
    platform_creds_clear();
    if (p->auth_dir[0] != '\0') {
        for (size_t i = 0; p->db_ca != NULL && i < sizeof tls_file_names / sizeof tls_file_names[0];
             i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", p->auth_dir, tls_file_names[i]);
            unlink(path);
        }
        platform_admin_dir_remove(p->auth_dir, p->auth_lock_fd);
    }
    free(p->db_ca);
    free(p->db_ca_bundle);
    free(p->mongodb_uri);
    if (p->db_users != NULL) {
        crypto_cleanse(p->db_users, p->db_users_len);
        free(p->db_users);
    }
    if (p->ev_sigchld)
        event_free(p->ev_sigchld);
    if (p->ev_sigint)
        event_free(p->ev_sigint);
    if (p->ev_sigterm)
        event_free(p->ev_sigterm);
    if (p->stop_timer)
        event_free(p->stop_timer);
    if (p->base)
        event_base_free(p->base);
}

int platform_up_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"template", required_argument, NULL, 't'},
        {"port", required_argument, NULL, 'p'},
        {"db-port", required_argument, NULL, 'P'},
        {"db-dir", required_argument, NULL, 'd'},
        {"db", required_argument, NULL, 'D'},
        {"no-db", no_argument, NULL, 'n'},
        {"db-users", required_argument, NULL, 'u'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"retry-delay", required_argument, NULL, 'r'},
        {"http-idle-timeout", required_argument, NULL, 'H'},
        {"bind", required_argument, NULL, 'b'},
        {"isolate", no_argument, NULL, 'I'},
        {"no-isolate", no_argument, NULL, 'N'},
        {"db-tls", no_argument, NULL, 'T'},
        {"db-ttl-monitor-seconds", required_argument, NULL, 'L'},
        {"db-max-time-ms", required_argument, NULL, 'B'},
        {"no-cgroups", no_argument, NULL, 'G'},
        {"header-timeout", required_argument, NULL, 'E'},
        {"max-connections", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    platform_t pl;
    memset(&pl, 0, sizeof pl);
    platform_t *p = &pl;
    p->auth_lock_fd = -1;
    p->cfg.template_path = "template.yaml";
    p->cfg.bind = "127.0.0.1";
    p->cfg.port = 9000;
    p->cfg.db_port = 27017;
    p->cfg.db_max_time_ms = DOCSTORE_MAX_TIME_MS_DEFAULT;
    p->cfg.idle_timeout_s = 300;
    p->cfg.http_idle_timeout_s = 60; /* about when AWS's endpoint closes an idle keep-alive */
    p->cfg.header_timeout_s = 10;    /* every request head (and body, more); at most the idle one */
    p->cfg.retry_delay_ms = 1000;    /* AWS waits 1 min then 2 min; locally 1 s then 2 s */
    p->cfg.region =
        getenv("AWS_REGION") && getenv("AWS_REGION")[0] ? getenv("AWS_REGION") : "us-east-1";
    p->cfg.account = "123456789012";
    p->cfg.isolate = -1; /* zips isolated, folders not */
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            p->cfg.template_path = optarg;
            break;
        case 'p':
            if (parse_int(optarg, 0, 65535, &p->cfg.port) != 0) {
                fprintf(stderr, "tether up: bad --port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'P':
            if (parse_int(optarg, 0, 65535, &p->cfg.db_port) != 0) {
                fprintf(stderr, "tether up: bad --db-port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'd':
            p->cfg.db_dir = optarg;
            break;
        case 'D':
            p->cfg.db_uri = optarg;
            break;
        case 'n':
            p->cfg.no_db = 1;
            break;
        case 'T':
            p->cfg.db_tls = 1;
            break;
        case 'L':
            if (parse_int(optarg, 1, 86400, &p->cfg.db_ttl_monitor_s) != 0) {
                fprintf(stderr, "tether up: bad --db-ttl-monitor-seconds '%s'\n", optarg);
                return 2;
            }
            break;
        case 'B':
            if (parse_int(optarg, 0, INT_MAX, &p->cfg.db_max_time_ms) != 0) {
                fprintf(stderr, "tether up: bad --db-max-time-ms '%s' (milliseconds, 0: none)\n",
                        optarg);
                return 2;
            }
            break;
        case 'G':
            p->cfg.no_cgroups = 1;
            break;
        case 'E':
            if (parse_int(optarg, 1, 86400, &p->cfg.header_timeout_s) != 0) {
                fprintf(stderr, "tether up: bad --header-timeout '%s' (seconds)\n", optarg);
                return 2;
            }
            break;
        case 'M':
            if (parse_int(optarg, 1, 1000000, &p->cfg.max_connections) != 0) {
                fprintf(stderr, "tether up: bad --max-connections '%s'\n", optarg);
                return 2;
            }
            break;
        case 'u':
            p->cfg.db_users = optarg;
            break;
        case 'i':
            if (parse_int(optarg, 0, 86400 * 365, &p->cfg.idle_timeout_s) != 0) {
                fprintf(stderr, "tether up: bad --idle-timeout '%s'\n", optarg);
                return 2;
            }
            break;
        case 'H':
            if (parse_int(optarg, 1, 86400, &p->cfg.http_idle_timeout_s) != 0) {
                fprintf(stderr, "tether up: bad --http-idle-timeout '%s' (seconds)\n", optarg);
                return 2;
            }
            break;
        case 'r':
            if (parse_int(optarg, 0, 3600 * 1000, &p->cfg.retry_delay_ms) != 0) {
                fprintf(stderr, "tether up: bad --retry-delay '%s' (milliseconds)\n", optarg);
                return 2;
            }
            break;
        case 'b':
            p->cfg.bind = optarg;
            break;
        case 'I':
            p->cfg.isolate = 1;
            break;
        case 'N':
            p->cfg.isolate = 0;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tether up: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (p->cfg.header_timeout_s > p->cfg.http_idle_timeout_s)
        p->cfg.header_timeout_s = p->cfg.http_idle_timeout_s;
    if (p->cfg.db_users != NULL && (p->cfg.db_uri != NULL || p->cfg.no_db)) {
        fprintf(stderr, "tether up: --db-users is for the embedded docstore: not with %s\n",
                p->cfg.no_db ? "--no-db" : "--db");
        return 2;
    }
    int status = 1;
    char err[1024];
    signal(SIGPIPE, SIG_IGN);
    if (platform_template_load(p->cfg.template_path, &p->tmpl, err, sizeof err) != 0) {
        fprintf(stderr, "tether up: %s\n", err);
        return 1;
    }
    /* The changelist batches the epoll_ctl calls evhttp makes enabling and
     * disabling each connection's read and write events within one loop
     * turn: a third fewer syscalls per invocation. */
    struct event_config *ec = event_config_new();
    if (ec != NULL) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        p->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    if (p->base == NULL)
        p->base = event_base_new();
    if (p->base == NULL) {
        log_error("platform", "event_base_new failed");
        goto out;
    }
    p->started_us = platform_now_us();
    if (start_containment(p) != 0)
        goto out;
    if (assign_default_roles(p) != 0 || (p->cfg.db_users != NULL && load_db_users(p) != 0) ||
        platform_code_prepare(p) != 0)
        goto out;
    p->functions = calloc(p->tmpl->n_functions ? p->tmpl->n_functions : 1, sizeof *p->functions);
    if (p->functions == NULL)
        goto out;
    for (size_t i = 0; i < p->tmpl->n_functions; i++) {
        const platform_function_spec_t *spec = &p->tmpl->functions[i];
        if (platform_find_function(p, spec->name) != NULL) {
            fprintf(stderr, "tether up: %s:%d: function name '%s' used twice\n",
                    p->cfg.template_path, spec->line, spec->name);
            goto out;
        }
        if (platform_function_new(p, spec, &p->functions[p->n_functions], err, sizeof err) != 0) {
            fprintf(stderr, "tether up: %s\n", err);
            goto out;
        }
        p->n_functions++;
        if (spec->role_arn != NULL && platform_creds_for_role(spec->role_arn) == NULL)
            goto out;
    }
    /* Instance exits arrive on a pidfd each where the kernel has them; a
     * SIGCHLD handler would also be woken by every freeze and thaw. */
    if (!platform_instance_pidfd_supported())
        p->ev_sigchld = evsignal_new(p->base, SIGCHLD, on_sigchld, p);
    p->ev_sigint = evsignal_new(p->base, SIGINT, on_sigstop, p);
    p->ev_sigterm = evsignal_new(p->base, SIGTERM, on_sigstop, p);
    if ((p->ev_sigchld != NULL && evsignal_add(p->ev_sigchld, NULL) != 0) || p->ev_sigint == NULL ||
        p->ev_sigterm == NULL || evsignal_add(p->ev_sigint, NULL) != 0 ||
        evsignal_add(p->ev_sigterm, NULL) != 0) {
        log_error("platform", "cannot install signal handlers");
        goto out;
    }
    if (platform_invoke_api_start(p) != 0)
        goto out;
    for (size_t i = 0; i < p->n_functions; i++) {
        const platform_function_spec_t *s = p->functions[i]->spec;
        log_info("platform", "function %s (%s, %d MB, %d s, concurrency %d)", s->name, s->runtime,
                 s->memory_mb, s->timeout_s, s->reserved_concurrency);
    }
    /* first "listening" line: tests and scripts read the Invoke API port from it */
    log_info("platform", "platform listening on %s:%d", p->cfg.bind, p->api_port);
    if (start_database(p) != 0)
        goto out;
    event_base_dispatch(p->base);
    status = 0;
out:
    platform_free(p);
    return status;
}
