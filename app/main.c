/* mpcl: the lab's command line. `mpcl SCRIPT.lua [key=value ...]` runs a script headless;
 * the keys reach the script as a table (its `...` and lab.args). */
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
#include "ui.h"
#include "session.h"
#include "sweep_wire.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpcl [--seed N] SCRIPT.lua [key=value ...]   run a script headless\n"
            "       mpcl [--seed N] [--record FILE | --no-record]  in a terminal: the console\n"
            "            [--plain] [--colors 256|8|1] [--ascii]     (--plain: the bare REPL)\n"
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
    if (lab_sweep_is_quiet_exit(L, 1)) /* a sweep's worker is done with the script */
        return 1;
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

/* The command line. */
typedef struct cli {
    const char *record, *replay, *demo, *script, *chip;
    int no_record, stdin_mode, have_seed, plain, force_console, ascii, slurm;
    long long colors, seed, max_mem_mb, max_instr;
    replay_opts ro;
    int first_arg; /* argv index of the first key=value after the script */
} cli;

/* An option that takes a value: argv[*i + 1], an integer >= lo. */
static int option_count(int argc, char **argv, int *i, long long lo, long long *out)
{
    const char *opt = argv[*i];
    return parse_count(opt, *i + 1 < argc ? argv[++*i] : NULL, lo, out);
}

/* Parse the options. Returns 0 to go on, 1 when done (--help, --version: printed), -1 on a
 * bad option (reported). */
static int parse_options(int argc, char **argv, cli *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->max_mem_mb = c->max_instr = -1;
    replay_opts_default(&c->ro);
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
            c->stdin_mode = 1;
        } else if (!strcmp(a, "--record") || !strcmp(a, "--replay")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpcl: %s needs a file name\n", a);
                return -1;
            }
            *(a[4] == 'c' ? &c->record : &c->replay) = argv[++i];
        } else if (!strcmp(a, "--chip")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpcl: --chip needs a chip URI (tcp://HOST:PORT, serial:DEV, ...)\n");
                return -1;
            }
            c->chip = argv[++i];
        } else if (!strcmp(a, "--no-record")) {
            c->no_record = 1;
        } else if (!strcmp(a, "--plain")) {
            c->plain = 1;
        } else if (!strcmp(a, "--console")) {
            c->force_console = 1;
        } else if (!strcmp(a, "--demo")) {
            c->demo = "demo.lua"; /* found by find_script */
            c->force_console = 1;
        } else if (!strcmp(a, "--slurm")) {
            c->slurm = 1;
        } else if (!strcmp(a, "--ascii")) {
            c->ascii = 1;
        } else if (!strcmp(a, "--colors")) {
            if (option_count(argc, argv, &i, 1, &c->colors) < 0)
                return -1;
            if (c->colors != 1 && c->colors != 8 && c->colors != 256) {
                fprintf(stderr, "mpcl: --colors takes 256, 8 or 1 (monochrome)\n");
                return -1;
            }
        } else if (!strcmp(a, "--step")) {
            c->ro.step = 1;
        } else if (!strcmp(a, "--verify")) {
            c->ro.verify = 1;
        } else if (!strcmp(a, "--trust")) {
            c->ro.trust = 1;
        } else if (!strcmp(a, "--seed")) {
            if (option_count(argc, argv, &i, 0, &c->seed) < 0)
                return -1;
            c->have_seed = 1;
        } else if (!strcmp(a, "--max-instructions")) {
            if (option_count(argc, argv, &i, 1, &c->max_instr) < 0)
                return -1;
        } else if (!strcmp(a, "--max-memory")) {
            if (option_count(argc, argv, &i, 1, &c->max_mem_mb) < 0)
                return -1;
        } else {
            fprintf(stderr, "mpcl: unknown option '%s' (mpcl --help lists them)\n", a);
            return -1;
        }
    }
    c->script = i < argc ? argv[i++] : NULL;
    c->first_arg = i;
    return 0;
}

/* lab.ui: its pause waits for a key in the console, nothing headless. */
static void open_ui(lua_State *L, void *ud)
{
    (void)ud;
    ui_open(L, NULL);
}

