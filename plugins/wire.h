/* wire: the frames of the chip link protocol (docs/protocol.md), without any I/O.
 *
 * A frame is a 24-byte header, a payload of at most WIRE_MAX_PAYLOAD bytes and a trailer:
 *   0  magic "MPLK"         4  version (1)      5  type (command, reply, error)
 *   6  flags (bit 0 MORE)   7  reserved (0)     8  command id (u16)
 *   10 fragment index (u16) 12 sequence number (u32)
 *   16 payload length (u32) 20 header CRC (crc32 of bytes 0-19)
 *   24 payload              24 + n  frame CRC (crc32 of bytes 0 .. 23 + n)
 * all little-endian. A message (one command or one reply) is one frame, or several
 * fragments 0, 1, ... with MORE set on all but the last, at most WIRE_MAX_MESSAGE bytes in
 * all. Everything here is pure (bytes in, frames or messages out) so that the parser can be
 * fuzzed and unit-tested without sockets.
 *
 * The parser (wire_parser) takes arbitrary chunks of a byte stream and returns complete,
 * checked frames. It trusts a length only after the header CRC has matched and the length
 * is within the maximum, so garbage never makes it allocate or wait for a huge frame. After
 * garbage or a bad frame it resynchronises: it drops one byte and scans for the next magic
 * whose header CRC matches. The assembler (wire_asm) joins the fragments of a message. The
 * payload helpers (wire_buf to build, wire_reader to take apart) check every bound. */
#ifndef MPCL_WIRE_H
#define MPCL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1
#define WIRE_MAGIC "MPLK"
#define WIRE_HEADER 24                    /* bytes before the payload */
#define WIRE_TRAILER 4                    /* the frame CRC */
#define WIRE_MAX_PAYLOAD (1u << 20)       /* 1 MiB per frame */
#define WIRE_MAX_MESSAGE (16u << 20)      /* 16 MiB per message (16 fragments) */
#define WIRE_MAX_STRING 1024              /* bytes in one string field */

enum wire_type { WIRE_COMMAND = 1, WIRE_REPLY = 2, WIRE_ERROR = 3 };
enum { WIRE_MORE = 1 }; /* flags */

/* Command ids (docs/protocol.md lists each payload). */
enum wire_cmd {
    WIRE_HELLO = 1,
    WIRE_PULSE = 2,
    WIRE_PROGRAM = 3,
    WIRE_READ = 4,
    WIRE_PEEK = 5,
    WIRE_PLACE = 6,
    WIRE_VMM = 7,
    WIRE_VMM_BITS = 8,
    WIRE_GET = 9,
    WIRE_SET = 10,
    WIRE_STATUS = 11,
    WIRE_READ_LAYER = 12,
};

/* Error codes (the first field of an error frame's payload). */
enum wire_err {
    WIRE_E_FRAME = 1,     /* the request arrived damaged (CRC): send it again */
    WIRE_E_VERSION = 2,   /* protocol version not spoken */
    WIRE_E_TOO_LARGE = 3, /* a length over the limits */
    WIRE_E_MALFORMED = 4, /* the payload does not decode */
    WIRE_E_NO_HELLO = 5,  /* commands before a handshake (or after a link reset) */
    WIRE_E_AUTH = 6,      /* the token is wrong or missing */
    WIRE_E_UNKNOWN = 7,   /* unknown command id */
    WIRE_E_CHIP = 8,      /* the chip refused or failed: the message says why */
    WIRE_E_SEQ = 9,       /* a sequence number reused for a different request */
    WIRE_E_BUSY = 10,     /* the board is serving another client (HELLO refused) */
};

/* Name of a command id ("program"), or "command N" in buf. */
const char *wire_cmd_name(unsigned cmd, char *buf, size_t len);

/* --- frames ----------------------------------------------------------------------------- */

