#include "kernels.h"

#include "isa.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int kern_nthreads = 1;

/* A popcount-product kernel: rows of x against the prepared columns of w. */
typedef void (*bgemm_fn)(const uint64_t *x, int rows, const kern_bmat *w, int mode, int nbits,
                         int32_t *out, int ldo);

enum { MODE_XNOR, MODE_AND };

static inline int32_t finish(int mode, int count, int nbits, int xones)
{
    return mode == MODE_XNOR ? nbits - 2 * count : 2 * count - xones;
}

/* Portable path, one column at a time; POPCNT where the path allows it. */
ISA_INLINE void bgemm_scalar_body(const uint64_t *x, int rows, const kern_bmat *w, int mode,
                                  int nbits, int32_t *out, int ldo)
{
    int words = w->words, cols = w->cols, colsp = w->colsp;
    for (int b = 0; b < rows; b++) {
        const uint64_t *xb = x + (size_t)b * words;
        int xones = 0;
        for (int k = 0; k < words; k++)
            xones += __builtin_popcountll(xb[k]);
        for (int o = 0; o < cols; o++) {
            int c = 0;
            for (int k = 0; k < words; k++) {
                uint64_t wk = w->t[(size_t)k * colsp + o];
                c += __builtin_popcountll(mode == MODE_XNOR ? xb[k] ^ wk : xb[k] & wk);
            }
            out[(size_t)b * ldo + o] = finish(mode, c, nbits, xones);
        }
    }
}

__attribute__((target("popcnt"))) static void bgemm_popcnt(const uint64_t *x, int rows,
                                                           const kern_bmat *w, int mode,
                                                           int nbits, int32_t *out, int ldo)
{
    bgemm_scalar_body(x, rows, w, mode, nbits, out, ldo);
}

static void bgemm_plain(const uint64_t *x, int rows, const kern_bmat *w, int mode, int nbits,
                        int32_t *out, int ldo)
{
    bgemm_scalar_body(x, rows, w, mode, nbits, out, ldo);
}

static void pack_signs_plain(const float *x, int n, uint64_t *out);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512_POPCNT __attribute__((target("avx512f,avx512vpopcntdq,avx512bw,avx512vl")))

/* A tile of R rows of x by G groups of 8 columns: for every word k, G vectors of the
 * columns' k-th words meet R broadcasts of x's k-th words; VPOPCNTQ counts 8 pairs per
 * instruction into R x G accumulators that live in registers. */
AVX512_POPCNT __attribute__((always_inline)) static inline void
bgemm_tile(const uint64_t *x, int words, const kern_bmat *w, int o, int R, int G, int mode,
           int nbits, const int *xones, int32_t *out, int ldo)
{
    __m512i acc[4][4];
    for (int r = 0; r < R; r++)
        for (int g = 0; g < G; g++)
            acc[r][g] = _mm512_setzero_si512();
    const uint64_t *col = w->t + o;
    for (int k = 0; k < words; k++) {
        __m512i wv[4];
        for (int g = 0; g < G; g++)
            wv[g] = _mm512_loadu_si512(col + (size_t)k * w->colsp + 8 * g);
        for (int r = 0; r < R; r++) {
            __m512i xv = _mm512_set1_epi64((long long)x[(size_t)r * words + k]);
            for (int g = 0; g < G; g++) {
                __m512i v = mode == MODE_XNOR ? _mm512_xor_si512(xv, wv[g])
                                              : _mm512_and_si512(xv, wv[g]);
                acc[r][g] = _mm512_add_epi64(acc[r][g], _mm512_popcnt_epi64(v));
            }
        }
    }
    for (int r = 0; r < R; r++) {
        __m256i base = _mm256_set1_epi32(mode == MODE_XNOR ? nbits : -xones[r]);
        __m256i sign = _mm256_set1_epi32(mode == MODE_XNOR ? -2 : 2);
        for (int g = 0; g < G; g++) {
            int at = o + 8 * g, left = w->cols - at;
            if (left <= 0)
                break;
            __m256i c = _mm512_cvtepi64_epi32(acc[r][g]);
            __m256i v = _mm256_add_epi32(base, _mm256_mullo_epi32(sign, c));
            __mmask8 keep = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1);
            _mm256_mask_storeu_epi32(out + (size_t)r * ldo + at, keep, v);
        }
    }
}

