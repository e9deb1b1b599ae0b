/* The wire protocol's frames (plugins/wire): round trips in one piece and byte by byte,
 * messages in fragments, every class of malformed input giving an error and never a crash
 * or a wrong frame, oversized lengths refused before any allocation, resynchronisation
 * after garbage, every single flipped bit caught, and the bounds of the payload helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wire.h"

static char err[256];

/* One encoded message (frames of at most maxp bytes) in a wire_buf the caller frees. */
static wire_buf encode(uint8_t type, uint16_t cmd, uint32_t seq, const void *payload,
                       size_t len, uint32_t maxp)
{
    wire_buf b = {0};
    assert_int_equal(wire_put_message(&b, type, cmd, seq, payload, len, maxp), 0);
    return b;
}

/* Feed data in chunks of `chunk` bytes, draining after each; returns the messages seen and
 * copies the last one's payload into last (cap bytes). */
static int feed_all(wire_parser *p, wire_asm *a, const uint8_t *data, size_t n, size_t chunk,
                    wire_msg *m, uint8_t *last, size_t cap, int *bad)
{
    int msgs = 0;
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        assert_int_equal(wire_feed(p, data + off, k), k);
        wire_frame f;
        int ev;
        while ((ev = wire_next(p, &f, err, sizeof err)) != WIRE_NEED_MORE) {
            if (ev == WIRE_BAD_FRAME) {
                (*bad)++;
                continue;
            }
            if (wire_asm_add(a, &f, m, err, sizeof err) == 1) {
                msgs++;
                assert_true(m->len <= cap);
                memcpy(last, m->data, m->len);
            }
        }
    }
    return msgs;
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t payload[300], got[300];
    for (int i = 0; i < 300; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    wire_buf b = encode(WIRE_COMMAND, WIRE_PROGRAM, 77, payload, sizeof payload, 0);
    assert_int_equal(b.len, wire_frame_size(300));
    assert_memory_equal(b.data, WIRE_MAGIC, 4);
    for (size_t chunk = 1; chunk <= b.len; chunk = chunk * 3 + 1) {
        wire_parser p;
        wire_asm a;
        assert_int_equal(wire_parser_init(&p, 0), 0);
        wire_asm_init(&a, 0);
        wire_msg m;
        int bad = 0;
        assert_int_equal(feed_all(&p, &a, b.data, b.len, chunk, &m, got, sizeof got, &bad), 1);
        assert_int_equal(bad, 0);
        assert_int_equal(m.type, WIRE_COMMAND);
        assert_int_equal(m.cmd, WIRE_PROGRAM);
        assert_int_equal(m.seq, 77);
        assert_int_equal(m.len, 300);
        assert_memory_equal(got, payload, 300);
        assert_int_equal(p.garbage_bytes, 0);
        wire_parser_free(&p);
        wire_asm_free(&a);
    }
    wire_buf_free(&b);
}

static void test_empty_and_max_payload(void **state)
{
    (void)state;
    wire_parser p;
    wire_asm a;
    assert_int_equal(wire_parser_init(&p, 0), 0);
    wire_asm_init(&a, 0);
    wire_buf b = encode(WIRE_REPLY, WIRE_PLACE, 3, NULL, 0, 0);
    wire_frame f;
    wire_msg m;
    assert_int_equal(wire_feed(&p, b.data, b.len), b.len);
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_GOT_FRAME);
    assert_int_equal(f.len, 0);
    assert_int_equal(wire_asm_add(&a, &f, &m, err, sizeof err), 1);
    assert_int_equal(m.len, 0);
    wire_buf_free(&b);
    /* exactly the maximum payload is one frame and is accepted */
    uint8_t *big = calloc(WIRE_MAX_PAYLOAD, 1);
    assert_non_null(big);
    big[WIRE_MAX_PAYLOAD - 1] = 0xab;
    b = encode(WIRE_REPLY, WIRE_READ, 4, big, WIRE_MAX_PAYLOAD, 0);
    assert_int_equal(b.len, wire_frame_size(WIRE_MAX_PAYLOAD));
    assert_int_equal(wire_feed(&p, b.data, b.len), b.len);
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_GOT_FRAME);
    assert_int_equal(f.len, WIRE_MAX_PAYLOAD);
    assert_int_equal(f.payload[WIRE_MAX_PAYLOAD - 1], 0xab);
    wire_buf_free(&b);
    free(big);
    wire_parser_free(&p);
    wire_asm_free(&a);
}

