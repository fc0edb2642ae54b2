/*
 * A growable list of owned BSON documents: how result sets move between the
 * storage scan, the query engine, the aggregation pipeline and cursors.
 */
#ifndef TETHER_DOCSTORE_DOCLIST_H
#define TETHER_DOCSTORE_DOCLIST_H

#include <bson/bson.h>

typedef struct docstore_doclist {
    bson_t **docs; /* owned array of owned documents */
    size_t n;      /* documents in use */
    size_t cap;    /* slots allocated */
} docstore_doclist_t;

void docstore_doclist_init(docstore_doclist_t *l);
/* Takes ownership of doc (a heap bson_t from bson_new/bson_copy). 0, or -1 when
 * out of memory (doc is then destroyed). */
__attribute__((warn_unused_result)) int docstore_doclist_push(docstore_doclist_t *l, bson_t *doc);
/* Copies doc into the list. 0 or -1. */
__attribute__((warn_unused_result)) int docstore_doclist_push_copy(docstore_doclist_t *l,
                                                                   const bson_t *doc);
/* Destroys every document and the array; the list is empty and reusable. */
void docstore_doclist_free(docstore_doclist_t *l);

#endif
