/*
 * The server's state and its connections, as the command handlers see them:
 * server.c owns both structs and their lifecycle; cmd_admin.c reads them for
 * hello, serverStatus and currentOp; command.c checks the auth state; cursor.c
 * ties cursors to the connection that opened them. Nothing outside the
 * docstore includes this header.
 */
#ifndef TETHER_DOCSTORE_CONN_H
#define TETHER_DOCSTORE_CONN_H

#include "docstore/auth/auth.h"
#include "docstore/cmd/cursor.h"
#include "docstore/net/server.h"
#include "docstore/storage/storage.h"

#include <bson/bson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

struct bufferevent;
struct event;
struct evconnlistener;

/* Where a connection is in authentication (the auth issue fills in SASL). */
enum docstore_conn_auth {
    DOCSTORE_CONN_AUTH_OPEN = 0,         /* the server requires no authentication */
    DOCSTORE_CONN_AUTH_NONE = 1,         /* authentication required, not done yet */
    DOCSTORE_CONN_AUTH_CONVERSATION = 2, /* a saslStart/saslContinue exchange is under way */
    DOCSTORE_CONN_AUTH_DONE = 3,         /* authenticated as user in user_db */
};

/* Where a connection is in its I/O. */
enum docstore_conn_state {
    DOCSTORE_CONN_READING = 0, /* waiting for bytes or working through complete messages */
    DOCSTORE_CONN_PAUSED = 1,  /* output over the high watermark: not reading until it drains */
    DOCSTORE_CONN_CLOSING = 2, /* a last reply is being flushed, then the connection is freed */
};

typedef struct docstore_conn {
    struct docstore_server *server; /* the owner */
    struct bufferevent *bev;        /* the socket, nonblocking */
    struct event *resume_ev;        /* continues messages left over by a bounded wakeup */
    struct event *read_ev;          /* plain TCP: reads the socket (NULL with TLS, where bev reads) */
    struct event *deadline_ev;      /* idle / message deadline (server.c conn_deadline_cb) */
    enum docstore_conn_state state; /* I/O state */
    size_t read_high;               /* input high watermark: 1 MiB, or the message being read */
    int64_t id;                     /* connectionId, from 1 */
    char peer[64];                  /* "ip:port" of the client */
    char who[128];                  /* log prefix: "docstore conn 17 127.0.0.1:5312" */
    int64_t created_ms;             /* wall clock at accept */
    int64_t last_active_ms;         /* monotonic ms of the last complete request */
    int64_t partial_since_ms;       /* monotonic ms the unfinished message began, 0 if none */
    bool tls_handshaking;           /* TLS: the handshake is under way (it counts as a message:
                                       it must end within --message-timeout of accept) */
    bool active;                    /* a command is running right now */
    bson_t *client_meta;            /* owned copy of the first hello's client document */
    enum docstore_conn_auth auth;   /* authentication state */
    char user[256];                 /* authenticated user name, "" until then */
    char user_db[64];               /* the user's database ("$external" for AWS) */
    struct docstore_sasl *sasl;     /* the SASL conversation under way, or NULL (auth.h) */
    bool sasl_speculative;          /* that conversation began in hello's speculativeAuthenticate */
    bool sasl_finished;             /* that conversation has authenticated the connection */
    docstore_principal_t *principal; /* owned, once authenticated */
    int64_t requests;               /* requests answered on this connection */
    struct docstore_conn *prev;     /* in server->conns */
    struct docstore_conn *next;
} docstore_conn_t;

/* One access-list entry: family plus the network and its prefix length. */
typedef struct docstore_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network address, IPv4 in the first 4 bytes */
    int prefix;       /* bits that must match */
} docstore_cidr_t;

/* serverStatus.opcounters */
typedef struct docstore_opcounters {
    int64_t insert, query, update, delete_, getmore, command;
} docstore_opcounters_t;

struct docstore_server {
    struct event_base *base;          /* not owned */
    docstore_config_t cfg;            /* strings point into owned copies below */
    char *owned_strings[8];           /* copies of cfg's strings */
    struct evconnlistener *listener;  /* the listening socket */
    struct event *tick_ev;            /* 1 s timer: cursor expiry, listener re-enable */
    bool accept_paused;               /* listener off for a moment after an accept error */
    int64_t ttl_next_ms;              /* monotonic time of the next TTL monitor pass */
    int port;                         /* the bound port */
    docstore_storage_t *storage;      /* the documents; NULL while storage is not built */
    docstore_auth_t *auth;            /* users and IAM registry; NULL with --auth none */
    docstore_auth_counters_t auth_counters[3]; /* per mechanism: SCRAM-SHA-1, SCRAM-SHA-256,
                                                  MONGODB-AWS (cmd_auth.c) */
    int64_t sasl_mechs_received;      /* hellos that asked for saslSupportedMechs */
    docstore_cursors_t *cursors;      /* open cursors of every connection */
    struct ssl_ctx_st *tls;           /* TLS context (--tls-cert), NULL for plain TCP */
    docstore_cidr_t *access;          /* the access list, NULL = everyone */
    size_t naccess;                   /* entries in access */
    docstore_conn_t *conns;           /* every open connection */
    pthread_mutex_t conns_lock;       /* held to link or unlink conns, and by
                                         docstore_server_peers from another thread */
    int32_t current;                  /* open connections */
    int64_t total_created;            /* connections accepted since start */
    int64_t rejected;                 /* refused past --max-connections */
    int64_t rejected_access;          /* refused by the access list */
    int64_t idle_closed;              /* closed by --idle-timeout */
    int64_t slow_closed;              /* closed by --message-timeout (slow-loris) */
    int64_t next_conn_id;             /* connectionId of the next connection */
    int32_t next_request_id;          /* requestID of the next reply */
    docstore_opcounters_t ops;        /* serverStatus.opcounters */
    int64_t bytes_in, bytes_out;      /* serverStatus.network */
    int64_t num_requests;             /* serverStatus.network.numRequests */
    int64_t started_ms;               /* monotonic ms at start */
    int64_t started_wall_ms;          /* wall clock at start */
    char host[256];                   /* hostname:port */
    bson_t *argv;                     /* getCmdLineOpts.argv, owned; may be NULL */
};

/* Parses "CIDR,CIDR,..." (IPv4 and IPv6, a bare address is /32 or /128) into
 * a new array (free() it). 0, or -1 with a message naming the bad entry. */
__attribute__((warn_unused_result)) int docstore_access_parse(const char *list,
                                                              docstore_cidr_t **out,
                                                              size_t *n /* OUT */, char *msg,
                                                              size_t msglen);
/* Is the address allowed by the list (an empty list allows everyone)? */
bool docstore_access_allows(const docstore_cidr_t *list, size_t n, const struct sockaddr *sa);

/* Records argv for getCmdLineOpts (copied). */
void docstore_server_set_argv(struct docstore_server *s, int argc, char **argv);

#endif
