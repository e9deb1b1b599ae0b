/* kernels: the hot integer loops and the thread pool. Bit-packed sign vectors, XNOR/AND-
 * popcount products for binary activations and weights, byte x +-1 products; the path
 * (AVX-512 with VPOPCNTDQ / VNNI, or portable) follows isa.h, and every path gives the
 * same integers. Float products are in gemm.h.
 *
 * Bit convention: bit set = +1 (or input pixel on), bit clear = -1 (or off). Padding bits
 * past the logical length are always zero in every packed row. */
#ifndef MPCL_KERNELS_H
#define MPCL_KERNELS_H

#include <stdint.h>

#define KERN_WORDS(n) (((n) + 63) / 64)

/* Flush denormals to zero on the calling thread (threads it creates later inherit it). */
void kern_flush_denormals(void);

/* Set the number of threads the kernels may use. */
void kern_set_threads(int threads);
/* In the child of a fork(): forget the parent's pool threads (the child has none) and use
 * `threads` threads from now on. */
void kern_after_fork(int threads);
int kern_threads(void);
/* Human-readable description of the instruction-set path and the kernels it uses. */
const char *kern_describe(void);

/* Pack n floats into bits (x >= 0 -> 1). out holds KERN_WORDS(n) words. */
void kern_pack_signs(const float *x, int n, uint64_t *out);

/* Binary weights prepared for the popcount products: the packed rows of a (cols x words)
 * matrix transposed to (words x colsp), colsp = cols rounded up to 8, so that one vector
 * holds the same word of 8 output columns and sums need no horizontal reduction. */
typedef struct kern_bmat {
    int cols, colsp, words;
    uint64_t *t;
} kern_bmat;

/* Prepare w (cols x words packed rows). Returns 0, or -1 when out of memory. */
int kern_bmat_prepare(kern_bmat *m, const uint64_t *w, int cols, int words);
/* Refill a prepared matrix from new rows of the same shape. */
void kern_bmat_fill(kern_bmat *m, const uint64_t *w);
void kern_bmat_free(kern_bmat *m);

/* Binary products, out[b*ldo + o] for b < rows, o < w->cols:
 *   xnor: both sides +-1 over nbits:  nbits - 2 * popcount(x_b ^ w_o)
 *   and:  x in {0,1}, w +-1:          2 * popcount(x_b & w_o) - popcount(x_b)
 * x: rows x w->words (packed rows). */
void kern_bgemm_xnor(const uint64_t *x, int rows, const kern_bmat *w, int nbits, int32_t *out,
                     int ldo);
void kern_bgemm_and(const uint64_t *x, int rows, const kern_bmat *w, int32_t *out, int ldo);

/* Weights of +-1 as int8 for byte-input products (u8 x s8 dot products, VNNI where the
 * CPU has it): w[o][k] at q[((k / 4) * colsp + o) * 4 + k % 4], colsp = cols rounded up
 * to 16; inputs past K and columns past cols hold 0. */
typedef struct kern_qmat {
    int cols, colsp, K, k4;
    int8_t *q;
} kern_qmat;

/* Prepare from packed signs (cols x words rows, bit set = +1). Returns 0, or -1 when out
 * of memory. A prepared matrix can be refilled with kern_qmat_fill (same shape). */
int kern_qmat_prepare(kern_qmat *m, const uint64_t *bits, int cols, int K, int words);
void kern_qmat_fill(kern_qmat *m, const uint64_t *bits, int words);
/* Refill columns [o0, o1) only (parallel refills of disjoint ranges are safe). */
void kern_qmat_fill_cols(kern_qmat *m, const uint64_t *bits, int words, int o0, int o1);
void kern_qmat_free(kern_qmat *m);
/* out[b*ldo + o] = sum_k x[b*ldx + k] * w[o][k], exactly, for rows of K unsigned bytes. */
void kern_qgemm(const uint8_t *x, int rows, int ldx, const kern_qmat *w, int32_t *out, int ldo);

/* Run fn(ud, begin, end) over [0, n) split into at most kern_threads() contiguous chunks
 * of at least `grain` items, on worker threads; returns when all are done. The split
 * depends only on n, grain and the thread count. Called from inside a chunk, it runs
 * serially on the calling thread. */
void kern_parallel(int n, int grain, void (*fn)(void *ud, int begin, int end), void *ud);

#endif
