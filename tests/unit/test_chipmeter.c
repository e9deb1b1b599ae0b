/* The chip measurements (core/chipmeter): the LRS/HRS histogram of a programmed net and
 * retention traces, each against a reference that reads a twin chip (same id, same calls)
 * cell by cell as chip:histogram and chip:retention used to, to the bit; the first LRS
 * cells of a layer; argument errors, read errors naming the chip, and nothing allocated
 * after a failure (the ASan and valgrind runs check that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "chipmeter.h"
#include "chipnet.h"
#include "net.h"

static char err[512];

/* A random (untrained) 48-40-24-10 net programmed on a fresh sim chip. */
static void programmed(chip *c, const char *uri, net *n)
{
    int sizes[4] = {48, 40, 24, 10};
    assert_int_equal(net_create(n, 3, sizes, 1, 1.0f, 7, err, sizeof err), 0);
    assert_int_equal(chip_open(c, uri, err, sizeof err), 0);
    assert_int_equal(chipnet_place(c, n, err, sizeof err), 0);
    chipnet_report rep;
    assert_int_equal(chipnet_program(c, n, 0, NULL, &rep, err, sizeof err), 0);
}

/* The histogram as chip:histogram computed it in the binding before it moved to core. */
static void reference_histogram(chip *c, const net *n, int layer, int bins, double gmax,
                                long *lrs, long *hrs, double mean[2], double sd[2])
{
    double s[2] = {0}, s2[2] = {0};
    long cnt[2] = {0};
    for (int l = 0; l < n->nlayers; l++) {
        if (layer && l != layer - 1)
            continue;
        chip_rect r = c->at[l];
        size_t cells = (size_t)r.rows * r.cols;
        float *gp = malloc(sizeof *gp * cells), *gn = malloc(sizeof *gn * cells);
        assert_int_equal(chip_read(c, CHIP_POS, r, gp, err, sizeof err), 0);
        assert_int_equal(chip_read(c, CHIP_NEG, r, gn, err, sizeof err), 0);
        const net_layer *nl = &n->layer[l];
        for (int i = 0; i < r.rows; i++)
            for (int j = 0; j < r.cols; j++) {
                int plus = nl->wh[(size_t)j * nl->in + i] >= 0.0f;
                float g[2] = {gp[i * r.cols + j], gn[i * r.cols + j]};
                for (int a = 0; a < 2; a++) {
                    int is_lrs = a == 0 ? plus : !plus;
                    double x = g[a] / gmax * bins;
                    int bin = !(x >= 0) ? 0 : x >= bins ? bins - 1 : (int)x;
                    (is_lrs ? lrs : hrs)[bin]++;
                    s[is_lrs] += g[a];
                    s2[is_lrs] += (double)g[a] * g[a];
                    cnt[is_lrs]++;
                }
            }
        free(gp);
        free(gn);
    }
    for (int a = 0; a < 2; a++) {
        mean[a] = cnt[a] ? s[a] / cnt[a] : 0;
        double var = cnt[a] ? s2[a] / cnt[a] - mean[a] * mean[a] : 0;
        sd[a] = sqrt(var > 0 ? var : 0);
    }
}

static void test_histogram(void **state)
{
    (void)state;
    chip c, twin;
    net n, n2;
    programmed(&c, "sim:id=21", &n);
    programmed(&twin, "sim:id=21", &n2);
    double glrs;
    assert_int_equal(chip_get(&c, "g_lrs", &glrs, err, sizeof err), 0);
    assert_true(chipmeter_histogram_default_max(&c) == 1.6 * glrs);
    static chipmeter_histogram h;
    static long lrs[60], hrs[60];
    double mean[2], sd[2];
    for (int layer = 0; layer <= 3; layer += 2) {
        double gmax = chipmeter_histogram_default_max(&c);
        assert_int_equal(chipmeter_histogram_measure(&c, &n, layer, 60, gmax, &h, err,
                                                     sizeof err), 0);
        memset(lrs, 0, sizeof lrs);
        memset(hrs, 0, sizeof hrs);
        reference_histogram(&twin, &n2, layer, 60, gmax, lrs, hrs, mean, sd);
        assert_int_equal(h.bins, 60);
        assert_memory_equal(h.lrs, lrs, sizeof lrs);
        assert_memory_equal(h.hrs, hrs, sizeof hrs);
        assert_true(h.hrs_mean == mean[0] && h.lrs_mean == mean[1]);
        assert_true(h.hrs_sd == sd[0] && h.lrs_sd == sd[1]);
        assert_true(h.edges[0] == 0 && h.edges[60] == gmax && h.edges[30] == gmax * 30 / 60);
        long cells = 0, nl = 0, nh = 0;
        for (int l = 0; l < 3; l++)
            if (!layer || l == layer - 1)
                cells += (long)n.sizes[l] * n.sizes[l + 1];
        for (int b = 0; b < 60; b++) {
            nl += h.lrs[b];
            nh += h.hrs[b];
        }
        assert_true(nl == cells && nh == cells); /* one LRS and one HRS cell per weight */
        assert_true(h.lrs_mean > 5 * h.hrs_mean);
    }
    /* bad arguments: one line, nothing measured */
    assert_int_equal(chipmeter_histogram_measure(&c, &n, 0, 1, 100, &h, err, sizeof err), -1);
    assert_string_equal(err, "bins 2-1000, max > 0, layer 0 (all) or 1-3");
    assert_int_equal(chipmeter_histogram_measure(&c, &n, 4, 60, 100, &h, err, sizeof err), -1);
    assert_int_equal(chipmeter_histogram_measure(&c, &n, 0, 60, NAN, &h, err, sizeof err), -1);
    assert_int_equal(chipmeter_histogram_measure(&c, &n, 0, 1001, 100, &h, err, sizeof err), -1);
    chip_close(&c);
    chip_close(&twin);
    net_free(&n);
    net_free(&n2);
}

