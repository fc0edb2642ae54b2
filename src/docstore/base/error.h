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
/* Frees extra and zeroes the error; safe on a zeroed or already cleared error. */
void docstore_error_clear(docstore_error_t *err);
/* The codeName MongoDB sends for code ("Location<code>" for unnamed codes). */
const char *docstore_code_name(int code);
/* Appends errmsg, code, codeName and the extra fields to doc (no ok field). */
void docstore_error_append(const docstore_error_t *err, bson_t *doc);

#endif