static void test_fragments(void **state)
{
    (void)state;
    size_t n = 1000;
    uint8_t *payload = malloc(n), *got = malloc(n);
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i ^ (i >> 3));
    wire_buf b = encode(WIRE_REPLY, WIRE_VMM_BITS, 9, payload, n, 96);
    assert_int_equal(b.len, n + 11 * wire_frame_size(0)); /* ceil(1000 / 96) frames */
    wire_parser p;
    wire_asm a;
    assert_int_equal(wire_parser_init(&p, 0), 0);
    wire_asm_init(&a, 0);
    wire_msg m;
    int bad = 0;
    assert_int_equal(feed_all(&p, &a, b.data, b.len, 17, &m, got, n, &bad), 1);
    assert_int_equal(bad, 0);
    assert_int_equal(m.len, n);
    assert_memory_equal(got, payload, n);

    /* a missing middle fragment: an error, then the next message goes through */
    wire_buf c = encode(WIRE_REPLY, WIRE_VMM_BITS, 10, payload, 300, 100);
    size_t fs = wire_frame_size(100);
    wire_frame f;
    assert_int_equal(wire_feed(&p, c.data, fs), fs);            /* fragment 0 */
    assert_int_equal(wire_feed(&p, c.data + 2 * fs, fs), fs);   /* fragment 2 */
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_GOT_FRAME);
    assert_int_equal(wire_asm_add(&a, &f, &m, err, sizeof err), 0);
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_GOT_FRAME);
    assert_int_equal(wire_asm_add(&a, &f, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of order"));
    /* a later fragment with no start */
    assert_int_equal(wire_feed(&p, c.data + fs, fs), fs);
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_GOT_FRAME);
    assert_int_equal(wire_asm_add(&a, &f, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "without its first fragment"));
    assert_int_equal(feed_all(&p, &a, c.data, c.len, 50, &m, got, n, &bad), 1);
    assert_int_equal(m.seq, 10);
    assert_memory_equal(got, payload, 300);
    wire_buf_free(&c);

    /* a message over the assembler's maximum */
    wire_asm small;
    wire_asm_init(&small, 250);
    c = encode(WIRE_REPLY, WIRE_READ, 11, payload, 300, 100);
    int rc = 0;
    for (size_t off = 0; off < c.len; off += fs) {
        assert_int_equal(wire_feed(&p, c.data + off, fs), fs);
        assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_GOT_FRAME);
        rc = wire_asm_add(&small, &f, &m, err, sizeof err);
        if (rc < 0)
            break;
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "over the limit"));
    wire_asm_free(&small);
    wire_buf_free(&c);
    wire_buf_free(&b);
    wire_parser_free(&p);
    wire_asm_free(&a);
    free(payload);
    free(got);
}

/* A header with any length and a matching header CRC (what a liar would send); h holds
 * WIRE_HEADER + WIRE_TRAILER bytes. */
static void forge_header(uint8_t *h, uint8_t version, uint8_t type, uint8_t flags, uint32_t len)
{
    wire_write_frame(h, WIRE_COMMAND, 0, WIRE_VMM, 0, 5, NULL, 0);
    h[4] = version;
    h[5] = type;
    h[6] = flags;
    for (int i = 0; i < 4; i++)
        h[16 + i] = (uint8_t)(len >> (8 * i));
    uLong c = crc32(crc32(0L, Z_NULL, 0), h, 20);
    for (int i = 0; i < 4; i++)
        h[20 + i] = (uint8_t)(c >> (8 * i));
}

static void test_oversized_before_allocation(void **state)
{
    (void)state;
    static const uint32_t lens[] = {WIRE_MAX_PAYLOAD + 1, 0x7fffffffu, 0xffffffffu};
    for (int i = 0; i < 3; i++) {
        wire_parser p;
        assert_int_equal(wire_parser_init(&p, 0), 0);
        size_t cap0 = p.cap;
        uint8_t h[WIRE_HEADER + WIRE_TRAILER];
        forge_header(h, WIRE_VERSION, WIRE_COMMAND, 0, lens[i]);
        assert_int_equal(wire_feed(&p, h, WIRE_HEADER), WIRE_HEADER); /* the header alone */
        wire_frame f;
        /* refused at once, from the header alone: no waiting for 4 GB, no buffer growth */
        assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_BAD_FRAME);
        assert_non_null(strstr(err, "over the limit"));
        assert_int_equal(f.len, lens[i]);
        assert_int_equal(f.seq, 5);
        assert_int_equal(p.cap, cap0);
        assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_NEED_MORE);
        wire_parser_free(&p);
    }
    /* a parser with a smaller limit refuses what the default would take */
    wire_parser p;
    assert_int_equal(wire_parser_init(&p, 1000), 0);
    wire_buf b = encode(WIRE_COMMAND, WIRE_READ, 1, (uint8_t[1001]){0}, 1001, 0);
    wire_feed(&p, b.data, b.len);
    wire_frame f;
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_BAD_FRAME);
    wire_buf_free(&b);
    wire_parser_free(&p);
}