AVX512_POPCNT static void bgemm_avx512(const uint64_t *x, int rows, const kern_bmat *w,
                                       int mode, int nbits, int32_t *out, int ldo)
{
    int words = w->words, groups = w->colsp / 8;
    for (int b = 0; b < rows; b += 4) {
        int R = rows - b < 4 ? rows - b : 4;
        const uint64_t *xb = x + (size_t)b * words;
        int32_t *ob = out + (size_t)b * ldo;
        int xones[4] = {0}; /* set bits of each row, for the AND form */
        if (mode == MODE_AND)
            for (int r = 0; r < R; r++)
                for (int k = 0; k < words; k++)
                    xones[r] += __builtin_popcountll(xb[(size_t)r * words + k]);
        for (int g = 0; g < groups; g += 4) {
            int G = groups - g < 4 ? groups - g : 4;
            if (R == 4 && G == 4) /* constant shape: fully unrolled, all in registers */
                bgemm_tile(xb, words, w, 8 * g, 4, 4, mode, nbits, xones, ob, ldo);
            else
                bgemm_tile(xb, words, w, 8 * g, R, G, mode, nbits, xones, ob, ldo);
        }
    }
}
#endif

static void qgemm_plain(const uint8_t *x, int rows, int ldx, const kern_qmat *w, int32_t *out,
                        int ldo);
#if defined(__x86_64__) && defined(__GNUC__)
static void pack_signs_avx512(const float *x, int n, uint64_t *out);
static void qgemm_vnni(const uint8_t *x, int rows, int ldx, const kern_qmat *w, int32_t *out,
                       int ldo);
#endif

/* The kernels of the active path (isa.h); integer products, exact on every path. */
static bgemm_fn bgemm_impl(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa_use(ISA_EXT_VPOPCNTDQ))
        return bgemm_avx512;
#endif
    return isa_use(ISA_EXT_POPCNT) ? bgemm_popcnt : bgemm_plain;
}

static const char *bgemm_name(void)
{
    return isa_use(ISA_EXT_VPOPCNTDQ) ? "avx512-vpopcntdq"
           : isa_use(ISA_EXT_POPCNT)  ? "popcnt"
                                      : "plain";
}

static int use_vnni(void) { return isa_use(ISA_EXT_VNNI); }

void kern_flush_denormals(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | 0x8040); /* FTZ | DAZ */
#endif
}

void kern_set_threads(int threads) { kern_nthreads = threads < 1 ? 1 : threads; }

static void pool_reset(void);
void kern_after_fork(int threads)
{
    pool_reset();
    kern_set_threads(threads);
}

int kern_threads(void) { return kern_nthreads; }

const char *kern_describe(void)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "path %s (best here: %s), cpu %s; float products: own kernels, fixed order; "
             "popcount %s; byte products %s",
             isa_name(isa_active()), isa_name(isa_best()), isa_cpu_model(), bgemm_name(),
             use_vnni() ? "avx512-vnni" : "plain");
    return buf;
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

/* ---- byte inputs against +-1 weights ------------------------------------------------- */

/* The 4 input bytes of group g of a row, zero past K (no read past the row). */
static inline uint32_t x_group(const uint8_t *xr, int g, int K)
{
    uint32_t v = 0;
    if (4 * g + 4 <= K)
        memcpy(&v, xr + 4 * g, 4);
    else
        for (int j = 0; 4 * g + j < K; j++)
            v |= (uint32_t)xr[4 * g + j] << (8 * j);
    return v;
}

