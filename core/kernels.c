#include "kernels.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int kern_nthreads = 1;

/* A popcount-product kernel: rows of x against rows of w. */
typedef void (*bgemm_fn)(const uint64_t *x, int rows, const uint64_t *w, int cols, int words,
                         int mode, int nbits, int32_t *out, int ldo);

enum { MODE_XNOR, MODE_AND };

/* Portable path: the compiler's popcount (a POPCNT instruction where the CPU has it). */
__attribute__((target("popcnt"))) static void bgemm_popcnt(const uint64_t *x, int rows,
                                                           const uint64_t *w, int cols, int words,
                                                           int mode, int nbits, int32_t *out,
                                                           int ldo)
{
    for (int b = 0; b < rows; b++) {
        const uint64_t *xb = x + (size_t)b * words;
        int xones = 0;
        if (mode == MODE_AND)
            for (int k = 0; k < words; k++)
                xones += __builtin_popcountll(xb[k]);
        for (int o = 0; o < cols; o++) {
            const uint64_t *wo = w + (size_t)o * words;
            int c = 0;
            if (mode == MODE_XNOR) {
                for (int k = 0; k < words; k++)
                    c += __builtin_popcountll(xb[k] ^ wo[k]);
                out[(size_t)b * ldo + o] = nbits - 2 * c;
            } else {
                for (int k = 0; k < words; k++)
                    c += __builtin_popcountll(xb[k] & wo[k]);
                out[(size_t)b * ldo + o] = 2 * c - xones;
            }
        }
    }
}

static bgemm_fn bgemm_impl = bgemm_popcnt;
static void pack_signs_plain(const float *x, int n, uint64_t *out);
static void (*pack_impl)(const float *x, int n, uint64_t *out) = pack_signs_plain;
static const char *popcount_name = "popcnt";

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* AVX-512 path: 4 weight rows at a time share each load of x; VPOPCNTDQ counts 8 words
 * per instruction. Tails shorter than 8 words use masked loads (padding reads as 0). */
__attribute__((target("avx512f,avx512vpopcntdq,avx512bw"))) static void
bgemm_avx512(const uint64_t *x, int rows, const uint64_t *w, int cols, int words, int mode,
             int nbits, int32_t *out, int ldo)
{
    int full = words / 8, tail = words % 8;
    __mmask8 tmask = (__mmask8)((1u << tail) - 1);
    for (int b = 0; b < rows; b++) {
        const uint64_t *xb = x + (size_t)b * words;
        int xones = 0;
        if (mode == MODE_AND)
            for (int k = 0; k < words; k++)
                xones += __builtin_popcountll(xb[k]);
        int o = 0;
        for (; o + 4 <= cols; o += 4) {
            const uint64_t *w0 = w + (size_t)o * words;
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < full; k++) {
                __m512i xv = _mm512_loadu_si512(xb + 8 * k);
                __m512i v0 = _mm512_loadu_si512(w0 + 8 * k);
                __m512i v1 = _mm512_loadu_si512(w0 + words + 8 * k);
                __m512i v2 = _mm512_loadu_si512(w0 + 2 * words + 8 * k);
                __m512i v3 = _mm512_loadu_si512(w0 + 3 * words + 8 * k);
                if (mode == MODE_XNOR) {
                    a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v0)));
                    a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v1)));
                    a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v2)));
                    a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v3)));
                } else {
                    a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_and_si512(xv, v0)));
                    a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_and_si512(xv, v1)));
                    a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_and_si512(xv, v2)));
                    a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_and_si512(xv, v3)));
                }
            }
            if (tail) {
                __m512i xv = _mm512_maskz_loadu_epi64(tmask, xb + 8 * full);
                __m512i v0 = _mm512_maskz_loadu_epi64(tmask, w0 + 8 * full);
                __m512i v1 = _mm512_maskz_loadu_epi64(tmask, w0 + words + 8 * full);
                __m512i v2 = _mm512_maskz_loadu_epi64(tmask, w0 + 2 * words + 8 * full);
                __m512i v3 = _mm512_maskz_loadu_epi64(tmask, w0 + 3 * words + 8 * full);
                if (mode == MODE_XNOR) {
                    a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v0)));
                    a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v1)));
                    a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v2)));
                    a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_xor_si512(xv, v3)));
                } else {
                    a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_and_si512(xv, v0)));
                    a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_and_si512(xv, v1)));
                    a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_and_si512(xv, v2)));
                    a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_and_si512(xv, v3)));
                }
            }
            int32_t *ob = out + (size_t)b * ldo + o;
            int c[4] = {(int)_mm512_reduce_add_epi64(a0), (int)_mm512_reduce_add_epi64(a1),
                        (int)_mm512_reduce_add_epi64(a2), (int)_mm512_reduce_add_epi64(a3)};
            for (int j = 0; j < 4; j++)
                ob[j] = mode == MODE_XNOR ? nbits - 2 * c[j] : 2 * c[j] - xones;
        }
        if (o < cols)
            bgemm_popcnt(xb, 1, w + (size_t)o * words, cols - o, words, mode, nbits,
                         out + (size_t)b * ldo + o, ldo);
    }
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
static void pack_signs_avx512(const float *x, int n, uint64_t *out);
#endif

