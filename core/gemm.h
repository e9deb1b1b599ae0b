/* gemm: float matrix products whose every output is one sum in one fixed order, so that
 * results are the same bits on every CPU, instruction-set path and thread count.
 *
 *   C (M, N) = op(A) (M, K) op(B) (K, N)        (accumulate = 0)
 *   C (M, N) = C + op(A) op(B)                  (accumulate = 1)
 *
 * row-major, op(X) = X or X^T (ta, tb). Each output is
 *   s = 0;  for k = 0 .. K-1:  s = fma(op(A)[i][k], op(B)[k][j], s);  C[i][j] = s (or C + s)
 * with one rounding per term: the vector paths widen across j (16 or 8 outputs a register),
 * never across k, and the split over threads falls between outputs, never inside a sum.
 * What BLAS libraries do differently (a reduction order chosen by each CPU's kernel) is
 * why the engine has its own. */
#ifndef MPCL_GEMM_H
#define MPCL_GEMM_H

void gemm_f32(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, int accumulate, float *C, int ldc);

/* The same products one output at a time in plain C (fmaf), for tests. */
void gemm_f32_reference(int ta, int tb, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, int accumulate, float *C, int ldc);

#endif
