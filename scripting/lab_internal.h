/* What the lab's binding files share: the userdata types, their checkers, option readers
 * and small table setters. Not for use outside scripting/. */
#ifndef MPCL_LAB_INTERNAL_H
#define MPCL_LAB_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>

#include "data.h"
#include "job.h"
#include "net.h"
#include "noise.h"
#include "optim.h"
#include "train.h"

#define DATASET_MT "lab.dataset"
#define TASKS_MT "lab.tasks"
#define NET_MT "lab.net"
#define TRAINER_MT "lab.trainer"
#define EXPERIMENT_MT "lab.experiment"
#define JOB_MT "lab.job"
#define BASELINE_MT "lab.baseline"

/* Objects a job works on are "busy" from submission until the main thread has seen the
 * job finish: their methods refuse to run meanwhile (the worker owns their memory), except
 * those that queue more jobs, which run in order on the same worker. */
typedef struct lab_busy {
    int count;   /* jobs queued or running on the object */
    int job_id;  /* the last of them */
} lab_busy;

typedef struct lab_dataset {
    char name[16];
    data_input input;
    float threshold;
    data_set train, test;
} lab_dataset;

typedef struct lab_tasks {
    data_tasks t;
    double val_fraction;
    lua_Integer seed;
} lab_tasks;

typedef struct lab_net {
    net n;
    lab_busy busy;
} lab_net;

typedef struct lab_trainer {
    optim o;
    train_config cfg;
    int learnt; /* tasks learnt so far through this trainer */
    lab_busy busy;
} lab_trainer;

/* Training options read from a Lua table: rule, m, lr and the train_config. */
typedef struct lab_training {
    optim_rule rule;
    float m[MPCL_MAX_LAYERS];
    float lr;
    train_config cfg;
} lab_training;

/* Fields of an optional options table at stack index t; a wrong type raises
 * "<who>: option 'key' must be ...". */
int lab_opt_field(lua_State *L, int t, const char *key); /* pushes the value when present */
lua_Integer lab_opt_int(lua_State *L, int t, const char *key, lua_Integer def, const char *who);
/* The same for values that must fit in an int (sizes, counts, coordinates): a value beyond
 * +-INT_MAX raises instead of wrapping. */
int lab_opt_i32(lua_State *L, int t, const char *key, int def, const char *who);
/* The length of the list at i (luaL_len, __len included) as an int, range-checked. */
int lab_len_i32(lua_State *L, int i);
/* Argument arg as an int, the same way (luaL_checkinteger, then the range). */
int lab_check_i32(lua_State *L, int arg);
double lab_opt_num(lua_State *L, int t, const char *key, double def, const char *who);
const char *lab_opt_str(lua_State *L, int t, const char *key, const char *def,
                        const char *who);
int lab_opt_bool(lua_State *L, int t, const char *key, int def);
/* Raise an error for any key of the table at t that is not in known (NULL-terminated). */
void lab_check_options(lua_State *L, int t, const char *who, const char *const *known);
/* Read rule, m, lr, scenario, batch, epochs, patience, restore, reset, joint, seed, bn
 * and mask (defaults as lab.trainer documents) from the table at t. */
void lab_read_training(lua_State *L, int t, const char *who, int nlayers, lab_training *out);

/* The seed objects take when not given one (lab.seed). */
lua_Integer lab_default_seed(lua_State *L);


void lab_set_int(lua_State *L, const char *k, lua_Integer v);
void lab_set_num(lua_State *L, const char *k, double v);
/* Push a Lua list of n floats (doubles). */
void lab_push_floats(lua_State *L, const float *v, int n);
void lab_push_doubles(lua_State *L, const double *v, int n);

lab_dataset *lab_check_dataset(lua_State *L, int i);
lab_tasks *lab_check_tasks(lua_State *L, int i);
lab_net *lab_check_net(lua_State *L, int i);
/* The data set a task sequence at index i was split from. */
lab_dataset *lab_tasks_dataset(lua_State *L, int i);
/* The 0-based task index of the Lua argument at i (1-based, checked). */
int lab_tasks_index(lua_State *L, lab_tasks *ts, int i);

/* The flag that Ctrl-C sets to cancel running engine work. */
const volatile int *lab_cancel_ptr(void);

/* Register a metatable named mt with metamethods meta and, if given, a method table. */
void lab_new_class(lua_State *L, const char *mt, const luaL_Reg *meta, const luaL_Reg *methods);
/* The same for classes whose __index is a function (fields beside methods): the methods go
 * into the metatable's __methods, where __index, help() and completion find them. */
void lab_new_class_indexed(lua_State *L, const char *mt, const luaL_Reg *meta,
                           const luaL_Reg *methods);
/* In such a class's __index: push the method named k of the object at obj and return 1,
 * or return 0 with the stack unchanged when it has none (k is then a field). */
int lab_push_method(lua_State *L, int obj, const char *k);

/* ---- jobs (lab_job.c) ---- */
/* Builds a job's Lua result from its context, on the main thread, once it has finished
 * (state DONE or CANCELLED): pushes exactly one value. */
