/* Unit tests for console/gnuplot.c and snapshot.c: the PNG tEXt insertion (a small PNG made
 * here with zlib, the chunks parsed back with their CRCs), a non-PNG and a bad IHDR refused,
 * gnuplot missing from PATH, an unwritable destination, a failing script leaving an older
 * file and no temporary file behind, a panel's figure with its title, the default names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "gnuplot.h"
#include "model.h"
#include "panel.h"
#include "snapshot.h"

static char dir[] = "/tmp/mpcl-test-gnuplot-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Append a chunk (length, type, data, CRC) at b + *n. */
static void chunk(unsigned char *b, size_t *n, const char *type, const void *data, size_t len)
{
    put32(b + *n, (uint32_t)len);
    memcpy(b + *n + 4, type, 4);
    memcpy(b + *n + 8, data, len);
    put32(b + *n + 8 + len, png_crc32(0, b + *n + 4, len + 4));
    *n += 12 + len;
}

/* A 2 x 1 greyscale PNG into path; its size. */
static size_t write_small_png(const char *path, unsigned char *b)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0};
    unsigned char raw[3] = {0, 0x10, 0xf0}, z[64];
    uLongf zn = sizeof z;
    assert_int_equal(compress(z, &zn, raw, sizeof raw), Z_OK);
    size_t n = 8;
    memcpy(b, sig, 8);
    chunk(b, &n, "IHDR", ihdr, 13);
    chunk(b, &n, "IDAT", z, zn);
    chunk(b, &n, "IEND", "", 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    return n;
}

static size_t read_file(const char *path, unsigned char *b, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(b, 1, cap, f);
    fclose(f);
    return n;
}

