/* layers: the most layers a net of the lab has. One constant sizes every array counted in
 * layers: nets, optimisers, float baselines, a chip's placement, noise weights, the console's
 * map. It is part of the chip ABI (chip.h's placement arrays): changing it is a new
 * CHIP_ABI_VERSION. */
#ifndef MPCL_LAYERS_H
#define MPCL_LAYERS_H

#define MPCL_MAX_LAYERS 8

#endif
