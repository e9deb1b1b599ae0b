/* lab.job: handles on work running on the engine's worker thread (core/job).
 *   j = exp:step()        -- in the REPL: returns at once; headless: after the step
 *   j:progress(), j:wait(), j:cancel(), j:result(); j.average reads the result (waiting)
 * Lua runs on the main thread only: progress callbacks run here when events are drained,
 * and results become Lua values here once the main thread has seen the job finish.
 * The lab's classes are made here too (lab_new_class): their __gc refuses while a job
 * works on the object, and leaves it finalized, never freed under a job. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"
#include "lab_internal.h"
#include "sandbox.h"
#include "clock.h"

#define ACTIVE_KEY "mpcl.jobs" /* registry: id -> handle of each job not yet reaped */

typedef struct lab_job {
    job *j; /* NULL once reaped */
    int id;
    char name[48];
    job_state state; /* once reaped */
    job_progress progress;
    char err[256];
    lab_job_result_fn result;
    lab_busy *busy[3];
    int has_progress_fn;
} lab_job;

static int background;  /* lab.background(): submitters return at once */
static lab_observer observer;
static int polling;     /* lab_jobs_poll is running (callbacks may call back in) */
static int in_callback; /* a progress callback runs: its job's worker waits for it */
static uint64_t cursor; /* events drained so far */
static void (*notify_fn)(void *ud, const char *text);
static void *notify_ud;

void lab_jobs_set_notify(void (*fn)(void *ud, const char *text), void *ud)
{
    notify_fn = fn;
    notify_ud = ud;
}

void lab_jobs_set_background(int on) { background = on; }

void lab_jobs_notify(const char *text)
{
    if (notify_fn)
        notify_fn(notify_ud, text);
    else
        fputs(text, stderr);
}

static lab_job *check_job(lua_State *L, int i) { return luaL_checkudata(L, i, JOB_MT); }

void lab_check_idle(lua_State *L, lab_busy *b, const char *who)
{
    if (b->count > 0)
        lab_jobs_poll(L); /* perhaps it has finished and only needs reaping */
    if (b->count > 0)
        luaL_error(L, "%s: busy with job %d; wait for it (j:wait()) or cancel it", who,
                   b->job_id);
}

void lab_set_observer(const lab_observer *o)
{
    if (o)
        observer = *o;
    else
        memset(&observer, 0, sizeof observer);
}

const lab_observer *lab_get_observer(void) { return &observer; }

void lab_job_epoch(job *j, const train_progress *p, double fraction, const char *status)
{
    if (observer.weights && p->tap) /* the worker's own model: safe to read here */
        observer.weights(observer.ud, p->tap);
    job_publish(j, fraction, p, status);
}

int lab_job_train_progress(const train_progress *p, void *ud)
{
    char status[64];
    snprintf(status, sizeof status, "task %d epoch %d/%d", p->task + 1, p->epoch,
             p->max_epochs);
    lab_job_epoch(ud, p, (double)p->epoch / p->max_epochs, status);
    return 0; /* cancellation goes through j->cancel */
}

static double job_seconds(const job_progress *p)
{
    return p->ended > 0 ? p->ended - p->started : 0;
}

/* "43 ms", "12.3 s", "4 min 05 s" (static buffer: one use per expression). */
static const char *duration(double s)
{
    static char buf[32];
    if (s < 1)
        snprintf(buf, sizeof buf, "%.0f ms", 1000 * s);
    else if (s < 120)
        snprintf(buf, sizeof buf, "%.1f s", s);
    else
        snprintf(buf, sizeof buf, "%d min %02d s", (int)(s / 60), (int)s % 60);
    return buf;
}

/* The handle at idx has finished: cache its state and result, free the engine side. */
static void reap(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lab_job *lj = lua_touserdata(L, idx);
    job *j = lj->j;
    lj->state = job_get_state(j);
    job_get_progress(j, &lj->progress);
    snprintf(lj->err, sizeof lj->err, "%s", job_error(j));
    for (int i = 0; i < 3 && lj->busy[i]; i++)
        lj->busy[i]->count--;
    if (lj->state != JOB_FAILED && lj->result) {
        lj->result(L, j, job_context(j));
        lua_setiuservalue(L, idx, 3);
    }
    job_release(j);
    lj->j = NULL;
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_pushnil(L);
    lua_rawseti(L, -2, lj->id);
    lua_pop(L, 1);
    if (background && notify_fn) {
        char text[400];
        if (lj->state == JOB_FAILED)
            snprintf(text, sizeof text, "job %d %s failed: %s\n", lj->id, lj->name, lj->err);
        else
            snprintf(text, sizeof text, "job %d %s %s in %s\n", lj->id, lj->name,
                     job_state_name(lj->state), duration(job_seconds(&lj->progress)));
        notify_fn(notify_ud, text);
    }
}

