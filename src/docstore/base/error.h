/*
 * Errors in MongoDB's shape. Every docstore module reports failure through a
 * docstore_error_t: the server's numeric code, a message, and optional extra
 * fields (keyPattern/keyValue for duplicate keys) that the command layer turns
 * into {ok:0, errmsg, code, codeName, ...} or a writeErrors entry.
 */
#ifndef TETHER_DOCSTORE_ERROR_H
#define TETHER_DOCSTORE_ERROR_H

#include <bson/bson.h>

/* MongoDB server error codes (src/mongo/base/error_codes.yml). */
enum docstore_code {
    DOCSTORE_OK = 0,                          /* no error */
    DOCSTORE_INTERNAL_ERROR = 1,              /* InternalError */
    DOCSTORE_BAD_VALUE = 2,                   /* BadValue */
    DOCSTORE_NO_SUCH_KEY = 4,                 /* NoSuchKey */
    DOCSTORE_GRAPH_CONTAINS_CYCLE = 5,        /* GraphContainsCycle */
    DOCSTORE_FAILED_TO_PARSE = 9,             /* FailedToParse */
    DOCSTORE_UNAUTHORIZED = 13,               /* Unauthorized */
    DOCSTORE_TYPE_MISMATCH = 14,              /* TypeMismatch */
    DOCSTORE_OVERFLOW = 15,                   /* Overflow */
    DOCSTORE_AUTHENTICATION_FAILED = 18,      /* AuthenticationFailed */
    DOCSTORE_ILLEGAL_OPERATION = 20,          /* IllegalOperation */
    DOCSTORE_NAMESPACE_NOT_FOUND = 26,        /* NamespaceNotFound */
    DOCSTORE_INDEX_NOT_FOUND = 27,            /* IndexNotFound */
    DOCSTORE_PATH_NOT_VIABLE = 28,            /* PathNotViable */
    DOCSTORE_CONFLICTING_UPDATE_OPERATORS = 40, /* ConflictingUpdateOperators */
    DOCSTORE_CURSOR_NOT_FOUND = 43,           /* CursorNotFound */
    DOCSTORE_NAMESPACE_EXISTS = 48,           /* NamespaceExists */
    DOCSTORE_MAX_TIME_MS_EXPIRED = 50,        /* MaxTimeMSExpired */
    DOCSTORE_DOLLAR_PREFIXED_FIELD_NAME = 52, /* DollarPrefixedFieldName */
    DOCSTORE_EMPTY_FIELD_NAME = 56,           /* EmptyFieldName */
    DOCSTORE_COMMAND_NOT_FOUND = 59,          /* CommandNotFound */
    DOCSTORE_IMMUTABLE_FIELD = 66,            /* ImmutableField */
    DOCSTORE_INVALID_OPTIONS = 72,            /* InvalidOptions */
    DOCSTORE_INVALID_NAMESPACE = 73,          /* InvalidNamespace */
    DOCSTORE_INDEX_OPTIONS_CONFLICT = 85,     /* IndexOptionsConflict */
    DOCSTORE_INDEX_KEY_SPECS_CONFLICT = 86,   /* IndexKeySpecsConflict */
    DOCSTORE_OPERATION_FAILED = 96,           /* OperationFailed */
    DOCSTORE_PROTOCOL_ERROR = 17,             /* ProtocolError */
    DOCSTORE_INVALID_BSON = 22,               /* InvalidBSON */
    DOCSTORE_BSON_OBJECT_TOO_LARGE = 10334,   /* BSONObjectTooLarge */
    DOCSTORE_TOO_MANY_CONNECTIONS = 10107,    /* placeholder family for connection refusals */
    DOCSTORE_LOCATION_51024 = 51024,          /* "$sort" position arguments etc. */
    DOCSTORE_DUPLICATE_KEY = 11000,           /* DuplicateKey */
    DOCSTORE_INVALID_ID_FIELD = 53,           /* InvalidIdField */
    DOCSTORE_NOT_IMPLEMENTED = 238,           /* NotImplemented: what the docstore does not support */
    DOCSTORE_LOCATION_40324 = 40324,          /* Unrecognized pipeline stage name */
    DOCSTORE_CLIENT_METADATA_CANNOT_BE_MUTATED = 186, /* ClientMetadataCannotBeMutated */
    DOCSTORE_LOCATION_40414 = 40414,          /* a required command field is missing */
    DOCSTORE_LOCATION_51769 = 51769,          /* hello.speculativeAuthenticate: unknown command */
    DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT = 292, /* QueryExceededMemoryLimitNoDiskUseAllowed */
    DOCSTORE_EXCEEDED_MEMORY_LIMIT = 146,     /* ExceededMemoryLimit */
    DOCSTORE_QUERY_PLAN_KILLED = 175,         /* QueryPlanKilled */
    /* Named where they are raised: a few MongoDB names, the rest LocationNNNNN
     * codes (one source location in MongoDB); codeName from docstore_code_name(). */
    DOCSTORE_INVALID_LENGTH = 16,                 /* InvalidLength */
    DOCSTORE_NOT_SINGLE_VALUE_FIELD = 54,         /* NotSingleValueField */
    DOCSTORE_CANNOT_CREATE_INDEX = 67,            /* CannotCreateIndex */
    DOCSTORE_INVALID_PIPELINE_OPERATOR = 168,     /* InvalidPipelineOperator */
    DOCSTORE_CANNOT_INDEX_PARALLEL_ARRAYS = 171,  /* CannotIndexParallelArrays */
    /* InvalidIndexSpecificationOption */
    DOCSTORE_INVALID_INDEX_SPECIFICATION_OPTION = 197,
    DOCSTORE_UNSUPPORTED_OP_QUERY_COMMAND = 352,  /* UnsupportedOpQueryCommand */
    DOCSTORE_LOCATION_13103 = 13103,              /* Location13103 */
    DOCSTORE_LOCATION_15947 = 15947,              /* Location15947 */
    DOCSTORE_LOCATION_15952 = 15952,              /* Location15952 */
    DOCSTORE_LOCATION_15955 = 15955,              /* Location15955 */
    DOCSTORE_LOCATION_15957 = 15957,              /* Location15957 */
    DOCSTORE_LOCATION_15958 = 15958,              /* Location15958 */
    DOCSTORE_LOCATION_15959 = 15959,              /* Location15959 */
    DOCSTORE_LOCATION_15969 = 15969,              /* Location15969 */
    DOCSTORE_LOCATION_15972 = 15972,              /* Location15972 */
    DOCSTORE_LOCATION_15973 = 15973,              /* Location15973 */
    DOCSTORE_LOCATION_15976 = 15976,              /* Location15976 */
    DOCSTORE_LOCATION_15981 = 15981,              /* Location15981 */
    DOCSTORE_LOCATION_15983 = 15983,              /* Location15983 */
    DOCSTORE_LOCATION_15998 = 15998,              /* Location15998 */
    DOCSTORE_LOCATION_16006 = 16006,              /* Location16006 */
    DOCSTORE_LOCATION_16007 = 16007,              /* Location16007 */
    DOCSTORE_LOCATION_16020 = 16020,              /* Location16020 */
    DOCSTORE_LOCATION_16034 = 16034,              /* Location16034 */
    DOCSTORE_LOCATION_16035 = 16035,              /* Location16035 */
    DOCSTORE_LOCATION_16410 = 16410,              /* Location16410 */
    DOCSTORE_LOCATION_16411 = 16411,              /* Location16411 */
    DOCSTORE_LOCATION_16412 = 16412,              /* Location16412 */
    DOCSTORE_LOCATION_16493 = 16493,              /* Location16493 */
    DOCSTORE_LOCATION_16554 = 16554,              /* Location16554 */
    DOCSTORE_LOCATION_16555 = 16555,              /* Location16555 */
    DOCSTORE_LOCATION_16556 = 16556,              /* Location16556 */
    DOCSTORE_LOCATION_16609 = 16609,              /* Location16609 */
    DOCSTORE_LOCATION_16610 = 16610,              /* Location16610 */
    DOCSTORE_LOCATION_16611 = 16611,              /* Location16611 */
    DOCSTORE_LOCATION_16612 = 16612,              /* Location16612 */
    DOCSTORE_LOCATION_16702 = 16702,              /* Location16702 */
    DOCSTORE_LOCATION_16870 = 16870,              /* Location16870 */
    DOCSTORE_LOCATION_16872 = 16872,              /* Location16872 */
    DOCSTORE_LOCATION_16874 = 16874,              /* Location16874 */
    DOCSTORE_LOCATION_16875 = 16875,              /* Location16875 */
    DOCSTORE_LOCATION_16876 = 16876,              /* Location16876 */
    DOCSTORE_LOCATION_16877 = 16877,              /* Location16877 */
    DOCSTORE_LOCATION_16883 = 16883,              /* Location16883 */
    DOCSTORE_LOCATION_17040 = 17040,              /* Location17040 */
    DOCSTORE_LOCATION_17041 = 17041,              /* Location17041 */
    DOCSTORE_LOCATION_17044 = 17044,              /* Location17044 */
    DOCSTORE_LOCATION_17124 = 17124,              /* Location17124 */
    DOCSTORE_LOCATION_17276 = 17276,              /* Location17276 */
    DOCSTORE_LOCATION_17280 = 17280,              /* Location17280 */
    DOCSTORE_LOCATION_17419 = 17419,              /* Location17419 */
    DOCSTORE_LOCATION_18533 = 18533,              /* Location18533 */
    DOCSTORE_LOCATION_18536 = 18536,              /* Location18536 */
    DOCSTORE_LOCATION_28651 = 28651,              /* Location28651 */
    DOCSTORE_LOCATION_28656 = 28656,              /* Location28656 */
    DOCSTORE_LOCATION_28657 = 28657,              /* Location28657 */
    DOCSTORE_LOCATION_28664 = 28664,              /* Location28664 */
    DOCSTORE_LOCATION_28680 = 28680,              /* Location28680 */
    DOCSTORE_LOCATION_28689 = 28689,              /* Location28689 */
    DOCSTORE_LOCATION_28690 = 28690,              /* Location28690 */
    DOCSTORE_LOCATION_28691 = 28691,              /* Location28691 */
    DOCSTORE_LOCATION_28714 = 28714,              /* Location28714 */
    DOCSTORE_LOCATION_28724 = 28724,              /* Location28724 */
    DOCSTORE_LOCATION_28725 = 28725,              /* Location28725 */
    DOCSTORE_LOCATION_28729 = 28729,              /* Location28729 */
    DOCSTORE_LOCATION_28745 = 28745,              /* Location28745 */
    DOCSTORE_LOCATION_28746 = 28746,              /* Location28746 */
    DOCSTORE_LOCATION_28747 = 28747,              /* Location28747 */
    DOCSTORE_LOCATION_28761 = 28761,              /* Location28761 */
    DOCSTORE_LOCATION_28762 = 28762,              /* Location28762 */
    DOCSTORE_LOCATION_28764 = 28764,              /* Location28764 */
    DOCSTORE_LOCATION_28765 = 28765,              /* Location28765 */
    DOCSTORE_LOCATION_28766 = 28766,              /* Location28766 */
    DOCSTORE_LOCATION_28808 = 28808,              /* Location28808 */
    DOCSTORE_LOCATION_28809 = 28809,              /* Location28809 */
    DOCSTORE_LOCATION_28810 = 28810,              /* Location28810 */
    DOCSTORE_LOCATION_28811 = 28811,              /* Location28811 */
    DOCSTORE_LOCATION_28812 = 28812,              /* Location28812 */
    DOCSTORE_LOCATION_28818 = 28818,              /* Location28818 */
    DOCSTORE_LOCATION_31002 = 31002,              /* Location31002 */
    DOCSTORE_LOCATION_31119 = 31119,              /* Location31119 */
    DOCSTORE_LOCATION_31120 = 31120,              /* Location31120 */
    DOCSTORE_LOCATION_31249 = 31249,              /* Location31249 */
    DOCSTORE_LOCATION_31250 = 31250,              /* Location31250 */
    DOCSTORE_LOCATION_31252 = 31252,              /* Location31252 */
    DOCSTORE_LOCATION_31253 = 31253,              /* Location31253 */
    DOCSTORE_LOCATION_31254 = 31254,              /* Location31254 */
    DOCSTORE_LOCATION_31255 = 31255,              /* Location31255 */
    DOCSTORE_LOCATION_31256 = 31256,              /* Location31256 */
    DOCSTORE_LOCATION_31257 = 31257,              /* Location31257 */
    DOCSTORE_LOCATION_31258 = 31258,              /* Location31258 */
    DOCSTORE_LOCATION_31259 = 31259,              /* Location31259 */
    DOCSTORE_LOCATION_31271 = 31271,              /* Location31271 */
    DOCSTORE_LOCATION_31272 = 31272,              /* Location31272 */
    DOCSTORE_LOCATION_31273 = 31273,              /* Location31273 */
    DOCSTORE_LOCATION_31274 = 31274,              /* Location31274 */
    DOCSTORE_LOCATION_31275 = 31275,              /* Location31275 */
    DOCSTORE_LOCATION_31276 = 31276,              /* Location31276 */
    DOCSTORE_LOCATION_31287 = 31287,              /* Location31287 */
    DOCSTORE_LOCATION_31308 = 31308,              /* Location31308 */
    DOCSTORE_LOCATION_31310 = 31310,              /* Location31310 */
    DOCSTORE_LOCATION_31325 = 31325,              /* Location31325 */
    DOCSTORE_LOCATION_31394 = 31394,              /* Location31394 */
    DOCSTORE_LOCATION_34435 = 34435,              /* Location34435 */
    DOCSTORE_LOCATION_34443 = 34443,              /* Location34443 */
    DOCSTORE_LOCATION_34445 = 34445,              /* Location34445 */
    DOCSTORE_LOCATION_34447 = 34447,              /* Location34447 */
    DOCSTORE_LOCATION_34449 = 34449,              /* Location34449 */
    DOCSTORE_LOCATION_34450 = 34450,              /* Location34450 */
    DOCSTORE_LOCATION_34452 = 34452,              /* Location34452 */
    DOCSTORE_LOCATION_34455 = 34455,              /* Location34455 */
    DOCSTORE_LOCATION_34471 = 34471,              /* Location34471 */
    DOCSTORE_LOCATION_34473 = 34473,              /* Location34473 */
    DOCSTORE_LOCATION_40060 = 40060,              /* Location40060 */
    DOCSTORE_LOCATION_40061 = 40061,              /* Location40061 */
    DOCSTORE_LOCATION_40062 = 40062,              /* Location40062 */
    DOCSTORE_LOCATION_40063 = 40063,              /* Location40063 */
    DOCSTORE_LOCATION_40064 = 40064,              /* Location40064 */
    DOCSTORE_LOCATION_40065 = 40065,              /* Location40065 */
    DOCSTORE_LOCATION_40066 = 40066,              /* Location40066 */
    DOCSTORE_LOCATION_40067 = 40067,              /* Location40067 */
    DOCSTORE_LOCATION_40068 = 40068,              /* Location40068 */
    DOCSTORE_LOCATION_40080 = 40080,              /* Location40080 */
    DOCSTORE_LOCATION_40081 = 40081,              /* Location40081 */
    DOCSTORE_LOCATION_40085 = 40085,              /* Location40085 */
    DOCSTORE_LOCATION_40086 = 40086,              /* Location40086 */
    DOCSTORE_LOCATION_40087 = 40087,              /* Location40087 */
    DOCSTORE_LOCATION_40090 = 40090,              /* Location40090 */
    DOCSTORE_LOCATION_40091 = 40091,              /* Location40091 */
    DOCSTORE_LOCATION_40092 = 40092,              /* Location40092 */
    DOCSTORE_LOCATION_40097 = 40097,              /* Location40097 */
    DOCSTORE_LOCATION_40148 = 40148,              /* Location40148 */
    DOCSTORE_LOCATION_40156 = 40156,              /* Location40156 */
    DOCSTORE_LOCATION_40158 = 40158,              /* Location40158 */
    DOCSTORE_LOCATION_40160 = 40160,              /* Location40160 */
    DOCSTORE_LOCATION_40169 = 40169,              /* Location40169 */
    DOCSTORE_LOCATION_40170 = 40170,              /* Location40170 */
    DOCSTORE_LOCATION_40173 = 40173,              /* Location40173 */
    DOCSTORE_LOCATION_40192 = 40192,              /* Location40192 */
    DOCSTORE_LOCATION_40194 = 40194,              /* Location40194 */
    DOCSTORE_LOCATION_40197 = 40197,              /* Location40197 */
    DOCSTORE_LOCATION_40199 = 40199,              /* Location40199 */
    DOCSTORE_LOCATION_40201 = 40201,              /* Location40201 */
    DOCSTORE_LOCATION_40202 = 40202,              /* Location40202 */
    DOCSTORE_LOCATION_40228 = 40228,              /* Location40228 */
    DOCSTORE_LOCATION_40229 = 40229,              /* Location40229 */
    DOCSTORE_LOCATION_40234 = 40234,              /* Location40234 */
    DOCSTORE_LOCATION_40235 = 40235,              /* Location40235 */
    DOCSTORE_LOCATION_40236 = 40236,              /* Location40236 */
    DOCSTORE_LOCATION_40238 = 40238,              /* Location40238 */
    DOCSTORE_LOCATION_40272 = 40272,              /* Location40272 */
    DOCSTORE_LOCATION_40323 = 40323,              /* Location40323 */
    DOCSTORE_LOCATION_40386 = 40386,              /* Location40386 */
    DOCSTORE_LOCATION_40390 = 40390,              /* Location40390 */
    DOCSTORE_LOCATION_40398 = 40398,              /* Location40398 */
    DOCSTORE_LOCATION_40400 = 40400,              /* Location40400 */
    DOCSTORE_LOCATION_40413 = 40413,              /* Location40413 */
    DOCSTORE_LOCATION_40415 = 40415,              /* Location40415 */
    DOCSTORE_LOCATION_40430 = 40430,              /* Location40430 */
    DOCSTORE_LOCATION_40431 = 40431,              /* Location40431 */
    DOCSTORE_LOCATION_40571 = 40571,              /* Location40571 */
    DOCSTORE_LOCATION_40587 = 40587,              /* Location40587 */
    DOCSTORE_LOCATION_40600 = 40600,              /* Location40600 */
    DOCSTORE_LOCATION_50699 = 50699,              /* Location50699 */
    DOCSTORE_LOCATION_50700 = 50700,              /* Location50700 */
    DOCSTORE_LOCATION_50737 = 50737,              /* Location50737 */
    DOCSTORE_LOCATION_50738 = 50738,              /* Location50738 */
    DOCSTORE_LOCATION_50752 = 50752,              /* Location50752 */
    DOCSTORE_LOCATION_51075 = 51075,              /* Location51075 */
    DOCSTORE_LOCATION_51082 = 51082,              /* Location51082 */
    DOCSTORE_LOCATION_51091 = 51091,              /* Location51091: regex does not compile */
    DOCSTORE_LOCATION_51104 = 51104,              /* Location51104 */
    DOCSTORE_LOCATION_51105 = 51105,              /* Location51105 */
    DOCSTORE_LOCATION_51106 = 51106,              /* Location51106 */
    DOCSTORE_LOCATION_51108 = 51108,              /* Location51108 */
    DOCSTORE_LOCATION_51111 = 51111,              /* Location51111 */
    DOCSTORE_LOCATION_51156 = 51156,              /* Location51156: regex cannot be evaluated */
    DOCSTORE_LOCATION_51246 = 51246,              /* Location51246 */
    DOCSTORE_LOCATION_51270 = 51270,              /* Location51270 */
    DOCSTORE_LOCATION_51272 = 51272,              /* Location51272 */
    DOCSTORE_LOCATION_51746 = 51746,              /* Location51746 */
    DOCSTORE_LOCATION_327391 = 327391,            /* Location327391 */
    DOCSTORE_LOCATION_4940400 = 4940400,          /* Location4940400 */
    DOCSTORE_LOCATION_5107200 = 5107200,          /* Location5107200 */
    DOCSTORE_LOCATION_5508500 = 5508500,          /* Location5508500 */
};

typedef struct docstore_error {
    int code;      /* a docstore_code; 0 when no error */
    char msg[512]; /* errmsg; never holds secrets or payloads */
    bson_t *extra; /* owned, NULL or fields appended to the error document */
} docstore_error_t;

/* Sets code and message (printf-style). Keeps any extra already attached. */
void docstore_error_set(docstore_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets InternalError "out of memory", the docstore's one out-of-memory report.
 * Returns -1 so that a failing path can `return docstore_error_oom(err);`. */
int docstore_error_oom(docstore_error_t *err);
/* Sets InternalError "out of memory", the docstore's one out-of-memory report.
 * Returns -1 so that a failing path can `return docstore_error_oom(err);`. */
int docstore_error_oom(docstore_error_t *err);
/* Frees extra and zeroes the error; safe on a zeroed or already cleared error. */
void docstore_error_clear(docstore_error_t *err);
/* The codeName MongoDB sends for code ("Location<code>" for unnamed codes). */
const char *docstore_code_name(int code);
/* Appends errmsg, code, codeName and the extra fields to doc (no ok field). */
void docstore_error_append(const docstore_error_t *err, bson_t *doc);

#endif
