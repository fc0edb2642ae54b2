/*
 * Mutable documents: a BSON document unpacked into a tree of nodes that keeps
 * field order, so the update engine and the $addFields/$unset stages can set,
 * insert and remove fields at any depth and then write the tree back as BSON.
 * Scalars keep their bson_value_t; documents and arrays hold child nodes,
 * unpacked lazily: a container nobody walks into stays as its raw bytes, so
 * updating one field of a document with a 10,000-element array does not
 * rebuild the array.
 */
#ifndef TETHER_DOCSTORE_MDOC_H
#define TETHER_DOCSTORE_MDOC_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

/* Deeper documents are refused when unpacked (MongoDB allows 100 levels in
 * stored documents; we leave room for what updates add). */
#define DOCSTORE_MDOC_MAX_DEPTH 180

typedef struct docstore_mnode docstore_mnode_t;
struct docstore_mnode {
    char *key;               /* owned field name; "" for array elements */
    bson_value_t v;          /* owned scalar; for containers only value_type is used */
    docstore_mnode_t **kids; /* owned children of a document or an array */
    size_t n;                /* children in use */
    size_t cap;              /* child slots allocated */
    bool packed;             /* container still held as raw bytes in v */
    bool borrowed;           /* v points into the source document: not freed */
};

/* A node holding a copy of v (documents and arrays packed: see
 * docstore_mnode_unpack), named key (NULL for ""). NULL when out of memory. */
docstore_mnode_t *docstore_mnode_from_value(const char *key, const bson_value_t *v);
/* The root node (a document) of doc, borrowing from doc: doc must outlive
 * the tree (values are copied out by docstore_mnode_to_doc). NULL on failure. */
docstore_mnode_t *docstore_mnode_from_doc(const bson_t *doc);
/* An empty document or array node named key. */
docstore_mnode_t *docstore_mnode_new_container(const char *key, bson_type_t t);
void docstore_mnode_free(docstore_mnode_t *n);

/* Renames n (copying key). false when out of memory. */
bool docstore_mnode_set_key(docstore_mnode_t *n, const char *key);

static inline bool docstore_mnode_is_container(const docstore_mnode_t *n)
{
    return n->v.value_type == BSON_TYPE_DOCUMENT || n->v.value_type == BSON_TYPE_ARRAY;
}

/* Appends the children of a document node to out (bson_init'd by the caller).
 * false when the result would not fit in a BSON document. */
bool docstore_mnode_to_doc(const docstore_mnode_t *n, bson_t *out);
/* The node as an owned value (free with bson_value_destroy). */
bool docstore_mnode_to_value(const docstore_mnode_t *n, bson_value_t *out /* OUT */);

/* Unpacks a packed container into child nodes (themselves packed); a no-op
 * otherwise. Call before touching kids/n. false when out of memory. */
bool docstore_mnode_unpack(docstore_mnode_t *n);
/* The index of the child named key in a document node (unpacked first), or
 * -1 (also when out of memory). */
ptrdiff_t docstore_mnode_find(docstore_mnode_t *n, const char *key);
/* Appends child (ownership taken even on failure). false when out of memory. */
bool docstore_mnode_append(docstore_mnode_t *n, docstore_mnode_t *child);
/* Inserts child at index i (0 ≤ i ≤ n; n unpacked first). Ownership taken
 * even on failure. */
bool docstore_mnode_insert(docstore_mnode_t *n, size_t i, docstore_mnode_t *child);
/* Frees child i and shifts the rest down. */
void docstore_mnode_remove(docstore_mnode_t *n, size_t i);
/* Frees child i and puts child in its place, keeping the old key. */
bool docstore_mnode_replace(docstore_mnode_t *n, size_t i, docstore_mnode_t *child);

/* Parses an array index path component: digits only, no sign, no leading zero
 * (as MongoDB reads "a.0" but not "a.01"). true and *out when s is one. */
bool docstore_path_index(const char *s, size_t *out /* OUT */);

#endif
