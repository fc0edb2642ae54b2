/*
 * Wire protocol framing, parsing and building; see wire.h. Nothing here does
 * I/O or keeps state between calls: the server frames from its input buffer,
 * the fuzzer and unit tests from plain byte arrays.
 */
#include "docstore/net/wire.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEQUENCES 16 /* kind-1 sections in one OP_MSG */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int32_t le32s(const uint8_t *p)
{
    return (int32_t)le32(p);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- CRC-32C ---------------------------------------------------------- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = true;
}

uint32_t docstore_wire_crc32c(uint32_t crc, const uint8_t *data, size_t len)
{
    if (!crc_ready)
        crc_init();
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- framing ------------------------------------------------------------ */

int docstore_wire_frame(const uint8_t *data, size_t avail, docstore_wire_header_t *hdr,
                        docstore_error_t *err)
{
    if (avail < DOCSTORE_WIRE_HEADER_LEN)
        return DOCSTORE_WIRE_NEED_MORE;
    hdr->length = le32s(data);
    hdr->request_id = le32s(data + 4);
    hdr->response_to = le32s(data + 8);
    hdr->opcode = le32s(data + 12);
    if (hdr->length < DOCSTORE_WIRE_HEADER_LEN) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "message length %d is shorter than a header",
                           hdr->length);
        return DOCSTORE_WIRE_ERROR;
    }
    if (hdr->length > DOCSTORE_WIRE_MAX_MESSAGE) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR,
                           "message length %d is over the maximum of %d bytes", hdr->length,
                           DOCSTORE_WIRE_MAX_MESSAGE);
        return DOCSTORE_WIRE_ERROR;
    }
    if (hdr->opcode != DOCSTORE_OP_MSG && hdr->opcode != DOCSTORE_OP_QUERY &&
        hdr->opcode != DOCSTORE_OP_COMPRESSED) {
        /* Refused at the header: no need to buffer a body nobody will read. */
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "unsupported opcode %d", hdr->opcode);
        return DOCSTORE_WIRE_ERROR;
    }
    if (avail < (size_t)hdr->length)
        return DOCSTORE_WIRE_NEED_MORE;
    return DOCSTORE_WIRE_DONE;
}

/* ---- BSON structure check ------------------------------------------------ */

static int bson_bad(docstore_error_t *err, size_t at)
{
    docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid BSON document (at byte %zu)", at);
    return -1;
}

/* Checks a length-prefixed string at data[pos..limit): int32 n >= 1, n bytes
 * ending in NUL. Returns the position after it, or 0 when bad. */
static size_t check_string(const uint8_t *data, size_t pos, size_t limit)
{
    if (limit < pos || limit - pos < 4)
        return 0;
    int32_t n = le32s(data + pos);
    if (n < 1 || (size_t)n > limit - pos - 4)
        return 0;
    if (data[pos + 4 + (size_t)n - 1] != 0)
        return 0;
    return pos + 4 + (size_t)n;
}

/* Position after a NUL-terminated string starting at pos within limit, or 0. */
static size_t check_cstring(const uint8_t *data, size_t pos, size_t limit)
{
    if (pos >= limit)
        return 0;
    const uint8_t *nul = memchr(data + pos, 0, limit - pos);
    if (nul == NULL)
        return 0;
    return (size_t)(nul - data) + 1;
}