static void push_train_progress(lua_State *L, const train_progress *p)
{
    lua_createtable(L, 0, 8);
    lab_set_int(L, "task", p->task + 1);
    lab_set_int(L, "epoch", p->epoch);
    lab_set_int(L, "epochs", p->max_epochs);
    lab_set_num(L, "loss", p->loss);
    lab_set_num(L, "train_acc", p->train_acc);
    lab_set_num(L, "val_acc", p->val_acc);
    lab_set_num(L, "switch_rate", p->switch_rate);
    lab_set_num(L, "switch_any", p->switch_any);
}

/* Run the handle's progress callback (handle at idx) on an epoch; "stop" cancels. */
static void call_progress(lua_State *L, int idx, const job_event *e)
{
    lab_job *lj = lua_touserdata(L, idx);
    lua_getiuservalue(L, idx, 2);
    push_train_progress(L, &e->train);
    /* Outside a chunk (the console polls between them) no hook counts instructions: a
     * sandboxed replay's callback gets the limit of a chunk of its own. */
    int armed = lua_gethook(L) == NULL;
    if (armed)
        sandbox_reset_count(L);
    in_callback++;
    int rc = lua_pcall(L, 1, 1, 0);
    in_callback--;
    if (armed)
        lua_sethook(L, NULL, 0, 0);
    if (rc != LUA_OK) {
        char text[400];
        snprintf(text, sizeof text, "job %d %s: progress callback failed, job cancelled: %s\n",
                 lj->id, lj->name, lua_tostring(L, -1));
        if (notify_fn)
            notify_fn(notify_ud, text);
        else
            fputs(text, stderr);
        job_cancel(lj->j);
    } else if (lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), "stop")) {
        job_cancel(lj->j);
    }
    lua_pop(L, 1);
}

static void (*also_poll)(lua_State *L); /* lab_jobs_also_poll */

