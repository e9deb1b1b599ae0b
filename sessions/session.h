/* session: recording what is typed into a journal (journal.h). A recorder hooks the REPL
 * evaluator (repl.on_chunk): after each chunk it appends the chunk, the session records
 * the lab produced meanwhile, and the chunk's error. */
#ifndef MPCL_SESSION_H
#define MPCL_SESSION_H

#include <lua.h>
#include <stddef.h>

#include "journal.h"
#include "repl.h"

typedef struct session {
    lua_State *L;
    journal j;
    int failed; /* writing failed once: said so, stopped recording */
} session;

/* The default journal path: ${XDG_STATE_HOME:-~/.local/state}/mpcl/sessions/
 * YYYYMMDD-HHMMSS.lua (directories created). Returns 0, or -1 when there is no home. */
int session_default_path(char *out, size_t len);

/* Start recording to path (a new file) and hook r. Returns 0, or -1 with err. */
int session_start(session *s, repl *r, const char *path, long long seed, int threads,
                  char *err, size_t errlen);
/* Write the records that arrived after the last chunk and close. */
void session_finish(session *s);

#endif
