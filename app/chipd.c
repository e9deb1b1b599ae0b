/* mpcl-chipd: a board emulator. It serves the wire protocol (docs/protocol.md) from the
 * built-in simulated chip, opened through chip.h as "sim:id=N,...", so a board emulated
 * with id N and lab.chip.open("sim", {id = N}) hold the same devices and, given the same
 * commands, give the same answers bit for bit.
 *
 *   mpcl-chipd [--listen 127.0.0.1:7070 | --pty] [--id N] [--sim "noise=0.015,..."]
 *              [--stuck F] [--token SECRET] [--any-address]
 *              [--idle-timeout S] [--frame-timeout S] [--max-clients N]
 *              [--drop P] [--corrupt P] [--delay MS] [--disconnect-every N] [--fault-seed N]
 *
 * TCP (loopback unless --any-address), or a pseudoterminal whose path it prints. Over TCP
 * one client at a time holds the board (the one whose HELLO found it free); any other gets
 * E_BUSY naming the holder and since when, at once, and is closed. One poll() loop serves
 * the listening socket and every connection and never blocks on a client: a connection on
 * which nothing moved for --idle-timeout S (30) is closed, the holder too (the board is free
 * again), and so is one whose frame is not complete --frame-timeout S (10) after its first
 * byte; at most --max-clients N (16) connections are open, the oldest that does not hold the
 * board making room for a new one; each drop is one line on stderr. The chip's state and the
 * reply cache belong to the board, not to a connection: a client that reconnects with its
 * session id finds both (and takes the board over from its own stale connection). Faults,
 * for tests: --drop P loses a frame with probability P (either direction), --corrupt P flips
 * one bit of an outgoing frame, or of an incoming read, with probability P, --delay MS waits
 * before each reply (the whole board waits, as a slow board would), --disconnect-every N
 * closes the connection when it has carried N frames (a command that is the Nth frame runs,
 * and its reply is cached but not sent). A pty has no connections: the handshake is
 * forgotten when nobody holds its terminal side open, a frame stalled past --frame-timeout
 * is dropped, and a "disconnection" flushes the bytes in flight and makes HELLO due again.
 * --fault-seed makes the faults repeatable. It prints one line, "mpcl-chipd: listening on
 * ADDRESS (chip sim id N)", and leaves cleanly (status 0) on SIGTERM or SIGINT. The token may
 * also come from the environment variable MPCL_CHIPD_TOKEN (out of sight of ps). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "chip.h"
#include "error.h"
#include "wire.h"
#include "clock.h"

#define CACHE_N 16                  /* replies kept */
#define CACHE_BYTES (64u << 20)     /* and at most this many bytes of them */
#define READ_CHUNK (256u << 10)
#define WRITE_TIMEOUT_MS 10000      /* a pty nobody reads for this long is reset */
/* Before its handshake a TCP connection may only say HELLO (at most 1,038 bytes): its frames
 * and messages are held to these, so that a crowd of strangers costs little memory. */
#define PENDING_MAX_PAYLOAD 4096u
#define PENDING_MAX_MESSAGE (64u << 10)
#define PENDING_READ (16u << 10)
#define QUEUE_SOFT (64u << 10) /* no more of a client's frames handled while this waits to go */
#define BIG_BUFFER (1u << 20)  /* buffers above this are freed after use */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* --- the board ------------------------------------------------------------------------------ */

typedef struct cached {
    int used;
    uint64_t session;
    uint32_t seq, req_crc;
    uint16_t cmd;
    uint8_t type;
    uint8_t *data;
    size_t len;
} cached;

typedef struct faults {
    double drop, corrupt;
    int delay_ms;
    long long disconnect_every;
    uint64_t rng;
} faults;

/* The crowd policy's limits (docs/protocol.md, "Several clients"). */
typedef struct limits {
    double idle_s;   /* a connection on which nothing moved for this long is closed */
    double frame_s;  /* a frame must be complete this long after its first byte */
    int max_clients; /* TCP connections open at once */
} limits;

typedef struct conn {
    int fd, pty;
    wire_parser in;
    wire_asm as;
    wire_buf out;   /* a message being framed */
    wire_buf q;     /* frames waiting to be sent, from q_off */
    size_t q_off;
    int hello;
    long long frames; /* carried on this connection, for --disconnect-every */
    int closing;  /* no more frames handled: closed once q is sent */
    int idle;     /* a pty nobody has open */
    char peer[80];  /* "HOST:PORT" of a TCP client */
    double since;   /* accepted (monotonic seconds) */
    double active;  /* last frame received or byte sent */
    double partial; /* the first byte of a frame still incomplete arrived (0: none) */
    uint64_t seen_frames; /* frames (good and damaged) at the last track() */
} conn;

typedef struct board {
    chip c;
    uint64_t boot;
    char token[256];
    faults f;
    limits lim;
    cached cache[CACHE_N];
    int cache_next;
    double t0;
    conn *holder;      /* the TCP connection that holds the board (NULL: free) */
    double held_since; /* monotonic */
    time_t held_wall;
    uint64_t session, session_executed; /* of the last handshake: outlive connections */
    int clients;       /* TCP connections open */
    /* counters (STATUS) */
    uint64_t frames_in, frames_out, bad_frames, executed, cache_hits, errors, dropped,
        corrupted, disconnects, connections, busy, idle_drops, stall_drops, evictions;
} board;

/* splitmix64: the fault injector's own generator (seeded by --fault-seed). */
static uint64_t fault_next(faults *f)
{
    uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* True with probability p. */
static int chance(faults *f, double p)
{
    return p > 0 && (double)(fault_next(f) >> 11) * 0x1p-53 < p;
}

static void flip_bit(faults *f, uint8_t *p, size_t n)
{
    if (n) {
        uint64_t k = fault_next(f) % (n * 8);
        p[k / 8] ^= (uint8_t)(1u << (k % 8));
    }
}

/* --- the reply cache ------------------------------------------------------------------------ */

static cached *cache_find(board *b, uint64_t session, uint32_t seq)
{
    for (int i = 0; i < CACHE_N; i++)
        if (b->cache[i].used && b->cache[i].session == session && b->cache[i].seq == seq)
            return &b->cache[i];
    return NULL;
}

static void cache_drop(cached *e)
{
    free(e->data);
    memset(e, 0, sizeof *e);
}

/* Keep a reply (a copy); the oldest go first, by count and by bytes. */
static void cache_put(board *b, uint64_t session, uint32_t seq, uint16_t cmd, uint32_t req_crc,
                      uint8_t type, const wire_buf *reply)
{
    cached *e = &b->cache[b->cache_next];
    b->cache_next = (b->cache_next + 1) % CACHE_N;
    cache_drop(e);
    size_t total = reply->len;
    for (int i = 0; i < CACHE_N; i++)
        total += b->cache[i].len;
    for (int k = 1; k < CACHE_N && total > CACHE_BYTES; k++) {
        cached *old = &b->cache[(b->cache_next + k - 1) % CACHE_N];
        total -= old->len;
        cache_drop(old);
    }
    e->data = malloc(reply->len ? reply->len : 1);
    if (!e->data)
        return; /* not kept: a retry would run it again, as without a cache */
    if (reply->len)
        memcpy(e->data, reply->data, reply->len);
    *e = (cached){1, session, seq, req_crc, cmd, type, e->data, reply->len};
}

/* --- sending -------------------------------------------------------------------------------- */

static int write_all(conn *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = c->pty ? write(c->fd, p, n) : send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        struct pollfd pf = {c->fd, POLLOUT, 0};
        int rc = poll(&pf, 1, WRITE_TIMEOUT_MS);
        if (rc == 0 || (rc < 0 && errno != EINTR) || stop)
            return -1;
    }
    return 0;
}

