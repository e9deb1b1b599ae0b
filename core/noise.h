/* noise: conductance-noise injection, the robustness test of the paper (its Algorithm 2;
 * the formula was lost, this is the brief's rule).
 *
 * Mapping. A weight layer is stored as differential pairs (G+, G-) of conductances between
 * G_HRS and G_LRS. A binary weight +1 is (G_LRS, G_HRS) and -1 is (G_HRS, G_LRS); a float
 * weight w of a layer whose largest magnitude is wmax is, with dG = G_LRS - G_HRS,
 *   G+ = G_HRS + dG * max(w, 0) / wmax,   G- = G_HRS + dG * max(-w, 0) / wmax
 * so the full conductance swing dG stands for wmax (wmax = 1 for binary layers) and the
 * same rho is the same relative noise for both kinds of model.
 *
 * Noise. Each conductance becomes G + N(0, (rho * dG)^2), independently, with no clipping
 * (a conductance may go negative: the rule models relative noise, not a device). The
 * effective weight the array computes with is
 *   w_eff = ((G+ + n1) - (G- + n2)) / dG * wmax = w + wmax * rho * (z1 - z2)
 * with z1, z2 standard normal: w + N(0, 2 rho^2 wmax^2) in weight units. G_LRS and G_HRS
 * cancel out, so none of them is a parameter here.
 *
 * Which weights. The paper injects noise "to hidden-layer weights". We read that as the
 * weights as the array holds them: the binary weights sign(Wh) (the float hidden weights Wh
 * never reach the chip), of every weight layer, the first and the last included, since
 * every layer runs on the array. Batch norm and sign run digitally and stay exact.
 *
 * Evaluation. The forward pass runs on the noisy float weights: A = X W_eff^T (gemm.h:
 * the same bits on any CPU), Y = scale * A + shift (batch norm folded exactly as net_infer folds it, from the
 * running statistics or a task's bank), sign(Y) (sign(0) = +1) for hidden layers, Y the
 * logits; predictions as metrics_eval (task-/domain-/class-IL masks). For rho = 0 every
 * product is an exact integer in float (byte inputs enter as 0..255, their 1/255 folded into
 * the batch norm as net_infer does), so the logits equal net_infer's bit for bit and the
 * predictions metrics_eval's.
 *
 * Functions that can fail return -1 with one line in err[errlen] naming the problem, and
 * leave nothing allocated. Results depend only on the seed (not on the thread count). */
#ifndef MPCL_NOISE_H
#define MPCL_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "metrics.h"
#include "net.h"
#include "rng.h"

/* The accuracy at which the noise tolerance is read off (the paper's 90%). */
#define NOISE_TOLERANCE_LEVEL 0.9

/* Effective weights of a model as an array computes with them. */
typedef struct noise_weights {
    int nlayers;
    int sizes[MPCL_MAX_LAYERS + 1];
    float *w[MPCL_MAX_LAYERS];   /* (out, in) row-major, in weight units */
    float wmax[MPCL_MAX_LAYERS]; /* the weight a full swing G_LRS - G_HRS stands for */
} noise_weights;

/* The binary weights sign(Wh) of n (as inference uses them, from the packed bits), wmax 1.
 * w must be unallocated; free with noise_weights_free. */
int noise_weights_binary(noise_weights *w, const net *n, char *err, size_t errlen);
/* A float model: layers[l] holds (sizes[l+1], sizes[l]) weights, copied; wmax[l] = max |w|
 * of the layer (a layer of zeros or non-finite values is an error). */
int noise_weights_float(noise_weights *w, int nlayers, const int *sizes,
                        const float *const *layers, char *err, size_t errlen);
void noise_weights_free(noise_weights *w);

/* dst (unallocated) = clean with noise of strength rho >= 0 (a fraction: 0.36 is 36%):
 * w + wmax * rho * (z1 - z2) per weight. Draws exactly two normals from r per weight, in
 * layer, row, column order, whatever rho is. */
int noise_inject(noise_weights *dst, const noise_weights *clean, double rho, rng *r,
                 char *err, size_t errlen);
/* The two above in one: the noisy effective weights of net n. */
int noise_net_weights(noise_weights *dst, const net *n, double rho, rng *r, char *err,
                      size_t errlen);

