#include "gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "kernels.h"

#if ISA_HAVE_X86
#include <immintrin.h>
#endif

/* op(B) is copied a panel of NR columns at a time into (K, NR) rows, zero past the
 * matrix's edge; a tile of rows of op(A) then runs down the panel, one fused multiply-add
 * per term, its sums in registers for the whole of K. */
enum {
    NR = 32,      /* columns of a panel: two AVX-512 vectors, four AVX2 vectors */
    ROW_UNIT = 16 /* rows per unit of work when the threads split the rows */
};

typedef struct gemm_job {
    int ta, tb, M, N, K, accumulate, split_n;
    const float *A, *B;
    int lda, ldb;
    float *C;
    int ldc;
} gemm_job;

/* A tile's view of op(A): element (r, k) of the tile at a[r * rs + k * ks]. */
typedef struct tile_a {
    const float *a;
    size_t rs, ks;
} tile_a;

static tile_a tile_at(const gemm_job *g, int i)
{
    if (g->ta)
        return (tile_a){g->A + i, 1, (size_t)g->lda};
    return (tile_a){g->A + (size_t)i * g->lda, (size_t)g->lda, 1};
}

/* Columns j0 .. j0+nc-1 of op(B), all K rows, into panel (K, NR). */
static void pack_panel(const gemm_job *g, int j0, int nc, float *panel)
{
    if (nc < NR)
        memset(panel, 0, sizeof(float) * (size_t)g->K * NR);
    if (!g->tb) {
        for (int k = 0; k < g->K; k++)
            memcpy(panel + (size_t)k * NR, g->B + (size_t)k * g->ldb + j0, sizeof(float) * nc);
        return;
    }
    for (int j = 0; j < nc; j++) {
        const float *col = g->B + (size_t)(j0 + j) * g->ldb;
        for (int k = 0; k < g->K; k++)
            panel[(size_t)k * NR + j] = col[k];
    }
}

/* ---- one output at a time: the definition, and the generic path -------------------- */

static inline float finish(float s, const float *c, int accumulate)
{
    return accumulate ? *c + s : s;
}

void gemm_f32_reference(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, int accumulate, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++)
                s = fmaf(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k],
                         tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j], s);
            float *c = C + (size_t)i * ldc + j;
            *c = finish(s, c, accumulate);
        }
}

enum { MR_GENERIC = 4 };

/* R rows by the panel's nc columns, fmaf (correctly rounded: a hardware FMA or glibc's
 * exact emulation). */
static void tile_generic(int R, int K, tile_a t, const float *panel, size_t ps, float *c,
                         int ldc, int nc, int accumulate)
{
    float s[MR_GENERIC][NR];
    memset(s, 0, sizeof s);
    for (int k = 0; k < K; k++) {
        const float *b = panel + k * ps;
        for (int r = 0; r < R; r++) {
            float a = t.a[r * t.rs + k * t.ks];
            for (int j = 0; j < nc; j++)
                s[r][j] = fmaf(a, b[j], s[r][j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nc; j++) {
            float *cj = c + (size_t)r * ldc + j;
            *cj = finish(s[r][j], cj, accumulate);
        }
}

static void panel_generic(const gemm_job *g, int i0, int i1, int j0, int nc,
                          const float *panel, size_t ps)
{
    for (int i = i0; i < i1; i += MR_GENERIC) {
        int R = i1 - i < MR_GENERIC ? i1 - i : MR_GENERIC;
        tile_generic(R, g->K, tile_at(g, i), panel, ps, g->C + (size_t)i * g->ldc + j0, g->ldc,
                     nc, g->accumulate);
    }
}

#if ISA_HAVE_X86
/* ---- AVX-512: tiles of up to 12 rows by 32 columns, 24 sums in registers -------------- */

enum { MR_512 = 12 };

ISA_TARGET_AVX512 __attribute__((always_inline)) static inline void
tile_avx512(int R, int K, tile_a t, const float *panel, size_t ps, float *c, int ldc, int nc,
            int accumulate)
{
    __m512 s[MR_512][2];
    for (int r = 0; r < R; r++)
        s[r][0] = s[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_loadu_ps(panel + k * ps);
        __m512 b1 = _mm512_loadu_ps(panel + k * ps + 16);
        const float *ak = t.a + k * t.ks;
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(ak[r * t.rs]);
            s[r][0] = _mm512_fmadd_ps(a, b0, s[r][0]);
            s[r][1] = _mm512_fmadd_ps(a, b1, s[r][1]);
        }
    }
    __mmask16 m[2];
    for (int h = 0; h < 2; h++) {
        int left = nc - 16 * h;
        m[h] = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
    }
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 2; h++) {
            float *cr = c + (size_t)r * ldc + 16 * h;
            __m512 v = s[r][h];
            if (accumulate)
                v = _mm512_add_ps(_mm512_maskz_loadu_ps(m[h], cr), v);
            _mm512_mask_storeu_ps(cr, m[h], v);
        }
}

/* Tiles of a constant row count keep their sums in registers (R from 1 to 6 or 12). */
#define TILE_CASES6(fn, R, ...)                                                               \
    switch (R) {                                                                             \
    case 1: fn(1, __VA_ARGS__); break;                                                       \
    case 2: fn(2, __VA_ARGS__); break;                                                       \
    case 3: fn(3, __VA_ARGS__); break;                                                       \
    case 4: fn(4, __VA_ARGS__); break;                                                       \
    case 5: fn(5, __VA_ARGS__); break;                                                       \
    default: fn(6, __VA_ARGS__); break;                                                      \
    }
#define TILE_CASES12(fn, R, ...)                                                              \
    switch (R) {                                                                             \
    case 7: fn(7, __VA_ARGS__); break;                                                       \
    case 8: fn(8, __VA_ARGS__); break;                                                       \
    case 9: fn(9, __VA_ARGS__); break;                                                       \
    case 10: fn(10, __VA_ARGS__); break;                                                     \
    case 11: fn(11, __VA_ARGS__); break;                                                     \
    case 12: fn(12, __VA_ARGS__); break;                                                     \
    default: TILE_CASES6(fn, R, __VA_ARGS__)                                                 \
    }

ISA_TARGET_AVX512 static void panel_avx512(const gemm_job *g, int i0, int i1, int j0, int nc,
                                           const float *panel, size_t ps)
{
    for (int i = i0; i < i1; i += MR_512) {
        int R = i1 - i < MR_512 ? i1 - i : MR_512;
        float *c = g->C + (size_t)i * g->ldc + j0;
        TILE_CASES12(tile_avx512, R, g->K, tile_at(g, i), panel, ps, c, g->ldc, nc,
                     g->accumulate)
    }
}

/* ---- AVX2: tiles of up to 6 rows by 16 columns (half a panel), 12 sums in registers --- */

enum { MR_256 = 6 };

ISA_TARGET_AVX2 __attribute__((always_inline)) static inline __m256i mask8(int left)
{
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lanes);
}

