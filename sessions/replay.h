/* replay: run a session journal headless, as it was typed.
 *   mpcl --replay FILE            runs every chunk (sandboxed), printing what the REPL printed
 *   mpcl --replay FILE --step     shows each chunk and waits for Enter (q quits): bench demos
 *   mpcl --replay FILE --verify   compares the results the replay produces with the
 *                                 journal's "--|" and "--!" lines, in order, and stops at the
 *                                 first divergence: chunk number, journal line, expected, got
 * The replay takes the journal's seed; unless --trust it runs in the sandbox (sandbox.h)
 * with an instruction limit and a memory cap. */
#ifndef MPCL_REPLAY_H
#define MPCL_REPLAY_H

#include <stddef.h>

#include "lab_state.h"

typedef struct replay_opts {
    int step, verify, trust;
    long long max_instructions; /* per chunk; 0: none */
    size_t max_memory;          /* bytes of C and Lua heap; 0: none */
    const char *chip;           /* --chip: where the journal's hardware chip opens go */
    /* more modules for the replay's state (lab_state_opts's open_more: main's lab.ui) */
    void (*open_more)(lua_State *L, void *ud);
    void *open_more_ud;
} replay_opts;

void replay_opts_default(replay_opts *o);
/* The lab state options of a replay with o (trusted or sandboxed, limits, chip). */
void replay_state_opts(const replay_opts *o, lab_state_opts *so);

/* Returns the process exit status: 0 replayed (and verified), 1 a chunk failed or the
 * results diverged, 2 the journal cannot be read. Messages go to stderr. */
int replay_file(const char *path, const replay_opts *o);

#endif