/* Run a script headless with its key=value arguments; the exit status. */
static int run_script(lua_State *L, const char *script, int argc, char **argv)
{
    lua_getglobal(L, "lab");
    if (push_args(L, argc, argv) < 0)
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

/* Whether the options go together (a line said when not). */
static int options_agree(const cli *c)
{
    const replay_opts *ro = &c->ro;
    if ((ro->step || ro->verify || ro->trust || c->max_instr > 0 || c->max_mem_mb > 0 ||
         c->chip) && !c->replay) {
        fprintf(stderr, "mpcl: --step, --verify, --trust, --chip and the limits go with --replay "
                        "FILE\n");
        return 0;
    }
    if (c->replay && (c->script || c->stdin_mode || c->record)) {
        fprintf(stderr, "mpcl: --replay FILE takes no script, '-' or --record\n");
        return 0;
    }
    return 1;
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

int main(int argc, char **argv)
{
    cli c;
    int parsed = parse_options(argc, argv, &c);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    if (!options_agree(&c))
        return 2;
    char script_buf[PATH_MAX + 64], demo_buf[PATH_MAX + 64];
    c.script = find_script(c.script, script_buf, sizeof script_buf);
    c.demo = find_script(c.demo, demo_buf, sizeof demo_buf);
    replay_opts ro = c.ro;
    const char *record = c.record, *replay = c.replay, *script = c.script;
    long long max_instr = c.max_instr, max_mem_mb = c.max_mem_mb, seed = c.seed;
    int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int interactive = !script && !c.stdin_mode && !replay && tty;
    if (!script && !c.stdin_mode && !replay && !interactive) {
        usage(stderr);
        return 2;
    }
    const char *term = getenv("TERM");
    int can_console = tty && term && *term && strcmp(term, "dumb") != 0;
    /* The console: in a terminal unless --plain; scripts and replays when asked for. */
    int console = !c.plain && can_console &&
                  (interactive || c.force_console || (replay && !ro.verify));
    if (c.force_console && !can_console) {
        fprintf(stderr, "mpcl: the console needs a terminal (TERM=%s)\n", term ? term : "");
        return 2;
    }
    if (console && (c.stdin_mode || (replay && ro.trust)))
        console = 0;
    char isa_err[200];
    if (isa_init(isa_err, sizeof isa_err) < 0) {
        fprintf(stderr, "mpcl: %s\n", isa_err);
        return 2;
    }
    kern_flush_denormals();
    int mpi_rc = start_mpi(script, replay, console);
    if (mpi_rc)
        return mpi_rc;
    int threads = default_threads();
    kern_set_threads(threads);
    if (max_instr > 0)
        ro.max_instructions = max_instr;
    if (max_mem_mb > 0)
        ro.max_memory = (size_t)max_mem_mb << 20;
    ro.chip = c.chip;
    if (replay && !console)
        return replay_file(replay, &ro);

    lab_state_opts so;
    replay_state_opts(&ro, &so);
    if (!replay)
        so.trusted = 1; /* the user's own script, REPL or console */
    so.have_seed = c.have_seed;
    so.seed = seed;
    so.open_more = open_ui;
    char err[300];
    lua_State *L = lab_state_new(&so, err, sizeof err);
    if (!L) {
        fprintf(stderr, "mpcl: %s\n", err);
        return 1;
    }
    int rc;
    if (console) {
        console_opts co = {.record = c.no_record ? "" : (replay ? "" : record), .seed = seed,
                           .threads = threads, .script = c.demo ? c.demo : script,
                           .replay = replay, .step = ro.step, .colors = (int)c.colors,
                           .ascii = c.ascii};
        rc = console_run(L, &co);
    } else if (interactive || c.stdin_mode) {
        rc = interactive ? repl_tty_run(L, c.no_record ? "" : record, seed, threads)
                         : run_stdin(L, record, seed, threads);
    } else {
        lab_sweep_set_script(script, argc - c.first_arg, argv + c.first_arg, c.slurm);
        rc = run_script(L, script, argc - c.first_arg, argv + c.first_arg);
    }
    lab_state_close(L);
    sweep_mpi_stop(rc);
    return rc;
}
