/* Regression tests for the file parsers the fuzz targets cover (tests/fuzz): the IDX reader
 * (core/data.c), the net-file loader (core/store.c) and the sim's measured-map import
 * (plugins/sim.c). A FIFO, a directory or a device given as any of their files is a one-line
 * error at once (each such test runs under alarm(): a read that blocks kills the test instead
 * of hanging the suite); messages never copy bytes of a file; a damaged net header is refused
 * before anything is allocated for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "chip.h"
#include "data.h"
#include "store.h"

/* Seconds any one test may take before SIGALRM ends the run (a FIFO open that blocks). */
#define TEST_ALARM 10

typedef struct fixture {
    char dir[64];
    char fifo[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/mpcl_test_parsers.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->fifo, sizeof f->fifo, "%s/fifo", f->dir);
    if (mkfifo(f->fifo, 0600) < 0) {
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    alarm(TEST_ALARM);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    alarm(0);
    static const char *const names[] = {"fifo", "file", "map", NULL};
    char path[256];
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static const char *write_file(fixture *f, const char *name, const void *data, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

/* One line of printable ASCII. */
static void assert_printable_line(const char *s)
{
    assert_true(*s != '\0');
    for (const char *p = s; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

/* ---- FIFOs, directories, devices ---------------------------------------------------- */

static void test_idx_fifo(void **state)
{
    fixture *f = *state;
    uint8_t *data = NULL;
    int dims[3];
    char err[512];
    assert_int_equal(idx_read(f->fifo, 1, &data, dims, err, sizeof err), -1);
    assert_null(data);
    assert_non_null(strstr(err, "not a regular file (a FIFO)"));
    assert_printable_line(err);
    assert_int_equal(idx_read(f->dir, 1, &data, dims, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file (a directory)"));
    assert_int_equal(idx_read("/dev/zero", 1, &data, dims, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file (a character device)"));
}

/* data_raw_load_named finds a FIFO where a data file should be and says what it is. */
static void test_dataset_fifo(void **state)
{
    fixture *f = *state;
    char fifo[256], labels[256];
    snprintf(fifo, sizeof fifo, "%s/train-images-idx3-ubyte", f->dir);
    snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mkfifo(labels, 0600), 0);
    setenv("MPCL_FMNIST_DIR", f->dir, 1);
    data_raw raw;
    char err[512];
    int rc = data_raw_load_named("fmnist", 1, &raw, err, sizeof err);
    unlink(fifo);
    unlink(labels);
    unsetenv("MPCL_FMNIST_DIR");
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "train-images-idx3-ubyte: not a regular file (a FIFO)"));
}

static void test_store_fifo(void **state)
{
    fixture *f = *state;
    net n;
    char err[512];
    assert_int_equal(store_load_net(f->fifo, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file (a FIFO)"));
    assert_printable_line(err);
    assert_int_equal(store_load_net(f->dir, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file (a directory)"));
}

static void test_map_fifo(void **state)
{
    fixture *f = *state;
    char uri[256], err[1024];
    chip c;
    snprintf(uri, sizeof uri, "sim:rows=4,cols=4,map=%s", f->fifo);
    assert_int_equal(chip_open(&c, uri, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file (a FIFO)"));
    snprintf(uri, sizeof uri, "sim:rows=4,cols=4,map_neg=%s", f->dir);
    assert_int_equal(chip_open(&c, uri, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file (a directory)"));
}

/* ---- the net-file loader -------------------------------------------------------------- */

static const char *write_container(fixture *f, const char *kind, const void *payload,
                                   size_t plen)
{
    unsigned char *b = malloc(40 + plen);
    assert_non_null(b);
    memcpy(b, "MPCLSTOR", 8);
    uint32_t v = STORE_VERSION, crc = (uint32_t)crc32(0L, payload, (uInt)plen);
    uint64_t l = plen;
    memcpy(b + 8, &v, 4);
    memset(b + 12, 0, 16);
    memcpy(b + 12, kind, strlen(kind) < 16 ? strlen(kind) : 16);
    memcpy(b + 28, &l, 8);
    memcpy(b + 36, &crc, 4);
    memcpy(b + 40, payload, plen);
    const char *path = write_file(f, "file", b, 40 + plen);
    free(b);
    return path;
}

/* The kind is bytes from the file: the message shows them escaped. */
static void test_store_kind_printable(void **state)
{
    fixture *f = *state;
    const char *path = write_container(f, "run\xff\x1b[31m", "x", 1);
    net n;
    char err[512];
    assert_int_equal(store_load_net(path, &n, err, sizeof err), -1);
    assert_printable_line(err);
    assert_non_null(strstr(err, "holds a 'run\\xff\\x1b[31m', not a net"));
}

/* A header of two 65536-wide layers in a 40-byte payload: refused for its length, before
 * the 16 GB it describes are asked for (ASan's allocator would abort on such a request). */
static void test_store_huge_header(void **state)
{
    fixture *f = *state;
    int32_t p[10] = {STORE_NET_VERSION, 1, 65536, 16, 0};
    float eps = 1e-5f, mom = 0.1f;
    memcpy(&p[5], &eps, 4);
    memcpy(&p[6], &mom, 4);
    p[2] = 65536;
    p[3] = 16;
    const char *path = write_container(f, "net", p, sizeof p);
    net n;
    char err[512];
    assert_int_equal(store_load_net(path, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "payload too short for a 1-layer net"));
    /* The same with a banks count that lies: a 4 x 2 net, then 64 banks that are not there. */
    float body[4 * 2 + 4 * 2];
    memset(body, 0, sizeof body);
    int32_t head[7] = {STORE_NET_VERSION, 1, 4, 2, 0};
    memcpy(&head[5], &eps, 4);
    memcpy(&head[6], &mom, 4);
    unsigned char payload[sizeof head + sizeof body + 4];
    int32_t banks = 64;
    memcpy(payload, head, sizeof head);
    memcpy(payload + sizeof head, body, sizeof body);
    memcpy(payload + sizeof head + sizeof body, &banks, 4);
    path = write_container(f, "net", payload, sizeof payload);
    assert_int_equal(store_load_net(path, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "payload too short"));
    /* And with nbanks 0 it loads: the check is not too strict. */
    banks = 0;
    memcpy(payload + sizeof head + sizeof body, &banks, 4);
    path = write_container(f, "net", payload, sizeof payload);
    assert_int_equal(store_load_net(path, &n, err, sizeof err), 0);
    assert_int_equal(n.nlayers, 1);
    assert_int_equal(n.sizes[0], 4);
    net_free(&n);
}

static void test_store_bn_constants(void **state)
{
    fixture *f = *state;
    float body[4 * 2 + 4 * 2] = {0};
    int32_t head[7] = {STORE_NET_VERSION, 1, 4, 2, 0}, banks = 0;
    float eps = 0.0f, mom = 0.1f;
    memcpy(&head[5], &eps, 4);
    memcpy(&head[6], &mom, 4);
    unsigned char payload[sizeof head + sizeof body + 4];
    memcpy(payload, head, sizeof head);
    memcpy(payload + sizeof head, body, sizeof body);
    memcpy(payload + sizeof head + sizeof body, &banks, 4);
    const char *path = write_container(f, "net", payload, sizeof payload);
    net n;
    char err[512];
    assert_int_equal(store_load_net(path, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "batch-norm constants"));
}

/* ---- the measured map ------------------------------------------------------------------ */

/* A map file of text[0..len) must not import; its message in err. */
static void map_error_n(fixture *f, const char *text, size_t len, char *err, size_t errlen)
{
    char path[256], uri[512];
    snprintf(path, sizeof path, "%s", write_file(f, "map", text, len));
    snprintf(uri, sizeof uri, "sim:preset=ideal,rows=4,cols=4,map=%s", path);
    chip c;
    assert_int_equal(chip_open(&c, uri, err, errlen), -1);
}

#define map_error(f, lit, err, errlen) map_error_n(f, lit, sizeof lit - 1, err, errlen)

/* The bad line's number and column and what is wrong, never its bytes. */
static void test_map_messages(void **state)
{
    fixture *f = *state;
    char err[1024];
    map_error(f, "50 5\n\n5 \xff\xfe\x1b[2J 50\n", err, sizeof err);
    assert_non_null(strstr(err, "line 3, column 2: not a number"));
    assert_null(strstr(err, "\xff"));
    assert_null(strstr(err, "[2J"));
    map_error(f, "50 5\n5 50 5\n", err, sizeof err);
    assert_non_null(strstr(err, "line 2: 3 values, the first row had 2"));
    map_error(f, "1 2 3 4 5\n", err, sizeof err);
    assert_non_null(strstr(err, "line 1, column 5: more values than the 4 x 4 array holds"));
    map_error(f, "50 5\n5 \0 50\n", err, sizeof err);
    assert_non_null(strstr(err, "line 2: a NUL byte (not a text file)"));
    map_error(f, "\n \n", err, sizeof err);
    assert_non_null(strstr(err, "no values"));
    map_error(f, "50 nan\n", err, sizeof err);
    assert_non_null(strstr(err, "must be in"));
}

/* A map with CRLF line ends and blank lines imports. */
static void test_map_crlf(void **state)
{
    fixture *f = *state;
    static const char text[] = "50 5\r\n\r\n5 50\r\n";
    char path[256], uri[512], err[1024];
    snprintf(path, sizeof path, "%s", write_file(f, "map", text, sizeof text - 1));
    snprintf(uri, sizeof uri, "sim:preset=ideal,noise=0,rows=4,cols=4,map=%s", path);
    chip c;
    assert_int_equal(chip_open(&c, uri, err, sizeof err), 0);
    float g[4];
    chip_rect r = {0, 0, 2, 2};
    assert_int_equal(chip_read(&c, CHIP_POS, r, g, err, sizeof err), 0);
    assert_float_equal(g[0], 50.0f, 1e-3);
    assert_float_equal(g[1], 5.0f, 1e-3);
    assert_float_equal(g[2], 5.0f, 1e-3);
    chip_close(&c);
}

/* A URI with a control byte is refused before anything echoes it (simopts found a form feed
 * echoed by the sim); other bytes outside printable ASCII a sim option shows escaped. */
static void test_sim_option_printable(void **state)
{
    (void)state;
    chip c;
    char err[1024];
    assert_int_equal(chip_open(&c, "sim:rows=\f.3", err, sizeof err), -1);
    assert_non_null(strstr(err, "chip URI: a control byte (\\x0c) at offset 9"));
    assert_int_equal(chip_open(&c, "sim:line_solver=\x1b[2J", err, sizeof err), -1);
    assert_non_null(strstr(err, "a control byte (\\x1b)"));
    assert_int_equal(chip_open(&c, "sim:line_solver=\xff\xfe", err, sizeof err), -1);
    assert_non_null(strstr(err, "got '\\xff\\xfe'"));
    assert_null(strchr(err, '\xff'));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_idx_fifo),          T(test_dataset_fifo),       T(test_store_fifo),
        T(test_map_fifo),          T(test_store_kind_printable), T(test_store_huge_header),
        T(test_store_bn_constants), T(test_map_messages),      T(test_map_crlf),
        T(test_sim_option_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
