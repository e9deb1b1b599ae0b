/* Unit tests for core/kernels: packing and popcount products against plain loops, the
 * same on every instruction-set path; the thread pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "isa.h"
#include "kernels.h"
#include "rng.h"

static void random_bits(rng *r, uint64_t *w, int rows, int nbits)
{
    int words = KERN_WORDS(nbits);
    for (int k = 0; k < rows; k++)
        for (int j = 0; j < words; j++) {
            uint64_t v = rng_next(r);
            int left = nbits - 64 * j;
            if (left < 64)
                v &= (1ULL << left) - 1;
            w[(size_t)k * words + j] = v;
        }
}

static int bit(const uint64_t *row, int i) { return (int)(row[i / 64] >> (i % 64) & 1); }

static void check_products(int rows, int cols, int nbits)
{
    rng r;
    rng_seed(&r, (uint64_t)(rows * 1000 + cols * 10 + nbits));
    int words = KERN_WORDS(nbits);
    uint64_t *x = malloc(sizeof(uint64_t) * rows * words);
    uint64_t *w = malloc(sizeof(uint64_t) * cols * words);
    int32_t *out = malloc(sizeof(int32_t) * rows * cols);
    random_bits(&r, x, rows, nbits);
    random_bits(&r, w, cols, nbits);
    kern_bmat wm;
    assert_int_equal(kern_bmat_prepare(&wm, w, cols, words), 0);
    kern_bgemm_xnor(x, rows, &wm, nbits, out, cols);
    for (int b = 0; b < rows; b++)
        for (int o = 0; o < cols; o++) {
            int ref = 0;
            for (int i = 0; i < nbits; i++)
                ref += (bit(x + b * words, i) ? 1 : -1) * (bit(w + o * words, i) ? 1 : -1);
            assert_int_equal(out[b * cols + o], ref);
        }
    kern_bgemm_and(x, rows, &wm, out, cols);
    for (int b = 0; b < rows; b++)
        for (int o = 0; o < cols; o++) {
            int ref = 0;
            for (int i = 0; i < nbits; i++)
                ref += bit(x + b * words, i) * (bit(w + o * words, i) ? 1 : -1);
            assert_int_equal(out[b * cols + o], ref);
        }
    kern_bmat_free(&wm);
    free(x);
    free(w);
    free(out);
}

static void test_products_match_loops(void **state)
{
    (void)state;
    /* Row counts around the 4-row tile, column counts around the 8-column group and the
     * 32-column tile, word counts from one to many with ragged tails. */
    int shapes[][3] = {{3, 5, 1},    {2, 4, 64},  {5, 7, 192},   {4, 9, 511},  {3, 8, 512},
                       {2, 13, 784}, {1, 1, 1000}, {6, 3, 1025}, {9, 40, 256}, {8, 33, 130},
                       {4, 32, 784}, {7, 70, 200}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_products(shapes[i][0], shapes[i][1], shapes[i][2]);
}

static void check_qgemm(int rows, int cols, int K)
{
    rng r;
    rng_seed(&r, (uint64_t)(rows * 7919 + cols * 31 + K));
    int words = KERN_WORDS(K), ldx = K + 3; /* rows not aligned to anything */
    uint8_t *x = malloc((size_t)rows * ldx);
    uint64_t *w = malloc(sizeof(uint64_t) * cols * words);
    int32_t *out = malloc(sizeof(int32_t) * rows * cols);
    for (int i = 0; i < rows * ldx; i++)
        x[i] = (uint8_t)rng_below(&r, 256);
    random_bits(&r, w, cols, K);
    kern_qmat q;
    assert_int_equal(kern_qmat_prepare(&q, w, cols, K, words), 0);
    kern_qgemm(x, rows, ldx, &q, out, cols);
    for (int b = 0; b < rows; b++)
        for (int o = 0; o < cols; o++) {
            int ref = 0;
            for (int k = 0; k < K; k++)
                ref += x[b * ldx + k] * (bit(w + o * words, k) ? 1 : -1);
            assert_int_equal(out[b * cols + o], ref);
        }
    kern_qmat_free(&q);
    free(x);
    free(w);
    free(out);
}

