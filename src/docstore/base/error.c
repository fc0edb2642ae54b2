/* Error codes, names and the error document shape; see error.h. */
#include "docstore/base/error.h"

#include <stdarg.h>
#include <stdio.h>

void docstore_error_set(docstore_error_t *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

int docstore_error_oom(docstore_error_t *err)
{
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory");
    return -1;
}

void docstore_error_clear(docstore_error_t *err)
{
    if (err == NULL)
        return;
    if (err->extra != NULL)
        bson_destroy(err->extra);
    err->extra = NULL;
    err->code = 0;
    err->msg[0] = '\0';
}

const char *docstore_code_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {DOCSTORE_OK, "OK"},
        {DOCSTORE_INTERNAL_ERROR, "InternalError"},
        {DOCSTORE_BAD_VALUE, "BadValue"},
        {DOCSTORE_NO_SUCH_KEY, "NoSuchKey"},
        {DOCSTORE_GRAPH_CONTAINS_CYCLE, "GraphContainsCycle"},
        {DOCSTORE_FAILED_TO_PARSE, "FailedToParse"},
        {DOCSTORE_UNAUTHORIZED, "Unauthorized"},
        {DOCSTORE_TYPE_MISMATCH, "TypeMismatch"},
        {DOCSTORE_OVERFLOW, "Overflow"},
        {DOCSTORE_PROTOCOL_ERROR, "ProtocolError"},
        {DOCSTORE_AUTHENTICATION_FAILED, "AuthenticationFailed"},
        {DOCSTORE_ILLEGAL_OPERATION, "IllegalOperation"},
        {DOCSTORE_INVALID_BSON, "InvalidBSON"},
        {DOCSTORE_NAMESPACE_NOT_FOUND, "NamespaceNotFound"},
        {DOCSTORE_INDEX_NOT_FOUND, "IndexNotFound"},
        {DOCSTORE_PATH_NOT_VIABLE, "PathNotViable"},
        {DOCSTORE_CONFLICTING_UPDATE_OPERATORS, "ConflictingUpdateOperators"},
        {DOCSTORE_CURSOR_NOT_FOUND, "CursorNotFound"},
        {DOCSTORE_NAMESPACE_EXISTS, "NamespaceExists"},
        {DOCSTORE_DOLLAR_PREFIXED_FIELD_NAME, "DollarPrefixedFieldName"},
        {DOCSTORE_INVALID_ID_FIELD, "InvalidIdField"},
        {DOCSTORE_EMPTY_FIELD_NAME, "EmptyFieldName"},
        {DOCSTORE_COMMAND_NOT_FOUND, "CommandNotFound"},
        {DOCSTORE_IMMUTABLE_FIELD, "ImmutableField"},
        {DOCSTORE_INVALID_OPTIONS, "InvalidOptions"},
        {DOCSTORE_INVALID_NAMESPACE, "InvalidNamespace"},
        {DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT, "QueryExceededMemoryLimitNoDiskUseAllowed"},
        {DOCSTORE_MAX_TIME_MS_EXPIRED, "MaxTimeMSExpired"},
        {DOCSTORE_EXCEEDED_MEMORY_LIMIT, "ExceededMemoryLimit"},
        {DOCSTORE_QUERY_PLAN_KILLED, "QueryPlanKilled"},
        {DOCSTORE_INDEX_OPTIONS_CONFLICT, "IndexOptionsConflict"},
        {DOCSTORE_INDEX_KEY_SPECS_CONFLICT, "IndexKeySpecsConflict"},
        {DOCSTORE_OPERATION_FAILED, "OperationFailed"},
        {DOCSTORE_NOT_IMPLEMENTED, "NotImplemented"},
        {DOCSTORE_BSON_OBJECT_TOO_LARGE, "BSONObjectTooLarge"},
        {DOCSTORE_DUPLICATE_KEY, "DuplicateKey"},
        {DOCSTORE_CLIENT_METADATA_CANNOT_BE_MUTATED, "ClientMetadataCannotBeMutated"},
        {DOCSTORE_INVALID_LENGTH, "InvalidLength"},
        {DOCSTORE_NOT_SINGLE_VALUE_FIELD, "NotSingleValueField"},
        {DOCSTORE_CANNOT_CREATE_INDEX, "CannotCreateIndex"},
        {DOCSTORE_INVALID_PIPELINE_OPERATOR, "InvalidPipelineOperator"},
        {DOCSTORE_CANNOT_INDEX_PARALLEL_ARRAYS, "CannotIndexParallelArrays"},
        {DOCSTORE_INVALID_INDEX_SPECIFICATION_OPTION, "InvalidIndexSpecificationOption"},
        {DOCSTORE_UNSUPPORTED_OP_QUERY_COMMAND, "UnsupportedOpQueryCommand"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].code == code)
            return names[i].name;
    }
    static __thread char location[32];
    snprintf(location, sizeof location, "Location%d", code);
    return location;
}

void docstore_error_append(const docstore_error_t *err, bson_t *doc)
{
    BSON_APPEND_UTF8(doc, "errmsg", err->msg);
    BSON_APPEND_INT32(doc, "code", err->code);
    BSON_APPEND_UTF8(doc, "codeName", docstore_code_name(err->code));
    if (err->extra != NULL)
        bson_concat(doc, err->extra);
}
