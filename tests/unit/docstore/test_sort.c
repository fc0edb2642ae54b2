/*
 * Unit tests of sort.c: each case sorts a list of documents (given in insertion
 * order, each with an integer _id) by a spec and checks the resulting _id
 * order. Cases follow the manual's sort and comparison-order pages: missing
 * sorts as null, an empty array before null, arrays by their smallest element
 * ascending and largest descending, mixed types by the BSON type order, and
 * ties keep their input order (stable).
 */
#include "harness.h"
#include "docstore/query/sort.h"

#include <stdlib.h>

struct sort_case {
    const char *spec;
    const char *docs[12];
    const char *want; /* _ids in sorted order, comma-separated */
};

static const struct sort_case cases[] = {
    {"{\"a\": 1}",
     {"{\"_id\": 1, \"a\": 3}", "{\"_id\": 2, \"a\": 1}", "{\"_id\": 3, \"a\": 2}"},
     "2,3,1"},
    {"{\"a\": -1}",
     {"{\"_id\": 1, \"a\": 3}", "{\"_id\": 2, \"a\": 1}", "{\"_id\": 3, \"a\": 2}"},
     "1,3,2"},
    /* numbers of different types by value */
    {"{\"a\": 1}",
     {"{\"_id\": 1, \"a\": 2.5}", "{\"_id\": 2, \"a\": {\"$numberLong\": \"2\"}}",
      "{\"_id\": 3, \"a\": {\"$numberDecimal\": \"2.25\"}}",
      "{\"_id\": 4, \"a\": {\"$numberDouble\": \"NaN\"}}", "{\"_id\": 5, \"a\": -1}"},
     "4,5,2,3,1"},
    /* mixed types: MinKey, missing/null, numbers, strings, objects, arrays, ObjectId, bool, date,
       MaxKey */
    {"{\"a\": 1}",
     {"{\"_id\": 1, \"a\": true}", "{\"_id\": 2, \"a\": \"x\"}", "{\"_id\": 3}",
      "{\"_id\": 4, \"a\": {\"b\": 1}}", "{\"_id\": 5, \"a\": 7}",
      "{\"_id\": 6, \"a\": {\"$maxKey\": 1}}",
      "{\"_id\": 7, \"a\": {\"$date\": {\"$numberLong\": \"0\"}}}",
      "{\"_id\": 8, \"a\": {\"$minKey\": 1}}", "{\"_id\": 9, \"a\": null}",
      "{\"_id\": 10, \"a\": {\"$oid\": \"5f0000000000000000000000\"}}"},
     "8,3,9,5,2,4,10,1,7,6"},
    /* missing and null tie (stable), descending puts them after values */
    {"{\"a\": -1}",
     {"{\"_id\": 1}", "{\"_id\": 2, \"a\": null}", "{\"_id\": 3, \"a\": 0}", "{\"_id\": 4}"},
     "3,1,2,4"},
    /* arrays: smallest element ascending, largest descending; [] before null */
    {"{\"a\": 1}",
     {"{\"_id\": 1, \"a\": [5, 1]}", "{\"_id\": 2, \"a\": 3}", "{\"_id\": 3, \"a\": []}",
      "{\"_id\": 4}", "{\"_id\": 5, \"a\": [2, 9]}"},
     "3,4,1,5,2"},
    {"{\"a\": -1}",
     {"{\"_id\": 1, \"a\": [5, 1]}", "{\"_id\": 2, \"a\": 3}", "{\"_id\": 3, \"a\": []}",
      "{\"_id\": 4}", "{\"_id\": 5, \"a\": [2, 9]}"},
     "5,1,2,4,3"},
    /* an array with mixed types: smallest by type order */
    {"{\"a\": 1}",
     {"{\"_id\": 1, \"a\": [\"s\", 10]}", "{\"_id\": 2, \"a\": 5}",
      "{\"_id\": 3, \"a\": [null, 100]}"},
     "3,2,1"},
    {"{\"a\": -1}",
     {"{\"_id\": 1, \"a\": [\"s\", 10]}", "{\"_id\": 2, \"a\": 50}", "{\"_id\": 3, \"a\": [true]}"},
     "3,1,2"},
    /* nested paths and arrays of documents */
    {"{\"a.b\": 1}",
     {"{\"_id\": 1, \"a\": {\"b\": 3}}", "{\"_id\": 2, \"a\": [{\"b\": 5}, {\"b\": 2}]}",
      "{\"_id\": 3, \"a\": {\"c\": 1}}", "{\"_id\": 4, \"a\": 1}"},
     "3,4,2,1"},
    {"{\"a.b\": -1}",
     {"{\"_id\": 1, \"a\": {\"b\": 3}}", "{\"_id\": 2, \"a\": [{\"b\": 5}, {\"b\": 2}]}",
      "{\"_id\": 3, \"a\": [{\"b\": 4}, {}]}"},
     "2,3,1"},
    {"{\"a.b\": 1}",
     {"{\"_id\": 1, \"a\": [{\"b\": 4}, {}]}", "{\"_id\": 2, \"a\": {\"b\": 0}}"},
     "1,2"},
    {"{\"a.1\": 1}",
     {"{\"_id\": 1, \"a\": [9, 1]}", "{\"_id\": 2, \"a\": [0, 5]}", "{\"_id\": 3, \"a\": [0]}"},
     "3,1,2"},
    /* compound keys, ties broken by the next key, then input order */
    {"{\"a\": 1, \"b\": -1}",
     {"{\"_id\": 1, \"a\": 1, \"b\": 1}", "{\"_id\": 2, \"a\": 0, \"b\": 5}",
      "{\"_id\": 3, \"a\": 1, \"b\": 2}", "{\"_id\": 4, \"a\": 1, \"b\": 2}",
      "{\"_id\": 5, \"a\": 0, \"b\": 6}"},
     "5,2,3,4,1"},
    /* strings by binary order (uppercase before lowercase), documents field by field */
    {"{\"s\": 1}",
     {"{\"_id\": 1, \"s\": \"b\"}", "{\"_id\": 2, \"s\": \"B\"}", "{\"_id\": 3, \"s\": \"a\"}",
      "{\"_id\": 4, \"s\": \"ab\"}"},
     "2,3,4,1"},
    {"{\"d\": 1}",
     {"{\"_id\": 1, \"d\": {\"x\": 2}}", "{\"_id\": 2, \"d\": {\"x\": 1, \"y\": 1}}",
      "{\"_id\": 3, \"d\": {\"w\": 9}}"},
     "3,2,1"},
    /* the data sets and orders of MongoDB's sort_dotted_paths tests */
    {"{\"a\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1}", "{\"_id\": 2, \"a\": {\"$undefined\": true}}",
      "{\"_id\": 3, \"a\": null}", "{\"_id\": 4, \"a\": {}}", "{\"_id\": 5, \"a\": []}",
      "{\"_id\": 6, \"a\": [1]}", "{\"_id\": 7, \"a\": [[1]]}", "{\"_id\": 8}",
      "{\"_id\": 9, \"a\": [{\"$undefined\": true}]}"},
     "2,5,9,3,8,1,6,4,7"},
    {"{\"a\": -1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1}", "{\"_id\": 2, \"a\": {\"$undefined\": true}}",
      "{\"_id\": 3, \"a\": null}", "{\"_id\": 4, \"a\": {}}", "{\"_id\": 5, \"a\": []}",
      "{\"_id\": 6, \"a\": [1]}", "{\"_id\": 7, \"a\": [[1]]}", "{\"_id\": 8}",
      "{\"_id\": 9, \"a\": [{\"$undefined\": true}]}"},
     "7,4,1,6,3,8,2,5,9"},
    {"{\"a.0\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1}", "{\"_id\": 2, \"a\": {\"$undefined\": true}}",
      "{\"_id\": 3, \"a\": null}", "{\"_id\": 4, \"a\": {}}", "{\"_id\": 5, \"a\": []}",
      "{\"_id\": 6, \"a\": [1]}", "{\"_id\": 7, \"a\": [[1]]}", "{\"_id\": 8}",
      "{\"_id\": 9, \"a\": [{\"$undefined\": true}]}"},
     "9,1,2,3,4,5,8,6,7"},
    {"{\"a.0\": -1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1}", "{\"_id\": 2, \"a\": {\"$undefined\": true}}",
      "{\"_id\": 3, \"a\": null}", "{\"_id\": 4, \"a\": {}}", "{\"_id\": 5, \"a\": []}",
      "{\"_id\": 6, \"a\": [1]}", "{\"_id\": 7, \"a\": [[1]]}", "{\"_id\": 8}",
      "{\"_id\": 9, \"a\": [{\"$undefined\": true}]}"},
     "7,6,1,2,3,4,5,8,9"},
    {"{\"a\": 1, \"b\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1, \"b\": [2]}", "{\"_id\": 2, \"a\": 2, \"b\": []}",
      "{\"_id\": 3, \"a\": [], \"b\": 4}", "{\"_id\": 4, \"a\": [1], \"b\": 4}",
      "{\"_id\": 5, \"a\": [2, 3], \"b\": 2}", "{\"_id\": 6, \"a\": 2, \"b\": [3, 5]}",
      "{\"_id\": 7, \"a\": 1, \"b\": [1, 3]}", "{\"_id\": 8, \"a\": [1, 2], \"b\": 3}",
      "{\"_id\": 9, \"a\": 2, \"b\": 3}"},
     "3,7,1,8,4,2,5,6,9"},
    {"{\"a\": 1, \"b\": -1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1, \"b\": [2]}", "{\"_id\": 2, \"a\": 2, \"b\": []}",
      "{\"_id\": 3, \"a\": [], \"b\": 4}", "{\"_id\": 4, \"a\": [1], \"b\": 4}",
      "{\"_id\": 5, \"a\": [2, 3], \"b\": 2}", "{\"_id\": 6, \"a\": 2, \"b\": [3, 5]}",
      "{\"_id\": 7, \"a\": 1, \"b\": [1, 3]}", "{\"_id\": 8, \"a\": [1, 2], \"b\": 3}",
      "{\"_id\": 9, \"a\": 2, \"b\": 3}"},
     "3,4,7,8,1,6,9,5,2"},
    {"{\"a\": -1, \"b\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": 1, \"b\": [2]}", "{\"_id\": 2, \"a\": 2, \"b\": []}",
      "{\"_id\": 3, \"a\": [], \"b\": 4}", "{\"_id\": 4, \"a\": [1], \"b\": 4}",
      "{\"_id\": 5, \"a\": [2, 3], \"b\": 2}", "{\"_id\": 6, \"a\": 2, \"b\": [3, 5]}",
      "{\"_id\": 7, \"a\": 1, \"b\": [1, 3]}", "{\"_id\": 8, \"a\": [1, 2], \"b\": 3}",
      "{\"_id\": 9, \"a\": 2, \"b\": 3}"},
     "5,2,6,8,9,7,1,4,3"},
    {"{\"a.b\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": {\"b\": 2}}", "{\"_id\": 2, \"a\": {\"b\": []}}",
      "{\"_id\": 3, \"a\": {\"b\": [2, 3]}}", "{\"_id\": 4, \"a\": {\"c\": 1}}",
      "{\"_id\": 5, \"a\": []}", "{\"_id\": 6, \"a\": [{\"b\": [5]}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [4, 5]}, {\"b\": 7}]}",
      "{\"_id\": 8, \"a\": [{\"b\": [1, 3]}, {\"b\": [2, 5]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": []}, {\"b\": [1, 3]}]}"},
     "2,9,4,5,8,1,3,7,6"},
    {"{\"a.b\": 1, \"_id\": -1}",
     {"{\"_id\": 1, \"a\": {\"b\": 2}}", "{\"_id\": 2, \"a\": {\"b\": []}}",
      "{\"_id\": 3, \"a\": {\"b\": [2, 3]}}", "{\"_id\": 4, \"a\": {\"c\": 1}}",
      "{\"_id\": 5, \"a\": []}", "{\"_id\": 6, \"a\": [{\"b\": [5]}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [4, 5]}, {\"b\": 7}]}",
      "{\"_id\": 8, \"a\": [{\"b\": [1, 3]}, {\"b\": [2, 5]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": []}, {\"b\": [1, 3]}]}"},
     "9,2,5,4,8,3,1,7,6"},
    {"{\"a.b\": -1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": {\"b\": 2}}", "{\"_id\": 2, \"a\": {\"b\": []}}",
      "{\"_id\": 3, \"a\": {\"b\": [2, 3]}}", "{\"_id\": 4, \"a\": {\"c\": 1}}",
      "{\"_id\": 5, \"a\": []}", "{\"_id\": 6, \"a\": [{\"b\": [5]}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [4, 5]}, {\"b\": 7}]}",
      "{\"_id\": 8, \"a\": [{\"b\": [1, 3]}, {\"b\": [2, 5]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": []}, {\"b\": [1, 3]}]}"},
     "7,6,8,3,9,1,4,5,2"},
    {"{\"a.b\": -1, \"_id\": -1}",
     {"{\"_id\": 1, \"a\": {\"b\": 2}}", "{\"_id\": 2, \"a\": {\"b\": []}}",
      "{\"_id\": 3, \"a\": {\"b\": [2, 3]}}", "{\"_id\": 4, \"a\": {\"c\": 1}}",
      "{\"_id\": 5, \"a\": []}", "{\"_id\": 6, \"a\": [{\"b\": [5]}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [4, 5]}, {\"b\": 7}]}",
      "{\"_id\": 8, \"a\": [{\"b\": [1, 3]}, {\"b\": [2, 5]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": []}, {\"b\": [1, 3]}]}"},
     "7,8,6,9,3,1,5,4,2"},
    {"{\"a.0.b\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": [{\"b\": [4, 1], \"c\": 1}, {\"b\": [1, 5], \"c\": 2}]}",
      "{\"_id\": 2, \"a\": [{\"b\": 2, \"c\": [1, 3]}, {\"b\": 4, \"c\": [2, 4]}]}",
      "{\"_id\": 3, \"a\": [{\"b\": [6, 4], \"c\": 1}, {\"b\": [9, 7], \"c\": 2}]}",
      "{\"_id\": 4, \"a\": [{\"b\": 4, \"c\": [1, 2]}, {\"b\": 5, \"c\": [3, 2]}]}",
      "{\"_id\": 5, \"a\": [{\"b\": [2, 3], \"c\": 1}, {\"b\": [7, 6], \"c\": 3}]}",
      "{\"_id\": 6, \"a\": [{\"b\": 5, \"c\": []}, {\"b\": 3, \"c\": 3}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [], \"c\": 2}, {\"b\": 2, \"c\": 3}]}",
      "{\"_id\": 8, \"a\": [{\"b\": 3, \"c\": [2]}, {\"b\": 8, \"c\": [3]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": [8], \"c\": 2}, {\"b\": [6], \"c\": 3}]}"},
     "7,1,2,5,8,3,4,6,9"},
    {"{\"a.0.b\": 1, \"_id\": -1}",
     {"{\"_id\": 1, \"a\": [{\"b\": [4, 1], \"c\": 1}, {\"b\": [1, 5], \"c\": 2}]}",
      "{\"_id\": 2, \"a\": [{\"b\": 2, \"c\": [1, 3]}, {\"b\": 4, \"c\": [2, 4]}]}",
      "{\"_id\": 3, \"a\": [{\"b\": [6, 4], \"c\": 1}, {\"b\": [9, 7], \"c\": 2}]}",
      "{\"_id\": 4, \"a\": [{\"b\": 4, \"c\": [1, 2]}, {\"b\": 5, \"c\": [3, 2]}]}",
      "{\"_id\": 5, \"a\": [{\"b\": [2, 3], \"c\": 1}, {\"b\": [7, 6], \"c\": 3}]}",
      "{\"_id\": 6, \"a\": [{\"b\": 5, \"c\": []}, {\"b\": 3, \"c\": 3}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [], \"c\": 2}, {\"b\": 2, \"c\": 3}]}",
      "{\"_id\": 8, \"a\": [{\"b\": 3, \"c\": [2]}, {\"b\": 8, \"c\": [3]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": [8], \"c\": 2}, {\"b\": [6], \"c\": 3}]}"},
     "7,1,5,2,8,4,3,6,9"},
    {"{\"a.0.b\": -1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": [{\"b\": [4, 1], \"c\": 1}, {\"b\": [1, 5], \"c\": 2}]}",
      "{\"_id\": 2, \"a\": [{\"b\": 2, \"c\": [1, 3]}, {\"b\": 4, \"c\": [2, 4]}]}",
      "{\"_id\": 3, \"a\": [{\"b\": [6, 4], \"c\": 1}, {\"b\": [9, 7], \"c\": 2}]}",
      "{\"_id\": 4, \"a\": [{\"b\": 4, \"c\": [1, 2]}, {\"b\": 5, \"c\": [3, 2]}]}",
      "{\"_id\": 5, \"a\": [{\"b\": [2, 3], \"c\": 1}, {\"b\": [7, 6], \"c\": 3}]}",
      "{\"_id\": 6, \"a\": [{\"b\": 5, \"c\": []}, {\"b\": 3, \"c\": 3}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [], \"c\": 2}, {\"b\": 2, \"c\": 3}]}",
      "{\"_id\": 8, \"a\": [{\"b\": 3, \"c\": [2]}, {\"b\": 8, \"c\": [3]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": [8], \"c\": 2}, {\"b\": [6], \"c\": 3}]}"},
     "9,3,6,1,4,5,8,2,7"},
    {"{\"a.0.b\": -1, \"_id\": -1}",
     {"{\"_id\": 1, \"a\": [{\"b\": [4, 1], \"c\": 1}, {\"b\": [1, 5], \"c\": 2}]}",
      "{\"_id\": 2, \"a\": [{\"b\": 2, \"c\": [1, 3]}, {\"b\": 4, \"c\": [2, 4]}]}",
      "{\"_id\": 3, \"a\": [{\"b\": [6, 4], \"c\": 1}, {\"b\": [9, 7], \"c\": 2}]}",
      "{\"_id\": 4, \"a\": [{\"b\": 4, \"c\": [1, 2]}, {\"b\": 5, \"c\": [3, 2]}]}",
      "{\"_id\": 5, \"a\": [{\"b\": [2, 3], \"c\": 1}, {\"b\": [7, 6], \"c\": 3}]}",
      "{\"_id\": 6, \"a\": [{\"b\": 5, \"c\": []}, {\"b\": 3, \"c\": 3}]}",
      "{\"_id\": 7, \"a\": [{\"b\": [], \"c\": 2}, {\"b\": 2, \"c\": 3}]}",
      "{\"_id\": 8, \"a\": [{\"b\": 3, \"c\": [2]}, {\"b\": 8, \"c\": [3]}]}",
      "{\"_id\": 9, \"a\": [{\"b\": [8], \"c\": 2}, {\"b\": [6], \"c\": 3}]}"},
     "9,3,6,4,1,8,5,2,7"},
    {"{\"a.b.c\": 1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": {\"b\": {\"c\": 2}}}", "{\"_id\": 2, \"a\": {\"b\": {\"c\": []}}}",
      "{\"_id\": 3, \"a\": [{\"b\": []}, {\"b\": {\"c\": []}}]}",
      "{\"_id\": 4, \"a\": [{\"b\": {\"c\": 1}}]}",
      "{\"_id\": 5, \"a\": {\"b\": [{\"c\": 3}, {\"d\": 1}]}}",
      "{\"_id\": 6, \"a\": {\"b\": [{\"c\": [5]}]}}", "{\"_id\": 7, \"a\": []}",
      "{\"_id\": 8, \"a\": {\"b\": [{\"c\": [1, 3]}, {\"c\": [2, 5]}]}}",
      "{\"_id\": 9, \"a\": [{\"b\": [{\"c\": []}, {\"c\": [1, 3]}]}]}"},
     "2,3,9,5,7,4,8,1,6"},
    {"{\"a.b.c\": 1, \"_id\": -1}",
     {"{\"_id\": 1, \"a\": {\"b\": {\"c\": 2}}}", "{\"_id\": 2, \"a\": {\"b\": {\"c\": []}}}",
      "{\"_id\": 3, \"a\": [{\"b\": []}, {\"b\": {\"c\": []}}]}",
      "{\"_id\": 4, \"a\": [{\"b\": {\"c\": 1}}]}",
      "{\"_id\": 5, \"a\": {\"b\": [{\"c\": 3}, {\"d\": 1}]}}",
      "{\"_id\": 6, \"a\": {\"b\": [{\"c\": [5]}]}}", "{\"_id\": 7, \"a\": []}",
      "{\"_id\": 8, \"a\": {\"b\": [{\"c\": [1, 3]}, {\"c\": [2, 5]}]}}",
      "{\"_id\": 9, \"a\": [{\"b\": [{\"c\": []}, {\"c\": [1, 3]}]}]}"},
     "9,3,2,7,5,8,4,1,6"},
    {"{\"a.b.c\": -1, \"_id\": 1}",
     {"{\"_id\": 1, \"a\": {\"b\": {\"c\": 2}}}", "{\"_id\": 2, \"a\": {\"b\": {\"c\": []}}}",
      "{\"_id\": 3, \"a\": [{\"b\": []}, {\"b\": {\"c\": []}}]}",
      "{\"_id\": 4, \"a\": [{\"b\": {\"c\": 1}}]}",
      "{\"_id\": 5, \"a\": {\"b\": [{\"c\": 3}, {\"d\": 1}]}}",
      "{\"_id\": 6, \"a\": {\"b\": [{\"c\": [5]}]}}", "{\"_id\": 7, \"a\": []}",
      "{\"_id\": 8, \"a\": {\"b\": [{\"c\": [1, 3]}, {\"c\": [2, 5]}]}}",
      "{\"_id\": 9, \"a\": [{\"b\": [{\"c\": []}, {\"c\": [1, 3]}]}]}"},
     "6,8,5,9,1,4,3,7,2"},
    {"{\"a.b.c\": -1, \"_id\": -1}",
     {"{\"_id\": 1, \"a\": {\"b\": {\"c\": 2}}}", "{\"_id\": 2, \"a\": {\"b\": {\"c\": []}}}",
      "{\"_id\": 3, \"a\": [{\"b\": []}, {\"b\": {\"c\": []}}]}",
      "{\"_id\": 4, \"a\": [{\"b\": {\"c\": 1}}]}",
      "{\"_id\": 5, \"a\": {\"b\": [{\"c\": 3}, {\"d\": 1}]}}",
      "{\"_id\": 6, \"a\": {\"b\": [{\"c\": [5]}]}}", "{\"_id\": 7, \"a\": []}",
      "{\"_id\": 8, \"a\": {\"b\": [{\"c\": [1, 3]}, {\"c\": [2, 5]}]}}",
      "{\"_id\": 9, \"a\": [{\"b\": [{\"c\": []}, {\"c\": [1, 3]}]}]}"},
     "8,6,9,5,1,4,7,3,2"},
    /* an empty spec keeps the input order */
    {"{}", {"{\"_id\": 3}", "{\"_id\": 1}", "{\"_id\": 2}"}, "3,1,2"},
    /* floating-point direction values are accepted */
    {"{\"a\": -1.0}", {"{\"_id\": 1, \"a\": 1}", "{\"_id\": 2, \"a\": 2}"}, "2,1"},
};

static bson_t *parse(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (b == NULL) {
        harness_failures++;
        fprintf(stderr, "bad test JSON %s: %s\n", json, e.message);
    }
    return b;
}

static void ids_of(bson_t **docs, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        bson_iter_t it;
        int id = bson_iter_init_find(&it, docs[i], "_id") ? bson_iter_int32(&it) : -1;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%d", i ? "," : "", id);
    }
}

