/* Unit tests for core/gemm: each output is one sum of fused multiply-adds in k order, the
 * same bits on every instruction-set path, thread count and shape of the call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "rng.h"

static void fill(rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_normal(r);
}

static void test_small_products(void **state)
{
    (void)state;
    /* C (2x2) = A (2x3) B^T with B stored as 2x3 rows [1 0 0] and [1 1 1]. */
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}, C[4];
    gemm_f32(0, 1, 2, 2, 3, A, 3, B, 3, 0, C, 2);
    float want[4] = {1, 6, 4, 15};
    assert_memory_equal(C, want, sizeof want);
    /* C (3x3) = A^T A with A as 2x3, then accumulated once more. */
    float D[9];
    gemm_f32(1, 0, 3, 3, 2, A, 3, A, 3, 0, D, 3);
    assert_true(D[0] == 17.0f && D[5] == 36.0f);
    gemm_f32(1, 0, 3, 3, 2, A, 3, A, 3, 1, D, 3);
    assert_true(D[0] == 34.0f && D[5] == 72.0f);
}

/* The definition, on inputs where another order or unfused arithmetic gives other bits. */
static void test_sum_order_and_fusion(void **state)
{
    (void)state;
    float C;
    /* In k order: 1e8, then 1e8 + 1 = 1e8 (the 1 is lost), then 0. Pairs would give 1. */
    float a[3] = {1e8f, 1.0f, -1e8f}, b[3] = {1.0f, 1.0f, 1.0f};
    gemm_f32(0, 0, 1, 1, 3, a, 3, b, 1, 0, &C, 1);
    assert_true(C == 0.0f);
    /* (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 when fused, 0 when the product is rounded. */
    float e = 1.0f + 0x1p-12f;
    float a2[2] = {1.0f, e}, b2[2] = {-(1.0f + 0x1p-11f), e};
    for (int p = (int)isa_best(); p >= ISA_GENERIC; p--) {
        isa_set((isa_path)p);
        gemm_f32(0, 0, 1, 1, 2, a2, 2, b2, 1, 0, &C, 1);
        assert_true(C == 0x1p-24f);
    }
    isa_set(isa_best());
}

/* Random shapes (edges of every tile and panel), strides, transposes and accumulation:
 * every path equals the reference bit for bit, at 1 and 2 threads. */
static void test_paths_match_reference(void **state)
{
    (void)state;
    rng r;
    rng_seed(&r, 7);
    enum { MAXD = 80 };
    float *A = malloc(sizeof(float) * (MAXD + 3) * (MAXD + 3));
    float *B = malloc(sizeof(float) * (MAXD + 3) * (MAXD + 3));
    float *C0 = malloc(sizeof(float) * MAXD * (MAXD + 5));
    float *ref = malloc(sizeof(float) * MAXD * (MAXD + 5));
    float *got = malloc(sizeof(float) * MAXD * (MAXD + 5));
    fill(&r, A, (size_t)(MAXD + 3) * (MAXD + 3));
    fill(&r, B, (size_t)(MAXD + 3) * (MAXD + 3));
    fill(&r, C0, (size_t)MAXD * (MAXD + 5));
    int trials = getenv("MPCL_TEST_QUICK") ? 12 : 60;
    for (int t = 0; t < trials; t++) {
        int ta = t & 1, tb = t >> 1 & 1, acc = t >> 2 & 1;
        int M = 1 + (int)rng_below(&r, MAXD), N = 1 + (int)rng_below(&r, MAXD);
        int K = (int)rng_below(&r, MAXD);
        int lda = (ta ? M : K) + (int)rng_below(&r, 3), ldb = (tb ? K : N) + (int)rng_below(&r, 3);
        int ldc = N + (int)rng_below(&r, 5);
        size_t cn = (size_t)M * ldc;
        memcpy(ref, C0, sizeof(float) * cn);
        gemm_f32_reference(ta, tb, M, N, K, A, lda, B, ldb, acc, ref, ldc);
        for (int p = (int)isa_best(); p >= ISA_GENERIC; p--)
            for (int threads = 1; threads <= 2; threads++) {
                isa_set((isa_path)p);
                kern_set_threads(threads);
                memcpy(got, C0, sizeof(float) * cn);
                gemm_f32(ta, tb, M, N, K, A, lda, B, ldb, acc, got, ldc);
                assert_memory_equal(ref, got, sizeof(float) * cn);
            }
    }
    isa_set(isa_best());
    kern_set_threads(1);
    free(A);
    free(B);
    free(C0);
    free(ref);
    free(got);
}

/* A product large enough to be split over threads, both ways: every split, every path. */
static void test_split_products(void **state)
{
    (void)state;
    int M = 100, N = 300, K = 150;
    rng r;
    rng_seed(&r, 5);
    float *A = malloc(sizeof(float) * N * K), *B = malloc(sizeof(float) * K * N);
    float *ref = malloc(sizeof(float) * M * N), *got = malloc(sizeof(float) * M * N);
    fill(&r, A, (size_t)N * K);
    fill(&r, B, (size_t)K * N);
    for (int tall = 0; tall < 2; tall++) {
        int m = tall ? N : M, n = tall ? M : N; /* split along N, then along M */
        gemm_f32_reference(0, 1, m, n, K, A, K, B, K, 0, ref, n);
        for (int p = (int)isa_best(); p >= ISA_GENERIC; p--)
            for (int threads = 1; threads <= 3; threads++) {
                isa_set((isa_path)p);
                kern_set_threads(threads);
                gemm_f32(0, 1, m, n, K, A, K, B, K, 0, got, n);
                assert_memory_equal(ref, got, sizeof(float) * m * n);
            }
    }
    isa_set(isa_best());
    kern_set_threads(1);
    free(A);
    free(B);
    free(ref);
    free(got);
}

static void test_empty_products(void **state)
{
    (void)state;
    float A[1] = {1}, B[1] = {1}, C[4] = {5, 5, 5, 5};
    gemm_f32(0, 0, 2, 2, 0, A, 1, B, 2, 1, C, 2); /* K = 0: C + 0 */
    assert_true(C[0] == 5.0f && C[3] == 5.0f);
    gemm_f32(0, 0, 2, 2, 0, A, 1, B, 2, 0, C, 2); /* K = 0: the empty sum */
    assert_true(C[0] == 0.0f && C[3] == 0.0f);
    gemm_f32(0, 0, 0, 2, 1, A, 1, B, 2, 0, C, 2); /* no rows: nothing written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_products),
        cmocka_unit_test(test_sum_order_and_fusion),
        cmocka_unit_test(test_paths_match_reference),
        cmocka_unit_test(test_split_products),
        cmocka_unit_test(test_empty_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
