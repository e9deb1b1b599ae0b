/* What the hardware-side bindings share (lab_chip.c, lab_finetune.c, lab_noise.c,
 * lab_energy.c): the chip userdata, its checkers, the evaluation options of chip inference,
 * fine-tuning and noise sweeps, and their registration. Not for use outside scripting/. */
#ifndef MPCL_LAB_CHIP_H
#define MPCL_LAB_CHIP_H

#include "chip.h"
#include "chipmeter.h"
#include "lab_internal.h"
#include "metrics.h"
#include "net.h"

#define CHIP_MT "lab.chip"

/* A chip keeps a copy of the net programmed into it: inference uses that copy, fine-tuning
 * changes it (and the net passed in). */
typedef struct lab_chip {
    chip c;
    int open;
    char health[400]; /* the link's last health line (kept while a job uses the chip) */
    int has_net;  /* net holds the programmed net */
    net n;
    int learnt;   /* tasks the programmed net had learnt, for fine-tuning (0: all) */
    lab_busy busy;
} lab_chip;

/* The open chip at stack index i ("lab.chip: the chip is closed" otherwise); idle: and no
 * job is using it. */
lab_chip *lab_check_chip(lua_State *L, int i);
lab_chip *lab_idle_chip(lua_State *L, int i);

/* Common options of chip inference, fine-tuning and noise sweeps in the table at t:
 * scenario (task), upto (all tasks of ts), p (16, 1-512), bn (task under the task scenario,
 * else shared); raises "<who>: ..." for bad ones. */
void lab_read_eval_opts(lua_State *L, int t, lab_tasks *ts, const char *who, int *upto,
                        int *p, int *bn_task, scenario *sc);

/* The programmed net's LRS/HRS histogram (chipmeter_histogram_measure) into h, shown on the
 * console's histogram panel; raises "chip:histogram: ..." when it fails. */
void lab_chip_histogram(lua_State *L, lab_chip *lc, int layer, int bins, double gmax,
                        chipmeter_histogram *h);

#endif
