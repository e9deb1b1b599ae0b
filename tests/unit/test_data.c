/* Unit tests for core/data: IDX reading (raw and gzip), validation errors,
 * preprocessing (paper192, binary784, float784), gathers and task splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"

/* ---- fixtures --------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup_dir(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/mpcl_test_data.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown_dir(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static const char *fpath(void **state, const char *name)
{
    static char buf[4][512];
    static int slot;
    fixture *f = *state;
    char *p = buf[slot++ & 3];
    snprintf(p, 512, "%s/%s", f->dir, name);
    return p;
}

/* A growable byte buffer holding a file's contents. */
typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    b->p = realloc(b->p, b->n + n);
    assert_non_null(b->p);
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u8(bytes *b, uint8_t v) { put(b, &v, 1); }

static void put_be32(bytes *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}

/* IDX header: 00 00 type ndims, then the dims big-endian. */
static void put_header(bytes *b, uint8_t type, int ndims, const uint32_t *dims)
{
    put_u8(b, 0);
    put_u8(b, 0);
    put_u8(b, type);
    put_u8(b, (uint8_t)ndims);
    for (int i = 0; i < ndims; i++)
        put_be32(b, dims[i]);
}

static void write_file(const char *path, const bytes *b, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        if (b->n)
            assert_int_equal(gzwrite(g, b->p, (unsigned)b->n), (int)b->n);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        if (b->n)
            assert_int_equal(fwrite(b->p, 1, b->n, fp), b->n);
        assert_int_equal(fclose(fp), 0);
    }
}

static void write_raw_bytes(const char *path, const void *p, size_t n)
{
    bytes b = {(uint8_t *)p, n};
    write_file(path, &b, 0);
}

/* n images of rows x cols with pixel (k, i) = (k * 7 + i) & 255, labels k % 10. */
static uint8_t pixel_at(int k, int i) { return (uint8_t)((k * 7 + i) & 255); }

static bytes make_images(int n, int rows, int cols)
{
    bytes b = {0};
    uint32_t dims[3] = {(uint32_t)n, (uint32_t)rows, (uint32_t)cols};
    put_header(&b, 0x08, 3, dims);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < rows * cols; i++)
            put_u8(&b, pixel_at(k, i));
    return b;
}

static bytes make_labels(int n)
{
    bytes b = {0};
    uint32_t dims[1] = {(uint32_t)n};
    put_header(&b, 0x08, 1, dims);
    for (int k = 0; k < n; k++)
        put_u8(&b, (uint8_t)(k % 10));
    return b;
}

/* Writes images/labels (n each, 5x4 images) as <prefix>-images and <prefix>-labels. */
static void write_pair(void **state, const char *img, const char *lab, int n, int gz)
{
    bytes bi = make_images(n, 5, 4), bl = make_labels(n);
    write_file(fpath(state, img), &bi, gz);
    write_file(fpath(state, lab), &bl, gz);
    free(bi.p);
    free(bl.p);
}

#define assert_contains(hay, needle)                                                        \
    do {                                                                                    \
        if (!strstr((hay), (needle)))                                                       \
            fail_msg("message \"%s\" lacks \"%s\"", (hay), (needle));                       \
    } while (0)

static void assert_one_line(const char *msg)
{
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
}

/* Loading the pair must fail; the message must name `file` and contain `what`. */
static void expect_load_error(void **state, const char *img, const char *lab,
                              const char *file, const char *what)
{
    data_raw raw;
    char err[512] = "";
    assert_int_equal(data_raw_load(fpath(state, img), fpath(state, lab), &raw, err, sizeof err),
                     -1);
    assert_one_line(err);
    assert_contains(err, fpath(state, file));
    assert_contains(err, what);
    assert_null(raw.pixels);
    assert_null(raw.labels);
}

/* ---- IDX reading ------------------------------------------------------------------ */

static void check_good_pair(void **state, int gz)
{
    write_pair(state, "img", "lab", 13, gz);
    data_raw raw;
    char err[256] = "";
    assert_int_equal(data_raw_load(fpath(state, "img"), fpath(state, "lab"), &raw, err,
                                   sizeof err), 0);
    assert_int_equal(raw.n, 13);
    assert_int_equal(raw.rows, 5);
    assert_int_equal(raw.cols, 4);
    for (int k = 0; k < 13; k++) {
        assert_int_equal(raw.labels[k], k % 10);
        for (int i = 0; i < 20; i++)
            assert_int_equal(raw.pixels[k * 20 + i], pixel_at(k, i));
    }
    data_raw_free(&raw);
    assert_null(raw.pixels);
    assert_int_equal(raw.n, 0);
}

