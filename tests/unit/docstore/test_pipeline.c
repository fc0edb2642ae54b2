/* Unit tests of aggregation pipelines: table-driven cases in extended JSON.
 * Each case runs a pipeline over input documents and checks the exact output
 * documents (order, field order and types included) or the error code. The
 * $lookup cases read the "inventory" collection through the reader callback. */
#include "harness.h"
#include "docstore/agg/pipeline.h"

#include <stdlib.h>

typedef struct pipe_case {
    const char *name;
    const char *input;    /* {"d": [docs]} */
    const char *pipeline; /* {"p": [stages]} */
    const char *expect;   /* {"d": [docs]}, or NULL for an error */
    int code;             /* expected error code at compile or run */
} pipe_case_t;

#define SALES                                                                                      \
    "{\"d\": [{\"_id\": 1, \"item\": \"a\", \"qty\": 2, \"price\": 10, \"tags\": [\"x\", "        \
    "\"y\"]}, {\"_id\": 2, \"item\": \"b\", \"qty\": 1, \"price\": 20, \"tags\": []}, {\"_id\": "  \
    "3, \"item\": \"a\", \"qty\": 5, \"price\": 10.5}, {\"_id\": 4, \"item\": null, \"qty\": 3, "  \
    "\"tags\": null}]}"

