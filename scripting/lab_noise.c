/* lab.noise_sweep and the noise-sweep job it shares with baseline:noise_sweep
 * (lab_baseline.c, through lab_internal.h's lab_noise_job_new / lab_noise_job_submit): a
 * model's accuracy with conductance noise of relative size rho on its weights
 * (core/noise.h), over a grid of rho and several draws each, and the noise it tolerates.
 *   lab.noise_sweep(net, seq, {step = 0.05, draws = 5}):wait() -> {rho, acc, sd, tolerance,
 *   reached} */
#include <stdlib.h>
#include <string.h>

#include "lab_chip.h"
#include "noise.h"

/* A sweep job shared by nets and baselines: the model is a copy the job owns. */
struct lab_noise_job {
    void *model;
    lab_sweep_fn sweep;
    void (*free_model)(void *);
    noise_taskset ts;
    double rho[256], acc[256], sd[256];
    int nrho, draws;
    uint64_t seed;
    double tolerance;
    int reached;
    const char *record; /* the session record's first word */
};

static void noise_free(void *p)
{
    lab_noise_job *c = p;
    if (c->model)
        c->free_model(c->model);
    free(c);
}

static int noise_work(job *j, void *ctx, char *err, size_t errlen)
{
    lab_noise_job *c = ctx;
    job_publish(j, 0, NULL, "noise sweep");
    if (c->sweep(c->model, &c->ts, c->rho, c->nrho, c->draws, c->seed, &j->cancel, c->acc,
                 c->sd, err, errlen) < 0)
        return j->cancel ? 0 : -1;
    int rc = noise_tolerance(c->rho, c->acc, c->nrho, NOISE_TOLERANCE_LEVEL, &c->tolerance, err,
                             errlen);
    if (rc < 0)
        return -1;
    c->reached = rc == 0;
    return 0;
}

static void noise_result(lua_State *L, job *j, void *ctx)
{
    lab_noise_job *c = ctx;
    if (job_get_state(j) == JOB_CANCELLED) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 5);
    lab_push_doubles(L, c->rho, c->nrho);
    lua_setfield(L, -2, "rho");
    lab_push_doubles(L, c->acc, c->nrho);
    lua_setfield(L, -2, "acc");
    lab_push_doubles(L, c->sd, c->nrho);
    lua_setfield(L, -2, "sd");
    lab_set_num(L, "tolerance", c->tolerance);
    lua_pushboolean(L, c->reached);
    lua_setfield(L, -2, "reached");
    lab_record(L, "%s tolerance=%.6f reached=%d", c->record, c->tolerance, c->reached);
}

lab_noise_job *lab_noise_job_new(lua_State *L, int opts, const char *who)
{
    double step = lab_opt_num(L, opts, "step", 0.05, who);
    int draws = lab_opt_i32(L, opts, "draws", 5, who);
    uint64_t seed = (uint64_t)lab_opt_int(L, opts, "seed", lab_default_seed(L), who);
    char err[300];
    int nrho = noise_rho_grid(step, NULL, 0, err, sizeof err);
    if (nrho < 0 || nrho > 256)
        luaL_error(L, "%s: %s", who, nrho < 0 ? err : "step too small (256 points at most)");
    if (draws < 1 || draws > 1000)
        luaL_error(L, "%s: draws must be 1-1000", who);
    lab_noise_job *c = calloc(1, sizeof *c);
    if (!c)
        luaL_error(L, "%s: out of memory", who);
    c->draws = draws;
    c->seed = seed;
    c->nrho = noise_rho_grid(step, c->rho, 256, err, sizeof err);
    return c;
}

void lab_noise_job_submit(lua_State *L, lab_noise_job *c, const char *name,
                          const char *record, void *model,
                          lab_sweep_fn sweep, void (*free_model)(void *), noise_taskset ts,
                          int keep1, int keep2)
{
    c->model = model;
    c->sweep = sweep;
    c->free_model = free_model;
    c->ts = ts;
    c->record = record;
    lab_job_spec spec = {.name = name, .fn = noise_work, .ctx = c, .free_ctx = noise_free,
                         .result = noise_result, .keep = {keep1, keep2}};
    lab_job_submit(L, &spec);
}

static int sweep_net(const void *model, const noise_taskset *ts, const double *rho, int nrho,
                     int draws, uint64_t seed, const volatile int *cancel, double *acc,
                     double *sd, char *err, size_t errlen)
{
    return noise_sweep_net(model, ts, rho, nrho, draws, seed, cancel, acc, sd, err, errlen);
}

static void free_net(void *n)
{
    net_free(n);
    free(n);
}

/* lab.noise_sweep(net, seq [, {step=0.05, draws=5, seed=, upto=, scenario=, bn=}]) -> a job:
 * {rho, acc, sd, tolerance, reached}. */
static int l_noise_sweep(lua_State *L)
{
    static const char *const known[] = {"step", "draws", "seed", "upto", "scenario", "bn", "p",
                                        NULL};
    static const char *who = "lab.noise_sweep";
    lab_net *ln = lab_check_net(L, 1);
    lab_check_idle(L, &ln->busy, "lab.net");
    lab_tasks *ts = lab_check_tasks(L, 2);
    lab_dataset *ds = lab_tasks_dataset(L, 2);
    lab_check_options(L, 3, who, known);
    if (ds->test.dim != ln->n.sizes[0])
        return luaL_error(L, "%s: the net takes %d inputs, the data set has %d", who,
                          ln->n.sizes[0], ds->test.dim);
    int upto, p, bn_task;
    scenario sc;
    lab_read_eval_opts(L, 3, ts, who, &upto, &p, &bn_task, &sc);
    lab_noise_job *c = lab_noise_job_new(L, 3, who);
    net *copy = calloc(1, sizeof *copy); /* the sweep may run while the net trains on */
    if (!copy || net_clone(copy, &ln->n) < 0) {
        free(copy);
        noise_free(c);
        return luaL_error(L, "%s: out of memory", who);
    }
    lab_noise_job_submit(L, c, "lab.noise_sweep", "noise_sweep", copy, sweep_net, free_net,
                         (noise_taskset){&ds->test, &ts->t, upto, sc, bn_task}, 1, 2);
    return 1;
}

void lab_noise_open(lua_State *L, int lab)
{
    lab = lua_absindex(L, lab);
    lua_pushcfunction(L, l_noise_sweep);
    lua_setfield(L, lab, "noise_sweep");
}
