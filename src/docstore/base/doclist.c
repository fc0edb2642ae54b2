/* Growable list of owned documents; see doclist.h. */
#include "docstore/base/doclist.h"

#include <stdlib.h>

void docstore_doclist_init(docstore_doclist_t *l)
{
    l->docs = NULL;
    l->n = 0;
    l->cap = 0;
}

int docstore_doclist_push(docstore_doclist_t *l, bson_t *doc)
{
    if (doc == NULL)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        bson_t **p = realloc(l->docs, cap * sizeof *p);
        if (p == NULL) {
            bson_destroy(doc);
            return -1;
        }
        l->docs = p;
        l->cap = cap;
    }
    l->docs[l->n++] = doc;
    return 0;
}

int docstore_doclist_push_copy(docstore_doclist_t *l, const bson_t *doc)
{
    return docstore_doclist_push(l, bson_copy(doc));
}

void docstore_doclist_free(docstore_doclist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        bson_destroy(l->docs[i]);
    free(l->docs);
    docstore_doclist_init(l);
}