static void test_byte_products_match_loops(void **state)
{
    (void)state;
    /* Rows around the 4-row tile, columns around the 16-column block and the 64-column
     * tile, inputs with and without a ragged group of 4. */
    int shapes[][3] = {{1, 1, 1},  {3, 5, 7},    {4, 16, 8},  {5, 17, 9},   {4, 64, 784},
                       {9, 70, 784}, {2, 256, 192}, {7, 10, 257}, {8, 33, 130}, {1, 100, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_qgemm(shapes[i][0], shapes[i][1], shapes[i][2]);
}

static void test_pack_signs(void **state)
{
    (void)state;
    float x[70];
    for (int i = 0; i < 70; i++)
        x[i] = (i % 3 == 0) ? -0.5f : (i % 3 == 1 ? 0.0f : 2.0f);
    uint64_t out[2];
    kern_pack_signs(x, 70, out);
    for (int i = 0; i < 70; i++)
        assert_int_equal(bit(out, i), x[i] >= 0.0f);
    assert_int_equal(out[1] >> 6, 0); /* padding bits stay zero */
}

typedef struct sum_ctx {
    long *partial;
} sum_ctx;

static void add_range(void *ud, int begin, int end)
{
    sum_ctx *c = ud;
    for (int i = begin; i < end; i++)
        c->partial[i] = (long)i * i;
}

static void test_parallel_covers_range(void **state)
{
    (void)state;
    long partial[1000] = {0};
    sum_ctx c = {partial};
    for (int threads = 1; threads <= 3; threads++) {
        kern_set_threads(threads);
        kern_parallel(1000, 10, add_range, &c);
        for (int i = 0; i < 1000; i++)
            assert_int_equal(partial[i], (long)i * i);
    }
    kern_set_threads(1);
}

static void nested_inner(void *ud, int begin, int end)
{
    long *partial = ud;
    for (int i = begin; i < end; i++)
        partial[i] += 1;
}

static void nested_outer(void *ud, int begin, int end)
{
    long *partial = ud;
    /* A parallel call from inside a chunk must run (serially), not deadlock. */
    for (int i = begin; i < end; i++)
        kern_parallel(1, 1, nested_inner, partial + i);
}

static void test_parallel_nested(void **state)
{
    (void)state;
    long partial[64] = {0};
    kern_set_threads(2);
    kern_parallel(64, 1, nested_outer, partial);
    for (int i = 0; i < 64; i++)
        assert_int_equal(partial[i], 1);
    kern_set_threads(1);
}

/* Every instruction-set path gives the same integers and packed bits. */
static void test_paths_agree(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 11);
    int rows = 13, cols = 37, nbits = 200, words = KERN_WORDS(nbits);
    uint64_t *x = malloc(sizeof(uint64_t) * rows * words), *w = malloc(sizeof(uint64_t) * cols * words);
    uint8_t *x8 = malloc((size_t)rows * nbits);
    float *f = malloc(sizeof(float) * nbits);
    random_bits(&r, x, rows, nbits);
    random_bits(&r, w, cols, nbits);
    for (int i = 0; i < rows * nbits; i++)
        x8[i] = (uint8_t)rng_below(&r, 256);
    for (int i = 0; i < nbits; i++)
        f[i] = (float)rng_normal(&r);
    kern_bmat bm;
    kern_qmat qm;
    assert_int_equal(kern_bmat_prepare(&bm, w, cols, words), 0);
    assert_int_equal(kern_qmat_prepare(&qm, w, cols, nbits, words), 0);
    int32_t ref[3][13 * 37], out[3][13 * 37];
    uint64_t ref_bits[KERN_WORDS(200)], bits[KERN_WORDS(200)];
    isa_path best = isa_best();
    for (int p = (int)best; p >= ISA_GENERIC; p--) {
        assert_int_equal(isa_set((isa_path)p), 0);
        int32_t(*o)[13 * 37] = p == (int)best ? ref : out;
        kern_bgemm_xnor(x, rows, &bm, nbits, o[0], cols);
        kern_bgemm_and(x, rows, &bm, o[1], cols);
        kern_qgemm(x8, rows, nbits, &qm, o[2], cols);
        kern_pack_signs(f, nbits, p == (int)best ? ref_bits : bits);
        if (p != (int)best) {
            assert_memory_equal(ref, out, sizeof ref);
            assert_memory_equal(ref_bits, bits, sizeof bits);
        }
    }
    isa_set(best);
    kern_bmat_free(&bm);
    kern_qmat_free(&qm);
    free(x);
    free(w);
    free(x8);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products_match_loops),
        cmocka_unit_test(test_byte_products_match_loops),
        cmocka_unit_test(test_pack_signs),
        cmocka_unit_test(test_parallel_covers_range),
        cmocka_unit_test(test_parallel_nested),
        cmocka_unit_test(test_paths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
