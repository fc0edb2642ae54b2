/*
 * The MongoDB wire protocol, without I/O: framing (the 16-byte header and its
 * length checks), parsing of OP_MSG and OP_QUERY requests into (db, command
 * document), and building of OP_MSG and OP_REPLY replies. The server feeds it
 * bytes from a connection's input buffer and writes what it builds to the
 * output buffer; the fuzzer and the unit tests feed it bytes directly.
 *
 * Every length in a message is checked against what is really there before it
 * is used, and every BSON document is checked for structure and nesting depth
 * (iteratively, so no input can exhaust the stack) before anything reads it.
 */
#ifndef TETHER_DOCSTORE_WIRE_H
#define TETHER_DOCSTORE_WIRE_H

#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOCSTORE_WIRE_HEADER_LEN 16
#define DOCSTORE_WIRE_MAX_MESSAGE 48000000 /* maxMessageSizeBytes; larger is refused */
#define DOCSTORE_WIRE_MAX_BSON 16777216    /* maxBsonObjectSize */
#define DOCSTORE_WIRE_MAX_DEPTH 200        /* nested documents/arrays in one request */
/* Room for the reply's own fields around a maximal document (MongoDB's
 * BSONObjMaxInternalSize is 16 MiB + 16 KiB). */
#define DOCSTORE_WIRE_MAX_REPLY_BSON (DOCSTORE_WIRE_MAX_BSON + 16 * 1024)

enum docstore_wire_opcode {
    DOCSTORE_OP_REPLY = 1,         /* legacy reply, only for OP_QUERY handshakes */
    DOCSTORE_OP_UPDATE = 2001,     /* removed legacy opcodes: connection closed */
    DOCSTORE_OP_INSERT = 2002,
    DOCSTORE_OP_QUERY = 2004,      /* handshake commands on <db>.$cmd */
    DOCSTORE_OP_GET_MORE = 2005,
    DOCSTORE_OP_DELETE = 2006,
    DOCSTORE_OP_KILL_CURSORS = 2007,
    DOCSTORE_OP_COMPRESSED = 2012, /* not advertised; answered with an error */
    DOCSTORE_OP_MSG = 2013,        /* everything else */
};

/* OP_MSG flag bits. Bits 0-15 are required: an unknown one set is an error. */
#define DOCSTORE_MSG_CHECKSUM_PRESENT (1u << 0)
#define DOCSTORE_MSG_MORE_TO_COME (1u << 1)
#define DOCSTORE_MSG_EXHAUST_ALLOWED (1u << 16)

/* OP_REPLY responseFlags. */
#define DOCSTORE_REPLY_QUERY_FAILURE (1 << 1)
#define DOCSTORE_REPLY_AWAIT_CAPABLE (1 << 3)

typedef struct docstore_wire_header {
    int32_t length;      /* messageLength, header included */
    int32_t request_id;  /* requestID */
    int32_t response_to; /* responseTo */
    int32_t opcode;      /* opCode */
} docstore_wire_header_t;

enum docstore_wire_status {
    DOCSTORE_WIRE_DONE = 0,      /* a whole message is available (frame) / parsed (parse) */
    DOCSTORE_WIRE_NEED_MORE = 1, /* not enough bytes yet: read more and call again */
    DOCSTORE_WIRE_ERROR = -1,    /* the peer broke the protocol: err set; close the connection */
    DOCSTORE_WIRE_REPLY = -2,    /* the message is framed but bad: reply with err, keep going */
};

/* Looks at the first avail bytes of a connection's input. DONE with *hdr when
 * the header is there and a whole message of hdr->length bytes is available;
 * NEED_MORE when the header or the body is incomplete (hdr is filled once the
 * header is there, so the caller can see how much to wait for); ERROR when
 * the length is impossible (< 16 or > 48,000,000) or the opcode is not one we
 * serve (OP_MSG, OP_QUERY, OP_COMPRESSED). Reads only the first 16 bytes of
 * data; avail is how many are buffered. Stateless, so calling it again after
 * more bytes arrive resumes the framing. */
int docstore_wire_frame(const uint8_t *data, size_t avail, docstore_wire_header_t *hdr /* OUT */,
                        docstore_error_t *err);

/* A parsed request: the command document and where it goes. */
typedef struct docstore_wire_request {
    docstore_wire_header_t hdr; /* the message's header */
    uint32_t flags;             /* OP_MSG flagBits, 0 for OP_QUERY */
    bool more_to_come;          /* OP_MSG moreToCome: no reply is sent */
    bool legacy;                /* OP_QUERY: reply with OP_REPLY */
    char db[128];               /* from $db (OP_MSG) or the namespace (OP_QUERY) */
    bson_t *cmd;                /* owned: body with kind-1 sequences merged in as arrays */
    int32_t compressed_opcode;  /* OP_COMPRESSED: the originalOpcode, else 0 */
} docstore_wire_request_t;

/* Parses one whole message (as framed above; len == hdr.length) into req.
 * DONE: req->cmd is set (free with docstore_wire_request_clear). REPLY: the
 * message is well framed but its content is bad (invalid BSON, two kind-0
 * sections, no $db...): answer err on the same request. ERROR: the peer broke
 * the framing or the protocol (lying section lengths, bad checksum, unknown
 * flag bits or section kind, unknown opcode): close the connection. */
int docstore_wire_parse(const uint8_t *msg, size_t len, docstore_wire_request_t *req /* OUT */,
                        docstore_error_t *err);
void docstore_wire_request_clear(docstore_wire_request_t *req);

/* Checks a BSON document's structure (lengths, types, terminators) and depth
 * without recursion; bson_validate is then safe to run. 0 or -1 with err. */
__attribute__((warn_unused_result)) int docstore_wire_check_bson(const uint8_t *data, size_t len,
                                                                 int max_depth,
                                                                 docstore_error_t *err);

/* CRC-32C (Castagnoli), as OP_MSG checksums use it. */
uint32_t docstore_wire_crc32c(uint32_t crc, const uint8_t *data, size_t len);

/* Builds an OP_MSG reply (flags 0, one kind-0 section) into a new malloc'd
 * buffer. Returns the buffer (free it) and *len, or NULL when out of memory
 * or too large. */
uint8_t *docstore_wire_build_msg(int32_t request_id, int32_t response_to, uint32_t flags,
                                 const bson_t *body, size_t *len /* OUT */);
/* Builds an OP_REPLY carrying one document. */
uint8_t *docstore_wire_build_reply(int32_t request_id, int32_t response_to, int32_t flags,
                                   const bson_t *doc, size_t *len /* OUT */);

#endif