static void test_lrs_cells(void **state)
{
    (void)state;
    chip c;
    net n;
    programmed(&c, "sim:id=4", &n);
    chipmeter_cell cells[5000];
    int k = chipmeter_lrs_cells(&c, &n, cells, 5000);
    assert_int_equal(k, 48 * 40); /* the whole first layer */
    assert_int_equal(chipmeter_lrs_cells(&c, &n, cells, 45), 45);
    for (int i = 0; i < 45; i++) { /* row by row from the layer's corner */
        int row = i / 40, col = i % 40;
        assert_int_equal(cells[i].row, c.at[0].row0 + row);
        assert_int_equal(cells[i].col, c.at[0].col0 + col);
        int plus = n.layer[0].wh[(size_t)col * 48 + row] >= 0.0f;
        assert_int_equal(cells[i].array, plus ? CHIP_POS : CHIP_NEG);
    }
    chip_close(&c);
    net_free(&n);
}

/* Retention as chip:retention read it in the binding. */
static void reference_trace(chip *c, chipmeter_cell cell, long reads, int every, float *trace,
                            double *mean, double *dev)
{
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    int nt = 0;
    for (long i = 0; i < reads; i++) {
        float g;
        assert_int_equal(chip_read(c, cell.array, (chip_rect){cell.row, cell.col, 1, 1}, &g,
                                   err, sizeof err), 0);
        mn = g < mn ? g : mn;
        mx = g > mx ? g : mx;
        sum += g;
        if (i % every == 0) {
            trace[nt++] = g;
            assert_int_equal(chip_set(c, "refresh", 0, err, sizeof err), 0);
        }
    }
    *mean = sum / (double)reads;
    *dev = *mean > 0 ? (mx - mn) / *mean : 0;
}

static void test_retention(void **state)
{
    (void)state;
    chip c, twin;
    net n, n2;
    programmed(&c, "sim:id=8", &n);
    programmed(&twin, "sim:id=8", &n2);
    chipmeter_cell cells[3];
    assert_int_equal(chipmeter_lrs_cells(&c, &n, cells, 2), 2);
    cells[2] = (chipmeter_cell){CHIP_NEG, 5, 7};
    chipmeter_retention r;
    assert_int_equal(chipmeter_retention_measure(&c, cells, 3, 50, 7, &r, err, sizeof err), 0);
    assert_int_equal(r.ncells, 3);
    assert_int_equal(r.every, 7);
    assert_int_equal(r.ntrace, 8); /* reads 0, 7, ..., 49 */
    for (int k = 0; k < 3; k++) {
        float trace[8];
        double mean, dev;
        reference_trace(&twin, cells[k], 50, 7, trace, &mean, &dev);
        assert_memory_equal(r.trace + k * 8, trace, sizeof trace);
        assert_true(r.mean[k] == mean && r.max_deviation[k] == dev);
    }
    assert_true(r.mean[0] > r.mean[2]); /* an LRS cell against a cell never programmed */
    chipmeter_retention_free(&r);
    chipmeter_retention_free(&r); /* twice is safe */
    /* errors leave nothing allocated */
    cells[1] = (chipmeter_cell){2, 0, 0};
    assert_int_equal(chipmeter_retention_measure(&c, cells, 3, 10, 1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "chip sim:id=8: array 2 does not exist"));
    assert_null(r.mean);
    assert_null(r.trace);
    assert_int_equal(chipmeter_retention_measure(&c, cells, 1, 1, 1, &r, err, sizeof err), -1);
    assert_int_equal(chipmeter_retention_measure(&c, cells, 1, 10, 0, &r, err, sizeof err), -1);
    assert_int_equal(chipmeter_retention_measure(&c, cells, 0, 10, 1, &r, err, sizeof err), -1);
    assert_null(strchr(err, '\n'));
    chip_close(&c);
    chip_close(&twin);
    net_free(&n);
    net_free(&n2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_lrs_cells),
        cmocka_unit_test(test_retention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