static const pipe_case_t cases[] = {
    {"empty pipeline", SALES, "{\"p\": []}", SALES, 0},
    {"match", SALES, "{\"p\": [{\"$match\": {\"item\": \"a\"}}, {\"$project\": {\"_id\": 1}}]}",
     "{\"d\": [{\"_id\": 1}, {\"_id\": 3}]}", 0},
    {"project computed", SALES,
     "{\"p\": [{\"$limit\": 2}, {\"$project\": {\"_id\": 0, \"t\": {\"$multiply\": [\"$qty\", "
     "\"$price\"]}}}]}",
     "{\"d\": [{\"t\": 20}, {\"t\": 20}]}", 0},
    {"sort skip limit", SALES,
     "{\"p\": [{\"$sort\": {\"qty\": -1}}, {\"$skip\": 1}, {\"$limit\": 2}, {\"$project\": "
     "{\"qty\": 1}}]}",
     "{\"d\": [{\"_id\": 4, \"qty\": 3}, {\"_id\": 1, \"qty\": 2}]}", 0},
    {"count", SALES, "{\"p\": [{\"$count\": \"n\"}]}", "{\"d\": [{\"n\": 4}]}", 0},
    {"count of nothing is no document", "{\"d\": []}", "{\"p\": [{\"$count\": \"n\"}]}",
     "{\"d\": []}", 0},
    {"count bad name", SALES, "{\"p\": [{\"$count\": \"$n\"}]}", NULL, 40158},
    {"addFields and set", SALES,
     "{\"p\": [{\"$limit\": 1}, {\"$addFields\": {\"total\": {\"$multiply\": [\"$qty\", "
     "\"$price\"]}, \"qty\": 0}}, {\"$set\": {\"sub.x\": 1}}]}",
     "{\"d\": [{\"_id\": 1, \"item\": \"a\", \"qty\": 0, \"price\": 10, \"tags\": [\"x\", "
     "\"y\"], \"total\": 20, \"sub\": {\"x\": 1}}]}",
     0},
    {"addFields nested document merges", "{\"d\": [{\"_id\": 1, \"s\": {\"a\": 1}}]}",
     "{\"p\": [{\"$addFields\": {\"s\": {\"b\": 2}}}]}",
     "{\"d\": [{\"_id\": 1, \"s\": {\"a\": 1, \"b\": 2}}]}", 0},
    {"addFields through array", "{\"d\": [{\"_id\": 1, \"a\": [{\"x\": 1}, {\"x\": 2}]}]}",
     "{\"p\": [{\"$addFields\": {\"a.y\": \"$_id\"}}]}",
     "{\"d\": [{\"_id\": 1, \"a\": [{\"x\": 1, \"y\": 1}, {\"x\": 2, \"y\": 1}]}]}", 0},
    {"addFields $$REMOVE", "{\"d\": [{\"_id\": 1, \"a\": 1, \"b\": 2}]}",
     "{\"p\": [{\"$addFields\": {\"a\": \"$$REMOVE\"}}]}", "{\"d\": [{\"_id\": 1, \"b\": 2}]}", 0},
    {"unset", "{\"d\": [{\"_id\": 1, \"a\": 1, \"b\": {\"c\": 1, \"d\": 2}}]}",
     "{\"p\": [{\"$unset\": [\"a\", \"b.c\"]}]}", "{\"d\": [{\"_id\": 1, \"b\": {\"d\": 2}}]}", 0},
    {"unset one string", "{\"d\": [{\"_id\": 1, \"a\": 1}]}", "{\"p\": [{\"$unset\": \"a\"}]}",
     "{\"d\": [{\"_id\": 1}]}", 0},
    {"unset bad", SALES, "{\"p\": [{\"$unset\": 1}]}", NULL, 31002},
    /* $group */
    {"group sum avg", SALES,
     "{\"p\": [{\"$group\": {\"_id\": \"$item\", \"n\": {\"$sum\": 1}, \"q\": {\"$sum\": "
     "\"$qty\"}, \"avg\": {\"$avg\": \"$price\"}}}]}",
     "{\"d\": [{\"_id\": \"a\", \"n\": 2, \"q\": 7, \"avg\": 10.25}, {\"_id\": \"b\", \"n\": 1, "
     "\"q\": 1, \"avg\": 20.0}, {\"_id\": null, \"n\": 1, \"q\": 3, \"avg\": null}]}",
     0},
    {"group null id", SALES,
     "{\"p\": [{\"$group\": {\"_id\": null, \"min\": {\"$min\": \"$price\"}, \"max\": {\"$max\": "
     "\"$price\"}, \"c\": {\"$count\": {}}}}]}",
     "{\"d\": [{\"_id\": null, \"min\": 10, \"max\": 20, \"c\": 4}]}", 0},
    {"group missing key groups with null",
     "{\"d\": [{\"_id\": 1, \"k\": null}, {\"_id\": 2}, {\"_id\": 3, \"k\": 1}, {\"_id\": 4, "
     "\"k\": "
     "1.0}]}",
     "{\"p\": [{\"$group\": {\"_id\": \"$k\", \"ids\": {\"$push\": \"$_id\"}}}]}",
     "{\"d\": [{\"_id\": null, \"ids\": [1, 2]}, {\"_id\": 1, \"ids\": [3, 4]}]}", 0},
    {"group document id first last", SALES,
     "{\"p\": [{\"$group\": {\"_id\": {\"i\": \"$item\", \"p\": \"$price\"}, \"f\": {\"$first\": "
     "\"$qty\"}, \"l\": {\"$last\": \"$tags\"}}}]}",
     "{\"d\": [{\"_id\": {\"i\": \"a\", \"p\": 10}, \"f\": 2, \"l\": [\"x\", \"y\"]}, {\"_id\": "
     "{\"i\": \"b\", \"p\": 20}, \"f\": 1, \"l\": []}, {\"_id\": {\"i\": \"a\", \"p\": 10.5}, "
     "\"f\": 5, \"l\": null}, {\"_id\": {\"i\": null}, \"f\": 3, \"l\": null}]}",
     0},
    {"group push addToSet", "{\"d\": [{\"v\": 1}, {\"v\": 2}, {\"v\": 1.0}, {\"w\": 0}]}",
     "{\"p\": [{\"$group\": {\"_id\": 0, \"p\": {\"$push\": \"$v\"}, \"s\": {\"$addToSet\": "
     "\"$v\"}}}]}",
     "{\"d\": [{\"_id\": 0, \"p\": [1, 2, 1.0], \"s\": [1, 2]}]}", 0},
    {"group sum promotes", "{\"d\": [{\"v\": 2147483647}, {\"v\": 1}, {\"v\": \"x\"}]}",
     "{\"p\": [{\"$group\": {\"_id\": null, \"s\": {\"$sum\": \"$v\"}}}]}",
     "{\"d\": [{\"_id\": null, \"s\": {\"$numberLong\": \"2147483648\"}}]}", 0},
    {"group without _id", SALES, "{\"p\": [{\"$group\": {\"n\": {\"$sum\": 1}}}]}", NULL, 15955},
    {"group unknown accumulator", SALES,
     "{\"p\": [{\"$group\": {\"_id\": null, \"n\": {\"$foo\": 1}}}]}", NULL, 15952},
    {"group field not accumulator", SALES, "{\"p\": [{\"$group\": {\"_id\": null, \"n\": 1}}]}",
     NULL, 40234},
    {"sortByCount", SALES, "{\"p\": [{\"$sortByCount\": \"$item\"}]}",
     "{\"d\": [{\"_id\": \"a\", \"count\": 2}, {\"_id\": \"b\", \"count\": 1}, {\"_id\": null, "
     "\"count\": 1}]}",
     0},
    /* $unwind */
    {"unwind string", SALES, "{\"p\": [{\"$unwind\": \"$tags\"}, {\"$project\": {\"tags\": 1}}]}",
     "{\"d\": [{\"_id\": 1, \"tags\": \"x\"}, {\"_id\": 1, \"tags\": \"y\"}]}", 0},
    {"unwind preserve with index", SALES,
     "{\"p\": [{\"$unwind\": {\"path\": \"$tags\", \"includeArrayIndex\": \"i\", "
     "\"preserveNullAndEmptyArrays\": true}}, {\"$project\": {\"tags\": 1, \"i\": 1}}]}",
     "{\"d\": [{\"_id\": 1, \"tags\": \"x\", \"i\": {\"$numberLong\": \"0\"}}, {\"_id\": 1, "
     "\"tags\": \"y\", \"i\": {\"$numberLong\": \"1\"}}, {\"_id\": 2, \"i\": null}, {\"_id\": 3, "
     "\"i\": null}, {\"_id\": 4, \"tags\": null, \"i\": null}]}",
     0},
    {"unwind scalar", "{\"d\": [{\"_id\": 1, \"a\": 5}]}", "{\"p\": [{\"$unwind\": \"$a\"}]}",
     "{\"d\": [{\"_id\": 1, \"a\": 5}]}", 0},
    {"unwind nested path", "{\"d\": [{\"_id\": 1, \"s\": {\"a\": [1, 2]}}]}",
     "{\"p\": [{\"$unwind\": \"$s.a\"}]}",
     "{\"d\": [{\"_id\": 1, \"s\": {\"a\": 1}}, {\"_id\": 1, \"s\": {\"a\": 2}}]}", 0},
    {"unwind no $", SALES, "{\"p\": [{\"$unwind\": \"tags\"}]}", NULL, 28818},
    {"unwind bad option", SALES, "{\"p\": [{\"$unwind\": {\"path\": \"$tags\", \"x\": 1}}]}", NULL,
     28811},
    /* $replaceRoot / $replaceWith */
    {"replaceRoot", "{\"d\": [{\"_id\": 1, \"s\": {\"a\": 1}}]}",
     "{\"p\": [{\"$replaceRoot\": {\"newRoot\": \"$s\"}}]}", "{\"d\": [{\"a\": 1}]}", 0},
    {"replaceWith mergeObjects", "{\"d\": [{\"_id\": 1, \"s\": {\"a\": 1}}]}",
     "{\"p\": [{\"$replaceWith\": {\"$mergeObjects\": [{\"a\": 0, \"b\": 0}, \"$s\"]}}]}",
     "{\"d\": [{\"a\": 1, \"b\": 0}]}", 0},
    {"replaceRoot not a document", "{\"d\": [{\"_id\": 1}]}",
     "{\"p\": [{\"$replaceRoot\": {\"newRoot\": \"$s\"}}]}", NULL, 40228},
    /* $lookup */
    {"lookup",
     "{\"d\": [{\"_id\": 1, \"sku\": \"a\"}, {\"_id\": 2, \"sku\": \"z\"}, {\"_id\": 3}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"sku\", \"foreignField\": "
     "\"sku\", \"as\": \"inv\"}}]}",
     "{\"d\": [{\"_id\": 1, \"sku\": \"a\", \"inv\": [{\"_id\": 10, \"sku\": \"a\"}]}, {\"_id\": "
     "2, \"sku\": \"z\", \"inv\": []}, {\"_id\": 3, \"inv\": [{\"_id\": 12}]}]}",
     0},
    {"lookup local array", "{\"d\": [{\"_id\": 1, \"skus\": [\"a\", \"b\"]}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"skus\", "
     "\"foreignField\": \"sku\", \"as\": \"inv\"}}, {\"$project\": {\"inv._id\": 1}}]}",
     "{\"d\": [{\"_id\": 1, \"inv\": [{\"_id\": 10}, {\"_id\": 11}]}]}", 0},
    {"lookup missing as", SALES,
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"a\", \"foreignField\": "
     "\"b\"}}]}",
     NULL, 9},
    {"lookup uncorrelated pipeline", "{\"d\": [{\"_id\": 1}, {\"_id\": 2}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"pipeline\": [{\"$match\": {\"sku\": "
     "\"b\"}}, {\"$project\": {\"_id\": 1}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"x\": [{\"_id\": 11}]}, {\"_id\": 2, \"x\": [{\"_id\": 11}]}]}", 0},
    {"lookup let expr", "{\"d\": [{\"_id\": 1, \"s\": \"a\"}, {\"_id\": 2, \"s\": \"q\"}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"s\": \"$s\"}, \"pipeline\": "
     "[{\"$match\": {\"$expr\": {\"$eq\": [\"$sku\", \"$$s\"]}}}, {\"$project\": {\"_id\": 1, "
     "\"mine\": \"$$s\"}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"s\": \"a\", \"x\": [{\"_id\": 10, \"mine\": \"a\"}]}, {\"_id\": 2, "
     "\"s\": \"q\", \"x\": []}]}",
     0},
    {"lookup nested let", "{\"d\": [{\"_id\": 1, \"s\": \"a\"}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"s\": \"$s\"}, \"pipeline\": "
     "[{\"$match\": {\"$expr\": {\"$eq\": [\"$sku\", \"$$s\"]}}}, {\"$lookup\": {\"from\": "
     "\"inventory\", \"let\": {\"t\": \"$sku\"}, \"pipeline\": [{\"$match\": {\"$expr\": "
     "{\"$and\": [{\"$eq\": [\"$sku\", \"$$t\"]}, {\"$eq\": [\"$sku\", \"$$s\"]}]}}}, "
     "{\"$project\": {\"_id\": 1}}], \"as\": \"y\"}}, {\"$project\": {\"_id\": 1, \"y\": 1}}], "
     "\"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"s\": \"a\", \"x\": [{\"_id\": 10, \"y\": [{\"_id\": 10}]}]}]}", 0},
    {"lookup probe reversed and missing", "{\"d\": [{\"_id\": 1}, {\"_id\": 2, \"s\": \"b\"}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"s\": \"$s\"}, \"pipeline\": "
     "[{\"$match\": {\"$expr\": {\"$eq\": [\"$$s\", \"$sku\"]}}}, {\"$project\": {\"_id\": 1}}], "
     "\"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"x\": []}, {\"_id\": 2, \"s\": \"b\", \"x\": [{\"_id\": 11}]}]}", 0},
    {"lookup probe numbers across types", "{\"d\": [{\"_id\": 1, \"n\": 11.0}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"n\": \"$n\"}, \"pipeline\": "
     "[{\"$match\": {\"$expr\": {\"$eq\": [\"$_id\", \"$$n\"]}}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"n\": 11.0, \"x\": [{\"_id\": 11, \"sku\": \"b\"}]}]}", 0},
    {"lookup probe inside and",
     "{\"d\": [{\"_id\": 1, \"s\": \"a\", \"m\": 10}, {\"_id\": 2, \"s\": \"a\", \"m\": 11}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"s\": \"$s\", \"m\": \"$m\"}, "
     "\"pipeline\": [{\"$match\": {\"$expr\": {\"$and\": [{\"$gt\": [\"$$m\", 10]}, {\"$eq\": "
     "[\"$sku\", \"$$s\"]}]}}}, {\"$project\": {\"_id\": 1}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"s\": \"a\", \"m\": 10, \"x\": []}, {\"_id\": 2, \"s\": \"a\", \"m\": "
     "11, \"x\": [{\"_id\": 10}]}]}",
     0},
    {"lookup join then pipeline", "{\"d\": [{\"_id\": 1, \"sku\": \"b\"}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"sku\", \"foreignField\": "
     "\"sku\", \"pipeline\": [{\"$project\": {\"_id\": 1}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"sku\": \"b\", \"x\": [{\"_id\": 11}]}]}", 0},
    {"lookup join let pipeline", "{\"d\": [{\"_id\": 1, \"sku\": \"a\", \"qty\": 3}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"sku\", \"foreignField\": "
     "\"sku\", \"let\": {\"q\": \"$qty\"}, \"pipeline\": [{\"$addFields\": {\"q\": \"$$q\"}}, "
     "{\"$project\": {\"_id\": 1, \"q\": 1}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"sku\": \"a\", \"qty\": 3, \"x\": [{\"_id\": 10, \"q\": 3}]}]}", 0},
    {"lookup group vars", "{\"d\": [{\"_id\": 1, \"s\": \"k\"}]}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"s\": \"$s\"}, \"pipeline\": "
     "[{\"$group\": {\"_id\": \"$$s\", \"n\": {\"$sum\": 1}}}], \"as\": \"x\"}}]}",
     "{\"d\": [{\"_id\": 1, \"s\": \"k\", \"x\": [{\"_id\": \"k\", \"n\": 3}]}]}", 0},
    {"lookup let without pipeline", "{\"d\": []}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"a\", \"foreignField\": "
     "\"b\", \"let\": {\"x\": 1}, \"as\": \"x\"}}]}",
     NULL, 9},
    {"lookup half join with pipeline", "{\"d\": []}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"localField\": \"a\", \"pipeline\": [], "
     "\"as\": \"x\"}}]}",
     NULL, 9},
    {"lookup bad let name", "{\"d\": []}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"let\": {\"Bad\": 1}, \"pipeline\": [], "
     "\"as\": \"x\"}}]}",
     NULL, 16870},
    {"lookup out inside", "{\"d\": []}",
     "{\"p\": [{\"$lookup\": {\"from\": \"inventory\", \"pipeline\": [{\"$out\": \"z\"}], \"as\": "
     "\"x\"}}]}",
     NULL, 40600},
    /* stage errors */
    {"unknown stage", SALES, "{\"p\": [{\"$foo\": {}}]}", NULL, 40324},
    {"out", SALES, "{\"p\": [{\"$out\": \"c\"}]}", NULL, 238},
    {"merge", SALES, "{\"p\": [{\"$merge\": {\"into\": \"c\"}}]}", NULL, 238},
    {"bucketAuto unsupported", SALES, "{\"p\": [{\"$bucketAuto\": {}}]}", NULL, 238},
    {"bucket", SALES,
     "{\"p\": [{\"$bucket\": {\"groupBy\": \"$qty\", \"boundaries\": [0, 3, 10], \"default\": "
     "\"other\"}}]}",
     "{\"d\": [{\"_id\": 0, \"count\": 2}, {\"_id\": 3, \"count\": 2}]}", 0},
    {"bucket default and output", SALES,
     "{\"p\": [{\"$bucket\": {\"groupBy\": \"$price\", \"boundaries\": [10, 15], \"default\": "
     "\"other\", \"output\": {\"ids\": {\"$push\": \"$_id\"}}}}]}",
     "{\"d\": [{\"_id\": 10, \"ids\": [1, 3]}, {\"_id\": \"other\", \"ids\": [2, 4]}]}", 0},
    {"bucket no default, value outside", SALES,
     "{\"p\": [{\"$bucket\": {\"groupBy\": \"$qty\", \"boundaries\": [0, 3]}}]}", NULL, 40066},
    {"bucket unsorted boundaries", SALES,
     "{\"p\": [{\"$bucket\": {\"groupBy\": \"$qty\", \"boundaries\": [5, 1]}}]}", NULL, 40194},
    {"bucket one boundary", SALES,
     "{\"p\": [{\"$bucket\": {\"groupBy\": \"$qty\", \"boundaries\": [5]}}]}", NULL, 40192},
    {"bucket default inside", SALES,
     "{\"p\": [{\"$bucket\": {\"groupBy\": \"$qty\", \"boundaries\": [0, 9], \"default\": 4}}]}",
     NULL, 40199},
    {"facet", SALES,
     "{\"p\": [{\"$facet\": {\"n\": [{\"$count\": \"c\"}], \"top\": [{\"$sort\": {\"qty\": -1}}, "
     "{\"$limit\": 1}, {\"$project\": {\"qty\": 1}}], \"none\": [{\"$match\": {\"qty\": 99}}]}}]}",
     "{\"d\": [{\"n\": [{\"c\": 4}], \"top\": [{\"_id\": 3, \"qty\": 5}], \"none\": []}]}", 0},
    {"facet empty", SALES, "{\"p\": [{\"$facet\": {}}]}", NULL, 40169},
    {"facet nested", SALES, "{\"p\": [{\"$facet\": {\"a\": [{\"$facet\": {\"b\": []}}]}}]}", NULL,
     40600},
    {"facet with out", SALES, "{\"p\": [{\"$facet\": {\"a\": [{\"$out\": \"x\"}]}}]}", NULL, 40600},
    {"sample all keeps every document", "{\"d\": [{\"_id\": 1}]}",
     "{\"p\": [{\"$sample\": {\"size\": 5}}]}", "{\"d\": [{\"_id\": 1}]}", 0},
    {"sample zero", SALES, "{\"p\": [{\"$sample\": {\"size\": 0}}]}", "{\"d\": []}", 0},
    {"sample negative", SALES, "{\"p\": [{\"$sample\": {\"size\": -1}}]}", NULL, 28747},
    {"unionWith", "{\"d\": [{\"_id\": 1}]}",
     "{\"p\": [{\"$unionWith\": {\"coll\": \"inventory\", \"pipeline\": [{\"$match\": {\"sku\": "
     "\"b\"}}]}}]}",
     "{\"d\": [{\"_id\": 1}, {\"_id\": 11, \"sku\": \"b\"}]}", 0},
    {"unionWith string", "{\"d\": []}",
     "{\"p\": [{\"$unionWith\": \"inventory\"}, {\"$count\": \"n\"}]}", "{\"d\": [{\"n\": 3}]}", 0},
    {"unionWith unknown collection", "{\"d\": []}", "{\"p\": [{\"$unionWith\": \"nope\"}]}", NULL,
     26},
    {"two fields in a stage", SALES, "{\"p\": [{\"$limit\": 1, \"$skip\": 1}]}", NULL, 40323},
    {"stage not a document", SALES, "{\"p\": [1]}", NULL, 14},
    {"negative limit", SALES, "{\"p\": [{\"$limit\": -1}]}", NULL, 15958},
    {"negative skip", SALES, "{\"p\": [{\"$skip\": -1}]}", NULL, 5107200},
    {"expression error at run time", SALES,
     "{\"p\": [{\"$addFields\": {\"x\": {\"$add\": [\"$item\", 1]}}}]}", NULL, 16554},
};

