/* Mutable document trees for updates and field-setting stages; see mdoc.h. */
#include "docstore/mdoc.h"

#include <stdlib.h>
#include <string.h>

static docstore_mnode_t *mnode_alloc(const char *key)
{
    docstore_mnode_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->key = strdup(key ? key : "");
    if (n->key == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

docstore_mnode_t *docstore_mnode_new_container(const char *key, bson_type_t t)
{
    docstore_mnode_t *n = mnode_alloc(key);
    if (n != NULL)
        n->v.value_type = t;
    return n;
}

static docstore_mnode_t *mnode_from_iter_children(docstore_mnode_t *n, const uint8_t *data,
                                                  uint32_t len, int depth);

static docstore_mnode_t *mnode_from_value_depth(const char *key, const bson_value_t *v, int depth)
{
    if (depth > DOCSTORE_MDOC_MAX_DEPTH)
        return NULL;
    docstore_mnode_t *n = mnode_alloc(key);
    if (n == NULL)
        return NULL;
    if (v->value_type == BSON_TYPE_DOCUMENT || v->value_type == BSON_TYPE_ARRAY) {
        n->v.value_type = v->value_type;
        return mnode_from_iter_children(n, v->value.v_doc.data, v->value.v_doc.data_len, depth);
    }
    bson_value_copy(v, &n->v);
    return n;
}

static docstore_mnode_t *mnode_from_iter_children(docstore_mnode_t *n, const uint8_t *data,
                                                  uint32_t len, int depth)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len)) {
        docstore_mnode_free(n);
        return NULL;
    }
    while (bson_iter_next(&it)) {
        docstore_mnode_t *c = mnode_from_value_depth(
            n->v.value_type == BSON_TYPE_ARRAY ? "" : bson_iter_key(&it), bson_iter_value(&it),
            depth + 1);
        if (c == NULL || !docstore_mnode_append(n, c)) {
            docstore_mnode_free(n);
            return NULL;
        }
    }
    return n;
}

docstore_mnode_t *docstore_mnode_from_value(const char *key, const bson_value_t *v)
{
    return mnode_from_value_depth(key, v, 0);
}

docstore_mnode_t *docstore_mnode_from_doc(const bson_t *doc)
{
    docstore_mnode_t *n = docstore_mnode_new_container("", BSON_TYPE_DOCUMENT);
    if (n == NULL)
        return NULL;
    return mnode_from_iter_children(n, bson_get_data(doc), doc->len, 0);
}

void docstore_mnode_free(docstore_mnode_t *n)
{
    if (n == NULL)
        return;
    if (docstore_mnode_is_container(n)) {
        for (size_t i = 0; i < n->n; i++)
            docstore_mnode_free(n->kids[i]);
        free(n->kids);
    } else {
        bson_value_destroy(&n->v);
    }
    free(n->key);
    free(n);
}

bool docstore_mnode_set_key(docstore_mnode_t *n, const char *key)
{
    char *k = strdup(key);
    if (k == NULL)
        return false;
    free(n->key);
    n->key = k;
    return true;
}

static bool mnode_append_to(const docstore_mnode_t *c, const char *key, bson_t *out);

static bool mnode_children_to(const docstore_mnode_t *n, bson_t *out)
{
    char idx[24];
    for (size_t i = 0; i < n->n; i++) {
        const char *key = n->kids[i]->key;
        if (n->v.value_type == BSON_TYPE_ARRAY) {
            const char *k;
            bson_uint32_to_string((uint32_t)i, &k, idx, sizeof idx);
            key = k;
        }
        if (!mnode_append_to(n->kids[i], key, out))
            return false;
    }
    return true;
}

static bool mnode_append_to(const docstore_mnode_t *c, const char *key, bson_t *out)
{
    if (c->v.value_type == BSON_TYPE_DOCUMENT) {
        bson_t child;
        if (!bson_append_document_begin(out, key, -1, &child))
            return false;
        bool ok = mnode_children_to(c, &child);
        return bson_append_document_end(out, &child) && ok;
    }
    if (c->v.value_type == BSON_TYPE_ARRAY) {
        bson_t child;
        if (!bson_append_array_begin(out, key, -1, &child))
            return false;
        bool ok = mnode_children_to(c, &child);
        return bson_append_array_end(out, &child) && ok;
    }
    return bson_append_value(out, key, -1, &c->v);
}

bool docstore_mnode_to_doc(const docstore_mnode_t *n, bson_t *out)
{
    return mnode_children_to(n, out);
}

bool docstore_mnode_to_value(const docstore_mnode_t *n, bson_value_t *out)
{
    if (!docstore_mnode_is_container(n)) {
        bson_value_copy(&n->v, out);
        return true;
    }
    bson_t b = BSON_INITIALIZER;
    if (!mnode_children_to(n, &b)) {
        bson_destroy(&b);
        out->value_type = BSON_TYPE_NULL;
        return false;
    }
    uint32_t len = 0;
    uint8_t *data = bson_destroy_with_steal(&b, true, &len);
    out->value_type = n->v.value_type;
    out->value.v_doc.data = data;
    out->value.v_doc.data_len = len;
    return true;
}

ptrdiff_t docstore_mnode_find(const docstore_mnode_t *n, const char *key)
{
    for (size_t i = 0; i < n->n; i++) {
        if (strcmp(n->kids[i]->key, key) == 0)
            return (ptrdiff_t)i;
    }
    return -1;
}

static bool mnode_reserve(docstore_mnode_t *n, size_t want)
{
    if (want <= n->cap)
        return true;
    size_t cap = n->cap ? n->cap * 2 : 4;
    while (cap < want)
        cap *= 2;
    docstore_mnode_t **k = realloc(n->kids, cap * sizeof *k);
    if (k == NULL)
        return false;
    n->kids = k;
    n->cap = cap;
    return true;
}

bool docstore_mnode_append(docstore_mnode_t *n, docstore_mnode_t *child)
{
    return docstore_mnode_insert(n, n->n, child);
}

bool docstore_mnode_insert(docstore_mnode_t *n, size_t i, docstore_mnode_t *child)
{
    if (child == NULL)
        return false;
    if (i > n->n || !mnode_reserve(n, n->n + 1)) {
        docstore_mnode_free(child);
        return false;
    }
    memmove(n->kids + i + 1, n->kids + i, (n->n - i) * sizeof *n->kids);
    n->kids[i] = child;
    n->n++;
    return true;
}

void docstore_mnode_remove(docstore_mnode_t *n, size_t i)
{
    if (i >= n->n)
        return;
    docstore_mnode_free(n->kids[i]);
    memmove(n->kids + i, n->kids + i + 1, (n->n - i - 1) * sizeof *n->kids);
    n->n--;
}

bool docstore_mnode_replace(docstore_mnode_t *n, size_t i, docstore_mnode_t *child)
{
    if (child == NULL)
        return false;
    if (i >= n->n || !docstore_mnode_set_key(child, n->kids[i]->key)) {
        docstore_mnode_free(child);
        return false;
    }
    docstore_mnode_free(n->kids[i]);
    n->kids[i] = child;
    return true;
}

bool docstore_path_index(const char *s, size_t *out)
{
    if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
        return false;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}
