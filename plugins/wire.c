/* wire: frames, the stream parser, message assembly and payload helpers (see wire.h). */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WIRE_LE_HOST 1
#else
#define WIRE_LE_HOST 0
#endif

#define PARSER_MIN_CAP (64u << 10)

const char *wire_cmd_name(unsigned cmd, char *buf, size_t len)
{
    static const char *const names[] = {NULL,   "hello", "pulse", "program", "read",   "peek",
                                        "place", "vmm",   "vmm_bits", "get", "set", "status",
                                        "read_layer"};
    if (cmd < sizeof names / sizeof *names && names[cmd])
        return names[cmd];
    snprintf(buf, len, "command %u", cmd);
    return buf;
}

/* --- little-endian fields ----------------------------------------------------------------- */

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* --- frames --------------------------------------------------------------------------------- */

void wire_write_frame(uint8_t *out, uint8_t type, uint8_t flags, uint16_t cmd, uint16_t frag,
                      uint32_t seq, const void *payload, uint32_t len)
{
    memcpy(out, WIRE_MAGIC, 4);
    out[4] = WIRE_VERSION;
    out[5] = type;
    out[6] = flags;
    out[7] = 0;
    st16(out + 8, cmd);
    st16(out + 10, frag);
    st32(out + 12, seq);
    st32(out + 16, len);
    st32(out + 20, crc(out, 20));
    if (len)
        memcpy(out + WIRE_HEADER, payload, len);
    st32(out + WIRE_HEADER + len, crc(out, WIRE_HEADER + (size_t)len));
}

/* --- the parser ------------------------------------------------------------------------------ */

int wire_parser_init(wire_parser *p, uint32_t max_payload)
{
    memset(p, 0, sizeof *p);
    p->max_payload = max_payload && max_payload < WIRE_MAX_PAYLOAD ? max_payload
                                                                   : WIRE_MAX_PAYLOAD;
    p->buf = malloc(PARSER_MIN_CAP);
    if (!p->buf)
        return -1;
    p->cap = PARSER_MIN_CAP;
    return 0;
}

void wire_parser_free(wire_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->start = p->end = p->cap = 0;
}

void wire_parser_reset(wire_parser *p) { p->start = p->end = 0; }

/* The most the buffer may hold: a maximal frame waiting for its last bytes plus a read. */
static size_t parser_limit(const wire_parser *p)
{
    return 2 * wire_frame_size(p->max_payload) + PARSER_MIN_CAP;
}

uint8_t *wire_reserve(wire_parser *p, size_t n)
{
    if (!p->buf || n > parser_limit(p) - (p->end - p->start))
        return NULL;
    if (p->cap - p->end >= n)
        return p->buf + p->end;
    if (p->start > 0) { /* move the unread bytes to the front */
        memmove(p->buf, p->buf + p->start, p->end - p->start);
        p->end -= p->start;
        p->start = 0;
    }
    if (p->cap - p->end < n) {
        size_t cap = p->cap * 2 > p->end + n ? p->cap * 2 : p->end + n;
        cap = cap < parser_limit(p) ? cap : parser_limit(p);
        uint8_t *b = realloc(p->buf, cap);
        if (!b)
            return NULL;
        p->buf = b;
        p->cap = cap;
    }
    return p->buf + p->end;
}

void wire_commit(wire_parser *p, size_t n)
{
    if (n <= p->cap - p->end)
        p->end += n;
}

size_t wire_feed(wire_parser *p, const void *data, size_t n)
{
    size_t taken = 0;
    while (taken < n) {
        size_t chunk = n - taken < PARSER_MIN_CAP ? n - taken : PARSER_MIN_CAP;
        uint8_t *dst = wire_reserve(p, chunk);
        if (!dst)
            break;
        memcpy(dst, (const uint8_t *)data + taken, chunk);
        wire_commit(p, chunk);
        taken += chunk;
    }
    return taken;
}

/* Drop bytes up to the first place the magic (or a prefix of it, at the end) could start. */
static void skip_to_magic(wire_parser *p)
{
    size_t i = p->start;
    while (i < p->end) {
        const uint8_t *m = memchr(p->buf + i, WIRE_MAGIC[0], p->end - i);
        if (!m) {
            i = p->end;
            break;
        }
        i = (size_t)(m - p->buf);
        size_t have = p->end - i < 4 ? p->end - i : 4;
        if (!memcmp(p->buf + i, WIRE_MAGIC, have))
            break;
        i++;
    }
    p->garbage_bytes += i - p->start;
    p->start = i;
}

