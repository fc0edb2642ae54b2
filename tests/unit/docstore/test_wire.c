/*
 * Unit tests of the wire layer: CRC-32C, framing limits, OP_MSG parsing
 * (sections, checksums, flag bits, $db), OP_QUERY unwrapping, the BSON
 * structure and depth check, and the reply builders.
 */
#include "docstore/net/wire.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* A growable message under construction. */
typedef struct msg {
    uint8_t data[1 << 16];
    size_t len;
} msg_t;

static void put(msg_t *m, const void *p, size_t n)
{
    memcpy(m->data + m->len, p, n);
    m->len += n;
}

static void put32(msg_t *m, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(m, b, 4);
}

static void begin(msg_t *m, int32_t opcode)
{
    m->len = 0;
    put32(m, 0); /* length, patched by finish */
    put32(m, 7);
    put32(m, 0);
    put32(m, (uint32_t)opcode);
}

static void finish(msg_t *m)
{
    uint32_t n = (uint32_t)m->len;
    m->data[0] = (uint8_t)n;
    m->data[1] = (uint8_t)(n >> 8);
    m->data[2] = (uint8_t)(n >> 16);
    m->data[3] = (uint8_t)(n >> 24);
}

static void put_doc(msg_t *m, const bson_t *b)
{
    put(m, bson_get_data(b), b->len);
}

static int parse(msg_t *m, docstore_wire_request_t *req, docstore_error_t *err)
{
    memset(err, 0, sizeof *err);
    return docstore_wire_parse(m->data, m->len, req, err);
}

static void test_crc32c(void)
{
    const char *v = "123456789";
    CHECK_INT(docstore_wire_crc32c(0, (const uint8_t *)v, 9), 0xE3069283u);
    /* incremental gives the same */
    uint32_t c = docstore_wire_crc32c(0, (const uint8_t *)v, 4);
    CHECK_INT(docstore_wire_crc32c(c, (const uint8_t *)v + 4, 5), 0xE3069283u);
    CHECK_INT(docstore_wire_crc32c(0, NULL, 0), 0);
}

static void test_frame(void)
{
    msg_t m;
    docstore_wire_header_t h;
    docstore_error_t err = {0};
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    finish(&m);
    CHECK_INT(docstore_wire_frame(m.data, 10, &h, &err), DOCSTORE_WIRE_NEED_MORE);
    CHECK_INT(docstore_wire_frame(m.data, 16, &h, &err), DOCSTORE_WIRE_NEED_MORE);
    CHECK_INT(h.length, 20);
    CHECK_INT(docstore_wire_frame(m.data, 20, &h, &err), DOCSTORE_WIRE_DONE);
    CHECK_INT(h.request_id, 7);
    CHECK_INT(h.opcode, DOCSTORE_OP_MSG);
    /* lengths that cannot be: shorter than a header, negative, too large */
    uint8_t bad[16] = {15, 0, 0, 0};
    CHECK_INT(docstore_wire_frame(bad, 16, &h, &err), DOCSTORE_WIRE_ERROR);
    uint8_t neg[16] = {0xff, 0xff, 0xff, 0xff};
    CHECK_INT(docstore_wire_frame(neg, 16, &h, &err), DOCSTORE_WIRE_ERROR);
    uint32_t over = DOCSTORE_WIRE_MAX_MESSAGE + 1;
    uint8_t big[16] = {(uint8_t)over, (uint8_t)(over >> 8), (uint8_t)(over >> 16),
                       (uint8_t)(over >> 24)};
    CHECK_INT(docstore_wire_frame(big, 16, &h, &err), DOCSTORE_WIRE_ERROR);
    CHECK_INT(err.code, DOCSTORE_PROTOCOL_ERROR);
    uint32_t max = DOCSTORE_WIRE_MAX_MESSAGE;
    uint8_t ok[16] = {(uint8_t)max, (uint8_t)(max >> 8), (uint8_t)(max >> 16),
                      (uint8_t)(max >> 24), 0, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x07, 0, 0};
    CHECK_INT(docstore_wire_frame(ok, 16, &h, &err), DOCSTORE_WIRE_NEED_MORE);
    ok[12] = 0xd2; /* OP_INSERT (2002): refused at the header, body never buffered */
    ok[13] = 0x07;
    CHECK_INT(docstore_wire_frame(ok, 16, &h, &err), DOCSTORE_WIRE_ERROR);
}

