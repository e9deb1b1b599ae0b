/* lab.sweep: parameter sweeps from Lua, run in-process, in forked worker processes, over
 * MPI ranks or as Slurm array tasks (README, "Sweeps").
 *
 * The bookkeeping (points, manifest, run files, resume, gathering) is core/sweep's; this
 * file reads the Lua call, runs points (run(point, info) in a Lua state) and moves their
 * results between a master and its workers (sweep_wire.h). Every result travels as JSON,
 * also in-process, so that what a script gets back is the same however the points ran. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "capability.h"
#include "data.h"
#include "error.h"
#include "fileio.h"
#include "job.h"
#include "kernels.h"
#include "lab.h"
#include "lab_internal.h"
#include "lab_json.h"
#include "sweep.h"
#include "sweep_wire.h"
#include "clock.h"

#define SWEEP_MT "lab.sweep"

enum transport { T_INPROC, T_PROCS, T_MPI };
enum over { RUNNING, FINISHED, CANCELLED, FATAL };

typedef struct slot {
    pid_t pid;      /* a worker process (T_PROCS), or 0 */
    int fd;         /* its socket, or -1 */
    int rank;       /* an MPI rank (T_MPI) */
    int point;      /* the point it runs, or -1 */
    int ready;      /* it said READY (MPI ranks may still be loading) */
    int stopped;
} slot;

typedef struct sweep_run {
    sweep *sw;
    int n;
    int retries, threads, quiet, chunk, array_max, async;
    enum transport t;
    int *queue, qhead, qtail; /* pending points, dispatch order; retries go back in front */
    int *attempts;
    int running, finished, failed, to_run, resumed;
    double t0;
    slot *slots;
    int nslots;
    int last;                 /* the point that finished last, or -1 */
    int respawns;             /* worker processes started again after one died */
    enum over over;
    char fatal[700];
    char label[200];          /* DIR, for progress lines */
} sweep_run;

/* ---- what main tells the lab ------------------------------------------------------- */

static struct {
    char *script;   /* the headless script's path, or NULL */
    char **argv;    /* its key=value arguments */
    int argc;
    int slurm;      /* mpcl --slurm: the default backend is slurm */
    int mpi_used;   /* the distributed sweep (the first) is over */
} cli;

static char quiet_token; /* the error value that ends a worker's script quietly */

/* Raise a one-line error without a position: the message names lab.sweep and the input. */
static int fail(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return lua_error(L);
}

void lab_sweep_set_script(const char *script, int argc, char **argv, int slurm)
{
    cli.script = script ? strdup(script) : NULL;
    cli.argc = argc;
    cli.argv = argv;
    cli.slurm = slurm;
}

int lab_sweep_is_quiet_exit(lua_State *L, int idx)
{
    return lua_touserdata(L, idx) == &quiet_token;
}

/* A worker's script ends here (headless), without an error message; in the REPL the call
 * returns nothing instead. */
static int quiet_exit(lua_State *L)
{
    if (cli.script) {
        lua_pushlightuserdata(L, &quiet_token);
        return lua_error(L);
    }
    return 0;
}

static sweep_run *current; /* the sweep running now (for the job bar), or NULL */
static void sweep_poll(lua_State *L);

/* ---- the call's options -------------------------------------------------------------- */

typedef struct spec {
    cJSON *points;
    const char *out;
    int retries, workers, threads, quiet, force, chunk, array_max, wait;
    const char *backend;
} spec;

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static cJSON *spec_points(lua_State *L, int t)
{
    char err[600];
    int has_grid = lab_opt_field(L, t, "grid"), has_points = 0;
    if (has_grid)
        lua_pop(L, 1);
    if ((has_points = lab_opt_field(L, t, "points")))
        lua_pop(L, 1);
    if (has_grid == has_points)
        fail(L, "lab.sweep: give grid = {key = {values...}} or points = {{...}, ...}, "
                      "one of the two");
    lua_getfield(L, t, has_grid ? "grid" : "points");
    if (!lua_istable(L, -1))
        fail(L, "lab.sweep: %s must be a table", has_grid ? "grid" : "points");
    cJSON *v = lab_json_from_lua(L, -1, has_grid ? "grid" : "points", err, sizeof err);
    lua_pop(L, 1);
    if (!v)
        fail(L, "lab.sweep: %s", err);
    if (has_grid) {
        cJSON *p = sweep_grid_points(v, err, sizeof err);
        cJSON_Delete(v);
        if (!p)
            fail(L, "lab.sweep: %s", err);
        v = p;
    }
    if (sweep_check_points(v, err, sizeof err) < 0) {
        cJSON_Delete(v);
        fail(L, "lab.sweep: %s", err);
    }
    return v;
}

/* Read the options at t; the function run is left at the top of the stack. Raises one line
 * on bad input (before any point runs). */
