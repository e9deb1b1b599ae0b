/* optim: Adam and the metaplastic update rules on a net's hidden weights.
 *
 * Every step first computes Adam's proposed change for each parameter,
 *   d = -lr * mhat / (sqrt(vhat) + eps)        (bias-corrected moments)
 * Batch-norm parameters always take d. A hidden weight w takes, by rule:
 *   none:       d (plain Adam).
 *   laborieux:  Laborieux et al. 2021 as written: when d points toward zero (sign(d) !=
 *               sign(w)), Adam's first moment is scaled by 1 - tanh^2(m * |w|).
 *   mpcl:       steps that grow |w| are free; a step toward zero is capped,
 *                 |d| <- min(|d|, lr * exp(-m * n_w)),
 *               where n_w is the weight's consolidation count: +1 for every step that grew
 *               |w|, -1 (floored at 0) for every step toward zero ("the number of update
 *               steps is decremented"). m = 0 is plain Adam.
 * m is per layer (m[l]); see README "The formulas" for the calibration. */
#ifndef MPCL_OPTIM_H
#define MPCL_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

typedef enum optim_rule { RULE_NONE, RULE_MPCL, RULE_LABORIEUX } optim_rule;

typedef struct optim {
    optim_rule rule;
    float lr, beta1, beta2, eps;
    float m[NET_MAX_LAYERS];
    long t; /* steps since the last reset */
    int nlayers;
    size_t wlen[NET_MAX_LAYERS]; /* weights per layer */
    int outlen[NET_MAX_LAYERS];   /* units per layer */
    float *mw[NET_MAX_LAYERS], *vw[NET_MAX_LAYERS];   /* weight moments */
    float *mbn[NET_MAX_LAYERS], *vbn[NET_MAX_LAYERS]; /* gamma then beta moments */
    uint16_t *count[NET_MAX_LAYERS];                  /* mpcl consolidation counts */
} optim;

int optim_create(optim *o, const net *n, optim_rule rule, float lr);
void optim_free(optim *o);
/* Zero Adam's moments and step count (a new task); consolidation counts are kept. */
void optim_reset_moments(optim *o);
/* Apply one step from the gradients of n's last backward pass, then sync n's binary
 * weights. */
void optim_step(optim *o, net *n);
/* Copy all state (moments, counts, step) from src to dst of the same shape. */
void optim_copy(optim *dst, const optim *src);

int optim_rule_parse(const char *s, optim_rule *out);
const char *optim_rule_name(optim_rule r);

#endif