static bson_t *from_json(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (b == NULL)
        fprintf(stderr, "bad JSON in test: %s: %s\n", json, e.message);
    return b;
}

static bool sub_array(const bson_t *wrapper, const char *key, bson_t *out)
{
    bson_iter_t it;
    uint32_t len;
    const uint8_t *data;
    if (!bson_iter_init_find(&it, wrapper, key) || !BSON_ITER_HOLDS_ARRAY(&it))
        return false;
    bson_iter_array(&it, &len, &data);
    return bson_init_static(out, data, len);
}

static int reads;

static int reader(void *ctx, const char *coll, docstore_doclist_t *out, docstore_error_t *err)
{
    (void)ctx;
    reads++;
    if (strcmp(coll, "many") == 0) {
        for (int i = 0; i < 5000; i++) {
            bson_t *d = bson_new();
            BSON_APPEND_INT32(d, "_id", i);
            BSON_APPEND_INT32(d, "k", i % 2500);
            if (docstore_doclist_push(out, d) != 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(coll, "inventory") != 0) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "no such collection");
        return -1;
    }
    const char *docs[] = {"{\"_id\": 10, \"sku\": \"a\"}", "{\"_id\": 11, \"sku\": \"b\"}",
                          "{\"_id\": 12}"};
    for (size_t i = 0; i < 3; i++) {
        if (docstore_doclist_push(out, from_json(docs[i])) != 0)
            return -1;
    }
    return 0;
}