static void decode_header(const uint8_t *h, wire_frame *f)
{
    f->version = h[4];
    f->type = h[5];
    f->flags = h[6];
    f->cmd = ld16(h + 8);
    f->frag = ld16(h + 10);
    f->seq = ld32(h + 12);
    f->len = ld32(h + 16);
    f->payload = NULL;
}

/* A frame whose header checked out but which cannot be used: step one byte past its magic
 * (its length is not trusted further) and report it. */
static int bad_frame(wire_parser *p, char *err, size_t errlen, const char *fmt, unsigned a,
                     unsigned b)
{
    err_format(err, errlen, fmt, a, b);
    p->start++;
    p->garbage_bytes++;
    p->bad_frames++;
    return WIRE_BAD_FRAME;
}

int wire_next(wire_parser *p, wire_frame *f, char *err, size_t errlen)
{
    for (;;) {
        skip_to_magic(p);
        if (p->end - p->start < WIRE_HEADER)
            return WIRE_NEED_MORE;
        const uint8_t *h = p->buf + p->start;
        if (crc(h, 20) != ld32(h + 20)) { /* not a header: resynchronise */
            p->start++;
            p->garbage_bytes++;
            continue;
        }
        decode_header(h, f);
        if (f->version != WIRE_VERSION)
            return bad_frame(p, err, errlen, "frame of protocol version %u (this side speaks "
                                             "version %u)", f->version, WIRE_VERSION);
        if (f->type < WIRE_COMMAND || f->type > WIRE_ERROR || h[7] != 0 ||
            (f->flags & ~WIRE_MORE))
            return bad_frame(p, err, errlen, "frame header with type %u, flags 0x%x: not valid",
                             f->type, (unsigned)(f->flags | h[7] << 8));
        if (f->len > p->max_payload)
            return bad_frame(p, err, errlen, "frame payload of %u bytes is over the limit of "
                                             "%u", f->len, p->max_payload);
        size_t need = wire_frame_size(f->len);
        if (p->end - p->start < need)
            return WIRE_NEED_MORE;
        if (crc(h, WIRE_HEADER + (size_t)f->len) != ld32(h + WIRE_HEADER + f->len))
            return bad_frame(p, err, errlen, "frame CRC mismatch (%u payload bytes, seq %u)",
                             f->len, f->seq);
        f->payload = h + WIRE_HEADER;
        p->start += need;
        p->frames++;
        return WIRE_GOT_FRAME;
    }
}

/* --- messages ------------------------------------------------------------------------------- */

void wire_asm_init(wire_asm *a, size_t max)
{
    memset(a, 0, sizeof *a);
    a->max = max && max < WIRE_MAX_MESSAGE ? max : WIRE_MAX_MESSAGE;
}

void wire_asm_free(wire_asm *a)
{
    free(a->buf);
    a->buf = NULL;
    a->len = a->cap = 0;
    a->active = 0;
}

void wire_asm_reset(wire_asm *a)
{
    a->active = 0;
    a->len = 0;
}

static int asm_append(wire_asm *a, const wire_frame *f, char *err, size_t errlen)
{
    if (f->len > a->max - a->len) {
        err_format(err, errlen, "message seq %u is over the limit of %zu bytes", f->seq, a->max);
        wire_asm_reset(a);
        return -1;
    }
    if (a->len + f->len > a->cap) {
        size_t cap = a->cap ? a->cap : 1u << 20;
        while (cap < a->len + f->len)
            cap *= 2;
        cap = cap < a->max ? cap : a->max;
        uint8_t *b = realloc(a->buf, cap);
        if (!b) {
            wire_asm_reset(a);
            return err_set(err, errlen, "out of memory assembling message seq %u", f->seq);
        }
        a->buf = b;
        a->cap = cap;
    }
    if (f->len)
        memcpy(a->buf + a->len, f->payload, f->len);
    a->len += f->len;
    return 0;
}

static void deliver(const wire_asm *a, const wire_frame *f, wire_msg *m, const uint8_t *data,
                    size_t len)
{
    m->type = f->type;
    m->cmd = f->cmd;
    m->seq = f->seq;
    m->data = data;
    m->len = len;
    (void)a;
}

