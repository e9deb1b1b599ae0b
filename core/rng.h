/* rng: seeded pseudo-random generators. Every random draw in the lab goes through
 * one of these, seeded from the run's seed, so that runs and replays reproduce.
 * xoshiro256** seeded through splitmix64; normal draws by Box-Muller. */
#ifndef MPCL_RNG_H
#define MPCL_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seed a generator; any 64-bit seed (0 included) gives a valid state. */
void rng_seed(rng *r, uint64_t seed);
/* A generator for sub-stream `stream` of `seed`: independent of rng_seed(seed). */
void rng_seed_stream(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1). */
double rng_uniform(rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t rng_below(rng *r, uint32_t n);
/* Standard normal N(0, 1). */
double rng_normal(rng *r);
/* Fisher-Yates shuffle of n ints. */
void rng_shuffle(rng *r, int *a, int n);

#endif