int docstore_wire_check_bson(const uint8_t *data, size_t len, int max_depth,
                             docstore_error_t *err)
{
    size_t ends[DOCSTORE_WIRE_MAX_DEPTH + 2]; /* ends[d]: offset just past level d */
    if (max_depth > DOCSTORE_WIRE_MAX_DEPTH)
        max_depth = DOCSTORE_WIRE_MAX_DEPTH;
    if (len < 5 || le32(data) != len || data[len - 1] != 0)
        return bson_bad(err, 0);
    int depth = 0;
    ends[0] = len;
    size_t pos = 4;
    for (;;) {
        size_t end = ends[depth]; /* the level's terminator is at end - 1 */
        if (pos == end - 1) {
            pos++;
            if (depth == 0)
                return 0;
            depth--;
            continue;
        }
        if (pos > end - 1)
            return bson_bad(err, pos);
        uint8_t type = data[pos++];
        size_t limit = end - 1; /* an element must end before the terminator */
        pos = check_cstring(data, pos, limit);
        if (pos == 0)
            return bson_bad(err, end);
        size_t size = 0; /* fixed-size payloads */
        switch (type) {
        case BSON_TYPE_DOUBLE:
        case BSON_TYPE_DATE_TIME:
        case BSON_TYPE_TIMESTAMP:
        case BSON_TYPE_INT64:
            size = 8;
            break;
        case BSON_TYPE_DECIMAL128:
            size = 16;
            break;
        case BSON_TYPE_OID:
            size = 12;
            break;
        case BSON_TYPE_BOOL:
            size = 1;
            break;
        case BSON_TYPE_INT32:
            size = 4;
            break;
        case BSON_TYPE_UNDEFINED:
        case BSON_TYPE_NULL:
        case BSON_TYPE_MAXKEY:
        case BSON_TYPE_MINKEY:
            size = 0;
            break;
        case BSON_TYPE_UTF8:
        case BSON_TYPE_CODE:
        case BSON_TYPE_SYMBOL: {
            size_t next = check_string(data, pos, limit);
            if (next == 0)
                return bson_bad(err, pos);
            pos = next;
            continue;
        }
        case BSON_TYPE_DBPOINTER: {
            size_t next = check_string(data, pos, limit);
            if (next == 0)
                return bson_bad(err, pos);
            pos = next;
            size = 12;
            break;
        }
        case BSON_TYPE_REGEX: {
            size_t next = check_cstring(data, pos, limit);
            if (next == 0 || (next = check_cstring(data, next, limit)) == 0)
                return bson_bad(err, pos);
            pos = next;
            continue;
        }
        case BSON_TYPE_BINARY: {
            if (limit - pos < 5)
                return bson_bad(err, pos);
            int32_t n = le32s(data + pos);
            if (n < 0 || (size_t)n > limit - pos - 5)
                return bson_bad(err, pos);
            pos += 5 + (size_t)n;
            continue;
        }
        case BSON_TYPE_DOCUMENT:
        case BSON_TYPE_ARRAY:
        case BSON_TYPE_CODEWSCOPE: {
            if (limit - pos < 5)
                return bson_bad(err, pos);
            int32_t n = le32s(data + pos);
            if (n < 5 || (size_t)n > limit - pos)
                return bson_bad(err, pos);
            size_t child = pos; /* where the nested document starts */
            if (type == BSON_TYPE_CODEWSCOPE) {
                size_t scope_end = pos + (size_t)n;
                size_t s = check_string(data, pos + 4, scope_end);
                if (n < 14 || s == 0 || scope_end - s < 5 || le32(data + s) != scope_end - s)
                    return bson_bad(err, pos);
                child = s;
            }
            if (depth + 1 > max_depth) {
                docstore_error_set(err, DOCSTORE_OVERFLOW,
                                   "BSON document nested deeper than %d levels", max_depth);
                return -1;
            }
            ends[++depth] = pos + (size_t)n;
            if (data[ends[depth] - 1] != 0)
                return bson_bad(err, ends[depth] - 1);
            pos = child + 4;
            continue;
        }
        default:
            return bson_bad(err, pos);
        }
        if (limit - pos < size)
            return bson_bad(err, pos);
        pos += size;
    }
}

/* Structure, depth, then libbson's own validation. */
static int check_doc(const uint8_t *data, size_t len, docstore_error_t *err)
{
    if (docstore_wire_check_bson(data, len, DOCSTORE_WIRE_MAX_DEPTH, err) != 0)
        return -1;
    bson_t b;
    size_t off = 0;
    if (!bson_init_static(&b, data, len) || !bson_validate(&b, BSON_VALIDATE_NONE, &off))
        return bson_bad(err, off);
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

void docstore_wire_request_clear(docstore_wire_request_t *req)
{
    if (req->cmd != NULL)
        bson_destroy(req->cmd);
    req->cmd = NULL;
}

typedef struct sequence {
    const char *id;       /* identifier, NUL-terminated inside the message */
    const uint8_t *start; /* first document */
    size_t len;           /* bytes of documents */
} sequence_t;

/* Records the first content error of a message; framing errors win later. */
static void note_reply_error(docstore_error_t *first, const docstore_error_t *e)
{
    if (first->code == 0) {
        first->code = e->code;
        memcpy(first->msg, e->msg, sizeof first->msg);
    }
}

static int set_db(docstore_wire_request_t *req, const char *db, size_t len, docstore_error_t *err)
{
    if (len == 0 || len >= sizeof req->db || memchr(db, '\0', len) != NULL ||
        memchr(db, '.', len) != NULL) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "invalid database name");
        return -1;
    }
    memcpy(req->db, db, len);
    req->db[len] = '\0';
    return 0;
}