ISA_TARGET_AVX2 __attribute__((always_inline)) static inline void
tile_avx2(int R, int K, tile_a t, const float *panel, size_t ps, float *c, int ldc, int nc,
          int accumulate)
{
    __m256 s[MR_256][2];
    for (int r = 0; r < R; r++)
        s[r][0] = s[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 b0 = _mm256_loadu_ps(panel + k * ps);
        __m256 b1 = _mm256_loadu_ps(panel + k * ps + 8);
        const float *ak = t.a + k * t.ks;
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_broadcast_ss(ak + r * t.rs);
            s[r][0] = _mm256_fmadd_ps(a, b0, s[r][0]);
            s[r][1] = _mm256_fmadd_ps(a, b1, s[r][1]);
        }
    }
    __m256i m[2] = {mask8(nc), mask8(nc - 8)};
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 2; h++) {
            float *cr = c + (size_t)r * ldc + 8 * h;
            __m256 v = s[r][h];
            if (accumulate)
                v = _mm256_add_ps(_mm256_maskload_ps(cr, m[h]), v);
            _mm256_maskstore_ps(cr, m[h], v);
        }
}

ISA_TARGET_AVX2 static void panel_avx2(const gemm_job *g, int i0, int i1, int j0, int nc,
                                       const float *panel, size_t ps)
{
    for (int half = 0; half * 16 < nc; half++) {
        int left = nc - 16 * half;
        for (int i = i0; i < i1; i += MR_256) {
            int R = i1 - i < MR_256 ? i1 - i : MR_256;
            float *c = g->C + (size_t)i * g->ldc + j0 + 16 * half;
            const float *p = panel + 16 * half;
            TILE_CASES6(tile_avx2, R, g->K, tile_at(g, i), p, ps, c, g->ldc, left, g->accumulate)
        }
    }
}
#endif

/* Units [begin, end) of the split dimension: every panel of the part, every row tile. */
static void gemm_units(void *ud, int begin, int end)
{
    const gemm_job *g = ud;
    int i0 = 0, i1 = g->M, j0 = 0, j1 = g->N;
    if (g->split_n) {
        j0 = begin * NR;
        j1 = end * NR < g->N ? end * NR : g->N;
    } else {
        i0 = begin * ROW_UNIT;
        i1 = end * ROW_UNIT < g->M ? end * ROW_UNIT : g->M;
    }
    size_t bytes = ((sizeof(float) * (size_t)g->K * NR) + 63) / 64 * 64;
    float *panel = aligned_alloc(64, bytes ? bytes : 64);
    if (!panel) { /* the same sums, one at a time, without a panel */
        const float *A = g->ta ? g->A + i0 : g->A + (size_t)i0 * g->lda;
        const float *B = g->tb ? g->B + (size_t)j0 * g->ldb : g->B + j0;
        gemm_f32_reference(g->ta, g->tb, i1 - i0, j1 - j0, g->K, A, g->lda, B, g->ldb,
                           g->accumulate, g->C + (size_t)i0 * g->ldc + j0, g->ldc);
        return;
    }
    isa_path path = isa_active();
    for (int j = j0; j < j1; j += NR) {
        int nc = j1 - j < NR ? j1 - j : NR;
        /* A whole panel of an untransposed B is read in place, rows ldb apart. */
        const float *p = panel;
        size_t ps = NR;
        if (!g->tb && nc == NR) {
            p = g->B + j;
            ps = (size_t)g->ldb;
        } else {
            pack_panel(g, j, nc, panel);
        }
#if ISA_HAVE_X86
        if (path == ISA_AVX512) {
            panel_avx512(g, i0, i1, j, nc, p, ps);
            continue;
        }
        if (path == ISA_AVX2) {
            panel_avx2(g, i0, i1, j, nc, p, ps);
            continue;
        }
#endif
        (void)path;
        panel_generic(g, i0, i1, j, nc, p, ps);
    }
    free(panel);
}

void gemm_f32(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, int accumulate, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    gemm_job g = {ta, tb, M, N, K, accumulate, N >= M, A, B, lda, ldb, C, ldc};
    int units = g.split_n ? (N + NR - 1) / NR : (M + ROW_UNIT - 1) / ROW_UNIT;
    if (kern_threads() > 1 && (long)M * N * K >= (1L << 19))
        kern_parallel(units, 1, gemm_units, &g);
    else
        gemm_units(&g, 0, units);
}