/* Count a frame carried; the connection closes when it has carried --disconnect-every. */
static void count_frame(board *b, conn *c)
{
    c->frames++;
    if (b->f.disconnect_every > 0 && c->frames >= b->f.disconnect_every && !c->closing) {
        c->closing = 1;
        b->disconnects++;
    }
}

static size_t queued(const conn *c) { return c->q.len - c->q_off; }

/* Free a buffer that grew past BIG_BUFFER (a big reply's), so that an idle connection holds
 * little memory. */
static void shrink(wire_buf *w)
{
    if (w->cap > BIG_BUFFER && w->len == 0)
        wire_buf_free(w);
}

/* Queue frames for the client. A pty's are written at once (one line, nobody else to serve);
 * a TCP client's go out as it takes them (flush_some), so that it never blocks the board. */
static void enqueue(conn *c, const uint8_t *fr, size_t n)
{
    if (!queued(c))
        c->q.len = c->q_off = 0;
    wire_put_bytes(&c->q, fr, n);
    if (c->q.oom) {
        fprintf(stderr, "mpcl-chipd: %s: out of memory for a reply: connection closed\n",
                c->pty ? "pty" : c->peer);
        wire_buf_free(&c->q);
        c->q_off = 0;
        c->closing = 1;
        return;
    }
    if (c->pty) {
        if (write_all(c, c->q.data + c->q_off, queued(c)) < 0)
            c->closing = 1;
        c->q.len = c->q_off = 0;
        shrink(&c->q);
    }
}

/* A message as frames, each subject to the faults. */
static void send_message(board *b, conn *c, uint8_t type, uint16_t cmd, uint32_t seq,
                         const uint8_t *payload, size_t len)
{
    if (c->closing)
        return;
    if (b->f.delay_ms > 0) {
        struct timespec t = {b->f.delay_ms / 1000, (long)(b->f.delay_ms % 1000) * 1000000L};
        nanosleep(&t, NULL);
    }
    c->out.len = 0;
    if (wire_put_message(&c->out, type, cmd, seq, payload, len, 0) < 0) {
        fprintf(stderr, "mpcl-chipd: a %zu-byte reply does not fit in a message\n", len);
        return;
    }
    size_t off = 0;
    while (off < c->out.len && !c->closing) {
        uint8_t *fr = c->out.data + off;
        size_t n = wire_frame_size((size_t)fr[16] | (size_t)fr[17] << 8 |
                                   (size_t)fr[18] << 16 | (size_t)fr[19] << 24);
        off += n;
        b->frames_out++;
        count_frame(b, c);
        if (chance(&b->f, b->f.drop)) {
            b->dropped++;
            continue;
        }
        if (chance(&b->f, b->f.corrupt)) {
            flip_bit(&b->f, fr, n);
            b->corrupted++;
        }
        enqueue(c, fr, n);
    }
    c->out.len = 0;
    shrink(&c->out);
}

static void send_error(board *b, conn *c, uint16_t cmd, uint32_t seq, uint32_t code,
                       const char *msg)
{
    wire_buf e = {0};
    wire_put_error(&e, code, msg);
    if (!e.oom)
        send_message(b, c, WIRE_ERROR, cmd, seq, e.data, e.len);
    wire_buf_free(&e);
    b->errors++;
}

/* --- commands ------------------------------------------------------------------------------- */

/* A chip.c message without its "chip URI: " and operation prefixes, which the client adds. */
static const char *strip_prefix(const board *b, const char *msg)
{
    size_t n = strlen(b->c.uri);
    if (!strncmp(msg, "chip ", 5) && !strncmp(msg + 5, b->c.uri, n) &&
        !strncmp(msg + 5 + n, ": ", 2))
        msg += 7 + n;
    static const char *const ops[] = {"pulse: ", "program: ", "read: ", "place: ", "vmm: ",
                                      "peek: ", "get: ", "set: ", NULL};
    for (int i = 0; ops[i]; i++)
        if (!strncmp(msg, ops[i], strlen(ops[i])))
            return msg + strlen(ops[i]);
    return msg;
}

/* The result of a command: a reply payload, or an error code and message. */
typedef struct result {
    wire_buf reply;
    uint32_t code; /* 0: a reply */
    char msg[512];
} result;

static int fail(result *r, uint32_t code, const char *fmt, const char *arg)
{
    r->code = code;
    snprintf(r->msg, sizeof r->msg, fmt, arg);
    return -1;
}

static int malformed(result *r, const char *what)
{
    return fail(r, WIRE_E_MALFORMED, "%s: the request's payload does not decode", what);
}

static int chip_failed(result *r, const board *b, const char *err)
{
    return fail(r, WIRE_E_CHIP, "%s", strip_prefix(b, err));
}

static void get_rect(wire_reader *rd, chip_rect *r)
{
    wire_get_i32(rd, &r->row0);
    wire_get_i32(rd, &r->col0);
    wire_get_i32(rd, &r->rows);
    wire_get_i32(rd, &r->cols);
}

/* A rectangle inside the array (checked before its size is used to allocate). */
static int rect_ok(const board *b, chip_rect r, result *res)
{
    if (r.rows < 1 || r.cols < 1 || r.row0 < 0 || r.col0 < 0 || r.rows > b->c.info.rows ||
        r.cols > b->c.info.cols || r.row0 > b->c.info.rows - r.rows ||
        r.col0 > b->c.info.cols - r.cols) {
        char m[160];
        snprintf(m, sizeof m, "block at (%d, %d) of %d x %d cells leaves the %d x %d array",
                 r.row0, r.col0, r.rows, r.cols, b->c.info.rows, b->c.info.cols);
        fail(res, WIRE_E_CHIP, "%s", m);
        return 0;
    }
    return 1;
}

/* *out = a * b, or -1 when that overflows a size_t (never a wrapped size to allocate). */
static int size_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* a * b * c, checked as size_mul. */
static int size_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    return size_mul(a, b, &ab) < 0 ? -1 : size_mul(ab, c, out);
}

/* A reply of about `bytes` bytes fits in a message (64 bytes for its other fields). */
static int size_ok(size_t bytes, result *res)
{
    if (bytes > WIRE_MAX_MESSAGE - 64) {
        fail(res, WIRE_E_TOO_LARGE, "%s", "the block's reply would be over the message limit "
                                          "(send it in bands of rows)");
        return 0;
    }
    return 1;
}

static int do_pulse(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    uint8_t array, kind;
    int32_t row, col;
    float v, w;
    wire_get_u8(rd, &array);
    wire_get_u8(rd, &kind);
    wire_get_i32(rd, &row);
    wire_get_i32(rd, &col);
    wire_get_f32(rd, &v);
    wire_get_f32(rd, &w);
    if (wire_done(rd) < 0)
        return malformed(res, "pulse");
    if (chip_pulse(&b->c, array, row, col, (chip_pulse_kind)kind, v, w, err, errlen) < 0)
        return chip_failed(res, b, err);
    return 0;
}