int wire_asm_add(wire_asm *a, const wire_frame *f, wire_msg *m, char *err, size_t errlen)
{
    if (f->frag == 0) {
        wire_asm_reset(a);
        if (!(f->flags & WIRE_MORE)) { /* the common case: one frame, no copy */
            if (f->len > a->max)
                return err_set(err, errlen, "message seq %u is over the limit of %zu bytes", f->seq,
                               a->max);
            deliver(a, f, m, f->payload, f->len);
            return 1;
        }
        a->active = 1;
        a->type = f->type;
        a->cmd = f->cmd;
        a->seq = f->seq;
        a->next = 1;
        return asm_append(a, f, err, errlen) < 0 ? -1 : 0;
    }
    if (!a->active || f->frag != a->next || f->type != a->type || f->cmd != a->cmd ||
        f->seq != a->seq) {
        if (a->active)
            err_format(err, errlen, "fragment %u of seq %u out of order (expected fragment %u of "
                                    "seq %u)", f->frag, f->seq, a->next, a->seq);
        else
            err_format(err, errlen, "fragment %u of seq %u without its first fragment", f->frag,
                       f->seq);
        wire_asm_reset(a);
        return -1;
    }
    if (asm_append(a, f, err, errlen) < 0)
        return -1;
    a->next++;
    if (f->flags & WIRE_MORE)
        return 0;
    a->active = 0;
    deliver(a, f, m, a->buf, a->len);
    return 1;
}

/* --- building payloads ------------------------------------------------------------------------ */

void wire_buf_free(wire_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

uint8_t *wire_put_space(wire_buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return NULL;
        }
        b->data = d;
        b->cap = cap;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void wire_put_u8(wire_buf *b, uint8_t v)
{
    uint8_t *p = wire_put_space(b, 1);
    if (p)
        *p = v;
}

void wire_put_u16(wire_buf *b, uint16_t v)
{
    uint8_t *p = wire_put_space(b, 2);
    if (p)
        st16(p, v);
}

void wire_put_u32(wire_buf *b, uint32_t v)
{
    uint8_t *p = wire_put_space(b, 4);
    if (p)
        st32(p, v);
}

void wire_put_u64(wire_buf *b, uint64_t v)
{
    uint8_t *p = wire_put_space(b, 8);
    if (p) {
        st32(p, (uint32_t)v);
        st32(p + 4, (uint32_t)(v >> 32));
    }
}

void wire_put_i32(wire_buf *b, int32_t v) { wire_put_u32(b, (uint32_t)v); }

void wire_put_f32(wire_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    wire_put_u32(b, u);
}

void wire_put_f64(wire_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    wire_put_u64(b, u);
}

void wire_put_bytes(wire_buf *b, const void *data, size_t n)
{
    uint8_t *p = wire_put_space(b, n);
    if (p && n)
        memcpy(p, data, n);
}

void wire_put_str(wire_buf *b, const char *s)
{
    size_t n = strlen(s);
    n = n < WIRE_MAX_STRING ? n : WIRE_MAX_STRING;
    wire_put_u16(b, (uint16_t)n);
    wire_put_bytes(b, s, n);
}

/* n elements of `size` bytes, each stored little-endian. */
static void put_array(wire_buf *b, const void *v, size_t n, size_t size)
{
    if (n > SIZE_MAX / size) {
        b->oom = 1;
        return;
    }
    uint8_t *p = wire_put_space(b, n * size);
    if (!p || !n)
        return;
    if (WIRE_LE_HOST) {
        memcpy(p, v, n * size);
        return;
    }
    const uint8_t *s = v;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < size; k++)
            p[i * size + k] = s[i * size + size - 1 - k];
}

void wire_put_i32s(wire_buf *b, const int32_t *v, size_t n) { put_array(b, v, n, 4); }
void wire_put_f32s(wire_buf *b, const float *v, size_t n) { put_array(b, v, n, 4); }
void wire_put_u64s(wire_buf *b, const uint64_t *v, size_t n) { put_array(b, v, n, 8); }

/* ceil(n / 8), without n + 7 (which wraps for n near SIZE_MAX). */
static size_t bit_bytes(size_t n) { return n / 8 + (n % 8 != 0); }

void wire_put_bits(wire_buf *b, const uint8_t *v, size_t n)
{
    uint8_t *p = wire_put_space(b, bit_bytes(n));
    if (!p)
        return;
    memset(p, 0, bit_bytes(n));
    for (size_t i = 0; i < n; i++)
        if (v[i])
            p[i / 8] |= (uint8_t)(1u << (i % 8));
}

int wire_put_message(wire_buf *out, uint8_t type, uint16_t cmd, uint32_t seq,
                     const void *payload, size_t len, uint32_t max_payload)
{
    if (!max_payload || max_payload > WIRE_MAX_PAYLOAD)
        max_payload = WIRE_MAX_PAYLOAD;
    if (len > WIRE_MAX_MESSAGE)
        return -1;
    size_t nfrag = len ? (len + max_payload - 1) / max_payload : 1;
    uint8_t *dst = wire_put_space(out, len + nfrag * wire_frame_size(0));
    if (!dst)
        return -1;
    const uint8_t *src = payload;
    for (size_t k = 0; k < nfrag; k++) {
        size_t off = k * max_payload, n = len - off < max_payload ? len - off : max_payload;
        wire_write_frame(dst, type, k + 1 < nfrag ? WIRE_MORE : 0, cmd, (uint16_t)k, seq,
                         src ? src + off : NULL, (uint32_t)n); /* an empty message: no payload */
        dst += wire_frame_size(n);
    }
    return 0;
}

