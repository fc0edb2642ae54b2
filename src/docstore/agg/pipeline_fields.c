/*
 * Field surgery for pipeline stages: setting and removing dotted paths the way
 * $addFields and $unset treat them (an array on the path means "every
 * document in it"), and a value hash for $group keys and $lookup matching
 * that agrees with MongoDB's equality (numbers by value across types).
 */
#include "docstore/agg/pipeline_internal.h"
#include "docstore/query/collation.h"
#include "docstore/query/value.h"

#include <math.h>
#include <string.h>

static bool path_set(docstore_mnode_t *node, const char *path, const bson_value_t *value,
                     int depth)
{
    if (depth > DOCSTORE_MDOC_MAX_DEPTH)
        return false;
    bool remove = value == NULL || value->value_type == BSON_TYPE_EOD;
    size_t len = strcspn(path, ".");
    char key[256];
    if (len >= sizeof key)
        return false;
    memcpy(key, path, len);
    key[len] = '\0';
    const char *rest = path[len] == '.' ? path + len + 1 : NULL;
    ptrdiff_t k = docstore_mnode_find(node, key);
    if (rest == NULL) {
        if (remove) {
            if (k >= 0)
                docstore_mnode_remove(node, (size_t)k);
            return true;
        }
        docstore_mnode_t *c = docstore_mnode_from_value(key, value);
        if (k >= 0)
            return docstore_mnode_replace(node, (size_t)k, c);
        return docstore_mnode_append(node, c);
    }
    if (k < 0) {
        if (remove)
            return true;
        if (!docstore_mnode_append(node, docstore_mnode_new_container(key, BSON_TYPE_DOCUMENT)))
            return false;
        k = (ptrdiff_t)node->n - 1;
    }
    docstore_mnode_t *child = node->kids[k];
    if (child->v.value_type == BSON_TYPE_DOCUMENT)
        return path_set(child, rest, value, depth + 1);
    if (child->v.value_type == BSON_TYPE_ARRAY) {
        if (!docstore_mnode_unpack(child))
            return false;
        for (size_t i = 0; i < child->n; i++) {
            docstore_mnode_t *el = child->kids[i];
            if (el->v.value_type == BSON_TYPE_DOCUMENT) {
                if (!path_set(el, rest, value, depth + 1))
                    return false;
            } else if (!remove) {
                docstore_mnode_t *d = docstore_mnode_new_container("", BSON_TYPE_DOCUMENT);
                if (d == NULL || !path_set(d, rest, value, depth + 1) ||
                    !docstore_mnode_replace(child, i, d)) {
                    docstore_mnode_free(d);
                    return false;
                }
            }
        }
        return true;
    }
    if (remove)
        return true;
    docstore_mnode_t *d = docstore_mnode_new_container(key, BSON_TYPE_DOCUMENT);
    if (d == NULL || !docstore_mnode_replace(node, (size_t)k, d))
        return false;
    return path_set(node->kids[k], rest, value, depth + 1);
}

bool pipe_path_set(docstore_mnode_t *root, const char *path, const bson_value_t *value)
{
    return path_set(root, path, value, 0);
}

void pipe_path_unset(docstore_mnode_t *root, const char *path)
{
    (void)path_set(root, path, NULL, 0);
}

/* --- hashing --------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static uint64_t bytes_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* A string's hash: of its bytes, or under the aggregate's collation of its
 * sort key, so strings equal under it hash alike. */
static uint64_t string_hash(const char *s, size_t len)
{
    const docstore_collation_t *c = docstore_expr_collation();
    if (c == NULL)
        return bytes_hash(s, len);
    buf_t k;
    buf_init(&k, 64 * 1024 * 1024);
    /* On failure one bucket for all such strings: equality still decides. */
    uint64_t h =
        docstore_collation_sort_key(c, s, len, &k) == 0 ? bytes_hash(k.data, k.len) : 0x5354ULL;
    buf_free(&k);
    return h;
}

static uint64_t hash_depth(const bson_value_t *v, int depth)
{
    double d;
    switch (v->value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return 0x6e756c6cULL;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        if (!docstore_value_as_double(v, &d))
            d = 0;
        if (d == 0)
            d = 0; /* -0.0 and 0.0 */
        if (d != d)
            return 0x4e614eULL;
        return bytes_hash(&d, sizeof d);
    case BSON_TYPE_UTF8:
        return string_hash(v->value.v_utf8.str, v->value.v_utf8.len);
    case BSON_TYPE_SYMBOL:
        return string_hash(v->value.v_symbol.symbol, v->value.v_symbol.len);
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        uint64_t h = v->value_type == BSON_TYPE_ARRAY ? 0xa7ULL : 0xd0ULL;
        bson_iter_t it;
        if (depth > 100 ||
            !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
            return h;
        while (bson_iter_next(&it)) {
            if (v->value_type == BSON_TYPE_DOCUMENT)
                h = mix(h, bytes_hash(bson_iter_key(&it), bson_iter_key_len(&it)));
            h = mix(h, hash_depth(bson_iter_value(&it), depth + 1));
        }
        return h;
    }
    case BSON_TYPE_OID:
        return bytes_hash(v->value.v_oid.bytes, sizeof v->value.v_oid.bytes);
    case BSON_TYPE_BOOL:
        return v->value.v_bool ? 0x7472ULL : 0x6661ULL;
    case BSON_TYPE_DATE_TIME:
        return mix(0xda7eULL, (uint64_t)v->value.v_datetime);
    case BSON_TYPE_TIMESTAMP:
        return mix(mix(0x7157ULL, v->value.v_timestamp.timestamp),
                   v->value.v_timestamp.increment);
    case BSON_TYPE_BINARY:
        return bytes_hash(v->value.v_binary.data, v->value.v_binary.data_len);
    default:
        /* Rare key types: one bucket per type; equality sorts it out. */
        return (uint64_t)docstore_type_rank(v->value_type) * 0x100000001b3ULL;
    }
}

uint64_t pipe_value_hash(const bson_value_t *v)
{
    return hash_depth(v, 0);
}