typedef void (*lab_job_result_fn)(lua_State *L, job *j, void *ctx);
typedef struct lab_job_spec {
    const char *name;             /* "exp:step" */
    job_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    lab_job_result_fn result;
    lab_busy *busy[3];            /* objects the job works on (NULL-terminated) */
    int keep[3];                  /* stack indices of their userdata, kept alive (0: end) */
    int progress_fn;              /* stack index of a Lua progress callback, or 0 */
} lab_job_spec;
/* Submit the job and push its handle. When the lab waits by default (headless) it returns
 * after the job has finished. */
void lab_job_submit(lua_State *L, const lab_job_spec *spec);
/* Publish a training epoch from a job's work (worker thread) with the job's fraction done
 * and a status line; lab_job_train_progress is the train_callback that does it per task. */
void lab_job_epoch(job *j, const train_progress *p, double fraction, const char *status);
int lab_job_train_progress(const train_progress *p, void *ud);
/* The id of an unfinished job that keeps the object at idx alive (works on it), or 0. */
int lab_job_holding(lua_State *L, int idx);
/* Raise "<who>: busy with job N (name); wait for it or cancel it" when b is busy. */
void lab_check_idle(lua_State *L, lab_busy *b, const char *who);
/* Drain job events: progress callbacks, finished jobs reaped. Main thread only. */
void lab_jobs_poll(lua_State *L);
/* Registers lab.job's class and lab.jobs / lab.background into the lab table at lab. */
void lab_job_open(lua_State *L, int lab);

/* The result of evaluating tasks 0..upto-1 (their accuracies and test counts; conf, 10 x 10,
 * when asked for): pushes {acc, counts, average, confusion}, records "<what> <split>
 * average=... acc=..." and tells the observer (the console's panels). */
void lab_push_evaluation(lua_State *L, const char *what, const char *split, const double *acc,
                         const int *counts, int upto, const long (*conf)[10]);

/* ---- session records (results worth checking, for journals) ---- */
/* Append one record line ("step task=1 average=0.987100 ..."). */
void lab_record(lua_State *L, const char *fmt, ...);

/* ---- noise sweeps as jobs (lab_noise.c), for nets and baselines ---- */
/* Sweeps a model (a copy the job owns) as noise_sweep_net does. */
typedef int (*lab_sweep_fn)(const void *model, const noise_taskset *ts, const double *rho,
                            int nrho, int draws, uint64_t seed, const volatile int *cancel,
                            double *acc, double *sd, char *err, size_t errlen);
typedef struct lab_noise_job lab_noise_job;
/* A sweep from the options step (0.05), draws (5) and seed (lab.seed) of the table at opts;
 * raises "<who>: ..." for bad ones. */
lab_noise_job *lab_noise_job_new(lua_State *L, int opts, const char *who);
/* Submit it as job `name` over `model` (freed with free_model with the job) and push the
 * job: its result is {rho, acc, sd, tolerance, reached}, recorded as "<record>
 * tolerance=... reached=...". keep1, keep2:
 * stack indices of values to keep alive (0: none). */
void lab_noise_job_submit(lua_State *L, lab_noise_job *c, const char *name,
                          const char *record, void *model,
                          lab_sweep_fn sweep, void (*free_model)(void *), noise_taskset ts,
                          int keep1, int keep2);

/* Each sets its functions (and classes) into the lab table at index lab: lab.chip
 * (lab_chip.c), lab.finetune (lab_finetune.c), lab.noise_sweep (lab_noise.c), lab.energy
 * and lab.ops (lab_energy.c). */
void lab_chip_open(lua_State *L, int lab);
void lab_finetune_open(lua_State *L, int lab);
void lab_noise_open(lua_State *L, int lab);
void lab_energy_open(lua_State *L, int lab);

/* lab.baseline (lab_baseline.c): registers the class and sets the function into the lab
 * table at index lab. lab_baseline_sizes: the layer sizes of the baseline at index i into
 * sizes, returning its layer count, or -1 when the value is not a baseline. */
void lab_baseline_open(lua_State *L, int lab);
int lab_baseline_sizes(lua_State *L, int i, int *sizes);

/* lab.sweep (lab_sweep.c): registers the class and the function into the lab table at lab
 * (and its poll with lab_jobs_also_poll: an async sweep moves on with the jobs);
 * lab_sweep_note_dataset remembers a data set loaded (its files' CRCs go into sweep
 * manifests). */
void lab_sweep_open(lua_State *L, int lab);
void lab_sweep_note_dataset(lua_State *L, const char *name);
/* Other background work that every lab_jobs_poll moves on, after the jobs (one: sweeps). */
void lab_jobs_also_poll(void (*poll)(lua_State *L));
/* A line for the user about background work (the console's output pane, else stderr). */
void lab_jobs_notify(const char *text);

/* lab.dataset, lab.tasks (lab_data.c) and lab.net, lab.load, lab.trainer, lab.evaluate
 * (lab_net.c): register the classes and set the functions into the lab table at index lab. */
void lab_data_open(lua_State *L, int lab);
void lab_net_open(lua_State *L, int lab);

/* lab.experiment: registers the class and sets the function into the lab table at index lab. */
void lab_experiment_open(lua_State *L, int lab);

#endif