/* --- reading payloads ------------------------------------------------------------------------- */

void wire_reader_init(wire_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->len = data ? len : 0;
    r->pos = 0;
    r->bad = 0;
}

int wire_done(const wire_reader *r) { return !r->bad && r->pos == r->len ? 0 : -1; }

const uint8_t *wire_get_bytes(wire_reader *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

int wire_get_u8(wire_reader *r, uint8_t *v)
{
    const uint8_t *p = wire_get_bytes(r, 1);
    if (!p)
        return -1;
    *v = *p;
    return 0;
}

int wire_get_u16(wire_reader *r, uint16_t *v)
{
    const uint8_t *p = wire_get_bytes(r, 2);
    if (!p)
        return -1;
    *v = ld16(p);
    return 0;
}

int wire_get_u32(wire_reader *r, uint32_t *v)
{
    const uint8_t *p = wire_get_bytes(r, 4);
    if (!p)
        return -1;
    *v = ld32(p);
    return 0;
}

int wire_get_u64(wire_reader *r, uint64_t *v)
{
    const uint8_t *p = wire_get_bytes(r, 8);
    if (!p)
        return -1;
    *v = (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
    return 0;
}

int wire_get_i32(wire_reader *r, int32_t *v)
{
    uint32_t u;
    if (wire_get_u32(r, &u) < 0)
        return -1;
    *v = (int32_t)u;
    return 0;
}

int wire_get_f32(wire_reader *r, float *v)
{
    uint32_t u;
    if (wire_get_u32(r, &u) < 0)
        return -1;
    memcpy(v, &u, 4);
    return 0;
}

int wire_get_f64(wire_reader *r, double *v)
{
    uint64_t u;
    if (wire_get_u64(r, &u) < 0)
        return -1;
    memcpy(v, &u, 8);
    return 0;
}

int wire_get_str(wire_reader *r, char *out, size_t cap)
{
    uint16_t n;
    if (wire_get_u16(r, &n) < 0)
        return -1;
    if (n > WIRE_MAX_STRING || (size_t)n + 1 > cap) {
        r->bad = 1;
        return -1;
    }
    const uint8_t *p = wire_get_bytes(r, n);
    if (!p || memchr(p, 0, n)) {
        r->bad = 1;
        return -1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int get_array(wire_reader *r, void *v, size_t n, size_t size)
{
    if (n > SIZE_MAX / size) {
        r->bad = 1;
        return -1;
    }
    const uint8_t *p = wire_get_bytes(r, n * size);
    if (!p)
        return -1;
    if (!n)
        return 0;
    if (WIRE_LE_HOST) {
        memcpy(v, p, n * size);
        return 0;
    }
    uint8_t *d = v;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < size; k++)
            d[i * size + k] = p[i * size + size - 1 - k];
    return 0;
}

int wire_get_i32s(wire_reader *r, int32_t *v, size_t n) { return get_array(r, v, n, 4); }
int wire_get_f32s(wire_reader *r, float *v, size_t n) { return get_array(r, v, n, 4); }
int wire_get_u64s(wire_reader *r, uint64_t *v, size_t n) { return get_array(r, v, n, 8); }

int wire_get_bits(wire_reader *r, uint8_t *v, size_t n)
{
    const uint8_t *p = wire_get_bytes(r, bit_bytes(n));
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)(p[i / 8] >> (i % 8) & 1);
    return 0;
}

/* --- errors ----------------------------------------------------------------------------------- */

void wire_put_error(wire_buf *b, uint32_t code, const char *msg)
{
    wire_put_u32(b, code);
    wire_put_str(b, msg);
}

void wire_get_error(const void *data, size_t len, uint32_t *code, char *msg, size_t msglen)
{
    wire_reader r;
    wire_reader_init(&r, data, len);
    char text[WIRE_MAX_STRING + 1];
    if (wire_get_u32(&r, code) < 0 || wire_get_str(&r, text, sizeof text) < 0 ||
        wire_done(&r) < 0) {
        *code = 0;
        snprintf(msg, msglen, "an error frame that does not decode (%zu bytes)", len);
        return;
    }
    snprintf(msg, msglen, "%s", text);
}
