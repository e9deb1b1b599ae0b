/* Synthetic data sets for unit tests: each class has a random prototype of `dim` bits;
 * an example is its class's prototype with each bit flipped with probability `noise`.
 * Learnable by construction, small, and independent of the real data files. */
#ifndef MPCL_TEST_SYNTH_H
#define MPCL_TEST_SYNTH_H

#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "kernels.h"
#include "rng.h"

static inline void synth_binary(data_set *d, int n, int dim, double noise, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    memset(d, 0, sizeof *d);
    d->n = n;
    d->dim = dim;
    d->input = DATA_INPUT_BINARY784;
    d->binary = 1;
    d->words = KERN_WORDS(dim);
    d->bits = calloc((size_t)n * d->words, sizeof(uint64_t));
    d->labels = malloc(n);
    uint8_t proto[10][1024];
    rng pr;
    rng_seed(&pr, 12345); /* the same prototypes for every set, so train and test agree */
    for (int c = 0; c < 10; c++)
        for (int i = 0; i < dim; i++)
            proto[c][i] = rng_uniform(&pr) < 0.5;
    for (int k = 0; k < n; k++) {
        int c = k % 10;
        d->labels[k] = (uint8_t)c;
        for (int i = 0; i < dim; i++) {
            int bit = proto[c][i] ^ (rng_uniform(&r) < noise);
            if (bit)
                d->bits[(size_t)k * d->words + i / 64] |= 1ULL << (i % 64);
        }
    }
}

/* A float set of the same kind: bytes 0 or 255 with the same structure, plus jitter. */
static inline void synth_float(data_set *d, int n, int dim, double noise, uint64_t seed)
{
    data_set b;
    synth_binary(&b, n, dim, noise, seed);
    rng r;
    rng_seed(&r, seed + 1);
    memset(d, 0, sizeof *d);
    d->n = n;
    d->dim = dim;
    d->input = DATA_INPUT_FLOAT784;
    d->bytes = malloc((size_t)n * dim);
    d->labels = b.labels;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < dim; i++) {
            int bit = (int)(b.bits[(size_t)k * b.words + i / 64] >> (i % 64) & 1);
            d->bytes[(size_t)k * dim + i] = (uint8_t)(bit ? 200 + rng_below(&r, 56)
                                                          : rng_below(&r, 56));
        }
    free(b.bits);
}

#endif
