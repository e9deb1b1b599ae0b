/* mpcl-chipd in a crowd (chipd-abuse --crowd): an idle client holding the board while others
 * come, a reconnection of the holder's session, a half frame then a stall (by the holder and
 * by a stranger), a holder that never reads a 7 MB reply, a stranger that sends requests and
 * never reads, 200 idle sockets, 300 connections opened and closed. After each, a
 * well-behaved client must be served; the board's descriptors (/proc/PID/fd) must come back
 * to their count before the crowd. "Promptly" is checked only against a generous bound (a
 * hang, not a speed); the times measured are printed for the record.
 *   chipd-abuse --crowd HOST:PORT PID IDLE_S FRAME_S MAX_CLIENTS
 * The board must run with those --idle-timeout, --frame-timeout and --max-clients. */
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "wire.h"

int crowd_main(int argc, char **argv);

typedef struct client {
    int fd;
    wire_parser in;
    wire_asm as;
} client;

static const char *addr;
static int pid, max_clients, failures, checks;
static double idle_s, frame_s, hang_s;

static void check(int ok, const char *what, const char *detail)
{
    checks++;
    if (!ok)
        failures++;
    printf("%s %-48s %s\n", ok ? "ok  " : "FAIL", what, detail);
    fflush(stdout);
}

/* A connected socket (rcvbuf > 0: that receive buffer), or fd -1. */
static client open_client(int rcvbuf)
{
    client c = {.fd = -1};
    char host[256];
    const char *colon = strrchr(addr, ':');
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - addr) : 0, addr);
    struct addrinfo hints = {0}, *ai;
    hints.ai_socktype = SOCK_STREAM;
    if (!colon || getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return c;
    c.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd >= 0 && rcvbuf > 0)
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (c.fd >= 0 && connect(c.fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        close(c.fd);
        c.fd = -1;
    }
    freeaddrinfo(ai);
    wire_parser_init(&c.in, 0);
    wire_asm_init(&c.as, 0);
    return c;
}

static void close_client(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    wire_parser_free(&c->in);
    wire_asm_free(&c->as);
}