static void test_msg_body_and_sequences(void)
{
    msg_t m;
    docstore_wire_request_t req;
    docstore_error_t err;
    bson_t *body = BCON_NEW("insert", "c", "ordered", BCON_BOOL(true), "$db", "app");
    bson_t *d1 = BCON_NEW("_id", BCON_INT32(1));
    bson_t *d2 = BCON_NEW("_id", BCON_INT32(2));
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 1; /* sequence before the body: order does not matter */
    put32(&m, 4 + 10 + d1->len + d2->len);
    put(&m, "documents", 10);
    put_doc(&m, d1);
    put_doc(&m, d2);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_DONE);
    CHECK_STR(req.db, "app");
    CHECK(!req.more_to_come);
    bson_iter_t it;
    CHECK(bson_iter_init(&it, req.cmd) && bson_iter_next(&it));
    CHECK_STR(bson_iter_key(&it), "insert");
    CHECK(bson_iter_init_find(&it, req.cmd, "documents.1._id") == false);
    CHECK(bson_iter_init(&it, req.cmd) && bson_iter_find_descendant(&it, "documents.1._id", &it));
    CHECK_INT(bson_iter_int32(&it), 2);
    docstore_wire_request_clear(&req);

    /* moreToCome and exhaustAllowed are understood; exhaustAllowed changes nothing */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, DOCSTORE_MSG_MORE_TO_COME | DOCSTORE_MSG_EXHAUST_ALLOWED | (1u << 20));
    m.data[m.len++] = 0;
    put_doc(&m, body);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_DONE);
    CHECK(req.more_to_come);
    docstore_wire_request_clear(&req);

    /* a sequence whose name is also a body field */
    bson_t *dup = BCON_NEW("insert", "c", "documents", "[", "]", "$db", "app");
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, dup);
    m.data[m.len++] = 1;
    put32(&m, 4 + 10 + d1->len);
    put(&m, "documents", 10);
    put_doc(&m, d1);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    docstore_wire_request_clear(&req);

    /* a sequence length that runs past the message: close */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    m.data[m.len++] = 1;
    put32(&m, 4 + 10 + d1->len + 100);
    put(&m, "documents", 10);
    put_doc(&m, d1);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);

    /* a document inside a sequence that claims more than the sequence holds */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    m.data[m.len++] = 1;
    put32(&m, 4 + 10 + d1->len);
    put(&m, "documents", 10);
    size_t at = m.len;
    put_doc(&m, d1);
    m.data[at] = (uint8_t)(d1->len + 1);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);
    bson_destroy(dup);
    bson_destroy(body);
    bson_destroy(d1);
    bson_destroy(d2);
}

static void test_msg_errors(void)
{
    msg_t m;
    docstore_wire_request_t req;
    docstore_error_t err;
    bson_t *body = BCON_NEW("ping", BCON_INT32(1), "$db", "admin");

    /* two kind-0 sections: an error reply */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    CHECK_INT(err.code, 40430);
    docstore_wire_request_clear(&req);

    /* no body at all */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 1;
    put32(&m, 4 + 2);
    put(&m, "d", 2);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    docstore_wire_request_clear(&req);

    /* unknown section kind: close */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    m.data[m.len++] = 2;
    put_doc(&m, body);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);

    /* an unknown required flag bit: close */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 1u << 5);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);

    /* no $db */
    bson_t *nodb = BCON_NEW("ping", BCON_INT32(1));
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, nodb);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    CHECK_INT(err.code, 40571);
    docstore_wire_request_clear(&req);

    /* $db that is not a database name */
    bson_t *baddb = BCON_NEW("ping", BCON_INT32(1), "$db", "a.b");
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, baddb);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    docstore_wire_request_clear(&req);

    /* body length lying (longer than the message) */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    size_t at = m.len;
    put_doc(&m, body);
    m.data[at] = (uint8_t)(body->len + 8);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);

    /* invalid BSON inside a well-framed body: an error reply */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    at = m.len;
    put_doc(&m, body);
    m.data[at + 4] = 0x42; /* unknown element type */
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    CHECK_INT(err.code, DOCSTORE_INVALID_BSON);
    docstore_wire_request_clear(&req);

    /* the length field inside the header disagrees with the buffer */
    begin(&m, DOCSTORE_OP_MSG);
    put32(&m, 0);
    m.data[m.len++] = 0;
    put_doc(&m, body);
    finish(&m);
    CHECK_INT(docstore_wire_parse(m.data, m.len - 1, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);

    /* unknown opcode, removed legacy opcodes */
    begin(&m, 2002);
    put32(&m, 0);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    begin(&m, 9999);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);

    /* OP_COMPRESSED: an error reply, in OP_MSG form for a compressed OP_MSG */
    begin(&m, DOCSTORE_OP_COMPRESSED);
    put32(&m, DOCSTORE_OP_MSG);
    put32(&m, 100);
    m.data[m.len++] = 2;
    put32(&m, 0);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    CHECK(!req.legacy);
    CHECK(strstr(err.msg, "OP_COMPRESSED") != NULL);
    bson_destroy(body);
    bson_destroy(nodb);
    bson_destroy(baddb);
}