static int do_program(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    uint8_t array, want_failed;
    chip_rect r;
    chip_verify v;
    wire_get_u8(rd, &array);
    get_rect(rd, &r);
    wire_get_f32(rd, &v.tol);
    wire_get_i32(rd, &v.max_pulses);
    wire_get_u8(rd, &want_failed);
    if (rd->bad)
        return malformed(res, "program");
    if (!rect_ok(b, r, res) || !size_ok((size_t)r.rows * r.cols / 8, res))
        return -1;
    size_t n = (size_t)r.rows * r.cols; /* both at most the array's (rect_ok): no overflow */
    if (wire_left(rd) != n / 8 + (n % 8 != 0)) /* the targets are there before we allocate */
        return malformed(res, "program");
    uint8_t *target = malloc(n), *failed = want_failed ? malloc(n) : NULL;
    int rc = 0;
    if (!target || (want_failed && !failed))
        rc = fail(res, WIRE_E_CHIP, "%s", "out of memory");
    else if (wire_get_bits(rd, target, n) < 0 || wire_done(rd) < 0)
        rc = malformed(res, "program");
    chip_report rep;
    if (rc == 0 && chip_program(&b->c, array, r, target, &v, &rep, failed, err, errlen) < 0)
        rc = chip_failed(res, b, err);
    if (rc == 0) {
        wire_put_u64(&res->reply, (uint64_t)rep.cells);
        wire_put_u64(&res->reply, (uint64_t)rep.pulses);
        wire_put_u64(&res->reply, (uint64_t)rep.failed);
        if (failed)
            wire_put_bits(&res->reply, failed, n);
    }
    free(target);
    free(failed);
    return rc;
}

/* The reply of a read: the n floats of g (freed here), or the chip's error. */
static int reply_floats(result *res, board *b, int rc, float *g, size_t n, char *err)
{
    if (rc < 0)
        rc = chip_failed(res, b, err);
    else
        wire_put_f32s(&res->reply, g, n);
    free(g);
    return rc;
}

static int do_read(board *b, int peek, wire_reader *rd, result *res, char *err, size_t errlen)
{
    uint8_t array;
    chip_rect r;
    wire_get_u8(rd, &array);
    get_rect(rd, &r);
    if (wire_done(rd) < 0)
        return malformed(res, peek ? "peek" : "read");
    if (!rect_ok(b, r, res) || !size_ok((size_t)r.rows * r.cols * sizeof(float), res))
        return -1;
    size_t n = (size_t)r.rows * r.cols;
    float *g = malloc(n * sizeof *g);
    if (!g)
        return fail(res, WIRE_E_CHIP, "%s", "out of memory");
    int rc = peek ? chip_peek(&b->c, array, r, g, err, errlen)
                  : chip_read(&b->c, array, r, g, err, errlen);
    return reply_floats(res, b, rc, g, n, err);
}

/* Layer l's cells read through groups of p rows (chip.h's chip_read_layer). */
static int do_read_layer(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    uint8_t array;
    uint32_t layer, p;
    wire_get_u8(rd, &array);
    wire_get_u32(rd, &layer);
    wire_get_u32(rd, &p);
    if (wire_done(rd) < 0)
        return malformed(res, "read_layer");
    if (layer >= (uint32_t)b->c.nlayers) {
        err_format(err, errlen, "layer %llu is not placed (%d placed)",
                   (unsigned long long)layer + 1, b->c.nlayers);
        return fail(res, WIRE_E_CHIP, "%s", err);
    }
    chip_rect r = b->c.at[layer];
    if (p < 1 || p > (uint32_t)r.rows) { /* as the VMMs say it */
        err_format(err, errlen, "parallelism must be 1-%d for layer %u, got %u", r.rows,
                   layer + 1, p);
        return fail(res, WIRE_E_CHIP, "%s", err);
    }
    size_t n = (size_t)r.rows * r.cols; /* a placed layer: inside the array */
    if (!size_ok(n * sizeof(float), res))
        return -1;
    float *g = malloc(n * sizeof *g);
    if (!g)
        return fail(res, WIRE_E_CHIP, "%s", "out of memory");
    int rc = chip_read_layer(&b->c, array, (int)layer, (int)p, g, err, errlen);
    return reply_floats(res, b, rc, g, n, err);
}

static int do_place(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    uint32_t n;
    chip_rect at[MPCL_MAX_LAYERS];
    if (wire_get_u32(rd, &n) < 0 || n < 1 || n > MPCL_MAX_LAYERS)
        return malformed(res, "place");
    for (uint32_t l = 0; l < n; l++)
        get_rect(rd, &at[l]);
    if (wire_done(rd) < 0)
        return malformed(res, "place");
    if (chip_place(&b->c, (int)n, at, err, errlen) < 0)
        return chip_failed(res, b, err);
    return 0;
}

/* y as int16 when every value fits (halves the bytes of a typical VMM), else int32. */
static void put_y(wire_buf *w, const int32_t *y, size_t n)
{
    int narrow = 1;
    for (size_t k = 0; k < n && narrow; k++)
        narrow = y[k] >= INT16_MIN && y[k] <= INT16_MAX;
    wire_put_u8(w, narrow ? 2 : 4);
    if (!narrow) {
        wire_put_i32s(w, y, n);
        return;
    }
    uint8_t *p = wire_put_space(w, 2 * n);
    for (size_t k = 0; p && k < n; k++) {
        p[2 * k] = (uint8_t)y[k];
        p[2 * k + 1] = (uint8_t)((uint32_t)y[k] >> 8);
    }
}

/* The common head of the VMM commands: layer, p, B, a flag. Checks the layer, p, the input
 * bytes that must follow (in_bytes_per_word 0: a vector is the layer's rows as bytes; else
 * that many bytes a 64-row word) and the reply's size, all in checked arithmetic (the
 * fields are the peer's: INT32_MAX anywhere must be refused, not overflow). */
static int vmm_head(board *b, wire_reader *rd, const char *what, int32_t *layer, int32_t *p,
                    int32_t *B, uint8_t *flag, int in_bytes_per_word, result *res)
{
    wire_get_i32(rd, layer);
    wire_get_i32(rd, p);
    wire_get_i32(rd, B);
    wire_get_u8(rd, flag);
    if (rd->bad || *B < 0)
        return malformed(res, what);
    char m[160];
    if (*layer < 0 || *layer >= b->c.nlayers) {
        snprintf(m, sizeof m, "layer %lld is not placed (%d placed)", (long long)*layer + 1,
                 b->c.nlayers);
        return fail(res, WIRE_E_CHIP, "%s", m);
    }
    size_t rows = (size_t)b->c.at[*layer].rows, cols = (size_t)b->c.at[*layer].cols;
    if (*p < 1 || (size_t)*p > rows) {
        snprintf(m, sizeof m, "parallelism must be 1-%zu for layer %d, got %d", rows,
                 *layer + 1, *p);
        return fail(res, WIRE_E_CHIP, "%s", m);
    }
    size_t per_in = in_bytes_per_word ? (size_t)in_bytes_per_word * (rows / 64 + (rows % 64 != 0))
                                      : rows, in;
    if (size_mul((size_t)*B, per_in, &in) < 0 || wire_left(rd) != in)
        return malformed(res, what);
    size_t G = *flag && !in_bytes_per_word ? rows / (size_t)*p + (rows % (size_t)*p != 0) : 0,
           out;
    if (size_mul3((size_t)*B, 4 * cols, G + 1, &out) < 0 || out > WIRE_MAX_MESSAGE - 16) {
        snprintf(m, sizeof m, "%d vectors: the reply would be over the message limit", *B);
        return fail(res, WIRE_E_TOO_LARGE, "%s", m);
    }
    return 0;
}

