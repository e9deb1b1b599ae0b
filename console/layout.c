/* layout: weighted splits with minimums, and layout trees. See layout.h. */
#include "layout.h"

#include <string.h>

/* Pins (to their minimum) the unpinned parts whose share of the free space is below it;
 * returns how many were pinned this round. Shares are compared in integers:
 * free * w / W < min  <=>  free * w < min * W. */
static int pin_round(int total, int n, const int *weight, const int *min, char *pinned)
{
    long long free_ = total, wsum = 0;
    for (int i = 0; i < n; i++) {
        if (pinned[i]) free_ -= min[i];
        else wsum += weight[i];
    }
    int count = 0;
    for (int i = 0; i < n; i++)
        if (!pinned[i] && (wsum == 0 || free_ * weight[i] < (long long)min[i] * wsum))
            pinned[i] = 1, count++;
    return count;
}

/* Gives the rounding remainder to the parts with the largest fractions, first on ties. */
static void spread_remainder(int n, const char *pinned, const long long *frac, int left,
                             int *size)
{
    char given[LAYOUT_MAX_CHILDREN] = {0};
    for (; left > 0; left--) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!pinned[i] && !given[i] && (best < 0 || frac[i] > frac[best])) best = i;
        if (best < 0) break;
        given[best] = 1;
        size[best]++;
    }
}

static int check_parts(int n, const int *weight, const int *min)
{
    if (n < 1 || n > LAYOUT_MAX_CHILDREN) return -1;
    for (int i = 0; i < n; i++)
        if (weight[i] < 0 || min[i] < 0) return -1;
    return 0;
}

int layout_split(int total, int n, const int *weight, const int *min, int *size)
{
    if (check_parts(n, weight, min)) return -1;
    long long need = 0;
    for (int i = 0; i < n; i++) need += min[i], size[i] = min[i];
    if (need > total) return -1;
    char pinned[LAYOUT_MAX_CHILDREN] = {0};
    while (pin_round(total, n, weight, min, pinned)) {}
    long long free_ = total, wsum = 0;
    for (int i = 0; i < n; i++) {
        if (pinned[i]) free_ -= min[i];
        else wsum += weight[i];
    }
    if (wsum == 0) { /* everything pinned: the rest to the last part */
        size[n - 1] += (int)free_;
        return 0;
    }
    long long frac[LAYOUT_MAX_CHILDREN] = {0}, used = 0;
    for (int i = 0; i < n; i++) {
        if (pinned[i]) continue;
        size[i] = (int)(free_ * weight[i] / wsum);
        frac[i] = free_ * weight[i] % wsum;
        used += size[i];
    }
    spread_remainder(n, pinned, frac, (int)(free_ - used), size);
    return 0;
}

int layout_split_rect(rect r, int cols, int n, const int *weight, const int *min, rect *out)
{
    int size[LAYOUT_MAX_CHILDREN];
    int rc = layout_split(cols ? r.w : r.h, n, weight, min, size);
    if (rc && check_parts(n, weight, min)) return -1;
    int at = cols ? r.x : r.y;
    for (int i = 0; i < n; i++) {
        out[i] = cols ? RECT(at, r.y, size[i], r.h) : RECT(r.x, at, r.w, size[i]);
        at += size[i];
    }
    return rc;
}

/* ---- Trees. --------------------------------------------------------------------------- */

void layout_min_size(const layout_node *nd, int *w, int *h)
{
    int sw = 0, sh = 0;
    if (nd->kind != LAYOUT_LEAF_NODE)
        for (int i = 0; i < nd->n; i++) {
            int cw, ch;
            layout_min_size(&nd->child[i], &cw, &ch);
            if (nd->kind == LAYOUT_ROWS_NODE) sh += ch, sw = cw > sw ? cw : sw;
            else sw += cw, sh = ch > sh ? ch : sh;
        }
    *w = nd->min_w > sw ? nd->min_w : sw;
    *h = nd->min_h > sh ? nd->min_h : sh;
}

int layout_count(const layout_node *nd)
{
    if (nd->kind == LAYOUT_LEAF_NODE) return 1;
    int n = 0;
    for (int i = 0; i < nd->n; i++) n += layout_count(&nd->child[i]);
    return n;
}

static int valid(const layout_node *nd)
{
    if (nd->weight < 0 || nd->min_w < 0 || nd->min_h < 0) return 0;
    if (nd->kind == LAYOUT_LEAF_NODE) return 1;
    if (nd->kind != LAYOUT_ROWS_NODE && nd->kind != LAYOUT_COLS_NODE) return 0;
    if (nd->n < 1 || nd->n > LAYOUT_MAX_CHILDREN || !nd->child) return 0;
    for (int i = 0; i < nd->n; i++)
        if (!valid(&nd->child[i])) return 0;
    return 1;
}

/* Places node nd in r and its leaves from out[*k] on (the tree was checked to fit). */
static void place(const layout_node *nd, rect r, layout_slot *out, int *k)
{
    if (nd->kind == LAYOUT_LEAF_NODE) {
        out[(*k)++] = (layout_slot){nd->panel, r};
        return;
    }
    int cols = nd->kind == LAYOUT_COLS_NODE;
    int weight[LAYOUT_MAX_CHILDREN], min[LAYOUT_MAX_CHILDREN];
    rect part[LAYOUT_MAX_CHILDREN];
    for (int i = 0; i < nd->n; i++) {
        int w, h;
        layout_min_size(&nd->child[i], &w, &h);
        weight[i] = nd->child[i].weight;
        min[i] = cols ? w : h;
    }
    layout_split_rect(r, cols, nd->n, weight, min, part);
    for (int i = 0; i < nd->n; i++) place(&nd->child[i], part[i], out, k);
}

int layout_compute(const layout_node *root, rect screen, layout_slot *out, int cap)
{
    if (!root || !valid(root) || layout_count(root) > cap) return LAYOUT_INVALID;
    int w, h;
    layout_min_size(root, &w, &h);
    if (screen.w < w || screen.h < h) return LAYOUT_TOO_SMALL;
    int k = 0;
    place(root, screen, out, &k);
    return k;
}

const rect *layout_find(const layout_slot *slots, int n, const char *panel)
{
    for (int i = 0; i < n; i++)
        if (slots[i].panel && panel && !strcmp(slots[i].panel, panel)) return &slots[i].r;
    return NULL;
}
