/* learner_baseline: a float continual-learning baseline (baselines.h: None, Joint, EWC, SI,
 * GEM, A-GEM) as a learner (learner.h). Its epochs are reported as train_progress (loss,
 * train and validation accuracy; no switch rates), with a tap on its float weights. */
#ifndef MPCL_LEARNER_BASELINE_H
#define MPCL_LEARNER_BASELINE_H

#include "baselines.h"
#include "learner.h"

typedef struct learner_baseline {
    const data_set *train, *test; /* borrowed */
    const data_tasks *tasks;      /* borrowed */
    bl_model m;
    bl_config cfg;
} learner_baseline;

extern const learner_class learner_baseline_class;

/* A fresh model of nlayers layers (sizes: nlayers + 1 entries) drawn from cfg->seed. */
int learner_baseline_new(learner *out, const data_set *train, const data_set *test,
                         const data_tasks *tasks, int nlayers, const int *sizes,
                         const bl_config *cfg, char *err, size_t errlen);
/* The baseline behind l, or NULL when l is another kind. */
learner_baseline *learner_baseline_of(const learner *l);

#endif
