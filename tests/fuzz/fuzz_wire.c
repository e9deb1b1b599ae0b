/* Fuzz target for the wire protocol's parser (plugins/wire): the frame parser, the message
 * assembler and the payload readers, on input nobody vouches for.
 *
 * The first byte picks the mode:
 *   even: the rest is a raw byte stream, fed to the parser in chunks (sizes from the first
 *         byte), as a link would deliver it: garbage, cut frames, forged headers.
 *   odd:  the rest is a list of records (type, flags, command, fragment, sequence number,
 *         u16 length, payload) turned into frames with correct CRCs, optionally with a bit
 *         flipped, so that the fuzzer reaches message assembly and payload decoding, which
 *         a CRC would otherwise keep it from.
 * Every complete message is decoded field by field as the board and the client do, and
 * re-encoded and parsed again: it must come back identical (else abort()).
 *
 * Built by the Makefile's fuzz scheme (FUZZ_TARGETS): build/fuzz-wire (libFuzzer) and
 * build/fuzz-wire-replay (gcc, ASan+UBSan, tests/fuzz/replay.c). Seed corpus:
 * tests/fuzz/corpus/wire (valid traffic: each command as a stream with garbage around it,
 * and as a record). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Decode a payload as the command's reader would (fields in order, any may fail). */
static void decode(const wire_msg *m)
{
    wire_reader r;
    wire_reader_init(&r, m->data, m->len);
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    float f32;
    double f64;
    char s[WIRE_MAX_STRING + 1];
    if (m->type == WIRE_ERROR) {
        uint32_t code;
        wire_get_error(m->data, m->len, &code, s, sizeof s);
        return;
    }
    switch (m->cmd) {
    case WIRE_HELLO:
        wire_get_u32(&r, &u32);
        wire_get_u64(&r, &u64);
        wire_get_str(&r, s, sizeof s);
        break;
    case WIRE_PROGRAM: {
        int32_t rect[4];
        wire_get_u8(&r, &u8);
        wire_get_i32s(&r, rect, 4);
        wire_get_f32(&r, &f32);
        wire_get_i32(&r, &i32);
        wire_get_u8(&r, &u8);
        size_t n = wire_left(&r) * 8;
        uint8_t *bits = malloc(n ? n : 1);
        if (bits)
            wire_get_bits(&r, bits, n);
        free(bits);
        break;
    }
    case WIRE_STATUS:
        if (wire_get_u32(&r, &u32) == 0)
            for (uint32_t i = 0; i < u32 && !r.bad; i++) {
                wire_get_str(&r, s, 64);
                wire_get_f64(&r, &f64);
            }
        break;
    default: { /* the VMMs and the rest: a head, then arrays of what is left */
        wire_get_i32(&r, &i32);
        wire_get_i32(&r, &i32);
        wire_get_i32(&r, &i32);
        wire_get_u8(&r, &u8);
        size_t n = wire_left(&r) / 8;
        uint64_t *w = malloc(8 * (n ? n : 1));
        if (w)
            wire_get_u64s(&r, w, n);
        free(w);
        wire_get_f32s(&r, &f32, 1);
        wire_get_bytes(&r, wire_left(&r));
    }
    }
    wire_done(&r);
}

/* The message encoded again (small fragments) and parsed back must be the same. */
static void round_trip(const wire_msg *m)
{
    wire_buf b = {0};
    /* An empty message's data is NULL, as the board and the client pass it (wire.c once
     * computed NULL + 0 there: corpus/wire/regress-null-plus-zero). */
    if (wire_put_message(&b, m->type, m->cmd, m->seq, m->data, m->len, 4096) < 0) {
        wire_buf_free(&b);
        return;
    }
    wire_parser p;
    wire_asm a;
    if (wire_parser_init(&p, 0) < 0) {
        wire_buf_free(&b);
        return;
    }
    wire_asm_init(&a, 0);
    char err[200];
    int got = 0;
    size_t off = 0;
    while (off < b.len) {
        off += wire_feed(&p, b.data + off, b.len - off);
        wire_frame f;
        wire_msg back;
        int ev;
        while ((ev = wire_next(&p, &f, err, sizeof err)) != WIRE_NEED_MORE) {
            if (ev != WIRE_GOT_FRAME)
                abort();
            if (wire_asm_add(&a, &f, &back, err, sizeof err) == 1) {
                if (back.len != m->len || back.seq != m->seq || back.cmd != m->cmd ||
                    back.type != m->type || (m->len && memcmp(back.data, m->data, m->len)))
                    abort();
                got++;
            }
        }
    }
    if (got != 1)
        abort();
    wire_asm_free(&a);
    wire_parser_free(&p);
    wire_buf_free(&b);
}

/* Feed a stream in chunks; decode and round-trip every message. */
static void run_stream(const uint8_t *data, size_t size, unsigned chunk_seed)
{
    wire_parser p;
    wire_asm a;
    if (wire_parser_init(&p, 0) < 0)
        return;
    wire_asm_init(&a, 0);
    char err[200];
    size_t off = 0;
    unsigned k = chunk_seed | 1;
    while (off < size) {
        k = k * 1103515245u + 12345u;
        size_t want = 1 + (k >> 16) % 1500, n = size - off < want ? size - off : want;
        size_t took = wire_feed(&p, data + off, n);
        off += took;
        wire_frame f;
        wire_msg m;
        int ev;
        while ((ev = wire_next(&p, &f, err, sizeof err)) != WIRE_NEED_MORE)
            if (ev == WIRE_GOT_FRAME && wire_asm_add(&a, &f, &m, err, sizeof err) == 1) {
                decode(&m);
                round_trip(&m);
            }
        if (!took)
            break; /* cannot happen after draining: the buffer holds less than a frame */
    }
    wire_asm_free(&a);
    wire_parser_free(&p);
}

/* Records -> frames with good CRCs (a record's low flag bit 2 flips one bit of its frame). */
static void run_records(const uint8_t *data, size_t size, unsigned seed)
{
    wire_buf s = {0};
    size_t off = 0;
    while (off + 14 <= size) {
        const uint8_t *h = data + off;
        uint8_t type = h[0], flags = h[1];
        uint16_t cmd = (uint16_t)(h[2] | h[3] << 8), frag = (uint16_t)(h[4] | h[5] << 8);
        uint32_t seq = (uint32_t)h[6] | (uint32_t)h[7] << 8 | (uint32_t)h[8] << 16 |
                       (uint32_t)h[9] << 24;
        size_t len = (size_t)(h[10] | h[11] << 8), flip = (size_t)(h[12] | h[13] << 8);
        off += 14;
        len = len < size - off ? len : size - off;
        uint8_t *fr = wire_put_space(&s, wire_frame_size(len));
        if (!fr)
            break;
        wire_write_frame(fr, type % 4, flags & (WIRE_MORE | 0x80), cmd % 16, frag % 8, seq,
                         data + off, (uint32_t)len);
        if (flags & 4)
            fr[flip % wire_frame_size(len)] ^= (uint8_t)(1u << (flags >> 5));
        off += len;
    }
    if (!s.oom)
        run_stream(s.data, s.len, seed);
    wire_buf_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        run_records(data + 1, size - 1, data[0]);
    else
        run_stream(data + 1, size - 1, data[0]);
    return 0;
}
