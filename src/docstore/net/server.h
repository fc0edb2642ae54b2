/*
 * The docstore server: listens, accepts MongoDB wire connections, applies
 * Atlas's connection controls (limit, access list, idle timeout, auth), and
 * dispatches commands. Runs on a libevent base it is given, so `tether up`
 * embeds it in the platform's loop and `tether db` runs it alone.
 */
#ifndef TETHER_DOCSTORE_SERVER_H
#define TETHER_DOCSTORE_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

enum docstore_auth_mode {
    DOCSTORE_AUTH_NONE = 0,  /* no authentication required */
    DOCSTORE_AUTH_SCRAM = 1, /* SCRAM-SHA-256 / SCRAM-SHA-1 users from --users */
    DOCSTORE_AUTH_AWS = 2,   /* MONGODB-AWS against the --iam registry */
    DOCSTORE_AUTH_BOTH = 3,  /* either */
};

typedef struct docstore_config {
    const char *bind_address; /* "127.0.0.1" by default */
    int port;                 /* 27017 by default; 0 picks a free port */
    const char *dir;          /* SQLite files; NULL keeps everything in memory */
    int max_connections;      /* refuse past this many; 0 = unlimited */
    const char *access_list;  /* "CIDR,CIDR,..."; NULL allows all */
    enum docstore_auth_mode auth;
    const char *users_file;   /* JSON users (docs/docstore.md), NULL for none */
    const char *iam_file;     /* JSON IAM registry, NULL for none */
    int idle_timeout_s;       /* close connections idle this long; 0 = never */
    int message_timeout_s;    /* a begun message must complete within this (default 30) */
    const char *tls_cert;     /* PEM files; both NULL for plain TCP */
    const char *tls_key;
    int max_time_ms;           /* budget of a command sent without maxTimeMS (default
                                  DOCSTORE_MAX_TIME_MS_DEFAULT); 0 = none, as mongod */
    int session_timeout_min;   /* a session's cursors end this long after its last use
                                  (localLogicalSessionTimeoutMinutes, default 30) */
    int64_t cursor_memory_max; /* bytes all open cursors may hold together (default
                                  DOCSTORE_CURSOR_MEMORY_DEFAULT); 0 = no cap */
    int ttl_monitor_s; /* seconds between TTL monitor passes (mongod's 60) */
} docstore_config_t;

/* Defaults of the budgets above. */
#define DOCSTORE_MAX_TIME_MS_DEFAULT   1000
#define DOCSTORE_SESSION_TIMEOUT_MIN   30
#define DOCSTORE_CURSOR_MEMORY_DEFAULT ((int64_t)256 * 1024 * 1024)

typedef struct docstore_server docstore_server_t;

/* Fills cfg with the defaults above. */
void docstore_config_init(docstore_config_t *cfg);

/* Opens storage and starts listening on base. Strings in cfg are copied.
 * Returns 0 and *out, or -1 after logging why (port in use, bad file). */
__attribute__((warn_unused_result)) int docstore_server_new(struct event_base *base,
                                                            const docstore_config_t *cfg,
                                                            docstore_server_t **out);
/* The port actually bound (useful with port 0). */
int docstore_server_port(const docstore_server_t *s);
/* One open connection, as docstore_server_peers copies it. */
typedef struct docstore_peer {
    int64_t id;         /* connectionId */
    char peer[64];      /* "ip:port" of the client */
    int64_t created_ms; /* wall clock at accept */
} docstore_peer_t;

/* Copies up to max open connections (newest first) into out and returns how
 * many are open (may be more than max). Safe to call from any thread: it
 * takes only the lock that guards the connection list, and copies fields
 * fixed at accept. */
size_t docstore_server_peers(docstore_server_t *s, docstore_peer_t *out, size_t max);

/* Closes every connection and the listener, then the storage. */
void docstore_server_free(docstore_server_t *s);

/* The `tether db` command. argv[0] is "db". Returns the exit status. */
int docstore_main(int argc, char **argv);

#endif
