/*
 * Order-preserving key encoding: turns a BSON value into bytes whose memcmp
 * order is MongoDB's comparison order (value.h), so SQLite's BLOB ordering
 * sorts _ids and index keys as MongoDB does. Numbers of every type encode
 * alike when equal (1, 1.0 and NumberLong(1) give the same bytes), strings by
 * their binary order, documents and arrays element by element. Encodings are
 * prefix-free, so compound keys are plain concatenations, and a descending
 * component is its bytes complemented. Also builds the set of index keys of a
 * document for a key pattern (one per array element: multikey).
 */
#ifndef TETHER_DOCSTORE_KEYENC_H
#define TETHER_DOCSTORE_KEYENC_H

#include "common/buf.h"
#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first byte of every encoded value: its type bracket. */
enum docstore_key_rank {
    DOCSTORE_KEY_END = 0x00,        /* ends a document or array (not a value) */
    DOCSTORE_KEY_MINKEY = 0x10,     /* MinKey */
    DOCSTORE_KEY_NULL = 0x14,       /* null, undefined and missing */
    DOCSTORE_KEY_NUMBER = 0x18,     /* int32, int64, double, decimal128 */
    DOCSTORE_KEY_STRING = 0x1c,     /* string and symbol */
    DOCSTORE_KEY_OBJECT = 0x20,     /* embedded document */
    DOCSTORE_KEY_ARRAY = 0x24,      /* array */
    DOCSTORE_KEY_BINARY = 0x28,     /* binData */
    DOCSTORE_KEY_OID = 0x2c,        /* ObjectId */
    DOCSTORE_KEY_BOOL = 0x30,       /* boolean */
    DOCSTORE_KEY_DATE = 0x34,       /* UTC datetime */
    DOCSTORE_KEY_TIMESTAMP = 0x38,  /* timestamp */
    DOCSTORE_KEY_REGEX = 0x3c,      /* regular expression */
    DOCSTORE_KEY_DBPOINTER = 0x40,  /* DBPointer */
    DOCSTORE_KEY_CODE = 0x44,       /* JavaScript code */
    DOCSTORE_KEY_CODEWSCOPE = 0x48, /* code with scope */
    DOCSTORE_KEY_MAXKEY = 0x7f,     /* MaxKey */
};

/* Cap on one encoded key: past it a value is not indexable. */
#define DOCSTORE_KEY_MAX (16 * 1024 * 1024)

/* The bracket byte of a BSON type. */
uint8_t docstore_key_rank(bson_type_t t);

/* Appends the encoding of v to b. descending complements the bytes written.
 * 0, or -1 (out of memory, key too large, nesting past 100 levels). */
__attribute__((warn_unused_result)) int docstore_key_append(buf_t *b, const bson_value_t *v,
                                                            bool descending);

/* A collated index's strings: sort_key appends to out the collator coll's
 * sort key for the UTF-8 string s[0..n) (ICU's ucol_getSortKey, without its
 * ending 0x00), whose byte order is the collation's order; 0 or -1. Storage
 * gets it from the server (docstore_storage_set_collation_ops): keyenc does
 * not know ICU. */
typedef struct docstore_key_coll {
    int (*sort_key)(const void *coll, const char *s, size_t n, buf_t *out);
    const void *coll;
} docstore_key_coll_t;

/* docstore_key_append with every string (also inside documents and arrays)
 * encoded by its sort key under kc; kc NULL: by its bytes. */
__attribute__((warn_unused_result)) int docstore_key_append_coll(buf_t *b, const bson_value_t *v,
                                                                 bool descending,
                                                                 const docstore_key_coll_t *kc);

/* The smallest byte string greater than every string starting with
 * key[0..len): key with its last non-0xFF byte incremented and the rest cut.
 * Writes into out (reset first). Returns false when no such string exists. */
bool docstore_key_prefix_end(const uint8_t *key, size_t len, buf_t *out);

/* The index keys of one document for a key pattern. */
typedef struct docstore_keyset {
    size_t n;             /* distinct keys */
    size_t nfields;       /* fields in the pattern */
    buf_t *keys;          /* n encoded keys, sorted, distinct */
    bson_value_t *values; /* n * nfields values behind each key (borrowed from the doc) */
    bool multikey;        /* an array lay on an indexed path: one field, several values */
} docstore_keyset_t;

/* Builds the keys of doc for fields/descending (nfields each). A missing field
 * keys as null; an array gives one key per element (multikey); two array
 * fields in one compound key are 171 CannotIndexParallelArrays. 0 or -1. */
__attribute__((warn_unused_result)) int
docstore_keyset_build(docstore_keyset_t *ks, const bson_t *doc, const char *const *fields,
                      const bool *descending, size_t nfields, docstore_error_t *err);
/* docstore_keyset_build for a collated index (kc as docstore_key_append_coll). */
__attribute__((warn_unused_result)) int
docstore_keyset_build_coll(docstore_keyset_t *ks, const bson_t *doc, const char *const *fields,
                           const bool *descending, size_t nfields, const docstore_key_coll_t *kc,
                           docstore_error_t *err);
void docstore_keyset_free(docstore_keyset_t *ks);

#endif