static void test_cases(void)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct sort_case *sc = &cases[c];
        bson_t *spec = parse(sc->spec);
        bson_t *docs[12];
        size_t n = 0;
        while (n < 12 && sc->docs[n] != NULL) {
            docs[n] = parse(sc->docs[n]);
            if (docs[n] == NULL)
                break;
            n++;
        }
        docstore_sort_t *s = NULL;
        docstore_error_t err = {0};
        if (spec == NULL || docstore_sort_new(spec, &s, &err) != 0) {
            harness_failures++;
            fprintf(stderr, "case %zu: spec %s: %s\n", c, sc->spec, err.msg);
        } else {
            char got[128];
            docstore_sort_docs(s, docs, n);
            ids_of(docs, n, got, sizeof got);
            if (strcmp(got, sc->want) != 0) {
                harness_failures++;
                fprintf(stderr, "case %zu: sort %s gave %s, expected %s\n", c, sc->spec, got,
                        sc->want);
            }
            /* docstore_sort_compare agrees with the sorted order */
            for (size_t i = 0; i + 1 < n; i++)
                if (docstore_sort_compare(s, docs[i], docs[i + 1]) > 0) {
                    harness_failures++;
                    fprintf(stderr, "case %zu: compare disagrees at %zu\n", c, i);
                }
        }
        docstore_error_clear(&err);
        docstore_sort_free(s);
        for (size_t i = 0; i < n; i++)
            bson_destroy(docs[i]);
        if (spec)
            bson_destroy(spec);
    }
}

