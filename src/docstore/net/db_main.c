/*
 * `tether db`: the docstore alone. Parses the command line into a
 * docstore_config_t, refuses combinations it cannot honour with a clear
 * error, runs the server on its own libevent loop and stops cleanly on
 * SIGINT or SIGTERM.
 */
#include "common/log.h"
#include "common/tlsgen.h"
#include "docstore/net/conn.h"
#include "docstore/net/server.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tether db [--port N] [--bind ADDR] [--dir DIR] [--max-connections N]\n"
            "                 [--access-list CIDR,...] [--auth none|scram|aws|both]\n"
            "                 [--users FILE] [--iam FILE] [--idle-timeout SECONDS]\n"
            "                 [--message-timeout SECONDS] [--ttl-monitor-seconds S]\n"
            "                 [--max-time-ms MS] [--session-timeout-minutes M]\n"
            "                 [--max-cursor-memory-mb MB]\n"
            "                 [--tls-cert FILE --tls-key FILE | --tls-local DIR]\n"
            "\n"
            "Runs the docstore, a MongoDB-wire-compatible server on SQLite.\n"
            "  --port N             TCP port (default 27017; 0 picks a free one)\n"
            "  --bind ADDR          address to listen on (default 127.0.0.1)\n"
            "  --dir DIR            keep one SQLite file per database in DIR (default: memory)\n"
            "  --max-connections N  refuse connections past N (default: no limit)\n"
            "  --access-list LIST   accept only clients in these CIDR blocks\n"
            "  --auth MODE          require authentication (default none)\n"
            "  --users FILE         users for SCRAM (JSON)\n"
            "  --iam FILE           IAM credentials for MONGODB-AWS (JSON)\n"
            "  --idle-timeout S     close connections idle for S seconds (default: never)\n"
            "  --message-timeout S  close a connection whose message is still incomplete\n"
            "                       S seconds after its first byte (default: 30)\n"
            "  --ttl-monitor-seconds S  delete expired documents of TTL indexes every S\n"
            "                       seconds (default: 60, as mongod)\n"
            "  --max-time-ms MS     time budget of a query or write sent without maxTimeMS\n"
            "                       (default: 1000; 0: none, as mongod); past it: error 50\n"
            "  --session-timeout-minutes M  a session's cursors end M minutes after its\n"
            "                       last use (default: 30, as mongod)\n"
            "  --max-cursor-memory-mb MB  memory all open cursors may hold together\n"
            "                       (default: 256; 0: no cap)\n"
            "  --tls-cert/--tls-key PEM certificate chain and key: every connection uses TLS\n"
            "  --tls-local DIR     every connection uses TLS, with a certificate signed by a\n"
            "                      CA made at start in DIR (clients verify with DIR/ca.pem)\n");
}