static void test_good_raw_pair(void **state) { check_good_pair(state, 0); }

/* gzip detected by content: the files have no .gz suffix. */
static void test_good_gzip_pair(void **state) { check_good_pair(state, 1); }

static void test_idx_read_dims(void **state)
{
    bytes b = make_images(3, 2, 6);
    write_file(fpath(state, "x.gz"), &b, 1);
    free(b.p);
    uint8_t *data = NULL;
    int dims[3] = {-1, -1, -1};
    char err[256] = "";
    assert_int_equal(idx_read(fpath(state, "x.gz"), 3, &data, dims, err, sizeof err), 0);
    assert_int_equal(dims[0], 3);
    assert_int_equal(dims[1], 2);
    assert_int_equal(dims[2], 6);
    assert_int_equal(data[35], pixel_at(2, 11));
    free(data);
}

static void test_truncated_images(void **state)
{
    bytes bi = make_images(10, 5, 4), bl = make_labels(10);
    bi.n -= 30; /* holds 9.5 images */
    write_file(fpath(state, "img"), &bi, 0);
    write_file(fpath(state, "lab"), &bl, 0);
    free(bi.p);
    free(bl.p);
    expect_load_error(state, "img", "lab", "img", "truncated");
    expect_load_error(state, "img", "lab", "img",
                      "header promises 10 images of 5x4 (200 bytes), file holds 170 bytes");
}

static void test_truncated_labels_message(void **state)
{
    bytes b = make_labels(10000);
    b.n -= 1000;
    write_file(fpath(state, "lab"), &b, 0);
    free(b.p);
    uint8_t *data = (uint8_t *)&b; /* must be reset to NULL */
    int dims[3];
    char err[256];
    assert_int_equal(idx_read(fpath(state, "lab"), 1, &data, dims, err, sizeof err), -1);
    assert_null(data);
    char want[400];
    snprintf(want, sizeof want, "%s: truncated: header promises 10000 labels, file holds 9000",
             fpath(state, "lab"));
    assert_string_equal(err, want);
}

static void test_truncated_header(void **state)
{
    uint8_t head[6] = {0, 0, 8, 3, 0, 0};
    write_raw_bytes(fpath(state, "short"), head, sizeof head);
    write_raw_bytes(fpath(state, "empty"), head, 0);
    uint8_t *data;
    int dims[3];
    char err[256];
    assert_int_equal(idx_read(fpath(state, "short"), 3, &data, dims, err, sizeof err), -1);
    assert_contains(err, "truncated");
    assert_int_equal(idx_read(fpath(state, "empty"), 3, &data, dims, err, sizeof err), -1);
    assert_contains(err, "empty");
}

static void test_trailing_bytes(void **state)
{
    bytes bi = make_images(10, 5, 4), bl = make_labels(10);
    put_u8(&bl, 1);
    put_u8(&bl, 2);
    put_u8(&bl, 3);
    write_file(fpath(state, "img"), &bi, 0);
    write_file(fpath(state, "lab"), &bl, 1); /* and in a gzip file */
    free(bi.p);
    free(bl.p);
    expect_load_error(state, "img", "lab", "lab", "trailing");
    expect_load_error(state, "img", "lab", "lab", "header promises 10 labels, file holds 13");
}

static void test_bad_magic(void **state)
{
    write_pair(state, "img", "lab", 4, 0);
    bytes b = make_images(4, 5, 4);
    b.p[1] = 0x01;
    write_file(fpath(state, "img"), &b, 0);
    free(b.p);
    expect_load_error(state, "img", "lab", "img", "magic");
}

static void test_wrong_element_type(void **state)
{
    write_pair(state, "img", "lab", 4, 0);
    bytes b = {0};
    uint32_t dims[1] = {4};
    put_header(&b, 0x0D, 1, dims); /* float */
    for (int i = 0; i < 16; i++)
        put_u8(&b, 0);
    write_file(fpath(state, "lab"), &b, 0);
    free(b.p);
    expect_load_error(state, "img", "lab", "lab", "element type 0x0d");
}

static void test_wrong_ndims(void **state)
{
    /* Swapped arguments: an images file where labels are expected and vice versa. */
    write_pair(state, "img", "lab", 4, 0);
    expect_load_error(state, "lab", "img", "lab", "1 dimensions in the magic, expected 3");
    data_raw raw;
    char err[256];
    assert_int_equal(data_raw_load(fpath(state, "img"), fpath(state, "img"), &raw, err,
                                   sizeof err), -1);
    assert_contains(err, "3 dimensions in the magic, expected 1");
}

