/*
 * Authentication and authorization: the users (--users) and the IAM registry
 * (--iam) loaded at start, SASL conversations for SCRAM-SHA-256, SCRAM-SHA-1
 * and MONGODB-AWS, and the principal a finished conversation proves with the
 * roles it holds. Passwords are turned into SCRAM keys at load and dropped;
 * secrets never reach a log line or an error message.
 */
#ifndef TETHER_DOCSTORE_AUTH_H
#define TETHER_DOCSTORE_AUTH_H

#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef struct docstore_auth docstore_auth_t;
typedef struct docstore_sasl docstore_sasl_t;

/* An authenticated user and its roles. */
typedef struct docstore_principal {
    char user[256]; /* "app", or a role ARN for $external users */
    char db[128];   /* the user's database ("$external" for MONGODB-AWS) */
    bson_t roles;   /* [{role, db}] */
    int64_t uid;    /* the user's number in this server run, from 1 (cursors keep it) */
} docstore_principal_t;

/* Loads users_file and iam_file (either may be NULL). A bad file is an error
 * naming the file and the entry, never its secrets. 0 and *out, or -1. */
__attribute__((warn_unused_result)) int docstore_auth_new(const char *users_file,
                                                          const char *iam_file,
                                                          docstore_auth_t **out,
                                                          docstore_error_t *err);
void docstore_auth_free(docstore_auth_t *a);

/* Appends saslSupportedMechs for "db.user" to reply, as MongoDB does: nothing
 * for an unknown user; for a known one the enabled mechanisms it can use
 * (SCRAM-SHA-1 and SCRAM-SHA-256 for a password user when scram, MONGODB-AWS
 * for a $external user when aws), possibly none. */
void docstore_auth_append_mechs(const docstore_auth_t *a, const char *db_user, bool scram,
                                bool aws, bson_t *reply);

/* Starts a conversation for saslStart on db with mechanism and the client's
 * first payload. Appends {conversationId, done, payload} to reply. A failure
 * is AuthenticationFailed (18) without saying which part was wrong, or
 * MechanismUnavailable (334) for an unknown mechanism. now is the clock for
 * MONGODB-AWS date checks (time(NULL) in the server). 0 and *out, or -1. */
__attribute__((warn_unused_result)) int
docstore_sasl_start(docstore_auth_t *a, const char *db, const char *mechanism,
                    const uint8_t *payload, uint32_t len, bool skip_empty_exchange,
                    docstore_sasl_t **out, bson_t *reply, docstore_error_t *err);

/* The next step of the conversation (saslContinue). Appends {conversationId,
 * done, payload} to reply. 0, or -1 (the conversation is then dead). */
__attribute__((warn_unused_result)) int docstore_sasl_continue(docstore_sasl_t *s, time_t now,
                                                               const uint8_t *payload,
                                                               uint32_t len, bson_t *reply,
                                                               docstore_error_t *err);

/* After a successful final step: the proven principal (copy it to keep it). */
bool docstore_sasl_done(const docstore_sasl_t *s);
/* The database saslStart ran on (saslContinue must stay on it). */
const char *docstore_sasl_db(const docstore_sasl_t *s);
const docstore_principal_t *docstore_sasl_principal(const docstore_sasl_t *s);
const char *docstore_sasl_mechanism(const docstore_sasl_t *s);
void docstore_sasl_free(docstore_sasl_t *s);

/* What a command needs on its database. */
typedef enum docstore_access {
    DOCSTORE_ACCESS_READ = 0,     /* find, count, listCollections, ...: read */
    DOCSTORE_ACCESS_WRITE = 1,    /* insert, update, drop, createIndexes, ...: readWrite */
    DOCSTORE_ACCESS_DB_ADMIN = 2, /* dropDatabase: dbOwner (readWrite lacks it in MongoDB) */
} docstore_access_t;

/* Cluster-wide privileges, beyond any database. */
typedef enum docstore_cluster {
    DOCSTORE_CLUSTER_NONE = 0,    /* none */
    DOCSTORE_CLUSTER_MONITOR = 1, /* serverStatus, currentOp of all users, hostInfo, getLog,
                                     getCmdLineOpts, getParameter: clusterMonitor, root */
    DOCSTORE_CLUSTER_ADMIN = 2,   /* also killAllSessions (killAnySession): root */
} docstore_cluster_t;

/* May p run a command that needs level on db? Roles, as MongoDB's built-in
 * ones: read, readWrite, dbOwner on a database; readAnyDatabase,
 * readWriteAnyDatabase, root on admin for every database (clusterMonitor on
 * admin grants cluster monitoring only). Other roles grant nothing. */
bool docstore_principal_allows(const docstore_principal_t *p, const char *db,
                               docstore_access_t level);
/* docstore_principal_allows with READ (write=false) or WRITE. */
bool docstore_principal_can(const docstore_principal_t *p, const char *db, bool write);
/* Does p hold the listDatabases action on the cluster (the any-database
 * roles, clusterMonitor)? */
bool docstore_principal_lists_databases(const docstore_principal_t *p);
/* Does p hold the cluster privileges of level (clusterMonitor, root on admin)? */
bool docstore_principal_cluster(const docstore_principal_t *p, docstore_cluster_t level);
/* Appends p's privileges to the array arr, as connectionStatus' showPrivileges
 * lists them: {resource: {db, collection: ""}, actions: [...]} per role
 * ("" for every database) and {resource: {cluster: true}, actions: [...]}
 * for the roles with cluster actions (listDatabases, serverStatus, ...). */
void docstore_principal_append_privileges(const docstore_principal_t *p, bson_t *arr);
void docstore_principal_copy(const docstore_principal_t *src, docstore_principal_t *dst);
void docstore_principal_clear(docstore_principal_t *p);

/* serverStatus.security.authentication.mechanisms.<mechanism>, as MongoDB counts. */
typedef struct docstore_auth_counters {
    int64_t received;         /* saslStart (direct or speculative) */
    int64_t successful;       /* conversations that authenticated */
    int64_t spec_received;    /* speculativeAuthenticate in a hello */
    int64_t spec_successful;  /* conversations begun speculatively that authenticated */
} docstore_auth_counters_t;

/* The conversationId of every conversation: one per connection, as MongoDB. */
#define DOCSTORE_SASL_CONVERSATION_ID 1

/* Error codes of authentication beyond error.h's. */
#define DOCSTORE_MECHANISM_UNAVAILABLE 334

#endif
