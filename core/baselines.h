/* baselines: the continual-learning baselines of the paper on a float network of the same
 * shape as the MPCL net (e.g. 192-256-256-10): None, Joint, EWC, SI, GEM and A-GEM.
 *
 * Model. A float MLP: each layer  Z = X W^T + b  (W (out, in) row-major, b (out)); hidden
 * layers output ReLU(Z), the last layer's Z are the logits; no batch norm. Inputs as
 * data_gather_float gives them: byte / 255 for float sets, 0/1 for binary sets. Weights and
 * biases are drawn from U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's nn.Linear default) with a
 * generator seeded by the model's seed. All parameters live in one flat vector theta:
 * layer 0's W, then its b, then layer 1's W, ... (bl_model.w_off, b_off), so that the
 * regularisers and projections below are plain vector operations.
 *
 * Loss. Softmax cross-entropy, mean over the batch. The target of an example of class c in
 * task t is scenario_target(scen, t, c): task-IL and class-IL use 10 outputs, domain-IL 2.
 * With mask_task (task-IL) the softmax of an example covers only its task's outputs
 * (scenario_eval_mask), as train.c does; otherwise all outputs. Predictions are the arg-max
 * over scenario_eval_mask (first of the largest), exactly as metrics_eval.
 *
 * Optimiser. Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected; moments reset at each
 * task by default) or plain SGD, on theta, with the gradient each method produces.
 *
 * Methods (t = the task being learnt, tasks learnt before it are k < t):
 *   None   fine-tuning: the task's loss only.
 *   Joint  each epoch runs over the union of the training sets of tasks 0..t (each example
 *          with its own task's target and mask), continuing from the current parameters.
 *   EWC    Kirkpatrick et al. 2017. After task k is learnt, the diagonal Fisher F_k of the
 *          loss at theta*_k is computed over the task's training examples (fisher_n of
 *          them, 0 = all), by default the TRUE Fisher: the expectation over the model's own
 *          predictive distribution (restricted to the example's allowed outputs, i.e. the
 *          distribution the loss uses), computed exactly rather than sampled:
 *            F_i = 1/N sum_x sum_y p(y|x) (d log p(y|x) / d theta_i)^2;
 *          the EMPIRICAL Fisher (y = the true target) on request. Penalty added to the loss:
 *            separate (default):  lambda/2 sum_k sum_i F_k,i (theta_i - theta*_k,i)^2
 *                                 (one quadratic term per learnt task, as in the paper);
 *            online (ewc_online): lambda/2 sum_i F~_i (theta_i - theta*_i)^2 with
 *                                 F~ <- gamma F~ + F_k and theta* <- theta*_k after each task
 *                                 (Schwarz et al. 2018).
 *          Per-example squared gradients come out of one GEMM per layer:
 *          sum_x (dz_x,o x_x,i)^2 = ((dZ o dZ)^T (X o X))_oi.
 *   SI     Zenke et al. 2017. While task k is learnt, each step adds to the path integral
 *            omega_i += -g_i * delta_i
 *          (g the gradient of the task's loss, without the penalty, as in Zenke's code; delta
 *          the step the optimiser actually took). After the task, with Delta_i the parameter's
 *          total change over the task,
 *            Omega_i += max(0, omega_i / (Delta_i^2 + epsilon)),   theta* <- theta,
 *          (the clamp at 0 keeps the penalty convex) and omega is reset. Penalty:  c sum_i Omega_i (theta_i - theta*_i)^2.
 *   GEM    Lopez-Paz & Ranzato 2017. An episodic memory of mem_per_task examples of each task
 *          (a seeded random choice of its training examples, stored when the task ends). At
 *          each step of task t > 0 the gradient g_k of the loss on task k's whole memory is
 *          computed for every k < t; when g . g_k < 0 for some k, g is replaced by the
 *          closest vector (Euclidean) that satisfies g~ . g_k >= 0 for every k, found through
 *          the dual QP  min_{v >= 0} 1/2 v^T (G G^T) v + (G g)^T v,  g~ = g + G^T v, solved
 *          exactly by an active-set method (Lawson-Hanson NNLS; see bl_gem_project).
 *   A-GEM  Chaudhry et al. 2019. At each step of task t > 0, one reference gradient g_ref on
 *          agem_ref examples drawn at random (seeded, without replacement) from the union of
 *          the memories of tasks < t (mem_per_task each); when g . g_ref < 0,
 *          g~ = g - (g . g_ref / g_ref . g_ref) g_ref.
 * With Adam the projected gradient is what Adam receives (the constraint holds for the
 * gradient, exactly for the step under SGD). The consolidation state (Fisher, Omega,
 * memory) is gathered at the end of each task for the method of that call: learn every task
 * of a sequence with the same method.
 *
 * Determinism. Every random draw comes from xoshiro256** streams of the config's and the
 * model's seeds. Matrix products are gemm.h's, each output one sum in a fixed order, and
 * the other sums (bias gradients, dot products) run serially in a fixed order, so results
 * are bit-identical for any thread count and on any CPU.
 *
 * Noise. bl_noise_weights exports the layer weights through noise_weights_float (each layer's
 * max |w| mapped onto the LRS-HRS window, see noise.h); the biases are digital (like batch
 * norm for the binary net) and are not perturbed. bl_noise_eval, bl_noise_accuracy and
 * bl_noise_sweep mirror noise_eval, noise_accuracy and noise_sweep_net.
 *
 * Functions that can fail return -1 and write one line into err[errlen] (no newline). */
