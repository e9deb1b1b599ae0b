/* lab_stepper: the one Lua binding of the stepper (core/experiment) behind lab.experiment
 * and lab.baseline. Both classes share a userdata (an experiment over a learner), the
 * methods step, run and back, the fields matrix, history, average, learnt and ntasks, #obj,
 * tostring and the collection; each kind adds its constructor, its own methods and fields,
 * its history table and its session record through a lab_stepper_kind. */
#ifndef MPCL_LAB_STEPPER_H
#define MPCL_LAB_STEPPER_H

#include "experiment.h"
#include "lab_internal.h"

typedef struct lab_stepper lab_stepper;

typedef struct lab_stepper_kind {
    const char *mt;                /* the class: EXPERIMENT_MT, BASELINE_MT */
    const char *who;               /* "lab.experiment": errors and busy messages */
    const char *step_job, *run_job; /* the jobs' names: "exp:step", "exp:run" */
    /* The job's status line for an epoch p of a job taking steps up to number last
     * (1-based); many: the job takes more than one step. */
    void (*status)(const lab_stepper *s, const train_progress *p, int last, int many,
                   char *buf, size_t len);
    /* Step t (0-based) as a table, and its session record (acc: the row, comma-separated). */
    void (*push_step)(lua_State *L, const lab_stepper *s, int t);
    void (*record)(lua_State *L, const lab_stepper *s, int t, const char *acc);
    /* tostring (s->busy says whether a job works on it: then only what the job does not
     * change). */
    void (*describe)(const lab_stepper *s, char *buf, size_t len);
    /* A field readable while a job works on the object: push it and return 1, or 0. */
    int (*field)(lua_State *L, const lab_stepper *s, const char *k);
} lab_stepper_kind;

struct lab_stepper {
    experiment e;
    lab_busy busy;
    const lab_stepper_kind *kind;
};

/* A new object of the kind on the stack stepping l (taken over) through tasks; the values
 * at ds_idx and ts_idx (the data set and the task sequence) live as long as it does. */
lab_stepper *lab_stepper_new(lua_State *L, const lab_stepper_kind *kind, learner l,
                             const data_tasks *tasks, int ds_idx, int ts_idx);
/* The object of the kind at i (raises otherwise); lab_stepper_idle also raises when a job
 * works on it. */
lab_stepper *lab_stepper_check(lua_State *L, int i, const lab_stepper_kind *kind);
lab_stepper *lab_stepper_idle(lua_State *L, int i, const lab_stepper_kind *kind);
/* Register the kind's class: the shared methods and metamethods, then `own` (may be NULL),
 * and set lab[name] = ctor in the lab table at index lab. */
void lab_stepper_class(lua_State *L, int lab, const lab_stepper_kind *kind,
                       const luaL_Reg *own, const char *name, lua_CFunction ctor);
/* The accuracy row of step t as a list. */
void lab_stepper_push_acc(lua_State *L, const lab_stepper *s, int t);

#endif