static void test_bad_headers(void **state)
{
    (void)state;
    struct { uint8_t version, type, flags; const char *says; } cases[] = {
        {2, WIRE_COMMAND, 0, "version 2"},
        {0, WIRE_COMMAND, 0, "version 0"},
        {WIRE_VERSION, 0, 0, "not valid"},
        {WIRE_VERSION, 4, 0, "not valid"},
        {WIRE_VERSION, WIRE_REPLY, 0x80, "not valid"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wire_parser p;
        assert_int_equal(wire_parser_init(&p, 0), 0);
        uint8_t h[WIRE_HEADER + WIRE_TRAILER];
        forge_header(h, cases[i].version, cases[i].type, cases[i].flags, 0);
        assert_int_equal(wire_feed(&p, h, sizeof h), sizeof h);
        wire_frame f;
        assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_BAD_FRAME);
        assert_non_null(strstr(err, cases[i].says));
        assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_NEED_MORE);
        wire_parser_free(&p);
    }
}

static void test_resync_after_garbage(void **state)
{
    (void)state;
    uint8_t payload[64];
    memset(payload, 0x5a, sizeof payload);
    wire_buf one = encode(WIRE_REPLY, WIRE_GET, 1, payload, sizeof payload, 0);
    /* garbage that looks like the start of frames: magic prefixes, a whole magic with a
     * bad header CRC, a truncated frame */
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    memcpy(junk + 10, "MPL", 3);
    memcpy(junk + 40, "MPLK\1\2\0\0", 8);
    memcpy(junk + 150, one.data, 30); /* a frame cut short */
    wire_buf s = {0};
    wire_put_bytes(&s, junk, sizeof junk);
    wire_put_bytes(&s, one.data, one.len);
    wire_put_bytes(&s, "MP", 2);
    wire_put_bytes(&s, one.data, one.len);
    wire_put_bytes(&s, junk, 33);
    wire_put_bytes(&s, one.data, one.len);
    for (size_t chunk = 1; chunk < 400; chunk = chunk * 2 + 5) {
        wire_parser p;
        wire_asm a;
        assert_int_equal(wire_parser_init(&p, 0), 0);
        wire_asm_init(&a, 0);
        wire_msg m;
        uint8_t got[64];
        int bad = 0;
        assert_int_equal(feed_all(&p, &a, s.data, s.len, chunk, &m, got, sizeof got, &bad), 3);
        assert_memory_equal(got, payload, sizeof payload);
        assert_true(p.garbage_bytes >= sizeof junk + 2 + 33);
        wire_parser_free(&p);
        wire_asm_free(&a);
    }
    wire_buf_free(&s);
    wire_buf_free(&one);
}

/* Every single-bit flip anywhere in a frame is caught: the frame never comes out (damaged
 * or not), and the good frame sent after it does. */
static void test_crc_catches_flips(void **state)
{
    (void)state;
    uint8_t payload[40];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 3);
    wire_buf good = encode(WIRE_COMMAND, WIRE_PULSE, 123, payload, sizeof payload, 0);
    for (size_t bit = 0; bit < good.len * 8; bit++) {
        wire_buf bad = encode(WIRE_COMMAND, WIRE_PULSE, 123, payload, sizeof payload, 0);
        bad.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        wire_parser p;
        assert_int_equal(wire_parser_init(&p, 0), 0);
        wire_feed(&p, bad.data, bad.len);
        wire_frame f;
        int ev;
        while ((ev = wire_next(&p, &f, err, sizeof err)) != WIRE_NEED_MORE)
            assert_int_equal(ev, WIRE_BAD_FRAME);
        /* a flipped length bit may leave the parser waiting for more: the next good frame
         * (and some padding a real stream would bring) lets it through */
        wire_feed(&p, good.data, good.len);
        uint8_t pad[64] = {0};
        int seen = 0;
        for (int k = 0; k < 2 && !seen; k++) {
            while ((ev = wire_next(&p, &f, err, sizeof err)) != WIRE_NEED_MORE)
                if (ev == WIRE_GOT_FRAME) {
                    assert_int_equal(f.seq, 123);
                    assert_memory_equal(f.payload, payload, sizeof payload);
                    seen++;
                }
            wire_feed(&p, pad, sizeof pad);
        }
        assert_int_equal(seen, 1);
        wire_parser_free(&p);
        wire_buf_free(&bad);
    }
    wire_buf_free(&good);
}