static int do_vmm(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    int32_t layer, p, B;
    uint8_t want_groups;
    if (vmm_head(b, rd, "vmm", &layer, &p, &B, &want_groups, 0, res) < 0)
        return -1;
    size_t rows = (size_t)b->c.at[layer].rows, cols = (size_t)b->c.at[layer].cols;
    size_t G = (rows + (size_t)p - 1) / (size_t)p;
    /* vmm_head bounded B x rows (the payload) and B x cols x (G + 1) x 4 (the reply) by the
     * message limit: the products below cannot overflow, nor allocate more than 16 MiB */
    const int8_t *x = (const int8_t *)wire_get_bytes(rd, (size_t)B * rows);
    int32_t *y = malloc(sizeof *y * ((size_t)B * cols + 1));
    int32_t *groups = want_groups ? malloc(sizeof *groups * ((size_t)B * G * cols + 1)) : NULL;
    int rc = 0;
    if (!y || (want_groups && !groups))
        rc = fail(res, WIRE_E_CHIP, "%s", "out of memory");
    else if (chip_vmm(&b->c, layer, p, x, B, y, groups, err, errlen) < 0)
        rc = chip_failed(res, b, err);
    if (rc == 0) {
        put_y(&res->reply, y, (size_t)B * cols);
        if (groups)
            wire_put_i32s(&res->reply, groups, (size_t)B * G * cols);
    }
    free(y);
    free(groups);
    return rc;
}

static int do_vmm_bits(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    int32_t layer, p, B;
    uint8_t pm1;
    if (vmm_head(b, rd, "vmm_bits", &layer, &p, &B, &pm1, 8, res) < 0)
        return -1;
    size_t cols = (size_t)b->c.at[layer].cols;
    int words = (b->c.at[layer].rows + 63) / 64; /* rows at most the array's */
    /* vmm_head bounded B x words x 8 (the payload) and B x cols x 4 by the message limit */
    uint64_t *bits = malloc(sizeof *bits * ((size_t)B * words + 1));
    int32_t *y = malloc(sizeof *y * ((size_t)B * cols + 1));
    int rc = 0;
    if (!bits || !y)
        rc = fail(res, WIRE_E_CHIP, "%s", "out of memory");
    else if (wire_get_u64s(rd, bits, (size_t)B * words) < 0)
        rc = malformed(res, "vmm_bits");
    else if (chip_vmm_bits(&b->c, layer, p, bits, words, B, pm1, y, err, errlen) < 0)
        rc = chip_failed(res, b, err);
    if (rc == 0)
        put_y(&res->reply, y, (size_t)B * cols);
    free(bits);
    free(y);
    return rc;
}

static int do_get(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    char key[128];
    double v;
    if (wire_get_str(rd, key, sizeof key) < 0 || wire_done(rd) < 0)
        return malformed(res, "get");
    if (chip_get(&b->c, key, &v, err, errlen) < 0)
        return chip_failed(res, b, err);
    wire_put_f64(&res->reply, v);
    return 0;
}

static int do_set(board *b, wire_reader *rd, result *res, char *err, size_t errlen)
{
    char key[128];
    double v;
    wire_get_str(rd, key, sizeof key);
    wire_get_f64(rd, &v);
    if (wire_done(rd) < 0)
        return malformed(res, "set");
    if (chip_set(&b->c, key, v, err, errlen) < 0)
        return chip_failed(res, b, err);
    return 0;
}

static void put_stat(wire_buf *w, const char *name, double v)
{
    wire_put_str(w, name);
    wire_put_f64(w, v);
}

static int do_status(board *b, conn *c, wire_reader *rd, result *res)
{
    if (wire_done(rd) < 0)
        return malformed(res, "status");
    wire_buf *w = &res->reply;
    wire_put_u32(w, 18);
    put_stat(w, "frames_in", (double)b->frames_in);
    put_stat(w, "frames_out", (double)b->frames_out);
    put_stat(w, "bad_frames", (double)b->bad_frames);
    put_stat(w, "executed", (double)b->executed);
    put_stat(w, "session_executed", (double)b->session_executed);
    put_stat(w, "cache_hits", (double)b->cache_hits);
    put_stat(w, "errors", (double)b->errors);
    put_stat(w, "dropped", (double)b->dropped);
    put_stat(w, "corrupted", (double)b->corrupted);
    put_stat(w, "disconnects", (double)b->disconnects);
    put_stat(w, "connections", (double)b->connections);
    put_stat(w, "garbage_bytes", (double)c->in.garbage_bytes);
    put_stat(w, "uptime_s", clock_seconds() - b->t0);
    put_stat(w, "clients", (double)b->clients);
    put_stat(w, "busy", (double)b->busy);
    put_stat(w, "idle_drops", (double)b->idle_drops);
    put_stat(w, "stall_drops", (double)b->stall_drops);
    put_stat(w, "evictions", (double)b->evictions);
    return 0;
}

/* Run one command (not HELLO); res gets the reply or the error. */
static void execute(board *b, conn *c, const wire_msg *m, result *res)
{
    wire_reader rd;
    wire_reader_init(&rd, m->data, m->len);
    char err[512];
    switch (m->cmd) {
    case WIRE_PULSE: do_pulse(b, &rd, res, err, sizeof err); break;
    case WIRE_PROGRAM: do_program(b, &rd, res, err, sizeof err); break;
    case WIRE_READ: do_read(b, 0, &rd, res, err, sizeof err); break;
    case WIRE_PEEK: do_read(b, 1, &rd, res, err, sizeof err); break;
    case WIRE_READ_LAYER: do_read_layer(b, &rd, res, err, sizeof err); break;
    case WIRE_PLACE: do_place(b, &rd, res, err, sizeof err); break;
    case WIRE_VMM: do_vmm(b, &rd, res, err, sizeof err); break;
    case WIRE_VMM_BITS: do_vmm_bits(b, &rd, res, err, sizeof err); break;
    case WIRE_GET: do_get(b, &rd, res, err, sizeof err); break;
    case WIRE_SET: do_set(b, &rd, res, err, sizeof err); break;
    case WIRE_STATUS: do_status(b, c, &rd, res); break;
    default: {
        char n[16];
        snprintf(n, sizeof n, "%u", m->cmd);
        fail(res, WIRE_E_UNKNOWN, "unknown command id %s", n);
    }
    }
    if (res->reply.oom && !res->code)
        fail(res, WIRE_E_CHIP, "%s", "out of memory for the reply");
}