typedef struct wire_frame {
    uint8_t version, type, flags;
    uint16_t cmd, frag;
    uint32_t seq;
    uint32_t len;           /* payload bytes */
    const uint8_t *payload; /* into the parser's buffer: valid until its next call */
} wire_frame;

/* Bytes of one frame with an n-byte payload. */
static inline size_t wire_frame_size(size_t n) { return WIRE_HEADER + n + WIRE_TRAILER; }

/* Write one frame (header, payload, trailer) to out, which holds wire_frame_size(len)
 * bytes. len must be at most WIRE_MAX_PAYLOAD (not checked here: wire_put_message does). */
void wire_write_frame(uint8_t *out, uint8_t type, uint8_t flags, uint16_t cmd, uint16_t frag,
                      uint32_t seq, const void *payload, uint32_t len);

/* --- the parser ------------------------------------------------------------------------- */

/* What wire_next found. */
enum wire_event {
    WIRE_NEED_MORE = 0, /* no complete frame yet: feed more bytes */
    WIRE_GOT_FRAME = 1, /* *f is a checked frame */
    WIRE_BAD_FRAME = 2, /* a frame with a good header and a bad payload CRC, or an oversized
                           or unknown-version one: *f holds its header (payload NULL), err
                           says what; the parser has moved past it */
};

typedef struct wire_parser {
    uint8_t *buf;
    size_t start, end, cap; /* unread bytes are buf[start, end) */
    uint32_t max_payload;   /* frames claiming more are refused */
    /* counters */
    uint64_t frames, garbage_bytes, bad_frames;
} wire_parser;

/* max_payload 0 means WIRE_MAX_PAYLOAD. Returns 0, or -1 when out of memory. */
int wire_parser_init(wire_parser *p, uint32_t max_payload);
void wire_parser_free(wire_parser *p);
/* Forget buffered bytes (after a reconnection); the counters stay. */
void wire_parser_reset(wire_parser *p);
/* Space for at least n more bytes at the end of the buffer, for a read() straight into it;
 * NULL when out of memory or when n would take the buffer past two maximal frames (drain
 * frames with wire_next first). wire_commit(p, got) then adds the bytes read. */
uint8_t *wire_reserve(wire_parser *p, size_t n);
void wire_commit(wire_parser *p, size_t n);
/* wire_reserve + memcpy + wire_commit, in pieces as the buffer allows: returns the bytes
 * taken (less than n only when the buffer is full of undrained frames or memory ran out). */
size_t wire_feed(wire_parser *p, const void *data, size_t n);
/* The next event in the buffered bytes (enum wire_event). */
int wire_next(wire_parser *p, wire_frame *f, char *err, size_t errlen);

/* --- messages --------------------------------------------------------------------------- */

typedef struct wire_msg {
    uint8_t type;
    uint16_t cmd;
    uint32_t seq;
    const uint8_t *data; /* valid until the next wire_asm_add (or parser call) */
    size_t len;
} wire_msg;

typedef struct wire_asm {
    uint8_t *buf;
    size_t len, cap, max; /* max: largest message accepted */
    int active;           /* a message is partly assembled */
    uint8_t type;
    uint16_t cmd, next;   /* next: the fragment index expected */
    uint32_t seq;
} wire_asm;

/* max 0 means WIRE_MAX_MESSAGE. */
void wire_asm_init(wire_asm *a, size_t max);
void wire_asm_free(wire_asm *a);
void wire_asm_reset(wire_asm *a);
/* Add a checked frame. Returns 1 and fills *m when it completes a message, 0 when more
 * fragments are needed, -1 (err says why; the partial message is dropped) for a fragment
 * out of order, a message over the maximum, or no memory. A fragment 0 always starts a new
 * message, dropping a partial one. */
int wire_asm_add(wire_asm *a, const wire_frame *f, wire_msg *m, char *err, size_t errlen);

/* --- payloads --------------------------------------------------------------------------- */

/* A growable byte buffer; a failed allocation sets oom and later puts do nothing, so a
 * builder checks once at the end. */