void lab_jobs_poll(lua_State *L)
{
    if (polling)
        return;
    polling = 1;
    job_wake_clear();
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    int active = lua_gettop(L);
    job_event ev[64];
    int n;
    while ((n = job_events(&cursor, ev, 64, NULL)) > 0) {
        for (int i = 0; i < n; i++) {
            if (lua_rawgeti(L, active, ev[i].job_id) != LUA_TUSERDATA) {
                lua_pop(L, 1);
                continue;
            }
            lab_job *lj = lua_touserdata(L, -1);
            if (lj->j && ev[i].kind == JOB_EV_PROGRESS && ev[i].has_train && lj->has_progress_fn)
                call_progress(L, lua_gettop(L), &ev[i]);
            if (lj->j)
                job_ack(lj->j, ev[i].seq);
            lua_pop(L, 1);
        }
    }
    /* Reap every finished job (collect first: reaping edits the table). */
    int ids[64], nf = 0;
    lua_pushnil(L);
    while (lua_next(L, active) && nf < 64) {
        lab_job *lj = lua_touserdata(L, -1);
        if (lj && lj->j && job_finished(lj->j))
            ids[nf++] = lj->id;
        lua_pop(L, 1);
    }
    for (int i = 0; i < nf; i++) {
        lua_rawgeti(L, active, ids[i]);
        reap(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (also_poll)
        also_poll(L);
    polling = 0;
}

void lab_jobs_also_poll(void (*poll)(lua_State *L)) { also_poll = poll; }

/* Inside a progress callback the job that called it waits for it to return, and the
 * worker runs jobs one at a time: waiting there for an unfinished job would never end. */
static void check_may_wait(lua_State *L, const char *who)
{
    if (in_callback)
        luaL_error(L, "%s: cannot wait for a job inside a progress callback (the job that called "
                      "it waits for the callback); start it after the callback returns", who);
}

/* Wait for the handle at idx; Ctrl-C (the lab's cancel flag) cancels the job. */
static void wait_job(lua_State *L, int idx)
{
    lab_job *lj = lua_touserdata(L, idx);
    if (lj->j && !job_finished(lj->j))
        check_may_wait(L, lj->name);
    while (lj->j) {
        job_wait(lj->j, 20);
        if (*lab_cancel_ptr())
            job_cancel(lj->j);
        int was = polling;
        polling = 0; /* a callback that waits still drains events */
        lab_jobs_poll(L);
        polling = was;
        if (lj->j && job_finished(lj->j)) /* reaped by an outer poll later */
            reap(L, idx);
        if (lj->j && observer.idle)
            observer.idle(observer.ud);
    }
}

void lab_job_submit(lua_State *L, const lab_job_spec *spec)
{
    if (!background)
        check_may_wait(L, spec->name); /* before anything is queued */
    lab_job *lj = lua_newuserdatauv(L, sizeof *lj, 3);
    memset(lj, 0, sizeof *lj);
    int h = lua_gettop(L);
    luaL_setmetatable(L, JOB_MT);
    lua_createtable(L, 3, 0);
    for (int i = 0; i < 3 && spec->keep[i]; i++) {
        lua_pushvalue(L, spec->keep[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setiuservalue(L, h, 1);
    if (spec->progress_fn) {
        lua_pushvalue(L, spec->progress_fn);
        lua_setiuservalue(L, h, 2);
        lj->has_progress_fn = 1;
    }
    lj->j = job_submit(spec->name, spec->fn, spec->ctx, spec->free_ctx, spec->progress_fn != 0);
    if (!lj->j)
        luaL_error(L, "%s: cannot start the job (out of memory or threads)", spec->name);
    lj->id = lj->j->id;
    snprintf(lj->name, sizeof lj->name, "%s", spec->name);
    lj->result = spec->result;
    for (int i = 0; i < 3 && spec->busy[i]; i++) {
        lj->busy[i] = spec->busy[i];
        spec->busy[i]->count++;
        spec->busy[i]->job_id = lj->id;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_pushvalue(L, h);
    lua_rawseti(L, -2, lj->id);
    lua_pop(L, 1);
    if (!background)
        wait_job(L, h);
}

/* ---- the handle's methods ---------------------------------------------------------- */

/* Whether the value on top of the stack is target, or holds it through user values or the
 * tables in them (a job keeps a trainer, which keeps its task sequence, which keeps the data
 * set), down to depth levels. */
static int reaches(lua_State *L, int target, int depth)
{
    if (lua_rawequal(L, -1, target))
        return 1;
    if (depth == 0)
        return 0;
    int found = 0;
    if (lua_type(L, -1) == LUA_TUSERDATA) {
        for (int u = 1; !found; u++) {
            int t = lua_getiuservalue(L, -1, u);
            found = t != LUA_TNONE && reaches(L, target, depth - 1);
            lua_pop(L, 1);
            if (t == LUA_TNONE)
                break;
        }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (!found && lua_next(L, -2)) {
            found = reaches(L, target, depth - 1);
            lua_pop(L, found ? 2 : 1);
        }
    }
    return found;
}

int lab_job_holding(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    int id = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_pushnil(L);
    while (!id && lua_next(L, -2)) {
        if (lua_type(L, -1) == LUA_TUSERDATA) {
            lua_getiuservalue(L, -1, 1);
            if (reaches(L, idx, 4))
                id = ((lab_job *)lua_touserdata(L, -2))->id;
            lua_pop(L, 1);
        }
        lua_pop(L, id ? 2 : 1);
    }
    lua_pop(L, 1);
    return id;
}

static job_state state_of(const lab_job *lj) { return lj->j ? job_get_state(lj->j) : lj->state; }

/* Push the result, or raise the job's failure. */
static int push_result(lua_State *L, int idx)
{
    lab_job *lj = lua_touserdata(L, idx);
    if (lj->state == JOB_FAILED)
        return luaL_error(L, "job %d %s failed: %s", lj->id, lj->name, lj->err);
    lua_getiuservalue(L, idx, 3);
    return 1;
}

/* j:wait() -> the result (nil for a cancelled step); raises the job's error. */
static int l_job_wait(lua_State *L)
{
    check_job(L, 1);
    wait_job(L, 1);
    return push_result(L, 1);
}

/* j:cancel() -> true when the job was still queued or running. */
static int l_job_cancel(lua_State *L)
{
    lab_job *lj = check_job(L, 1);
    int live = lj->j && !job_finished(lj->j);
    if (live)
        job_cancel(lj->j);
    lua_pushboolean(L, live);
    return 1;
}

/* j:result() -> the result once finished, else nil and the state. */
static int l_job_result(lua_State *L)
{
    lab_job *lj = check_job(L, 1);
    lab_jobs_poll(L);
    if (lj->j) {
        lua_pushnil(L);
        lua_pushstring(L, job_state_name(job_get_state(lj->j)));
        return 2;
    }
    return push_result(L, 1);
}

/* j:progress() -> {state=, fraction=, status=, seconds=, eta=, and the last epoch's
 * task, epoch, epochs, loss, train_acc, val_acc, switch_rate}. */
static int l_job_progress(lua_State *L)
{
    lab_job *lj = check_job(L, 1);
    lab_jobs_poll(L);
    job_progress p = lj->progress;
    if (lj->j)
        job_get_progress(lj->j, &p);
    job_state st = state_of(lj);
    if (p.has_train)
        push_train_progress(L, &p.train);
    else
        lua_createtable(L, 0, 5);
    lua_pushstring(L, job_state_name(st));
    lua_setfield(L, -2, "state");
    lab_set_num(L, "fraction", p.fraction);
    lua_pushstring(L, p.status);
    lua_setfield(L, -2, "status");
    double secs = 0;
    if (p.started > 0) {
        secs = p.ended > 0 ? p.ended - p.started : clock_seconds() - p.started;
    }
    lab_set_num(L, "seconds", secs);
    if (st == JOB_RUNNING && p.fraction > 0)
        lab_set_num(L, "eta", secs * (1 - p.fraction) / p.fraction);
    return 1;
}

static int l_job_tostring(lua_State *L)
{
    lab_job *lj = check_job(L, 1);
    job_progress p = lj->progress;
    if (lj->j)
        job_get_progress(lj->j, &p);
    job_state st = state_of(lj);
    char buf[400];
    int n = snprintf(buf, sizeof buf, "job %d %s %s", lj->id, lj->name, job_state_name(st));
    if (st == JOB_RUNNING)
        snprintf(buf + n, sizeof buf - (size_t)n, " %.0f%% %s (%s)", 100 * p.fraction,
                 p.status, duration(clock_seconds() - p.started));
    else if (st == JOB_FAILED)
        snprintf(buf + n, sizeof buf - (size_t)n, ": %s", lj->err);
    else if (st != JOB_QUEUED)
        snprintf(buf + n, sizeof buf - (size_t)n, " in %s", duration(job_seconds(&p)));
    lua_pushstring(L, buf);
    return 1;
}

/* Methods, the fields id, name and state, then the result's fields (waiting for it). */
static int l_job_index(lua_State *L)
{
    lab_job *lj = check_job(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (lab_push_method(L, 1, k))
        return 1;
    if (!strcmp(k, "id")) {
        lua_pushinteger(L, lj->id);
    } else if (!strcmp(k, "name")) {
        lua_pushstring(L, lj->name);
    } else if (!strcmp(k, "state")) {
        lab_jobs_poll(L);
        lua_pushstring(L, job_state_name(state_of(lj)));
    } else {
        wait_job(L, 1);
        push_result(L, 1);
        if (lua_type(L, -1) != LUA_TTABLE)
            return luaL_error(L, "job %d %s: no result to read '%s' from (%s)", lj->id,
                              lj->name, k, job_state_name(lj->state));
        lua_getfield(L, -1, k);
    }
    return 1;
}

static int l_job_gc(lua_State *L)
{
    lab_job *lj = check_job(L, 1);
    if (lj->j) { /* only at lua_close: the registry no longer holds it */
        job_cancel(lj->j);
        job_wait(lj->j, -1);
        job_release(lj->j);
        lj->j = NULL;
    }
    return 0;
}

/* lab.background([on]) -> whether long work returns a job at once (the REPL's way) or
 * waits for it (headless scripts); sets it when on is given. */
static int l_background(lua_State *L)
{
    int was = background;
    if (!lua_isnoneornil(L, 1))
        background = lua_toboolean(L, 1);
    lua_pushboolean(L, was);
    return 1;
}

/* lab.jobs() -> the jobs queued or running, in order. */
static int l_jobs(lua_State *L)
{
    lab_jobs_poll(L);
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    int active = lua_gettop(L);
    lua_newtable(L);
    int ids[256], n = 0;
    lua_pushnil(L);
    while (lua_next(L, active) && n < 256) {
        ids[n++] = (int)lua_tointeger(L, -2);
        lua_pop(L, 1);
    }
    for (int a = 1; a < n; a++) /* insertion sort: a handful of jobs */
        for (int b = a; b > 0 && ids[b - 1] > ids[b]; b--) {
            int t = ids[b];
            ids[b] = ids[b - 1];
            ids[b - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, active, ids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* lab.cancel() -> how many jobs were asked to stop (all queued and running). */
static int l_cancel_all(lua_State *L)
{
    lab_jobs_poll(L);
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lab_job *lj = lua_touserdata(L, -1);
        if (lj->j && !job_finished(lj->j)) {
            job_cancel(lj->j);
            n++;
        }
        lua_pop(L, 1);
    }
    lua_pushinteger(L, n);
    return 1;
}

int lab_jobs_cancel_all(lua_State *L)
{
    lua_pushcfunction(L, l_cancel_all);
    lua_call(L, 0, 1);
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return n;
}

int lab_jobs_describe(lua_State *L, char *buf, size_t len)
{
    buf[0] = '\0';
    lua_getfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    int n = 0, queued = 0;
    lab_job *run = NULL;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lab_job *lj = lua_touserdata(L, -1);
        if (lj && lj->j) {
            n++;
            if (job_get_state(lj->j) == JOB_RUNNING)
                run = lj;
            else if (job_get_state(lj->j) == JOB_QUEUED)
                queued++;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!run)
        return queued;
    job_progress p;
    job_get_progress(run->j, &p);
    double secs = clock_seconds() - p.started;
    int k = snprintf(buf, len, "job %d %s %3.0f%% %s (%s", run->id, run->name, 100 * p.fraction,
                     p.status, duration(secs));
    if (p.fraction > 0.01 && k > 0 && (size_t)k < len)
        k += snprintf(buf + k, len - (size_t)k, ", ETA %s", duration(secs * (1 - p.fraction) / p.fraction));
    if (k > 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, ")%s", queued ? " +queued" : "");
    return n;
}

void lab_jobs_shutdown(lua_State *L)
{
    lab_jobs_cancel_all(L);
    int was = background;
    background = 0;
    while (job_any_active()) {
        job_wait_any(50);
        lab_jobs_poll(L);
    }
    lab_jobs_poll(L);
    background = was;
    job_system_stop();
}

void lab_job_open(lua_State *L, int lab)
{
    static const luaL_Reg meta[] = {{"__gc", l_job_gc},
                                    {"__tostring", l_job_tostring},
                                    {"__index", l_job_index},
                                    {NULL, NULL}};
    static const luaL_Reg methods[] = {{"wait", l_job_wait},
                                       {"cancel", l_job_cancel},
                                       {"result", l_job_result},
                                       {"progress", l_job_progress},
                                       {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class_indexed(L, JOB_MT, meta, methods);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, ACTIVE_KEY);
    lua_pushcfunction(L, l_background);
    lua_setfield(L, lab, "background");
    lua_pushcfunction(L, l_jobs);
    lua_setfield(L, lab, "jobs");
    lua_pushcfunction(L, l_cancel_all);
    lua_setfield(L, lab, "cancel");
}

/* ---- the lab's classes: an object a job works on is never finalized under it --------- */

/* What an object becomes once finalized: every use is a clear error, never freed memory. */
static int l_finalized_index(lua_State *L)
{
    return luaL_error(L, "lab: this object was finalized (its memory is gone); make a new one");
}

static void push_finalized_mt(lua_State *L)
{
    if (luaL_newmetatable(L, "lab.finalized")) {
        lua_pushcfunction(L, l_finalized_index);
        lua_setfield(L, -2, "__index");
        lua_pushstring(L, "lab.finalized");
        lua_setfield(L, -2, "__metatable");
    }
}

/* A class's __gc, guarded (upvalue 1 the class's own, 2 its name): it runs once, refuses
 * while a job works on the object (only a direct call can reach it then), and leaves the
 * object with the finalized metatable, so that a later call finds no freed memory. */
static int l_guarded_gc(lua_State *L)
{
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    if (!lua_getmetatable(L, 1))
        return 0;
    luaL_getmetatable(L, name);
    int ours = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!ours)
        return 0; /* already finalized */
    int id = lab_job_holding(L, 1);
    if (id)
        return luaL_error(L, "%s: cannot finalize it while job %d works on it", name, id);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 0);
    push_finalized_mt(L);
    lua_setmetatable(L, 1);
    return 0;
}

void lab_new_class(lua_State *L, const char *mt, const luaL_Reg *meta,
                      const luaL_Reg *methods)
{
    luaL_newmetatable(L, mt);
    luaL_setfuncs(L, meta, 0);
    if (lua_getfield(L, -1, "__gc") == LUA_TFUNCTION) {
        lua_pushstring(L, mt);
        lua_pushcclosure(L, l_guarded_gc, 2);
        lua_setfield(L, -2, "__gc");
    } else {
        lua_pop(L, 1);
    }
    /* getmetatable(obj) gives the class's name: Lua code cannot reach __gc and friends. */
    lua_pushstring(L, mt);
    lua_setfield(L, -2, "__metatable");
    if (methods) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

void lab_new_class_indexed(lua_State *L, const char *mt, const luaL_Reg *meta,
                           const luaL_Reg *methods)
{
    lab_new_class(L, mt, meta, NULL);
    luaL_getmetatable(L, mt);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__methods"); /* for __index, help and completion */
    lua_pop(L, 1);
}