/* Equal strings, in time that does not depend on where they differ. */
static int same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static void conn_close(board *b, conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A handshake on a TCP connection claims the board: it is free, or held by this connection,
 * or by the same session on an older connection (a client that reconnected before the board
 * saw it leave), which is then closed. Else the client is told the board is busy, and who
 * holds it since when, and its connection is closed. 0 claimed, -1 busy. */
static int claim_board(board *b, conn *c, const wire_msg *m, uint64_t session)
{
    conn *h = b->holder;
    if (h && h != c && b->session == session) {
        conn_close(b, h, "replaced by %s (its session reconnected)", c->peer);
        h = NULL;
    }
    if (h && h != c) {
        char when[32], msg[300];
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&b->held_wall, &tm));
        snprintf(msg, sizeof msg, "busy: the board is serving %s since %s (%.0f s); it is "
                 "free when that client leaves or after %g s idle", h->peer, when,
                 clock_seconds() - b->held_since, b->lim.idle_s);
        send_error(b, c, m->cmd, m->seq, WIRE_E_BUSY, msg);
        fprintf(stderr, "mpcl-chipd: %s: refused, busy (the board is serving %s)\n", c->peer,
                h->peer);
        b->busy++;
        c->closing = 1;
        return -1;
    }
    if (h != c) {
        b->holder = c;
        b->held_since = clock_seconds();
        b->held_wall = time(NULL);
        c->in.max_payload = WIRE_MAX_PAYLOAD; /* the full limits, for the holder only */
        c->as.max = WIRE_MAX_MESSAGE;
    }
    return 0;
}

static void do_hello(board *b, conn *c, const wire_msg *m)
{
    wire_reader rd;
    wire_reader_init(&rd, m->data, m->len);
    uint32_t version;
    uint64_t session;
    char token[WIRE_MAX_STRING + 1];
    wire_get_u32(&rd, &version);
    wire_get_u64(&rd, &session);
    wire_get_str(&rd, token, sizeof token);
    if (wire_done(&rd) < 0 && !(rd.bad == 0 && version != WIRE_VERSION)) {
        send_error(b, c, m->cmd, m->seq, WIRE_E_MALFORMED, "hello: the payload does not decode");
        return;
    }
    if (version != WIRE_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg, "protocol version %u not spoken (this board speaks %d)",
                 version, WIRE_VERSION);
        send_error(b, c, m->cmd, m->seq, WIRE_E_VERSION, msg);
        return;
    }
    if (b->token[0] && !same_secret(token, b->token)) {
        c->hello = 0;
        if (b->holder == c) /* it no longer holds the board */
            b->holder = NULL;
        send_error(b, c, m->cmd, m->seq, WIRE_E_AUTH,
                   token[0] ? "the board refused the token" : "the board requires a token");
        return;
    }
    if (!c->pty && claim_board(b, c, m, session) < 0)
        return;
    if (b->session != session)
        b->session_executed = 0;
    c->hello = 1;
    b->session = session;
    const chip_info *in = &b->c.info;
    wire_buf w = {0};
    wire_put_u32(&w, WIRE_VERSION);
    wire_put_u32(&w, WIRE_MAX_PAYLOAD);
    wire_put_u32(&w, WIRE_MAX_MESSAGE);
    wire_put_u32(&w, CACHE_N);
    wire_put_u64(&w, b->boot);
    wire_put_str(&w, in->backend);
    wire_put_str(&w, in->name);
    wire_put_str(&w, in->firmware);
    wire_put_str(&w, in->id);
    wire_put_i32(&w, in->rows);
    wire_put_i32(&w, in->cols);
    wire_put_u32(&w, in->caps);
    if (!w.oom)
        send_message(b, c, WIRE_REPLY, m->cmd, m->seq, w.data, w.len);
    wire_buf_free(&w);
}

/* A complete command: the handshake, a repeat answered from the cache, or a new command
 * run once and its reply cached. */
static void on_command(board *b, conn *c, const wire_msg *m)
{
    if (m->cmd == WIRE_HELLO) {
        do_hello(b, c, m);
        return;
    }
    if (!c->hello) {
        send_error(b, c, m->cmd, m->seq, WIRE_E_NO_HELLO, "no handshake on this link (HELLO "
                                                          "first)");
        return;
    }
    uint32_t req_crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), m->data, (uInt)m->len);
    cached *e = cache_find(b, b->session, m->seq);
    if (e && (e->cmd != m->cmd || e->req_crc != req_crc)) {
        send_error(b, c, m->cmd, m->seq, WIRE_E_SEQ, "sequence number reused for a different "
                                                     "request");
        return;
    }
    if (e) { /* a retry: the command ran already */
        b->cache_hits++;
        send_message(b, c, e->type, e->cmd, e->seq, e->data, e->len);
        return;
    }
    result res = {0};
    execute(b, c, m, &res);
    b->executed++;
    b->session_executed++;
    uint8_t type = WIRE_REPLY;
    if (res.code) {
        res.reply.len = 0;
        res.reply.oom = 0;
        wire_put_error(&res.reply, res.code, res.msg);
        type = WIRE_ERROR;
        b->errors++;
    }
    cache_put(b, b->session, m->seq, m->cmd, req_crc, type, &res.reply);
    send_message(b, c, type, m->cmd, m->seq, res.reply.data, res.reply.len);
    wire_buf_free(&res.reply);
}

/* --- the link ------------------------------------------------------------------------------- */

/* One frame event from the parser. */
static void on_frame(board *b, conn *c, int ev, const wire_frame *f, const char *why)
{
    b->frames_in++;
    count_frame(b, c);
    if (chance(&b->f, b->f.drop)) {
        b->dropped++;
        return;
    }
    if (ev == WIRE_BAD_FRAME) {
        b->bad_frames++;
        if (f->type == WIRE_COMMAND) {
            uint32_t code = f->version != WIRE_VERSION ? WIRE_E_VERSION
                            : f->len > c->in.max_payload ? WIRE_E_TOO_LARGE
                                                        : WIRE_E_FRAME;
            send_error(b, c, f->cmd, f->seq, code, why);
        }
        return;
    }
    wire_msg m;
    char err[200];
    int rc = wire_asm_add(&c->as, f, &m, err, sizeof err);
    if (rc < 0 && f->type == WIRE_COMMAND)
        send_error(b, c, f->cmd, f->seq, WIRE_E_FRAME, err);
    if (rc == 1 && m.type == WIRE_COMMAND)
        on_command(b, c, &m);
}

/* Handle every complete frame (until QUEUE_SOFT bytes of replies wait: a client that sends
 * without reading is not answered into unbounded memory; the rest wait in the parser). Bytes
 * that were garbage and nothing after them (a request whose header was damaged: it has no
 * sequence number to answer) get an error frame with sequence number 0, so that the client
 * sends its request again now rather than at its timeout; a needless resend costs a repeat
 * answered from the cache. */
static void drain(board *b, conn *c)
{
    wire_frame f;
    char why[200];
    int ev, bad = 0;
    uint64_t garbage = c->in.garbage_bytes;
    while (!c->closing && queued(c) <= QUEUE_SOFT &&
           (ev = wire_next(&c->in, &f, why, sizeof why)) != WIRE_NEED_MORE) {
        on_frame(b, c, ev, &f, why);
        bad = ev == WIRE_BAD_FRAME;
        if (!bad)
            garbage = c->in.garbage_bytes;
    }
    if (!c->closing && !bad && c->in.garbage_bytes > garbage && c->in.end == c->in.start) {
        char msg[96];
        snprintf(msg, sizeof msg, "%llu bytes of garbage received",
                 (unsigned long long)(c->in.garbage_bytes - garbage));
        send_error(b, c, 0, 0, WIRE_E_FRAME, msg);
    }
}

