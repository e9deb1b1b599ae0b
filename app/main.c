/* mpcl: the lab's command line. `mpcl SCRIPT.lua [key=value ...]` runs a script headless;
 * the keys reach the script as a table (its `...` and lab.args). main reads as lua.c's
 * pmain: parse_args (the options and the mode), start_engine, new_state, then one run_* per
 * mode (console, REPL, stdin, replay, script). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "isa.h"
#include "kernels.h"
#include "lab.h"
#include "repl.h"
#include "repl_tty.h"
#include "console.h"
#include "replay.h"
#include "lab_state.h"
#include "model.h"
#include "ui.h"
#include "session.h"
#include "sweep_wire.h"

/* ---- the command line: parse_args into the options and a mode ------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpcl [--seed N] SCRIPT.lua [key=value ...]   run a script headless\n"
            "       mpcl [--seed N] [--record FILE | --no-record]  in a terminal: the console\n"
            "            [--plain] [--colors 256|8|1] [--ascii]     (--plain: the bare REPL)\n"
            "            [--no-mouse]                               (the console ignores the mouse)\n"
            "       mpcl --demo                                    the bench demo in the console\n"
            "       mpcl --console SCRIPT.lua                      a script in the console\n"
            "       mpcl [--seed N] [--record FILE] -              chunks from stdin, headless\n"
            "       mpcl --replay FILE [--step] [--verify] [--trust] [--chip URI]\n"
            "            [--max-instructions N] [--max-memory MB]   replay a session journal\n"
            "       mpirun -np N mpcl SCRIPT.lua ...              lab.sweep over MPI ranks\n"
            "       mpcl --slurm SCRIPT.lua ...                   lab.sweep as a Slurm job array\n"
            "       mpcl --version | --help\n"
            "key=value pairs reach the script as a table (its `...` and lab.args; numbers\n"
            "converted). The REPL records each session in a journal under\n"
            "${XDG_STATE_HOME:-~/.local/state}/mpcl/sessions. Replays run sandboxed unless\n"
            "--trust (README: the trust model); --chip names the chip a replay's hardware opens\n"
            "go to. Environment: MPCL_THREADS (default: all cores), MPCL_DATA (data),\n"
            "MPCL_ISA=avx512|avx2|generic (a lower instruction-set path; same results).\n");
}

/* What mpcl does, one run_* each: the console (a terminal unless --plain; scripts and
 * replays in it when asked), the bare REPL, chunks from stdin, a replay, a script. */
typedef enum run_mode { RUN_CONSOLE, RUN_REPL, RUN_STDIN, RUN_REPLAY, RUN_SCRIPT } run_mode;

/* The command line, and what it comes to (parse_args). */
typedef struct options {
    const char *record, *replay, *demo, *script, *chip;
    int no_record, stdin_mode, have_seed, plain, force_console, ascii, slurm, no_mouse;
    long long colors, seed, max_mem_mb, max_instr;
    replay_opts ro;
    int argc;     /* the key=value arguments after the script */
    char **argv;
    run_mode mode;
    int threads;  /* set by start_engine */
    char script_buf[PATH_MAX + 64], demo_buf[PATH_MAX + 64]; /* find_script's */
} options;

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

/* An option that takes a value: argv[*i + 1], an integer >= lo. */
static int option_count(int argc, char **argv, int *i, long long lo, long long *out)
{
    const char *opt = argv[*i];
    return parse_count(opt, *i + 1 < argc ? argv[++*i] : NULL, lo, out);
}

/* Parse the options. Returns 0 to go on, 1 when done (--help, --version: printed), -1 on a
 * bad option (reported). */
