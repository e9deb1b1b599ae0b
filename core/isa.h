/* isa: which instruction-set path the hot loops take, chosen once per process.
 *
 * Three paths: avx512 (AVX-512 F/BW/VL/DQ with FMA), avx2 (AVX2 with FMA) and generic
 * (baseline x86-64). The best the CPU has is the default; MPCL_ISA=avx512|avx2|generic
 * asks for a lower one (to test a path, or to compare two). Every path computes the same
 * bits: vector loops only ever widen across independent outputs, never reorder a sum,
 * and the build forbids contracting a * b + c into an FMA behind the code's back
 * (-ffp-contract=off), so a path is a matter of speed only.
 *
 * Extensions past a path's base (VPOPCNTDQ, VNNI, VBMI, VAES, AES-NI, POPCNT) are used when
 * the CPU has them and the path they belong to is active (isa_use). */
#ifndef MPCL_ISA_H
#define MPCL_ISA_H

#include <stddef.h>

typedef enum isa_path { ISA_GENERIC, ISA_AVX2, ISA_AVX512 } isa_path;

typedef enum isa_ext {
    ISA_EXT_POPCNT,    /* avx2 path and up */
    ISA_EXT_AES,       /* AES-NI: avx2 path and up */
    ISA_EXT_VPOPCNTDQ, /* avx512 path */
    ISA_EXT_VNNI,      /* avx512 path */
    ISA_EXT_VBMI,      /* avx512 path */
    ISA_EXT_VAES       /* avx512 path */
} isa_ext;

/* Check MPCL_ISA against the CPU and fix the path. Returns 0, or -1 with a one-line
 * message in err (an unknown value, or a path this CPU lacks); the path is then the
 * CPU's best. Later calls return the first call's verdict. */
int isa_init(char *err, size_t errlen);
/* The path in use (isa_init on first use; a bad MPCL_ISA is reported once on stderr). */
isa_path isa_active(void);
/* Whether extension e may be used: the CPU has it and its path is active. */
int isa_use(isa_ext e);
/* Switch to path p (tests and benchmarks compare paths in one process). Returns 0, or -1
 * when the CPU lacks it. Not while another thread computes. */
int isa_set(isa_path p);
/* The best path this CPU has, whatever MPCL_ISA says. */
isa_path isa_best(void);
const char *isa_name(isa_path p);
/* The CPU's model name (CPUID brand string), e.g. "AMD EPYC 9B45 128-Core Processor". */
const char *isa_cpu_model(void);

/* Function attributes for the three copies of a loop (see ISA_CLONES). */
#if defined(__x86_64__) && defined(__GNUC__)
#define ISA_HAVE_X86 1
#define ISA_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,popcnt")))
#define ISA_TARGET_AVX2 __attribute__((target("avx2,fma,popcnt")))
#else
#define ISA_TARGET_AVX512
#define ISA_TARGET_AVX2
#endif

/* ISA_CLONES(name, (params), (args)): from one body, `static inline void name##_body
 * params` marked ISA_INLINE, make three copies compiled for avx512, avx2 and generic and
 * `static void name params` that calls the one isa_active() picks. The compiler
 * vectorises each copy for its target; the body decides the arithmetic. */
#define ISA_INLINE __attribute__((always_inline)) static inline
#define ISA_CLONES(name, params, args)                                                       \
    ISA_TARGET_AVX512 static void name##_avx512 params { name##_body args; }                 \
    ISA_TARGET_AVX2 static void name##_avx2 params { name##_body args; }                     \
    static void name##_generic params { name##_body args; }                                  \
    static void name params                                                                  \
    {                                                                                        \
        switch (isa_active()) {                                                              \
        case ISA_AVX512: name##_avx512 args; break;                                          \
        case ISA_AVX2: name##_avx2 args; break;                                              \
        default: name##_generic args; break;                                                 \
        }                                                                                    \
    }

#endif