typedef struct wire_buf {
    uint8_t *data;
    size_t len, cap;
    int oom;
} wire_buf;

void wire_buf_free(wire_buf *b);
/* n bytes appended (contents undefined), or NULL (oom set). */
uint8_t *wire_put_space(wire_buf *b, size_t n);
void wire_put_u8(wire_buf *b, uint8_t v);
void wire_put_u16(wire_buf *b, uint16_t v);
void wire_put_u32(wire_buf *b, uint32_t v);
void wire_put_u64(wire_buf *b, uint64_t v);
void wire_put_i32(wire_buf *b, int32_t v);
void wire_put_f32(wire_buf *b, float v);
void wire_put_f64(wire_buf *b, double v);
void wire_put_bytes(wire_buf *b, const void *data, size_t n);
/* A string: u16 length, then the bytes (no terminator); longer than WIRE_MAX_STRING is cut. */
void wire_put_str(wire_buf *b, const char *s);
/* Arrays of n little-endian elements. */
void wire_put_i32s(wire_buf *b, const int32_t *v, size_t n);
void wire_put_f32s(wire_buf *b, const float *v, size_t n);
void wire_put_u64s(wire_buf *b, const uint64_t *v, size_t n);
/* n bytes of 0/1 (nonzero counts as 1) as ceil(n / 8) bytes, bit i in byte i / 8 at
 * position i % 8 (LSB first). */
void wire_put_bits(wire_buf *b, const uint8_t *v, size_t n);
/* A message as frames of at most max_payload (0: WIRE_MAX_PAYLOAD) bytes appended to out.
 * Returns 0, or -1 when len exceeds WIRE_MAX_MESSAGE or memory ran out. */
int wire_put_message(wire_buf *out, uint8_t type, uint16_t cmd, uint32_t seq,
                     const void *payload, size_t len, uint32_t max_payload);

/* Reading a payload: every get checks the bounds; the first failure sets bad, and every
 * later get fails too (returns -1 or NULL), so a decoder may check once at the end. */
typedef struct wire_reader {
    const uint8_t *p;
    size_t len, pos;
    int bad;
} wire_reader;

void wire_reader_init(wire_reader *r, const void *data, size_t len);
static inline size_t wire_left(const wire_reader *r) { return r->bad ? 0 : r->len - r->pos; }
/* 0 when the payload was read exactly to its end without a failure, else -1. */
int wire_done(const wire_reader *r);
int wire_get_u8(wire_reader *r, uint8_t *v);
int wire_get_u16(wire_reader *r, uint16_t *v);
int wire_get_u32(wire_reader *r, uint32_t *v);
int wire_get_u64(wire_reader *r, uint64_t *v);
int wire_get_i32(wire_reader *r, int32_t *v);
int wire_get_f32(wire_reader *r, float *v);
int wire_get_f64(wire_reader *r, double *v);
/* n bytes in place, or NULL. */
const uint8_t *wire_get_bytes(wire_reader *r, size_t n);
/* A string into out (cap bytes with the terminator); fails when it does not fit, is over
 * WIRE_MAX_STRING or holds a NUL. */
int wire_get_str(wire_reader *r, char *out, size_t cap);
int wire_get_i32s(wire_reader *r, int32_t *v, size_t n);
int wire_get_f32s(wire_reader *r, float *v, size_t n);
int wire_get_u64s(wire_reader *r, uint64_t *v, size_t n);
/* n values of 0/1 packed as wire_put_bits writes them. */
int wire_get_bits(wire_reader *r, uint8_t *v, size_t n);

/* An error payload: code, then the message. */
void wire_put_error(wire_buf *b, uint32_t code, const char *msg);
/* Decode one; a payload that does not decode gives code 0 and a message saying so. */
void wire_get_error(const void *data, size_t len, uint32_t *code, char *msg, size_t msglen);

#endif