static void kern_pick(void)
{
    static int picked;
    if (picked)
        return;
    picked = 1;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bw")) {
        bgemm_impl = bgemm_avx512;
        popcount_name = "avx512-vpopcntdq";
    }
    if (__builtin_cpu_supports("avx512f"))
        pack_impl = pack_signs_avx512;
#endif
}

void kern_blas_env_fixup(char **argv)
{
    if (getenv("MPCL_BLAS_FIXED"))
        return; /* already restarted once */
    int restart = 0;
    const char *nt = getenv("OPENBLAS_NUM_THREADS");
    if (!nt || strcmp(nt, "1")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        restart = 1;
    }
#if defined(__x86_64__) && defined(__GNUC__)
    if (!getenv("OPENBLAS_CORETYPE")) {
        __builtin_cpu_init();
        const char *core = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                           : __builtin_cpu_supports("avx2") ? "Haswell"
                                                            : NULL;
        if (core) {
            setenv("OPENBLAS_CORETYPE", core, 1);
            restart = 1;
        }
    }
#endif
    if (restart) {
        setenv("MPCL_BLAS_FIXED", "1", 1);
        execv("/proc/self/exe", argv);
    }
}

void kern_set_threads(int threads)
{
    kern_pick();
    if (threads < 1)
        threads = 1;
    kern_nthreads = threads;
    openblas_set_num_threads(1);
}

int kern_threads(void) { return kern_nthreads; }

const char *kern_describe(void)
{
    static char buf[256];
    kern_pick();
    snprintf(buf, sizeof buf, "%s, kernel %s; popcount %s", openblas_get_config(),
             openblas_get_corename(), popcount_name);
    return buf;
}

typedef struct gemm_job {
    int ta, tb, M, N, K, split_n;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
} gemm_job;

enum { GEMM_UNIT = 16 }; /* split in multiples of the kernels' 16-wide blocks */

/* Units [begin, end) of the split dimension: an ordinary single-threaded sgemm on them. */
static void gemm_range(void *ud, int begin, int end)
{
    const gemm_job *j = ud;
    int lo = begin * GEMM_UNIT, hi = end * GEMM_UNIT;
    int dim = j->split_n ? j->N : j->M;
    if (hi > dim)
        hi = dim;
    if (lo >= hi)
        return;
    const float *A = j->A, *B = j->B;
    float *C = j->C;
    int M = j->M, N = j->N;
    if (j->split_n) {
        B += j->tb ? (size_t)lo * j->ldb : (size_t)lo;
        C += lo;
        N = hi - lo;
    } else {
        A += j->ta ? (size_t)lo : (size_t)lo * j->lda;
        C += (size_t)lo * j->ldc;
        M = hi - lo;
    }
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                j->tb ? CblasTrans : CblasNoTrans, M, N, j->K, j->alpha, A, j->lda, B, j->ldb,
                j->beta, C, j->ldc);
}

/* OpenBLAS runs single-threaded; with several threads the product is split over the
 * larger output dimension and each part runs on a thread of the lab's pool (OpenBLAS's
 * own threading scales poorly on the small products of a training step). */
void kern_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_job j = {trans_a, trans_b, M, N, K, N >= M, alpha, beta, A, B, C, lda, ldb, ldc};
    int units = ((j.split_n ? N : M) + GEMM_UNIT - 1) / GEMM_UNIT;
    if (kern_nthreads > 1 && (long)M * N * K >= (1L << 19))
        kern_parallel(units, 2, gemm_range, &j);
    else
        gemm_range(&j, 0, units);
}