/* Many equal keys: a stable sort keeps the input order (qsort would not). */
static void test_stable_large(void)
{
    enum { N = 1000 };
    bson_t *docs[N];
    for (int i = 0; i < N; i++) {
        docs[i] = bson_new();
        BSON_APPEND_INT32(docs[i], "_id", i);
        BSON_APPEND_INT32(docs[i], "k", (i * 7919) % 5);
    }
    bson_t *spec = parse("{\"k\": -1}");
    docstore_sort_t *s = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_sort_new(spec, &s, &err), 0);
    docstore_sort_docs(s, docs, N);
    int bad = 0;
    for (int i = 1; i < N; i++) {
        bson_iter_t a, b, ka, kb;
        bson_iter_init_find(&a, docs[i - 1], "_id");
        bson_iter_init_find(&b, docs[i], "_id");
        bson_iter_init_find(&ka, docs[i - 1], "k");
        bson_iter_init_find(&kb, docs[i], "k");
        if (bson_iter_int32(&ka) < bson_iter_int32(&kb))
            bad++;
        if (bson_iter_int32(&ka) == bson_iter_int32(&kb) &&
            bson_iter_int32(&a) > bson_iter_int32(&b))
            bad++;
    }
    CHECK_INT(bad, 0);
    docstore_sort_free(s);
    bson_destroy(spec);
    for (int i = 0; i < N; i++)
        bson_destroy(docs[i]);
}

