/* mpcl: the lab's command line. `mpcl SCRIPT.lua [key=value ...]` runs a script headless;
 * the keys reach the script as a table (its `...` and lab.args). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isa.h"
#include "kernels.h"
#include "lab.h"
#include "repl.h"
#include "repl_tty.h"
#include "console.h"
#include "replay.h"
#include "sandbox.h"
#include "ui.h"
#include "session.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpcl [--seed N] SCRIPT.lua [key=value ...]   run a script headless\n"
            "       mpcl [--seed N] [--record FILE | --no-record]  in a terminal: the console\n"
            "            [--plain] [--colors 256|8|1] [--ascii]     (--plain: the bare REPL)\n"
            "       mpcl --demo                                    the bench demo in the console\n"
            "       mpcl --console SCRIPT.lua                      a script in the console\n"
            "       mpcl [--seed N] [--record FILE] -              chunks from stdin, headless\n"
            "       mpcl --replay FILE [--step] [--verify] [--trust]\n"
            "            [--max-instructions N] [--max-memory MB]   replay a session journal\n"
            "       mpcl --version | --help\n"
            "key=value pairs reach the script as a table (its `...` and lab.args; numbers\n"
            "converted). The REPL records each session in a journal under\n"
            "${XDG_STATE_HOME:-~/.local/state}/mpcl/sessions. Replays run sandboxed unless\n"
            "--trust. Environment: MPCL_THREADS (default: all cores), MPCL_DATA (data),\n"
            "MPCL_ISA=avx512|avx2|generic (a lower instruction-set path; same results).\n");
}

static int default_threads(void)
{
    const char *s = getenv("MPCL_THREADS");
    if (s && *s) {
        int t = atoi(s);
        if (t >= 1 && t <= 64)
            return t;
        fprintf(stderr, "mpcl: MPCL_THREADS=%s ignored (1 to 64)\n", s);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static void write_stdio(void *ud, const char *text, int is_error)
{
    (void)ud;
    fputs(text, is_error ? stderr : stdout);
    fflush(is_error ? stderr : stdout);
}

/* Push a table of the key=value arguments; numeric values become numbers. */
/* The message handler of a headless script. An error raised with a position
 * ("file.lua:12: ...": a mistake in the code or a bad call) gets the traceback; one raised
 * without (error(msg, 0): a script's own message about its input) stays one line. */
static int script_error(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    const char *colon = msg ? strchr(msg, ':') : NULL;
    int positioned = colon && colon > msg && colon[1] >= '0' && colon[1] <= '9';
    if (msg && !positioned)
        return 1;
    return repl_traceback(L);
}

static int push_args(lua_State *L, int argc, char **argv)
{
    lua_newtable(L);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "mpcl: argument '%s' is not of the form key=value\n", argv[i]);
            return -1;
        }
        lua_pushlstring(L, argv[i], (size_t)(eq - argv[i]));
        if (!lua_stringtonumber(L, eq + 1))
            lua_pushstring(L, eq + 1);
        lua_settable(L, -3);
    }
    return 0;
}