static void test_crc(void **state)
{
    (void)state;
    assert_int_equal(png_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(png_crc32(0, "IEND", 4), 0xae426082u);
    assert_int_equal(png_crc32(png_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

/* The chunks after insertion: IHDR, the three tEXt in order, then IDAT and IEND untouched,
 * every CRC right. */
static void test_text_round_trip(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/small.png", dir);
    unsigned char orig[256], b[1024];
    size_t n0 = write_small_png(path, orig);
    const char *keys[] = {"Title", "Description", "Software"};
    const char *values[] = {"conductance map", "map: weight \x01\xff end", "MPCL Lab 0.3.0"};
    char err[300];
    assert_int_equal(png_add_text(path, 3, keys, values, err, sizeof err), 0);
    size_t n = read_file(path, b, sizeof b);
    assert_memory_equal(b, orig, 33); /* signature and IHDR */
    size_t at = 33;
    const char *want[] = {"Title\0conductance map", "Description\0map: weight ?? end",
                          "Software\0MPCL Lab 0.3.0"};
    size_t wantlen[] = {21, 30, 23};
    for (int i = 0; i < 3; i++) {
        uint32_t len = get32(b + at);
        assert_memory_equal(b + at + 4, "tEXt", 4);
        assert_int_equal(len, wantlen[i]);
        assert_memory_equal(b + at + 8, want[i], len);
        assert_int_equal(get32(b + at + 8 + len), png_crc32(0, b + at + 4, len + 4));
        at += 12 + len;
    }
    assert_int_equal(n - at, n0 - 33);
    assert_memory_equal(b + at, orig + 33, n0 - 33);
    int w, h;
    assert_int_equal(png_size(path, &w, &h, err, sizeof err), 0);
    assert_int_equal(w, 2);
    assert_int_equal(h, 1);
}

static void test_not_png(void **state)
{
    (void)state;
    char path[256], err[300];
    snprintf(path, sizeof path, "%s/text.png", dir);
    FILE *f = fopen(path, "w");
    fputs("hello, this is not an image at all, but long enough\n", f);
    fclose(f);
    const char *k[] = {"Title"}, *v[] = {"x"};
    assert_int_equal(png_add_text(path, 1, k, v, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a PNG (no PNG signature)"));
    unsigned char b[256];
    assert_int_equal(read_file(path, b, sizeof b), 52); /* untouched */
    size_t n = write_small_png(path, b);
    b[20] ^= 1; /* the IHDR's height, its CRC now wrong */
    f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    assert_int_equal(png_add_text(path, 1, k, v, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a PNG (a bad IHDR CRC)"));
}

static void test_no_gnuplot(void **state)
{
    (void)state;
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "");
    char path[256], err[300];
    snprintf(path, sizeof path, "%s/none.png", dir);
    setenv("PATH", "/nonexistent:/also-not-here", 1);
    gnuplot_fig f;
    int rc = gnuplot_begin(&f, path, 400, 300, 0, err, sizeof err);
    setenv("PATH", old, 1);
    free(old);
    assert_int_equal(rc, -1);
    assert_string_equal(err, "gnuplot not found on PATH (apt-get install gnuplot-nox)");
    assert_int_equal(access(path, F_OK), -1);
}

static void test_unwritable(void **state)
{
    (void)state;
    char err[600];
    gnuplot_fig f;
    assert_int_equal(gnuplot_begin(&f, "/nonexistent-dir/x.png", 400, 300, 0, err, sizeof err),
                     -1);
    assert_string_equal(err, "cannot write '/nonexistent-dir/x.png': No such file or directory");
    model m;
    assert_int_equal(model_init(&m, 64, 64), 0);
    assert_int_equal(snapshot_panel(panels_find("matrix"), &m, "/nonexistent-dir/m.png", NULL,
                                    err, sizeof err), -1);
    assert_string_equal(err, "cannot write '/nonexistent-dir/m.png': No such file or directory");
    assert_int_equal(snapshot_panel(panels_find("matrix"), &m, dir, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "Is a directory"));
    model_free(&m);
}

/* A script gnuplot refuses: its line in the error, the older file kept, no temp file left. */
static void test_failure_keeps_file(void **state)
{
    (void)state;
    char sub[300], path[320], err[600];
    snprintf(sub, sizeof sub, "%s/keep", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/old.png", sub);
    FILE *o = fopen(path, "w");
    fputs("older", o);
    fclose(o);
    gnuplot_fig f;
    assert_int_equal(gnuplot_begin(&f, path, 400, 300, 0, err, sizeof err), 0);
    fprintf(f.gp, "plot nosuchfunction(x)\n");
    assert_int_equal(gnuplot_finish(&f, "the test", "t", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "gnuplot failed on the test: line 4: "));
    assert_null(strchr(err, '\n'));
    unsigned char b[16];
    assert_int_equal(read_file(path, b, sizeof b), 5);
    assert_memory_equal(b, "older", 5);
    DIR *d = opendir(sub);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    assert_int_equal(n, 1);
}

/* An empty panel's figure: a PNG of the size asked with the panel's title in tEXt. */
static void test_panel_figure(void **state)
{
    (void)state;
    model m;
    assert_int_equal(model_init(&m, 64, 64), 0);
    char path[300], err[600];
    snprintf(path, sizeof path, "%s/switch.png", dir);
    snapshot_opts o = {480, 320, 0};
    assert_int_equal(snapshot_panel(panels_find("switch"), &m, path, &o, err, sizeof err), 0);
    int w, h;
    assert_int_equal(png_size(path, &w, &h, err, sizeof err), 0);
    assert_int_equal(w, 480);
    assert_int_equal(h, 320);
    static unsigned char b[1 << 20];
    size_t n = read_file(path, b, sizeof b);
    assert_non_null(memmem(b, n, "tEXtTitle\0weight-switch rate per layer", 38));
    assert_non_null(memmem(b, n, "tEXtSoftware\0MPCL Lab " MPCL_VERSION, 22));
    model_free(&m);
}

static void test_default_names(void **state)
{
    (void)state;
    char name[64], today[16];
    time_t now = time(NULL);
    strftime(today, sizeof today, "%Y%m%d", localtime(&now));
    assert_int_equal(snapshot_default_path("map", name, sizeof name), 0);
    regex_t re;
    assert_int_equal(regcomp(&re, "^map-[0-9]{8}-[0-9]{6}\\.png$", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, name, 0, NULL, 0), 0);
    regfree(&re);
    assert_memory_equal(name + 4, today, 8);
    assert_int_equal(snapshot_default_path("all", name, sizeof name), 0);
    assert_int_equal(regcomp(&re, "^snapshots-[0-9]{8}-[0-9]{6}$", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, name, 0, NULL, 0), 0);
    regfree(&re);
    assert_int_equal(snapshot_default_path("confusion", name, 10), -1); /* too small */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_not_png),
        cmocka_unit_test(test_no_gnuplot),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test(test_failure_keeps_file),
        cmocka_unit_test(test_panel_figure),
        cmocka_unit_test(test_default_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