#ifndef MPCL_BASELINES_H
#define MPCL_BASELINES_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "metrics.h"
#include "net.h"
#include "noise.h"

typedef enum bl_method { BL_NONE, BL_JOINT, BL_EWC, BL_SI, BL_GEM, BL_AGEM } bl_method;
typedef enum bl_optimizer { BL_ADAM, BL_SGD } bl_optimizer;
typedef enum bl_fisher { BL_FISHER_TRUE, BL_FISHER_EMPIRICAL } bl_fisher;

/* "none" | "joint" | "ewc" | "si" | "gem" | "agem" (also "a-gem"); -1 for anything else. */
int bl_method_parse(const char *s, bl_method *out);
const char *bl_method_name(bl_method m);

typedef struct bl_config {
    bl_method method;     /* BL_NONE */
    scenario scen;        /* SCEN_TASK */
    int mask_task;        /* 1: task-IL loss over the task's own outputs only */
    bl_optimizer opt;     /* BL_ADAM */
    float lr;             /* 0.001 (Adam); about 0.1 for SGD */
    int reset_optim;      /* 1: zero Adam's moments at the start of each task */
    int batch;            /* 100 (>= 1; a ragged last batch is dropped) */
    int epochs;           /* 5 per task */
    /* EWC */
    float ewc_lambda;     /* 1000 (with the mean true Fisher: best of 100 .. 1e6 on the
                             validation splits of 5-split-MNIST, task-IL) */
    int ewc_online;       /* 0: one penalty per task; 1: online EWC */
    float ewc_gamma;      /* 1.0: decay of the online Fisher */
    bl_fisher fisher;     /* BL_FISHER_TRUE */
    int fisher_n;         /* 0: all of the task's training examples, else the first
                             fisher_n in the split's (shuffled) order */
    /* SI */
    float si_c;           /* 0.5 (0.1 .. 0.5 best of 0.1 .. 50, as for lambda) */
    float si_eps;         /* 1e-3 (the damping xi of Zenke et al.) */
    /* GEM, A-GEM */
    int mem_per_task;     /* 256 examples a task */
    int agem_ref;         /* 256: A-GEM's reference batch */
    uint64_t seed;        /* 1: shuffles, memory choice, A-GEM's reference draws */
} bl_config;