static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->max_mem_mb = o->max_instr = -1;
    replay_opts_default(&o->ro);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--version")) {
            printf("mpcl %s\n", MPCL_VERSION);
            return 1;
        } else if (!strcmp(a, "-")) {
            o->stdin_mode = 1;
        } else if (!strcmp(a, "--record") || !strcmp(a, "--replay")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpcl: %s needs a file name\n", a);
                return -1;
            }
            *(a[4] == 'c' ? &o->record : &o->replay) = argv[++i];
        } else if (!strcmp(a, "--chip")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpcl: --chip needs a chip URI (tcp://HOST:PORT, serial:DEV, ...)\n");
                return -1;
            }
            o->chip = argv[++i];
        } else if (!strcmp(a, "--no-record")) {
            o->no_record = 1;
        } else if (!strcmp(a, "--plain")) {
            o->plain = 1;
        } else if (!strcmp(a, "--console")) {
            o->force_console = 1;
        } else if (!strcmp(a, "--demo")) {
            o->demo = "demo.lua"; /* found by find_script */
            o->force_console = 1;
        } else if (!strcmp(a, "--slurm")) {
            o->slurm = 1;
        } else if (!strcmp(a, "--ascii") || !strcmp(a, "--no-mouse")) {
            *(a[2] == 'a' ? &o->ascii : &o->no_mouse) = 1;
        } else if (!strcmp(a, "--colors")) {
            if (option_count(argc, argv, &i, 1, &o->colors) < 0)
                return -1;
            if (o->colors != 1 && o->colors != 8 && o->colors != 256) {
                fprintf(stderr, "mpcl: --colors takes 256, 8 or 1 (monochrome)\n");
                return -1;
            }
        } else if (!strcmp(a, "--step")) {
            o->ro.step = 1;
        } else if (!strcmp(a, "--verify")) {
            o->ro.verify = 1;
        } else if (!strcmp(a, "--trust")) {
            o->ro.trust = 1;
        } else if (!strcmp(a, "--seed")) {
            if (option_count(argc, argv, &i, 0, &o->seed) < 0)
                return -1;
            o->have_seed = 1;
        } else if (!strcmp(a, "--max-instructions")) {
            if (option_count(argc, argv, &i, 1, &o->max_instr) < 0)
                return -1;
        } else if (!strcmp(a, "--max-memory")) {
            if (option_count(argc, argv, &i, 1, &o->max_mem_mb) < 0)
                return -1;
        } else {
            fprintf(stderr, "mpcl: unknown option '%s' (mpcl --help lists them)\n", a);
            return -1;
        }
    }
    o->script = i < argc ? argv[i++] : NULL;
    o->argc = argc - i;
    o->argv = argv + i;
    return 0;
}

/* Whether the options go together (a line said when not). */
static int options_agree(const options *o)
{
    const replay_opts *ro = &o->ro;
    if ((ro->step || ro->verify || ro->trust || o->max_instr > 0 || o->max_mem_mb > 0 ||
         o->chip) && !o->replay) {
        fprintf(stderr, "mpcl: --step, --verify, --trust, --chip and the limits go with --replay "
                        "FILE\n");
        return 0;
    }
    if (o->replay && (o->script || o->stdin_mode || o->record)) {
        fprintf(stderr, "mpcl: --replay FILE takes no script, '-' or --record\n");
        return 0;
    }
    return 1;
}

/* A bundled script named without a directory ("paper.lua") when no such file is here:
 * share/mpcl/scripts/ of an installed mpcl (PREFIX/bin/../share), else assets/scripts/ of
 * the source tree mpcl was built in (build/..). Returns name or buf. */
static const char *find_script(const char *name, char *buf, size_t n)
{
    char exe[PATH_MAX];
    ssize_t r = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!name || strchr(name, '/') || access(name, F_OK) == 0 || r <= 0)
        return name;
    exe[r] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    static const char *const dirs[] = {"/../share/mpcl/scripts/", "/../assets/scripts/"};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, n, "%s%s%s", exe, dirs[i], name);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return name;
}

/* The mode the options and the terminal come to, into o->mode: 0, or the exit status of a
 * refusal (said). */
static int choose_mode(options *o)
{
    int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int interactive = !o->script && !o->stdin_mode && !o->replay && tty;
    if (!o->script && !o->stdin_mode && !o->replay && !interactive) {
        usage(stderr);
        return 2;
    }
    const char *term = getenv("TERM");
    int can_console = tty && term && *term && strcmp(term, "dumb") != 0;
    /* The console: in a terminal unless --plain; scripts and replays when asked for. */
    int console = !o->plain && can_console &&
                  (interactive || o->force_console || (o->replay && !o->ro.verify));
    if (o->force_console && !can_console) {
        fprintf(stderr, "mpcl: the console needs a terminal (TERM=%s)\n", term ? term : "");
        return 2;
    }
    if (console && (o->stdin_mode || (o->replay && o->ro.trust)))
        console = 0;
    o->mode = console         ? RUN_CONSOLE
              : o->replay     ? RUN_REPLAY
              : interactive   ? RUN_REPL
              : o->stdin_mode ? RUN_STDIN
                              : RUN_SCRIPT;
    return 0;
}