/* After a drain: a frame (good or damaged) is activity; bytes left over are a frame still
 * incomplete, whose clock starts at the first read that left it so. */
static void track(conn *c, double now)
{
    uint64_t seen = c->in.frames + c->in.bad_frames;
    if (seen != c->seen_frames) {
        c->seen_frames = seen;
        c->active = now;
        c->partial = 0;
    }
    if (c->in.end == c->in.start)
        c->partial = 0;
    else if (!c->partial)
        c->partial = now;
}

/* A pty's frame that stalled past --frame-timeout: its bytes are dropped (as garbage), so
 * that the next request is read afresh; the line itself stays. */
static void pty_stall(board *b, conn *c, double now)
{
    if (!c->partial || now - c->partial <= b->lim.frame_s)
        return;
    size_t n = c->in.end - c->in.start;
    fprintf(stderr, "mpcl-chipd: pty: a frame begun %.1f s ago is still incomplete: its %zu "
                    "bytes dropped\n", now - c->partial, n);
    c->in.garbage_bytes += n;
    wire_parser_reset(&c->in);
    wire_asm_reset(&c->as);
    c->partial = 0;
    b->stall_drops++;
}

static void conn_reset(conn *c)
{
    wire_parser_reset(&c->in);
    wire_asm_reset(&c->as);
    c->hello = 0;
    c->frames = 0;
    c->closing = 0;
}

/* Serve the pty until the link is "cut" (--disconnect-every: 0, go on) or a signal arrives
 * (-1). */
static int serve(board *b, conn *c)
{
    while (!stop) {
        struct pollfd p = {c->fd, POLLIN, 0};
        int rc = poll(&p, 1, 200);
        if (rc < 0 && errno != EINTR)
            return -1;
        pty_stall(b, c, clock_seconds());
        if (rc <= 0)
            continue;
        uint8_t *dst = wire_reserve(&c->in, READ_CHUNK);
        if (!dst)
            return -1;
        ssize_t n = read(c->fd, dst, READ_CHUNK);
        if (c->pty && n < 0 && errno == EIO) {
            /* nobody holds the terminal side: the client left, the next one shakes hands */
            if (!c->idle)
                conn_reset(c);
            c->idle = 1;
            struct timespec t = {0, 20000000L};
            nanosleep(&t, NULL);
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
        if (n < 0)
            continue;
        c->idle = 0;
        if (chance(&b->f, b->f.corrupt)) {
            flip_bit(&b->f, dst, (size_t)n);
            b->corrupted++;
        }
        wire_commit(&c->in, (size_t)n);
        drain(b, c);
        track(c, clock_seconds());
        if (c->closing)
            return 0;
    }
    return -1;
}

/* --- set-up --------------------------------------------------------------------------------- */

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* A listening socket on HOST:PORT; its address as text in shown. */
static int listen_on(const char *spec, int any, char *shown, size_t len)
{
    char host[256], port[16];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host ||
        strlen(colon + 1) >= sizeof port || !colon[1]) {
        fprintf(stderr, "mpcl-chipd: --listen %s: give HOST:PORT\n", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {0}, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "mpcl-chipd: --listen %s: %s\n", spec, gai_strerror(rc));
        return -1;
    }
    if (!any && !is_loopback(ai->ai_addr)) {
        fprintf(stderr, "mpcl-chipd: --listen %s: not a loopback address; the board would be "
                        "reachable from the network (add --any-address to mean it)\n", spec);
        freeaddrinfo(ai);
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        fprintf(stderr, "mpcl-chipd: --listen %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[128], s[16];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, s, sizeof s,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(shown, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, s);
    else
        snprintf(shown, len, "%s", spec);
    return fd;
}

/* A pseudoterminal, its terminal side set to raw mode (no echo, no line editing). */
static int open_pty(char *path, size_t len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !ptsname(m)) {
        fprintf(stderr, "mpcl-chipd: cannot open a pseudoterminal: %s\n", strerror(errno));
        if (m >= 0)
            close(m);
        return -1;
    }
    snprintf(path, len, "%s", ptsname(m));
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;
    if (slave < 0 || tcgetattr(slave, &t) < 0) {
        fprintf(stderr, "mpcl-chipd: %s: %s\n", path, strerror(errno));
        close(m);
        if (slave >= 0)
            close(slave);
        return -1;
    }
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    close(slave);
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    return m;
}

static void conn_init(conn *c, int fd, int pty)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->pty = pty;
    wire_asm_init(&c->as, 0);
}

static void conn_free(conn *c)
{
    wire_parser_free(&c->in);
    wire_asm_free(&c->as);
    wire_buf_free(&c->out);
    wire_buf_free(&c->q);
    c->q_off = 0;
}

static void serve_pty(board *b, int fd)
{
    conn c;
    conn_init(&c, fd, 1);
    if (wire_parser_init(&c.in, 0) < 0) {
        fprintf(stderr, "mpcl-chipd: out of memory\n");
        return;
    }
    b->connections++;
    while (!stop && serve(b, &c) == 0) {
        /* "disconnect": the link is reset, bytes in flight are lost, HELLO is due again */
        tcflush(fd, TCIOFLUSH);
        conn_reset(&c);
    }
    conn_free(&c);
}

/* --- several clients over TCP --------------------------------------------------------------- */

/* The policy (docs/protocol.md, "Several clients"): one client at a time holds the board, the
 * one whose HELLO claimed it while it was free; every other connection is answered at once,
 * never made to wait behind it: its HELLO gets E_BUSY naming the holder, and it is closed.
 * One poll() loop serves the listening socket and every connection, and nothing in it blocks
 * on a client: replies are queued and sent as the client takes them. A connection on which
 * nothing moved for --idle-timeout is closed (the holder too: the board is free again), and
 * one whose frame is not complete --frame-timeout after its first byte. At most
 * --max-clients connections are open; over that, the oldest that has not shaken hands is
 * closed to make room, so idle sockets never lock a client out. */

/* "HOST:PORT" of the peer. */
static void peer_name(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[64], p[16];
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
    else
        snprintf(out, len, "client fd %d", fd);
}

/* Close a connection and free its slot; with fmt, one line on stderr saying why. */
static void conn_close(board *b, conn *c, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "mpcl-chipd: %s: ", c->peer);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    if (b->holder == c)
        b->holder = NULL;
    close(c->fd);
    conn_free(c);
    c->fd = -1;
    b->clients--;
}

/* A new connection in a free slot, with the small limits of one that has not shaken hands. */
static int conn_open(board *b, conn *c, int fd, double now)
{
    conn_init(c, fd, 0);
    wire_asm_init(&c->as, PENDING_MAX_MESSAGE);
    if (wire_parser_init(&c->in, PENDING_MAX_PAYLOAD) < 0) {
        c->fd = -1;
        return -1;
    }
    peer_name(fd, c->peer, sizeof c->peer);
    c->since = c->active = now;
    b->clients++;
    b->connections++;
    return 0;
}

/* A slot for a new connection: a free one, else the oldest connection's that does not hold
 * the board (closed); NULL when every slot is the holder's (max_clients 1: never allowed). */
