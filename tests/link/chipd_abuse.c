/* mpcl-chipd under abuse: garbage, forged and oversized headers, damaged frames, commands
 * before the handshake, wrong versions, unknown commands, every command with a missing,
 * short or padded payload, rectangles and batches that would make it allocate gigabytes,
 * reused sequence numbers, fragments out of order and messages over the limit. Each must
 * get the right error reply, and the board must still answer afterwards.
 *   chipd-abuse 127.0.0.1:PORT | /dev/pts/N        (exit status 0: all held)
 * chipd-abuse --crowd ... runs chipd_crowd.c's tests instead (several clients at once). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <zlib.h>

#include "wire.h"

static int fd = -1, failures, checks;
static wire_parser in;
static wire_asm as;

static void put_all(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "chipd-abuse: write: %s\n", strerror(errno));
            exit(1);
        } else {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, 1000);
        }
    }
}

static void send_msg(uint8_t type, uint16_t cmd, uint32_t seq, const wire_buf *p)
{
    wire_buf b = {0};
    wire_put_message(&b, type, cmd, seq, p ? p->data : NULL, p ? p->len : 0, 0);
    put_all(b.data, b.len);
    wire_buf_free(&b);
}

/* The next message with this seq (copied to out), within 3 s; its type, or 0. */
static int reply(uint32_t seq, wire_buf *out)
{
    for (int waited = 0; waited < 3000;) {
        wire_frame f;
        wire_msg m;
        char err[200];
        int ev;
        while ((ev = wire_next(&in, &f, err, sizeof err)) != WIRE_NEED_MORE)
            if (ev == WIRE_GOT_FRAME && wire_asm_add(&as, &f, &m, err, sizeof err) == 1 &&
                m.seq == seq) {
                out->len = 0;
                wire_put_bytes(out, m.data, m.len);
                return m.type;
            }
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        uint8_t *dst = wire_reserve(&in, 65536);
        ssize_t n = dst ? read(fd, dst, 65536) : -1;
        if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
            fprintf(stderr, "chipd-abuse: the board closed the link\n");
            exit(1);
        }
        if (n > 0)
            wire_commit(&in, (size_t)n);
    }
    return 0;
}

/* Expect an error with this code (0: a reply) for seq. */
static void expect(const char *what, uint32_t seq, uint32_t code)
{
    wire_buf r = {0};
    int type = reply(seq, &r);
    uint32_t got = 0;
    char msg[WIRE_MAX_STRING + 1] = "";
    if (type == WIRE_ERROR)
        wire_get_error(r.data, r.len, &got, msg, sizeof msg);
    checks++;
    if (!type || (code && (type != WIRE_ERROR || got != code)) || (!code && type != WIRE_REPLY)) {
        failures++;
        printf("FAIL %-34s wanted %s %u, got %s %u %s\n", what, code ? "error" : "reply", code,
               type == WIRE_ERROR ? "error" : type ? "reply" : "nothing", got, msg);
    } else {
        printf("ok   %-34s %s\n", what, code ? msg : "reply");
    }
    wire_buf_free(&r);
}

static void command(const char *what, uint16_t cmd, uint32_t seq, const wire_buf *p,
                    uint32_t code)
{
    send_msg(WIRE_COMMAND, cmd, seq, p);
    expect(what, seq, code);
}

/* A header with a good header CRC and whatever fields we like. */
static void forged(uint8_t version, uint32_t len, uint32_t seq)
{
    uint8_t h[WIRE_HEADER + WIRE_TRAILER];
    wire_write_frame(h, WIRE_COMMAND, 0, WIRE_GET, 0, seq, NULL, 0);
    h[4] = version;
    for (int i = 0; i < 4; i++)
        h[16 + i] = (uint8_t)(len >> (8 * i));
    uLong c = crc32(crc32(0L, Z_NULL, 0), h, 20);
    for (int i = 0; i < 4; i++)
        h[20 + i] = (uint8_t)(c >> (8 * i));
    put_all(h, WIRE_HEADER);
}

static void connect_to(const char *addr)
{
    if (addr[0] == '/') {
        fd = open(addr, O_RDWR | O_NOCTTY | O_NONBLOCK);
        struct termios t;
        if (fd >= 0 && tcgetattr(fd, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(fd, TCSANOW, &t);
            tcflush(fd, TCIOFLUSH);
        }
    } else {
        char host[256];
        const char *colon = strrchr(addr, ':');
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - addr) : 0, addr);
        struct addrinfo hints = {0}, *ai;
        hints.ai_socktype = SOCK_STREAM;
        if (colon && getaddrinfo(host, colon + 1, &hints, &ai) == 0) {
            fd = socket(ai->ai_family, SOCK_STREAM, 0);
            if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                close(fd);
                fd = -1;
            }
            freeaddrinfo(ai);
        }
    }
    if (fd < 0) {
        fprintf(stderr, "chipd-abuse: cannot reach %s\n", addr);
        exit(1);
    }
}

