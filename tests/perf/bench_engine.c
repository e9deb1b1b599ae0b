/* mpcl-bench: the engine's side of `make bench` (tests/perf/bench.sh runs it beside the
 * PyTorch peer). One epoch of training of 784-256-256-10 on 12,000 images (batch 100),
 * and inference on 10,000 images with float and with binary inputs; prints key: value
 * lines in images per second. The images are seeded random bytes, as in the peer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "clock.h"
#include "kernels.h"
#include "net.h"
#include "optim.h"
#include "rng.h"
#include "train.h"

/* n random 784-pixel images with random labels, as float (bytes) and binary (>= 128) sets. */
static void make_sets(int n, data_set *f, data_set *b)
{
    data_raw raw = {.n = n, .rows = 28, .cols = 28};
    raw.pixels = malloc((size_t)n * 784);
    raw.labels = malloc(n);
    rng r;
    rng_seed(&r, 42);
    for (size_t i = 0; i < (size_t)n * 784; i++)
        raw.pixels[i] = (uint8_t)rng_below(&r, 256);
    for (int k = 0; k < n; k++)
        raw.labels[k] = (uint8_t)rng_below(&r, 10);
    char err[256];
    if (data_prepare(&raw, DATA_INPUT_FLOAT784, 0.5f, f, err, sizeof err) < 0 ||
        data_prepare(&raw, DATA_INPUT_BINARY784, 128.0f / 255.0f, b, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl-bench: %s\n", err);
        exit(1);
    }
    data_raw_free(&raw);
}

static double bench_train(const data_set *d)
{
    int sizes[4] = {784, 256, 256, 10};
    char err[256];
    net n;
    optim o;
    if (net_create(&n, 3, sizes, d->binary, 1.0f, 1, err, sizeof err) < 0 ||
        optim_create(&o, &n, RULE_MPCL, 0.005f) < 0) {
        fprintf(stderr, "mpcl-bench: %s\n", err);
        exit(1);
    }
    for (int l = 0; l < 3; l++)
        o.m[l] = 0.005f;
    /* One task holding every class and every image, no validation split. */
    int groups[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, one[1] = {10};
    data_tasks tasks;
    if (data_tasks_split(d, d, 1, one, groups, 0.0, 1, &tasks, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl-bench: %s\n", err);
        exit(1);
    }
    train_config cfg;
    train_config_default(&cfg);
    cfg.epochs = 1;
    cfg.patience = 0;
    cfg.mask_task = 0;
    cfg.bn_task = 0;
    train_result res;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) { /* the first run warms up */
        double t0 = clock_seconds();
        train_task(&n, &o, d, &tasks, 0, &cfg, NULL, NULL, NULL, &res, err, sizeof err);
        double rate = tasks.task[0].ntrain / (clock_seconds() - t0);
        if (rep > 0 && rate > best)
            best = rate;
    }
    data_tasks_free(&tasks);
    optim_free(&o);
    net_free(&n);
    return best;
}

static double bench_infer(const data_set *d, int count)
{
    int sizes[4] = {784, 256, 256, 10};
    char err[256];
    net n;
    if (net_create(&n, 3, sizes, d->binary, 1.0f, 1, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl-bench: %s\n", err);
        exit(1);
    }
    int *idx = malloc(sizeof(int) * count);
    float *out = malloc(sizeof(float) * count * 10);
    for (int k = 0; k < count; k++)
        idx[k] = k % d->n;
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = clock_seconds();
        net_infer(&n, -1, d, idx, count, out);
        double rate = count / (clock_seconds() - t0);
        if (rep > 0 && rate > best)
            best = rate;
    }
    free(idx);
    free(out);
    net_free(&n);
    return best;
}

int main(int argc, char **argv)
{
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: mpcl-bench [--threads N]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "mpcl-bench: --threads takes 1 to 64\n");
        return 2;
    }
    kern_flush_denormals(); /* as the peer does */
    kern_set_threads(threads);
    data_set f, b;
    make_sets(12000, &f, &b);
    printf("blas: %s, threads %d\n", kern_describe(), threads);
    printf("train_float784: %.0f\n", bench_train(&f));
    printf("infer_float784: %.0f\n", bench_infer(&f, 10000));
    printf("infer_binary784: %.0f\n", bench_infer(&b, 10000));
    data_set_free(&f);
    data_set_free(&b);
    return 0;
}
