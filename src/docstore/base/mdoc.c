/* Mutable document trees for updates and field-setting stages; see mdoc.h. */
#include "docstore/base/mdoc.h"

#include <stdlib.h>
#include <string.h>

/* Array elements all share this empty key instead of allocating one each. */
static char empty_key[1];

static char *key_dup(const char *key)
{
    return key == NULL || key[0] == '\0' ? empty_key : strdup(key);
}

static void key_free(char *key)
{
    if (key != empty_key)
        free(key);
}

static docstore_mnode_t *mnode_alloc(const char *key)
{
    docstore_mnode_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->key = key_dup(key);
    if (n->key == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

/* A node whose value points into a source document that outlives it. */
static docstore_mnode_t *mnode_borrow(const char *key, const bson_value_t *v)
{
    docstore_mnode_t *n = mnode_alloc(key);
    if (n == NULL)
        return NULL;
    n->v = *v;
    n->borrowed = true;
    n->packed = docstore_mnode_is_container(n);
    return n;
}

docstore_mnode_t *docstore_mnode_new_container(const char *key, bson_type_t t)
{
    docstore_mnode_t *n = mnode_alloc(key);
    if (n != NULL)
        n->v.value_type = t;
    return n;
}

docstore_mnode_t *docstore_mnode_from_value(const char *key, const bson_value_t *v)
{
    docstore_mnode_t *n = mnode_alloc(key);
    if (n == NULL)
        return NULL;
    bson_value_copy(v, &n->v);
    n->packed = docstore_mnode_is_container(n);
    return n;
}

bool docstore_mnode_unpack(docstore_mnode_t *n)
{
    if (!n->packed)
        return true;
    bson_value_t raw = n->v;
    bool array = raw.value_type == BSON_TYPE_ARRAY, borrowed = n->borrowed;
    n->packed = false;
    n->borrowed = false;
    n->v.value.v_doc.data = NULL;
    n->v.value.v_doc.data_len = 0;
    bson_iter_t it;
    bool ok = true;
    if (bson_iter_init_from_data(&it, raw.value.v_doc.data, raw.value.v_doc.data_len)) {
        while (ok && bson_iter_next(&it)) {
            const char *key = array ? "" : bson_iter_key(&it);
            /* Children of borrowed bytes borrow too; owned bytes are about to go. */
            docstore_mnode_t *c = borrowed ? mnode_borrow(key, bson_iter_value(&it))
                                           : docstore_mnode_from_value(key, bson_iter_value(&it));
            ok = docstore_mnode_append(n, c);
        }
    }
    if (!borrowed)
        bson_free(raw.value.v_doc.data);
    return ok;
}

docstore_mnode_t *docstore_mnode_from_doc(const bson_t *doc)
{
    bson_value_t v = {.value_type = BSON_TYPE_DOCUMENT};
    v.value.v_doc.data = (uint8_t *)(uintptr_t)bson_get_data(doc);
    v.value.v_doc.data_len = doc->len;
    docstore_mnode_t *n = mnode_borrow("", &v);
    if (n != NULL && !docstore_mnode_unpack(n)) {
        docstore_mnode_free(n);
        return NULL;
    }
    return n;
}

void docstore_mnode_free(docstore_mnode_t *n)
{
    if (n == NULL)
        return;
    if (n->borrowed) {
        /* nothing of v is ours */
    } else if (n->packed) {
        bson_value_destroy(&n->v);
    } else if (docstore_mnode_is_container(n)) {
        for (size_t i = 0; i < n->n; i++)
            docstore_mnode_free(n->kids[i]);
        free(n->kids);
    } else {
        bson_value_destroy(&n->v);
    }
    key_free(n->key);
    free(n);
}

bool docstore_mnode_set_key(docstore_mnode_t *n, const char *key)
{
    char *k = key_dup(key);
    if (k == NULL)
        return false;
    key_free(n->key);
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
    if (c->packed)
        return bson_append_value(out, key, -1, &c->v);
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
    if (n->packed || !docstore_mnode_is_container(n)) {
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

ptrdiff_t docstore_mnode_find(docstore_mnode_t *n, const char *key)
{
    if (!docstore_mnode_unpack(n))
        return -1;
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
    if (!docstore_mnode_unpack(n) || i > n->n || !mnode_reserve(n, n->n + 1)) {
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
