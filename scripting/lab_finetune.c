/* lab.finetune: in situ fine-tuning as a job (core/finetune.h): the chip's programmed net
 * (and the net passed in) have their last layer fine-tuned against the chip's arithmetic
 * and re-programmed.
 *   lab.finetune(chip, net, seq, {p = 16, epochs = 5}):wait()
 * The progress goes to the job's status line; the result is recorded in the session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finetune.h"
#include "lab.h"
#include "lab_chip.h"

typedef struct ft_ctx {
    lab_chip *lc;
    lab_net *ln;
    const data_set *train;
    const data_tasks *tasks;
    int learnt;
    finetune_config cfg;
    finetune_report rep;
    job *j;
} ft_ctx;

static int ft_progress(int epoch, int epochs, float loss, float acc, void *ud)
{
    ft_ctx *c = ud;
    char status[64];
    snprintf(status, sizeof status, "fine-tuning epoch %d/%d, loss %.3f", epoch, epochs, loss);
    (void)acc;
    job_publish(c->j, (double)epoch / epochs, NULL, status);
    return 0;
}

static int ft_work(job *j, void *ctx, char *err, size_t errlen)
{
    ft_ctx *c = ctx;
    c->j = j;
    if (finetune_run(&c->lc->c, &c->lc->n, c->train, c->tasks, c->learnt, &c->cfg, ft_progress,
                     c, &j->cancel, &c->rep, err, errlen) < 0)
        return j->cancel ? 0 : -1;
    return 0;
}

static void ft_result(lua_State *L, job *j, void *ctx)
{
    ft_ctx *c = ctx;
    if (job_get_state(j) == JOB_CANCELLED) {
        lua_pushnil(L);
        return;
    }
    /* The net passed in becomes the fine-tuned one. */
    net fresh;
    if (net_clone(&fresh, &c->lc->n) == 0) {
        net_free(&c->ln->n);
        c->ln->n = fresh;
    }
    const finetune_report *r = &c->rep;
    lua_createtable(L, 0, 8);
    lab_set_int(L, "examples", r->examples);
    lab_set_int(L, "epochs", r->epochs_run);
    lab_set_num(L, "loss", r->loss);
    lab_set_num(L, "train_acc", r->train_acc);
    lab_set_int(L, "flipped", r->flipped);
    lab_set_num(L, "mapping", r->mapping_after);
    lab_set_int(L, "pulses", r->reprogram.pulses);
    lab_set_int(L, "p", c->cfg.p);
    lab_record(L, "finetune p=%d examples=%d flipped=%ld loss=%.6f train_acc=%.6f", c->cfg.p,
               r->examples, r->flipped, (double)r->loss, (double)r->train_acc);
    const lab_observer *ob = lab_get_observer();
    if (ob->chip)
        ob->chip(ob->ud, &c->lc->c, &c->lc->n);
}

/* lab.finetune(chip, net, seq [, {p=16, epochs=5, lr=0.002, batch=100, replay=0, reads=1,
 * learnt=, scenario=, bn=, seed=}]) -> a job: the chip's programmed net (and `net`) have
 * their last layer fine-tuned against the chip and re-programmed. */
static int l_finetune(lua_State *L)
{
    static const char *const known[] = {"p", "epochs", "lr", "batch", "replay", "reads",
                                        "learnt", "scenario", "bn", "seed", "upto", NULL};
    static const char *who = "lab.finetune";
    lab_chip *lc = lab_check_chip(L, 1);
    lab_net *ln = lab_check_net(L, 2);
    lab_tasks *ts = lab_check_tasks(L, 3);
    lab_dataset *ds = lab_tasks_dataset(L, 3);
    lab_check_options(L, 4, who, known);
    if (!lc->has_net)
        return luaL_error(L, "%s: no net programmed on the chip (chip:program(net) first)", who);
    if (ln->n.nlayers != lc->n.nlayers ||
        memcmp(ln->n.sizes, lc->n.sizes, sizeof(int) * (size_t)(ln->n.nlayers + 1)))
        return luaL_error(L, "%s: the net is not the one programmed on the chip", who);
    finetune_config cfg;
    finetune_config_default(&cfg);
    int upto, bn_task;
    lab_read_eval_opts(L, 4, ts, who, &upto, &cfg.p, &bn_task, &cfg.scen);
    cfg.bn_task = bn_task;
    cfg.mask_task = cfg.scen == SCEN_TASK;
    cfg.epochs = lab_opt_i32(L, 4, "epochs", cfg.epochs, who);
    cfg.lr = (float)lab_opt_num(L, 4, "lr", cfg.lr, who);
    cfg.batch = lab_opt_i32(L, 4, "batch", cfg.batch, who);
    cfg.replay = lab_opt_i32(L, 4, "replay", 0, who);
    cfg.nreads = lab_opt_i32(L, 4, "reads", 1, who);
    cfg.seed = (uint64_t)lab_opt_int(L, 4, "seed", lab_default_seed(L), who);
    int learnt = lab_opt_i32(L, 4, "learnt", lc->learnt ? lc->learnt : upto, who);
    if (learnt < 1 || learnt > ts->t.ntasks)
        return luaL_error(L, "%s: learnt must be 1-%d", who, ts->t.ntasks);
    ft_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "%s: out of memory", who);
    c->cfg = cfg;
    c->learnt = learnt;
    c->lc = lc;
    c->ln = ln;
    c->train = &ds->train;
    c->tasks = &ts->t;
    lab_job_spec spec = {.name = "lab.finetune", .fn = ft_work, .ctx = c, .free_ctx = free,
                         .result = ft_result, .busy = {&lc->busy, &ln->busy},
                         .keep = {1, 2, 3}};
    lab_job_submit(L, &spec);
    return 1;
}

void lab_finetune_open(lua_State *L, int lab)
{
    lab = lua_absindex(L, lab);
    lua_pushcfunction(L, l_finetune);
    lua_setfield(L, lab, "finetune");
}