/* All of p, or -1 (the board closed the connection). */
static int put(client *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_cmd(client *c, uint16_t cmd, uint32_t seq, const wire_buf *p)
{
    wire_buf b = {0};
    wire_put_message(&b, WIRE_COMMAND, cmd, seq, p ? p->data : NULL, p ? p->len : 0, 0);
    int rc = put(c, b.data, b.len);
    wire_buf_free(&b);
    return rc;
}

/* Read what is there within ms: 1 bytes, 0 nothing, -1 the board closed the connection. */
static int take(client *c, int ms)
{
    struct pollfd pf = {c->fd, POLLIN, 0};
    if (poll(&pf, 1, ms) <= 0)
        return 0;
    uint8_t *dst = wire_reserve(&c->in, 65536);
    ssize_t n = dst ? recv(c->fd, dst, 65536, 0) : -1;
    if (n <= 0)
        return -1;
    wire_commit(&c->in, (size_t)n);
    return 1;
}

/* The answer to seq within hang_s: WIRE_REPLY, or WIRE_ERROR with *code and msg; 0 none
 * (a hang), -1 the connection closed first. */
static int answer(client *c, uint32_t seq, uint32_t *code, char *msg, size_t len)
{
    for (double t0 = clock_seconds(); clock_seconds() - t0 < hang_s;) {
        wire_frame f;
        wire_msg m;
        char err[200];
        int ev;
        while ((ev = wire_next(&c->in, &f, err, sizeof err)) != WIRE_NEED_MORE)
            if (ev == WIRE_GOT_FRAME && wire_asm_add(&c->as, &f, &m, err, sizeof err) == 1 &&
                m.seq == seq) {
                *code = 0;
                if (m.type == WIRE_ERROR)
                    wire_get_error(m.data, m.len, code, msg, len);
                return m.type;
            }
        if (take(c, 50) < 0)
            return -1;
    }
    return 0;
}

/* HELLO with this session: 0 served, else the error code (-1 closed, -2 no answer). */
static int hello(client *c, uint64_t session, char *msg, size_t len)
{
    wire_buf p = {0};
    wire_put_u32(&p, WIRE_VERSION);
    wire_put_u64(&p, session);
    wire_put_str(&p, "");
    int rc = c->fd < 0 || send_cmd(c, WIRE_HELLO, 0, &p) < 0 ? -1 : 0;
    wire_buf_free(&p);
    uint32_t code = 0;
    snprintf(msg, len, "%s", rc < 0 ? "cannot connect or send" : "");
    int type = rc < 0 ? -1 : answer(c, 0, &code, msg, len);
    return type == WIRE_REPLY ? 0 : type == WIRE_ERROR ? (int)code : type == 0 ? -2 : -1;
}

/* A GET answered with a value. */
static int get_ok(client *c, uint32_t seq)
{
    wire_buf p = {0};
    wire_put_str(&p, "g_lrs");
    uint32_t code;
    char msg[WIRE_MAX_STRING + 1];
    int ok = send_cmd(c, WIRE_GET, seq, &p) == 0 && answer(c, seq, &code, msg, sizeof msg) ==
                                                        WIRE_REPLY;
    wire_buf_free(&p);
    return ok;
}

/* The board closes this connection within `within` seconds. */
static int closed_by_board(client *c, double within)
{
    for (double t0 = clock_seconds(); clock_seconds() - t0 < within;) {
        if (take(c, 50) < 0)
            return 1;
        c->in.start = c->in.end; /* whatever came is not what we wait for */
    }
    return 0;
}

/* A new client served (HELLO and a GET) within hang_s; the milliseconds it took, or -1. */
static double good_client(uint64_t session, const char *after)
{
    double t0 = clock_seconds();
    client c = open_client(0);
    char msg[WIRE_MAX_STRING + 1], what[96], detail[WIRE_MAX_STRING + 64];
    int rc = hello(&c, session, msg, sizeof msg);
    int ok = rc == 0 && get_ok(&c, 1);
    double ms = (clock_seconds() - t0) * 1e3;
    close_client(&c);
    snprintf(what, sizeof what, "a good client served after %s", after);
    if (ok)
        snprintf(detail, sizeof detail, "%.1f ms", ms);
    else
        snprintf(detail, sizeof detail, "not served (%d: %s)", rc, msg);
    check(ok, what, detail);
    return ok ? ms : -1;
}

/* Open descriptors of the board's process. */
static int board_fds(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The board's descriptors back to `base` within hang_s. */
static void fds_back(int base, const char *after)
{
    int n = board_fds();
    for (double t0 = clock_seconds(); n != base && clock_seconds() - t0 < hang_s; n = board_fds()) {
        struct timespec t = {0, 20000000L};
        nanosleep(&t, NULL);
    }
    char what[96], detail[64];
    snprintf(what, sizeof what, "board's descriptors after %s", after);
    snprintf(detail, sizeof detail, "%d (%d before)", n, base);
    check(n == base, what, detail);
}

/* Another client's HELLO while `holder` holds the board: E_BUSY, promptly, and closed. */
static void busy_while_held(const char *holder)
{
    double t0 = clock_seconds();
    client c = open_client(0);
    char msg[WIRE_MAX_STRING + 1], what[96], detail[WIRE_MAX_STRING + 64];
    int rc = hello(&c, 0xb5b5, msg, sizeof msg);
    double ms = (clock_seconds() - t0) * 1e3;
    snprintf(what, sizeof what, "busy while %s", holder);
    snprintf(detail, sizeof detail, "%.1f ms: %s", ms, msg);
    check(rc == WIRE_E_BUSY && strstr(msg, "busy: the board is serving "), what, detail);
    check(closed_by_board(&c, hang_s), "  and its connection closed", "");
    close_client(&c);
}

/* An idle holder: others are told it is busy at once; it is dropped after the idle timeout,
 * and then a good client is served. */
static void idle_holder(void)
{
    char msg[WIRE_MAX_STRING + 1], detail[64];
    client a = open_client(0);
    check(hello(&a, 0xa1, msg, sizeof msg) == 0, "an idle client holds the board", msg);
    double t0 = clock_seconds();
    busy_while_held("an idle client holds it");
    client s = open_client(0);
    uint32_t code = 0;
    int type = send_cmd(&s, WIRE_STATUS, 5, NULL) == 0 ? answer(&s, 5, &code, msg, sizeof msg) : -1;
    check(type == WIRE_ERROR && code == WIRE_E_NO_HELLO, "a stranger's command: no handshake",
          msg);
    close_client(&s);
    int dropped = closed_by_board(&a, idle_s + hang_s);
    snprintf(detail, sizeof detail, "after %.2f s", clock_seconds() - t0);
    check(dropped, "the idle holder dropped", detail);
    close_client(&a);
    good_client(0xa2, "the idle holder was dropped");
}

/* The holder's session on a new connection takes the board over; the old one is closed. */
static void takeover(void)
{
    char msg[WIRE_MAX_STRING + 1];
    client a = open_client(0), b = open_client(0);
    check(hello(&a, 0x77, msg, sizeof msg) == 0, "a holder", msg);
    check(hello(&b, 0x77, msg, sizeof msg) == 0 && get_ok(&b, 1),
          "its session reconnected: served", msg);
    check(closed_by_board(&a, hang_s), "  and the old connection closed", "");
    close_client(&a);
    close_client(&b);
}

/* A header that promises 1000 payload bytes, and 10 of them. */
static int half_frame(client *c)
{
    uint8_t fr[wire_frame_size(1000)];
    static uint8_t zero[1000];
    wire_write_frame(fr, WIRE_COMMAND, 0, WIRE_GET, 0, 9, zero, 1000);
    return put(c, fr, WIRE_HEADER + 10);
}

/* Half a frame, then silence: from the holder (others are busy until it is dropped, after
 * the frame timeout) and from a stranger (dropped, nobody waits). */
static void stalls(void)
{
    char msg[WIRE_MAX_STRING + 1], detail[64];
    client h = open_client(0), p = open_client(0);
    check(hello(&h, 0x5a, msg, sizeof msg) == 0, "a holder", msg);
    double t0 = clock_seconds();
    check(half_frame(&h) == 0 && half_frame(&p) == 0, "half a frame from it and a stranger",
          "");
    busy_while_held("the holder stalls in a frame");
    int dropped = closed_by_board(&h, frame_s + hang_s);
    snprintf(detail, sizeof detail, "after %.2f s", clock_seconds() - t0);
    check(dropped, "the stalled holder dropped", detail);
    check(closed_by_board(&p, hang_s), "the stalled stranger dropped", "");
    close_client(&h);
    close_client(&p);
    good_client(0x5b, "a holder stalled in a frame");
}

/* The holder asks for a 7 MB reply and never reads it: the board goes on answering others
 * (busy), drops it when nothing has moved for the idle timeout, and serves the next. */
static void slow_reader(void)
{
    char msg[WIRE_MAX_STRING + 1], detail[64];
    client r = open_client(4096);
    check(hello(&r, 0x51, msg, sizeof msg) == 0, "a holder with a 4 KiB receive buffer", msg);
    wire_buf p = {0};
    wire_put_u32(&p, 1);
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 0);
    wire_put_i32(&p, 512);
    wire_put_i32(&p, 512);
    uint32_t code;
    int placed = send_cmd(&r, WIRE_PLACE, 1, &p) == 0 &&
                 answer(&r, 1, &code, msg, sizeof msg) == WIRE_REPLY;
    check(placed, "  places a 512 x 512 layer", msg);
    p.len = 0;
    wire_put_i32(&p, 0); /* layer */
    wire_put_i32(&p, 1); /* p: 512 groups a vector */
    wire_put_i32(&p, 7); /* 7 x 4 x 512 x 513 bytes: 7.4 MB */
    wire_put_u8(&p, 1);
    memset(wire_put_space(&p, 7 * 512), 1, 7 * 512);
    double t0 = clock_seconds();
    check(send_cmd(&r, WIRE_VMM, 2, &p) == 0, "  asks for a 7.4 MB VMM reply, reads none", "");
    wire_buf_free(&p);
    busy_while_held("its holder does not read");
    int dropped = closed_by_board(&r, idle_s + hang_s);
    snprintf(detail, sizeof detail, "after %.2f s", clock_seconds() - t0);
    check(dropped, "the holder that does not read dropped", detail);
    close_client(&r);
    good_client(0x52, "a holder that did not read");
}

/* The board's resident memory in kB (a figure for the record, not checked: an ASan board's
 * quarantine makes it grow anyway). */
static long board_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

/* A stranger sends up to 8 MB of commands and reads nothing: the board stops reading it
 * once 64 KiB of its answers wait (the kernel's buffers hold the rest), serves a good client
 * meanwhile, and drops the stranger when nothing has moved for the idle timeout. */
static void flooder(void)
{
    client f = open_client(4096);
    uint8_t fr[wire_frame_size(0)];
    wire_write_frame(fr, WIRE_COMMAND, 0, WIRE_STATUS, 0, 3, NULL, 0);
    long rss0 = board_rss_kb();
    size_t sent = 0;
    for (; sent < 8u << 20; sent += sizeof fr) {
        struct pollfd pf = {f.fd, POLLOUT, 0};
        if (poll(&pf, 1, 200) <= 0 || send(f.fd, fr, sizeof fr, MSG_NOSIGNAL) <= 0)
            break;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "%zu bytes taken; the board's memory %ld -> %ld kB", sent,
             rss0, board_rss_kb());
    check(f.fd >= 0, "a stranger sends requests, reads nothing", detail);
    good_client(0xf1, "a stranger that reads nothing (still connected)");
    check(closed_by_board(&f, idle_s + hang_s), "  it is dropped when idle", "");
    close_client(&f);
}

/* 200 idle sockets: the board keeps at most max_clients, a good client is served. */
static void idle_crowd(int base)
{
    enum { N = 200 };
    static client crowd[N];
    int opened = 0;
    for (int i = 0; i < N; i++)
        opened += (crowd[i] = open_client(0)).fd >= 0;
    char detail[64];
    snprintf(detail, sizeof detail, "%d connected", opened);
    check(opened == N, "200 idle sockets", detail);
    good_client(0xc1, "200 idle sockets (still open)");
    int n = board_fds();
    snprintf(detail, sizeof detail, "%d open (%d before, at most %d clients)", n, base,
             max_clients);
    check(n >= base && n <= base + max_clients, "  the board's descriptors meanwhile", detail);
    for (int i = 0; i < N; i++)
        close_client(&crowd[i]);
    fds_back(base, "the crowd left");
}

/* 300 connections opened and closed, some after a handshake, some after half a header. */
static void churn(int base)
{
    char msg[WIRE_MAX_STRING + 1];
    for (int i = 0; i < 300; i++) {
        client c = open_client(0);
        if (i % 3 == 1)
            hello(&c, 0xd000 + (uint64_t)i, msg, sizeof msg);
        else if (i % 3 == 2)
            put(&c, "MPLK\1\1", 6);
        close_client(&c);
    }
    good_client(0xd1, "300 connections came and went");
    fds_back(base, "the churn");
}

int crowd_main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: chipd-abuse --crowd HOST:PORT PID IDLE_S FRAME_S MAX_CLIENTS\n");
        return 2;
    }
    addr = argv[2];
    pid = atoi(argv[3]);
    idle_s = atof(argv[4]);
    frame_s = atof(argv[5]);
    max_clients = atoi(argv[6]);
    hang_s = 5; /* "promptly": a hang, not a speed */
    int base = board_fds();
    if (base < 0) {
        fprintf(stderr, "chipd-abuse: cannot read /proc/%d/fd\n", pid);
        return 1;
    }
    good_client(0x01, "nothing (the start)");
    idle_holder();
    takeover();
    stalls();
    slow_reader();
    flooder();
    idle_crowd(base);
    churn(base);
    fds_back(base, "everything");
    printf("chipd-abuse --crowd: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