static void read_spec(lua_State *L, int t, spec *sp)
{
    static const char *const known[] = {"grid", "points", "run", "out", "retries", "workers",
                                        "threads", "cost", "force", "backend", "chunk",
                                        "array_max", "quiet", "wait", NULL};
    luaL_checktype(L, t, LUA_TTABLE);
    lab_check_options(L, t, "lab.sweep", known);
    memset(sp, 0, sizeof *sp);
    sp->out = lab_opt_str(L, t, "out", NULL, "lab.sweep");
    if (!sp->out || !*sp->out)
        fail(L, "lab.sweep: give the result directory: out = \"DIR\"");
    sp->retries = lab_opt_i32(L, t, "retries", 1, "lab.sweep");
    sp->threads = lab_opt_i32(L, t, "threads", 0, "lab.sweep");
    sp->workers = lab_opt_i32(L, t, "workers", 0, "lab.sweep");
    sp->chunk = lab_opt_i32(L, t, "chunk", 1, "lab.sweep");
    sp->array_max = lab_opt_i32(L, t, "array_max", 32, "lab.sweep");
    sp->quiet = lab_opt_bool(L, t, "quiet", 0);
    sp->force = lab_opt_bool(L, t, "force", 0);
    sp->wait = lab_opt_bool(L, t, "wait", 1);
    sp->backend = lab_opt_str(L, t, "backend", cli.slurm ? "slurm" : sweep_mpi_size() > 1 ?
                                                                      "mpi" : "local",
                              "lab.sweep");
    if (sp->retries < 0 || sp->retries > 100 || sp->threads < 0 || sp->threads > 64 ||
        sp->workers < 0 || sp->workers > 256 || sp->chunk < 1 || sp->array_max < 1)
        fail(L, "lab.sweep: retries must be 0..100, threads 1..64, workers 1..256, "
                      "chunk and array_max at least 1");
    if (strcmp(sp->backend, "local") && strcmp(sp->backend, "mpi") &&
        strcmp(sp->backend, "slurm"))
        fail(L, "lab.sweep: backend must be \"local\", \"mpi\" or \"slurm\", not \"%s\"",
                   sp->backend);
    lua_getfield(L, t, "cost");
    if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
        fail(L, "lab.sweep: cost must be a function(point) returning seconds");
    lua_pop(L, 1);
    sp->points = spec_points(L, t);
    lua_getfield(L, t, "run");
    if (!lua_isfunction(L, -1)) {
        cJSON_Delete(sp->points);
        fail(L, "lab.sweep: run must be a function(point, info) returning a table of "
                      "results");
    }
}

/* ---- running one point ----------------------------------------------------------------- */

static void reseed(lua_State *L, int64_t seed)
{
    lab_set_default_seed(L, seed);
    if (lua_getglobal(L, "math") == LUA_TTABLE &&
        lua_getfield(L, -1, "randomseed") == LUA_TFUNCTION) {
        lua_pushinteger(L, seed);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK)
            lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void set_text(sweep_frame *f, int status, char *text)
{
    f->status = status;
    f->text = text;
    f->len = text ? (uint32_t)strlen(text) : 0;
}

/* Run point i (run is at stack index fn) into f: DONE with the result's JSON text, the
 * error's message, or FATAL when the result is not JSON. */
static void run_point(lua_State *L, int fn, sweep_run *r, int i, int attempt, sweep_frame *f)
{
    int top = lua_gettop(L);
    *f = (sweep_frame){.kind = SWEEP_DONE, .index = i, .attempt = attempt};
    int64_t seed = sweep_seed(r->sw, i);
    reseed(L, seed);
    lua_pushvalue(L, fn);
    lab_json_push(L, sweep_point(r->sw, i));
    lua_createtable(L, 0, 4);
    lua_pushstring(L, sweep_id(r->sw, i));
    lua_setfield(L, -2, "id");
    lab_set_int(L, "index", i + 1);
    lab_set_int(L, "seed", seed);
    lab_set_int(L, "attempt", attempt);
    double t0 = clock_seconds();
    int rc = lua_pcall(L, 2, 1, 0);
    f->seconds = clock_seconds() - t0;
    char msg[700], desc[200];
    if (rc != LUA_OK) {
        const char *e = lua_tostring(L, -1);
        snprintf(msg, sizeof msg, "%s", e ? e : "run raised an error that is not a string");
        set_text(f, SWEEP_ERROR, strdup(msg));
    } else {
        char err[500];
        cJSON *v = lab_json_from_lua(L, -1, "result", err, sizeof err);
        if (!v) {
            snprintf(msg, sizeof msg, "point %s (%s): %s", sweep_id(r->sw, i),
                     sweep_describe(r->sw, i, desc, sizeof desc), err);
            set_text(f, SWEEP_FATAL, strdup(msg));
        } else {
            set_text(f, SWEEP_OK, cJSON_PrintUnformatted(v));
            cJSON_Delete(v);
        }
    }
    if (!f->text)
        set_text(f, SWEEP_FATAL, strdup("out of memory"));
    lua_settop(L, top);
}

/* ---- the master's bookkeeping ---------------------------------------------------------- */

static void queue_push_front(sweep_run *r, int i)
{
    if (r->qhead > 0)
        r->queue[--r->qhead] = i;
}

static int queue_pop(sweep_run *r) { return r->qhead < r->qtail ? r->queue[r->qhead++] : -1; }
static int queue_len(const sweep_run *r) { return r->qtail - r->qhead; }

static double eta(const sweep_run *r)
{
    int ended = r->finished + r->failed;
    if (!ended)
        return -1;
    double el = clock_seconds() - r->t0;
    return el / ended * (r->to_run - ended);
}

static void progress_line(sweep_run *r, int i, const sweep_frame *f, const char *what)
{
    if (r->quiet || lab_get_observer()->idle) /* the console shows the job bar instead */
        return;
    char desc[200], e[48] = "";
    double left = eta(r);
    if (left >= 0 && queue_len(r) + r->running > 0)
        snprintf(e, sizeof e, ", about %.0f s left", left);
    char why[160] = "";
    if (f->status != SWEEP_OK && f->text)
        snprintf(why, sizeof why, ": %.*s", (int)strcspn(f->text, "\n"), f->text);
    fprintf(stderr, "sweep %s: %d/%d done, %d failed, %d running; %s %s (%s) %s in %.1f s%s%s\n",
            r->label, r->finished + r->resumed, r->n, r->failed, r->running, what,
            sweep_id(r->sw, i), sweep_describe(r->sw, i, desc, sizeof desc),
            f->status == SWEEP_OK ? "done" : "failed", f->seconds, why, e);
    fflush(stderr);
}

/* The panels show the last finished point when it looks like an evaluation. */
static void show_result(const cJSON *res)
{
    const lab_observer *o = lab_get_observer();
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(res, "acc");
    const cJSON *avg = cJSON_GetObjectItemCaseSensitive(res, "average");
    int n = cJSON_GetArraySize(acc);
    if (!o->evaluate || !cJSON_IsNumber(avg) || !cJSON_IsArray(acc) || n < 1 || n > 64)
        return;
    double a[64];
    int k = 0;
    for (const cJSON *e = acc->child; e; e = e->next)
        a[k++] = cJSON_IsNumber(e) ? e->valuedouble : 0;
    o->evaluate(o->ud, n, a, avg->valuedouble, NULL);
}

/* A point's outcome arrived (f: DONE): record it, or queue another attempt. */
static void point_done(sweep_run *r, const sweep_frame *f)
{
    int i = f->index;
    char err[600];
    if (i < 0 || i >= r->n)
        return;
    r->running--;
    r->last = i;
    if (f->status == SWEEP_FATAL) {
        snprintf(r->fatal, sizeof r->fatal, "%s", f->text ? f->text : "fatal");
        r->over = FATAL;
        return;
    }
    cJSON *res = NULL;
    int ok = f->status == SWEEP_OK;
    if (ok && !(res = cJSON_Parse(f->text ? f->text : "null"))) {
        ok = 0;
        snprintf(err, sizeof err, "the worker sent a result that is not JSON");
    }
    if (!ok && r->attempts[i] <= r->retries) {
        progress_line(r, i, f, "retrying");
        queue_push_front(r, i);
        return;
    }
    const char *msg = ok ? NULL : f->text ? f->text : err;
    if (sweep_record(r->sw, i, ok, res, msg, r->attempts[i], f->seconds, err, sizeof err) < 0) {
        snprintf(r->fatal, sizeof r->fatal, "lab.sweep: %s", err);
        r->over = FATAL;
        return;
    }
    if (ok) {
        r->finished++;
        show_result(cJSON_GetObjectItemCaseSensitive(sweep_record_of(r->sw, i), "result"));
    } else {
        r->failed++;
    }
    progress_line(r, i, f, "point");
}

/* ---- worker processes ----------------------------------------------------------------- */

static void child_main(lua_State *L, int fn, sweep_run *r, int k, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    setpgid(0, 0); /* Ctrl-C reaches the master, which stops its workers itself */
    signal(SIGINT, SIG_DFL);
    for (int j = 0; j < r->nslots; j++)
        if (r->slots[j].fd >= 0)
            close(r->slots[j].fd);
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/logs/worker-%d.log", sweep_dir(r->sw), k + 1);
    int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (lf >= 0) {
        dup2(lf, STDOUT_FILENO);
        dup2(lf, STDERR_FILENO);
        close(lf);
    }
    job_system_after_fork();
    kern_after_fork(r->threads);
    lab_jobs_set_background(0);
    lab_set_observer(NULL);
    lab_cancel_clear();
    sweep_frame f = {.kind = SWEEP_READY};
    if (sweep_frame_write(fd, &f) < 0)
        _exit(1);
    while (sweep_frame_read(fd, &f) == 0 && f.kind == SWEEP_RUN) {
        free(f.text);
        sweep_frame out;
        run_point(L, fn, r, f.index, f.attempt, &out);
        int bad = sweep_frame_write(fd, &out);
        free(out.text);
        if (bad)
            break;
    }
    fflush(NULL);
    _exit(0);
}

static int spawn(lua_State *L, int fn, sweep_run *r, int k, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return err_set(err, errlen, "lab.sweep: cannot make a socket pair: %s", strerror(errno));
    fflush(NULL); /* the child must not write the parent's buffered output again */
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(sv[0]);
        child_main(L, fn, r, k, sv[1], parent);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return err_set(err, errlen,
                       "lab.sweep: cannot start a worker process: %s", strerror(errno));
    }
    r->slots[k] = (slot){.pid = pid, .fd = sv[0], .point = -1};
    return 0;
}