/* net_infer with the weights w in place of n's binary weights (n gives the sizes and the
 * batch norm): logits of examples idx[0..count-1] of d into out (count, outputs); batch
 * norm from bank `bank` (-1, or a bank never stored: the running statistics). With n's
 * own binary weights (noise_weights_binary, or rho = 0) the logits equal net_infer's bit
 * for bit. Returns 0. */
int noise_infer(const net *n, const noise_weights *w, int bank, const data_set *d,
                const int *idx, int count, float *out, char *err, size_t errlen);

/* metrics_eval with the weights w in place of n's binary weights (n gives the sizes and
 * the batch norm): examples idx[0..count-1] of d as examples of task t, batch norm from bank
 * `bank` (-1, or a bank never stored: the running statistics). Returns the number predicted
 * right; adds to confusion[true][predicted] when non-NULL. */
int noise_eval(const net *n, const noise_weights *w, int bank, const data_set *d,
               const int *idx, int count, const data_task *t, scenario s,
               long confusion[10][10], char *err, size_t errlen);

/* What an accuracy is taken over: tasks 0..upto-1 of `tasks`, their test examples in
 * `test`, scenario scen; bn_task: each task's stored bank (as lab.evaluate and experiment
 * do), else the running statistics. */
typedef struct noise_taskset {
    const data_set *test;
    const data_tasks *tasks;
    int upto;
    scenario scen;
    int bn_task;
} noise_taskset;

/* The multitask average under weights w: sum_j right_j / sum_j n_j over the tasks (the
 * test-size weighted average of metrics_weighted_average) into *acc; each task's accuracy
 * into per_task[j] when per_task is non-NULL. */
int noise_accuracy(const net *n, const noise_weights *w, const noise_taskset *ts,
                   double *acc, double *per_task, char *err, size_t errlen);

/* The rho grid 0, step, 2 step, ... up to 1, with 1 added when step does not divide it.
 * Returns the number of points; writes them to rho when rho is non-NULL and cap is large
 * enough (else -1). step in (0, 1]. */
int noise_rho_grid(double step, double *rho, int cap, char *err, size_t errlen);

/* An evaluation of noisy weights for noise_sweep: the accuracy (a fraction) into *acc;
 * returns 0, or -1 with a message in err. */
typedef int (*noise_eval_fn)(void *ud, const noise_weights *noisy, double *acc, char *err,
                             size_t errlen);

/* For each rho[i] (i < nrho, rho >= 0), the mean accuracy acc[i] over `draws` noisy copies
 * of clean, and their standard deviation (n - 1 in the denominator, 0 for one draw) into
 * sd[i] when sd is non-NULL. Draw k uses the generator rng_seed_stream(seed, k) at every rho
 * (common random numbers: one noise pattern scaled by rho, so that the curve's shape is not
 * blurred by draw-to-draw spread). *cancel (may be NULL) is polled between evaluations;
 * when set, returns -1 with "cancelled" in err. */
int noise_sweep(const noise_weights *clean, const double *rho, int nrho, int draws,
                uint64_t seed, noise_eval_fn eval, void *ud, const volatile int *cancel,
                double *acc, double *sd, char *err, size_t errlen);
/* noise_sweep of net n's binary weights, each draw evaluated by noise_accuracy on ts. */
int noise_sweep_net(const net *n, const noise_taskset *ts, const double *rho, int nrho,
                    int draws, uint64_t seed, const volatile int *cancel, double *acc,
                    double *sd, char *err, size_t errlen);

/* The noise tolerance of a sweep (rho increasing, acc[i] the accuracy at rho[i]): the
 * smallest rho at which the accuracy falls to `level` or below (level in (0, 1), usually
 * NOISE_TOLERANCE_LEVEL). With i the first point where acc[i] <= level:
 *   i = 0:  rho[0];
 *   else:   linear interpolation between (rho[i-1], acc[i-1]) and (rho[i], acc[i]):
 *           rho[i-1] + (acc[i-1] - level) / (acc[i-1] - acc[i]) * (rho[i] - rho[i-1]).
 * Returns 0 with *tol set; 1 when the accuracy stays above level over the whole sweep
 * (*tol = rho[nrho-1], a lower bound); -1 for bad arguments. */
int noise_tolerance(const double *rho, const double *acc, int nrho, double level, double *tol,
                    char *err, size_t errlen);

#endif