/* Builds the command: the body, then each sequence as an array field. */
static int merge_sequences(const bson_t *body, const sequence_t *seqs, int nseq, bson_t **out,
                           docstore_error_t *err)
{
    for (int i = 0; i < nseq; i++) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, body, seqs[i].id)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40413,
                               "duplicate field '%s' in the body and a document sequence",
                               seqs[i].id);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(seqs[i].id, seqs[j].id) == 0) {
                docstore_error_set(err, DOCSTORE_LOCATION_40431, "duplicate document sequence '%s'",
                                   seqs[i].id);
                return -1;
            }
        }
    }
    bson_t *cmd = bson_copy(body);
    if (cmd == NULL)
        goto nomem;
    for (int i = 0; i < nseq; i++) {
        bson_t arr;
        if (!bson_append_array_begin(cmd, seqs[i].id, -1, &arr))
            goto toobig;
        size_t pos = 0;
        uint32_t index = 0;
        while (pos < seqs[i].len) {
            size_t n = le32(seqs[i].start + pos);
            bson_t doc;
            char keybuf[16];
            const char *key;
            size_t keylen = bson_uint32_to_string(index++, &key, keybuf, sizeof keybuf);
            if (!bson_init_static(&doc, seqs[i].start + pos, n) ||
                !bson_append_document(&arr, key, (int)keylen, &doc)) {
                bson_append_array_end(cmd, &arr);
                goto toobig;
            }
            pos += n;
        }
        if (!bson_append_array_end(cmd, &arr))
            goto toobig;
    }
    *out = cmd;
    return 0;
toobig:
    bson_destroy(cmd);
    docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "command too large");
    return -1;
nomem:
    docstore_error_oom(err);
    return -1;
}