/* Worker k is gone (killed, crashed): its point counts an attempt that failed. */
static void worker_died(lua_State *L, int fn, sweep_run *r, int k)
{
    slot *s = &r->slots[k];
    int st = 0;
    close(s->fd);
    s->fd = -1;
    kill(s->pid, SIGKILL); /* it may only have sent garbage: make sure it is gone */
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    if (s->point >= 0) {
        char msg[120];
        if (WIFSIGNALED(st))
            snprintf(msg, sizeof msg, "the worker process died (signal %d)", WTERMSIG(st));
        else
            snprintf(msg, sizeof msg, "the worker process exited (status %d)",
                     WEXITSTATUS(st));
        sweep_frame f = {.kind = SWEEP_DONE, .index = s->point, .status = SWEEP_ERROR};
        set_text(&f, SWEEP_ERROR, msg);
        s->point = -1;
        point_done(r, &f);
    }
    char err[300];
    if (r->over == RUNNING && queue_len(r) > 0 && ++r->respawns > 2 * r->nslots + r->n) {
        snprintf(r->fatal, sizeof r->fatal, "worker processes keep dying (%d started again); "
                 "see %s/logs/", r->respawns, sweep_dir(r->sw));
        r->over = FATAL;
        return;
    }
    if (r->over == RUNNING && queue_len(r) > 0 && spawn(L, fn, r, k, err, sizeof err) < 0) {
        snprintf(r->fatal, sizeof r->fatal, "%s", err);
        r->over = FATAL;
    }
}

/* ---- the master loop -------------------------------------------------------------------- */

static int send_to(sweep_run *r, slot *s, const sweep_frame *f)
{
    return r->t == T_MPI ? sweep_mpi_send(s->rank, f) : sweep_frame_write(s->fd, f);
}