static void test_zero_dimension(void **state)
{
    bytes b = {0};
    uint32_t dims[3] = {4, 0, 28};
    put_header(&b, 0x08, 3, dims);
    write_file(fpath(state, "img"), &b, 0);
    free(b.p);
    uint8_t *data;
    int d[3];
    char err[256];
    assert_int_equal(idx_read(fpath(state, "img"), 3, &data, d, err, sizeof err), -1);
    assert_contains(err, "dimension 1 is 0");
}

/* A header promising 4G x 4G x 4G bytes in a 16-byte file: an error, no huge allocation. */
static void test_huge_dimensions(void **state)
{
    bytes b = {0};
    uint32_t dims[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    put_header(&b, 0x08, 3, dims);
    write_file(fpath(state, "img"), &b, 0);
    free(b.p);
    b = (bytes){0};
    uint32_t dims2[3] = {1000000, 28, 28}; /* fits the limit, file is nearly empty */
    put_header(&b, 0x08, 3, dims2);
    put_u8(&b, 9);
    write_file(fpath(state, "img2"), &b, 0);
    free(b.p);
    uint8_t *data;
    int d[3];
    char err[256];
    assert_int_equal(idx_read(fpath(state, "img"), 3, &data, d, err, sizeof err), -1);
    assert_contains(err, "too large");
    assert_int_equal(idx_read(fpath(state, "img2"), 3, &data, d, err, sizeof err), -1);
    assert_contains(err, "file holds 1 bytes");
}

static void test_count_mismatch(void **state)
{
    bytes bi = make_images(5, 5, 4), bl = make_labels(4);
    write_file(fpath(state, "img"), &bi, 0);
    write_file(fpath(state, "lab"), &bl, 0);
    free(bi.p);
    free(bl.p);
    expect_load_error(state, "img", "lab", "img", "holds 5 images");
    expect_load_error(state, "img", "lab", "lab", "holds 4 labels");
}

static void test_gzip_garbage(void **state)
{
    write_pair(state, "img", "lab", 4, 0);
    uint8_t junk[64] = {0x1f, 0x8b};
    for (int i = 2; i < 64; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    write_raw_bytes(fpath(state, "lab"), junk, sizeof junk);
    expect_load_error(state, "img", "lab", "lab", "gzip data corrupt");
}

/* A valid gzip stream cut short, and one with a damaged checksum. */
static void test_gzip_cut_and_crc(void **state)
{
    bytes b = make_labels(3000);
    uint32_t x = 12345; /* poorly compressible labels */
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        b.p[8 + i] = (uint8_t)((x >> 16) % 10);
    }
    write_file(fpath(state, "lab.gz"), &b, 1);
    free(b.p);
    FILE *fp = fopen(fpath(state, "lab.gz"), "rb");
    assert_non_null(fp);
    uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(n > 40 && n < sizeof buf);

    uint8_t *data;
    int d[3];
    char err[256];
    write_raw_bytes(fpath(state, "cut.gz"), buf, n / 2);
    assert_int_equal(idx_read(fpath(state, "cut.gz"), 1, &data, d, err, sizeof err), -1);
    assert_contains(err, "truncated");
    write_raw_bytes(fpath(state, "notrailer.gz"), buf, n - 8);
    assert_int_equal(idx_read(fpath(state, "notrailer.gz"), 1, &data, d, err, sizeof err), -1);
    assert_contains(err, "gzip");
    buf[n - 8] ^= 0x55; /* CRC32 */
    write_raw_bytes(fpath(state, "crc.gz"), buf, n);
    assert_int_equal(idx_read(fpath(state, "crc.gz"), 1, &data, d, err, sizeof err), -1);
    assert_contains(err, "gzip data corrupt");
}

static void test_label_out_of_range(void **state)
{
    bytes bi = make_images(10, 5, 4), bl = make_labels(10);
    bl.p[8 + 7] = 12;
    write_file(fpath(state, "img"), &bi, 0);
    write_file(fpath(state, "lab"), &bl, 0);
    free(bi.p);
    free(bl.p);
    expect_load_error(state, "img", "lab", "lab", "label 12 at index 7 out of range 0-9");
}

static void test_missing_file(void **state)
{
    uint8_t *data;
    int d[3];
    char err[256];
    assert_int_equal(idx_read(fpath(state, "nope"), 1, &data, d, err, sizeof err), -1);
    assert_contains(err, "not found");

    /* Named loading: an empty directory through $MPCL_FMNIST_DIR. */
    const char *old = getenv("MPCL_FMNIST_DIR");
    char *saved = old ? strdup(old) : NULL;
    fixture *f = *state;
    setenv("MPCL_FMNIST_DIR", f->dir, 1);
    assert_string_equal(data_dir_for("fmnist"), f->dir);
    data_raw raw;
    assert_int_equal(data_raw_load_named("fmnist", 1, &raw, err, sizeof err), -1);
    char want[512];
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte: not found (run `make deps` to "
             "install the fmnist data set)", f->dir);
    assert_string_equal(err, want);

    /* With the .gz files present it loads them. */
    write_pair(state, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 12, 1);
    assert_int_equal(data_raw_load_named("fmnist", 0, &raw, err, sizeof err), 0);
    assert_int_equal(raw.n, 12);
    data_raw_free(&raw);
    assert_int_equal(data_raw_load_named("cifar", 0, &raw, err, sizeof err), -1);
    assert_contains(err, "unknown data set");

    if (saved) {
        setenv("MPCL_FMNIST_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("MPCL_FMNIST_DIR");
    }
}

static void test_data_dir_for(void **state)
{
    (void)state;
    const char *keys[3] = {"MPCL_DATA", "XDG_CACHE_HOME", "HOME"};
    char *saved[3];
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(keys[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    setenv("MPCL_DATA", "/d", 1);
    assert_string_equal(data_dir_for("mnist"), "/d/mnist");
    unsetenv("MPCL_DATA");
    setenv("XDG_CACHE_HOME", "/x", 1);
    assert_string_equal(data_dir_for("mnist"), "/x/mpcl/mnist");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/h", 1);
    assert_string_equal(data_dir_for("mnist"), "/h/.cache/mpcl/mnist");
    assert_null(data_dir_for("cifar"));
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(keys[i], saved[i], 1);
        else
            unsetenv(keys[i]);
        free(saved[i]);
    }
}

/* ---- preprocessing ---------------------------------------------------------------- */

static int bit(const data_set *d, int k, int i)
{
    return (int)((d->bits[(size_t)k * (size_t)d->words + (size_t)(i / 64)] >> (i % 64)) & 1);
}

/* Sets the 2x2 block (br, bc) of a 28x28 image to a..d. */
static void block(uint8_t *img, int br, int bc, int a, int b, int c, int d)
{
    uint8_t *p = img + (2 * br) * 28 + 2 * bc;
    p[0] = (uint8_t)a;
    p[1] = (uint8_t)b;
    p[28] = (uint8_t)c;
    p[29] = (uint8_t)d;
}

static void test_paper192_pooling(void **state)
{
    (void)state;
    static uint8_t pixels[2 * 784];
    uint8_t labels[2] = {3, 9};
    memset(pixels, 0, sizeof pixels);
    uint8_t *img = pixels;
    block(img, 0, 0, 255, 255, 255, 255); /* corner: dropped */
    block(img, 0, 1, 255, 255, 0, 0);     /* mean 0.5 exactly -> 1, feature 0 */
    block(img, 0, 2, 255, 254, 0, 0);     /* just under 0.5 -> 0, feature 1 */
    block(img, 0, 12, 200, 200, 200, 200); /* feature 11 */
    block(img, 0, 13, 255, 255, 255, 255); /* corner */
    block(img, 1, 0, 100, 100, 200, 200); /* mean 150/255 -> 1, feature 12 */
    block(img, 1, 13, 0, 0, 0, 255);      /* 0.25 -> 0 at 0.5, 1 at 0.25; feature 25 */
    block(img, 5, 4, 128, 128, 128, 128); /* 12 + 4*14 + 4 = 72: word 1 */
    block(img, 13, 0, 255, 255, 255, 255); /* corner */
    block(img, 13, 12, 255, 255, 255, 255); /* feature 191: word 2 bit 63 */
    block(img, 13, 13, 255, 255, 255, 255); /* corner */
    memset(pixels + 784, 255, 784);         /* image 1: all on */
    data_raw raw = {.n = 2, .rows = 28, .cols = 28, .pixels = pixels, .labels = labels};

    data_set ds;
    char err[256];
    assert_int_equal(data_prepare(&raw, DATA_INPUT_PAPER192, 0.5f, &ds, err, sizeof err), 0);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.dim, 192);
    assert_int_equal(ds.words, 3);
    assert_int_equal(ds.binary, 1);
    assert_null(ds.bytes);
    assert_int_equal(ds.labels[1], 9);
    int ones[] = {0, 11, 12, 72, 191};
    int count = 0;
    for (int i = 0; i < 192; i++)
        count += bit(&ds, 0, i);
    assert_int_equal(count, 5);
    for (size_t j = 0; j < sizeof ones / sizeof ones[0]; j++)
        assert_int_equal(bit(&ds, 0, ones[j]), 1);
    assert_int_equal(bit(&ds, 0, 1), 0);
    assert_int_equal(bit(&ds, 0, 25), 0);
    assert_int_equal(ds.bits[1], (uint64_t)1 << 8);
    for (int w = 0; w < 3; w++)
        assert_int_equal(ds.bits[3 + w], UINT64_MAX); /* 192 = 3 x 64: no padding */
    assert_float_equal(data_feature(&ds, 0, 12), 1.0f, 0.0f);
    assert_float_equal(data_feature(&ds, 0, 13), 0.0f, 0.0f);
    data_set_free(&ds);

    assert_int_equal(data_prepare(&raw, DATA_INPUT_PAPER192, 0.25f, &ds, err, sizeof err), 0);
    assert_int_equal(bit(&ds, 0, 25), 1);
    assert_int_equal(bit(&ds, 0, 1), 1);
    data_set_free(&ds);

    /* Validation: threshold range, image size. */
    assert_int_equal(data_prepare(&raw, DATA_INPUT_PAPER192, 0.0f, &ds, err, sizeof err), -1);
    assert_contains(err, "threshold");
    assert_int_equal(data_prepare(&raw, DATA_INPUT_PAPER192, 1.5f, &ds, err, sizeof err), -1);
    assert_contains(err, "threshold");
    data_raw odd = {.n = 1, .rows = 14, .cols = 56, .pixels = pixels, .labels = labels};
    assert_int_equal(data_prepare(&odd, DATA_INPUT_PAPER192, 0.5f, &ds, err, sizeof err), -1);
    assert_contains(err, "28x28");
    assert_null(ds.bits);
}

static void test_binary784_threshold(void **state)
{
    (void)state;
    static uint8_t pixels[2 * 784];
    uint8_t labels[2] = {0, 1};
    for (int i = 0; i < 784; i++)
        pixels[i] = (uint8_t)(i < 256 ? i : 0);
    memset(pixels + 784, 255, 784);
    data_raw raw = {.n = 2, .rows = 28, .cols = 28, .pixels = pixels, .labels = labels};

    data_set ds;
    char err[256];
    assert_int_equal(data_prepare(&raw, DATA_INPUT_BINARY784, 0.5f, &ds, err, sizeof err), 0);
    assert_int_equal(ds.dim, 784);
    assert_int_equal(ds.words, 13);
    for (int i = 0; i < 784; i++)
        assert_int_equal(bit(&ds, 0, i), i >= 128 && i < 256);
    /* 784 = 12 x 64 + 16: the last word's 48 padding bits are zero. */
    assert_int_equal(ds.bits[13 + 12], 0xFFFFu);
    assert_int_equal(ds.bits[12], 0);

    float out[2 * 784];
    int idx[2] = {1, 0};
    data_gather_float(&ds, idx, 2, out);
    for (int i = 0; i < 784; i++) {
        assert_float_equal(out[i], 1.0f, 0.0f);
        assert_float_equal(out[784 + i], (i >= 128 && i < 256) ? 1.0f : 0.0f, 0.0f);
    }
    uint64_t rows[2 * 13];
    data_gather_bits(&ds, idx, 2, rows);
    assert_memory_equal(rows, ds.bits + 13, 13 * sizeof(uint64_t));
    assert_memory_equal(rows + 13, ds.bits, 13 * sizeof(uint64_t));
    data_set_free(&ds);

    assert_int_equal(data_prepare(&raw, DATA_INPUT_BINARY784, 1.0f, &ds, err, sizeof err), 0);
    for (int i = 0; i < 784; i++)
        assert_int_equal(bit(&ds, 0, i), i == 255);
    data_set_free(&ds);
}

static void test_float784_gather(void **state)
{
    (void)state;
    static uint8_t pixels[3 * 784];
    uint8_t labels[3] = {4, 5, 6};
    for (int i = 0; i < 3 * 784; i++)
        pixels[i] = (uint8_t)(i * 13);
    data_raw raw = {.n = 3, .rows = 28, .cols = 28, .pixels = pixels, .labels = labels};
    data_set ds;
    char err[256];
    /* The threshold is not used (nor checked) by float inputs. */
    assert_int_equal(data_prepare(&raw, DATA_INPUT_FLOAT784, 0.0f, &ds, err, sizeof err), 0);
    assert_int_equal(ds.binary, 0);
    assert_int_equal(ds.dim, 784);
    assert_null(ds.bits);
    assert_memory_equal(ds.bytes, pixels, sizeof pixels);
    float out[2 * 784];
    int idx[2] = {2, 0};
    data_gather_float(&ds, idx, 2, out);
    for (int i = 0; i < 784; i++) {
        assert_float_equal(out[i], pixels[2 * 784 + i] * (1 / 255.f), 0.0f);
        assert_float_equal(out[784 + i], pixels[i] * (1 / 255.f), 0.0f);
    }
    assert_float_equal(data_feature(&ds, 1, 3), pixels[784 + 3] * (1 / 255.f), 0.0f);
    assert_true(out[0] >= 0.0f && out[0] <= 1.0f);
    data_set_free(&ds);
    assert_null(ds.bytes);
}

static void test_input_parse(void **state)
{
    (void)state;
    data_input in;
    assert_int_equal(data_input_parse("float784", &in), 0);
    assert_int_equal(in, DATA_INPUT_FLOAT784);
    assert_int_equal(data_input_parse("784", &in), 0);
    assert_int_equal(in, DATA_INPUT_FLOAT784);
    assert_int_equal(data_input_parse("binary784", &in), 0);
    assert_int_equal(in, DATA_INPUT_BINARY784);
    assert_int_equal(data_input_parse("paper", &in), 0);
    assert_int_equal(in, DATA_INPUT_PAPER192);
    assert_int_equal(data_input_parse("paper192", &in), 0);
    assert_int_equal(in, DATA_INPUT_PAPER192);
    assert_int_equal(data_input_parse("paper19", &in), -1);
    assert_int_equal(data_input_parse("", &in), -1);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(data_input_parse(data_input_name((data_input)k), &in), 0);
        assert_int_equal(in, k);
    }
}

/* ---- task splits ------------------------------------------------------------------ */

/* A labels-only float set of n examples (dim 1), label k -> labels[k]. */
static data_set fake_set(int n, uint8_t (*label)(int))
{
    data_set d = {.n = n, .dim = 1, .input = DATA_INPUT_FLOAT784};
    d.bytes = calloc((size_t)n, 1);
    d.labels = malloc((size_t)n);
    assert_non_null(d.bytes);
    assert_non_null(d.labels);
    for (int k = 0; k < n; k++)
        d.labels[k] = label(k);
    return d;
}

static uint8_t label_mod10(int k) { return (uint8_t)(k % 10); }
/* Class c gets 50 + 10 c examples among the first 950; unbalanced on purpose. */
static uint8_t label_skewed(int k)
{
    for (int c = 0, at = 0; c < 10; c++) {
        at += 50 + 10 * c;
        if (k < at)
            return (uint8_t)((c * 3) % 10);
    }
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void test_split_counts(void **state)
{
    (void)state;
    data_set train = fake_set(950, label_skewed), test = fake_set(300, label_mod10);
    int per[10] = {0};
    for (int k = 0; k < train.n; k++)
        per[train.labels[k]]++;

    data_tasks t;
    char err[256];
    assert_int_equal(data_tasks_split5(&train, &test, 0.1, 42, &t, err, sizeof err), 0);
    assert_int_equal(t.ntasks, 5);
    for (int g = 0; g < 5; g++) {
        data_task *tk = &t.task[g];
        assert_int_equal(tk->nclasses, 2);
        assert_int_equal(tk->classes[0], 2 * g);
        assert_int_equal(tk->classes[1], 2 * g + 1);
        int all = per[2 * g] + per[2 * g + 1];
        int nval = (int)(all * 0.1 + 0.5);
        assert_int_equal(tk->nval, nval);
        assert_int_equal(tk->ntrain, all - nval);
        assert_int_equal(tk->ntest, 60);
        /* train + val: exactly the task's examples, each once. */
        int *ix = malloc((size_t)all * sizeof(int));
        assert_non_null(ix);
        memcpy(ix, tk->train, (size_t)tk->ntrain * sizeof(int));
        memcpy(ix + tk->ntrain, tk->val, (size_t)tk->nval * sizeof(int));
        qsort(ix, (size_t)all, sizeof(int), cmp_int);
        int j = 0;
        for (int k = 0; k < train.n; k++)
            if (train.labels[k] / 2 == g)
                assert_int_equal(ix[j++], k);
        assert_int_equal(j, all);
        free(ix);
        /* Shuffled (not in file order) for train; file order for test. */
        int sorted = 1;
        for (int i = 1; i < tk->ntrain; i++)
            sorted &= tk->train[i - 1] < tk->train[i];
        assert_false(sorted);
        for (int i = 0; i < tk->ntest; i++) {
            assert_int_equal(test.labels[tk->test[i]] / 2, g);
            if (i)
                assert_true(tk->test[i - 1] < tk->test[i]);
        }
    }
    data_tasks_free(&t);
    assert_int_equal(t.ntasks, 0);
    assert_null(t.task[0].train);

    /* Custom groups: (7) (3,1,5); val_fraction 0. */
    int sizes[2] = {1, 3}, classes[4] = {7, 3, 1, 5};
    assert_int_equal(data_tasks_split(&train, &test, 2, sizes, classes, 0.0, 1, &t, err,
                                      sizeof err), 0);
    assert_int_equal(t.ntasks, 2);
    assert_int_equal(t.task[0].ntrain, per[7]);
    assert_int_equal(t.task[0].nval, 0);
    assert_int_equal(t.task[1].ntrain, per[3] + per[1] + per[5]);
    assert_int_equal(t.task[1].classes[0], 3);
    assert_int_equal(t.task[1].classes[2], 5);
    assert_int_equal(t.task[1].ntest, 90);
    data_tasks_free(&t);

    data_set_free(&train);
    data_set_free(&test);
}

static void test_split_determinism(void **state)
{
    (void)state;
    data_set train = fake_set(2000, label_mod10), test = fake_set(100, label_mod10);
    data_tasks a, b, c;
    char err[256];
    assert_int_equal(data_tasks_split5(&train, &test, 0.2, 7, &a, err, sizeof err), 0);
    assert_int_equal(data_tasks_split5(&train, &test, 0.2, 7, &b, err, sizeof err), 0);
    assert_int_equal(data_tasks_split5(&train, &test, 0.2, 8, &c, err, sizeof err), 0);
    int differs = 0;
    for (int g = 0; g < 5; g++) {
        assert_int_equal(a.task[g].ntrain, 320);
        assert_int_equal(a.task[g].nval, 80);
        assert_memory_equal(a.task[g].train, b.task[g].train, 320 * sizeof(int));
        assert_memory_equal(a.task[g].val, b.task[g].val, 80 * sizeof(int));
        assert_memory_equal(a.task[g].test, b.task[g].test, 20 * sizeof(int));
        differs |= memcmp(a.task[g].train, c.task[g].train, 320 * sizeof(int)) != 0;
    }
    assert_true(differs);
    data_tasks_free(&a);
    data_tasks_free(&b);
    data_tasks_free(&c);
    data_set_free(&train);
    data_set_free(&test);
}

static void test_split_validation(void **state)
{
    (void)state;
    data_set train = fake_set(100, label_mod10), test = fake_set(50, label_mod10);
    data_tasks t;
    char err[256];
    int sizes[3] = {2, 2, 2}, classes[6] = {0, 1, 2, 3, 4, 5};
    assert_int_equal(data_tasks_split(&train, &test, 0, sizes, classes, 0.1, 1, &t, err,
                                      sizeof err), -1);
    assert_contains(err, "0 tasks");
    assert_int_equal(data_tasks_split(&train, &test, 11, sizes, classes, 0.1, 1, &t, err,
                                      sizeof err), -1);
    assert_contains(err, "11 tasks");
    assert_int_equal(data_tasks_split5(&train, &test, 0.5, 1, &t, err, sizeof err), -1);
    assert_contains(err, "validation fraction");
    assert_int_equal(data_tasks_split5(&train, &test, -0.1, 1, &t, err, sizeof err), -1);
    assert_contains(err, "validation fraction");
    int dup[6] = {0, 1, 2, 3, 1, 5};
    assert_int_equal(data_tasks_split(&train, &test, 3, sizes, dup, 0.1, 1, &t, err,
                                      sizeof err), -1);
    assert_contains(err, "class 1 appears in group 0 and group 2");
    int bad[6] = {0, 1, 2, 10, 4, 5};
    assert_int_equal(data_tasks_split(&train, &test, 3, sizes, bad, 0.1, 1, &t, err,
                                      sizeof err), -1);
    assert_contains(err, "class 10");
    int zero[3] = {2, 0, 2};
    assert_int_equal(data_tasks_split(&train, &test, 3, zero, classes, 0.1, 1, &t, err,
                                      sizeof err), -1);
    assert_contains(err, "group 1 has 0 classes");
    assert_int_equal(t.ntasks, 0);

    /* A class with no examples: an error, and nothing left allocated. */
    for (int k = 0; k < train.n; k++)
        if (train.labels[k] == 4 || train.labels[k] == 5)
            train.labels[k] = 3;
    assert_int_equal(data_tasks_split5(&train, &test, 0.1, 1, &t, err, sizeof err), -1);
    assert_contains(err, "task 2 (classes 4,5) has no training examples");
    assert_int_equal(t.ntasks, 0);
    assert_null(t.task[0].train);
    data_set_free(&train);
    data_set_free(&test);
}

/* ---- the real data sets (skipped when not installed) --------------------------------- */

/* The real data sets, when installed; MPCL_TEST_QUICK (set for the valgrind pass, where
 * decoding 100 MB of images would take minutes) skips them. */
static int have_named(const char *name)
{
    if (getenv("MPCL_TEST_QUICK"))
        return 0;
    const char *dir = data_dir_for(name);
    if (!dir)
        return 0;
    const char *stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, stems[i]);
        if (stat(p, &st) == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s.gz", dir, stems[i]);
        if (stat(p, &st) != 0)
            return 0;
    }
    return 1;
}

static void load_real(const char *name, data_set *train, data_set *test)
{
    data_raw raw;
    char err[512] = "";
    if (data_raw_load_named(name, 1, &raw, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(raw.rows, 28);
    assert_int_equal(raw.cols, 28);
    assert_int_equal(data_prepare(&raw, DATA_INPUT_PAPER192, 0.5f, train, err, sizeof err), 0);
    data_raw_free(&raw);
    if (data_raw_load_named(name, 0, &raw, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(data_prepare(&raw, DATA_INPUT_FLOAT784, 0.5f, test, err, sizeof err), 0);
    data_raw_free(&raw);
}

static void test_real_fmnist(void **state)
{
    (void)state;
    if (!have_named("fmnist"))
        skip();
    data_set train, test;
    load_real("fmnist", &train, &test);
    assert_int_equal(train.n, 60000);
    assert_int_equal(test.n, 10000);
    data_tasks t;
    char err[256];
    assert_int_equal(data_tasks_split5(&train, &test, 0.1, 1, &t, err, sizeof err), 0);
    for (int g = 0; g < 5; g++) {
        assert_int_equal(t.task[g].ntrain + t.task[g].nval, 12000);
        assert_int_equal(t.task[g].nval, 1200);
        assert_int_equal(t.task[g].ntest, 2000);
    }
    data_tasks_free(&t);
    data_set_free(&train);
    data_set_free(&test);
}

static void test_real_mnist(void **state)
{
    (void)state;
    if (!have_named("mnist"))
        skip();
    data_set train, test;
    load_real("mnist", &train, &test);
    assert_int_equal(train.n, 60000);
    assert_int_equal(test.n, 10000);
    int ctr[10] = {0}, cte[10] = {0};
    for (int k = 0; k < train.n; k++)
        ctr[train.labels[k]]++;
    for (int k = 0; k < test.n; k++)
        cte[test.labels[k]]++;
    static const int known_train[5] = {12665, 12089, 11263, 12183, 11800};
    static const int known_test[5] = {2115, 2042, 1874, 1986, 1983};
    data_tasks t;
    char err[256];
    assert_int_equal(data_tasks_split5(&train, &test, 0.1, 3, &t, err, sizeof err), 0);
    for (int g = 0; g < 5; g++) {
        int ntr = ctr[2 * g] + ctr[2 * g + 1], nte = cte[2 * g] + cte[2 * g + 1];
        assert_int_equal(t.task[g].ntrain + t.task[g].nval, ntr);
        assert_int_equal(t.task[g].nval, (int)(ntr * 0.1 + 0.5));
        assert_int_equal(t.task[g].ntest, nte);
        assert_int_equal(ntr, known_train[g]);
        assert_int_equal(nte, known_test[g]);
    }
    data_tasks_free(&t);
    data_set_free(&train);
    data_set_free(&test);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_good_raw_pair),
        T(test_good_gzip_pair),
        T(test_idx_read_dims),
        T(test_truncated_images),
        T(test_truncated_labels_message),
        T(test_truncated_header),
        T(test_trailing_bytes),
        T(test_bad_magic),
        T(test_wrong_element_type),
        T(test_wrong_ndims),
        T(test_zero_dimension),
        T(test_huge_dimensions),
        T(test_count_mismatch),
        T(test_gzip_garbage),
        T(test_gzip_cut_and_crc),
        T(test_label_out_of_range),
        T(test_missing_file),
        cmocka_unit_test(test_data_dir_for),
        cmocka_unit_test(test_paper192_pooling),
        cmocka_unit_test(test_binary784_threshold),
        cmocka_unit_test(test_float784_gather),
        cmocka_unit_test(test_input_parse),
        cmocka_unit_test(test_split_counts),
        cmocka_unit_test(test_split_determinism),
        cmocka_unit_test(test_split_validation),
        cmocka_unit_test(test_real_fmnist),
        cmocka_unit_test(test_real_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
