#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "lab.h"
#include "platform.h"

int session_default_path(char *out, size_t len)
{
    char dir[3900];
    if (platform_state_dir("sessions", dir, sizeof dir) < 0)
        return -1;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, len, "%s/%s.lua", dir, stamp);
    return 0;
}

static void free_records(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* The records the lab produced since the last call, as a malloc'd array of strings into
 * *out (NULL for none) and their number into *n. 0, or -1 out of memory (they are lost:
 * *out NULL, *n 0). */
static int take_records(lua_State *L, char ***out, int *n)
{
    lab_records_take(L);
    *n = (int)lua_rawlen(L, -1);
    char **v = *n ? calloc((size_t)*n, sizeof *v) : NULL;
    int ok = !*n || v;
    for (int i = 0; ok && i < *n; i++) {
        lua_rawgeti(L, -1, i + 1);
        ok = (v[i] = strdup(lua_tostring(L, -1))) != NULL;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!ok) {
        free_records(v, *n);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return ok ? 0 : -1;
}

/* The lab's records since the last call into the journal: with the chunk code (and its
 * error) when code is not NULL, else alone (the session's end). 0, or -1 with err. */
static int append_records(session *s, const char *code, const char *error, char *err,
                          size_t errlen)
{
    lab_jobs_poll(s->L); /* results of jobs that have just finished belong here */
    int n;
    char **rec;
    int rc = take_records(s->L, &rec, &n);
    if (rc < 0)
        rc = err_set(err, errlen, "session: out of memory");
    else if (code)
        rc = journal_append(&s->j, code, (const char *const *)rec, n, error, err, errlen);
    else
        rc = journal_append_records(&s->j, (const char *const *)rec, n, err, errlen);
    free_records(rec, n);
    return rc;
}

static void on_chunk(void *ud, const char *code, const char *error)
{
    session *s = ud;
    if (s->failed)
        return;
    char err[512];
    if (append_records(s, code, error, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl: session not recorded any more: %s\n", err);
        s->failed = 1;
    }
}

int session_start(session *s, repl *r, const char *path, long long seed, int threads,
                  char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->L = r->L;
    journal_header h;
    journal_header_fill(&h, MPCL_VERSION, seed, threads);
    if (journal_create(&s->j, path, &h, err, errlen) < 0)
        return -1;
    lab_records_take(s->L); /* what came before the session is not its result */
    lua_pop(s->L, 1);
    r->on_chunk = on_chunk;
    r->chunk_ud = s;
    return 0;
}

void session_finish(session *s)
{
    if (!s->L || (s->j.fd < 0 && !s->failed))
        return;
    char err[512];
    if (!s->failed && append_records(s, NULL, NULL, err, sizeof err) < 0)
        fprintf(stderr, "mpcl: %s\n", err);
    journal_close(&s->j);
}
