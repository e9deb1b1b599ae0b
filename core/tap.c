#include "tap.h"

#include <string.h>

void weight_tap_net(const net *n, weight_tap *t)
{
    memset(t, 0, sizeof *t);
    t->nlayers = n->nlayers;
    for (int l = 0; l < n->nlayers; l++) {
        t->sizes[l] = n->layer[l].in;
        t->sizes[l + 1] = n->layer[l].out;
        t->w[l] = n->layer[l].wh;
    }
}