static void run_case(const pipe_case_t *c)
{
    bson_t *in = from_json(c->input), *spec = from_json(c->pipeline);
    bson_t stages, input;
    CHECK(in && spec && sub_array(spec, "p", &stages) && sub_array(in, "d", &input));
    if (!in || !spec)
        goto out;
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    bson_iter_t it;
    bson_iter_init(&it, &input);
    while (bson_iter_next(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        if (docstore_doclist_push(&docs, bson_new_from_data(data, len)) != 0)
            harness_failures++;
    }
    docstore_error_t err = {0};
    docstore_pipeline_t *p = NULL;
    int rc = docstore_pipeline_new(&stages, &p, &err);
    if (rc == 0)
        rc = docstore_pipeline_run(p, &docs, reader, NULL, &err);
    else
        docstore_doclist_free(&docs);
    if (c->expect == NULL) {
        if (rc == 0 || err.code != c->code) {
            fprintf(stderr, "case '%s': expected error %d, got rc %d code %d (%s)\n", c->name,
                    c->code, rc, err.code, err.msg);
            harness_failures++;
        }
    } else {
        bson_t *want = from_json(c->expect);
        bson_t wd;
        bson_t got = BSON_INITIALIZER, garr;
        bson_append_array_begin(&got, "d", 1, &garr);
        for (size_t i = 0; i < docs.n; i++) {
            char key[16];
            const char *k;
            bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
            bson_append_document(&garr, k, -1, docs.docs[i]);
        }
        bson_append_array_end(&got, &garr);
        bool same = rc == 0 && want != NULL && sub_array(want, "d", &wd) &&
                    got.len == want->len &&
                    memcmp(bson_get_data(&got), bson_get_data(want), got.len) == 0;
        if (!same) {
            char *g = bson_as_relaxed_extended_json(&got, NULL);
            fprintf(stderr, "case '%s': rc %d (%d %s)\n  got  %s\n  want %s\n", c->name, rc,
                    err.code, err.msg, g, c->expect);
            bson_free(g);
            harness_failures++;
        }
        bson_destroy(&got);
        if (want)
            bson_destroy(want);
    }
    docstore_doclist_free(&docs);
    docstore_pipeline_free(p);
    docstore_error_clear(&err);
out:
    if (in)
        bson_destroy(in);
    if (spec)
        bson_destroy(spec);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_leading_match(void)
{
    bson_t *spec = from_json("{\"p\": [{\"$match\": {\"a\": 1}}, {\"$limit\": 1}]}");
    bson_t stages;
    docstore_pipeline_t *p = NULL;
    docstore_error_t err = {0};
    CHECK(sub_array(spec, "p", &stages));
    CHECK_INT(docstore_pipeline_new(&stages, &p, &err), 0);
    const bson_t *m = docstore_pipeline_leading_match(p);
    bson_t *want = from_json("{\"a\": 1}");
    CHECK(m != NULL && bson_equal(m, want));
    bson_destroy(want);
    docstore_pipeline_free(p);
    docstore_error_clear(&err);
    bson_destroy(spec);

    spec = from_json("{\"p\": [{\"$limit\": 1}]}");
    CHECK(sub_array(spec, "p", &stages));
    CHECK_INT(docstore_pipeline_new(&stages, &p, &err), 0);
    CHECK(docstore_pipeline_leading_match(p) == NULL);
    docstore_pipeline_free(p);
    bson_destroy(spec);
}

static void test_large_group(void)
{
    /* 20,000 documents into 1,000 groups: the hash table, not a linear scan. */
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    for (int i = 0; i < 20000; i++) {
        bson_t *d = bson_new();
        BSON_APPEND_INT32(d, "k", i % 1000);
        BSON_APPEND_INT32(d, "v", 1);
        CHECK_INT(docstore_doclist_push(&docs, d), 0);
    }
    bson_t *spec = from_json("{\"p\": [{\"$group\": {\"_id\": \"$k\", \"n\": {\"$sum\": \"$v\"}}}, "
                             "{\"$match\": {}}]}");
    bson_t stages;
    CHECK(sub_array(spec, "p", &stages));
    docstore_pipeline_t *p = NULL;
    docstore_error_t err = {0};
    bson_t *g = from_json("{\"p\": [{\"$group\": {\"_id\": \"$k\", \"n\": {\"$sum\": \"$v\"}}}]}");
    CHECK(sub_array(g, "p", &stages));
    CHECK_INT(docstore_pipeline_new(&stages, &p, &err), 0);
    CHECK_INT(docstore_pipeline_run(p, &docs, NULL, NULL, &err), 0);
    CHECK_INT(docs.n, 1000);
    bool all20 = true;
    for (size_t i = 0; i < docs.n; i++) {
        bson_iter_t it;
        all20 = all20 && bson_iter_init_find(&it, docs.docs[i], "n") && bson_iter_int32(&it) == 20;
    }
    CHECK(all20);
    docstore_doclist_free(&docs);
    docstore_pipeline_free(p);
    bson_destroy(spec);
    bson_destroy(g);
}

static void test_large_add_to_set(void)
{
    /* 60,000 values, 20,000 distinct (ints and equal doubles mixed), one group. */
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    for (int i = 0; i < 60000; i++) {
        bson_t *d = bson_new();
        if (i % 2)
            BSON_APPEND_INT32(d, "v", i % 20000);
        else
            BSON_APPEND_DOUBLE(d, "v", (double)(i % 20000));
        CHECK_INT(docstore_doclist_push(&docs, d), 0);
    }
    bson_t *spec = from_json("{\"p\": [{\"$group\": {\"_id\": null, \"s\": {\"$addToSet\": "
                             "\"$v\"}}}, {\"$project\": {\"n\": {\"$size\": \"$s\"}}}]}");
    bson_t stages;
    CHECK(sub_array(spec, "p", &stages));
    docstore_pipeline_t *p = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_pipeline_new(&stages, &p, &err), 0);
    CHECK_INT(docstore_pipeline_run(p, &docs, NULL, NULL, &err), 0);
    bson_iter_t it;
    CHECK(docs.n == 1 && bson_iter_init_find(&it, docs.docs[0], "n") &&
          bson_iter_int32(&it) == 20000);
    docstore_doclist_free(&docs);
    docstore_pipeline_free(p);
    bson_destroy(spec);
}

static void test_large_lookup(void)
{
    /* 5,000 local x 5,000 foreign documents: a hash join, each local matching two. */
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    for (int i = 0; i < 5000; i++) {
        bson_t *d = bson_new();
        BSON_APPEND_INT32(d, "_id", i);
        BSON_APPEND_DOUBLE(d, "k", (double)(i % 2500));
        CHECK_INT(docstore_doclist_push(&docs, d), 0);
    }
    bson_t *spec = from_json("{\"p\": [{\"$lookup\": {\"from\": \"many\", \"localField\": \"k\", "
                             "\"foreignField\": \"k\", \"as\": \"m\"}}, {\"$project\": {\"n\": "
                             "{\"$size\": \"$m\"}, \"first\": {\"$first\": \"$m._id\"}}}]}");
    bson_t stages;
    CHECK(sub_array(spec, "p", &stages));
    docstore_pipeline_t *p = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_pipeline_new(&stages, &p, &err), 0);
    CHECK_INT(docstore_pipeline_run(p, &docs, reader, NULL, &err), 0);
    CHECK_INT(docs.n, 5000);
    bool ok = true;
    for (size_t i = 0; i < docs.n; i++) {
        bson_iter_t it;
        ok = ok && bson_iter_init_find(&it, docs.docs[i], "n") && bson_iter_int32(&it) == 2 &&
             bson_iter_init_find(&it, docs.docs[i], "first") &&
             bson_iter_int32(&it) == (int32_t)(i % 2500);
    }
    CHECK(ok);
    docstore_doclist_free(&docs);
    docstore_pipeline_free(p);
    bson_destroy(spec);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_leading_match);
    RUN(test_large_group);
    RUN(test_large_lookup);
    RUN(test_large_add_to_set);
    return TEST_REPORT();
}