static void hello(uint32_t seq, uint32_t version, uint32_t code)
{
    wire_buf p = {0};
    wire_put_u32(&p, version);
    wire_put_u64(&p, 0xab05e);
    wire_put_str(&p, "");
    command(version == WIRE_VERSION ? "hello" : "hello, version 7", WIRE_HELLO, seq, &p, code);
    wire_buf_free(&p);
}

static void rect(wire_buf *p, int r0, int c0, int rows, int cols)
{
    wire_put_i32(p, r0);
    wire_put_i32(p, c0);
    wire_put_i32(p, rows);
    wire_put_i32(p, cols);
}

/* Every command with no payload, a cut one and a padded one. */
static void bad_payloads(uint32_t *seq)
{
    static const uint16_t cmds[] = {WIRE_PULSE, WIRE_PROGRAM, WIRE_READ, WIRE_PEEK, WIRE_PLACE,
                                    WIRE_VMM, WIRE_VMM_BITS, WIRE_GET, WIRE_SET, WIRE_STATUS};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char what[64], nb[16];
        const char *name = wire_cmd_name(cmds[i], nb, sizeof nb);
        wire_buf p = {0};
        if (cmds[i] != WIRE_STATUS) {
            snprintf(what, sizeof what, "%s, no payload", name);
            command(what, cmds[i], ++*seq, &p, WIRE_E_MALFORMED);
        }
        wire_put_u8(&p, 0);
        rect(&p, 0, 0, 1, 1); /* something plausible, then junk */
        wire_put_bytes(&p, "0123456789abcdefghij0123456789abcdefghij", 40);
        snprintf(what, sizeof what, "%s, padded payload", name);
        command(what, cmds[i], ++*seq, &p, cmds[i] == WIRE_VMM || cmds[i] == WIRE_VMM_BITS
                                               ? WIRE_E_CHIP /* layer 0 not placed yet */
                                               : WIRE_E_MALFORMED);
        wire_buf_free(&p);
    }
}

static void huge_requests(uint32_t *seq)
{
    wire_buf p = {0};
    wire_put_u8(&p, 0);
    rect(&p, 0, 0, 1 << 30, 1 << 30);
    wire_put_f32(&p, 0.1f);
    wire_put_i32(&p, 20);
    wire_put_u8(&p, 1);
    command("program a 2^30 x 2^30 block", WIRE_PROGRAM, ++*seq, &p, WIRE_E_CHIP);
    p.len = 0;
    wire_put_u8(&p, 0);
    rect(&p, -5, 0, 10, 10);
    command("read a block at row -5", WIRE_READ, ++*seq, &p, WIRE_E_CHIP);
    p.len = 0;
    wire_put_u32(&p, 1000);
    command("place 1000 layers", WIRE_PLACE, ++*seq, &p, WIRE_E_MALFORMED);
    p.len = 0;
    wire_put_u32(&p, 1);
    rect(&p, 0, 0, 1, 512);
    command("place a 1 x 512 layer", WIRE_PLACE, ++*seq, &p, 0);
    p.len = 0;
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 1);
    wire_put_i32(&p, 0x7fffffff);
    wire_put_u8(&p, 0);
    wire_put_bytes(&p, "\1\1\1", 3);
    command("vmm of 2^31 - 1 vectors, 3 bytes", WIRE_VMM, ++*seq, &p, WIRE_E_MALFORMED);
    p.len = 0;
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 1);
    wire_put_i32(&p, 9000); /* 9 kB in, 18 MB out */
    wire_put_u8(&p, 0);
    memset(wire_put_space(&p, 9000), 1, 9000);
    command("vmm whose reply is over the limit", WIRE_VMM, ++*seq, &p, WIRE_E_TOO_LARGE);
    p.len = 0;
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 1);
    wire_put_u8(&p, 0);
    wire_put_u8(&p, 1);
    command("vmm at p = 0", WIRE_VMM, ++*seq, &p, WIRE_E_CHIP);
    p.len = 0;
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 1);
    wire_put_i32(&p, 1);
    wire_put_u8(&p, 0);
    wire_put_u8(&p, 7);
    command("vmm with an input of 7", WIRE_VMM, ++*seq, &p, WIRE_E_CHIP);
    wire_buf_free(&p);
}

