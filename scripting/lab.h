/* lab: the Lua 5.4 face of the engine. luaopen_lab builds the `lab` table: datasets,
 * task sequences, nets, trainers, evaluation and JSON results, as userdata with methods
 * and __tostring. Errors reach Lua as clear messages ("lab.net: ..."), never a crash. */
#ifndef MPCL_LAB_H
#define MPCL_LAB_H

#include <lua.h>

int luaopen_lab(lua_State *L);

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
/* Ask every queued or running job to stop; returns how many. */
int lab_jobs_cancel_all(lua_State *L);
/* Cancel all jobs, wait for them and stop the worker: call before lua_close. */
void lab_jobs_shutdown(lua_State *L);

/* Session records: the results worth checking that the lab produced since the last call
 * (lines such as "step task=1 average=0.987100 ..."), pushed as a list; the list is then
 * emptied. */
int lab_records_take(lua_State *L);

/* The default seed of objects not given one (lab.seed; a session's seed). */
void lab_set_default_seed(lua_State *L, long long seed);

/* Mark the state as a sandboxed replay: the lab's writers (net:save, lab.write_json) then
 * accept only relative paths below the current directory. */
void lab_set_sandboxed(lua_State *L, int on);

#endif