static conn *slot_for_new(board *b, conn *cl)
{
    conn *old = NULL;
    for (int i = 0; i < b->lim.max_clients; i++) {
        if (cl[i].fd < 0)
            return &cl[i];
        if (&cl[i] != b->holder && (!old || cl[i].since < old->since))
            old = &cl[i];
    }
    if (old) {
        b->evictions++;
        conn_close(b, old, "dropped: %d connections open (--max-clients) and it had not "
                   "claimed the board", b->lim.max_clients);
    }
    return old;
}

/* Take every waiting connection. -1 when the process is out of descriptors (the caller
 * pauses accepting for a moment rather than spin). */
static int accept_all(board *b, int lfd, conn *cl, double now)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "mpcl-chipd: accept: %s\n", strerror(errno));
                return -1;
            }
            return 0; /* EAGAIN: none left (or a client that left before it was taken) */
        }
        conn *c = slot_for_new(b, cl);
        if (!c || conn_open(b, c, fd, now) < 0) {
            fprintf(stderr, "mpcl-chipd: accept: %s\n", c ? "out of memory" : "no free slot");
            close(fd);
        }
    }
}

/* Send what the client takes now. 0 (some may be left), -1 the client is gone. */
static int flush_some(conn *c, double now)
{
    while (queued(c)) {
        ssize_t w = send(c->fd, c->q.data + c->q_off, queued(c), MSG_NOSIGNAL);
        if (w > 0) {
            c->q_off += (size_t)w;
            c->active = now;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            return 0;
        } else {
            return -1;
        }
    }
    c->q.len = c->q_off = 0;
    shrink(&c->q);
    return 0;
}

/* Read what the client sent. 1 bytes, 0 none yet, -1 the client left (or no memory). */
static int read_some(board *b, conn *c)
{
    size_t chunk = b->holder == c ? READ_CHUNK : PENDING_READ;
    uint8_t *dst = wire_reserve(&c->in, chunk);
    if (!dst)
        return -1;
    ssize_t n = recv(c->fd, dst, chunk, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0)
        return -1;
    if (chance(&b->f, b->f.corrupt)) {
        flip_bit(&b->f, dst, (size_t)n);
        b->corrupted++;
    }
    wire_commit(&c->in, (size_t)n);
    return 1;
}

/* Move a connection along after poll said it is ready: send its queue; when that is empty,
 * read, handle its frames and send their replies; close it when it is done. The clock is
 * read afresh after each step: a command may run for a while, and the client's idle time
 * starts when its reply went out, not before the command ran. */
static void pump(board *b, conn *c, short revents)
{
    if (queued(c) && flush_some(c, clock_seconds()) < 0) {
        conn_close(b, c, NULL);
        return;
    }
    if (!queued(c) && !c->closing && (revents & (POLLIN | POLLERR | POLLHUP)) &&
        read_some(b, c) < 0) {
        conn_close(b, c, NULL);
        return;
    }
    while (!queued(c) && !c->closing) {
        uint64_t frames = c->in.frames + c->in.bad_frames;
        drain(b, c);
        track(c, clock_seconds());
        if (queued(c) && flush_some(c, clock_seconds()) < 0) {
            conn_close(b, c, NULL);
            return;
        }
        if (c->in.frames + c->in.bad_frames == frames)
            break; /* nothing more to handle until more bytes come */
    }
    if (c->closing && !queued(c))
        conn_close(b, c, NULL);
}

/* Close the connections that idled past --idle-timeout or stalled in a frame past
 * --frame-timeout. A frame's clock does not run while the board is not reading (its reply
 * still waits to be taken: that is idleness). */
static void enforce_timeouts(board *b, conn *cl, double now)
{
    for (int i = 0; i < b->lim.max_clients; i++) {
        conn *c = &cl[i];
        if (c->fd < 0)
            continue;
        if (c->closing && !queued(c)) {
            conn_close(b, c, NULL);
            continue;
        }
        if (queued(c) || c->closing)
            c->partial = 0;
        if (now - c->active > b->lim.idle_s) {
            b->idle_drops++;
            conn_close(b, c, "dropped: nothing moved for %g s%s", b->lim.idle_s,
                       b->holder == c ? " (the board is free again)" : "");
        } else if (c->partial && now - c->partial > b->lim.frame_s) {
            b->stall_drops++;
            conn_close(b, c, "dropped: a frame begun %.1f s ago is still incomplete (%zu "
                       "bytes)%s", now - c->partial, c->in.end - c->in.start,
                       b->holder == c ? " (the board is free again)" : "");
        }
    }
}

/* Milliseconds until the next deadline (at most 1 s). */
static int next_wake_ms(const board *b, const conn *cl, double now)
{
    double t = now + 1;
    for (int i = 0; i < b->lim.max_clients; i++) {
        if (cl[i].fd < 0)
            continue;
        double idle = cl[i].active + b->lim.idle_s, stall = cl[i].partial + b->lim.frame_s;
        t = idle < t ? idle : t;
        t = cl[i].partial && stall < t ? stall : t;
    }
    return t <= now ? 0 : (int)((t - now) * 1e3) + 1;
}

/* One poll() round: listen and every connection. *pause_until: no accepting before then. */
static int poll_round(board *b, int lfd, conn *cl, struct pollfd *pf, int *who,
                      double *pause_until)
{
    double now = clock_seconds();
    int n = 0;
    for (int i = 0; i < b->lim.max_clients; i++)
        if (cl[i].fd >= 0) {
            short ev = queued(&cl[i]) ? POLLOUT : cl[i].closing ? 0 : POLLIN;
            pf[n] = (struct pollfd){cl[i].fd, ev, 0};
            who[n++] = i;
        }
    int listening = now >= *pause_until;
    if (listening)
        pf[n++] = (struct pollfd){lfd, POLLIN, 0};
    int wake = next_wake_ms(b, cl, now);
    if (!listening && (*pause_until - now) * 1e3 < wake)
        wake = (int)((*pause_until - now) * 1e3) + 1;
    if (poll(pf, (nfds_t)n, wake) < 0 && errno != EINTR)
        return -1;
    for (int k = 0; k < n - listening; k++)
        if (pf[k].revents && cl[who[k]].fd == pf[k].fd)
            pump(b, &cl[who[k]], pf[k].revents);
    now = clock_seconds();
    enforce_timeouts(b, cl, now);
    if (listening && (pf[n - 1].revents & POLLIN) && accept_all(b, lfd, cl, now) < 0)
        *pause_until = now + 0.1;
    return 0;
}