static void dispatch(sweep_run *r)
{
    for (int k = 0; k < r->nslots && r->over == RUNNING; k++) {
        slot *s = &r->slots[k];
        if (!s->ready || s->point >= 0 || s->stopped || (r->t == T_PROCS && s->fd < 0))
            continue;
        int i = queue_pop(r);
        if (i < 0)
            return;
        r->attempts[i]++;
        sweep_frame f = {.kind = SWEEP_RUN, .index = i, .attempt = r->attempts[i]};
        s->point = i;
        r->running++;
        if (send_to(r, s, &f) < 0 && r->t == T_MPI) {
            snprintf(r->fatal, sizeof r->fatal, "lab.sweep: cannot send to rank %d", s->rank);
            r->over = FATAL;
        }
    }
}

static void on_frame(sweep_run *r, slot *s, sweep_frame *f)
{
    if (f->kind == SWEEP_READY)
        s->ready = 1;
    else if (f->kind == SWEEP_DONE && f->index == s->point) {
        s->point = -1;
        point_done(r, f);
    }
    free(f->text);
    f->text = NULL;
}

/* Wait up to ms for frames from worker processes and handle them. */
static void step_procs(lua_State *L, int fn, sweep_run *r, int ms)
{
    struct pollfd p[256];
    int map[256], np = 0;
    for (int k = 0; k < r->nslots && np < 256; k++)
        if (r->slots[k].fd >= 0) {
            p[np] = (struct pollfd){.fd = r->slots[k].fd, .events = POLLIN};
            map[np++] = k;
        }
    if (poll(p, (nfds_t)np, ms) <= 0)
        return;
    for (int j = 0; j < np && r->over == RUNNING; j++) {
        if (!p[j].revents)
            continue;
        slot *s = &r->slots[map[j]];
        sweep_frame f;
        if (sweep_frame_read(s->fd, &f) < 0)
            worker_died(L, fn, r, map[j]);
        else
            on_frame(r, s, &f);
    }
}

static void step_mpi(sweep_run *r, int ms)
{
    double until = clock_seconds() + ms / 1000.0;
    for (;;) {
        int src;
        sweep_frame f;
        int got = sweep_mpi_poll(&src, &f);
        if (got < 0) {
            snprintf(r->fatal, sizeof r->fatal, "lab.sweep: MPI receive failed");
            r->over = FATAL;
            return;
        }
        if (got && src >= 1 && src <= r->nslots) {
            on_frame(r, &r->slots[src - 1], &f);
            return;
        }
        if (got)
            free(f.text);
        if (clock_seconds() >= until)
            return;
        nanosleep(&(struct timespec){0, 200000}, NULL); /* MPI waits by spinning otherwise */
    }
}

static void step_inproc(lua_State *L, int fn, sweep_run *r)
{
    int i = queue_pop(r);
    if (i < 0)
        return;
    r->attempts[i]++;
    r->running++;
    sweep_frame f;
    run_point(L, fn, r, i, r->attempts[i], &f);
    point_done(r, &f);
    free(f.text);
    if (*lab_cancel_ptr() && r->over == RUNNING)
        r->over = CANCELLED;
}

static int pending(const sweep_run *r) { return queue_len(r) + r->running; }

/* One round of the master: dispatch, wait up to ms for results. */
static void master_step(lua_State *L, int fn, sweep_run *r, int ms)
{
    if (r->over != RUNNING)
        return;
    if (*lab_cancel_ptr()) {
        r->over = CANCELLED;
        return;
    }
    if (r->t == T_INPROC) {
        step_inproc(L, fn, r);
    } else {
        dispatch(r);
        if (r->t == T_MPI)
            step_mpi(r, ms);
        else
            step_procs(L, fn, r, ms);
        dispatch(r);
    }
    if (r->over == RUNNING && pending(r) == 0)
        r->over = FINISHED;
}

/* Stop every worker: STOP to those that listen (MPI ranks that have not said READY yet
 * are waited for), SIGKILL to processes when the sweep did not finish. */
static void release_workers(sweep_run *r)
{
    for (int k = 0; k < r->nslots; k++) {
        slot *s = &r->slots[k];
        sweep_frame stop = {.kind = SWEEP_STOP};
        if (r->t == T_PROCS && s->pid > 0) {
            if (r->over == FINISHED)
                sweep_frame_write(s->fd, &stop);
            else
                kill(s->pid, SIGKILL);
            close(s->fd);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
            s->fd = -1;
        }
    }
    if (r->t != T_MPI)
        return;
    for (int left = 1; left;) { /* every rank gets exactly one STOP, once it listens */
        left = 0;
        for (int k = 0; k < r->nslots; k++) {
            slot *s = &r->slots[k];
            if (!s->stopped && s->ready && s->point < 0) {
                sweep_frame stop = {.kind = SWEEP_STOP};
                sweep_mpi_send(s->rank, &stop);
                s->stopped = 1;
            }
            left |= !s->stopped;
        }
        if (left) {
            int src;
            sweep_frame f;
            if (sweep_mpi_poll(&src, &f) > 0 && src >= 1 && src <= r->nslots) {
                slot *s = &r->slots[src - 1];
                s->ready = 1;
                s->point = -1; /* a result that comes too late is dropped */
                free(f.text);
            } else {
                nanosleep(&(struct timespec){0, 500000}, NULL);
            }
        }
    }
}

/* ---- MPI ranks other than 0 ------------------------------------------------------------- */

static int mpi_serve(lua_State *L, int fn, sweep_run *r)
{
    sweep_frame f = {.kind = SWEEP_READY};
    sweep_mpi_send(0, &f);
    for (;;) {
        int src, got;
        while ((got = sweep_mpi_poll(&src, &f)) == 0)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        if (got < 0)
            return fail(L, "lab.sweep: MPI receive failed on rank %d", sweep_mpi_rank());
        int kind = f.kind;
        free(f.text);
        if (kind != SWEEP_RUN)
            break;
        sweep_frame out;
        run_point(L, fn, r, f.index, f.attempt, &out);
        sweep_mpi_send(0, &out);
        free(out.text);
    }
    return quiet_exit(L);
}

