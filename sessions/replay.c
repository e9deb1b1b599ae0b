#include "replay.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "platform.h"
#include "lab.h"
#include "repl.h"
#include "sandbox.h"

void replay_opts_default(replay_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_instructions = 2000000000LL; /* ~ tens of seconds of pure Lua */
    o->max_memory = (size_t)1 << 30;
}

/* What the REPL prints for the replay (values, errors): from the journal, so made safe for
 * the terminal unless trusted (ud: the options). */
static void write_out(void *ud, const char *text, int is_error)
{
    const replay_opts *o = ud;
    FILE *f = is_error ? stderr : stdout;
    if (o->trust)
        fputs(text, f);
    else
        sandbox_write_text(f, text, strlen(text));
    fflush(f);
}

/* The expected results, one stream over all chunks (journal_next_result walks it). */
typedef struct expect {
    const journal_doc *d;
    journal_cursor cur;
} expect;

static const char *next_expected(expect *e, int *line)
{
    return journal_next_result(e->d, &e->cur, line);
}

/* Wait for Enter (1), or q / end of input (0). */
static int wait_enter(FILE *tty, const journal_chunk *c, int total, const char *path)
{
    fprintf(stderr, "\n-- [chunk %d/%d] %s:%d\n%s-- Enter runs it, q quits: ", c->number, total,
            path, c->line, c->code);
    fflush(stderr);
    char buf[64];
    if (!fgets(buf, sizeof buf, tty))
        return 0;
    return buf[0] != 'q';
}

static void check_data(const journal_doc *d)
{
    journal_header now;
    journal_header_fill(&now, "", 0, 0);
    for (int i = 0; i < d->header.ndata; i++) {
        int same = 0;
        for (int k = 0; k < now.ndata; k++)
            same |= !strcmp(d->header.data[i], now.data[k]);
        if (!same)
            fprintf(stderr, "mpcl: warning: data file differs from the recording's or is "
                            "missing: %s\n", d->header.data[i]);
    }
}

/* After a divergence: was the recording made elsewhere, or with another lab? One line each. */
static void explain_divergence(const journal_doc *d)
{
    const journal_header *h = &d->header;
    platform here;
    platform_get(&here, LUA_RELEASE);
    if (strcmp(h->version, MPCL_VERSION))
        fprintf(stderr, "mpcl: verify: recorded with mpcl %s, replayed with %s: another version "
                        "of the lab may compute differently\n", h->version, MPCL_VERSION);
    char diff[64];
    int n = platform_diff(&h->where, &here, diff, sizeof diff);
    if (!h->where.cpu[0] && !h->where.isa[0])
        fprintf(stderr, "mpcl: verify: the journal does not say where it was recorded (no cpu, "
                        "isa or libraries lines); replayed on %s (%s; %s)\n", here.cpu,
                here.isa, here.libraries);
    else if (n)
        fprintf(stderr, "mpcl: verify: the platform differs (%s): recorded on %s (%s; %s), "
                        "replayed on %s (%s; %s)%s\n", diff, h->where.cpu, h->where.isa,
                h->where.libraries, here.cpu, here.isa, here.libraries,
                strstr(diff, "libraries") ? "" : "; results are meant to be the same on every "
                "x86-64 CPU and path, so please report this divergence");
    else
        fprintf(stderr, "mpcl: verify: the platform is the recording's (%s; %s; %s): the "
                        "divergence does not come from the machine\n", here.cpu, here.isa,
                here.libraries);
}

void replay_state_opts(const replay_opts *o, lab_state_opts *so)
{
    lab_state_opts_default(so);
    so->trusted = o->trust;
    so->max_instructions = o->trust ? 0 : o->max_instructions;
    so->max_memory = o->trust ? 0 : o->max_memory;
    so->chip = o->chip;
    so->open_more = o->open_more;
    so->open_more_ud = o->open_more_ud;
}

/* Where --step reads Enter: stdin, or the terminal when stdin is a file. */
static FILE *step_input(void)
{
    FILE *tty = isatty(STDIN_FILENO) ? stdin : NULL;
    if (!tty && !(tty = fopen("/dev/tty", "r")))
        tty = stdin;
    if (!isatty(STDIN_FILENO))
        tty = tty == stdin ? stdin : (fclose(tty), stdin);
    return tty;
}

/* After chunk c ran: its results (the lab's records, in order) and its error against the
 * journal's. Returns 3 at the first divergence (reported), else 0; *compared counts. */
