/* What the lab's binding files share: the userdata types, their checkers, option readers
 * and small table setters. Not for use outside scripting/. */
#ifndef MPCL_LAB_INTERNAL_H
#define MPCL_LAB_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>

#include "data.h"
#include "net.h"
#include "optim.h"
#include "train.h"

#define DATASET_MT "lab.dataset"
#define TASKS_MT "lab.tasks"
#define NET_MT "lab.net"
#define TRAINER_MT "lab.trainer"
#define EXPERIMENT_MT "lab.experiment"

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
} lab_net;

typedef struct lab_trainer {
    optim o;
    train_config cfg;
    int learnt; /* tasks learnt so far through this trainer */
} lab_trainer;

/* Training options read from a Lua table: rule, m, lr and the train_config. */
typedef struct lab_training {
    optim_rule rule;
    float m[NET_MAX_LAYERS];
    float lr;
    train_config cfg;
} lab_training;

/* Fields of an optional options table at stack index t; a wrong type raises
 * "<who>: option 'key' must be ...". */
int lab_opt_field(lua_State *L, int t, const char *key); /* pushes the value when present */
lua_Integer lab_opt_int(lua_State *L, int t, const char *key, lua_Integer def, const char *who);
double lab_opt_num(lua_State *L, int t, const char *key, double def, const char *who);
const char *lab_opt_str(lua_State *L, int t, const char *key, const char *def,
                        const char *who);
int lab_opt_bool(lua_State *L, int t, const char *key, int def);
/* Raise an error for any key of the table at t that is not in known (NULL-terminated). */
void lab_check_options(lua_State *L, int t, const char *who, const char *const *known);
/* Read rule, m, lr, scenario, batch, epochs, patience, restore, reset, joint, seed, bn
 * and mask (defaults as lab.trainer documents) from the table at t. */
void lab_read_training(lua_State *L, int t, const char *who, int nlayers, lab_training *out);

void lab_set_int(lua_State *L, const char *k, lua_Integer v);
void lab_set_num(lua_State *L, const char *k, double v);
/* Push a Lua list of n floats. */
void lab_push_floats(lua_State *L, const float *v, int n);

lab_dataset *lab_check_dataset(lua_State *L, int i);
lab_tasks *lab_check_tasks(lua_State *L, int i);
lab_net *lab_check_net(lua_State *L, int i);
/* The data set a task sequence at index i was split from. */
lab_dataset *lab_tasks_dataset(lua_State *L, int i);
/* The 0-based task index of the Lua argument at i (1-based, checked). */
int lab_tasks_index(lua_State *L, lab_tasks *ts, int i);

/* A Lua progress callback for train_task: fn is its stack index (0: none). */
typedef struct lab_progress_ctx {
    lua_State *L;
    int fn;
} lab_progress_ctx;
int lab_progress_to_lua(const train_progress *p, void *ud);
/* The flag that Ctrl-C sets to cancel running engine work. */
const volatile int *lab_cancel_ptr(void);

/* Register a metatable named mt with metamethods meta and, if given, a method table. */
void lab_new_class(lua_State *L, const char *mt, const luaL_Reg *meta, const luaL_Reg *methods);

/* lab.experiment: registers the class and sets the function into the lab table at index lab. */
void lab_experiment_open(lua_State *L, int lab);

#endif