/* Layer numbers and batch sizes at the edges (one layer of 1 x 512 is placed). */
static void overflow_layers(uint32_t *seq)
{
    static const int32_t layers[] = {0x7fffffff, -0x7fffffff - 1, -1, 1};
    static const uint16_t cmds[] = {WIRE_VMM, WIRE_VMM_BITS};
    char what[96], nb[16];
    wire_buf p = {0};
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
            p.len = 0;
            wire_put_i32(&p, layers[i]);
            wire_put_i32(&p, 1);
            wire_put_i32(&p, 1);
            wire_put_u8(&p, 1);
            if (cmds[c] == WIRE_VMM)
                wire_put_u8(&p, 1);
            else
                wire_put_u64(&p, 1);
            snprintf(what, sizeof what, "%s of layer %d", wire_cmd_name(cmds[c], nb, sizeof nb),
                     layers[i]);
            command(what, cmds[c], ++*seq, &p, WIRE_E_CHIP);
        }
    static const uint32_t ulayers[] = {0x7fffffffu, 0x80000000u, 0xffffffffu, 1};
    for (size_t i = 0; i < sizeof ulayers / sizeof *ulayers; i++) {
        p.len = 0;
        wire_put_u8(&p, 0);
        wire_put_u32(&p, ulayers[i]);
        wire_put_u32(&p, 1);
        snprintf(what, sizeof what, "read_layer of layer %u", ulayers[i]);
        command(what, WIRE_READ_LAYER, ++*seq, &p, WIRE_E_CHIP);
    }
    static const uint32_t ps[] = {0, 2, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        p.len = 0;
        wire_put_u8(&p, 0);
        wire_put_u32(&p, 0);
        wire_put_u32(&p, ps[i]);
        snprintf(what, sizeof what, "read_layer at p = %u", ps[i]);
        command(what, WIRE_READ_LAYER, ++*seq, &p, WIRE_E_CHIP);
    }
    static const int32_t Bs[] = {0x7fffffff, -1, -0x7fffffff - 1};
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < sizeof Bs / sizeof *Bs; i++) {
            p.len = 0;
            wire_put_i32(&p, 0);
            wire_put_i32(&p, 1);
            wire_put_i32(&p, Bs[i]);
            wire_put_u8(&p, 1);
            wire_put_u64(&p, 1);
            snprintf(what, sizeof what, "%s of %d vectors", wire_cmd_name(cmds[c], nb, sizeof nb),
                     Bs[i]);
            command(what, cmds[c], ++*seq, &p, WIRE_E_MALFORMED);
        }
    wire_buf_free(&p);
}

/* Fields at the edges of int32: every range check must hold without overflowing (an ASan +
 * UBSan board aborts on a signed overflow), and each gets the chip's refusal. */
static void overflow_requests(uint32_t *seq)
{
    static const int32_t edge[][4] = {
        {0x7fffffff, 0, 1, 1}, {0, 0x7fffffff, 1, 1}, {1, 0, 0x7fffffff, 1},
        {0, 1, 1, 0x7fffffff}, {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff},
        {-0x7fffffff - 1, 0, 1, 1}, {0, 0, -0x7fffffff - 1, 1}, {-1, -1, 2, 2}};
    static const uint16_t cmds[] = {WIRE_READ, WIRE_PEEK};
    char what[96], nb[16];
    wire_buf p = {0};
    for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++)
        for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
            p.len = 0;
            wire_put_u8(&p, 0);
            rect(&p, edge[i][0], edge[i][1], edge[i][2], edge[i][3]);
            snprintf(what, sizeof what, "%s (%d, %d) %d x %d", wire_cmd_name(cmds[c], nb,
                     sizeof nb), edge[i][0], edge[i][1], edge[i][2], edge[i][3]);
            command(what, cmds[c], ++*seq, &p, WIRE_E_CHIP);
        }
    p.len = 0;
    wire_put_u8(&p, 0);
    rect(&p, 0x7fffffff, 0, 1, 1);
    wire_put_f32(&p, 0.1f);
    wire_put_i32(&p, 20);
    wire_put_u8(&p, 0);
    wire_put_u8(&p, 1);
    command("program a block at row 2^31 - 1", WIRE_PROGRAM, ++*seq, &p, WIRE_E_CHIP);
    p.len = 0;
    wire_put_u8(&p, 0);
    wire_put_u8(&p, 1);
    wire_put_i32(&p, 0x7fffffff);
    wire_put_i32(&p, 0x7fffffff);
    wire_put_f32(&p, 1.0f);
    wire_put_f32(&p, 1e-6f);
    command("pulse the cell (2^31 - 1, 2^31 - 1)", WIRE_PULSE, ++*seq, &p, WIRE_E_CHIP);
    p.len = 0;
    wire_put_u32(&p, 2);
    rect(&p, 0, 0, 2, 2);
    rect(&p, 0x7fffffff, 0x7fffffff, 1, 1);
    command("place a layer at (2^31 - 1, 2^31 - 1)", WIRE_PLACE, ++*seq, &p, WIRE_E_CHIP);
    overflow_layers(seq);
    wire_buf_free(&p);
}

