/* mpcl-bench-chip: the cost of simulating the devices. Chip inference of the 10,000
 * Fashion-MNIST test images (paper preset, 192-256-256-10) on the default simulated chip at
 * p = 16, per-read noise on, against plain binary inference (net_infer) of the same net in
 * the same process; best of 5 runs each. Prints the times and their ratio; the bar
 * is 10x. The net's weights are random: the work does not depend on them. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chip.h"
#include "chipnet.h"
#include "data.h"
#include "kernels.h"
#include "net.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * ts.tv_nsec;
}

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
    chip c;
    if (chip_open(&c, getenv("CHIP") ? getenv("CHIP") : "sim:id=42", err, sizeof err) < 0 || chipnet_place(&c, &n, err, sizeof err) < 0 ||
        chipnet_program(&c, &n, 0, NULL, NULL, err, sizeof err) < 0)
        die(err);
    int count = test.n;
    int *idx = malloc(sizeof(int) * count);
    float *z = malloc(sizeof(float) * count * 10);
    for (int k = 0; k < count; k++)
        idx[k] = k;
    double plain = 1e9, hw = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        net_infer(&n, -1, &test, idx, count, z);
        double t1 = now();
        if (chipnet_infer(&c, &n, -1, 16, &test, idx, count, z, NULL, err, sizeof err) < 0)
            die(err);
        double t2 = now();
        plain = t1 - t0 < plain ? t1 - t0 : plain;
        hw = t2 - t1 < hw ? t2 - t1 : hw;
    }
    printf("inference of %d images, 192-256-256-10, %d threads (best of 5):\n", count,
           kern_threads());
    printf("  plain binary (popcount): %8.2f ms  %6.2f us/image\n", 1e3 * plain, 1e6 * plain / count);
    printf("  chip, p = 16, read noise: %8.2f ms  %6.2f us/image\n", 1e3 * hw, 1e6 * hw / count);
    printf("chip simulation / plain inference: %.1fx (target: at most 10x)\n", hw / plain);
    chip_close(&c);
    net_free(&n);
    data_set_free(&test);
    free(idx);
    free(z);
    return 0;
}