static void pack_signs_plain(const float *x, int n, uint64_t *out)
{
    int words = KERN_WORDS(n);
    for (int k = 0; k < words; k++) {
        uint64_t v = 0;
        int base = k * 64, lim = n - base < 64 ? n - base : 64;
        for (int i = 0; i < lim; i++)
            v |= (uint64_t)(x[base + i] >= 0.0f) << i;
        out[k] = v;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* 16 comparisons per instruction straight into a mask register. */
__attribute__((target("avx512f"))) static void pack_signs_avx512(const float *x, int n,
                                                                 uint64_t *out)
{
    const __m512 zero = _mm512_setzero_ps();
    int k = 0;
    for (; (k + 1) * 64 <= n; k++) {
        const float *p = x + k * 64;
        uint64_t m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p), zero, _CMP_GE_OQ);
        uint64_t m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 16), zero, _CMP_GE_OQ);
        uint64_t m2 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 32), zero, _CMP_GE_OQ);
        uint64_t m3 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 48), zero, _CMP_GE_OQ);
        out[k] = m0 | m1 << 16 | m2 << 32 | m3 << 48;
    }
    if (k * 64 < n)
        pack_signs_plain(x + k * 64, n - k * 64, out + k);
}
#endif

void kern_pack_signs(const float *x, int n, uint64_t *out)
{
    kern_pick();
    pack_impl(x, n, out);
}

void kern_bgemm_xnor(const uint64_t *x, int rows, const uint64_t *w, int cols, int words,
                     int nbits, int32_t *out, int ldo)
{
    kern_pick();
    bgemm_impl(x, rows, w, cols, words, MODE_XNOR, nbits, out, ldo);
}

void kern_bgemm_and(const uint64_t *x, int rows, const uint64_t *w, int cols, int words,
                    int32_t *out, int ldo)
{
    kern_pick();
    bgemm_impl(x, rows, w, cols, words, MODE_AND, 0, out, ldo);
}

/* A persistent pool of worker threads for kern_parallel: workers spin briefly on the job
 * generation (jobs come every few hundred microseconds while training), then sleep on a
 * condition variable. Chunk 0 of every job runs on the calling thread. */
typedef struct par_job {
    void (*fn)(void *ud, int begin, int end);
    void *ud;
    int n, chunks;
} par_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    int nworkers;
    pthread_t tid[64];
    _Atomic unsigned generation;
    _Atomic int pending;
    par_job job;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

#if defined(__x86_64__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Set while a thread runs a chunk: a kern_parallel inside a chunk runs serially. */
static _Thread_local int in_chunk;

static void par_chunk_run(const par_job *j, int c)
{
    in_chunk = 1;
    int begin = (int)((long)j->n * c / j->chunks), end = (int)((long)j->n * (c + 1) / j->chunks);
    if (begin < end)
        j->fn(j->ud, begin, end);
    in_chunk = 0;
}

static void *par_worker(void *arg)
{
    int id = (int)(intptr_t)arg; /* runs chunk id + 1 */
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&pool.generation)) == seen && spins < 40000) {
            cpu_relax();
            spins++;
        }
        if (g == seen) {
            pthread_mutex_lock(&pool.mu);
            while ((g = atomic_load(&pool.generation)) == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = g;
        par_job j = pool.job;
        if (id + 1 < j.chunks)
            par_chunk_run(&j, id + 1);
        if (atomic_fetch_sub(&pool.pending, 1) == 1) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
    return NULL;
}

/* Start workers up to `want` (they live for the process). */
static int pool_grow(int want)
{
    if (want > 63)
        want = 63;
    while (pool.nworkers < want) {
        if (pthread_create(&pool.tid[pool.nworkers], NULL, par_worker,
                           (void *)(intptr_t)pool.nworkers) != 0)
            break;
        pthread_detach(pool.tid[pool.nworkers]);
        pool.nworkers++;
    }
    return pool.nworkers;
}

void kern_parallel(int n, int grain, void (*fn)(void *ud, int begin, int end), void *ud)
{
    int chunks = kern_nthreads;
    if (grain < 1)
        grain = 1;
    if (chunks > n / grain)
        chunks = n / grain;
    if (chunks > 64)
        chunks = 64;
    if (in_chunk)
        chunks = 1;
    if (chunks > 1 && pool_grow(chunks - 1) < chunks - 1)
        chunks = pool.nworkers + 1;
    if (chunks <= 1) {
        if (n > 0)
            fn(ud, 0, n);
        return;
    }
    /* One job at a time: the pool serves the thread that owns the engine's work. */
    pool.job = (par_job){fn, ud, n, chunks};
    atomic_store(&pool.pending, pool.nworkers);
    pthread_mutex_lock(&pool.mu);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    par_chunk_run(&pool.job, 0);
    int spins = 0;
    while (atomic_load(&pool.pending) > 0 && spins < 200000) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&pool.pending) > 0) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load(&pool.pending) > 0)
            pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
}