void bl_config_default(bl_config *c);

typedef struct bl_model {
    int nlayers;
    int sizes[MPCL_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[nlayers] outputs */
    size_t nparams;
    float *theta;                  /* all parameters (see the layout above) */
    size_t w_off[MPCL_MAX_LAYERS], b_off[MPCL_MAX_LAYERS];
    /* Optimiser state. */
    float *adam_m, *adam_v;
    long step;
    /* Continual-learning state (allocated when first needed). */
    int nfisher;                   /* EWC: stored penalties (1 when online) */
    float *fisher[DATA_MAX_TASKS], *fisher_star[DATA_MAX_TASKS];
    float *si_omega, *si_big, *si_start, *si_star; /* omega, Omega, theta at the task's
                                                      start, theta* */
    int si_tasks;                  /* tasks consolidated into Omega */
    int *mem[DATA_MAX_TASKS];      /* GEM/A-GEM memory: training-set indices of task k */
    int nmem[DATA_MAX_TASKS];
    /* Training workspace (private). */
    int cap;
    float *act[MPCL_MAX_LAYERS + 1]; /* (cap, sizes[l]) inputs, hidden ReLU outputs, logits */
    float *dz, *dx, *sq_a, *sq_b;   /* (cap, max size) scratch */
    float *grad, *gtot, *gmem;      /* nparams; gmem DATA_MAX_TASKS * nparams (GEM) */
} bl_model;

/* A model of nlayers layers (sizes has nlayers + 1 entries, each > 0), parameters drawn
 * from a generator seeded by seed. m must be unallocated; free with bl_free. */
int bl_create(bl_model *m, int nlayers, const int *sizes, uint64_t seed, char *err,
              size_t errlen);
void bl_free(bl_model *m);
/* Deep copy of parameters, optimiser and continual-learning state (no workspace). dst must
 * be unallocated. Returns 0, or -1 when out of memory. */
int bl_clone(bl_model *dst, const bl_model *src);

typedef struct bl_progress {
    int task, epoch, max_epochs;   /* epoch counts from 1 */
    int batches_done, batches_total;
    float loss;                    /* mean task loss of the epoch */
    float penalty;                 /* mean EWC/SI penalty of the epoch (0 for others) */
    float train_acc, val_acc;      /* val_acc on the task's validation split (train_acc
                                      when it has none) */
    float projected;               /* GEM/A-GEM: share of this epoch's steps projected */
} bl_progress;

/* Called after each epoch; a nonzero return cancels the task. */
typedef int (*bl_callback)(const bl_progress *p, void *ud);

typedef struct bl_result {
    int epochs_run, cancelled;
    float loss, train_acc, val_acc; /* of the last epoch */
    long steps, projected;          /* optimiser steps; of them, projected (GEM/A-GEM) */
} bl_result;

/* Learn task t of `tasks` (examples from `train`) with cfg. *cancel (may be NULL) is polled
 * between batches; when set the task stops after the current batch with res->cancelled = 1,
 * and no consolidation state (Fisher, Omega, memory) is gathered for it. Returns 0, or -1
 * with a message in err (bad arguments, out of memory). */
int bl_learn(bl_model *m, const data_set *train, const data_tasks *tasks, int t,
             const bl_config *cfg, bl_callback cb, void *ud, const volatile int *cancel,
             bl_result *res, char *err, size_t errlen);

/* ---- evaluation ------------------------------------------------------------------------ */

/* Logits of examples idx[0..count-1] of d into out (count, outputs). Returns 0, or -1 when
 * out of memory. */
int bl_infer(const bl_model *m, const data_set *d, const int *idx, int count, float *out);
/* metrics_eval for the model: examples idx[0..count-1] of d as examples of task t, scenario
 * s. Returns the number predicted right (-1 when out of memory); adds each example to
 * confusion[true class][predicted class] when confusion is non-NULL. */
int bl_eval(const bl_model *m, const data_set *d, const int *idx, int count,
            const data_task *t, scenario s, long confusion[10][10]);
/* The test-size weighted multitask average over tasks 0..upto-1 (their test examples in
 * test) into *acc, and each task's accuracy into per_task[j] when non-NULL. */
int bl_accuracy(const bl_model *m, const data_set *test, const data_tasks *tasks, int upto,
                scenario s, double *acc, double *per_task, char *err, size_t errlen);

/* ---- weights and noise ----------------------------------------------------------------- */

/* Layer l's weights W (sizes[l+1], sizes[l]) row-major, inside theta; NULL for a bad l. */
const float *bl_layer_weights(const bl_model *m, int l);
/* The layer weights as noise_weights_float takes them (w unallocated; free with
 * noise_weights_free). */
int bl_noise_weights(noise_weights *w, const bl_model *m, char *err, size_t errlen);
/* bl_eval with the weights w (same sizes) in place of the model's (biases the model's). */
int bl_noise_eval(const bl_model *m, const noise_weights *w, const data_set *d, const int *idx,
                  int count, const data_task *t, scenario s, long confusion[10][10], char *err,
                  size_t errlen);
/* noise_accuracy for the model under weights w (ts->bn_task is ignored: no batch norm). */
int bl_noise_accuracy(const bl_model *m, const noise_weights *w, const noise_taskset *ts,
                      double *acc, double *per_task, char *err, size_t errlen);
/* noise_sweep_net for the model: accuracy under noise rho[i] (mean of `draws` draws, common
 * random numbers from seed) into acc[i], standard deviations into sd when non-NULL. */
int bl_noise_sweep(const bl_model *m, const noise_taskset *ts, const double *rho, int nrho,
                   int draws, uint64_t seed, const volatile int *cancel, double *acc,
                   double *sd, char *err, size_t errlen);

/* ---- the pieces, exposed for tests ------------------------------------------------------ */

/* The EWC / SI penalty as added to the loss (cfg's lambda or c included) at parameters
 * theta (nparams floats; NULL: the model's own), from the model's consolidation state.
 * 0 when no task has been consolidated. */
double bl_ewc_penalty(const bl_model *m, const bl_config *cfg, const float *theta);
double bl_si_penalty(const bl_model *m, const bl_config *cfg, const float *theta);

/* GEM's projection, in place: G holds k gradients g_k of n floats (row after row). When
 * g . g_k >= 0 for every k, g is left untouched and 0 is returned. Otherwise g becomes the
 * closest vector to g with g~ . g_k >= 0 for every k: the dual
 *   min_{v >= 0} 1/2 v^T Q v + p^T v,   Q = G G^T, p = G g  (in double)
 * is solved by Lawson-Hanson's active-set NNLS (finite; at most 3k + 10 outer iterations),
 * stopping when every multiplier's gradient -(Qv + p)_j <= tol = 1e-12 * max_j Q_jj^(1/2)
 * |g|. Since (G g~)_j = (p + Qv)_j, that is g~ . g_k >= -tol in exact arithmetic; g~ = g +
 * G^T v is formed in double and rounded once to float, which adds at most
 * 2^-24 sum_i |g~_i g_k,i| <= 6e-8 |g~| |g_k| to the violation (the tests allow 1e-6). Returns the number of active constraints (v_k > 0), or -1 for bad
 * arguments (k < 1, k > 64, n < 1). *dual (k doubles) receives v when dual is non-NULL. */
int bl_gem_project(float *g, const float *G, int k, size_t n, double *dual);
/* A-GEM's projection, in place: when g . g_ref < 0, g -= (g . g_ref / g_ref . g_ref) g_ref
 * (dots in double). Returns 1 when projected, else 0 (g untouched). */
int bl_agem_project(float *g, const float *gref, size_t n);

#endif
