/* mpcl-bench-chip: the cost of simulating the devices. Chip inference of the 10,000
 * Fashion-MNIST test images (paper net, 192-256-256-10) at p = 16, per-read noise on, on
 * the default simulated chip (the paper's board: line resistance, fixed front end) and on
 * the ideal one (sim:preset=ideal), against plain binary inference (net_infer) of the same
 * net in the same process; best of 5 runs each, after a first run that also solves the
 * line networks (printed apart). Prints the times and both ratios; the bars are 15x with
 * line resistance and 10x for the ideal chip. CHIP=URI replaces the first chip. The net's
 * weights are random: the work does not depend on them. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chip.h"
#include "chipnet.h"
#include "data.h"
#include "clock.h"
#include "kernels.h"
#include "net.h"

static void die(const char *err)
{
    fprintf(stderr, "mpcl-bench-chip: %s\n", err);
    exit(1);
}

int main(void)
{
    kern_flush_denormals();
    const char *t = getenv("MPCL_THREADS");
    kern_set_threads(t && atoi(t) > 0 ? atoi(t) : 2);
    char err[512];
    data_raw raw;
    data_set test;
    if (data_raw_load_named("fmnist", 0, &raw, err, sizeof err) < 0 ||
        data_prepare_take(&raw, DATA_INPUT_PAPER192, 0.2f, &test, err, sizeof err) < 0)
        die(err);
    int sizes[4] = {192, 256, 256, 10};
    net n;
    if (net_create(&n, 3, sizes, 1, 1.0f, 1, err, sizeof err) < 0)
        die(err);
    int count = test.n;
    int *idx = malloc(sizeof(int) * count);
    float *z = malloc(sizeof(float) * count * 10);
    for (int k = 0; k < count; k++)
        idx[k] = k;
    const char *uris[2] = {getenv("CHIP") ? getenv("CHIP") : "sim:id=42",
                           "sim:preset=ideal,id=42"};
    const char *what[2] = {"paper's board (line resistance)", "ideal chip"};
    const double bar[2] = {15, 10};
    double plain = 1e9, hw[2] = {1e9, 1e9}, first[2];
    chip c[2];
    for (int k = 0; k < 2; k++)
        if (chip_open(&c[k], uris[k], err, sizeof err) < 0 ||
            chipnet_place(&c[k], &n, err, sizeof err) < 0 ||
            chipnet_program(&c[k], &n, 0, NULL, NULL, err, sizeof err) < 0)
            die(err);
    for (int rep = 0; rep < 6; rep++) {
        double t0 = clock_seconds();
        net_infer(&n, -1, &test, idx, count, z);
        double t = clock_seconds() - t0;
        plain = rep > 0 && t < plain ? t : plain;
        for (int k = 0; k < 2; k++) {
            t0 = clock_seconds();
            if (chipnet_infer(&c[k], &n, -1, 16, &test, idx, count, z, NULL, err, sizeof err) < 0)
                die(err);
            t = clock_seconds() - t0;
            if (rep == 0)
                first[k] = t;
            else if (t < hw[k])
                hw[k] = t;
        }
    }
    printf("inference of %d images, 192-256-256-10, %d threads (best of 5):\n", count,
           kern_threads());
    printf("  plain binary (popcount): %8.2f ms  %6.2f us/image\n", 1e3 * plain, 1e6 * plain / count);
    for (int k = 0; k < 2; k++)
        printf("  chip %s, p = 16, read noise: %8.2f ms  %6.2f us/image (first run, cold: "
               "%.2f ms)\n", uris[k], 1e3 * hw[k], 1e6 * hw[k] / count, 1e3 * first[k]);
    for (int k = 0; k < 2; k++)
        printf("chip simulation / plain inference, %s: %.1fx (target: at most %.0fx)\n", what[k],
               hw[k] / plain, bar[k]);
    for (int k = 0; k < 2; k++)
        chip_close(&c[k]);
    net_free(&n);
    data_set_free(&test);
    free(idx);
    free(z);
    return 0;
}
