/* platform: where results are computed, as journals record it, and where on this machine
 * the lab keeps its state. The lab's arithmetic is meant to give the same bits on every
 * x86-64 CPU with AVX2 or AVX-512 and on every instruction-set path (isa.h); what can still
 * move results is another version of the lab or of the C library's maths (exp, log, sin,
 * cos of glibc's libm). */
#ifndef MPCL_PLATFORM_H
#define MPCL_PLATFORM_H

#include <stddef.h>

typedef struct platform {
    char cpu[64];        /* "AMD EPYC 9B45 128-Core Processor" */
    char isa[16];        /* the path in use: "avx512", "avx2", "generic" */
    char libraries[128]; /* "glibc 2.36, zlib 1.2.13, Lua 5.4.4" */
} platform;

/* This process's platform; `more` (or NULL) is appended to the libraries ("Lua 5.4.4"). */
void platform_get(platform *p, const char *more);

/* The names of the fields in which a and b differ ("cpu, isa"), in out; returns how many
 * differ. An empty field (a journal that does not say) differs from any other. */
int platform_diff(const platform *a, const platform *b, char *out, size_t outlen);

/* The lab's state directory ${XDG_STATE_HOME:-$HOME/.local/state}/mpcl, or its subdirectory
 * sub ("sessions"; NULL or "" for the directory itself), into buf[len], created with its
 * parents (mode 0700) if missing. Returns 0, or -1 (buf "") when neither XDG_STATE_HOME nor
 * HOME is set, the path does not fit in buf or the directory cannot be made. The REPL's
 * history (repl_rl.h) and the session journals (session.h) live there. */
int platform_state_dir(const char *sub, char *buf, size_t len);

#endif
