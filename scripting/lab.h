/* lab: the Lua 5.4 face of the engine. luaopen_lab builds the `lab` table: datasets,
 * task sequences, nets, trainers, evaluation and JSON results, as userdata with methods
 * and __tostring. Errors reach Lua as clear messages ("lab.net: ..."), never a crash. */
#ifndef MPCL_LAB_H
#define MPCL_LAB_H

#include <lua.h>
#include <stddef.h>

struct net;
struct chip;
struct weight_tap;

int luaopen_lab(lua_State *L);

/* Sweeps (lab_sweep.c). main tells the lab the headless script being run (its path and
 * key=value arguments, for manifests and Slurm job files; NULL: none) and whether --slurm
 * was given. A sweep's worker (an MPI rank other than 0, a Slurm array task) ends the
 * script by raising a value for which lab_sweep_is_quiet_exit is true: not an error.
 * lab_sweeps_describe: a line about the running sweep for the job bar and its fraction
 * done; 0 when none runs. */
void lab_sweep_set_script(const char *script, int argc, char **argv, int slurm);
int lab_sweep_is_quiet_exit(lua_State *L, int idx);
int lab_sweeps_describe(char *buf, size_t len, double *fraction);

/* Cancellation of running engine work (training polls it between batches). The request
 * is async-signal-safe; each REPL chunk starts with the flag cleared. */
void lab_cancel_request(void);
void lab_cancel_clear(void);

/* Jobs (see lab_job.c). Background mode (the REPL's): long work returns a job handle at
 * once; otherwise (headless) it waits. lab_jobs_poll drains job events on the main thread:
 * progress callbacks run, finished jobs are reaped, and in background mode a line about
 * each finished job goes to the notifier. */
void lab_jobs_set_background(int on);
void lab_jobs_set_notify(void (*fn)(void *ud, const char *text), void *ud);
void lab_jobs_poll(lua_State *L);
/* A line about the running job ("job 3 exp:step 45% task 2 epoch 9/20 (18.1 s, ETA 22.0 s)")
 * into buf ("" when none runs); returns the number of jobs queued or running. */
int lab_jobs_describe(lua_State *L, char *buf, size_t len);
/* Ask every queued or running job to stop; returns how many. */
int lab_jobs_cancel_all(lua_State *L);
/* Cancel all jobs, wait for them and stop the worker: call before lua_close. */
void lab_jobs_shutdown(lua_State *L);

/* Tags of job_publish_values rows: an experiment step, values {t (0-based), average,
 * switch_rate, acc[0..t]}. */
#define LAB_TAG_STEP 1

/* Observers of what the lab produces, for the console's panels. Results arrive on the main
 * thread when the lab builds them; the weight tap runs on the worker thread after each
 * training epoch, with the net being trained (copy what you need, quickly). Any field may
 * be NULL. */
typedef struct lab_observer {
    void *ud;
    /* experiment step t (0-based): row t of the accuracy matrix, its weighted average */
    void (*step)(void *ud, int t, const double *acc, double average, float switch_rate);
    /* a step undone (back): tasks learnt now */
    void (*back)(void *ud, int learnt);
    /* an evaluation of tasks 0..upto-1; confusion (10 x 10) when it was asked for */
    void (*evaluate)(void *ud, int upto, const double *acc, double average,
                     const long (*confusion)[10]);
    /* a chip was programmed or fine-tuned, with the net now on it */
    void (*chip)(void *ud, struct chip *c, const struct net *n);
    /* a chip's LRS/HRS histogram: edges (bins + 1), counts of each */
    void (*histogram)(void *ud, const double *edges, const long *lrs, const long *hrs, int bins);
    /* a retention trace of one cell: reads of it, every `every`-th */
    void (*retention)(void *ud, const float *trace, int n, int every);
    /* worker thread: after each training epoch, the weights being trained (tap.h: an
     * experiment's or a baseline's, a trainer's net) */
    void (*weights)(void *ud, const struct weight_tap *t);
    /* main thread, while Lua waits for a job (every 20 ms or so): redraw, watch keys; it
     * must not run Lua */
    void (*idle)(void *ud);
} lab_observer;
void lab_set_observer(const lab_observer *o);
const lab_observer *lab_get_observer(void);

/* A line about the chips open now ("chip sim id 42", "link tcp://...: 7.8 ms, 0 retries,
 * 0 errors, 0 reconnects"), "" when none; returns how many. Main thread. */
int lab_chips_status(char *buf, size_t len);

/* Session records: the results worth checking that the lab produced since the last call
 * (lines such as "step task=1 average=0.987100 ..."), pushed as a list; the list is then
 * emptied. */
int lab_records_take(lua_State *L);

/* The default seed of objects not given one (lab.seed; a session's seed). */
void lab_set_default_seed(lua_State *L, long long seed);


#endif