static int parse_msg(const uint8_t *msg, size_t len, docstore_wire_request_t *req,
                     docstore_error_t *err)
{
    docstore_error_t content = {0}; /* first content error, answered if framing holds */
    docstore_error_t e = {0};
    if (len < 20) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_MSG too short");
        return DOCSTORE_WIRE_ERROR;
    }
    req->flags = le32(msg + 16);
    req->more_to_come = (req->flags & DOCSTORE_MSG_MORE_TO_COME) != 0;
    uint32_t required = req->flags & 0xffffu;
    if (required & ~(DOCSTORE_MSG_CHECKSUM_PRESENT | DOCSTORE_MSG_MORE_TO_COME)) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "unknown required OP_MSG flag bits 0x%x",
                           required);
        return DOCSTORE_WIRE_ERROR;
    }
    size_t end = len;
    if (req->flags & DOCSTORE_MSG_CHECKSUM_PRESENT) {
        if (len < 25) {
            docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_MSG too short for a checksum");
            return DOCSTORE_WIRE_ERROR;
        }
        end = len - 4;
        uint32_t want = le32(msg + end);
        uint32_t got = docstore_wire_crc32c(0, msg, end);
        if (want != got) {
            docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_MSG checksum mismatch");
            return DOCSTORE_WIRE_ERROR;
        }
    }
    const uint8_t *body = NULL;
    size_t body_len = 0;
    sequence_t seqs[MAX_SEQUENCES];
    int nseq = 0;
    size_t pos = 20;
    while (pos < end) {
        uint8_t kind = msg[pos++];
        if (kind == 0) {
            if (end - pos < 5 || le32(msg + pos) < 5 || le32(msg + pos) > end - pos) {
                docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_MSG body length is wrong");
                return DOCSTORE_WIRE_ERROR;
            }
            size_t n = le32(msg + pos);
            if (body != NULL) {
                docstore_error_set(&e, DOCSTORE_LOCATION_40430,
                                   "OP_MSG has more than one body section");
                note_reply_error(&content, &e);
            } else if (check_doc(msg + pos, n, &e) != 0) {
                note_reply_error(&content, &e);
            } else {
                body = msg + pos;
                body_len = n;
            }
            pos += n;
        } else if (kind == 1) {
            if (end - pos < 5 || le32(msg + pos) < 5 || le32(msg + pos) > end - pos) {
                docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR,
                                   "OP_MSG document sequence length is wrong");
                return DOCSTORE_WIRE_ERROR;
            }
            size_t sec_end = pos + le32(msg + pos);
            size_t p = check_cstring(msg, pos + 4, sec_end);
            if (p == 0) {
                docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR,
                                   "OP_MSG document sequence identifier is not terminated");
                return DOCSTORE_WIRE_ERROR;
            }
            const char *id = (const char *)msg + pos + 4;
            size_t docs_start = p;
            bool ok = true;
            while (p < sec_end) {
                if (sec_end - p < 5 || le32(msg + p) < 5 || le32(msg + p) > sec_end - p) {
                    docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR,
                                       "OP_MSG document sequence holds a document whose length "
                                       "is wrong");
                    return DOCSTORE_WIRE_ERROR;
                }
                size_t n = le32(msg + p);
                if (ok && check_doc(msg + p, n, &e) != 0) {
                    note_reply_error(&content, &e);
                    ok = false;
                }
                p += n;
            }
            if (id[0] == '\0') {
                docstore_error_set(&e, DOCSTORE_FAILED_TO_PARSE,
                                   "OP_MSG document sequence has an empty identifier");
                note_reply_error(&content, &e);
            } else if (nseq == MAX_SEQUENCES) {
                docstore_error_set(&e, DOCSTORE_FAILED_TO_PARSE,
                                   "OP_MSG has more than %d document sequences", MAX_SEQUENCES);
                note_reply_error(&content, &e);
            } else if (ok) {
                seqs[nseq].id = id;
                seqs[nseq].start = msg + docs_start;
                seqs[nseq].len = sec_end - docs_start;
                nseq++;
            }
            pos = sec_end;
        } else {
            docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "unknown OP_MSG section kind %u",
                               kind);
            return DOCSTORE_WIRE_ERROR;
        }
    }
    if (content.code != 0) {
        docstore_error_set(err, content.code, "%s", content.msg);
        return DOCSTORE_WIRE_REPLY;
    }
    if (body == NULL) {
        docstore_error_set(err, DOCSTORE_LOCATION_40587, "OP_MSG has no body section");
        return DOCSTORE_WIRE_REPLY;
    }
    bson_t b;
    if (!bson_init_static(&b, body, body_len)) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid BSON body");
        return DOCSTORE_WIRE_REPLY;
    }
    bson_iter_t it;
    if (!bson_iter_init_find(&it, &b, "$db") || !BSON_ITER_HOLDS_UTF8(&it)) {
        docstore_error_set(err, DOCSTORE_LOCATION_40571, "OP_MSG requests require a $db argument");
        return DOCSTORE_WIRE_REPLY;
    }
    uint32_t dblen;
    const char *db = bson_iter_utf8(&it, &dblen);
    if (set_db(req, db, dblen, err) != 0)
        return DOCSTORE_WIRE_REPLY;
    if (merge_sequences(&b, seqs, nseq, &req->cmd, err) != 0)
        return DOCSTORE_WIRE_REPLY;
    return DOCSTORE_WIRE_DONE;
}

static int parse_query(const uint8_t *msg, size_t len, docstore_wire_request_t *req,
                       docstore_error_t *err)
{
    req->legacy = true;
    if (len < 20) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_QUERY too short");
        return DOCSTORE_WIRE_ERROR;
    }
    size_t pos = check_cstring(msg, 20, len);
    if (pos == 0 || len - pos < 8 + 5) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_QUERY is truncated");
        return DOCSTORE_WIRE_ERROR;
    }
    const char *ns = (const char *)msg + 20;
    pos += 8; /* numberToSkip, numberToReturn */
    size_t n = le32(msg + pos);
    if (n < 5 || n > len - pos) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_QUERY query length is wrong");
        return DOCSTORE_WIRE_ERROR;
    }
    const uint8_t *query = msg + pos;
    pos += n;
    if (pos < len) { /* returnFieldsSelector */
        size_t m = len - pos < 4 ? 0 : le32(msg + pos);
        if (m < 5 || m != len - pos) {
            docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_QUERY selector length is wrong");
            return DOCSTORE_WIRE_ERROR;
        }
        if (check_doc(msg + pos, m, err) != 0)
            return DOCSTORE_WIRE_REPLY;
    }
    if (check_doc(query, n, err) != 0)
        return DOCSTORE_WIRE_REPLY;
    const char *dot = strchr(ns, '.');
    if (dot == NULL || strcmp(dot, ".$cmd") != 0) {
        docstore_error_set(err, DOCSTORE_UNSUPPORTED_OP_QUERY_COMMAND,
                           "OP_QUERY is only supported for commands on <db>.$cmd; the client "
                           "driver may require an upgrade");
        return DOCSTORE_WIRE_REPLY;
    }
    if (set_db(req, ns, (size_t)(dot - ns), err) != 0)
        return DOCSTORE_WIRE_REPLY;
    bson_t q;
    if (!bson_init_static(&q, query, n)) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid BSON query");
        return DOCSTORE_WIRE_REPLY;
    }
    /* Drivers wrap the command in {$query: cmd, $readPreference: ...}. */
    bson_iter_t it;
    if (bson_iter_init(&it, &q) && bson_iter_next(&it) &&
        (strcmp(bson_iter_key(&it), "$query") == 0 || strcmp(bson_iter_key(&it), "query") == 0) &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *data;
        uint32_t dlen;
        bson_iter_document(&it, &dlen, &data);
        req->cmd = bson_new_from_data(data, dlen);
    } else {
        req->cmd = bson_copy(&q);
    }
    if (req->cmd == NULL) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid BSON query");
        return DOCSTORE_WIRE_REPLY;
    }
    return DOCSTORE_WIRE_DONE;
}

