#include "isa.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if ISA_HAVE_X86
#include <cpuid.h>

#include "error.h"
#endif

static struct {
    pthread_once_t once;
    isa_path best, active;
    unsigned ext; /* bit e: the CPU has isa_ext e */
    char err[160];
    char model[64];
} isa = {.once = PTHREAD_ONCE_INIT};

static const char *const names[] = {"generic", "avx2", "avx512"};

const char *isa_name(isa_path p) { return p >= ISA_GENERIC && p <= ISA_AVX512 ? names[p] : "?"; }

static void detect(void)
{
    isa.best = ISA_GENERIC;
#if ISA_HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        isa.best = ISA_AVX2;
    if (isa.best == ISA_AVX2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        isa.best = ISA_AVX512;
    const struct {
        isa_ext e;
        int has;
    } ext[] = {{ISA_EXT_POPCNT, __builtin_cpu_supports("popcnt")},
               {ISA_EXT_AES, __builtin_cpu_supports("aes")},
               {ISA_EXT_VPOPCNTDQ, __builtin_cpu_supports("avx512vpopcntdq")},
               {ISA_EXT_VNNI, __builtin_cpu_supports("avx512vnni")},
               {ISA_EXT_VBMI, __builtin_cpu_supports("avx512vbmi")},
               {ISA_EXT_VAES, __builtin_cpu_supports("vaes")}};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ext[i].has)
            isa.ext |= 1u << ext[i].e;
    unsigned r[12];
    if (__get_cpuid(0x80000000u, &r[0], &r[1], &r[2], &r[3]) && r[0] >= 0x80000004u) {
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002u + leaf, &r[4 * leaf], &r[4 * leaf + 1], &r[4 * leaf + 2],
                        &r[4 * leaf + 3]);
        char brand[49];
        memcpy(brand, r, 48);
        brand[48] = 0;
        const char *s = brand;
        while (*s == ' ')
            s++;
        snprintf(isa.model, sizeof isa.model, "%s", s);
        for (size_t n = strlen(isa.model); n > 0 && isa.model[n - 1] == ' '; n--)
            isa.model[n - 1] = 0;
    }
#endif
    if (!isa.model[0])
        snprintf(isa.model, sizeof isa.model, "unknown");
}

static void choose(void)
{
    detect();
    isa.active = isa.best;
    const char *want = getenv("MPCL_ISA");
    if (!want || !*want)
        return;
    for (int p = ISA_GENERIC; p <= ISA_AVX512; p++)
        if (!strcmp(want, names[p])) {
            if (p <= (int)isa.best)
                isa.active = (isa_path)p;
            else
                snprintf(isa.err, sizeof isa.err,
                         "MPCL_ISA=%s: this CPU (%s) has no %s path; its best is %s", want,
                         isa.model, names[p], names[isa.best]);
            return;
        }
    snprintf(isa.err, sizeof isa.err, "MPCL_ISA=%.40s: unknown path (avx512, avx2 or generic)",
             want);
}

int isa_init(char *err, size_t errlen)
{
    pthread_once(&isa.once, choose);
    if (!isa.err[0])
        return 0;
    if (err && errlen)
        err_format(err, errlen, "%s", isa.err);
    return -1;
}

isa_path isa_active(void)
{
    static int warned;
    if (isa_init(NULL, 0) < 0 && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        fprintf(stderr, "mpcl: %s\n", isa.err);
    return isa.active;
}

int isa_set(isa_path p)
{
    pthread_once(&isa.once, choose);
    if (p < ISA_GENERIC || p > isa.best)
        return -1;
    isa.active = p;
    return 0;
}

isa_path isa_best(void)
{
    pthread_once(&isa.once, choose);
    return isa.best;
}

int isa_use(isa_ext e)
{
    isa_path need = e <= ISA_EXT_AES ? ISA_AVX2 : ISA_AVX512;
    return isa_active() >= need && (isa.ext >> e & 1u);
}

const char *isa_cpu_model(void)
{
    pthread_once(&isa.once, choose);
    return isa.model;
}
