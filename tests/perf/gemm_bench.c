/* mpcl-bench-gemm: what the fixed summation order costs. The float products of a training
 * step of 784-256-256-10 (batch 100) and of a noisy forward pass, timed with the engine's
 * own kernels (core/gemm, its AVX-512 and AVX2 paths where the CPU has them) and with OpenBLAS's
 * cblas_sgemm (the kernel OPENBLAS_CORETYPE or the CPU picks), one thread, in one process.
 * For each product: GFLOP/s of each side, the ratio, and whether OpenBLAS's bits equal the
 * fixed order's (they need not: its kernel sums in its own order). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "gemm.h"
#include "isa.h"
#include "kernels.h"
#include "rng.h"

typedef struct shape {
    const char *what;
    int ta, tb, M, N, K;
} shape;

static const shape shapes[] = {
    {"dW layer 1 (256x784, K=100)", 1, 0, 256, 784, 100},
    {"dW layer 2 (256x256, K=100)", 1, 0, 256, 256, 100},
    {"dW layer 3 (10x256, K=100)", 1, 0, 10, 256, 100},
    {"dX layer 2 (100x256, K=256)", 0, 0, 100, 256, 256},
    {"dX layer 3 (100x256, K=10)", 0, 0, 100, 256, 10},
    {"noisy forward (256x256, K=784)", 0, 1, 256, 256, 784},
};

/* Best time of reps calls (after one warm-up) of one side. */
static double best_time(int blas, const shape *s, const float *A, const float *B, float *C)
{
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double best = 1e30;
    for (int rep = 0; rep < 40; rep++) {
        double t0 = clock_seconds();
        if (blas)
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                        s->tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, 1.0f, A, lda, B,
                        ldb, 0.0f, C, s->N);
        else
            gemm_f32(s->ta, s->tb, s->M, s->N, s->K, A, lda, B, ldb, 0, C, s->N);
        double t = clock_seconds() - t0;
        if (rep > 0 && t < best)
            best = t;
    }
    return best;
}

int main(void)
{
    kern_flush_denormals();
    kern_set_threads(1);
    openblas_set_num_threads(1);
    size_t n = (size_t)800 * 800;
    float *A = malloc(sizeof(float) * n), *B = malloc(sizeof(float) * n);
    float *C = malloc(sizeof(float) * n), *R = malloc(sizeof(float) * n);
    if (!A || !B || !C || !R)
        return 1;
    rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < n; i++) {
        A[i] = (float)rng_normal(&r);
        B[i] = rng_below(&r, 2) ? 1.0f : -1.0f; /* sign weights or +-1 activations */
    }
    isa_path best = isa_best();
    printf("engine: own kernels, fixed order (cpu %s); OpenBLAS: %s, kernel %s; 1 thread\n",
           isa_cpu_model(), openblas_get_config(), openblas_get_corename());
    printf("%-32s", "product");
    for (int p = (int)best; p >= ISA_AVX2; p--)
        printf(" %8s GF/s", isa_name((isa_path)p));
    printf(" %9s GF/s  %s  %s\n", "openblas", "best/openblas", "openblas bits");
    double sum_own = 0, sum_blas = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        double flops = 2.0 * s->M * s->N * s->K, t_best = 0;
        printf("%-32s", s->what);
        for (int p = (int)best; p >= ISA_AVX2; p--) {
            isa_set((isa_path)p);
            double t = best_time(0, s, A, B, C);
            if (p == (int)best)
                t_best = t;
            printf(" %13.1f", flops / t / 1e9);
        }
        isa_set(best);
        gemm_f32(s->ta, s->tb, s->M, s->N, s->K, A, s->ta ? s->M : s->K, B, s->tb ? s->K : s->N,
                 0, R, s->N);
        double tb = best_time(1, s, A, B, C);
        int same = !memcmp(C, R, sizeof(float) * s->M * s->N);
        printf(" %14.1f  %12.2fx  %s\n", flops / tb / 1e9, tb / t_best,
               same ? "the same" : "other bits");
        sum_own += t_best;
        sum_blas += tb;
    }
    printf("all six products: engine %.1f us, OpenBLAS %.1f us: OpenBLAS time / engine time "
           "%.2fx\n", 1e6 * sum_own, 1e6 * sum_blas, sum_blas / sum_own);
    free(A);
    free(B);
    free(C);
    free(R);
    return 0;
}