static void test_checksum(void)
{
    bson_t *body = BCON_NEW("ping", BCON_INT32(1), "$db", "admin");
    size_t len;
    uint8_t *m = docstore_wire_build_msg(1, 0, DOCSTORE_MSG_CHECKSUM_PRESENT, body, &len);
    docstore_wire_request_t req;
    docstore_error_t err = {0};
    CHECK(m != NULL);
    CHECK_INT(docstore_wire_parse(m, len, &req, &err), DOCSTORE_WIRE_DONE);
    CHECK_STR(req.db, "admin");
    docstore_wire_request_clear(&req);
    m[len - 1] ^= 0x01; /* corrupt the checksum */
    CHECK_INT(docstore_wire_parse(m, len, &req, &err), DOCSTORE_WIRE_ERROR);
    m[len - 1] ^= 0x01;
    m[25] ^= 0x20; /* corrupt the body: the checksum no longer matches */
    CHECK_INT(docstore_wire_parse(m, len, &req, &err), DOCSTORE_WIRE_ERROR);
    free(m);
    bson_destroy(body);
}

static void test_query(void)
{
    msg_t m;
    docstore_wire_request_t req;
    docstore_error_t err;
    bson_t *inner = BCON_NEW("isMaster", BCON_INT32(1), "helloOk", BCON_BOOL(true));
    bson_t *wrapped = BCON_NEW("$query", BCON_DOCUMENT(inner), "$readPreference", "{", "mode",
                               "primaryPreferred", "}");
    begin(&m, DOCSTORE_OP_QUERY);
    put32(&m, 0);
    put(&m, "admin.$cmd", 11);
    put32(&m, 0);
    put32(&m, (uint32_t)-1);
    put_doc(&m, wrapped);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_DONE);
    CHECK(req.legacy);
    CHECK_STR(req.db, "admin");
    bson_iter_t it;
    CHECK(bson_iter_init(&it, req.cmd) && bson_iter_next(&it));
    CHECK_STR(bson_iter_key(&it), "isMaster");
    docstore_wire_request_clear(&req);

    /* not a command namespace */
    begin(&m, DOCSTORE_OP_QUERY);
    put32(&m, 0);
    put(&m, "app.users", 10);
    put32(&m, 0);
    put32(&m, 1);
    put_doc(&m, inner);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_REPLY);
    docstore_wire_request_clear(&req);

    /* unterminated namespace */
    begin(&m, DOCSTORE_OP_QUERY);
    put32(&m, 0);
    put(&m, "admin.$cmd", 10);
    finish(&m);
    CHECK_INT(parse(&m, &req, &err), DOCSTORE_WIRE_ERROR);
    docstore_wire_request_clear(&req);
    bson_destroy(inner);
    bson_destroy(wrapped);
}

/* Nested {a: {a: ... {}}} of the given depth, built by hand. */
static uint8_t *nested(int depth, size_t *len)
{
    size_t n = 5 + (size_t)depth * 8; /* each level: type, "a\0", int32, terminator */
    uint8_t *b = malloc(n);
    size_t pos = 0;
    for (int d = 0; d <= depth; d++) {
        uint32_t l = (uint32_t)(5 + (size_t)(depth - d) * 8);
        b[pos] = (uint8_t)l;
        b[pos + 1] = (uint8_t)(l >> 8);
        b[pos + 2] = (uint8_t)(l >> 16);
        b[pos + 3] = (uint8_t)(l >> 24);
        pos += 4;
        if (d < depth) {
            b[pos++] = 0x03;
            b[pos++] = 'a';
            b[pos++] = 0;
        }
    }
    for (int d = 0; d <= depth; d++)
        b[pos++] = 0;
    *len = pos;
    return b;
}