static int verify_chunk(lua_State *L, expect *ex, const journal_chunk *c, const char *error,
                        const char *path, int *compared)
{
    int status = 0;
    lab_records_take(L);
    int n = (int)lua_rawlen(L, -1);
    for (int k = 1; k <= n && status == 0; k++) {
        lua_rawgeti(L, -1, k);
        const char *got = lua_tostring(L, -1);
        int line = 0;
        const char *want = next_expected(ex, &line);
        if (!want) {
            fprintf(stderr, "mpcl: verify: first divergence at chunk %d (%s:%d): expected "
                            "no more results, got '%s'\n", c->number, path, c->line, got);
            status = 3;
        } else if (strcmp(want, got)) {
            fprintf(stderr, "mpcl: verify: first divergence at chunk %d (%s:%d): expected "
                            "'%s', got '%s'\n", c->number, path, line, want, got);
            status = 3;
        }
        (*compared)++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (status)
        return status;
    if ((error != NULL) != (c->error != NULL)) {
        fprintf(stderr, "mpcl: verify: first divergence at chunk %d (%s:%d): expected %s%s%s, "
                        "got %s%s%s\n", c->number, path, c->error ? c->error_line : c->line,
                c->error ? "the error '" : "no error", c->error ? c->error : "",
                c->error ? "'" : "", error ? "the error '" : "no error", error ? error : "",
                error ? "'" : "");
        return 3;
    }
    if (error && strcmp(error, c->error)) {
        fprintf(stderr, "mpcl: verify: first divergence at chunk %d (%s:%d): expected the "
                        "error '%s', got '%s'\n", c->number, path, c->error_line, c->error,
                error);
        return 3;
    }
    return 0;
}

/* After the last chunk: results of jobs reaped at shutdown, then anything the journal still
 * expects (when every chunk ran). Returns 3 at a divergence (reported), else 0. */
static int verify_rest(lua_State *L, expect *ex, int all_ran, const char *path, int *compared)
{
    int status = 0;
    lab_records_take(L);
    int n = (int)lua_rawlen(L, -1);
    for (int k = 1; k <= n && status == 0; k++, (*compared)++) {
        lua_rawgeti(L, -1, k);
        int line = 0;
        const char *want = next_expected(ex, &line), *got = lua_tostring(L, -1);
        if (!want || strcmp(want, got)) {
            fprintf(stderr, "mpcl: verify: first divergence after the last chunk: expected "
                            "'%s', got '%s'\n", want ? want : "no more results", got);
            status = 3;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    int line = 0;
    const char *want = status == 0 && all_ran ? next_expected(ex, &line) : NULL;
    if (want) {
        fprintf(stderr, "mpcl: verify: first divergence at %s:%d: expected '%s', got no "
                        "more results\n", path, line, want);
        status = 3;
    }
    return status;
}

/* Run chunk c in the replay's REPL; report a failure or the sandbox's memory cap. Returns
 * the error the chunk raised, or NULL. */
static const char *run_chunk(repl *r, lua_State *L, const journal_chunk *c, const char *path,
                             const replay_opts *o)
{
    lab_records_take(L);
    lua_pop(L, 1);
    sandbox_reset_count(L);
    repl_run_chunk(r, c->code, "=stdin");
    const char *error = r->last_error[0] ? r->last_error : NULL;
    /* Lua retries a refused allocation after a full collection: only a chunk that failed
     * was stopped by the cap. */
    if (lab_state_hit_memory_cap() && error) {
        fprintf(stderr, "mpcl: chunk %d (%s:%d): sandbox: memory cap of %zu MiB reached "
                        "(raise it with --max-memory)\n", c->number, path, c->line,
                o->max_memory >> 20);
    } else if (error) {
        fprintf(stderr, "mpcl: chunk %d (%s:%d) failed\n", c->number, path, c->line);
    }
    return error;
}

int replay_file(const char *path, const replay_opts *o)
{
    journal_doc d;
    char err[512];
    if (journal_parse(path, &d, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl: %s\n", err);
        return 2;
    }
    if (d.cut[0]) /* an interrupted recording: the complete chunks before the cut run */
        fprintf(stderr, "mpcl: warning: %s\n", d.cut);
    if (o->verify)
        check_data(&d);
    lab_state_opts so;
    replay_state_opts(o, &so);
    so.have_seed = 1;
    so.seed = d.header.seed ? d.header.seed : 1;
    char err2[300];
    lua_State *L = lab_state_new(&so, err2, sizeof err2);
    if (!L) {
        fprintf(stderr, "mpcl: %s\n", err2);
        journal_doc_free(&d);
        return 1;
    }
    repl r;
    repl_init(&r, L, write_out, (void *)o);
    FILE *tty = o->step ? step_input() : NULL;
    expect ex = {&d, {0, 0}};
    int status = 0, compared = 0, ran = 0;
    for (int i = 0; i < d.nchunks && status < 2; i++) {
        const journal_chunk *c = &d.chunks[i];
        if (o->step && !wait_enter(tty, c, d.nchunks, path))
            break;
        const char *error = run_chunk(&r, L, c, path, o);
        ran++;
        if (error && !c->error)
            status = 1;
        if (o->verify && verify_chunk(L, &ex, c, error, path, &compared))
            status = 3;
    }
    lab_jobs_shutdown(L); /* its late results are verified below */
    if (o->verify && status < 2) {
        if (verify_rest(L, &ex, ran == d.nchunks, path, &compared))
            status = 3;
        else
            fprintf(stderr, "mpcl: verify: %d chunks replayed, %d results compared, no "
                            "divergence\n", ran, compared);
    }
    if (o->verify && status == 3)
        explain_divergence(&d);
    if (tty && tty != stdin)
        fclose(tty);
    repl_free(&r);
    lua_close(L);
    journal_doc_free(&d);
    return status >= 2 ? 1 : status;
}
