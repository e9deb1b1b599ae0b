/* The shared half of lab.experiment and lab.baseline (see lab_stepper.h): stepping as jobs,
 * undo, the fields, the collection. The kind of each class rides along as an upvalue of its
 * registered functions. */
#include "lab.h"
#include "lab_stepper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lab_stepper_kind *kind_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

lab_stepper *lab_stepper_check(lua_State *L, int i, const lab_stepper_kind *kind)
{
    return luaL_checkudata(L, i, kind->mt);
}

lab_stepper *lab_stepper_idle(lua_State *L, int i, const lab_stepper_kind *kind)
{
    lab_stepper *s = lab_stepper_check(L, i, kind);
    lab_check_idle(L, &s->busy, kind->who);
    return s;
}

lab_stepper *lab_stepper_new(lua_State *L, const lab_stepper_kind *kind, learner l,
                             const data_tasks *tasks, int ds_idx, int ts_idx)
{
    ds_idx = lua_absindex(L, ds_idx);
    ts_idx = lua_absindex(L, ts_idx);
    lab_stepper *s = lua_newuserdatauv(L, sizeof *s, 2);
    memset(s, 0, sizeof *s);
    experiment_init(&s->e, l, tasks);
    s->kind = kind;
    luaL_setmetatable(L, kind->mt);
    lua_pushvalue(L, ds_idx); /* the data and tasks live as long as the object */
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, ts_idx);
    lua_setiuservalue(L, -2, 2);
    return s;
}

static int l_stepper_gc(lua_State *L)
{
    lab_stepper *s = lua_touserdata(L, 1);
    if (s->busy.count > 0)
        job_system_stop(); /* only at lua_close: the worker must let go first */
    experiment_free(&s->e);
    return 0;
}

void lab_stepper_push_acc(lua_State *L, const lab_stepper *s, int t)
{
    lab_push_doubles(L, s->e.acc[t], t + 1);
}

/* ---- stepping (a job) ------------------------------------------------------------------ */

/* What a step or run job works on. */
typedef struct step_ctx {
    lab_stepper *s;
    int steps;       /* how many to take: 1, or all that are left */
    int first, done; /* the first step's index, steps completed */
    int total;       /* steps the job expects to take, for its fraction done */
    job *j;
} step_ctx;

/* Each epoch: the job's fraction over all the steps it takes, and the kind's status line. */
static int step_epoch(const train_progress *p, void *ud)
{
    step_ctx *c = ud;
    double f = (c->done + (double)p->epoch / p->max_epochs) / c->total;
    char status[80];
    c->s->kind->status(c->s, p, c->first + c->total, c->total > 1, status, sizeof status);
    lab_job_epoch(c->j, p, f, status);
    return 0; /* cancellation goes through the job's flag */
}

static int step_work(job *j, void *ctx, char *err, size_t errlen)
{
    step_ctx *c = ctx;
    experiment *e = &c->s->e;
    c->j = j;
    c->first = e->learnt;
    int left = e->tasks->ntasks - e->learnt;
    c->total = c->steps < left ? c->steps : left;
    if (c->total < 1)
        c->total = 1;
    while (c->done < c->steps && !j->cancel) {
        int rc = experiment_step(e, step_epoch, c, &j->cancel, err, errlen);
        if (rc < 0 && j->cancel)
            return 0; /* the cancelled step has been undone */
        if (rc < 0) {
            if (!strncmp(err, "experiment: ", 12))
                memmove(err, err + 12, strlen(err + 12) + 1);
            return -1;
        }
        if (rc > 0)
            break; /* nothing left */
        int t = e->learnt - 1; /* the row, for faces that show it as it comes */
        double row[JOB_MAX_VALUES] = {t, e->average[t], e->result[t].switch_rate};
        int n = 3;
        for (int k = 0; k <= t && n < JOB_MAX_VALUES; k++)
            row[n++] = e->acc[t][k];
        job_publish_values(j, LAB_TAG_STEP, row, n);
        c->done++;
    }
    return 0;
}

/* The last step's table (nil when no step was completed); a record for each step. */
static void step_result(lua_State *L, job *j, void *ctx)
{
    (void)j;
    step_ctx *c = ctx;
    const lab_stepper *s = c->s;
    const experiment *e = &s->e;
    for (int t = c->first; t < c->first + c->done; t++) {
        char acc[DATA_MAX_TASKS * 10] = "";
        size_t n = 0;
        for (int k = 0; k <= t; k++)
            n += (size_t)snprintf(acc + n, sizeof acc - n, "%s%.6f", k ? "," : "", e->acc[t][k]);
        s->kind->record(L, s, t, acc);
        const lab_observer *ob = lab_get_observer();
        if (ob->step)
            ob->step(ob->ud, t, e->acc[t], e->average[t], e->result[t].switch_rate);
    }
    if (c->done > 0)
        s->kind->push_step(L, s, c->first + c->done - 1);
    else
        lua_pushnil(L);
}