/* ---- the handle (lab.sweep object) ------------------------------------------------------ */

static void run_free(sweep_run *r)
{
    if (!r)
        return;
    if (r->over == RUNNING)
        r->over = CANCELLED;
    if (r->t != T_MPI)
        release_workers(r);
    if (current == r)
        current = NULL;
    sweep_free(r->sw);
    free(r->queue);
    free(r->attempts);
    free(r->slots);
    free(r);
}

static sweep_run **check_handle(lua_State *L, int i) { return luaL_checkudata(L, i, SWEEP_MT); }

static int l_sweep_gc(lua_State *L)
{
    sweep_run **h = check_handle(L, 1);
    run_free(*h);
    *h = NULL;
    return 0;
}

/* The handle's sweep; raises when it was closed. */
static sweep_run *handle_run(lua_State *L, int i)
{
    sweep_run **h = check_handle(L, i);
    if (!*h)
        fail(L, "lab.sweep: this sweep is closed");
    return *h;
}

static int l_sweep_tostring(lua_State *L)
{
    sweep_run **h = check_handle(L, 1);
    if (!*h)
        lua_pushstring(L, "lab.sweep (closed)");
    else
        lua_pushfstring(L, "lab.sweep %s: %d of %d points done, %d failed", (*h)->label,
                        (*h)->finished + (*h)->resumed, (*h)->n, (*h)->failed);
    return 1;
}

static int l_sweep_progress(lua_State *L)
{
    sweep_run *r = handle_run(L, 1);
    if (r == current && r->async)
        sweep_poll(L); /* a script polling its sweep moves it on (no console to do it) */
    lua_createtable(L, 0, 10);
    lab_set_int(L, "total", r->n);
    lab_set_int(L, "done", r->finished + r->resumed);
    lab_set_int(L, "resumed", r->resumed);
    lab_set_int(L, "failed", r->failed);
    lab_set_int(L, "running", r->running);
    lab_set_int(L, "pending", queue_len(r));
    lab_set_num(L, "elapsed", clock_seconds() - r->t0);
    double e = eta(r);
    if (e >= 0)
        lab_set_num(L, "eta", e);
    lua_pushstring(L, r->over == RUNNING ? "running" : r->over == FINISHED ? "finished" :
                      r->over == CANCELLED ? "cancelled" : "failed");
    lua_setfield(L, -2, "state");
    if (r->last >= 0) {
        lab_json_push(L, sweep_record_of(r->sw, r->last));
        lua_setfield(L, -2, "last");
    }
    return 1;
}

static void push_results(lua_State *L, sweep_run *r)
{
    lua_createtable(L, r->n, 0);
    for (int i = 0; i < r->n; i++) {
        const cJSON *rec = sweep_record_of(r->sw, i);
        if (rec) {
            lab_json_push(L, rec);
            lua_pushnil(L);
            lua_setfield(L, -2, "ok");
        } else {
            lua_createtable(L, 0, 3);
            lua_pushstring(L, sweep_id(r->sw, i));
            lua_setfield(L, -2, "id");
            lab_set_int(L, "index", i + 1);
            lab_json_push(L, sweep_point(r->sw, i));
            lua_setfield(L, -2, "point");
        }
        lua_rawseti(L, -2, i + 1);
    }
}

/* The master's loop (protected: arguments the run and its function). */
static int drive(lua_State *L)
{
    sweep_run *r = lua_touserdata(L, 1);
    const lab_observer *o = lab_get_observer();
    while (r->over == RUNNING) {
        master_step(L, 2, r, o->idle ? 20 : 200);
        if (o->idle && r->over == RUNNING)
            o->idle(o->ud); /* the console: frames, keys (Ctrl-C may raise from here) */
    }
    return 0;
}

/* Drive the sweep of the handle at h to its end; push its results, or raise. */
static int finish(lua_State *L, int h)
{
    sweep_run *r = handle_run(L, h);
    current = r;
    lua_pushcfunction(L, drive);
    lua_pushlightuserdata(L, r);
    lua_getiuservalue(L, h, 1);
    int rc = lua_pcall(L, 2, 0, 0);
    if (r->over == RUNNING) /* an error or an interrupt stopped the loop */
        r->over = *lab_cancel_ptr() ? CANCELLED : FATAL;
    release_workers(r);
    current = NULL;
    if (rc != LUA_OK && r->over != CANCELLED)
        return lua_error(L);
    char err[600];
    if (r->over == FINISHED && sweep_gather(r->sw, err, sizeof err) < 0)
        return fail(L, "lab.sweep: %s", err);
    /* before anything calls Lua: an interrupt's hook would raise its own message there */
    if (r->over == CANCELLED)
        return fail(L, "lab.sweep: cancelled with %d of %d points done (the same call "
                             "resumes)", r->finished + r->resumed, r->n);
    lab_record(L, "sweep %s points=%d done=%d failed=%d", r->label, r->n,
               r->finished + r->resumed, r->failed);
    if (r->over == FATAL)
        return fail(L, "lab.sweep: %s", r->fatal);
    push_results(L, r);
    return 1;
}

static int l_sweep_wait(lua_State *L)
{
    sweep_run *r = handle_run(L, 1);
    if (r->t == T_MPI && r->over != RUNNING)
        fail(L, "lab.sweep: already finished");
    return finish(L, 1);
}

static int l_sweep_cancel(lua_State *L)
{
    sweep_run *r = handle_run(L, 1);
    if (r->over == RUNNING)
        r->over = CANCELLED;
    release_workers(r);
    if (current == r)
        current = NULL;
    return 0;
}

/* Async sweeps move on whenever the lab drains its jobs (lab_jobs_poll). */
#define ASYNC_KEY "mpcl.sweep.async" /* registry: the handle of the async sweep */

