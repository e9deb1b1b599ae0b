#include "store.h"

#include "error.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"

static const char MAGIC[8] = {'M', 'P', 'C', 'L', 'S', 'T', 'O', 'R'};
#define HEADER (8 + 4 + 16 + 8 + 4)

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint32_t crc_of(const void *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *b = p;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* What store_write writes: the header, then the payload. */
typedef struct store_out {
    const unsigned char *head;
    const void *payload;
    size_t len;
} store_out;

static int write_store(int fd, void *ud)
{
    const store_out *o = ud;
    return write_all(fd, o->head, HEADER) < 0 ? -1 : write_all(fd, o->payload, o->len);
}

int store_write(const char *path, const char *kind, const void *payload, size_t len, char *err,
                size_t errlen)
{
    unsigned char head[HEADER] = {0};
    memcpy(head, MAGIC, 8);
    uint32_t v = STORE_VERSION;
    memcpy(head + 8, &v, 4);
    strncpy((char *)head + 12, kind, 16);
    uint64_t l = len;
    memcpy(head + 28, &l, 8);
    uint32_t crc = crc_of(payload, len);
    memcpy(head + 36, &crc, 4);
    /* a temporary file, fsync'd, renamed into place, the directory fsync'd (fileio.h) */
    store_out o = {head, payload, len};
    return fileio_write_atomic(path, write_store, &o, err, errlen);
}

int store_read(const char *path, char kind[17], void **payload, size_t *len, char *err,
               size_t errlen)
{
    *payload = NULL;
    *len = 0;
    /* A regular file only: a FIFO would block the read forever (fileio). */
    FILE *f = fileio_fopen_regular(path, err, errlen);
    if (!f)
        return -1;
    struct stat st;
    unsigned char head[HEADER];
    if (fstat(fileno(f), &st) < 0 || fread(head, 1, HEADER, f) != HEADER ||
        memcmp(head, MAGIC, 8) != 0) {
        fclose(f);
        return err_set(err, errlen, "%s: not an MPCL Lab file (bad or missing header)", path);
    }
    uint32_t v, crc;
    uint64_t l;
    memcpy(&v, head + 8, 4);
    memcpy(&l, head + 28, 8);
    memcpy(&crc, head + 36, 4);
    if (v != STORE_VERSION) {
        fclose(f);
        return err_set(err, errlen, "%s: container version %u, this lab reads version %d", path, v,
                       STORE_VERSION);
    }
    memcpy(kind, head + 12, 16);
    kind[16] = '\0';
    if ((uint64_t)st.st_size != HEADER + l) {
        fclose(f);
        return err_set(err, errlen,
                       "%s: truncated or padded: header says %llu payload bytes, file "
                       "has %lld", path, (unsigned long long)l, (long long)st.st_size - HEADER);
    }
    void *p = malloc(l ? (size_t)l : 1);
    if (!p || fread(p, 1, (size_t)l, f) != l) {
        err_format(err, errlen, "%s: %s", path, p ? "read error" : "out of memory");
        free(p);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (crc_of(p, (size_t)l) != crc) {
        free(p);
        return err_set(err, errlen, "%s: checksum mismatch (the file is damaged)", path);
    }
    *payload = p;
    *len = (size_t)l;
    return 0;
}

/* ---- nets --------------------------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_i32(buf *b, int32_t v) { put(b, &v, 4); }

static size_t bank_floats(const net *n)
{
    size_t s = 0;
    for (int l = 0; l < n->nlayers; l++)
        s += 4 * (size_t)n->sizes[l + 1];
    return s;
}

int store_save_net(const char *path, const net *n, char *err, size_t errlen)
{
    buf b = {0};
    put_i32(&b, STORE_NET_VERSION);
    put_i32(&b, n->nlayers);
    for (int l = 0; l <= n->nlayers; l++)
        put_i32(&b, n->sizes[l]);
    put_i32(&b, n->binary_input);
    put(&b, &n->bn_eps, 4);
    put(&b, &n->bn_momentum, 4);
    for (int l = 0; l < n->nlayers; l++) {
        const net_layer *L = &n->layer[l];
        put(&b, L->wh, sizeof(float) * (size_t)L->in * L->out);
        put(&b, L->gamma, sizeof(float) * L->out);
        put(&b, L->beta, sizeof(float) * L->out);
        put(&b, L->mean, sizeof(float) * L->out);
        put(&b, L->var, sizeof(float) * L->out);
    }
    put_i32(&b, n->nbanks);
    if (n->nbanks)
        put(&b, n->banks, sizeof(float) * bank_floats(n) * n->nbanks);
    if (b.oom) {
        free(b.p);
        return err_set(err, errlen, "%s: out of memory", path);
    }
    int rc = store_write(path, "net", b.p, b.len, err, errlen);
    free(b.p);
    return rc;
}

typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
} reader;

static int get(reader *r, void *dst, size_t n)
{
    if (n > r->len - r->pos)
        return -1;
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 0;
}

/* The header of a net payload against what follows it, before anything is allocated: every
 * size in 1..65536 (net_create's range, checked here first so that the byte count below
 * cannot overflow), batch-norm constants that net.c can divide by, and at least the bytes
 * the layers need (a damaged header must not make the loader allocate gigabytes for a file
 * of a few bytes). left: payload bytes after the header. */
static int check_net_header(int nl, const int *sizes, float eps, float mom, size_t left,
                            char *err, size_t errlen)
{
    uint64_t need = 4; /* nbanks */
    for (int l = 0; l <= nl; l++)
        if (sizes[l] < 1 || sizes[l] > 65536)
            return err_set(err, errlen, "net layer size %d at position %d (1 to 65536 allowed)",
                           sizes[l], l + 1);
    for (int l = 0; l < nl; l++) /* wh, gamma, beta, mean, var: < 2^35 bytes per layer */
        need += 4 * ((uint64_t)sizes[l] * (uint64_t)sizes[l + 1] + 4 * (uint64_t)sizes[l + 1]);
    if (!(eps > 0 && eps < 1) || !(mom >= 0 && mom <= 1))
        return err_set(err, errlen,
                       "net batch-norm constants eps %g, momentum %g (eps in (0, 1) and "
                       "momentum in [0, 1] expected)", (double)eps, (double)mom);
    if (need > left)
        return err_set(err, errlen,
                       "net payload too short for a %d-layer net: %zu bytes after the "
                       "header, the layers need %llu", nl, left, (unsigned long long)need);
    return 0;
}

int store_net_decode(const void *payload, size_t len, net *n, char *err, size_t errlen)
{
    reader r = {payload, len, 0};
    int32_t v, nl, sizes[MPCL_MAX_LAYERS + 1], bin, nbanks;
    float eps, mom;
    memset(n, 0, sizeof *n);
    if (get(&r, &v, 4) < 0 || get(&r, &nl, 4) < 0)
        return err_set(err, errlen, "net payload too short");
    if (v != STORE_NET_VERSION)
        return err_set(err, errlen, "net format version %d, this lab reads version %d", v,
                       STORE_NET_VERSION);
    if (nl < 1 || nl > MPCL_MAX_LAYERS)
        return err_set(err, errlen, "net with %d layers (1 to %d allowed)", nl, MPCL_MAX_LAYERS);
    if (get(&r, sizes, 4 * (size_t)(nl + 1)) < 0 || get(&r, &bin, 4) < 0 ||
        get(&r, &eps, 4) < 0 || get(&r, &mom, 4) < 0)
        return err_set(err, errlen, "net payload too short");
    int isz[MPCL_MAX_LAYERS + 1];
    for (int l = 0; l <= nl; l++)
        isz[l] = sizes[l];
    if (check_net_header(nl, isz, eps, mom, r.len - r.pos, err, errlen) < 0)
        return -1;
    char cerr[160];
    if (net_create(n, nl, isz, bin != 0, 1.0f, 0, cerr, sizeof cerr) < 0)
        return err_set(err, errlen, "%s", cerr);
    n->bn_eps = eps;
    n->bn_momentum = mom;
    for (int l = 0; l < nl; l++) {
        net_layer *L = &n->layer[l];
        if (get(&r, L->wh, sizeof(float) * (size_t)L->in * L->out) < 0 ||
            get(&r, L->gamma, sizeof(float) * L->out) < 0 ||
            get(&r, L->beta, sizeof(float) * L->out) < 0 ||
            get(&r, L->mean, sizeof(float) * L->out) < 0 ||
            get(&r, L->var, sizeof(float) * L->out) < 0)
            goto short_payload;
    }
    if (get(&r, &nbanks, 4) < 0)
        goto short_payload;
    if (nbanks < 0 || nbanks > 64) {
        net_free(n);
        return err_set(err, errlen, "net with %d batch-norm banks (0 to 64 allowed)", nbanks);
    }
    if (nbanks > 0) {
        size_t bytes = sizeof(float) * bank_floats(n) * (size_t)nbanks;
        if (bytes > r.len - r.pos) /* before the malloc: the count may be a lie */
            goto short_payload;
        n->banks = malloc(bytes);
        if (!n->banks) {
            net_free(n);
            return err_set(err, errlen, "out of memory");
        }
        n->nbanks = nbanks;
        if (get(&r, n->banks, bytes) < 0)
            goto short_payload;
    }
    if (r.pos != r.len) {
        net_free(n);
        return err_set(err, errlen, "net payload has %zu bytes after the net", r.len - r.pos);
    }
    net_sync_binary(n);
    return 0;
short_payload:
    net_free(n);
    return err_set(err, errlen, "net payload too short for a %d-layer net", nl);
}

int store_load_net(const char *path, net *n, char *err, size_t errlen)
{
    char kind[17], derr[200];
    void *p;
    size_t len;
    memset(n, 0, sizeof *n);
    if (store_read(path, kind, &p, &len, err, errlen) < 0)
        return -1;
    if (strcmp(kind, "net")) {
        char shown[16 * 4 + 1]; /* the kind is bytes from the file: never raw to a terminal */
        fileio_printable(shown, sizeof shown, kind, 16);
        free(p);
        return err_set(err, errlen, "%s: holds a '%s', not a net", path, shown);
    }
    int rc = store_net_decode(p, len, n, derr, sizeof derr);
    if (rc < 0)
        err_format(err, errlen, "%s: %s", path, derr);
    free(p);
    return rc;
}