static void test_check_bson(void)
{
    docstore_error_t err = {0};
    size_t len;
    uint8_t *b = nested(10, &len);
    CHECK_INT(docstore_wire_check_bson(b, len, DOCSTORE_WIRE_MAX_DEPTH, &err), 0);
    bson_t doc;
    CHECK(bson_init_static(&doc, b, len) && bson_validate(&doc, BSON_VALIDATE_NONE, NULL));
    free(b);
    b = nested(DOCSTORE_WIRE_MAX_DEPTH, &len);
    CHECK_INT(docstore_wire_check_bson(b, len, DOCSTORE_WIRE_MAX_DEPTH, &err), 0);
    free(b);
    b = nested(DOCSTORE_WIRE_MAX_DEPTH + 1, &len);
    CHECK_INT(docstore_wire_check_bson(b, len, DOCSTORE_WIRE_MAX_DEPTH, &err), -1);
    CHECK_INT(err.code, DOCSTORE_OVERFLOW);
    free(b);
    b = nested(100000, &len); /* would overflow a recursive validator's stack */
    CHECK_INT(docstore_wire_check_bson(b, len, DOCSTORE_WIRE_MAX_DEPTH, &err), -1);
    free(b);

    /* every kind of element passes */
    bson_t *all = BCON_NEW("d", BCON_DOUBLE(1.5), "s", "str", "o", "{", "x", BCON_INT32(1), "}",
                           "a", "[", BCON_INT64(2), "]", "b", BCON_BIN(0, (const uint8_t *)"xy", 2),
                           "t", BCON_BOOL(true), "dt", BCON_DATE_TIME(5), "n", BCON_NULL, "re",
                           BCON_REGEX("^a", "i"), "ts", BCON_TIMESTAMP(1, 2), "mx", BCON_MAXKEY,
                           "mn", BCON_MINKEY);
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    BSON_APPEND_OID(all, "id", &oid);
    bson_decimal128_t dec = {0, 0};
    BSON_APPEND_DECIMAL128(all, "dec", &dec);
    bson_t scope = BSON_INITIALIZER;
    BSON_APPEND_INT32(&scope, "x", 1);
    BSON_APPEND_CODE_WITH_SCOPE(all, "cws", "x", &scope);
    BSON_APPEND_CODE(all, "code", "f()");
    CHECK_INT(docstore_wire_check_bson(bson_get_data(all), all->len, 200, &err), 0);

    /* truncations and corruptions of it all fail cleanly */
    uint8_t *copy = malloc(all->len);
    for (uint32_t cut = 5; cut < all->len; cut++) {
        memcpy(copy, bson_get_data(all), cut);
        copy[0] = (uint8_t)cut;
        copy[1] = (uint8_t)(cut >> 8);
        copy[cut - 1] = 0;
        int rc = docstore_wire_check_bson(copy, cut, 200, &err);
        if (rc == 0) { /* if we accept it, libbson must agree it is sound */
            bson_t t;
            CHECK(bson_init_static(&t, copy, cut) && bson_validate(&t, BSON_VALIDATE_NONE, NULL));
        }
    }
    free(copy);
    CHECK_INT(docstore_wire_check_bson((const uint8_t *)"\x05\0\0\0\x01", 5, 200, &err), -1);
    CHECK_INT(docstore_wire_check_bson((const uint8_t *)"\x06\0\0\0\0\0", 6, 200, &err), -1);
    bson_destroy(&scope);
    bson_destroy(all);
}

static void test_build(void)
{
    bson_t *doc = BCON_NEW("ok", BCON_DOUBLE(1.0));
    size_t len;
    uint8_t *m = docstore_wire_build_msg(5, 9, 0, doc, &len);
    CHECK_INT(len, 16 + 4 + 1 + doc->len);
    CHECK_INT(m[0] | m[1] << 8, len);
    CHECK_INT(m[4], 5);
    CHECK_INT(m[8], 9);
    CHECK_INT(m[12] | m[13] << 8, DOCSTORE_OP_MSG);
    CHECK_INT(m[20], 0);
    free(m);
    m = docstore_wire_build_reply(6, 10, DOCSTORE_REPLY_AWAIT_CAPABLE, doc, &len);
    CHECK_INT(len, 36 + doc->len);
    CHECK_INT(m[12], DOCSTORE_OP_REPLY);
    CHECK_INT(m[16], DOCSTORE_REPLY_AWAIT_CAPABLE);
    CHECK_INT(m[32], 1); /* numberReturned */
    CHECK(memcmp(m + 36, bson_get_data(doc), doc->len) == 0);
    free(m);
    bson_destroy(doc);
}

int main(void)
{
    RUN(test_crc32c);
    RUN(test_frame);
    RUN(test_msg_body_and_sequences);
    RUN(test_msg_errors);
    RUN(test_checksum);
    RUN(test_query);
    RUN(test_check_bson);
    RUN(test_build);
    return TEST_REPORT();
}
