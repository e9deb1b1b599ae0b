#include "data.h"

#include "error.h"
#include "fileio.h"
#include "rng.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Largest payload idx_read accepts: every count and index then fits an int. */
#define IDX_MAX_BYTES ((uint64_t)INT_MAX)
/* Trailing bytes beyond this many are not counted (the message then says "more than"). */
#define IDX_TRAILING_COUNT_MAX ((size_t)1 << 24)

/* ---- IDX files ---------------------------------------------------------------- */

/* zlib prefixes its messages with "<fd:N>: " (the name gzdopen gives the stream); ours
 * already carry the path. */
static const char *gz_message(gzFile gz, int *errnum)
{
    const char *msg = gzerror(gz, errnum);
    if (msg && !strncmp(msg, "<fd:", 4)) {
        const char *colon = strstr(msg, ">: ");
        if (colon)
            msg = colon + 3;
    }
    return msg ? msg : "unknown error";
}

/* Reports a failed gzread (it returned -1). */
static void gz_read_error(gzFile gz, const char *path, char *err, size_t errlen)
{
    int errnum = Z_OK;
    int saved = errno;
    const char *msg = gz_message(gz, &errnum);
    if (errnum == Z_ERRNO)
        err_format(err, errlen, "%s: read error (%s)", path, strerror(saved));
    else if (errnum == Z_MEM_ERROR)
        err_format(err, errlen, "%s: out of memory while decompressing", path);
    else
        err_format(err, errlen, "%s: gzip data corrupt (%s)", path, msg);
}

/* Reads up to n bytes; returns the count (short only at end of data), or -1 after
 * reporting an error. */