static void sweep_poll(lua_State *L)
{
    if (!current || !current->async || current->over != RUNNING)
        return;
    if (lua_getfield(L, LUA_REGISTRYINDEX, ASYNC_KEY) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        return;
    }
    lua_getiuservalue(L, -1, 1);
    sweep_run *r = current;
    master_step(L, lua_gettop(L), r, 0);
    lua_pop(L, 2);
    if (r->over == RUNNING)
        return;
    release_workers(r);
    current = NULL;
    char err[600], line[1200];
    if (r->over == FINISHED && sweep_gather(r->sw, err, sizeof err) < 0)
        snprintf(line, sizeof line, "sweep %s: %s\n", r->label, err);
    else
        snprintf(line, sizeof line, "sweep %s %s: %d of %d points done, %d failed%s%s\n",
                 r->label, r->over == FINISHED ? "finished" : "stopped",
                 r->finished + r->resumed, r->n, r->failed, r->over == FATAL ? ": " : "",
                 r->over == FATAL ? r->fatal : "");
    if (!r->quiet || r->over != FINISHED)
        lab_jobs_notify(line);
}

int lab_sweeps_describe(char *buf, size_t len, double *fraction)
{
    sweep_run *r = current;
    buf[0] = '\0';
    if (!r || r->over != RUNNING)
        return 0;
    double e = eta(r);
    char et[48] = "";
    if (e >= 0)
        snprintf(et, sizeof et, ", ETA %.0f s", e);
    snprintf(buf, len, "sweep %s %d/%d done, %d failed, %d running%s", r->label,
             r->finished + r->resumed, r->n, r->failed, r->running, et);
    *fraction = r->n ? (double)(r->finished + r->resumed + r->failed) / r->n : 0;
    return 1;
}

/* ---- the manifest's description of what ran ------------------------------------------- */

#define DATASETS_KEY "mpcl.sweep.datasets" /* registry: names of the data sets loaded */

void lab_sweep_note_dataset(lua_State *L, const char *name)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, DATASETS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, DATASETS_KEY);
    }
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

static cJSON *data_crcs(lua_State *L)
{
    static const char *const stems[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    cJSON *data = cJSON_CreateObject();
    if (lua_getfield(L, LUA_REGISTRYINDEX, DATASETS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return data;
    }
    const char *names[] = {"fmnist", "mnist"}; /* a fixed order */
    for (int d = 0; d < 2; d++) {
        if (lua_getfield(L, -1, names[d]) == LUA_TNIL || !data_dir_for(names[d])) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        cJSON *files = cJSON_AddObjectToObject(data, names[d]);
        for (int k = 0; k < 4; k++) {
            char path[PATH_MAX], e[300];
            uint32_t crc;
            snprintf(path, sizeof path, "%s/%s", data_dir_for(names[d]), stems[k]);
            if (access(path, R_OK) < 0)
                strncat(path, ".gz", sizeof path - strlen(path) - 1);
            if (sweep_file_crc(path, &crc, e, sizeof e) == 0)
                cJSON_AddNumberToObject(files, strrchr(path, '/') + 1, crc);
        }
    }
    lua_pop(L, 1);
    return data;
}

static cJSON *manifest_meta(lua_State *L)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "lab", MPCL_VERSION);
    cJSON *script = cJSON_AddObjectToObject(m, "script");
    uint32_t crc = 0;
    char e[300];
    if (cli.script && sweep_file_crc(cli.script, &crc, e, sizeof e) == 0) {
        const char *base = strrchr(cli.script, '/');
        cJSON_AddStringToObject(script, "name", base ? base + 1 : cli.script);
        cJSON_AddNumberToObject(script, "crc32", crc);
    } else {
        cJSON_AddStringToObject(script, "name", "(interactive)");
    }
    cJSON_AddItemToObject(m, "data", data_crcs(L));
    return m;
}

/* ---- Slurm ------------------------------------------------------------------------------ */

static void shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

typedef struct sbatch {
    const sweep_run *r;
    char exe[PATH_MAX], cwd[PATH_MAX];
} sbatch;

static int sbatch_write(int fd, void *ud)
{
    const sbatch *b = ud;
    const sweep_run *r = b->r;
    FILE *f = fdopen(dup(fd), "w");
    if (!f)
        return -1;
    int tasks = (r->n + r->chunk - 1) / r->chunk;
    char dir[2 * PATH_MAX + 2]; /* absolute: sbatch may be run from anywhere */
    const char *d = sweep_dir(r->sw);
    snprintf(dir, sizeof dir, "%s%s%s", d[0] == '/' ? "" : b->cwd, d[0] == '/' ? "" : "/", d);
    fprintf(f, "#!/bin/bash\n# A Slurm job array written by lab.sweep (MPCL Lab %s): %d points "
               "of %s,\n# %d a task. Submit it, then gather with the same command once every "
               "task has ended:\n#   jobid=$(sbatch --parsable %s/sweep.sbatch)\n"
               "#   sbatch --dependency=afterany:$jobid --wrap \"cd ",
            MPCL_VERSION, r->n, cli.script, r->chunk, dir);
    shell_quote(f, b->cwd);
    fprintf(f, " && MPCL_THREADS=%d %s --slurm %s", r->threads, b->exe, cli.script);
    for (int i = 0; i < cli.argc; i++)
        fprintf(f, " %s", cli.argv[i]);
    fprintf(f, "\"\n# (or run that command by hand). If a task left points undone, that "
               "command writes this\n# file again: submit it once more; only missing points "
               "run.\n");
    fprintf(f, "#SBATCH --job-name=mpcl-sweep\n#SBATCH --array=0-%d%%%d\n#SBATCH --requeue\n"
               "#SBATCH --cpus-per-task=%d\n#SBATCH --output=%s/logs/slurm-%%A_%%a.out\n",
            tasks - 1, r->array_max, r->threads, dir);
    fprintf(f, "set -e\ncd ");
    shell_quote(f, b->cwd);
    fprintf(f, "\nexport MPCL_THREADS=%d\nexec ", r->threads);
    shell_quote(f, b->exe);
    fputs(" --slurm ", f);
    shell_quote(f, cli.script);
    for (int i = 0; i < cli.argc; i++) {
        fputc(' ', f);
        shell_quote(f, cli.argv[i]);
    }
    fputc('\n', f);
    int bad = ferror(f);
    return fclose(f) != 0 || bad ? -1 : 0;
}