/* Chunks from a pipe: the REPL's evaluator without a terminal. */
static int run_stdin(lua_State *L, const char *record, long long seed, int threads)
{
    repl r;
    repl_init(&r, L, write_stdio, NULL);
    session sess;
    memset(&sess, 0, sizeof sess);
    if (record) {
        char err[512];
        if (session_start(&sess, &r, record, seed, threads, err, sizeof err) < 0) {
            fprintf(stderr, "mpcl: %s\n", err);
            repl_free(&r);
            return 1;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int failed = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        failed |= repl_feed(&r, line) == REPL_ERROR;
    }
    if (repl_has_pending(&r)) {
        fprintf(stderr, "mpcl: stdin: the input ends inside a chunk\n");
        failed = 1;
    }
    free(line);
    lab_jobs_shutdown(L);
    session_finish(&sess);
    repl_free(&r);
    return failed;
}

static int parse_count(const char *opt, const char *v, long long lo, long long *out)
{
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo) {
        fprintf(stderr, "mpcl: %s needs an integer >= %lld, got '%s'\n", opt, lo, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    const char *record = NULL, *replay = NULL, *demo = NULL;
    int no_record = 0, stdin_mode = 0, have_seed = 0, plain = 0, force_console = 0, ascii = 0;
    long long colors = 0;
    long long seed = 1, max_mem_mb = -1, max_instr = -1;
    replay_opts ro;
    replay_opts_default(&ro);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("mpcl %s\n", MPCL_VERSION);
            return 0;
        } else if (!strcmp(a, "-")) {
            stdin_mode = 1;
        } else if (!strcmp(a, "--record") || !strcmp(a, "--replay")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpcl: %s needs a file name\n", a);
                return 2;
            }
            *(a[4] == 'c' ? &record : &replay) = argv[++i];
        } else if (!strcmp(a, "--no-record")) {
            no_record = 1;
        } else if (!strcmp(a, "--plain")) {
            plain = 1;
        } else if (!strcmp(a, "--console")) {
            force_console = 1;
        } else if (!strcmp(a, "--demo")) {
            demo = "assets/scripts/demo.lua";
            force_console = 1;
        } else if (!strcmp(a, "--ascii")) {
            ascii = 1;
        } else if (!strcmp(a, "--colors")) {
            if (parse_count(a, i + 1 < argc ? argv[++i] : NULL, 1, &colors) < 0)
                return 2;
            if (colors != 1 && colors != 8 && colors != 256) {
                fprintf(stderr, "mpcl: --colors takes 256, 8 or 1 (monochrome)\n");
                return 2;
            }
        } else if (!strcmp(a, "--step")) {
            ro.step = 1;
        } else if (!strcmp(a, "--verify")) {
            ro.verify = 1;
        } else if (!strcmp(a, "--trust")) {
            ro.trust = 1;
        } else if (!strcmp(a, "--seed")) {
            if (parse_count(a, i + 1 < argc ? argv[++i] : NULL, 0, &seed) < 0)
                return 2;
            have_seed = 1;
        } else if (!strcmp(a, "--max-instructions")) {
            if (parse_count(a, i + 1 < argc ? argv[++i] : NULL, 1, &max_instr) < 0)
                return 2;
        } else if (!strcmp(a, "--max-memory")) {
            if (parse_count(a, i + 1 < argc ? argv[++i] : NULL, 1, &max_mem_mb) < 0)
                return 2;
        } else {
            fprintf(stderr, "mpcl: unknown option '%s' (mpcl --help lists them)\n", a);
            return 2;
        }
    }
    const char *script = i < argc ? argv[i++] : NULL;
    if ((ro.step || ro.verify || ro.trust || max_instr > 0 || max_mem_mb > 0) && !replay) {
        fprintf(stderr, "mpcl: --step, --verify, --trust and the limits go with --replay FILE\n");
        return 2;
    }
    if (replay && (script || stdin_mode || record)) {
        fprintf(stderr, "mpcl: --replay FILE takes no script, '-' or --record\n");
        return 2;
    }
    int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int interactive = !script && !stdin_mode && !replay && tty;
    if (!script && !stdin_mode && !replay && !interactive) {
        usage(stderr);
        return 2;
    }
    const char *term = getenv("TERM");
    int can_console = tty && term && *term && strcmp(term, "dumb") != 0;
    /* The console: in a terminal unless --plain; scripts and replays when asked for. */
    int console = !plain && can_console &&
                  (interactive || force_console || (replay && !ro.verify));
    if (force_console && !can_console) {
        fprintf(stderr, "mpcl: the console needs a terminal (TERM=%s)\n", term ? term : "");
        return 2;
    }
    if (console && (stdin_mode || (replay && ro.trust)))
        console = 0;
    char isa_err[200];
    if (isa_init(isa_err, sizeof isa_err) < 0) {
        fprintf(stderr, "mpcl: %s\n", isa_err);
        return 2;
    }
    kern_flush_denormals();
    int threads = default_threads();
    kern_set_threads(threads);
    if (replay && !console) {
        if (max_instr > 0)
            ro.max_instructions = max_instr;
        if (max_mem_mb > 0)
            ro.max_memory = (size_t)max_mem_mb << 20;
        return replay_file(replay, &ro);
    }

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "mpcl: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "lab", luaopen_lab, 1);
    ui_open(L, NULL); /* lab.ui: its pause waits for a key in the console, nothing headless */
    if (have_seed)
        lab_set_default_seed(L, seed);
    if (console) {
        lua_pop(L, 1);
        if (replay) { /* a replay in the console runs sandboxed like a headless one */
            sandbox_apply(L, max_instr > 0 ? max_instr : ro.max_instructions);
        }
        console_opts co = {.record = no_record ? "" : (replay ? "" : record), .seed = seed,
                           .threads = threads, .script = demo ? demo : script,
                           .replay = replay, .step = ro.step, .colors = (int)colors,
                           .ascii = ascii};
        int rc = console_run(L, &co);
        lab_jobs_shutdown(L);
        lua_close(L);
        return rc;
    }
    if (interactive || stdin_mode) {
        lua_pop(L, 1); /* the lab module table; it is the global `lab` */
        int rc = interactive ? repl_tty_run(L, no_record ? "" : record, seed, threads)
                             : run_stdin(L, record, seed, threads);
        lab_jobs_shutdown(L);
        lua_close(L);
        return rc;
    }
    if (push_args(L, argc - i, argv + i) < 0) {
        lua_close(L);
        return 2;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "args");
    int args = lua_gettop(L);
    lua_pushcfunction(L, script_error);
    int handler = lua_gettop(L);
    if (luaL_loadfile(L, script) != LUA_OK) {
        fprintf(stderr, "mpcl: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_pushvalue(L, args);
    int rc = lua_pcall(L, 1, 0, handler);
    if (rc != LUA_OK)
        fprintf(stderr, "mpcl: %s\n", lua_tostring(L, -1));
    lab_jobs_shutdown(L);
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
