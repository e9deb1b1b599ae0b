/* Unit tests for core/kernels: packing and popcount products against plain loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

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

/* Products split across threads equal the single-threaded ones, for every transpose. */
static void test_sgemm_split_matches_serial(void **state)
{
    (void)state;
    int M = 100, N = 200, K = 150;
    rng r;
    rng_seed(&r, 5);
    /* Room for both orientations: A up to N x K, B up to K x N. */
    float *A = malloc(sizeof(float) * N * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    for (int i = 0; i < N * K; i++)
        A[i] = (float)rng_normal(&r);
    for (int i = 0; i < K * N; i++)
        B[i] = (float)rng_normal(&r);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int tall = 0; tall < 2; tall++) {
                int m = tall ? N : M, n = tall ? M : N; /* split along M, then along N */
                int lda = ta ? m : K, ldb = tb ? K : n;
                kern_set_threads(1);
                kern_sgemm(ta, tb, m, n, K, 1.0f, A, lda, B, ldb, 0.0f, C1, n);
                kern_set_threads(2);
                kern_sgemm(ta, tb, m, n, K, 1.0f, A, lda, B, ldb, 0.0f, C2, n);
                /* Some OpenBLAS kernels sum a split product in another order: equal to
                 * rounding, and bit-identical from one call to the next. */
                for (int i = 0; i < m * n; i++)
                    assert_float_equal(C1[i], C2[i], 1e-4f * (1.0f + fabsf(C1[i])));
                kern_sgemm(ta, tb, m, n, K, 1.0f, A, lda, B, ldb, 0.0f, C1, n);
                assert_memory_equal(C1, C2, sizeof(float) * m * n);
            }
    kern_set_threads(1);
    free(A);
    free(B);
    free(C1);
    free(C2);
}

static void test_sgemm_wrapper(void **state)
{
    (void)state;
    /* C (2x2) = A (2x3) B^T with B stored as 2x3 rows [1 0 0] and [1 1 1]. */
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}, C[4];
    kern_sgemm(0, 1, 2, 2, 3, 1.0f, A, 3, B, 3, 0.0f, C, 2);
    assert_float_equal(C[0], 1, 1e-6);
    assert_float_equal(C[1], 1 + 2 + 3, 1e-6);
    assert_float_equal(C[2], 4, 1e-6);
    assert_float_equal(C[3], 4 + 5 + 6, 1e-6);
    /* C (3x3) = A^T A with A as 2x3. */
    float D[9];
    kern_sgemm(1, 0, 3, 3, 2, 1.0f, A, 3, A, 3, 0.0f, D, 3);
    assert_float_equal(D[0], 1 * 1 + 4 * 4, 1e-6);
    assert_float_equal(D[5], 2 * 3 + 5 * 6, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products_match_loops),
        cmocka_unit_test(test_byte_products_match_loops),
        cmocka_unit_test(test_pack_signs),
        cmocka_unit_test(test_parallel_covers_range),
        cmocka_unit_test(test_sgemm_wrapper),
        cmocka_unit_test(test_parallel_nested),
        cmocka_unit_test(test_sgemm_split_matches_serial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