static void qgemm_plain(const uint8_t *x, int rows, int ldx, const kern_qmat *w, int32_t *out,
                        int ldo)
{
    for (int b = 0; b < rows; b++) {
        const uint8_t *xr = x + (size_t)b * ldx;
        for (int o = 0; o < w->cols; o++) {
            int32_t s = 0;
            for (int k = 0; k < w->K; k++)
                s += (int32_t)xr[k] * w->q[((size_t)(k / 4) * w->colsp + o) * 4 + k % 4];
            out[(size_t)b * ldo + o] = s;
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* R rows by G blocks of 16 columns; every step takes 4 inputs: one broadcast of a row's 4
 * bytes meets G weight vectors in VPDPBUSD (64 multiply-adds an instruction). */
AVX512_VNNI __attribute__((always_inline)) static inline void
qgemm_tile(const uint8_t *x, int ldx, const kern_qmat *w, int o, int R, int G, int32_t *out,
           int ldo)
{
    __m512i acc[4][4];
    for (int r = 0; r < R; r++)
        for (int g = 0; g < G; g++)
            acc[r][g] = _mm512_setzero_si512();
    int full = w->K / 4;
    for (int k4 = 0; k4 < w->k4; k4++) {
        __m512i wv[4];
        const int8_t *base = w->q + ((size_t)k4 * w->colsp + o) * 4;
        for (int g = 0; g < G; g++)
            wv[g] = _mm512_loadu_si512(base + 64 * g);
        for (int r = 0; r < R; r++) {
            const uint8_t *xr = x + (size_t)r * ldx;
            uint32_t v;
            if (k4 < full)
                memcpy(&v, xr + 4 * k4, 4);
            else
                v = x_group(xr, k4, w->K);
            __m512i xv = _mm512_set1_epi32((int)v);
            for (int g = 0; g < G; g++)
                acc[r][g] = _mm512_dpbusd_epi32(acc[r][g], xv, wv[g]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int g = 0; g < G; g++) {
            int at = o + 16 * g, left = w->cols - at;
            if (left <= 0)
                break;
            __mmask16 keep = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_epi32(out + (size_t)r * ldo + at, keep, acc[r][g]);
        }
}

AVX512_VNNI static void qgemm_vnni(const uint8_t *x, int rows, int ldx, const kern_qmat *w,
                                   int32_t *out, int ldo)
{
    int blocks = w->colsp / 16;
    for (int b = 0; b < rows; b += 4) {
        int R = rows - b < 4 ? rows - b : 4;
        for (int g = 0; g < blocks; g += 4) {
            int G = blocks - g < 4 ? blocks - g : 4;
            const uint8_t *xb = x + (size_t)b * ldx;
            int32_t *ob = out + (size_t)b * ldo;
            if (R == 4 && G == 4) /* constant shape: fully unrolled, all in registers */
                qgemm_tile(xb, ldx, w, 16 * g, 4, 4, ob, ldo);
            else
                qgemm_tile(xb, ldx, w, 16 * g, R, G, ob, ldo);
        }
    }
}
#endif

/* Four weights (+1 for a set bit, -1 for a clear one) as the int8 bytes of one word. */
static const uint32_t nibble_weights[16] = {
    0xFFFFFFFF, 0xFFFFFF01, 0xFFFF01FF, 0xFFFF0101, 0xFF01FFFF, 0xFF01FF01, 0xFF0101FF,
    0xFF010101, 0x01FFFFFF, 0x01FFFF01, 0x01FF01FF, 0x01FF0101, 0x0101FFFF, 0x0101FF01,
    0x010101FF, 0x01010101};

void kern_qmat_fill_cols(kern_qmat *m, const uint64_t *bits, int words, int o0, int o1)
{
    int full = m->K / 4, tail = m->K % 4;
    /* Group by group, so that the stores run along memory; memcpy stores the 4 bytes. */
    for (int g = 0; g < full; g++) {
        int8_t *qg = m->q + (size_t)g * m->colsp * 4;
        const uint64_t *wg = bits + (g >> 4);
        int shift = (g & 15) * 4;
        for (int o = o0; o < o1; o++)
            memcpy(qg + 4 * (size_t)o, &nibble_weights[(wg[(size_t)o * words] >> shift) & 15u], 4);
    }
    if (tail) {
        int8_t *qg = m->q + (size_t)full * m->colsp * 4;
        uint32_t keep = (1u << (8 * tail)) - 1u; /* inputs past K weigh 0 */
        for (int o = o0; o < o1; o++) {
            unsigned nib = (unsigned)(bits[(size_t)o * words + (full >> 4)] >> ((full & 15) * 4));
            uint32_t v = nibble_weights[nib & 15u] & keep;
            memcpy(qg + 4 * (size_t)o, &v, 4);
        }
    }
}

void kern_qmat_fill(kern_qmat *m, const uint64_t *bits, int words)
{
    memset(m->q, 0, (size_t)m->k4 * m->colsp * 4);
    kern_qmat_fill_cols(m, bits, words, 0, m->cols);
}

int kern_qmat_prepare(kern_qmat *m, const uint64_t *bits, int cols, int K, int words)
{
    m->cols = cols;
    m->K = K;
    m->k4 = (K + 3) / 4;
    m->colsp = (cols + 15) / 16 * 16;
    m->q = malloc((size_t)m->k4 * m->colsp * 4);
    if (!m->q)
        return -1;
    kern_qmat_fill(m, bits, words);
    return 0;
}

void kern_qmat_free(kern_qmat *m)
{
    free(m->q);
    m->q = NULL;
}

void kern_qgemm(const uint8_t *x, int rows, int ldx, const kern_qmat *w, int32_t *out, int ldo)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (use_vnni()) {
        qgemm_vnni(x, rows, ldx, w, out, ldo);
        return;
    }
#endif
    qgemm_plain(x, rows, ldx, w, out, ldo);
}

void kern_pack_signs(const float *x, int n, uint64_t *out)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa_active() == ISA_AVX512) {
        pack_signs_avx512(x, n, out);
        return;
    }
#endif
    pack_signs_plain(x, n, out);
}

int kern_bmat_prepare(kern_bmat *m, const uint64_t *w, int cols, int words)
{
    m->cols = cols;
    m->words = words;
    m->colsp = (cols + 7) / 8 * 8;
    m->t = calloc((size_t)words * m->colsp, sizeof(uint64_t));
    if (!m->t)
        return -1;
    kern_bmat_fill(m, w);
    return 0;
}

void kern_bmat_fill(kern_bmat *m, const uint64_t *w)
{
    for (int k = 0; k < m->words; k++)
        for (int o = 0; o < m->cols; o++)
            m->t[(size_t)k * m->colsp + o] = w[(size_t)o * m->words + k];
}

void kern_bmat_free(kern_bmat *m)
{
    free(m->t);
    m->t = NULL;
}

void kern_bgemm_xnor(const uint64_t *x, int rows, const kern_bmat *w, int nbits, int32_t *out,
                     int ldo)
{
    bgemm_impl()(x, rows, w, MODE_XNOR, nbits, out, ldo);
}

void kern_bgemm_and(const uint64_t *x, int rows, const kern_bmat *w, int32_t *out, int ldo)
{
    bgemm_impl()(x, rows, w, MODE_AND, 0, out, ldo);
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

/* Held by the thread whose work the pool serves. The engine may run on the job worker and
 * on the main thread at once (an evaluation while a training job runs); the thread that
 * finds the pool taken runs its work serially, which gives the same results. */
static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER;

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

/* A forked child has none of the pool's threads: start from an empty pool. */
static void pool_reset(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pthread_mutex_init(&pool_owner, NULL);
    pool.nworkers = 0;
    atomic_store(&pool.pending, 0);
    atomic_store(&pool.generation, 0); /* new workers start waiting for generation 1 */
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
    int owned = chunks > 1 && pthread_mutex_trylock(&pool_owner) == 0;
    if (!owned)
        chunks = 1;
    else if (pool_grow(chunks - 1) < chunks - 1)
        chunks = pool.nworkers + 1;
    if (chunks <= 1) {
        if (n > 0)
            fn(ud, 0, n);
        if (owned)
            pthread_mutex_unlock(&pool_owner);
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
    pthread_mutex_unlock(&pool_owner);
}