static long long gz_read_some(gzFile gz, void *buf, size_t n, const char *path, char *err,
                              size_t errlen)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int r = gzread(gz, (uint8_t *)buf + got, (unsigned)want);
        if (r < 0) {
            gz_read_error(gz, path, err, errlen);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* Open path for gzread (raw or gzip): a regular file only, so that a FIFO or a device is a
 * one-line error at once instead of a read that blocks forever (fileio). NULL with err set. */
static gzFile idx_open(const char *path, char *err, size_t errlen)
{
    char ferr[512];
    errno = 0;
    int fd = fileio_open_regular(path, ferr, sizeof ferr);
    if (fd < 0) {
        if (errno == ENOENT)
            err_format(err, errlen, "%s: not found", path);
        else
            err_format(err, errlen, "%s", ferr);
        return NULL;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        err_format(err, errlen, "%s: cannot open (out of memory)", path);
        return NULL;
    }
    gzbuffer(gz, 1u << 17);
    return gz;
}

/* "10000 labels", "10000 images of 28x28 (7840000 bytes)", "12x34 bytes". */
static void describe_promise(char *buf, size_t len, int ndims, const uint32_t *dims,
                             uint64_t total)
{
    if (ndims == 1)
        snprintf(buf, len, "%" PRIu32 " labels", dims[0]);
    else if (ndims == 3)
        snprintf(buf, len, "%" PRIu32 " images of %" PRIu32 "x%" PRIu32 " (%" PRIu64 " bytes)",
                 dims[0], dims[1], dims[2], total);
    else
        snprintf(buf, len, "%" PRIu64 " bytes", total);
}

static void describe_held(char *buf, size_t len, int ndims, uint64_t held, int more)
{
    const char *pre = more ? "more than " : "";
    if (ndims == 1)
        snprintf(buf, len, "%s%" PRIu64, pre, held);
    else
        snprintf(buf, len, "%s%" PRIu64 " bytes", pre, held);
}

/* The dimensions (big-endian u32 at p) into d; their product into *total. */
static int idx_dims(const uint8_t *p, int ndims, const char *path, uint32_t d[3],
                    uint64_t *total, char *err, size_t errlen)
{
    d[0] = d[1] = d[2] = 0;
    *total = 1;
    for (int i = 0; i < ndims; i++, p += 4) {
        d[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (d[i] == 0)
            return err_set(err, errlen, "%s: dimension %d is 0", path, i);
    }
    for (int i = 0; i < ndims; i++) {
        *total *= d[i]; /* total <= 2^31 before, d[i] < 2^32: no overflow */
        if (*total > IDX_MAX_BYTES)
            return err_set(err, errlen,
                           "%s: header promises more than %" PRIu64 " bytes of data "
                           "(dimensions %" PRIu32 "x%" PRIu32 "x%" PRIu32 "), too large",
                           path, IDX_MAX_BYTES, d[0], ndims > 1 ? d[1] : 1, ndims > 2 ? d[2] : 1);
    }
    return 0;
}

/* The magic and the dimensions: d[0..ndims-1] (each > 0) and their product *total (at most
 * IDX_MAX_BYTES). 0, or -1 with a message. */
static int idx_header(gzFile gz, const char *path, int expect_ndims, uint32_t d[3],
                      uint64_t *total, char *err, size_t errlen)
{
    uint8_t head[4 + 4 * 3];
    long long r = gz_read_some(gz, head, 4, path, err, errlen);
    if (r < 0)
        return -1;
    if (r < 4) {
        if (r == 0)
            err_format(err, errlen,
                       "%s: empty file (an IDX file starts with a 4-byte magic number)",
                       path);
        else
            err_format(err, errlen, "%s: truncated: %lld bytes, shorter than the 4-byte IDX magic",
                       path, r);
        return -1;
    }
    if (head[0] != 0 || head[1] != 0)
        return err_set(err, errlen,
                       "%s: bad magic %02x %02x %02x %02x (an IDX file starts with two zero "
                       "bytes)", path, head[0], head[1], head[2], head[3]);
    if (head[2] != 0x08)
        return err_set(err, errlen,
                       "%s: element type 0x%02x in the magic, expected 0x08 (unsigned byte)",
                       path, head[2]);
    int ndims = head[3];
    if (ndims != expect_ndims)
        return err_set(err, errlen,
                       "%s: %d dimensions in the magic, expected %d (%s)", path, ndims,
                       expect_ndims,
                       expect_ndims == 1 ? "labels" : expect_ndims == 3 ? "images" : "data");
    r = gz_read_some(gz, head + 4, 4 * (size_t)ndims, path, err, errlen);
    if (r < 0)
        return -1;
    if (r < 4 * ndims)
        return err_set(err, errlen,
                       "%s: truncated: header promises %d dimensions, file ends after %lld "
                       "of their %d bytes", path, ndims, r, 4 * ndims);
    return idx_dims(head + 4, ndims, path, d, total, err, errlen);
}

/* The elements: up to total bytes into *buf (malloc'd, grown as data arrives, so that a
 * header that lies about a huge size in a tiny file costs nothing); their count in *got
 * (short when the data ends early). 0, or -1 with a message (*buf freed). */
static int idx_payload(gzFile gz, const char *path, uint64_t total, uint8_t **buf, size_t *got,
                       char *err, size_t errlen)
{
    size_t cap = total < ((size_t)1 << 20) ? (size_t)total : (size_t)1 << 20;
    *got = 0;
    *buf = malloc(cap);
    if (!*buf)
        return err_set(err, errlen, "%s: out of memory (%zu bytes)", path, cap);
    for (;;) {
        if (*got == cap) {
            if (cap == total)
                return 0;
            size_t ncap = cap * 2 < total ? cap * 2 : (size_t)total;
            uint8_t *nb = realloc(*buf, ncap);
            if (!nb) {
                err_format(err, errlen, "%s: out of memory (%zu bytes)", path, ncap);
                break;
            }
            *buf = nb;
            cap = ncap;
        }
        long long r = gz_read_some(gz, *buf + *got, cap - *got, path, err, errlen);
        if (r < 0)
            break;
        *got += (size_t)r;
        if (*got < cap)
            return 0; /* end of data */
    }
    free(*buf);
    *buf = NULL;
    return -1;
}

/* After the elements: got must be total, nothing may follow, and a gzip stream must end
 * cleanly. 0, or -1 with a message that says what the header promised and what is there. */
static int idx_check_end(gzFile gz, const char *path, int ndims, const uint32_t d[3],
                         uint64_t total, size_t got, char *err, size_t errlen)
{
    char promise[128], held[64];
    describe_promise(promise, sizeof promise, ndims, d, total);
    int errnum = Z_OK;
    if (got < total) {
        const char *why = "";
        gz_message(gz, &errnum);
        if (errnum == Z_BUF_ERROR)
            why = " (gzip stream cut short)";
        describe_held(held, sizeof held, ndims, got, 0);
        return err_set(err, errlen,
                       "%s: truncated: header promises %s, file holds %s%s", path, promise,
                       held, why);
    }
    /* Anything after the promised data is an error too: count it (up to a limit). */
    uint8_t scratch[4096];
    size_t extra = 0;
    int more = 0;
    for (;;) {
        long long r = gz_read_some(gz, scratch, sizeof scratch, path, err, errlen);
        if (r < 0)
            return -1;
        extra += (size_t)r;
        if ((size_t)r < sizeof scratch)
            break;
        if (extra >= IDX_TRAILING_COUNT_MAX) {
            more = 1;
            break;
        }
    }
    if (extra > 0) {
        describe_held(held, sizeof held, ndims, total + extra, more);
        return err_set(err, errlen, "%s: trailing data: header promises %s, file holds %s", path,
                       promise, held);
    }
    /* A gzip stream that ends early (e.g. without its trailer) is not checksummed. */
    const char *msg = gz_message(gz, &errnum);
    if (errnum != Z_OK)
        return err_set(err, errlen, "%s: gzip data corrupt (%s)", path, msg);
    return 0;
}

int idx_read(const char *path, int expect_ndims, uint8_t **data, int dims[3], char *err,
             size_t errlen)
{
    if (data)
        *data = NULL;
    if (!path || !data || !dims)
        return err_set(err, errlen, "idx_read: missing argument");
    if (expect_ndims < 1 || expect_ndims > 3)
        return err_set(err, errlen, "%s: idx_read asked for %d dimensions, supports 1-3", path,
                       expect_ndims);
    gzFile gz = idx_open(path, err, errlen);
    if (!gz)
        return -1;
    uint32_t d[3];
    uint64_t total;
    uint8_t *buf = NULL;
    size_t got;
    if (idx_header(gz, path, expect_ndims, d, &total, err, errlen) < 0 ||
        idx_payload(gz, path, total, &buf, &got, err, errlen) < 0 ||
        idx_check_end(gz, path, expect_ndims, d, total, got, err, errlen) < 0) {
        free(buf);
        gzclose_r(gz);
        return -1;
    }
    if (gzclose_r(gz) != Z_OK) {
        free(buf);
        return err_set(err, errlen, "%s: gzip data corrupt (error at close)", path);
    }
    *data = buf;
    dims[0] = dims[1] = dims[2] = 0;
    for (int i = 0; i < expect_ndims; i++)
        dims[i] = (int)d[i];
    return 0;
}

void data_raw_free(data_raw *d)
{
    if (!d)
        return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int data_raw_load(const char *images_path, const char *labels_path, data_raw *out, char *err,
                  size_t errlen)
{
    if (!out || !images_path || !labels_path)
        return err_set(err, errlen, "data_raw_load: missing argument");
    memset(out, 0, sizeof *out);
    uint8_t *pixels = NULL, *labels = NULL;
    int idims[3], ldims[3];
    if (idx_read(images_path, 3, &pixels, idims, err, errlen) != 0)
        return -1;
    if (idx_read(labels_path, 1, &labels, ldims, err, errlen) != 0) {
        free(pixels);
        return -1;
    }
    if (idims[0] != ldims[0]) {
        err_format(err, errlen, "%s holds %d images but %s holds %d labels", images_path, idims[0],
                   labels_path, ldims[0]);
        goto fail;
    }
    for (int i = 0; i < ldims[0]; i++) {
        if (labels[i] > 9) {
            err_format(err, errlen, "%s: label %d at index %d out of range 0-9", labels_path,
                       labels[i], i);
            goto fail;
        }
    }
    out->n = idims[0];
    out->rows = idims[1];
    out->cols = idims[2];
    out->pixels = pixels;
    out->labels = labels;
    return 0;

fail:
    free(pixels);
    free(labels);
    return -1;
}

const char *data_dir_for(const char *name)
{
    static char fmnist_dir[4096], mnist_dir[4096];
    if (!name)
        return NULL;
    if (strcmp(name, "fmnist") == 0) {
        const char *e = getenv("MPCL_FMNIST_DIR");
        int n = snprintf(fmnist_dir, sizeof fmnist_dir, "%s",
                         e && *e ? e : "/usr/share/datasets/fashion-mnist");
        return n >= 0 && (size_t)n < sizeof fmnist_dir ? fmnist_dir : NULL;
    }
    if (strcmp(name, "mnist") == 0) {
        const char *e = getenv("MPCL_DATA");
        int n;
        if (e && *e) {
            n = snprintf(mnist_dir, sizeof mnist_dir, "%s/mnist", e);
        } else if ((e = getenv("XDG_CACHE_HOME")) && *e) {
            n = snprintf(mnist_dir, sizeof mnist_dir, "%s/mpcl/mnist", e);
        } else {
            const char *home = getenv("HOME");
            if (!home || !*home) {
                struct passwd *pw = getpwuid(getuid());
                home = pw && pw->pw_dir ? pw->pw_dir : "";
            }
            n = snprintf(mnist_dir, sizeof mnist_dir, "%s/.cache/mpcl/mnist", home);
        }
        return n >= 0 && (size_t)n < sizeof mnist_dir ? mnist_dir : NULL;
    }
    return NULL;
}

/* Anything there but a directory: a FIFO or a device is found, and idx_read then says
 * what it is (rather than "not found"). */
static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* path[] <- <dir>/<stem> or <dir>/<stem>.gz, whichever exists (the raw file first). */
static int find_idx(const char *name, const char *dir, const char *stem, char *path,
                    size_t len, char *err, size_t errlen)
{
    int n = snprintf(path, len, "%s/%s", dir, stem);
    if (n < 0 || (size_t)n + 3 >= len)
        return err_set(err, errlen, "%s/%s: path too long", dir, stem);
    if (is_file(path))
        return 0;
    strcat(path, ".gz");
    if (is_file(path))
        return 0;
    path[n] = '\0';
    return err_set(err, errlen,
                   "%s: not found (run `make deps` to install the %s data set)", path, name);
}

int data_raw_load_named(const char *name, int train, data_raw *out, char *err, size_t errlen)
{
    if (!out)
        return err_set(err, errlen, "data_raw_load_named: missing argument");
    memset(out, 0, sizeof *out);
    if (!name || (strcmp(name, "mnist") != 0 && strcmp(name, "fmnist") != 0))
        return err_set(err, errlen, "unknown data set '%s' (expected mnist or fmnist)",
                       name ? name : "(null)");
    const char *dir = data_dir_for(name);
    if (!dir)
        return err_set(err, errlen, "%s: data directory path too long", name);
    const char *split = train ? "train" : "t10k";
    char istem[64], lstem[64], ipath[4200], lpath[4200];
    snprintf(istem, sizeof istem, "%s-images-idx3-ubyte", split);
    snprintf(lstem, sizeof lstem, "%s-labels-idx1-ubyte", split);
    if (find_idx(name, dir, istem, ipath, sizeof ipath, err, errlen) != 0 ||
        find_idx(name, dir, lstem, lpath, sizeof lpath, err, errlen) != 0)
        return -1;
    return data_raw_load(ipath, lpath, out, err, errlen);
}

/* ---- Preprocessing -------------------------------------------------------------- */

void data_set_free(data_set *d)
{
    if (!d)
        return;
    free(d->bytes);
    free(d->bits);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int data_input_parse(const char *s, data_input *out)
{
    if (!s || !out)
        return -1;
    if (strcmp(s, "float784") == 0 || strcmp(s, "784") == 0)
        *out = DATA_INPUT_FLOAT784;
    else if (strcmp(s, "binary784") == 0)
        *out = DATA_INPUT_BINARY784;
    else if (strcmp(s, "paper192") == 0 || strcmp(s, "paper") == 0)
        *out = DATA_INPUT_PAPER192;
    else
        return -1;
    return 0;
}

const char *data_input_name(data_input input)
{
    switch (input) {
    case DATA_INPUT_FLOAT784: return "float784";
    case DATA_INPUT_BINARY784: return "binary784";
    case DATA_INPUT_PAPER192: return "paper192";
    }
    return "unknown";
}

int data_prepare_take(data_raw *raw, data_input input, float threshold, data_set *out,
                      char *err, size_t errlen)
{
    if (input != DATA_INPUT_FLOAT784 || !raw || raw->n < 1) {
        int rc = data_prepare(raw, input, threshold, out, err, errlen);
        data_raw_free(raw);
        return rc;
    }
    /* Float inputs keep raw's bytes as they are: validate on a one-image view, then hand
     * raw's buffers over instead of holding two copies at once. */
    data_raw view = *raw;
    view.n = 1;
    int rc = data_prepare(&view, input, threshold, out, err, errlen);
    if (rc == 0) {
        data_set_free(out);
        memset(out, 0, sizeof *out);
        out->n = raw->n;
        out->dim = raw->rows * raw->cols;
        out->input = input;
        out->bytes = raw->pixels;
        out->labels = raw->labels;
        raw->pixels = raw->labels = NULL;
    }
    data_raw_free(raw);
    return rc;
}

/* Whether raw can become inputs of this kind at this threshold; else err names why. */
static int prepare_check(const data_raw *raw, data_input input, float threshold, char *err,
                         size_t errlen)
{
    if (input != DATA_INPUT_FLOAT784 && input != DATA_INPUT_BINARY784 &&
        input != DATA_INPUT_PAPER192)
        return err_set(err, errlen, "data_prepare: unknown input kind %d", (int)input);
    const char *iname = data_input_name(input);
    if (raw->n < 1 || raw->rows < 1 || raw->cols < 1 || !raw->pixels || !raw->labels)
        return err_set(err, errlen, "%s: empty or incomplete data set (n=%d, %dx%d)", iname, raw->n,
                       raw->rows, raw->cols);
    if ((uint64_t)raw->rows * (uint64_t)raw->cols > INT_MAX / 64)
        return err_set(err, errlen,
                       "%s: images of %dx%d are too large", iname, raw->rows, raw->cols);
    if (input != DATA_INPUT_FLOAT784 && !(threshold > 0.0f && threshold <= 1.0f))
        return err_set(err, errlen,
                       "%s: threshold %g out of range (0,1]", iname, (double)threshold);
    if (input == DATA_INPUT_PAPER192 && (raw->rows != 28 || raw->cols != 28))
        return err_set(err, errlen,
                       "%s: needs 28x28 images, got %dx%d", iname, raw->rows, raw->cols);
    return 0;
}

/* binary784: one bit a pixel, set where pixel/255 >= threshold. */
static void binarize_pixels(const data_raw *raw, float threshold, data_set *out)
{
    size_t n = (size_t)raw->n, pix = (size_t)raw->rows * (size_t)raw->cols;
    uint8_t on[256];
    for (int v = 0; v < 256; v++)
        on[v] = (float)v / 255.0f >= threshold;
    for (size_t k = 0; k < n; k++) {
        const uint8_t *px = raw->pixels + k * pix;
        uint64_t *row = out->bits + k * (size_t)out->words;
        for (size_t i = 0; i < pix; i++)
            row[i >> 6] |= (uint64_t)on[px[i]] << (i & 63);
    }
}

/* paper192: 2x2 mean pooling to 14x14 without the four corners, then the threshold. */
static void pool_paper192(const data_raw *raw, float threshold, data_set *out)
{
    size_t n = (size_t)raw->n, pix = (size_t)raw->rows * (size_t)raw->cols;
    /* 2x2 mean: sum/4/255 = sum/1020, compared once per possible sum. */
    uint8_t on[1021];
    for (int s = 0; s <= 1020; s++)
        on[s] = (float)s / 1020.0f >= threshold;
    for (size_t k = 0; k < n; k++) {
        const uint8_t *px = raw->pixels + k * pix;
        uint64_t *row = out->bits + k * (size_t)out->words;
        int f = 0;
        for (int r = 0; r < 14; r++) {
            for (int c = 0; c < 14; c++) {
                if ((r == 0 || r == 13) && (c == 0 || c == 13))
                    continue;
                const uint8_t *p = px + (size_t)(2 * r) * 28 + (size_t)(2 * c);
                int s = p[0] + p[1] + p[28] + p[29];
                row[f >> 6] |= (uint64_t)on[s] << (f & 63);
                f++;
            }
        }
    }
}

int data_prepare(const data_raw *raw, data_input input, float threshold, data_set *out,
                 char *err, size_t errlen)
{
    if (!out || !raw)
        return err_set(err, errlen, "data_prepare: missing argument");
    memset(out, 0, sizeof *out);
    if (prepare_check(raw, input, threshold, err, errlen) < 0)
        return -1;
    int binary = input != DATA_INPUT_FLOAT784;
    size_t n = (size_t)raw->n, pix = (size_t)raw->rows * (size_t)raw->cols;
    int dim = input == DATA_INPUT_PAPER192 ? 192 : (int)pix;
    int words = (dim + 63) / 64;
    out->n = raw->n;
    out->dim = dim;
    out->input = input;
    out->binary = binary;
    out->words = binary ? words : 0;
    out->labels = malloc(n);
    if (!out->labels)
        goto oom;
    memcpy(out->labels, raw->labels, n);
    if (!binary) {
        out->bytes = malloc(n * pix);
        if (!out->bytes)
            goto oom;
        memcpy(out->bytes, raw->pixels, n * pix);
        return 0;
    }
    out->bits = calloc(n * (size_t)words, sizeof *out->bits);
    if (!out->bits)
        goto oom;
    if (input == DATA_INPUT_BINARY784)
        binarize_pixels(raw, threshold, out);
    else
        pool_paper192(raw, threshold, out);
    return 0;

oom:
    err_format(err, errlen, "%s: out of memory preparing %d examples", data_input_name(input),
               raw->n);
    data_set_free(out);
    return -1;
}

void data_gather_float(const data_set *d, const int *idx, int count, float *out)
{
    size_t dim = (size_t)d->dim;
    if (!d->binary) {
        const float scale = 1.0f / 255.0f;
        for (int c = 0; c < count; c++) {
            const uint8_t *src = d->bytes + (size_t)idx[c] * dim;
            float *dst = out + (size_t)c * dim;
            for (size_t i = 0; i < dim; i++)
                dst[i] = (float)src[i] * scale;
        }
        return;
    }
    size_t words = (size_t)d->words;
    for (int c = 0; c < count; c++) {
        const uint64_t *src = d->bits + (size_t)idx[c] * words;
        float *dst = out + (size_t)c * dim;
        for (size_t w = 0; w < words; w++) {
            uint64_t x = src[w];
            size_t base = w * 64, end = base + 64 < dim ? base + 64 : dim;
            for (size_t i = base; i < end; i++, x >>= 1)
                dst[i] = (float)(x & 1);
        }
    }
}

void data_gather_bits(const data_set *d, const int *idx, int count, uint64_t *out)
{
    if (!d->binary || !d->bits)
        return;
    size_t words = (size_t)d->words;
    for (int c = 0; c < count; c++)
        memcpy(out + (size_t)c * words, d->bits + (size_t)idx[c] * words,
               words * sizeof *out);
}

float data_feature(const data_set *d, int k, int i)
{
    if (!d->binary)
        return (float)d->bytes[(size_t)k * (size_t)d->dim + (size_t)i] * (1.0f / 255.0f);
    uint64_t w = d->bits[(size_t)k * (size_t)d->words + (size_t)(i >> 6)];
    return (float)((w >> (i & 63)) & 1);
}

/* ---- Task splits ------------------------------------------------------------------ */

void data_tasks_free(data_tasks *t)
{
    if (!t)
        return;
    for (int g = 0; g < DATA_MAX_TASKS; g++) {
        free(t->task[g].train);
        free(t->task[g].val);
        free(t->task[g].test);
    }
    memset(t, 0, sizeof *t);
}

/* "0,1" */
static void format_classes(char *buf, size_t len, const data_task *t)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int j = 0; j < t->nclasses && at + 4 < len; j++)
        at += (size_t)snprintf(buf + at, len - at, j ? ",%d" : "%d", t->classes[j]);
}

/* The class groups of a split: task_of[c] the group of class c (-1: in none); -1 with err
 * when a group is empty or too large or a class is out of range or in two groups. */
static int split_groups(int ntasks, const int *group_sizes, const int *group_classes,
                        int task_of[10], char *err, size_t errlen)
{
    for (int c = 0; c < 10; c++)
        task_of[c] = -1;
    int at = 0;
    for (int g = 0; g < ntasks; g++) {
        int sz = group_sizes[g];
        if (sz < 1 || sz > 10 || at + sz > 10)
            return err_set(err, errlen,
                           "task split: group %d has %d classes (each group needs at least "
                           "1, and there are 10 classes in all)", g, sz);
        for (int j = 0; j < sz; j++) {
            int c = group_classes[at + j];
            if (c < 0 || c > 9)
                return err_set(err, errlen,
                               "task split: class %d in group %d out of range 0-9", c, g);
            if (task_of[c] >= 0)
                return err_set(err, errlen,
                               "task split: class %d appears in group %d and group %d", c,
                               task_of[c], g);
            task_of[c] = g;
        }
        at += sz;
    }
    return 0;
}

/* Fill the tasks' index lists in file order, then shuffle each training list with its own
 * stream of seed and move its head to the validation list. */
static void split_fill(const data_set *train, const data_set *test, const int task_of[10],
                       uint64_t seed, data_tasks *out)
{
    int fill[DATA_MAX_TASKS] = {0};
    for (int k = 0; k < train->n; k++)
        if (train->labels[k] < 10 && task_of[train->labels[k]] >= 0) {
            int g = task_of[train->labels[k]];
            out->task[g].train[fill[g]++] = k;
        }
    memset(fill, 0, sizeof fill);
    for (int k = 0; k < test->n; k++)
        if (test->labels[k] < 10 && task_of[test->labels[k]] >= 0) {
            int g = task_of[test->labels[k]];
            out->task[g].test[fill[g]++] = k;
        }
    for (int g = 0; g < out->ntasks; g++) {
        data_task *t = &out->task[g];
        rng r;
        rng_seed_stream(&r, seed, (uint64_t)g);
        rng_shuffle(&r, t->train, t->ntrain + t->nval);
        if (t->nval) {
            memcpy(t->val, t->train, (size_t)t->nval * sizeof(int));
            memmove(t->train, t->train + t->nval, (size_t)t->ntrain * sizeof(int));
        }
    }
}

int data_tasks_split(const data_set *train, const data_set *test, int ntasks,
                     const int *group_sizes, const int *group_classes, double val_fraction,
                     uint64_t seed, data_tasks *out, char *err, size_t errlen)
{
    if (!out)
        return err_set(err, errlen, "data_tasks_split: missing argument");
    memset(out, 0, sizeof *out);
    if (!train || !test || !group_sizes || !group_classes)
        return err_set(err, errlen, "data_tasks_split: missing argument");
    if ((train->n > 0 && !train->labels) || (test->n > 0 && !test->labels) || train->n < 0 ||
        test->n < 0)
        return err_set(err, errlen, "data_tasks_split: data set without labels");
    if (ntasks < 1 || ntasks > DATA_MAX_TASKS)
        return err_set(err, errlen, "task split: %d tasks, expected 1-%d", ntasks, DATA_MAX_TASKS);
    if (!(val_fraction >= 0.0 && val_fraction < 0.5))
        return err_set(err, errlen, "task split: validation fraction %g out of range [0, 0.5)",
                       val_fraction);
    int task_of[10];
    if (split_groups(ntasks, group_sizes, group_classes, task_of, err, errlen) < 0)
        return -1;

    /* Count, then fill in file order. */
    int ntr[DATA_MAX_TASKS] = {0}, nte[DATA_MAX_TASKS] = {0};
    for (int k = 0; k < train->n; k++)
        if (train->labels[k] < 10 && task_of[train->labels[k]] >= 0)
            ntr[task_of[train->labels[k]]]++;
    for (int k = 0; k < test->n; k++)
        if (test->labels[k] < 10 && task_of[test->labels[k]] >= 0)
            nte[task_of[test->labels[k]]]++;

    int at = 0;
    out->ntasks = ntasks;
    for (int g = 0; g < ntasks; g++) {
        data_task *t = &out->task[g];
        t->nclasses = group_sizes[g];
        for (int j = 0; j < t->nclasses; j++)
            t->classes[j] = group_classes[at + j];
        at += t->nclasses;
        if (ntr[g] == 0 || nte[g] == 0) {
            char cls[40];
            format_classes(cls, sizeof cls, t);
            err_format(err, errlen, "task split: task %d (classes %s) has no %s examples", g, cls,
                       ntr[g] == 0 ? "training" : "test");
            goto fail;
        }
        int nval = (int)floor((double)ntr[g] * val_fraction + 0.5);
        t->nval = nval;
        t->ntrain = ntr[g] - nval;
        t->ntest = nte[g];
        /* Shuffle the whole list in the train array, then move its head to val. */
        t->train = malloc((size_t)ntr[g] * sizeof(int));
        t->test = malloc((size_t)nte[g] * sizeof(int));
        t->val = nval ? malloc((size_t)nval * sizeof(int)) : NULL;
        if (!t->train || !t->test || (nval && !t->val)) {
            err_format(err, errlen, "task split: out of memory");
            goto fail;
        }
    }
    split_fill(train, test, task_of, seed, out);
    return 0;

fail:
    data_tasks_free(out);
    return -1;
}

int data_tasks_split5(const data_set *train, const data_set *test, double val_fraction,
                      uint64_t seed, data_tasks *out, char *err, size_t errlen)
{
    static const int sizes[5] = {2, 2, 2, 2, 2};
    static const int classes[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    return data_tasks_split(train, test, 5, sizes, classes, val_fraction, seed, out, err,
                            errlen);
}

int data_epoch_set_build(data_epoch_set *e, const data_tasks *tasks, int t, int joint)
{
    int first = joint ? 0 : t, n = 0;
    for (int j = first; j <= t; j++)
        n += tasks->task[j].ntrain;
    e->idx = malloc(sizeof(int) * (n ? n : 1));
    e->task_of = malloc(sizeof(int) * (n ? n : 1));
    if (!e->idx || !e->task_of)
        return -1;
    e->n = 0;
    for (int j = first; j <= t; j++)
        for (int k = 0; k < tasks->task[j].ntrain; k++) {
            e->idx[e->n] = tasks->task[j].train[k];
            e->task_of[e->n++] = j;
        }
    return 0;
}
