/* device_simd: the AVX-512 form of device.h's noise banks (dev_lanes), for the vector
 * loops that draw their noise as they go (device.c), and the switch between the AVX-512
 * and the portable paths (DEV_SIMD, dev_simd_ok; crossbar.c uses it too). Internal to core.
 *
 * One step of the eight lanes in registers gives the 32 nibble-sum normals of one step of
 * dev_lanes_normal, in the same order: lo holds normals 0-15 of the step, hi 16-31. The
 * caller checks dev_simd_ok() (the avx512 path of isa.h) before calling code built with
 * DEV_AVX512. Defining MPCL_PORTABLE leaves only the portable paths (for tests). */
#ifndef MPCL_DEVICE_SIMD_H
#define MPCL_DEVICE_SIMD_H

#include "device.h"
#include "isa.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(MPCL_PORTABLE)
#define DEV_SIMD 1
#include <immintrin.h>

#define DEV_AVX512 __attribute__((target("avx512f,avx512bw")))

typedef struct dev_lanes512 {
    __m512i s0, s1, s2, s3;
} dev_lanes512;

DEV_AVX512 static inline void dev_lanes512_load(dev_lanes512 *v, const dev_lanes *g)
{
    v->s0 = _mm512_loadu_si512(g->s[0]);
    v->s1 = _mm512_loadu_si512(g->s[1]);
    v->s2 = _mm512_loadu_si512(g->s[2]);
    v->s3 = _mm512_loadu_si512(g->s[3]);
}

DEV_AVX512 static inline void dev_lanes512_store(const dev_lanes512 *v, dev_lanes *g)
{
    _mm512_storeu_si512(g->s[0], v->s0);
    _mm512_storeu_si512(g->s[1], v->s1);
    _mm512_storeu_si512(g->s[2], v->s2);
    _mm512_storeu_si512(g->s[3], v->s3);
}

/* xoshiro256** on the eight lanes (rng_next of rng.c), then the nibble sums. */
DEV_AVX512 static inline void dev_lanes512_step(dev_lanes512 *v, __m512 *lo, __m512 *hi)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m8 = _mm512_set1_epi16(0x00ff);
    const __m512 c30 = _mm512_set1_ps(30.0f), inv = _mm512_set1_ps(1.0f / 9.219544f);
    __m512i r = _mm512_rol_epi64(_mm512_add_epi64(_mm512_slli_epi64(v->s1, 2), v->s1), 7);
    __m512i w = _mm512_add_epi64(_mm512_slli_epi64(r, 3), r); /* rotl(s1 * 5, 7) * 9 */
    __m512i t = _mm512_slli_epi64(v->s1, 17);
    v->s2 = _mm512_xor_si512(v->s2, v->s0);
    v->s3 = _mm512_xor_si512(v->s3, v->s1);
    v->s1 = _mm512_xor_si512(v->s1, v->s2);
    v->s0 = _mm512_xor_si512(v->s0, v->s3);
    v->s2 = _mm512_xor_si512(v->s2, t);
    v->s3 = _mm512_rol_epi64(v->s3, 45);
    /* Nibble pairs into bytes (0..30), byte pairs into 16-bit fields (0..60). */
    __m512i a = _mm512_add_epi8(_mm512_and_si512(w, m4),
                                _mm512_and_si512(_mm512_srli_epi64(w, 4), m4));
    __m512i h = _mm512_add_epi16(_mm512_and_si512(a, m8), _mm512_srli_epi16(a, 8));
    __m512 l = _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(h)));
    __m512 u = _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(h, 1)));
    *lo = _mm512_mul_ps(_mm512_sub_ps(l, c30), inv);
    *hi = _mm512_mul_ps(_mm512_sub_ps(u, c30), inv);
}

static inline int dev_simd_ok(void) { return isa_active() == ISA_AVX512; }
#endif

#endif