static int submit_steps(lua_State *L, int steps, const char *name)
{
    const lab_stepper_kind *kind = kind_of(L);
    lab_stepper *s = lab_stepper_check(L, 1, kind);
    int fn = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
        fn = 2;
    }
    if (s->busy.count == 0 && s->e.learnt >= s->e.tasks->ntasks) {
        lua_pushnil(L); /* every task is learnt */
        return 1;
    }
    step_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "%s: out of memory", kind->who);
    c->s = s;
    c->steps = steps;
    lab_job_spec spec = {.name = name, .fn = step_work, .ctx = c, .free_ctx = free,
                         .result = step_result, .busy = {&s->busy}, .keep = {1},
                         .progress_fn = fn};
    lab_job_submit(L, &spec);
    return 1;
}

/* obj:step([progress]) -> a job: learn the next task, evaluate all so far. Its result is the
 * step's table, or nil when every task was learnt already (or it was cancelled). */
static int l_stepper_step(lua_State *L) { return submit_steps(L, 1, kind_of(L)->step_job); }

/* obj:run([progress]) -> a job stepping until every task is learnt; its result is the last
 * step's table. */
static int l_stepper_run(lua_State *L)
{
    return submit_steps(L, DATA_MAX_TASKS, kind_of(L)->run_job);
}

/* obj:back() -> true, or false when there is no step to undo. */
static int l_stepper_back(lua_State *L)
{
    lab_stepper *s = lab_stepper_idle(L, 1, kind_of(L));
    int undone = experiment_back(&s->e) == 0;
    const lab_observer *ob = lab_get_observer();
    if (undone && ob->back)
        ob->back(ob->ud, s->e.learnt);
    lua_pushboolean(L, undone);
    return 1;
}

/* ---- fields ---------------------------------------------------------------------------- */

static int l_stepper_len(lua_State *L)
{
    lua_pushinteger(L, lab_stepper_check(L, 1, kind_of(L))->e.tasks->ntasks);
    return 1;
}

static int l_stepper_tostring(lua_State *L)
{
    const lab_stepper_kind *kind = kind_of(L);
    lab_stepper *s = lab_stepper_check(L, 1, kind);
    lab_jobs_poll(L);
    char buf[200];
    kind->describe(s, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* Fields (matrix, history, average, learnt, ntasks and the kind's) beside the methods. */
static int l_stepper_index(lua_State *L)
{
    const lab_stepper_kind *kind = kind_of(L);
    lab_stepper *s = lab_stepper_check(L, 1, kind);
    const experiment *e = &s->e;
    const char *k = luaL_checkstring(L, 2);
    if (lab_push_method(L, 1, k))
        return 1;
    if (!strcmp(k, "ntasks")) {
        lua_pushinteger(L, e->tasks->ntasks);
        return 1;
    }
    if (kind->field && kind->field(L, s, k))
        return 1;
    lab_check_idle(L, &s->busy, kind->who);
    if (!strcmp(k, "matrix")) {
        lua_createtable(L, e->learnt, 0);
        for (int i = 0; i < e->learnt; i++) {
            lab_stepper_push_acc(L, s, i);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (!strcmp(k, "history")) {
        lua_createtable(L, e->learnt, 0);
        for (int i = 0; i < e->learnt; i++) {
            kind->push_step(L, s, i);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (!strcmp(k, "average")) {
        lua_pushnumber(L, e->learnt ? e->average[e->learnt - 1] : 0.0);
    } else if (!strcmp(k, "learnt")) {
        lua_pushinteger(L, e->learnt);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

void lab_stepper_class(lua_State *L, int lab, const lab_stepper_kind *kind,
                       const luaL_Reg *own, const char *name, lua_CFunction ctor)
{
    static const luaL_Reg gc[] = {{"__gc", l_stepper_gc}, {NULL, NULL}};
    static const luaL_Reg none[] = {{NULL, NULL}};
    static const luaL_Reg meta[] = {{"__len", l_stepper_len},
                                    {"__tostring", l_stepper_tostring},
                                    {"__index", l_stepper_index},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"step", l_stepper_step},
                                       {"run", l_stepper_run},
                                       {"back", l_stepper_back},
                                       {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class_indexed(L, kind->mt, gc, own ? own : none);
    luaL_getmetatable(L, kind->mt);
    lua_pushlightuserdata(L, (void *)kind);
    luaL_setfuncs(L, meta, 1);
    lua_getfield(L, -1, "__methods");
    lua_pushlightuserdata(L, (void *)kind);
    luaL_setfuncs(L, methods, 1);
    lua_pop(L, 2);
    lua_pushcfunction(L, ctor);
    lua_setfield(L, lab, name);
}
