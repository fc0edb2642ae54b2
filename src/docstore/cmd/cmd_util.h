/*
 * Helpers the CRUD and DDL command handlers share: reading typed fields of a
 * command document with MongoDB's error messages, namespaces, and putting an
 * _id (generated when missing) first in a document to be stored.
 */
#ifndef TETHER_DOCSTORE_CMD_UTIL_H
#define TETHER_DOCSTORE_CMD_UTIL_H

#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The collection named by the command's first field (a non-empty string).
 * Borrowed from cmd. InvalidNamespace (73) otherwise. */
int docstore_cmd_coll(const bson_t *cmd, const char **coll /* OUT */, docstore_error_t *err);

/* Optional document field: *present false when absent (out untouched); a
 * present field of another type is TypeMismatch (14). out is a static view
 * into cmd. 0 or -1. */
int docstore_cmd_doc(const bson_t *cmd, const char *cmd_name, const char *field, bson_t *out,
                     bool *present /* OUT */, docstore_error_t *err);
/* Same for an array field (out is the array as a document). */
int docstore_cmd_array(const bson_t *cmd, const char *cmd_name, const char *field, bson_t *out,
                       bool *present /* OUT */, docstore_error_t *err);
/* Optional numeric field as int64 (def when absent); other types: TypeMismatch. */
int docstore_cmd_int64(const bson_t *cmd, const char *cmd_name, const char *field, int64_t def,
                       int64_t *out /* OUT */, docstore_error_t *err);
/* Optional boolean-ish field (bool or number), def when absent. */
bool docstore_cmd_bool(const bson_t *cmd, const char *field, bool def);
/* Whether cmd has field. */
bool docstore_cmd_has(const bson_t *cmd, const char *field);

/* "db.coll" into out. */
void docstore_cmd_ns(char *out, size_t n, const char *db, const char *coll);

/* Copies doc into out (bson_init'd by the caller) with _id as the first field;
 * when doc has none, a new ObjectId. id (may be NULL) receives a copy of the
 * _id: free it with bson_value_destroy. 0 or -1. */
int docstore_doc_with_id_first(const bson_t *doc, bson_t *out, bson_value_t *id /* OUT */,
                               docstore_error_t *err);

#endif
