/* link: a chip attached over TCP or a serial line, speaking the wire protocol
 * (docs/protocol.md) to a board or to mpcl-chipd.
 *
 * URIs (chip.c hands over the whole URI, because the scheme says which transport):
 *   tcp://HOST:PORT[?token=S&timeout_ms=2000&retries=5]
 *   serial:/dev/ttyX[?baud=921600&timeout_ms=...&retries=...&token=...]
 * (a serial device must be a terminal and not the lab's own: its controlling terminal and
 * the terminal of stdin, stdout or stderr are refused before anything is changed or sent;
 * a TCP connect gives up after timeout_ms; a board that serves another client answers
 * E_BUSY, and the open or call fails with its message, which names that client)
 * ("&" or "," between options, so lab.chip.open(uri, {retries = 8}) works too; the token
 * may also come from the environment variable MPCL_CHIP_TOKEN, which keeps it out of the
 * URI and so out of messages and journals.)
 *
 * Every call is one request and one reply, stop-and-wait. A request that gets no reply in
 * timeout_ms, or that the board says arrived damaged, is sent again with the same sequence
 * number, up to `retries` times (at once when the board reports the request damaged or a
 * reply arrives damaged); the board keeps its last replies by (session, sequence
 * number) and answers a repeat from that cache without running it again, so retries are
 * safe for every command, pulses and programming included (exactly once). A lost
 * connection is reopened and the handshake repeated with the same session id, and the
 * request is sent again; the board's chip state and reply cache survive it. Programming is
 * resumable on the board's side: its write-verify reads each cell first and pulses only the
 * cells not at their target, so an interrupted program re-run finishes the job without
 * writing cells twice. VMM batches travel whole (one request, one VMM on the board, so the
 * read-noise draws are those of the in-process sim); a batch over the message limit is
 * split.
 *
 * Parameters: the board's (forwarded), plus link_latency_ms (mean round trip of the calls),
 * link_latency_last_ms, link_calls (requests made), link_retries, link_errors (calls
 * that failed), link_reconnects, link_frames (frames sent and received), link_bad_frames
 * (damaged frames received), link_timeout_ms and link_max_retries (both settable);
 * board_NAME reads the board's status counter NAME (docs/protocol.md). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chip.h"
#include "error.h"
#include "wire.h"
#include "clock.h"

const chip_backend *chip_link_backend(void);

#define READ_CHUNK (256u << 10)
#define MAX_TIMEOUT_MS 600000

typedef struct link_stats {
    double lat_sum_ms, lat_last_ms;
    uint64_t calls, ok, retries, errors, reconnects, frames, bad_frames;
} link_stats;

/* What the frames read so far say about the request in flight. */
enum { PENDING = 0, DONE, RETRY, FAILED };

typedef struct link_state {
    int tcp; /* 1 TCP, 0 serial */
    char host[256], port[16], path[512];
    int baud;
    char token[256];
    int timeout_ms, retries;
    int fd;        /* -1 when not connected */
    int connected; /* ever: a later connection counts as a reconnection */
    int hello;     /* handshake done on this connection */
    uint64_t session, boot;
    uint32_t seq, max_payload;
    size_t max_message;
    wire_parser in;
    wire_asm as;
    wire_buf out; /* the frames of the request in flight */
    size_t out_frames;
    chip_info info;
    int nlayers;
    chip_rect at[MPCL_MAX_LAYERS];
    /* the exchange in flight */
    uint32_t want_seq;
    uint16_t want_cmd;
    int result;
    uint32_t board_err; /* the board's error code for the last call (0: none) */
    char why[1200]; /* why the last attempt failed, or the board's error */
    wire_buf rep;   /* the reply's payload */
    link_stats st;
} link_state;

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {
    }
}

/* --- options -------------------------------------------------------------------------------- */

static int parse_int(const char *k, const char *v, int lo, int hi, int *out, char *err,
                     size_t errlen)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < lo || n > hi)
        return err_set(err, errlen,
                       "option %s needs a whole number in %d-%d, got '%s'", k, lo, hi, v);
    *out = (int)n;
    return 0;
}

static int set_option(link_state *L, const char *k, const char *v, char *err, size_t errlen)
{
    if (!strcmp(k, "token")) {
        if (strlen(v) >= sizeof L->token)
            return err_set(err, errlen, "option token: longer than %zu bytes", sizeof L->token - 1);
        snprintf(L->token, sizeof L->token, "%s", v);
        return 0;
    }
    if (!strcmp(k, "timeout_ms"))
        return parse_int(k, v, 1, MAX_TIMEOUT_MS, &L->timeout_ms, err, errlen);
    if (!strcmp(k, "retries"))
        return parse_int(k, v, 0, 1000, &L->retries, err, errlen);
    if (!strcmp(k, "baud") && !L->tcp)
        return parse_int(k, v, 50, 4000000, &L->baud, err, errlen);
    return err_set(err, errlen, "unknown option '%s' (options: token, timeout_ms, retries%s)", k,
                   L->tcp ? "" : ", baud");
}