int docstore_wire_parse(const uint8_t *msg, size_t len, docstore_wire_request_t *req,
                        docstore_error_t *err)
{
    memset(req, 0, sizeof *req);
    if (docstore_wire_frame(msg, len, &req->hdr, err) != DOCSTORE_WIRE_DONE ||
        (size_t)req->hdr.length != len) {
        if (err->code == 0)
            docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "message length does not match");
        return DOCSTORE_WIRE_ERROR;
    }
    switch (req->hdr.opcode) {
    case DOCSTORE_OP_MSG:
        return parse_msg(msg, len, req, err);
    case DOCSTORE_OP_QUERY:
        return parse_query(msg, len, req, err);
    case DOCSTORE_OP_COMPRESSED:
        if (len < 25) {
            docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "OP_COMPRESSED too short");
            return DOCSTORE_WIRE_ERROR;
        }
        req->compressed_opcode = le32s(msg + 16);
        req->legacy = req->compressed_opcode == DOCSTORE_OP_QUERY;
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR,
                           "OP_COMPRESSED is not supported: this server advertises no "
                           "compressors; connect without compressors=");
        return DOCSTORE_WIRE_REPLY;
    default:
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "unsupported opcode %d",
                           req->hdr.opcode);
        return DOCSTORE_WIRE_ERROR;
    }
}

/* ---- building ------------------------------------------------------------ */

uint8_t *docstore_wire_build_msg(int32_t request_id, int32_t response_to, uint32_t flags,
                                 const bson_t *body, size_t *len)
{
    bool checksum = (flags & DOCSTORE_MSG_CHECKSUM_PRESENT) != 0;
    size_t total = DOCSTORE_WIRE_HEADER_LEN + 4 + 1 + body->len + (checksum ? 4 : 0);
    if (total > (size_t)INT32_MAX)
        return NULL;
    uint8_t *m = malloc(total);
    if (m == NULL)
        return NULL;
    put32(m, (uint32_t)total);
    put32(m + 4, (uint32_t)request_id);
    put32(m + 8, (uint32_t)response_to);
    put32(m + 12, DOCSTORE_OP_MSG);
    put32(m + 16, flags);
    m[20] = 0;
    memcpy(m + 21, bson_get_data(body), body->len);
    if (checksum)
        put32(m + total - 4, docstore_wire_crc32c(0, m, total - 4));
    *len = total;
    return m;
}

uint8_t *docstore_wire_build_reply(int32_t request_id, int32_t response_to, int32_t flags,
                                   const bson_t *doc, size_t *len)
{
    size_t total = DOCSTORE_WIRE_HEADER_LEN + 20 + doc->len;
    if (total > (size_t)INT32_MAX)
        return NULL;
    uint8_t *m = malloc(total);
    if (m == NULL)
        return NULL;
    put32(m, (uint32_t)total);
    put32(m + 4, (uint32_t)request_id);
    put32(m + 8, (uint32_t)response_to);
    put32(m + 12, DOCSTORE_OP_REPLY);
    put32(m + 16, (uint32_t)flags);
    memset(m + 20, 0, 8);  /* cursorID */
    put32(m + 28, 0);      /* startingFrom */
    put32(m + 32, 1);      /* numberReturned */
    memcpy(m + 36, bson_get_data(doc), doc->len);
    *len = total;
    return m;
}