static int slurm_submit_file(lua_State *L, sweep_run *r)
{
    sbatch b = {.r = r};
    ssize_t k = readlink("/proc/self/exe", b.exe, sizeof b.exe - 1);
    if (k <= 0 || !getcwd(b.cwd, sizeof b.cwd))
        return fail(L, "lab.sweep: cannot tell this program's path or the directory");
    b.exe[k] = '\0';
    char path[PATH_MAX + 16], err[600];
    snprintf(path, sizeof path, "%s/logs", sweep_dir(r->sw)); /* Slurm creates no directory */
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
        return fail(L, "lab.sweep: cannot create %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/sweep.sbatch", sweep_dir(r->sw));
    if (fileio_write_atomic(path, sbatch_write, &b, err, sizeof err) < 0)
        return fail(L, "lab.sweep: %s", err);
    chmod(path, 0755);
    printf("lab.sweep: %d of %d points to run; wrote %s\n  submit: sbatch %s\n  gather: the "
           "same command once every task has ended (see the file's head)\n",
           r->to_run, r->n, path, path);
    fflush(stdout);
    return quiet_exit(L);
}

/* This Slurm array task's points: chunk SLURM_ARRAY_TASK_ID; -1 when not a task. */
static int slurm_task(lua_State *L, const sweep_run *r)
{
    const char *id = getenv("SLURM_ARRAY_TASK_ID");
    if (!id || !*id)
        return -1;
    char *end;
    long t = strtol(id, &end, 10);
    if (*end || t < 0 || t >= (r->n + r->chunk - 1) / r->chunk)
        fail(L, "lab.sweep: SLURM_ARRAY_TASK_ID=%s is not a chunk of this sweep (0..%d)",
                   id, (r->n + r->chunk - 1) / r->chunk - 1);
    return (int)t;
}

/* ---- lab.sweep -------------------------------------------------------------------------- */

