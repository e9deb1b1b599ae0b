/* metrics: continual-learning evaluation.
 *   task-IL   (SCEN_TASK):   10 outputs; the prediction is the arg-max over the task's
 *                            own classes (the task identity is given at test time).
 *   domain-IL (SCEN_DOMAIN): a two-output head shared by all tasks; the target is the
 *                            class's position in its task (first or second class).
 *   class-IL  (SCEN_CLASS):  10 outputs, arg-max over all ten.
 * The multitask average weights each task's accuracy by its test-set size. */
#ifndef MPCL_METRICS_H
#define MPCL_METRICS_H

#include <stdint.h>

#include "data.h"
#include "net.h"

typedef enum scenario { SCEN_TASK, SCEN_DOMAIN, SCEN_CLASS } scenario;

int scenario_parse(const char *s, scenario *out);
const char *scenario_name(scenario s);
/* Output units a net needs for the scenario (10 or 2). */
int scenario_outputs(scenario s);
/* The output index an example of class cls in task t is trained toward. */
int scenario_target(scenario s, const data_task *t, int cls);
/* Bit mask of the outputs that compete in the prediction for task t. */
uint16_t scenario_eval_mask(scenario s, const data_task *t);
/* The class an output index stands for, in task t. */
int scenario_class_of(scenario s, const data_task *t, int output);

/* Evaluate examples idx[0..count-1] of d as examples of task t. Batch norm uses bank
 * `bank` (-1: running statistics). Returns the number predicted right (-1 when out of
 * memory); when confusion is non-NULL, adds each example to confusion[true class][predicted
 * class]. metrics_eval_with on net_infer. */
int metrics_eval(const net *n, int bank, const data_set *d, const int *idx, int count,
                 const data_task *t, scenario s, long confusion[10][10]);

/* An evaluator's inference: the logits (count, nout) of examples idx[0..count-1] of d into
 * out. Returns 0, or -1 (out of memory). ctx is the evaluator's own (a net and its bank, a
 * baseline and its weights...). */
typedef int (*metrics_infer_fn)(void *ctx, const data_set *d, const int *idx, int count,
                                float *out);

/* The evaluation loop every evaluator shares: infer the examples idx[0..count-1] of d
 * through infer(ctx, ...) in chunks (bounding the logits held at once) and score each chunk
 * with metrics_score as examples of task t in scenario s. Returns the number predicted
 * right, or -1 when infer fails or out of memory (confusion then holds the chunks scored
 * before). nout: the outputs of a row of logits. */
int metrics_eval_with(metrics_infer_fn infer, void *ctx, int nout, const data_set *d,
                      const int *idx, int count, const data_task *t, scenario s,
                      long confusion[10][10]);

/* Score count rows of logits (count, nout) of examples idx of d as examples of task t:
 * the arg-max over the outputs that compete in scenario s, right when it is the example's
 * target; adds each example to confusion[true class][predicted class] when non-NULL.
 * Returns how many were right. Every evaluator (software, noisy, chip) scores through it. */
int metrics_score(const float *logits, int count, int nout, const data_set *d, const int *idx,
                  const data_task *t, scenario s, long confusion[10][10]);

/* sum(acc[j] * counts[j]) / sum(counts[j]) over j < k; 0 for k = 0. */
double metrics_weighted_average(const double *acc, const int *counts, int k);
/* Backward transfer after T tasks: mean over j < T-1 of acc[T-1][j] - acc[j][j]. */
double metrics_backward_transfer(const double acc[][DATA_MAX_TASKS], int T);
/* Number of positions where two packed sign arrays differ. */
long metrics_sign_flips(const uint64_t *a, const uint64_t *b, long words);

#endif
