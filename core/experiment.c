#include "experiment.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "error.h"

void experiment_init(experiment *e, learner l, const data_tasks *tasks)
{
    memset(e, 0, sizeof *e);
    e->l = l;
    e->tasks = tasks;
}

void experiment_free(experiment *e)
{
    for (int i = 0; i < DATA_MAX_TASKS; i++)
        if (e->before[i])
            e->l.cls->drop(e->before[i]);
    if (e->l.self)
        e->l.cls->free(e->l.self);
    memset(e, 0, sizeof *e);
}

/* Put the state before step t back (the step did not happen). */
static void undo(experiment *e, int t)
{
    e->l.cls->restore(e->l.self, e->before[t]);
    e->before[t] = NULL;
}

int experiment_step(experiment *e, train_callback cb, void *ud, const volatile int *cancel,
                    char *err, size_t errlen)
{
    const learner_class *cls = e->l.cls;
    int t = e->learnt;
    if (t >= e->tasks->ntasks)
        return 1;
    e->before[t] = cls->snapshot(e->l.self);
    if (!e->before[t])
        return err_set(err, errlen, "experiment: out of memory for the snapshot of step %d", t + 1);
    double t0 = clock_seconds();
    learner_result res;
    if (cls->learn(e->l.self, t, cb, ud, cancel, &res, err, errlen) < 0) {
        undo(e, t);
        return -1;
    }
    if (res.cancelled) {
        undo(e, t);
        return err_set(err, errlen, "experiment: step %d cancelled", t + 1);
    }
    if (cls->evaluate(e->l.self, t + 1, e->acc[t], &e->average[t], err, errlen) < 0) {
        undo(e, t);
        return -1;
    }
    e->result[t] = res;
    e->seconds[t] = clock_seconds() - t0;
    e->learnt = t + 1;
    return 0;
}

int experiment_back(experiment *e)
{
    if (e->learnt == 0)
        return -1;
    int t = e->learnt - 1;
    undo(e, t);
    memset(e->acc[t], 0, sizeof e->acc[t]);
    e->average[t] = 0;
    memset(&e->result[t], 0, sizeof e->result[t]);
    e->seconds[t] = 0;
    e->learnt = t;
    return 0;
}