static int parse_int(const char *opt, const char *v, long min, long max, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < min || n > max) {
        fprintf(stderr, "tether db: %s wants a number from %ld to %ld, not '%s'\n", opt, min, max,
                v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int parse_auth(const char *v, enum docstore_auth_mode *out)
{
    static const struct {
        const char *name;
        enum docstore_auth_mode mode;
    } modes[] = {{"none", DOCSTORE_AUTH_NONE},
                 {"scram", DOCSTORE_AUTH_SCRAM},
                 {"aws", DOCSTORE_AUTH_AWS},
                 {"both", DOCSTORE_AUTH_BOTH}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(v, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    }
    fprintf(stderr, "tether db: --auth is none, scram, aws or both, not '%s'\n", v);
    return -1;
}

static const char *tls_local_dir; /* --tls-local: where the local CA goes */

/* Parses argv into cfg. 0, 1 for --help, -1 on a usage error (printed). */
static int parse_args(int argc, char **argv, docstore_config_t *cfg)
{
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        char *val = NULL;
        char name[64];
        char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "tether db: unexpected argument '%s'\n", arg);
            return -1;
        }
        if (eq != NULL) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
            if (i + 1 >= argc) {
                fprintf(stderr, "tether db: %s needs a value\n", arg);
                return -1;
            }
            val = argv[++i];
        }
        int rc = 0;
        if (strcmp(name, "--port") == 0)
            rc = parse_int(name, val, 0, 65535, &cfg->port);
        else if (strcmp(name, "--bind") == 0)
            cfg->bind_address = val;
        else if (strcmp(name, "--dir") == 0)
            cfg->dir = val;
        else if (strcmp(name, "--max-connections") == 0)
            rc = parse_int(name, val, 0, 1000000, &cfg->max_connections);
        else if (strcmp(name, "--access-list") == 0)
            cfg->access_list = val;
        else if (strcmp(name, "--auth") == 0)
            rc = parse_auth(val, &cfg->auth);
        else if (strcmp(name, "--users") == 0)
            cfg->users_file = val;
        else if (strcmp(name, "--iam") == 0)
            cfg->iam_file = val;
        else if (strcmp(name, "--idle-timeout") == 0)
            rc = parse_int(name, val, 0, INT_MAX / 1000, &cfg->idle_timeout_s);
        else if (strcmp(name, "--message-timeout") == 0)
            rc = parse_int(name, val, 1, INT_MAX / 1000, &cfg->message_timeout_s);
        else if (strcmp(name, "--ttl-monitor-seconds") == 0)
            rc = parse_int(name, val, 1, 86400, &cfg->ttl_monitor_s);
        else if (strcmp(name, "--max-time-ms") == 0)
            rc = parse_int(name, val, 0, INT_MAX, &cfg->max_time_ms);
        else if (strcmp(name, "--session-timeout-minutes") == 0)
            rc = parse_int(name, val, 1, INT_MAX / 60000, &cfg->session_timeout_min);
        else if (strcmp(name, "--max-cursor-memory-mb") == 0) {
            int mb = 0;
            rc = parse_int(name, val, 0, 1024 * 1024, &mb);
            cfg->cursor_memory_max = (int64_t)mb * 1024 * 1024;
        } else if (strcmp(name, "--tls-cert") == 0)
            cfg->tls_cert = val;
        else if (strcmp(name, "--tls-key") == 0)
            cfg->tls_key = val;
        else if (strcmp(name, "--tls-local") == 0)
            tls_local_dir = val;
        else {
            fprintf(stderr, "tether db: unknown option '%s'\n", name);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Refuses combinations that cannot work, naming the fix. */
static int check_config(const docstore_config_t *cfg)
{
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        fprintf(stderr, "tether db: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (tls_local_dir != NULL && cfg->tls_cert != NULL) {
        fprintf(stderr, "tether db: --tls-local makes its own certificate: not with --tls-cert\n");
        return -1;
    }
    bool scram = cfg->auth == DOCSTORE_AUTH_SCRAM || cfg->auth == DOCSTORE_AUTH_BOTH;
    bool aws = cfg->auth == DOCSTORE_AUTH_AWS || cfg->auth == DOCSTORE_AUTH_BOTH;
    if (cfg->auth == DOCSTORE_AUTH_NONE && (cfg->users_file || cfg->iam_file)) {
        fprintf(stderr, "tether db: --users and --iam need --auth scram, aws or both\n");
        return -1;
    }
    if ((scram || aws) && cfg->users_file == NULL) {
        fprintf(stderr, "tether db: --auth %s needs --users FILE\n",
                scram && aws ? "both"
                : scram      ? "scram"
                             : "aws");
        return -1;
    }
    if (aws && cfg->iam_file == NULL) {
        fprintf(stderr, "tether db: --auth %s needs --iam FILE\n", scram ? "both" : "aws");
        return -1;
    }
    if (!aws && cfg->iam_file != NULL) {
        fprintf(stderr, "tether db: --iam is only used with --auth aws or both\n");
        return -1;
    }
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_info("docstore", "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(arg, NULL);
}

int docstore_main(int argc, char **argv)
{
    docstore_config_t cfg;
    docstore_config_init(&cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc != 0 || check_config(&cfg) != 0) {
        usage(stderr);
        return 2;
    }
    struct event_base *base = event_base_new();
    if (base == NULL) {
        fprintf(stderr, "tether db: cannot create the event loop\n");
        return 1;
    }
    docstore_server_t *server = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    int status = 1;
    static tlsgen_files_t tls_files;
    if (tls_local_dir != NULL) {
        char why[256] = "";
        if (mkdir(tls_local_dir, 0700) == -1 && errno != EEXIST)
            snprintf(why, sizeof why, "%s", strerror(errno));
        else if (tlsgen_make(tls_local_dir, cfg.bind_address, &tls_files, why, sizeof why) != 0 &&
                 why[0] == '\0')
            snprintf(why, sizeof why, "cannot make the certificates");
        if (why[0] != '\0') {
            log_error("docstore", "--tls-local %s: %s", tls_local_dir, why);
            goto out;
        }
        cfg.tls_cert = tls_files.cert;
        cfg.tls_key = tls_files.key;
        log_info("docstore", "TLS with a local CA: clients verify the server with %s",
                 tls_files.ca);
    }
    if (docstore_server_new(base, &cfg, &server) != 0)
        goto out;
    static char tether_name[] = "tether";
    char **full = calloc((size_t)argc + 1, sizeof *full);
    if (full != NULL) {
        full[0] = tether_name;
        for (int i = 0; i < argc; i++)
            full[i + 1] = argv[i];
        docstore_server_set_argv(server, argc + 1, full);
        free(full);
    }
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) == -1 ||
        evsignal_add(sigterm, NULL) == -1) {
        log_error("docstore", "cannot install signal handlers");
        goto out;
    }
    if (event_base_dispatch(base) == -1) {
        log_error("docstore", "event loop failed");
        goto out;
    }
    status = 0;
    log_info("docstore", "stopped");
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    docstore_server_free(server);
    event_base_free(base);
    return status;
}
