/* tap: a read-only look at a model's layer weights, for the faces that draw them (the
 * console's map panel). Every learner hands one out in its own layout-free terms: layer l
 * has sizes[l] inputs and sizes[l + 1] outputs, its weights w[l] (outputs, inputs)
 * row-major. The pointers are the model's own: valid only while the model is not changed,
 * i.e. during the call that hands the tap out (a training epoch's progress callback). */
#ifndef MPCL_TAP_H
#define MPCL_TAP_H

#include "net.h"

typedef struct weight_tap {
    int nlayers;
    int sizes[MPCL_MAX_LAYERS + 1];
    const float *w[MPCL_MAX_LAYERS]; /* the MPCL net's hidden weights; a float model's own */
} weight_tap;

/* The hidden weights of an MPCL net (the binary weights are their signs). */
void weight_tap_net(const net *n, weight_tap *t);

#endif