static void test_errors(void)
{
    struct {
        const char *spec;
        int code;
        const char *msg;
    } errs[] = {
        {"{\"a\": 2}", 2, "$sort key ordering must be 1 (for ascending) or -1 (for descending)"},
        {"{\"a\": \"asc\"}", 2,
         "$sort key ordering must be 1 (for ascending) or -1 (for descending)"},
        {"{\"a\": 0}", 2, "$sort key ordering must be 1 (for ascending) or -1 (for descending)"},
        {"{\"a\": {\"$meta\": \"textScore\"}}", 238,
         "$meta sort keys are not supported by the docstore"},
        {"{\"a..b\": 1}", 2, "FieldPath field names may not be empty strings."},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        bson_t *spec = parse(errs[i].spec);
        docstore_sort_t *s = NULL;
        docstore_error_t err = {0};
        int rc = docstore_sort_new(spec, &s, &err);
        if (rc != -1 || s != NULL || err.code != errs[i].code ||
            strcmp(err.msg, errs[i].msg) != 0) {
            harness_failures++;
            fprintf(stderr, "error case %s: rc=%d code=%d msg=%s\n", errs[i].spec, rc, err.code,
                    err.msg);
        }
        docstore_error_clear(&err);
        docstore_sort_free(s);
        bson_destroy(spec);
    }
}

int main(void)
{
    RUN(test_cases);
    RUN(test_stable_large);
    RUN(test_errors);
    return TEST_REPORT();
}
