/* net: the mixed-precision MLP of the brief. Every layer holds float hidden weights Wh
 * (plastic memory, trained) and uses binary weights Wb = sign(Wh) (stable memory) in the
 * forward pass; each layer is  A = X Wb^T,  Y = gamma * (A - mu) / sqrt(var + eps) + beta
 * (batch norm), and hidden layers output sign(Y) with the straight-through estimator
 * (gradient passes where |Y| <= 1). The last layer's Y are the logits.
 *
 * Shapes: weights (out, in) row-major; activations (batch, features) row-major.
 * sign(0) = +1 everywhere (weights and activations), matching the packed-bit convention. */
#ifndef MPCL_NET_H
#define MPCL_NET_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "kernels.h"
#include "layers.h"

typedef struct net_layer {
    int in, out, words_in;
    float *wh;            /* (out, in) hidden weights */
    float *wb;            /* (out, in) sign(wh) as +-1 floats, for the gradient GEMMs
                             (layer 0's is brought up to date only when used: see
                             net.wb0_stale) */
    uint64_t *wbits;      /* (out, words_in) packed sign(wh) */
    float *gamma, *beta;  /* (out) batch-norm affine parameters */
    float *mean, *var;    /* (out) running statistics used at inference */
    float *g_w, *g_gamma, *g_beta; /* gradients of the last backward pass */
} net_layer;

typedef struct net {
    int nlayers;
    int sizes[MPCL_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[nlayers] outputs */
    int binary_input;              /* inputs are 0/1 (bit-packed data sets) */
    int wb0_stale;                 /* layer 0's wb lags wh (the optimiser skips it: training
                                      reads layer 0's signs from wbits only) */
    float bn_eps, bn_momentum;
    net_layer layer[MPCL_MAX_LAYERS];
    /* Per-task banks of batch-norm running statistics (bn=task). */
    int nbanks;
    float *banks;
    /* Training workspace for up to cap_batch examples. */
    int cap_batch;
    float *act[MPCL_MAX_LAYERS + 1]; /* act[0] input; act[l+1] sign(Y) or logits */
    float *pre[MPCL_MAX_LAYERS];     /* A */
    float *xhat[MPCL_MAX_LAYERS];    /* normalised A */
    float *invstd[MPCL_MAX_LAYERS];  /* (out) */
    float *grad_a, *grad_b;         /* (cap_batch, max size) scratch */
    int32_t *acc0;                  /* (cap_batch, max size) integer sums of a product */
    uint64_t *act_bits;             /* (cap_batch, max words) packed +-1 activations */
    kern_bmat wt[MPCL_MAX_LAYERS];   /* hidden layers' signs for popcount products */
    kern_qmat q0;                   /* first-layer signs for byte-input products */
} net;

/* Create a net of nlayers layers; sizes has nlayers + 1 entries. Hidden weights are drawn
 * uniformly from +-init_scale / sqrt(in) with a generator seeded by seed. */
int net_create(net *n, int nlayers, const int *sizes, int binary_input, float init_scale,
               uint64_t seed, char *err, size_t errlen);
void net_free(net *n);
/* Deep copy (parameters, statistics and banks; no workspace). dst must be unallocated. */
int net_clone(net *dst, const net *src);
/* Copy parameters and statistics from src into dst of the same shape. */
void net_copy_params(net *dst, const net *src);
size_t net_param_count(const net *n);

/* Recompute wb and wbits from wh (after every optimiser step). */
void net_sync_binary(net *n);

/* Allocate the training workspace for batches of up to B examples: 0, or -1 out of memory.
 * Training reserves it first, so that the passes below never need to allocate (they grow it
 * themselves for a caller that did not; when they cannot, they fail as net_reserve does:
 * the workspace holds nothing, the parameters and statistics are untouched). */
int net_reserve(net *n, int B);
/* Training pass on a batch of B examples x (B, sizes[0]) with batch statistics; updates
 * the running statistics. x may be the buffer from net_input_buffer (no copy). 0, or -1
 * out of memory (net_reserve: cannot happen after net_reserve(n, B)). */
int net_forward_train(net *n, const float *x, int B);
/* The workspace's input buffer (B, sizes[0]), for gathering a batch in place; NULL out of
 * memory (net_reserve: cannot happen after net_reserve(n, B)). */
float *net_input_buffer(net *n, int B);
/* The same training pass for inputs that are bytes: x8 (B, sizes[0]) with x = x8 * unit
 * already in net_input_buffer (the backward pass needs it). The first layer's product is
 * then computed exactly in integers (byte x +-1), then scaled by unit. 0, or -1 out of
 * memory as net_forward_train. */
int net_forward_train_bytes(net *n, const uint8_t *x8, float unit, int B);
/* Softmax cross-entropy of the last forward pass and its backward pass into g_*.
 * target[b] is an output index; allowed[b] (NULL: all outputs) a bit mask of the outputs
 * that take part in example b's softmax. Returns the mean loss; *correct counts examples
 * whose arg-max over their allowed outputs is the target. */
float net_backward(net *n, const int *target, const uint16_t *allowed, int B, int *correct);

/* Inference on examples idx[0..count-1] of d: logits into out (count, sizes[nlayers]).
 * Batch norm uses the running statistics, or bank `bank` when bank >= 0 and stored.
 * Binary layers run as bit-packed popcount products. Uses up to kern_threads()
 * threads; results do not depend on the thread count. 0, or -1 out of memory (out then
 * holds nothing usable). */
int net_infer(const net *n, int bank, const data_set *d, const int *idx, int count,
              float *out);
/* Whether bank t has been stored. */
int net_bn_has(const net *n, int t);

/* Per-task batch-norm statistics: store the running statistics as bank t, or load bank t
 * back into the running statistics (a bank never stored loads nothing and returns -1). */
int net_bn_store(net *n, int t);
int net_bn_load(net *n, int t);

#endif
