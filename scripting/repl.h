/* repl: the Lua evaluator behind the REPL (and, later, the console's input line). It knows
 * nothing of terminals: lines go in, text comes out through a writer callback.
 *   - a line is appended to the pending chunk; while the chunk is an incomplete statement
 *     (a syntax error at <eof>) the caller shows a second prompt and feeds more lines;
 *   - "=expr" and bare expressions print their values ("return " is tried first, as lua.c);
 *   - tables print readably, userdata through __tostring;
 *   - errors print with a traceback and leave the state usable;
 *   - repl_interrupt (safe in a signal handler) stops the running chunk with
 *     "interrupted!" and asks running engine work to cancel. */
#ifndef MPCL_REPL_H
#define MPCL_REPL_H

#include <lua.h>
#include <stddef.h>

typedef void (*repl_writer)(void *ud, const char *text, int is_error);

typedef enum repl_status { REPL_DONE, REPL_INCOMPLETE, REPL_ERROR } repl_status;

/* Called after each chunk that was loaded and run (not for syntax errors): the code as
 * loaded ("return x" for "=x" and bare expressions), and the first line of its error
 * message or NULL. Sessions record chunks through it. */
typedef void (*repl_chunk_hook)(void *ud, const char *code, const char *error);

typedef struct repl {
    lua_State *L;
    char *pending; /* the chunk so far, lines joined by '\n' */
    size_t len, cap;
    repl_writer out;
    void *out_ud;
    repl_chunk_hook on_chunk;
    void *chunk_ud;
    char last_error[512]; /* first line of the last chunk's error ("" if it succeeded) */
} repl;

void repl_init(repl *r, lua_State *L, repl_writer out, void *out_ud);
void repl_free(repl *r);
/* Feed one line (without its newline). */
repl_status repl_feed(repl *r, const char *line);
/* Run a whole chunk (a replayed one) as if typed: values printed, errors reported. */
repl_status repl_run_chunk(repl *r, const char *code, const char *chunkname);
/* Drop the pending chunk (Ctrl-C at the second prompt). */
void repl_reset(repl *r);
int repl_has_pending(const repl *r);

/* A message handler for lua_pcall: the error message with a traceback. */
int repl_traceback(lua_State *L);

/* Ask the chunk running in L to stop; async-signal-safe. */
void repl_interrupt(lua_State *L);

/* Append a readable rendering of the value at idx (tables to `depth` levels). */
void repl_format(lua_State *L, int idx, int depth, char **buf, size_t *len, size_t *cap);

/* Completions of `word` (the text before the cursor back to the last character that cannot
 * be part of a name chain, e.g. "exp:st", "lab.da", "pri"): globals, fields reachable
 * through tables and __index tables, and methods after ':'. Fills out[] with malloc'd full
 * replacements (up to max, sorted, no duplicates) and returns their count. Never runs
 * code: only raw table walks. */
size_t repl_complete(lua_State *L, const char *word, char **out, size_t max);

#endif