/* Serve TCP clients until a signal; the board outlives every connection. */
static void serve_tcp(board *b, int lfd)
{
    int max = b->lim.max_clients;
    conn *cl = calloc((size_t)max, sizeof *cl);
    struct pollfd *pf = calloc((size_t)max + 1, sizeof *pf);
    int *who = calloc((size_t)max + 1, sizeof *who);
    double pause_until = 0;
    if (!cl || !pf || !who)
        fprintf(stderr, "mpcl-chipd: out of memory\n");
    for (int i = 0; cl && i < max; i++)
        cl[i].fd = -1;
    while (cl && pf && who && !stop)
        if (poll_round(b, lfd, cl, pf, who, &pause_until) < 0) {
            fprintf(stderr, "mpcl-chipd: poll: %s\n", strerror(errno));
            break;
        }
    for (int i = 0; cl && i < max; i++)
        if (cl[i].fd >= 0)
            conn_close(b, &cl[i], NULL);
    free(cl);
    free(pf);
    free(who);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mpcl-chipd [--listen HOST:PORT | --pty] [--id N] [--sim OPTIONS] "
               "[--stuck F]\n"
               "                  [--token SECRET] [--any-address] [--idle-timeout S]\n"
               "                  [--frame-timeout S] [--max-clients N] [--drop P] [--corrupt P]\n"
               "                  [--delay MS] [--disconnect-every N] [--fault-seed N]\n"
               "A board emulator serving the chip wire protocol from the simulated chip\n"
               "(default --listen 127.0.0.1:7070, --id 1, --idle-timeout 30, --frame-timeout 10,\n"
               "--max-clients 16; one client holds the board at a time, the others are told it\n"
               "is busy; see docs/protocol.md).\n");
}

static int num_arg(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi)) {
        fprintf(stderr, "mpcl-chipd: %s needs a number in [%g, %g], got '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = d;
    return 0;
}

typedef struct args {
    const char *listen, *sim, *stuck;
    int pty, any;
    double id;
} args;

static int parse_args(int argc, char **argv, args *a, board *b)
{
    enum { O_LISTEN = 256, O_PTY, O_ID, O_SIM, O_STUCK, O_TOKEN, O_ANY, O_DROP, O_CORRUPT,
           O_DELAY, O_DISC, O_SEED, O_HELP, O_IDLE, O_FRAME, O_MAXC };
    static const struct option opts[] = {
        {"listen", 1, 0, O_LISTEN},   {"pty", 0, 0, O_PTY},         {"id", 1, 0, O_ID},
        {"sim", 1, 0, O_SIM},         {"stuck", 1, 0, O_STUCK},     {"token", 1, 0, O_TOKEN},
        {"any-address", 0, 0, O_ANY}, {"drop", 1, 0, O_DROP},       {"corrupt", 1, 0, O_CORRUPT},
        {"delay", 1, 0, O_DELAY},     {"disconnect-every", 1, 0, O_DISC},
        {"fault-seed", 1, 0, O_SEED}, {"help", 0, 0, O_HELP},       {"idle-timeout", 1, 0, O_IDLE},
        {"frame-timeout", 1, 0, O_FRAME}, {"max-clients", 1, 0, O_MAXC}, {0, 0, 0, 0}};
    double d;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *v = optarg;
        int rc = 0;
        switch (o) {
        case O_LISTEN: a->listen = v; break;
        case O_PTY: a->pty = 1; break;
        case O_ID: rc = num_arg("--id", v, 0, 9e15, &a->id); break;
        case O_SIM: a->sim = v; break;
        case O_STUCK: rc = num_arg("--stuck", v, 0, 0.999, &d); a->stuck = v; break;
        case O_TOKEN:
            if (strlen(v) >= sizeof b->token) {
                fprintf(stderr, "mpcl-chipd: --token: longer than %zu bytes\n",
                        sizeof b->token - 1);
                return -1;
            }
            snprintf(b->token, sizeof b->token, "%s", v);
            break;
        case O_ANY: a->any = 1; break;
        case O_DROP: rc = num_arg("--drop", v, 0, 0.9, &b->f.drop); break;
        case O_CORRUPT: rc = num_arg("--corrupt", v, 0, 0.9, &b->f.corrupt); break;
        case O_DELAY: rc = num_arg("--delay", v, 0, 60000, &d); b->f.delay_ms = (int)d; break;
        case O_DISC:
            rc = num_arg("--disconnect-every", v, 0, 1e15, &d);
            b->f.disconnect_every = (long long)d;
            break;
        case O_SEED: rc = num_arg("--fault-seed", v, 0, 9e15, &d); b->f.rng = (uint64_t)d; break;
        case O_IDLE: rc = num_arg("--idle-timeout", v, 0.05, 86400, &b->lim.idle_s); break;
        case O_FRAME: rc = num_arg("--frame-timeout", v, 0.05, 3600, &b->lim.frame_s); break;
        case O_MAXC:
            rc = num_arg("--max-clients", v, 2, 100000, &d);
            b->lim.max_clients = (int)d;
            if (rc == 0 && d != (int)d) {
                fprintf(stderr, "mpcl-chipd: --max-clients needs a whole number, got '%s'\n", v);
                rc = -1;
            }
            break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (rc < 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "mpcl-chipd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (a->pty && a->listen) {
        fprintf(stderr, "mpcl-chipd: --pty and --listen exclude each other\n");
        return -1;
    }
    return 0;
}

/* Descriptors for max_clients connections and a margin (the limit is raised to its hard
 * maximum when needed), or -1 with a message. */
static int fd_room(int max_clients)
{
    struct rlimit r;
    rlim_t need = (rlim_t)max_clients + 32;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= need)
        return 0;
    if (r.rlim_max >= need) {
        r.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &r) == 0)
            return 0;
    }
    fprintf(stderr, "mpcl-chipd: --max-clients %d: the process may open only %llu files "
                    "(ulimit -n)\n", max_clients, (unsigned long long)r.rlim_max);
    return -1;
}

static uint64_t boot_id(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t z = ((uint64_t)t.tv_sec << 30) ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 48;
    faults f = {.rng = z};
    return fault_next(&f) | 1;
}

int main(int argc, char **argv)
{
    static board b; /* large (the cache) and for the whole run */
    args a = {.id = 1};
    b.f.rng = 1;
    b.lim = (limits){30, 10, 16};
    const char *env = getenv("MPCL_CHIPD_TOKEN");
    if (env)
        snprintf(b.token, sizeof b.token, "%s", env);
    if (parse_args(argc, argv, &a, &b) < 0 || fd_room(b.lim.max_clients) < 0)
        return 2;
    char uri[1200], err[512];
    snprintf(uri, sizeof uri, "sim:id=%.0f%s%s%s%s", a.id, a.sim ? "," : "", a.sim ? a.sim : "",
             a.stuck ? ",stuck=" : "", a.stuck ? a.stuck : "");
    if (chip_open(&b.c, uri, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl-chipd: %s\n", err);
        return 1;
    }
    b.boot = boot_id();
    b.t0 = clock_seconds();
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns and the loops see stop */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char where[600];
    int fd;
    if (a.pty)
        fd = open_pty(where, sizeof where);
    else
        fd = listen_on(a.listen ? a.listen : "127.0.0.1:7070", a.any, where, sizeof where);
    if (fd < 0) {
        chip_close(&b.c);
        return 1;
    }
    printf("mpcl-chipd: listening on %s (chip sim id %s)\n", where, b.c.info.id);
    fflush(stdout);
    if (a.pty)
        serve_pty(&b, fd);
    else
        serve_tcp(&b, fd);
    close(fd);
    for (int i = 0; i < CACHE_N; i++)
        cache_drop(&b.cache[i]);
    chip_close(&b.c);
    fprintf(stderr, "mpcl-chipd: stopped (%llu commands, %llu repeats answered from the "
                    "cache)\n", (unsigned long long)b.executed,
            (unsigned long long)b.cache_hits);
    return 0;
}
