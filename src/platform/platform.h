/*
 * The platform's top-level state: one per `tether up`, owning the template,
 * the functions, the Invoke API listener, the embedded docstore and the
 * signal events, all on one event_base. up.c builds it; every other module
 * reaches the loop and the configuration through it.
 */
#ifndef TETHER_PLATFORM_PLATFORM_H
#define TETHER_PLATFORM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event;
struct evhttp;
struct platform_function;
struct platform_template;
struct docstore_thread;
struct platform_codezip;
struct platform_sandbox;
struct platform_cgroups;

typedef struct platform_config {
    const char *template_path; /* --template */
    const char *bind;          /* --bind: the Invoke API and docstore address */
    int port;                  /* --port; 0 picks one */
    int db_port;               /* --db-port */
    const char *db_dir;        /* --db-dir; NULL keeps the docstore in memory */
    const char *db_uri;        /* --db: an external MongoDB; no docstore */
    const char *db_users;      /* --db-users: the docstore users file giving each role its
                                  privileges; NULL: every role gets readWriteAnyDatabase */
    int no_db;                 /* --no-db: no database at all */
    int idle_timeout_s;        /* --idle-timeout: reap idle instances after this */
    int http_idle_timeout_s;   /* --http-idle-timeout: close an idle Invoke API connection */
    int header_timeout_s;      /* --header-timeout: every request's head must be in by
                                  then (its body: then plus 1 s per 64 KiB) */
    int max_connections;       /* --max-connections: Invoke API connections served at once;
                                  0: from the descriptor limit (invoke_api.c) */
    int retry_delay_ms;        /* --retry-delay: before an Event's first retry; doubled after */
    int db_tls;                /* --db-tls: the embedded docstore accepts only TLS */
    int db_ttl_monitor_s;      /* --db-ttl-monitor-seconds: its TTL monitor period (0: 60) */
    int db_max_time_ms;        /* --db-max-time-ms: the docstore's --max-time-ms */
    int no_cgroups;            /* --no-cgroups: contain instances with signals only */
    int isolate;               /* --isolate 1 (every provided.* function), --no-isolate 0,
                                  default -1 (zips only); see sandbox.h */
    const char *region;        /* AWS_REGION given to functions */
    const char *account;       /* the account id in ARNs */
} platform_config_t;

typedef struct platform {
    struct event_base *base;
    platform_config_t cfg;
    struct platform_template *tmpl;       /* owned */
    struct platform_function **functions; /* owned array of owned functions */
    size_t n_functions;
    char *mongodb_uri;                /* MONGODB_URI for functions; NULL without a db */
    struct evhttp *api;               /* the Invoke API server */
    int api_port;                     /* its bound port */
    struct docstore_thread *db;       /* the embedded docstore (on its own thread), or NULL */
    char *db_ca;                      /* --db-tls: the local CA's certificate file, or NULL */
    char *db_ca_bundle;               /* --db-tls: this machine's public CAs and the local CA:
                                         what unisolated functions verify with, or NULL */
    char auth_dir[64];                /* private folder of the docstore's admin-uri, "" if none */
    int auth_lock_fd;                 /* held while auth_dir is the port's named folder, else -1 */
    char *db_users;                   /* --db-users file's text, checked at start (it may hold
                                         passwords: cleansed when freed), or NULL */
    size_t db_users_len;              /* its length */
    struct platform_codezip *zips;    /* unpacked zips and the sandbox skeleton, or NULL */
    struct platform_sandbox *sandbox; /* isolation, when asked for and available; or NULL */
    struct platform_cgroups *cgroups; /* the instances' control groups (cgroup.h), or NULL */
    struct event *ev_sigchld, *ev_sigint, *ev_sigterm;
    struct event *stop_timer; /* SIGKILL stragglers at shutdown */
    int stopping;             /* shutdown begun: no new work */
    uint64_t started_us;      /* monotonic time of start */
} platform_t;

/* Monotonic microseconds. */
uint64_t platform_now_us(void);
/* Wall-clock milliseconds since the epoch. */
uint64_t platform_wall_ms(void);

/* Function lookup and the end-of-shutdown check read the functions: they
 * are function.h's (platform_find_function, platform_check_stopped). */

#endif