/* "k=v" pairs separated by '&' or ','. */
static int parse_options(link_state *L, char *opts, char *err, size_t errlen)
{
    for (char *save = NULL, *kv = strtok_r(opts, "&,", &save); kv;
         kv = strtok_r(NULL, "&,", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return err_set(err, errlen, "option '%s' is not key=value", kv);
        *eq = '\0';
        if (set_option(L, kv, eq + 1, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int parse_hostport(link_state *L, const char *s, char *err, size_t errlen)
{
    const char *colon = strrchr(s, ':');
    const char *h = s, *he = colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return err_set(err, errlen, "'%s' is not [IPv6]:PORT", s);
        h = s + 1;
        he = rb;
        colon = rb + 1;
    }
    if (!colon || colon == s || he == h || !colon[1] || (size_t)(he - h) >= sizeof L->host ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return err_set(err, errlen, "'%s' is not HOST:PORT", s);
    /* digits only, so no sign or blank; at most 5 of them (after leading zeros), so that
     * the number cannot overflow, and 1-65535 */
    const char *digits = colon + 1 + strspn(colon + 1, "0");
    if (strlen(digits) > 5 || atoi(digits) < 1 || atoi(digits) > 65535)
        return err_set(err, errlen, "'%s': port %.12s%s is not 1-65535", s, colon + 1,
                       strlen(colon + 1) > 12 ? "..." : "");
    memcpy(L->host, h, (size_t)(he - h));
    L->host[he - h] = '\0';
    snprintf(L->port, sizeof L->port, "%d", atoi(digits));
    return 0;
}

static int parse_uri(link_state *L, const char *uri, char *err, size_t errlen)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", uri) >= (int)sizeof buf)
        return err_set(err, errlen, "URI longer than %zu bytes", sizeof buf - 1);
    char *rest;
    if (!strncmp(buf, "tcp://", 6)) {
        L->tcp = 1;
        rest = buf + 6;
    } else if (!strncmp(buf, "serial:", 7)) {
        rest = buf + 7;
    } else {
        return err_set(err, errlen, "not a link URI (tcp://HOST:PORT or serial:/dev/ttyX)");
    }
    char *q = rest + strcspn(rest, "?,&");
    char *opts = *q ? q + 1 : q;
    *q = '\0';
    if (L->tcp && parse_hostport(L, rest, err, errlen) < 0)
        return -1;
    if (!L->tcp) {
        if (!rest[0] || strlen(rest) >= sizeof L->path)
            return err_set(err, errlen, "serial: give a device path (serial:/dev/ttyUSB0)");
        snprintf(L->path, sizeof L->path, "%s", rest);
    }
    return parse_options(L, opts, err, errlen);
}

/* --- transports ----------------------------------------------------------------------------- */

static void disconnect(link_state *L)
{
    if (L->fd >= 0)
        close(L->fd);
    L->fd = -1;
    L->hello = 0;
    wire_parser_reset(&L->in);
    wire_asm_reset(&L->as);
}

/* Wait for a non-blocking connect; 0 connected. */
static int connect_wait(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLOUT, 0};
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -1;
    errno = soerr;
    return soerr ? -1 : 0;
}

static int open_tcp(link_state *L, char *why, size_t len)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(L->host, L->port, &hints, &ai);
    if (rc) {
        snprintf(why, len, "%s:%s: %s", L->host, L->port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if ((connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) &&
            connect_wait(fd, L->timeout_ms) == 0)
            break;
        snprintf(why, len, "cannot connect to %s:%s: %s", L->host, L->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return -1;
    int one = 1; /* small requests must not wait for Nagle */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    L->fd = fd;
    return 0;
}

static int baud_constant(int baud, speed_t *out)
{
    static const struct { int baud; speed_t c; } t[] = {
        {9600, B9600},       {19200, B19200},     {38400, B38400},     {57600, B57600},
        {115200, B115200},   {230400, B230400},   {460800, B460800},   {500000, B500000},
        {576000, B576000},   {921600, B921600},   {1000000, B1000000}, {1152000, B1152000},
        {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
        {3500000, B3500000}, {4000000, B4000000}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (t[i].baud == baud) {
            *out = t[i].c;
            return 0;
        }
    return -1;
}

/* A serial line must be a terminal (a character device) that is not the lab's own: not its
 * controlling terminal (/dev/tty, or the device behind it) and not the terminal of stdin,
 * stdout or stderr, which raw mode and frames would wreck. fd is open (O_NOCTTY, nothing
 * changed yet). 0, or -1 with why. */
static int serial_is_foreign(const char *path, int fd, char *why, size_t len)
{
    static const char *const stdname[] = {"standard input", "standard output",
                                          "standard error"};
    struct stat st, s2;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || !isatty(fd)) {
        snprintf(why, len, "%s: not a terminal (give the board's serial device, e.g. "
                           "/dev/ttyUSB0)", path);
        return -1;
    }
    if (tcgetsid(fd) >= 0 || (major(st.st_rdev) == 5 && minor(st.st_rdev) == 0)) {
        snprintf(why, len, "%s: the lab's own controlling terminal, not a board's serial line",
                 path);
        return -1;
    }
    for (int i = 0; i < 3; i++)
        if (isatty(i) && fstat(i, &s2) == 0 && S_ISCHR(s2.st_mode) &&
            s2.st_rdev == st.st_rdev) {
            snprintf(why, len, "%s: the terminal of the lab's %s, not a board's serial line",
                     path, stdname[i]);
            return -1;
        }
    return 0;
}

/* Open the serial device: only a character device (stat first: a FIFO or a file is never
 * opened), then serial_is_foreign. The descriptor; or, with why, -1 when it cannot be opened
 * now (it may come back: a USB adapter replugged) or -2 when it is refused for good. */
static int open_device(const char *path, char *why, size_t len)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(why, len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISCHR(st.st_mode)) {
        snprintf(why, len, "%s: not a character device (give the board's serial device, e.g. "
                           "/dev/ttyUSB0)", path);
        return -2;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (serial_is_foreign(path, fd, why, len) < 0) {
        close(fd);
        return -2;
    }
    return fd;
}

/* Raw mode: no echo, no line editing, no translation, 8N1, reads return what is there.
 * 0, or open_device's -1 (try again) or -2 (refused for good). */
static int open_serial(link_state *L, char *why, size_t len)
{
    speed_t sp;
    if (baud_constant(L->baud, &sp) < 0) {
        snprintf(why, len, "%s: baud rate %d not supported (9600-4000000, the standard rates)",
                 L->path, L->baud);
        return -2;
    }
    int fd = open_device(L->path, why, len);
    if (fd < 0)
        return fd;
    struct termios t;
    if (tcgetattr(fd, &t) < 0) {
        snprintf(why, len, "%s: not a terminal: %s", L->path, strerror(errno));
        close(fd);
        return -1;
    }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    if (tcsetattr(fd, TCSANOW, &t) < 0) {
        snprintf(why, len, "%s: cannot set raw mode at %d baud: %s", L->path, L->baud,
                 strerror(errno));
        close(fd);
        return -1;
    }
    tcflush(fd, TCIOFLUSH); /* whatever an earlier user left in the queues */
    L->fd = fd;
    return 0;
}

/* Read what is there into the parser: 1 bytes read, 0 nothing yet, -1 link lost. */
static int read_some(link_state *L)
{
    uint8_t *dst = wire_reserve(&L->in, READ_CHUNK);
    if (!dst) {
        snprintf(L->why, sizeof L->why, "receive buffer full or out of memory");
        return -1;
    }
    ssize_t n = read(L->fd, dst, READ_CHUNK);
    if (n > 0) {
        wire_commit(&L->in, (size_t)n);
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    snprintf(L->why, sizeof L->why, "link lost (%s)", n == 0 ? "closed by the board"
                                                             : strerror(errno));
    return -1;
}

/* --- frames in ------------------------------------------------------------------------------ */

/* A message for the exchange in flight. */
static void on_message(link_state *L, const wire_msg *m)
{
    if (m->type == WIRE_ERROR && m->seq == 0 && m->cmd == 0 && L->result == PENDING &&
        L->want_seq != 0) {
        /* the board received garbage, perhaps our request with its header damaged */
        snprintf(L->why, sizeof L->why, "the board received garbage");
        L->result = RETRY;
        return;
    }
    if (m->type == WIRE_COMMAND || m->seq != L->want_seq || L->result != PENDING)
        return; /* a stale reply (an earlier attempt's), or not for us */
    if (m->type == WIRE_REPLY) {
        if (m->cmd != L->want_cmd) {
            snprintf(L->why, sizeof L->why, "reply for command %u to command %u", m->cmd,
                     L->want_cmd);
            L->result = FAILED;
            return;
        }
        L->rep.len = 0;
        wire_put_bytes(&L->rep, m->data, m->len);
        if (L->rep.oom) {
            snprintf(L->why, sizeof L->why, "out of memory for a %zu-byte reply", m->len);
            L->result = FAILED;
            return;
        }
        L->result = DONE;
        return;
    }
    uint32_t code;
    char msg[WIRE_MAX_STRING + 1];
    wire_get_error(m->data, m->len, &code, msg, sizeof msg);
    snprintf(L->why, sizeof L->why, "%s", msg);
    L->board_err = code;
    if (code == WIRE_E_FRAME) {
        L->result = RETRY; /* our request arrived damaged */
    } else if (code == WIRE_E_NO_HELLO && m->cmd != WIRE_HELLO) {
        L->hello = 0; /* the board's side of the link was reset: shake hands again */
        L->st.reconnects++;
        L->result = RETRY;
    } else {
        L->result = FAILED;
    }
}

/* Take every complete frame out of the parser. A damaged reply to the request in flight,
 * or garbage with nothing after it (perhaps the reply with its header damaged), makes us ask
 * again now rather than at the timeout; a needless repeat is answered from the board's
 * cache and its reply dropped as stale. */
static void drain(link_state *L)
{
    wire_frame f;
    wire_msg m;
    char msg[200];
    int ev, bad = 0;
    uint64_t garbage = L->in.garbage_bytes;
    while ((ev = wire_next(&L->in, &f, msg, sizeof msg)) != WIRE_NEED_MORE) {
        L->st.frames++;
        bad = ev == WIRE_BAD_FRAME;
        if (bad) {
            L->st.bad_frames++;
            if (f.seq == L->want_seq && f.type != WIRE_COMMAND && L->result == PENDING) {
                snprintf(L->why, sizeof L->why, "damaged reply (%s)", msg);
                L->result = RETRY;
            }
            continue;
        }
        garbage = L->in.garbage_bytes;
        if (wire_asm_add(&L->as, &f, &m, msg, sizeof msg) == 1)
            on_message(L, &m);
    }
    if (!bad && L->result == PENDING && L->in.garbage_bytes > garbage &&
        L->in.end == L->in.start) {
        snprintf(L->why, sizeof L->why, "garbage instead of a reply");
        L->result = RETRY;
    }
}

/* --- frames out ----------------------------------------------------------------------------- */

/* Send the request's frames, reading (and draining) whatever comes meanwhile so that the
 * board never blocks writing to us while we block writing to it. 0 sent, -1 link lost. */
static int send_all(link_state *L)
{
    size_t off = 0;
    double idle_since = (1000 * clock_seconds());
    while (off < L->out.len) {
        ssize_t n = L->tcp ? send(L->fd, L->out.data + off, L->out.len - off, MSG_NOSIGNAL)
                           : write(L->fd, L->out.data + off, L->out.len - off);
        if (n > 0) {
            off += (size_t)n;
            idle_since = (1000 * clock_seconds());
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(L->why, sizeof L->why, "link lost while sending (%s)", strerror(errno));
            return -1;
        }
        double left = L->timeout_ms - ((1000 * clock_seconds()) - idle_since);
        if (left <= 0) {
            snprintf(L->why, sizeof L->why, "could not send for %d ms", L->timeout_ms);
            return -1;
        }
        struct pollfd p = {L->fd, POLLOUT | POLLIN, 0};
        if (poll(&p, 1, (int)left + 1) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            if (read_some(L) < 0)
                return -1;
            drain(L);
        }
    }
    return 0;
}

/* One attempt: send the request in L->out and wait for its reply. Returns DONE, RETRY
 * (timeout, damaged, link lost: L->why says which) or FAILED (the board's error in L->why). */
static int attempt(link_state *L, uint32_t seq, uint16_t cmd)
{
    L->want_seq = seq;
    L->want_cmd = cmd;
    L->result = PENDING;
    if (send_all(L) < 0) {
        disconnect(L);
        return RETRY;
    }
    L->st.frames += L->out_frames;
    double last = (1000 * clock_seconds());
    while (L->result == PENDING) {
        double left = L->timeout_ms - ((1000 * clock_seconds()) - last);
        if (left <= 0) {
            snprintf(L->why, sizeof L->why, "no reply within %d ms", L->timeout_ms);
            return RETRY;
        }
        struct pollfd p = {L->fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)left + 1);
        if (rc < 0 && errno != EINTR) {
            snprintf(L->why, sizeof L->why, "poll: %s", strerror(errno));
            disconnect(L);
            return RETRY;
        }
        if (rc <= 0)
            continue;
        int got = read_some(L);
        if (got < 0) {
            disconnect(L);
            return RETRY;
        }
        if (got > 0)
            last = (1000 * clock_seconds()); /* a long reply in progress: the timeout counts from its last byte */
        drain(L);
    }
    return L->result;
}

/* Encode a request into L->out. */
static int encode(link_state *L, uint16_t cmd, uint32_t seq, const wire_buf *req)
{
    L->out.len = 0;
    if (req->oom || wire_put_message(&L->out, WIRE_COMMAND, cmd, seq, req->data, req->len,
                                     L->max_payload) < 0) {
        snprintf(L->why, sizeof L->why, "request of %zu bytes too large or out of memory",
                 req->len);
        return -1;
    }
    L->out_frames = req->len ? (req->len + L->max_payload - 1) / L->max_payload : 1;
    return 0;
}

/* --- the handshake -------------------------------------------------------------------------- */

static int take_info(link_state *L, wire_reader *r)
{
    chip_info *in = &L->info;
    uint32_t version, maxp, maxm, depth, caps;
    uint64_t boot;
    memset(in, 0, sizeof *in);
    wire_get_u32(r, &version);
    wire_get_u32(r, &maxp);
    wire_get_u32(r, &maxm);
    wire_get_u32(r, &depth);
    wire_get_u64(r, &boot);
    char backend[64];
    wire_get_str(r, backend, sizeof backend);
    wire_get_str(r, in->name, sizeof in->name);
    wire_get_str(r, in->firmware, sizeof in->firmware);
    wire_get_str(r, in->id, sizeof in->id);
    wire_get_i32(r, &in->rows);
    wire_get_i32(r, &in->cols);
    wire_get_u32(r, &caps);
    if (wire_done(r) < 0 || version != WIRE_VERSION || maxp < 4096 || maxm < maxp ||
        in->rows < 1 || in->cols < 1 || in->rows > 65536 || in->cols > 65536) {
        snprintf(L->why, sizeof L->why, "the board's identity does not decode");
        return -1;
    }
    snprintf(in->backend, sizeof in->backend, "link");
    in->caps = caps;
    L->max_payload = maxp < WIRE_MAX_PAYLOAD ? maxp : WIRE_MAX_PAYLOAD;
    L->max_message = maxm < WIRE_MAX_MESSAGE ? maxm : WIRE_MAX_MESSAGE;
    if (L->boot && boot != L->boot) {
        L->boot = boot;
        L->nlayers = 0;
        snprintf(L->why, sizeof L->why, "the board restarted (its state, placement and "
                                        "programmed cells, is lost): open the chip again");
        return -1;
    }
    L->boot = boot;
    return 0;
}

/* Connect if needed and shake hands. 0 ready, -1 transient (retry), -2 refused for good. */
static int ensure_ready(link_state *L)
{
    if (L->hello)
        return 0;
    if (L->fd < 0) {
        int rc = L->tcp ? open_tcp(L, L->why, sizeof L->why) : open_serial(L, L->why, sizeof L->why);
        if (rc < 0)
            return rc;
        if (L->connected)
            L->st.reconnects++;
        L->connected = 1;
    }
    wire_buf req = {0};
    wire_put_u32(&req, WIRE_VERSION);
    wire_put_u64(&req, L->session);
    wire_put_str(&req, L->token);
    int rc = encode(L, WIRE_HELLO, 0, &req);
    wire_buf_free(&req);
    if (rc < 0)
        return -2;
    rc = attempt(L, 0, WIRE_HELLO);
    if (rc == RETRY)
        return -1;
    if (rc == FAILED)
        return -2;
    wire_reader r;
    wire_reader_init(&r, L->rep.data, L->rep.len);
    if (take_info(L, &r) < 0)
        return -2;
    L->hello = 1;
    return 0;
}

/* --- calls ---------------------------------------------------------------------------------- */

static uint32_t next_seq(link_state *L)
{
    if (++L->seq == 0) /* 0 is the handshake's */
        L->seq = 1;
    return L->seq;
}

/* One request with its retries; on success the reply's payload is in L->rep. Returns 0, or
 * -1 with a one-line message in err. */
static int call(link_state *L, uint16_t cmd, const wire_buf *req, char *err, size_t errlen)
{
    char name[32];
    const char *what = wire_cmd_name(cmd, name, sizeof name);
    uint32_t seq = next_seq(L);
    double t0 = (1000 * clock_seconds());
    L->st.calls++;
    L->board_err = 0;
    int tries = 0;
    for (; tries <= L->retries; tries++) {
        if (tries) {
            L->st.retries++;
            if (L->fd < 0) /* back off while the board is away: 20, 40, ... 500 ms */
                sleep_ms(tries < 5 ? 10 << tries : 500);
        }
        int ready = ensure_ready(L);
        if (ready == -2)
            break;
        if (ready < 0)
            continue;
        if (encode(L, cmd, seq, req) < 0)
            break;
        int rc = attempt(L, seq, cmd);
        if (rc == DONE) {
            L->st.lat_last_ms = (1000 * clock_seconds()) - t0;
            L->st.lat_sum_ms += L->st.lat_last_ms;
            L->st.ok++;
            return 0;
        }
        if (rc == FAILED)
            break;
    }
    L->st.errors++;
    if (tries > L->retries)
        err_format(err, errlen, "no reply to %s (seq %u) after %d attempts: %s", what, seq, tries,
                   L->why);
    else
        err_format(err, errlen, "%s", L->why);
    return -1;
}

/* call, then a reader over the reply; the request is freed either way. */
static int call_read(link_state *L, uint16_t cmd, wire_buf *req, wire_reader *rd, char *err,
                     size_t errlen)
{
    int rc = call(L, cmd, req, err, errlen);
    wire_buf_free(req);
    if (rc < 0)
        return -1;
    wire_reader_init(rd, L->rep.data, L->rep.len);
    return 0;
}

/* A reply that must be empty. */
static int call_empty(link_state *L, uint16_t cmd, wire_buf *req, char *err, size_t errlen)
{
    int rc = call(L, cmd, req, err, errlen);
    wire_buf_free(req);
    if (rc == 0 && L->rep.len)
        return err_set(err, errlen, "the board's reply has %zu unexpected bytes", L->rep.len);
    return rc;
}

static int check_layer(const link_state *L, int layer, char *err, size_t errlen);

static int bad_reply(char *err, size_t errlen, const char *what)
{
    return err_set(err, errlen, "the board's reply to %s does not decode", what);
}

/* --- the backend ---------------------------------------------------------------------------- */

static void link_close(void *state)
{
    link_state *L = state;
    disconnect(L);
    wire_parser_free(&L->in);
    wire_asm_free(&L->as);
    wire_buf_free(&L->out);
    wire_buf_free(&L->rep);
    free(L);
}

static uint64_t new_session(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s || !s) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        s = ((uint64_t)t.tv_sec << 32) ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 16;
    }
    return s ? s : 1;
}

static int link_open(const char *options, void **state, char *err, size_t errlen)
{
    link_state *L = calloc(1, sizeof *L);
    if (!L)
        return err_set(err, errlen, "out of memory");
    L->fd = -1;
    L->timeout_ms = 2000;
    L->retries = 5;
    L->baud = 921600;
    L->max_payload = WIRE_MAX_PAYLOAD;
    L->max_message = WIRE_MAX_MESSAGE;
    L->session = new_session();
    const char *env = getenv("MPCL_CHIP_TOKEN");
    if (env)
        snprintf(L->token, sizeof L->token, "%s", env);
    wire_asm_init(&L->as, 0);
    if (wire_parser_init(&L->in, 0) < 0) {
        link_close(L);
        return err_set(err, errlen, "out of memory");
    }
    if (parse_uri(L, options ? options : "", err, errlen) < 0) {
        link_close(L);
        return -1;
    }
    int rc = -1;
    for (int tries = 0; tries <= L->retries && rc == -1; tries++) {
        if (tries)
            L->st.retries++;
        rc = ensure_ready(L);
    }
    if (rc < 0) {
        if (rc == -1) /* nothing that spoke the protocol answered */
            err_format(err, errlen, "no handshake after %d attempts: %s", L->retries + 1, L->why);
        else
            err_format(err, errlen, "%s", L->why);
        link_close(L);
        return -1;
    }
    *state = L;
    return 0;
}

static void link_info(void *state, chip_info *out)
{
    link_state *L = state;
    *out = L->info;
}

static int link_pulse(void *state, int array, int row, int col, chip_pulse_kind kind,
                      float amplitude_v, float width_s, char *err, size_t errlen)
{
    wire_buf b = {0};
    wire_put_u8(&b, (uint8_t)array);
    wire_put_u8(&b, (uint8_t)kind);
    wire_put_i32(&b, row);
    wire_put_i32(&b, col);
    wire_put_f32(&b, amplitude_v);
    wire_put_f32(&b, width_s);
    return call_empty(state, WIRE_PULSE, &b, err, errlen);
}

static void put_rect(wire_buf *b, chip_rect r)
{
    wire_put_i32(b, r.row0);
    wire_put_i32(b, r.col0);
    wire_put_i32(b, r.rows);
    wire_put_i32(b, r.cols);
}

/* Rows of a block per request, so that `bits` bits a cell stay within the message limit
 * (a 512 x 512 block always travels whole; bigger chips' blocks go in bands of rows, in
 * order, as the board would have visited them). */
static int band_rows(const link_state *L, chip_rect r, size_t bits)
{
    size_t rows = (L->max_message - 64) * 8 / (bits * (size_t)r.cols);
    return rows < 1 ? 1 : rows > (size_t)r.rows ? r.rows : (int)rows;
}

static int program_band(link_state *L, int array, chip_rect r, const uint8_t *target,
                        const chip_verify *v, chip_report *rep, uint8_t *failed, char *err,
                        size_t errlen)
{
    size_t n = (size_t)r.rows * r.cols;
    wire_buf b = {0};
    wire_put_u8(&b, (uint8_t)array);
    put_rect(&b, r);
    wire_put_f32(&b, v->tol);
    wire_put_i32(&b, v->max_pulses);
    wire_put_u8(&b, failed != NULL);
    wire_put_bits(&b, target, n);
    wire_reader rd;
    if (call_read(L, WIRE_PROGRAM, &b, &rd, err, errlen) < 0)
        return -1;
    uint64_t cells, pulses, bad;
    wire_get_u64(&rd, &cells);
    wire_get_u64(&rd, &pulses);
    wire_get_u64(&rd, &bad);
    if (failed)
        wire_get_bits(&rd, failed, n);
    if (wire_done(&rd) < 0)
        return bad_reply(err, errlen, "program");
    rep->cells += (long)cells;
    rep->pulses += (long)pulses;
    rep->failed += (long)bad;
    return 0;
}

static int link_program(void *state, int array, chip_rect r, const uint8_t *target,
                        const chip_verify *v, chip_report *rep, uint8_t *failed, char *err,
                        size_t errlen)
{
    link_state *L = state;
    int band = band_rows(L, r, 1);
    *rep = (chip_report){0, 0, 0};
    for (int i = 0; i < r.rows; i += band) {
        chip_rect b = {r.row0 + i, r.col0, r.rows - i < band ? r.rows - i : band, r.cols};
        size_t off = (size_t)i * r.cols;
        if (program_band(L, array, b, target + off, v, rep, failed ? failed + off : NULL, err,
                         errlen) < 0)
            return -1;
    }
    return 0;
}

static int read_band(link_state *L, uint16_t cmd, int array, chip_rect r, float *g, char *err,
                     size_t errlen)
{
    wire_buf b = {0};
    wire_put_u8(&b, (uint8_t)array);
    put_rect(&b, r);
    wire_reader rd;
    if (call_read(L, cmd, &b, &rd, err, errlen) < 0)
        return -1;
    wire_get_f32s(&rd, g, (size_t)r.rows * r.cols);
    if (wire_done(&rd) < 0)
        return bad_reply(err, errlen, cmd == WIRE_READ ? "read" : "peek");
    return 0;
}

static int read_block(link_state *L, uint16_t cmd, int array, chip_rect r, float *g, char *err,
                      size_t errlen)
{
    int band = band_rows(L, r, 32);
    for (int i = 0; i < r.rows; i += band) {
        chip_rect b = {r.row0 + i, r.col0, r.rows - i < band ? r.rows - i : band, r.cols};
        if (read_band(L, cmd, array, b, g + (size_t)i * r.cols, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int link_read(void *state, int array, chip_rect r, float *g, char *err, size_t errlen)
{
    return read_block(state, WIRE_READ, array, r, g, err, errlen);
}

static int link_peek(void *state, int array, chip_rect r, float *g, char *err, size_t errlen)
{
    return read_block(state, WIRE_PEEK, array, r, g, err, errlen);
}

static int link_read_layer(void *state, int array, int layer, int p, float *g, char *err,
                           size_t errlen)
{
    link_state *L = state;
    wire_buf b = {0};
    wire_put_u8(&b, (uint8_t)array);
    wire_put_u32(&b, (uint32_t)layer);
    wire_put_u32(&b, (uint32_t)p);
    wire_reader rd;
    if (check_layer(L, layer, err, errlen) < 0) {
        wire_buf_free(&b);
        return -1;
    }
    chip_rect r = L->at[layer];
    if (call_read(L, WIRE_READ_LAYER, &b, &rd, err, errlen) < 0)
        /* a board that predates READ_LAYER: its cells, one read each, as chip.h allows */
        return L->board_err == WIRE_E_UNKNOWN ? read_block(L, WIRE_READ, array, r, g, err, errlen)
                                              : -1;
    wire_get_f32s(&rd, g, (size_t)r.rows * r.cols);
    if (wire_done(&rd) < 0)
        return bad_reply(err, errlen, "read_layer");
    return 0;
}

static int link_place(void *state, int nlayers, const chip_rect *at, char *err, size_t errlen)
{
    link_state *L = state;
    wire_buf b = {0};
    wire_put_u32(&b, (uint32_t)nlayers);
    for (int l = 0; l < nlayers; l++)
        put_rect(&b, at[l]);
    if (call_empty(L, WIRE_PLACE, &b, err, errlen) < 0)
        return -1;
    L->nlayers = nlayers;
    memcpy(L->at, at, sizeof *at * (size_t)nlayers);
    return 0;
}

/* The y of a VMM reply: u8 width (2 or 4), then n values. */
static int take_y(wire_reader *rd, int32_t *y, size_t n)
{
    uint8_t width;
    if (wire_get_u8(rd, &width) < 0)
        return -1;
    if (width == 4)
        return wire_get_i32s(rd, y, n);
    const uint8_t *p = width == 2 ? wire_get_bytes(rd, 2 * n) : NULL;
    if (!p)
        return -1;
    for (size_t k = 0; k < n; k++)
        y[k] = (int16_t)(uint16_t)(p[2 * k] | p[2 * k + 1] << 8);
    return 0;
}

/* Vectors per request so that the request (in_bytes a vector) and the reply (out_bytes a
 * vector) stay within the message limit. */
static int batch_limit(const link_state *L, size_t in_bytes, size_t out_bytes)
{
    size_t per = in_bytes > out_bytes ? in_bytes : out_bytes;
    size_t n = (L->max_message - 64) / (per ? per : 1);
    return n < 1 ? 1 : n > (size_t)1 << 30 ? 1 << 30 : (int)n;
}

static int check_layer(const link_state *L, int layer, char *err, size_t errlen)
{
    if (layer < 0 || layer >= L->nlayers)
        return err_set(err, errlen, "layer %lld is not placed", (long long)layer + 1);
    return 0;
}

static int link_vmm(void *state, int layer, int p, const int8_t *x, int B, int32_t *y,
                    int32_t *groups, char *err, size_t errlen)
{
    link_state *L = state;
    if (check_layer(L, layer, err, errlen) < 0)
        return -1;
    size_t rows = (size_t)L->at[layer].rows, cols = (size_t)L->at[layer].cols;
    size_t G = (rows + (size_t)p - 1) / (size_t)p;
    int chunk = batch_limit(L, rows, 4 * cols * (groups ? G + 1 : 1));
    for (int k0 = 0; k0 < B; k0 += chunk) {
        int nb = B - k0 < chunk ? B - k0 : chunk;
        wire_buf b = {0};
        wire_put_i32(&b, layer);
        wire_put_i32(&b, p);
        wire_put_i32(&b, nb);
        wire_put_u8(&b, groups != NULL);
        wire_put_bytes(&b, x + (size_t)k0 * rows, (size_t)nb * rows);
        int rc = call(L, WIRE_VMM, &b, err, errlen);
        wire_buf_free(&b);
        if (rc < 0)
            return -1;
        wire_reader rd;
        wire_reader_init(&rd, L->rep.data, L->rep.len);
        take_y(&rd, y + (size_t)k0 * cols, (size_t)nb * cols);
        if (groups)
            wire_get_i32s(&rd, groups + (size_t)k0 * G * cols, (size_t)nb * G * cols);
        if (wire_done(&rd) < 0)
            return bad_reply(err, errlen, "vmm");
    }
    return 0;
}

static int link_vmm_bits(void *state, int layer, int p, const uint64_t *bits, int words, int B,
                         int pm1, int32_t *y, char *err, size_t errlen)
{
    link_state *L = state;
    if (check_layer(L, layer, err, errlen) < 0)
        return -1;
    size_t cols = (size_t)L->at[layer].cols;
    size_t wn = ((size_t)L->at[layer].rows + 63) / 64; /* only the words the layer uses */
    int chunk = batch_limit(L, 8 * wn, 4 * cols);
    for (int k0 = 0; k0 < B; k0 += chunk) {
        int nb = B - k0 < chunk ? B - k0 : chunk;
        wire_buf b = {0};
        wire_put_i32(&b, layer);
        wire_put_i32(&b, p);
        wire_put_i32(&b, nb);
        wire_put_u8(&b, pm1 != 0);
        for (int k = 0; k < nb; k++)
            wire_put_u64s(&b, bits + (size_t)(k0 + k) * (size_t)words, wn);
        int rc = call(L, WIRE_VMM_BITS, &b, err, errlen);
        wire_buf_free(&b);
        if (rc < 0)
            return -1;
        wire_reader rd;
        wire_reader_init(&rd, L->rep.data, L->rep.len);
        take_y(&rd, y + (size_t)k0 * cols, (size_t)nb * cols);
        if (wire_done(&rd) < 0)
            return bad_reply(err, errlen, "vmm");
    }
    return 0;
}

/* The board's status counter `name` (STATUS: u32 n, then n (string, f64) pairs). */
static int board_status(link_state *L, const char *name, double *v, char *err, size_t errlen)
{
    wire_buf b = {0};
    if (call(L, WIRE_STATUS, &b, err, errlen) < 0)
        return -1;
    wire_reader rd;
    wire_reader_init(&rd, L->rep.data, L->rep.len);
    uint32_t n = 0;
    wire_get_u32(&rd, &n);
    int found = 0;
    for (uint32_t i = 0; i < n && !rd.bad; i++) {
        char key[64];
        double val;
        wire_get_str(&rd, key, sizeof key);
        wire_get_f64(&rd, &val);
        if (!rd.bad && !strcmp(key, name)) {
            *v = val;
            found = 1;
        }
    }
    if (wire_done(&rd) < 0)
        return bad_reply(err, errlen, "status");
    if (!found)
        return err_set(err, errlen, "the board has no status counter '%s'", name);
    return 0;
}

/* The link's own parameters; 1 when key is one of them. */
static int link_param(const link_state *L, const char *key, double *v)
{
    const link_stats *s = &L->st;
    if (!strcmp(key, "link_latency_ms"))
        *v = s->ok ? s->lat_sum_ms / (double)s->ok : 0;
    else if (!strcmp(key, "link_latency_last_ms"))
        *v = s->lat_last_ms;
    else if (!strcmp(key, "link_calls"))
        *v = (double)s->calls;
    else if (!strcmp(key, "link_retries"))
        *v = (double)s->retries;
    else if (!strcmp(key, "link_errors"))
        *v = (double)s->errors;
    else if (!strcmp(key, "link_reconnects"))
        *v = (double)s->reconnects;
    else if (!strcmp(key, "link_frames"))
        *v = (double)s->frames;
    else if (!strcmp(key, "link_bad_frames"))
        *v = (double)s->bad_frames;
    else if (!strcmp(key, "link_timeout_ms"))
        *v = L->timeout_ms;
    else if (!strcmp(key, "link_max_retries"))
        *v = L->retries;
    else
        return 0;
    return 1;
}

static int link_get(void *state, const char *key, double *v, char *err, size_t errlen)
{
    link_state *L = state;
    if (link_param(L, key, v))
        return 0;
    if (!strncmp(key, "board_", 6))
        return board_status(L, key + 6, v, err, errlen);
    wire_buf b = {0};
    wire_put_str(&b, key);
    wire_reader rd;
    if (call_read(L, WIRE_GET, &b, &rd, err, errlen) < 0)
        return -1;
    wire_get_f64(&rd, v);
    return wire_done(&rd) < 0 ? bad_reply(err, errlen, "get") : 0;
}

static int link_set(void *state, const char *key, double value, char *err, size_t errlen)
{
    link_state *L = state;
    if (!strcmp(key, "link_timeout_ms") || !strcmp(key, "link_max_retries")) {
        int hi = key[5] == 't' ? MAX_TIMEOUT_MS : 1000, lo = key[5] == 't';
        if (!(value >= lo && value <= hi))
            return err_set(err, errlen, "%s must be %d-%d, got %g", key, lo, hi, value);
        *(key[5] == 't' ? &L->timeout_ms : &L->retries) = (int)value;
        return 0;
    }
    double dummy;
    if (link_param(L, key, &dummy))
        return err_set(err, errlen, "%s is read only (settable: link_timeout_ms, link_max_retries)",
                       key);
    wire_buf b = {0};
    wire_put_str(&b, key);
    wire_put_f64(&b, value);
    return call_empty(L, WIRE_SET, &b, err, errlen);
}

/* The sim's parameters (a board that lacks one says so when asked) and the link's. */
static const char *const PARAMS[] = {
    "v_read", "adc_bits", "tia_gain", "read_noise", "int_frac_bits", "adc_channels", "time_s",
    "g_lrs", "g_hrs", "array_ops", "adds", "conversions", "adc_vfs", "adc_offset", "adc_inl",
    "adc_dnl", "adc_seed", "row_wire_ohm", "col_wire_ohm", "access_ohm", "driver_ohm",
    "link_latency_ms",
    "link_latency_last_ms", "link_calls", "link_retries", "link_errors", "link_reconnects",
    "link_frames", "link_bad_frames", "link_timeout_ms", "link_max_retries", NULL};

static const chip_backend LINK = {
    .abi = CHIP_ABI_VERSION,
    .name = "link",
    .open = link_open,
    .close = link_close,
    .info = link_info,
    .pulse = link_pulse,
    .program = link_program,
    .read = link_read,
    .place = link_place,
    .vmm = link_vmm,
    .get_param = link_get,
    .set_param = link_set,
    .params = PARAMS,
    .vmm_bits = link_vmm_bits,
    .peek = link_peek,
    .read_layer = link_read_layer,
};

const chip_backend *chip_link_backend(void) { return &LINK; }