static void sequence_reuse(uint32_t *seq)
{
    wire_buf p = {0}, q = {0};
    wire_put_str(&p, "v_read");
    wire_put_str(&q, "adc_bits");
    uint32_t s = ++*seq;
    command("get v_read", WIRE_GET, s, &p, 0);
    command("the same seq, another request", WIRE_GET, s, &q, WIRE_E_SEQ);
    command("the same seq, the same request", WIRE_GET, s, &p, 0);
    wire_buf_free(&p);
    wire_buf_free(&q);
}

static void fragments(uint32_t *seq)
{
    uint8_t fr[wire_frame_size(8)];
    wire_write_frame(fr, WIRE_COMMAND, 0, WIRE_GET, 1, ++*seq, "12345678", 8);
    put_all(fr, sizeof fr);
    expect("a fragment 1 alone", *seq, WIRE_E_FRAME);
    /* 17 fragments of 1 MiB: over the 16 MiB message limit */
    uint32_t s = ++*seq;
    uint8_t *big = malloc(wire_frame_size(WIRE_MAX_PAYLOAD)), *zero = calloc(1, WIRE_MAX_PAYLOAD);
    for (int k = 0; big && zero && k < 17; k++) {
        wire_write_frame(big, WIRE_COMMAND, k < 16 ? WIRE_MORE : 0, WIRE_VMM, (uint16_t)k, s,
                         zero, WIRE_MAX_PAYLOAD);
        put_all(big, wire_frame_size(WIRE_MAX_PAYLOAD));
    }
    free(big);
    free(zero);
    expect("17 MiB in fragments", s, WIRE_E_FRAME);
}

int crowd_main(int argc, char **argv); /* chipd_crowd.c */

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--crowd"))
        return crowd_main(argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: chipd-abuse HOST:PORT | /dev/pts/N, or chipd-abuse --crowd "
                        "HOST:PORT PID IDLE_S FRAME_S MAX_CLIENTS\n");
        return 2;
    }
    connect_to(argv[1]);
    wire_parser_init(&in, 0);
    wire_asm_init(&as, 0);
    uint8_t junk[65536];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)((i * 2654435761u) >> 13);
    put_all(junk, sizeof junk);
    expect("64 KiB of garbage", 0, WIRE_E_FRAME);
    uint32_t seq = 100;
    command("status before the handshake", WIRE_STATUS, ++seq, NULL, WIRE_E_NO_HELLO);
    forged(WIRE_VERSION, 0xffffffffu, ++seq);
    expect("a 4 GiB length", seq, WIRE_E_TOO_LARGE);
    forged(9, 0, ++seq);
    expect("frame version 9", seq, WIRE_E_VERSION);
    uint8_t fr[wire_frame_size(4)];
    wire_write_frame(fr, WIRE_COMMAND, 0, WIRE_GET, 0, ++seq, "abcd", 4);
    fr[WIRE_HEADER + 1] ^= 0x10;
    put_all(fr, sizeof fr);
    expect("a flipped payload bit", seq, WIRE_E_FRAME);
    hello(++seq, 7, WIRE_E_VERSION);
    hello(++seq, WIRE_VERSION, 0);
    command("command id 99", 99, ++seq, NULL, WIRE_E_UNKNOWN);
    bad_payloads(&seq);
    huge_requests(&seq);
    overflow_requests(&seq);
    sequence_reuse(&seq);
    fragments(&seq);
    wire_buf p = {0};
    wire_put_str(&p, "g_lrs");
    command("still answering: get g_lrs", WIRE_GET, ++seq, &p, 0);
    wire_buf_free(&p);
    wire_parser_free(&in);
    wire_asm_free(&as);
    close(fd);
    printf("chipd-abuse: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
