/*
 * Bounded blocking sorts (see sorter.h).
 *
 * Without a keep count the sorter appends and charges each document, failing
 * once the total passes the limit, and sorts at the end. With keep = k it
 * buffers up to k + max(k, 256) documents, then sorts the buffer (stably) and
 * drops everything past the first k: the first k of a stable sort of
 * (first k of stable-sorted A) ++ B are the first k of a stable sort of
 * A ++ B, so the result is exactly the sort's first k, and each document is
 * compared O(log k) times on average. The buffer is also cut when its bytes
 * pass the limit; only k documents that alone pass it are an error.
 */
#include "docstore/query/sorter.h"

#include <stdlib.h>

struct docstore_sorter {
    const docstore_sort_t *sort; /* borrowed */
    size_t keep;                 /* documents wanted; 0: all */
    size_t mem_limit;            /* bytes */
    bool disk_use;               /* allowDiskUse: true was asked */
    docstore_sort_origin_t origin;
    docstore_doclist_t docs; /* held, in arrival order since the last cut */
    bool full;               /* a cut left keep documents: docs[keep - 1] is the bar */
    size_t bytes;            /* charged for docs */
    size_t peak;             /* most bytes held at once */
};

static size_t charge(const bson_t *doc)
{
    return (size_t)doc->len + DOCSTORE_SORT_DOC_OVERHEAD;
}

void docstore_sort_memory_error(docstore_error_t *err, const char *what, size_t mem_limit,
                                bool disk_use, docstore_sort_origin_t origin)
{
    const char *pre = origin == DOCSTORE_SORT_AGGREGATE
                          ? "PlanExecutor error during aggregation :: caused by :: "
                          : "Executor error during find command :: caused by :: ";
    if (disk_use) {
        docstore_error_set(err, DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT,
                           "%s%s exceeded memory limit of %zu bytes; allowDiskUse is not "
                           "supported by the docstore (it never spills to disk)",
                           pre, what, mem_limit);
    } else if (what[0] == '$') {
        docstore_error_set(err, DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT,
                           "%sExceeded memory limit for %s, but didn't allow external sort. "
                           "Pass allowDiskUse:true to opt in.",
                           pre, what);
    } else {
        docstore_error_set(err, DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT,
                           "%s%s exceeded memory limit of %zu bytes, but did not opt in to "
                           "external sorting.%s",
                           pre, what, mem_limit,
                           origin == DOCSTORE_SORT_AGGREGATE
                               ? " Aborting operation. Pass allowDiskUse:true to opt in."
                               : "");
    }
}

int docstore_sorter_new(const docstore_sort_t *s, size_t keep, size_t mem_limit, bool disk_use,
                        docstore_sort_origin_t origin, docstore_sorter_t **out,
                        docstore_error_t *err)
{
    docstore_sorter_t *st = calloc(1, sizeof *st);
    if (st == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    st->sort = s;
    st->keep = keep;
    st->mem_limit = mem_limit;
    st->disk_use = disk_use;
    st->origin = origin;
    docstore_doclist_init(&st->docs);
    *out = st;
    return 0;
}

/* Sorts the buffer and keeps its first keep documents. */
static void cut(docstore_sorter_t *st)
{
    docstore_sort_docs(st->sort, st->docs.docs, st->docs.n);
    while (st->docs.n > st->keep) {
        bson_t *d = st->docs.docs[--st->docs.n];
        st->bytes -= charge(d);
        bson_destroy(d);
    }
    st->full = st->docs.n == st->keep;
}

bool docstore_sorter_would_keep(const docstore_sorter_t *st, const bson_t *doc)
{
    /* Not before the bar: a later arrival loses ties, as a stable sort has it. */
    return st->keep == 0 || !st->full ||
           docstore_sort_compare(st->sort, doc, st->docs.docs[st->keep - 1]) < 0;
}

int docstore_sorter_add(docstore_sorter_t *st, bson_t *doc, docstore_error_t *err)
{
    size_t c = charge(doc);
    if (st->keep > 0) {
        size_t slack = st->keep < 256 ? 256 : st->keep;
        if (st->docs.n >= st->keep + slack || (st->bytes + c > st->mem_limit && st->docs.n > 0))
            cut(st);
    }
    if (st->bytes + c > st->mem_limit) {
        bson_destroy(doc);
        docstore_sort_memory_error(err, "Sort", st->mem_limit, st->disk_use, st->origin);
        return -1;
    }
    if (docstore_doclist_push(&st->docs, doc) != 0) {
        docstore_error_oom(err);
        return -1;
    }
    st->bytes += c;
    if (st->bytes > st->peak)
        st->peak = st->bytes;
    return 0;
}

int docstore_sorter_finish(docstore_sorter_t *st, docstore_doclist_t *out, docstore_error_t *err)
{
    if (st->keep > 0)
        cut(st);
    else
        docstore_sort_docs(st->sort, st->docs.docs, st->docs.n);
    int rc = 0;
    for (size_t i = 0; i < st->docs.n; i++) {
        if (rc == 0 && docstore_doclist_push(out, st->docs.docs[i]) != 0) {
            docstore_error_oom(err);
            rc = -1; /* push destroyed it */
        } else if (rc != 0) {
            bson_destroy(st->docs.docs[i]);
        }
    }
    st->docs.n = 0;
    st->bytes = 0;
    return rc;
}

size_t docstore_sorter_bytes(const docstore_sorter_t *st)
{
    return st->bytes;
}

size_t docstore_sorter_peak_bytes(const docstore_sorter_t *st)
{
    return st->peak;
}

void docstore_sorter_free(docstore_sorter_t *st)
{
    if (st == NULL)
        return;
    docstore_doclist_free(&st->docs);
    free(st);
}
