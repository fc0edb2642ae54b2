/*
 * tether up: the command line, and the wiring of the platform's parts on one
 * event_base: template -> functions, the embedded docstore (or an external
 * MONGODB_URI), the Invoke API, SIGCHLD for instance exits, and SIGINT /
 * SIGTERM for a shutdown that leaves no process behind.
 */
#include "platform/up.h"

#include "common/buf.h"
#include "common/crypto.h"
#include "common/log.h"
#include "docstore/net/server.h"
#include "platform/admin_uri.h"
#include "platform/code.h"
#include "platform/creds.h"
#include "platform/function.h"
#include "platform/instance.h"
#include "platform/invoke_api.h"
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

#define STOP_BACKSTOP_S 3 /* shutdown ends the loop by then whatever happens */

static void usage(FILE *out)
{
    fprintf(out, "usage: tether up [--template FILE] [--port 9000] [--bind 127.0.0.1]\n"
                 "                 [--db-port 27017] [--db-dir DIR] [--db URI | --no-db]\n"
                 "                 [--idle-timeout SECONDS] [--retry-delay MS]\n"
                 "                 [--isolate | --no-isolate]\n"
                 "Runs the functions of an AWS SAM template behind a Lambda-compatible\n"
                 "Invoke API, with the embedded docstore as their MongoDB. The docstore keeps\n"
                 "its data in memory, lost at exit, unless --db-dir DIR names a folder.\n");
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
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/*
 * With roles in the template, the embedded docstore requires authentication
 * as Atlas does: MONGODB-AWS for functions (their role's credentials are in
 * their environment), SCRAM for an "admin" user whose connection string is
 * written to a private file for the developer's own tools. The users and IAM
 * files are read at docstore start and deleted at once.
 */
static int prepare_db_auth(platform_t *p, docstore_config_t *dc, char *users_path, char *iam_path,
                           size_t pathlen, char password[32])
{
    if (platform_admin_dir_make(p->api_port, p->auth_dir, sizeof p->auth_dir, &p->auth_lock_fd) !=
        0) {
        p->auth_dir[0] = '\0';
        log_error("platform", "cannot create a private folder for docstore users: %s",
                  strerror(errno));
        return -1;
    }
    uint8_t rnd[18];
    if (crypto_random(rnd, sizeof rnd) != 0)
        return -1;
    crypto_base64_encode(rnd, sizeof rnd, password);
    for (char *c = password; *c; c++) {
        if (*c == '+' || *c == '/')
            *c = 'x'; /* keep the password URI-safe */
    }
    buf_t users, iam;
    buf_init(&users, 1 << 20);
    buf_init(&iam, 1 << 20);
    int rc =
        platform_creds_users_json(&users, password) == 0 && platform_creds_iam_json(&iam) == 0 &&
                write_private_file(p->auth_dir, "users.json", users.data, users.len, users_path,
                                   pathlen) == 0 &&
                write_private_file(p->auth_dir, "iam.json", iam.data, iam.len, iam_path, pathlen) ==
                    0
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
                 docstore_server_port(p->db));
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
    char users_path[PATH_MAX], iam_path[PATH_MAX], password[32];
    bool auth = platform_creds_count() > 0;
    if (auth && prepare_db_auth(p, &dc, users_path, iam_path, sizeof users_path, password) != 0)
        return -1;
    docstore_server_t *db = NULL;
    int rc = docstore_server_new(p->base, &dc, &db);
    if (auth) {
        unlink(users_path);
        unlink(iam_path);
    }
    if (auth && rc == 0 && db != NULL) {
        char admin[256], path[PATH_MAX];
        int n = snprintf(admin, sizeof admin, "mongodb://admin:%s@%s:%d/?authSource=admin\n",
                         password, p->cfg.bind, docstore_server_port(db));
        if (write_private_file(p->auth_dir, "admin-uri", admin, (size_t)n, path, sizeof path))
            log_warn("platform", "cannot write %s", path);
        crypto_cleanse(admin, sizeof admin);
    }
    if (auth)
        crypto_cleanse(password, sizeof password);
    if (rc != 0 || db == NULL) {
        log_warn("platform", "the embedded docstore did not start: functions get no MONGODB_URI "
                             "(use --db URI for an external MongoDB, or --no-db to silence this)");
        return 0;
    }
    p->db = db;
    if (auth)
        snprintf(uri, sizeof uri,
                 "mongodb://%s:%d/?authMechanism=MONGODB-AWS&authSource=%%24external", p->cfg.bind,
                 docstore_server_port(db));
    else
        snprintf(uri, sizeof uri, "mongodb://%s:%d/", p->cfg.bind, docstore_server_port(db));
    p->mongodb_uri = strdup(uri);
    if (p->cfg.db_dir != NULL)
        log_info("platform", "docstore listening on %s:%d (data in %s)", p->cfg.bind,
                 docstore_server_port(db), p->cfg.db_dir);
    else
        log_info("platform",
                 "docstore listening on %s:%d (data in memory, lost at exit: --db-dir DIR "
                 "keeps it)",
                 p->cfg.bind, docstore_server_port(db));
    if (p->mongodb_uri == NULL)
        return -1;
    if (auth) {
        char hint[64] = "";
        if (p->auth_lock_fd != -1)
            snprintf(hint, sizeof hint, " (`tether admin-uri --port %d` prints it)", p->api_port);
        log_info("platform",
                 "docstore requires authentication: functions use MONGODB-AWS with their "
                 "role's credentials; an admin connection string is in %s/admin-uri%s",
                 p->auth_dir, hint);
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
    if (!any || p->cfg.db_uri != NULL || p->cfg.no_db)
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

static void platform_free(platform_t *p)
{
    reap_all(p);
    for (size_t i = 0; i < p->n_functions; i++)
        platform_function_free(p->functions[i]);
    free(p->functions);
    platform_code_release(p); /* unpacked zips: no instance uses them any more */
    platform_invoke_api_stop(p);
    if (p->db != NULL)
        docstore_server_free(p->db);
    if (p->tmpl != NULL)
        platform_template_free(p->tmpl);
    platform_creds_clear();
    if (p->auth_dir[0] != '\0')
        platform_admin_dir_remove(p->auth_dir, p->auth_lock_fd);
    free(p->mongodb_uri);
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
        {"idle-timeout", required_argument, NULL, 'i'},
        {"retry-delay", required_argument, NULL, 'r'},
        {"bind", required_argument, NULL, 'b'},
        {"isolate", no_argument, NULL, 'I'},
        {"no-isolate", no_argument, NULL, 'N'},
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
    p->cfg.idle_timeout_s = 300;
    p->cfg.retry_delay_ms = 1000; /* AWS waits 1 min then 2 min; locally 1 s then 2 s */
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
        case 'i':
            if (parse_int(optarg, 0, 86400 * 365, &p->cfg.idle_timeout_s) != 0) {
                fprintf(stderr, "tether up: bad --idle-timeout '%s'\n", optarg);
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
    if (assign_default_roles(p) != 0 || platform_code_prepare(p) != 0)
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