enum { GO_ON = -1 };

/* The command line into o: the options, bundled scripts found by name, the replay's limits,
 * the mode. GO_ON, or the exit status when mpcl is done (--help, --version: 0) or refuses
 * (said: 2). */
static int parse_args(int argc, char **argv, options *o)
{
    int parsed = parse_options(argc, argv, o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    if (!options_agree(o))
        return 2;
    o->script = find_script(o->script, o->script_buf, sizeof o->script_buf);
    o->demo = find_script(o->demo, o->demo_buf, sizeof o->demo_buf);
    if (o->max_instr > 0)
        o->ro.max_instructions = o->max_instr;
    if (o->max_mem_mb > 0)
        o->ro.max_memory = (size_t)o->max_mem_mb << 20;
    o->ro.chip = o->chip;
    int rc = choose_mode(o);
    return rc ? rc : GO_ON;
}

/* ---- the engine and the Lua state ---------------------------------------------------- */

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
    /* MPI ranks on one machine share its cores */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (local && atoi(local) > 1)
        n /= atoi(local);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* When mpirun started us, every rank runs the script (SPMD): start MPI. 0, or the exit
 * status of a refusal. */
static int start_mpi(const char *script, const char *replay, int console)
{
    if (!sweep_mpi_launched())
        return 0;
    char err[600];
    if (!script || replay || console) {
        fprintf(stderr, "mpcl: under mpirun, give a script: mpirun -np N mpcl SCRIPT.lua\n");
        return 2;
    }
    if (sweep_mpi_start(err, sizeof err) < 0) {
        fprintf(stderr, "mpcl: %s\n", err);
        return 1;
    }
    return 0;
}

/* The engine's set-up: the instruction-set path, denormals flushed, MPI when mpirun started
 * us, the threads (into o->threads). 0, or the exit status of a refusal (said). */
static int start_engine(options *o)
{
    char err[200];
    if (isa_init(err, sizeof err) < 0) {
        fprintf(stderr, "mpcl: %s\n", err);
        return 2;
    }
    kern_flush_denormals();
    int rc = start_mpi(o->script, o->replay, o->mode == RUN_CONSOLE);
    if (rc)
        return rc;
    o->threads = default_threads();
    kern_set_threads(o->threads);
    return 0;
}

/* ---- the panels' model of a headless run --------------------------------------------- */

/* Headless (a script, stdin, the REPL, a replay) lab.ui.snapshot draws from a model of its
 * own, fed as the console feeds its (model_observer_drained: model.h says why its draining
 * is enough without an idle callback). */
static model headless;

/* The headless model and its observer: 0, or -1 when out of memory (said). */
static int headless_model_start(void)
{
    if (model_init(&headless, 512, 512) < 0) {
        fprintf(stderr, "mpcl: the panels' model: out of memory\n");
        return -1;
    }
    lab_observer o;
    model_observer_drained(&headless, &o);
    lab_set_observer(&o);
    return 0;
}

static void headless_model_stop(void)
{
    lab_set_observer(NULL);
    model_free(&headless);
}

/* lab.ui: its pause waits for a key in the console, nothing headless; its snapshot draws from
 * ud, the headless model (NULL in the console, which opens lab.ui again with its own). */
static void open_ui(lua_State *L, void *ud) { ui_open(L, ud); }

/* The Lua state with the lab and lab.ui: the user's own (trusted) unless it replays a
 * journal. NULL when it cannot be made (said). */
static lua_State *new_state(const options *o)
{
    lab_state_opts so;
    replay_state_opts(&o->ro, &so);
    if (!o->replay)
        so.trusted = 1; /* the user's own script, REPL or console */
    so.have_seed = o->have_seed;
    so.seed = o->seed;
    so.open_more = open_ui;
    so.open_more_ud = o->mode == RUN_CONSOLE ? NULL : &headless;
    char err[300];
    lua_State *L = lab_state_new(&so, err, sizeof err);
    if (!L)
        fprintf(stderr, "mpcl: %s\n", err);
    return L;
}

/* ---- one run_* per mode -------------------------------------------------------------- */

static void write_stdio(void *ud, const char *text, int is_error)
{
    (void)ud;
    fputs(text, is_error ? stderr : stdout);
    fflush(is_error ? stderr : stdout);
}

/* The message handler of a headless script. An error raised with a position
 * ("file.lua:12: ...": a mistake in the code or a bad call) gets the traceback; one raised
 * without (error(msg, 0): a script's own message about its input) stays one line. */
static int script_error(lua_State *L)
{
    if (lab_sweep_is_quiet_exit(L, 1)) /* a sweep's worker is done with the script */
        return 1;
    const char *msg = lua_tostring(L, 1);
    const char *colon = msg ? strchr(msg, ':') : NULL;
    int positioned = colon && colon > msg && colon[1] >= '0' && colon[1] <= '9';
    if (msg && !positioned)
        return 1;
    return repl_traceback(L);
}

/* Push a table of the key=value arguments; numeric values become numbers. */
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

/* Run a script headless with its key=value arguments; the exit status. */
static int run_script(lua_State *L, const options *o)
{
    const char *script = o->script;
    lab_sweep_set_script(script, o->argc, o->argv, o->slurm);
    lua_getglobal(L, "lab");
    if (push_args(L, o->argc, o->argv) < 0)
        return 2;
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "args");
    int args = lua_gettop(L);
    lua_pushcfunction(L, script_error);
    int handler = lua_gettop(L);
    char err[600];
    int fd = fileio_open_regular(script, err, sizeof err); /* a FIFO must not hang us */
    if (fd < 0) {
        fprintf(stderr, "mpcl: %s\n", err);
        return 1;
    }
    close(fd);
    if (luaL_loadfile(L, script) != LUA_OK) {
        fprintf(stderr, "mpcl: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushvalue(L, args);
    int rc = lua_pcall(L, 1, 0, handler);
    if (rc != LUA_OK && lab_sweep_is_quiet_exit(L, -1))
        return 0;
    if (rc != LUA_OK)
        fprintf(stderr, "mpcl: %s\n", lua_tostring(L, -1));
    return rc == LUA_OK ? 0 : 1;
}

/* Chunks from a pipe: the REPL's evaluator without a terminal. */
static int run_stdin(lua_State *L, const options *o)
{
    repl r;
    repl_init(&r, L, write_stdio, NULL);
    session sess;
    memset(&sess, 0, sizeof sess);
    if (o->record) {
        char err[512];
        if (session_start(&sess, &r, o->record, o->seed, o->threads, err, sizeof err) < 0) {
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

/* The console, with the bench demo, a script or a replay in it when asked. */
static int run_console(lua_State *L, const options *o)
{
    console_opts co = {.record = o->no_record ? "" : (o->replay ? "" : o->record),
                       .seed = o->seed,
                       .threads = o->threads,
                       .script = o->demo ? o->demo : o->script,
                       .replay = o->replay,
                       .step = o->ro.step,
                       .colors = (int)o->colors,
                       .ascii = o->ascii,
                       .mouse = !o->no_mouse};
    return console_run(L, &co);
}

/* The bare REPL in a terminal (--plain, or no console). */
static int run_repl(lua_State *L, const options *o)
{
    return repl_tty_run(L, o->no_record ? "" : o->record, o->seed, o->threads);
}

/* A journal replayed headless: in a Lua state of its own (replay.h). */
static int run_replay(const options *o) { return replay_file(o->replay, &o->ro); }

int main(int argc, char **argv)
{
    static int (*const run[])(lua_State *, const options *) = {
        [RUN_CONSOLE] = run_console, [RUN_REPL] = run_repl, [RUN_STDIN] = run_stdin,
        [RUN_SCRIPT] = run_script};
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != GO_ON)
        return rc;
    if ((rc = start_engine(&o)) != 0)
        return rc;
    if (o.mode != RUN_CONSOLE && headless_model_start() < 0)
        return 1;
    if (o.mode == RUN_REPLAY) {
        o.ro.open_more = open_ui;
        o.ro.open_more_ud = &headless;
        rc = run_replay(&o);
        headless_model_stop();
        return rc;
    }
    lua_State *L = new_state(&o);
    if (!L) {
        if (o.mode != RUN_CONSOLE)
            headless_model_stop();
        return 1;
    }
    rc = run[o.mode](L, &o);
    lab_state_close(L);
    if (o.mode != RUN_CONSOLE)
        headless_model_stop();
    sweep_mpi_stop(rc);
    return rc;
}
