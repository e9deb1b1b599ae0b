/* A chip plugin built for another ABI version: the lab must refuse it by name. */
#include "chip.h"

static const chip_backend table = {.abi = CHIP_ABI_VERSION + 1, .name = "future"};

const chip_backend *mpcl_chip_backend(void) { return &table; }
