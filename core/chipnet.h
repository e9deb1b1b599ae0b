/* chipnet: a trained net on a chip (core/chip.h). Its weight layers are placed on the
 * array and programmed as differential pairs (+1: positive cell LRS, negative cell HRS;
 * -1 the other way round); inference runs every layer's product on the chip with
 * parallelism p, and batch norm and sign digitally on the host, as on the paper's board:
 *   A_l = chip VMM of layer l (Ints summed over the groups of p rows),
 *   Y_l = gamma (A_l - mean) / sqrt(var + eps) + beta,  next input sign(Y_l) (sign(0) = +1),
 * the last layer's Y are the logits. The chip takes -1/0/+1 inputs: the net's inputs must
 * be binary (0/1: a 0 leaves its row undriven). */
#ifndef MPCL_CHIPNET_H
#define MPCL_CHIPNET_H

#include "chip.h"
#include "data.h"
#include "metrics.h"
#include "net.h"

typedef struct chipnet_report {
    chip_report layer[MPCL_MAX_LAYERS]; /* both arrays' write-verify */
    long cells, pulses, failed;
} chipnet_report;

/* Place the net's layers on the chip (shelf packing). */
int chipnet_place(chip *c, const net *n, char *err, size_t errlen);
/* Program layers first..nlayers-1 (placed already) from the signs of their hidden weights:
 * the positive then the negative array, write-verify with v (NULL: defaults). */
int chipnet_program(chip *c, const net *n, int first, const chip_verify *v, chipnet_report *rep,
                    char *err, size_t errlen);
/* Weight mapping accuracy: each pair read once; a weight is right when sign(G+ - G-) is
 * its sign. per_layer (may be NULL) and all (the whole net, weighted by weights). */
int chipnet_mapping(chip *c, const net *n, double *per_layer, double *all, char *err,
                    size_t errlen);
/* Logits (count, outputs) of examples idx of d, on the chip with parallelism p. Batch norm
 * of bank `bank` when it is stored (else the running statistics). cancel may be NULL. */
int chipnet_infer(chip *c, const net *n, int bank, int p, const data_set *d, const int *idx,
                  int count, float *logits, const volatile int *cancel, char *err,
                  size_t errlen);
/* As metrics_eval, on the chip: *right predicted right; confusion may be NULL. */
int chipnet_eval(chip *c, const net *n, int bank, int p, const data_set *d, const int *idx,
                 int count, const data_task *t, scenario s, long confusion[10][10], int *right,
                 const volatile int *cancel, char *err, size_t errlen);

/* The inputs of layer l for examples idx as -1/0/+1 bytes, (count, sizes[l]), computed
 * digitally from the outputs of the chip's layers before l (l = 0: the data's 0/1). */
int chipnet_layer_inputs(chip *c, const net *n, int bank, int p, int l, const data_set *d,
                         const int *idx, int count, int8_t *x, const volatile int *cancel,
                         char *err, size_t errlen);

#endif
