/* layout: dividing the screen into panel rectangles.
 *
 * layout_split divides a length among parts by weight with minimum sizes:
 *   1. parts whose weighted share of the free space is below their minimum get exactly the
 *      minimum (repeated until every other part's share is at least its minimum);
 *   2. the other parts share what is left in proportion to their weights, rounded down;
 *   3. the cells left by rounding go one each to the parts with the largest rounded-off
 *      fractions, the first part first on ties; so the sizes always sum to the total and the
 *      same input always gives the same sizes.
 * A weight 0 part gets exactly its minimum (a fixed size: a one-line status bar is weight 0,
 * min 1). When every weight is 0, the space beyond the minimums goes to the last part.
 *
 * A layout is a tree: a leaf names a panel, a split stacks its children in rows (top to
 * bottom) or columns (left to right). Each node has a weight (its share of the parent's
 * length along the parent's direction) and a minimum size; a split's minimum is what its
 * children need. Presets are trees written with the macros, at file scope (the compound
 * literals they use are static there) or as automatic locals, not as static locals:
 *
 *   static const layout_node preset = LAYOUT_ROWS(1,
 *       LAYOUT_COLS(3, LAYOUT_LEAF("conductance", 2, 30, 10), LAYOUT_LEAF("switch", 1, 20, 6)),
 *       LAYOUT_LEAF("output", 1, 20, 3),
 *       LAYOUT_LEAF("repl", 0, 20, 1));
 */
#ifndef MPCL_LAYOUT_H
#define MPCL_LAYOUT_H

#include "canvas.h"

#define LAYOUT_MAX_CHILDREN 32 /* per split */

enum { LAYOUT_LEAF_NODE, LAYOUT_ROWS_NODE, LAYOUT_COLS_NODE };

typedef struct layout_node layout_node;
struct layout_node {
    int kind;           /* LAYOUT_LEAF_NODE, LAYOUT_ROWS_NODE, LAYOUT_COLS_NODE */
    const char *panel;  /* a leaf's panel name */
    int weight;         /* share of the parent's length, >= 0 */
    int min_w, min_h;   /* a leaf's minimum size (a split's own minimum, usually 0) */
    int n;              /* a split's children */
    const layout_node *child;
};

#define LAYOUT_LEAF(name, weight_, minw, minh)                                                 \
    {.kind = LAYOUT_LEAF_NODE, .panel = (name), .weight = (weight_), .min_w = (minw),         \
     .min_h = (minh)}
#define LAYOUT_SPLIT_(k, weight_, ...)                                                         \
    {.kind = (k), .weight = (weight_),                                                         \
     .n = (int)(sizeof((const layout_node[]){__VA_ARGS__}) / sizeof(layout_node)),             \
     .child = (const layout_node[]){__VA_ARGS__}}
#define LAYOUT_ROWS(weight_, ...) LAYOUT_SPLIT_(LAYOUT_ROWS_NODE, weight_, __VA_ARGS__)
#define LAYOUT_COLS(weight_, ...) LAYOUT_SPLIT_(LAYOUT_COLS_NODE, weight_, __VA_ARGS__)

/* A panel's place on the screen. */
typedef struct {
    const char *panel;
    rect r;
} layout_slot;

/* Divides total among n parts (weights >= 0, minimums >= 0) into size[n] as described above.
 * Returns 0, or -1 when the minimums add up to more than total (size[] then holds the
 * minimums) or an argument is invalid (n < 1, a negative weight or minimum). */
int layout_split(int total, int n, const int *weight, const int *min, int *size);

/* The rectangles of the parts of r cut into columns (cols != 0) or rows by layout_split;
 * returns as layout_split. */
int layout_split_rect(rect r, int cols, int n, const int *weight, const int *min, rect *out);

/* The smallest screen the layout fits in. */
void layout_min_size(const layout_node *root, int *w, int *h);
/* The number of leaves (panels) in the layout. */
int layout_count(const layout_node *root);

/* Every leaf's rectangle for the screen (usually {0, 0, COLS, LINES}), in depth-first order,
 * into out[cap]. Returns the number of leaves; LAYOUT_TOO_SMALL when the screen is smaller
 * than layout_min_size (say so instead of drawing); LAYOUT_INVALID when cap is too small, a
 * split has no or more than LAYOUT_MAX_CHILDREN children, or a weight or minimum is negative. */
#define LAYOUT_TOO_SMALL (-1)
#define LAYOUT_INVALID (-2)
int layout_compute(const layout_node *root, rect screen, layout_slot *out, int cap);

/* The rectangle of the named panel among n slots, NULL when absent. */
const rect *layout_find(const layout_slot *slots, int n, const char *panel);

#endif