/* Queue the points still to run (in [lo, hi)), in dispatch order. */
static void plan(lua_State *L, sweep_run *r, int spec_t, int lo, int hi)
{
    double *cost = NULL;
    lua_getfield(L, spec_t, "cost");
    if (lua_isfunction(L, -1)) {
        cost = malloc((size_t)r->n * sizeof *cost);
        for (int i = 0; cost && i < r->n; i++) {
            cost[i] = -1;
            if (sweep_done(r->sw, i) || i < lo || i >= hi)
                continue;
            lua_pushvalue(L, -1);
            lab_json_push(L, sweep_point(r->sw, i));
            if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
                free(cost);
                fail(L, "lab.sweep: cost: %s", lua_tostring(L, -1));
            }
            cost[i] = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    int *order = malloc((size_t)r->n * sizeof *order);
    if (!order) {
        free(cost);
        fail(L, "lab.sweep: out of memory");
    }
    sweep_order(r->sw, cost, order);
    free(cost);
    for (int k = 0; k < r->n; k++) {
        int i = order[k];
        if (sweep_done(r->sw, i))
            r->resumed++;
        else if (i >= lo && i < hi)
            r->queue[r->qtail++] = i;
    }
    free(order);
    r->to_run = r->qtail;
}

/* A new handle over points (taken) on the stack top; the run function at fn becomes its
 * user value. */
static sweep_run *new_handle(lua_State *L, cJSON *points, int fn, const spec *sp)
{
    sweep_run **h = lua_newuserdatauv(L, sizeof *h, 1);
    *h = NULL;
    luaL_setmetatable(L, SWEEP_MT);
    lua_pushvalue(L, fn);
    lua_setiuservalue(L, -2, 1);
    char err[600];
    sweep *sw = sweep_new(points, err, sizeof err);
    if (!sw)
        fail(L, "lab.sweep: %s", err);
    sweep_run *r = calloc(1, sizeof *r);
    if (r) {
        r->n = sweep_count(sw);
        r->queue = malloc((size_t)r->n * sizeof *r->queue);
        r->attempts = calloc((size_t)r->n, sizeof *r->attempts);
    }
    if (!r || !r->queue || !r->attempts) {
        if (r) {
            free(r->queue);
            free(r->attempts);
        }
        free(r);
        sweep_free(sw);
        fail(L, "lab.sweep: out of memory");
    }
    *h = r;
    r->sw = sw;
    r->last = -1;
    r->retries = sp->retries;
    r->quiet = sp->quiet;
    r->chunk = sp->chunk;
    r->array_max = sp->array_max;
    r->t0 = clock_seconds();
    snprintf(r->label, sizeof r->label, "%s", sp->out);
    return r;
}

static void open_dir(lua_State *L, sweep_run *r, const spec *sp)
{
    char err[700];
    cJSON *meta = manifest_meta(L);
    int rc = sweep_open(r->sw, sp->out, meta, sp->force, err, sizeof err);
    cJSON_Delete(meta);
    if (rc < 0)
        fail(L, "lab.sweep: %s", err);
}

/* How the points run here: in-process, worker processes or MPI ranks; sets up slots. */
static void choose_transport(lua_State *L, sweep_run *r, const spec *sp, int mpi)
{
    r->threads = sp->threads ? sp->threads : kern_threads();
    if (mpi) {
        r->t = T_MPI;
        r->nslots = sweep_mpi_size() - 1;
    } else {
        int workers = sp->workers;
        if (!workers) {
            int per = sp->threads ? sp->threads : 1;
            workers = cores() / per > 1 ? cores() / per : 1;
        }
        if (workers > r->to_run)
            workers = r->to_run;
        if (cap_sandboxed(L) || sweep_mpi_size() > 1) /* no fork() in replays or MPI jobs */
            workers = 1;
        r->t = workers > 1 ? T_PROCS : T_INPROC;
        r->nslots = workers > 1 ? workers : 0;
        if (r->t == T_PROCS && !sp->threads)
            r->threads = 1;
    }
    r->slots = calloc((size_t)(r->nslots ? r->nslots : 1), sizeof *r->slots);
    if (!r->slots)
        fail(L, "lab.sweep: out of memory");
    for (int k = 0; k < r->nslots; k++)
        r->slots[k] = (slot){.fd = -1, .rank = k + 1, .point = -1};
}

static void start_workers(lua_State *L, int fn, sweep_run *r)
{
    char err[300], logs[PATH_MAX];
    if (lab_jobs_describe(L, err, sizeof err) > 0)
        fail(L, "lab.sweep: wait for the running jobs first (worker processes copy the "
                      "lab as it is)");
    snprintf(logs, sizeof logs, "%s/logs", sweep_dir(r->sw));
    if (mkdir(logs, 0777) < 0 && errno != EEXIST)
        fail(L, "lab.sweep: cannot create %s: %s", logs, strerror(errno));
    for (int k = 0; k < r->nslots; k++)
        if (spawn(L, fn, r, k, err, sizeof err) < 0) {
            r->over = CANCELLED;
            release_workers(r);
            fail(L, "%s", err);
        }
}

typedef struct prep {
    sweep_run *r;
    const spec *sp;
    int task;
} prep;

/* Open DIR and queue the points (this Slurm task's, or all): protected, so that a refusal
 * still releases the MPI ranks that wait for work. Arguments: the prep, the options. */
static int prepare(lua_State *L)
{
    prep *p = lua_touserdata(L, 1);
    sweep_run *r = p->r;
    open_dir(L, r, p->sp);
    int slurm = !strcmp(p->sp->backend, "slurm");
    p->task = slurm ? slurm_task(L, r) : -1;
    int lo = p->task >= 0 ? p->task * r->chunk : 0;
    int hi = p->task >= 0 && lo + r->chunk < r->n ? lo + r->chunk : r->n;
    plan(L, r, 2, lo, hi);
    return 0;
}

/* Backend slurm with points left: write the job file, or run this task's chunk. */
static int run_slurm(lua_State *L, int fn, sweep_run *r, const spec *sp, int task)
{
    if (!cli.script)
        return fail(L, "lab.sweep: backend slurm needs a script (mpcl SCRIPT.lua)");
    r->threads = sp->threads ? sp->threads : 1;
    if (task < 0)
        return slurm_submit_file(L, r);
    for (r->t = T_INPROC; r->over == RUNNING;)
        master_step(L, fn, r, 0);
    if (r->over == FATAL)
        return fail(L, "lab.sweep: %s", r->fatal);
    return quiet_exit(L);
}

static int l_sweep(lua_State *L)
{
    spec sp;
    read_spec(L, 1, &sp);
    int fn = lua_gettop(L);
    cap_write_path(L, sp.out, "lab.sweep");
    sweep_run *r = new_handle(L, sp.points, fn, &sp);
    int h = lua_gettop(L);
    int mpi = sweep_mpi_size() > 1 && !strcmp(sp.backend, "mpi") && !cli.mpi_used;
    if (mpi) {
        cli.mpi_used = 1;
        choose_transport(L, r, &sp, mpi);
        if (sweep_mpi_rank() > 0)
            return mpi_serve(L, fn, r);
    }
    prep p = {r, &sp, -1};
    lua_pushcfunction(L, prepare);
    lua_pushlightuserdata(L, &p);
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        if (mpi) {
            r->over = CANCELLED;
            release_workers(r);
        }
        return lua_error(L);
    }
    /* an array task runs its chunk and ends; the submitting command gathers once all done */
    if (!strcmp(sp.backend, "slurm") && (p.task >= 0 || sweep_done_count(r->sw) < r->n))
        return run_slurm(L, fn, r, &sp, p.task);
    if (!mpi)
        choose_transport(L, r, &sp, mpi);
    if (r->t == T_PROCS)
        start_workers(L, fn, r);
    if (!sp.wait) {
        if (r->t != T_PROCS)
            return fail(L, "lab.sweep: wait = false needs worker processes (workers "
                                 ">= 2 and points to run)");
        r->async = 1;
        current = r;
        lua_pushvalue(L, h);
        lua_setfield(L, LUA_REGISTRYINDEX, ASYNC_KEY);
        lua_pushvalue(L, h);
        return 1;
    }
    return finish(L, h);
}

/* lab.rank(): this process's MPI rank and the number of ranks (0, 1 without mpirun). */
static int l_rank(lua_State *L)
{
    lua_pushinteger(L, sweep_mpi_rank());
    lua_pushinteger(L, sweep_mpi_size());
    return 2;
}

void lab_sweep_open(lua_State *L, int lab)
{
    static const luaL_Reg meta[] = {{"__gc", l_sweep_gc}, {"__tostring", l_sweep_tostring},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"progress", l_sweep_progress}, {"wait", l_sweep_wait},
                                       {"cancel", l_sweep_cancel}, {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class(L, SWEEP_MT, meta, methods);
    lua_pushcfunction(L, l_sweep);
    lua_setfield(L, lab, "sweep");
    lua_pushcfunction(L, l_rank);
    lua_setfield(L, lab, "rank");
    lab_jobs_also_poll(sweep_poll);
}