static void test_truncated(void **state)
{
    (void)state;
    uint8_t payload[100] = {1, 2, 3};
    wire_buf b = encode(WIRE_REPLY, WIRE_READ, 8, payload, sizeof payload, 0);
    for (size_t n = 0; n < b.len; n++) {
        wire_parser p;
        assert_int_equal(wire_parser_init(&p, 0), 0);
        wire_feed(&p, b.data, n);
        wire_frame f;
        assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_NEED_MORE);
        wire_parser_free(&p);
    }
    wire_buf_free(&b);
}

static void test_buffer_bounds(void **state)
{
    (void)state;
    wire_parser p;
    assert_int_equal(wire_parser_init(&p, 1024), 0);
    /* more than the buffer may hold is refused, not allocated */
    assert_null(wire_reserve(&p, (size_t)1 << 40));
    uint8_t junk[4096];
    memset(junk, 'M', sizeof junk);
    size_t fed = 0;
    for (int i = 0; i < 100; i++)
        fed += wire_feed(&p, junk, sizeof junk);
    assert_true(fed < 100 * sizeof junk); /* undrained: the buffer stops growing */
    assert_true(p.cap <= 2 * wire_frame_size(1024) + (64u << 10));
    wire_frame f;
    assert_int_equal(wire_next(&p, &f, err, sizeof err), WIRE_NEED_MORE);
    assert_true(p.garbage_bytes > 0);
    wire_parser_free(&p);
}

static void test_payload_helpers(void **state)
{
    (void)state;
    wire_buf b = {0};
    wire_put_u8(&b, 0xfe);
    wire_put_u16(&b, 0xbeef);
    wire_put_u32(&b, 0xdeadbeefu);
    wire_put_u64(&b, 0x0123456789abcdefULL);
    wire_put_i32(&b, -42);
    wire_put_f32(&b, -1.5f);
    wire_put_f64(&b, 3.25e-7);
    wire_put_str(&b, "v_read");
    int32_t iv[3] = {-1, 0, 2147483647};
    float fv[2] = {0.5f, -0.0f};
    uint64_t uv[2] = {~0ULL, 1};
    wire_put_i32s(&b, iv, 3);
    wire_put_f32s(&b, fv, 2);
    wire_put_u64s(&b, uv, 2);
    uint8_t bits[13] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 7};
    wire_put_bits(&b, bits, 13);
    assert_false(b.oom);
    /* little-endian on the wire */
    assert_int_equal(b.data[1], 0xef);
    assert_int_equal(b.data[3], 0xef);

    wire_reader r;
    wire_reader_init(&r, b.data, b.len);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    float f32;
    double f64;
    char s[16];
    assert_int_equal(wire_get_u8(&r, &u8), 0);
    assert_int_equal(wire_get_u16(&r, &u16), 0);
    assert_int_equal(wire_get_u32(&r, &u32), 0);
    assert_int_equal(wire_get_u64(&r, &u64), 0);
    assert_int_equal(wire_get_i32(&r, &i32), 0);
    assert_int_equal(wire_get_f32(&r, &f32), 0);
    assert_int_equal(wire_get_f64(&r, &f64), 0);
    assert_int_equal(wire_get_str(&r, s, sizeof s), 0);
    assert_true(u8 == 0xfe && u16 == 0xbeef && u32 == 0xdeadbeefu);
    assert_true(u64 == 0x0123456789abcdefULL && i32 == -42 && f32 == -1.5f && f64 == 3.25e-7);
    assert_string_equal(s, "v_read");
    int32_t iv2[3];
    float fv2[2];
    uint64_t uv2[2];
    uint8_t bits2[13];
    assert_int_equal(wire_get_i32s(&r, iv2, 3), 0);
    assert_int_equal(wire_get_f32s(&r, fv2, 2), 0);
    assert_int_equal(wire_get_u64s(&r, uv2, 2), 0);
    assert_int_equal(wire_get_bits(&r, bits2, 13), 0);
    assert_memory_equal(iv, iv2, sizeof iv);
    assert_memory_equal(fv, fv2, sizeof fv);
    assert_memory_equal(uv, uv2, sizeof uv);
    for (int i = 0; i < 13; i++)
        assert_int_equal(bits2[i], bits[i] != 0);
    assert_int_equal(wire_done(&r), 0);
    /* past the end: a failure, and it sticks */
    assert_int_equal(wire_get_u8(&r, &u8), -1);
    assert_int_equal(wire_done(&r), -1);
    wire_reader_init(&r, b.data, b.len);
    assert_int_equal(wire_get_u8(&r, &u8), 0);
    assert_int_equal(wire_done(&r), -1); /* bytes left over */
    assert_null(wire_get_bytes(&r, b.len));
    assert_int_equal(wire_get_u8(&r, &u8), -1); /* sticky */
    /* lengths that lie: a count far past the payload */
    wire_reader_init(&r, b.data, 10);
    assert_int_equal(wire_get_i32s(&r, iv2, (size_t)1 << 62), -1);
    wire_buf_free(&b);
}

