/* optim: Adam and the metaplastic update rules on a net's hidden weights.
 *
 * Every step first computes Adam's proposed change for each parameter,
 *   d = -lr * mhat / (sqrt(vhat) + eps)        (bias-corrected moments)
 * Batch-norm parameters always take d. A hidden weight w takes, by rule:
 *   none:       d (plain Adam).
 *   laborieux:  Laborieux et al. 2021 as written: when d points toward zero (sign(d) !=
 *               sign(w)), Adam's first moment is scaled by 1 - tanh^2(m * |w|).
 *   mpcl:       steps that grow |w| are free; a step toward zero (which may flip the
 *               binary weight) is capped, and the smaller of step and cap is taken:
 *                 |d| <- min(|d|, lr * (1 - tanh^2(m / OPTIM_MPCL_M_UNIT * |w|)))
 *               The hidden magnitude |w| is the weight's record of the net update steps it
 *               has taken (each step toward zero decrements it). m = 0 is plain Adam.
 * m is per layer (m[l]); see README "The formulas" for the calibration. */
#ifndef MPCL_OPTIM_H
#define MPCL_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

/* Calibration of the mpcl rule's m scale: m = 0.005 (the paper's best) gives the
 * consolidation strength k = 40 per unit of |w|. See README "The formulas". */
#define OPTIM_MPCL_M_UNIT 0.000125f

typedef enum optim_rule { RULE_NONE, RULE_MPCL, RULE_LABORIEUX } optim_rule;

typedef struct optim {
    optim_rule rule;
    float lr, beta1, beta2, eps;
    float m[MPCL_MAX_LAYERS];
    long t; /* steps since the last reset */
    int nlayers;
    size_t wlen[MPCL_MAX_LAYERS]; /* weights per layer */
    int outlen[MPCL_MAX_LAYERS];   /* units per layer */
    float *mw[MPCL_MAX_LAYERS], *vw[MPCL_MAX_LAYERS];   /* weight moments */
    float *mbn[MPCL_MAX_LAYERS], *vbn[MPCL_MAX_LAYERS]; /* gamma then beta moments */
} optim;

int optim_create(optim *o, const net *n, optim_rule rule, float lr);
void optim_free(optim *o);
/* Zero Adam's moments and step count (at a new task). */
void optim_reset_moments(optim *o);
/* Apply one step from the gradients of n's last backward pass and bring n's binary
 * weights (wb, wbits) up to date. */
void optim_step(optim *o, net *n);
/* Copy all state (moments, step) from src to dst of the same shape. */
void optim_copy(optim *dst, const optim *src);

/* sech^2(x) = 1 - tanh^2(x) as the rules compute it (exposed for tests). */
float optim_sech2(float x);

int optim_rule_parse(const char *s, optim_rule *out);
const char *optim_rule_name(optim_rule r);

#endif