static void test_strings(void **state)
{
    (void)state;
    char s[8], big[WIRE_MAX_STRING + 2];
    wire_buf b = {0};
    wire_put_str(&b, "12345678"); /* 8 bytes: does not fit in s[8] with its NUL */
    wire_reader r;
    wire_reader_init(&r, b.data, b.len);
    assert_int_equal(wire_get_str(&r, s, sizeof s), -1);
    wire_buf_free(&b);
    /* a length beyond the payload */
    uint8_t lie[4] = {200, 0, 'a', 'b'};
    wire_reader_init(&r, lie, sizeof lie);
    assert_int_equal(wire_get_str(&r, big, sizeof big), -1);
    /* an embedded NUL */
    uint8_t nul[5] = {3, 0, 'a', 0, 'b'};
    wire_reader_init(&r, nul, sizeof nul);
    assert_int_equal(wire_get_str(&r, s, sizeof s), -1);
    /* over WIRE_MAX_STRING is cut on the way out and refused on the way in */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wire_put_str(&b, big);
    assert_int_equal(b.len, 2 + WIRE_MAX_STRING);
    wire_buf_free(&b);
    uint8_t over[2 + WIRE_MAX_STRING + 1];
    memset(over, 'y', sizeof over);
    over[0] = (uint8_t)((WIRE_MAX_STRING + 1) & 0xff);
    over[1] = (uint8_t)((WIRE_MAX_STRING + 1) >> 8);
    char huge[4096];
    wire_reader_init(&r, over, sizeof over);
    assert_int_equal(wire_get_str(&r, huge, sizeof huge), -1);
}

static void test_errors_and_limits(void **state)
{
    (void)state;
    wire_buf b = {0};
    wire_put_error(&b, WIRE_E_CHIP, "layer 4 is not placed");
    uint32_t code;
    char msg[64];
    wire_get_error(b.data, b.len, &code, msg, sizeof msg);
    assert_int_equal(code, WIRE_E_CHIP);
    assert_string_equal(msg, "layer 4 is not placed");
    wire_get_error(b.data, 3, &code, msg, sizeof msg);
    assert_int_equal(code, 0);
    assert_non_null(strstr(msg, "does not decode"));
    wire_get_error(NULL, 0, &code, msg, sizeof msg);
    assert_int_equal(code, 0);
    wire_buf_free(&b);
    /* a message over WIRE_MAX_MESSAGE is refused before encoding */
    wire_buf out = {0};
    static const uint8_t one = 1;
    assert_int_equal(wire_put_message(&out, WIRE_REPLY, 1, 1, &one, WIRE_MAX_MESSAGE + 1, 0),
                     -1);
    assert_int_equal(out.len, 0);
    char buf[32];
    assert_string_equal(wire_cmd_name(WIRE_VMM_BITS, buf, sizeof buf), "vmm_bits");
    assert_string_equal(wire_cmd_name(999, buf, sizeof buf), "command 999");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_and_max_payload),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_oversized_before_allocation),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_resync_after_garbage),
        cmocka_unit_test(test_crc_catches_flips),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_buffer_bounds),
        cmocka_unit_test(test_payload_helpers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_errors_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
