/* lab.chip and the hardware side of the lab: chips (plugins/chip.h) as userdata, chip
 * inference and in situ fine-tuning as jobs, noise sweeps, energy and operation counts.
 *   chip = lab.chip.open("sim", {id = 42})
 *   chip:program(net); chip:infer(seq, {p = 16}); lab.finetune(chip, net, seq, {p = 16})
 * A chip keeps a copy of the net programmed into it: inference uses that copy, fine-tuning
 * changes it (and the net passed in). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "chip.h"
#include "chipnet.h"
#include "crossbar.h"
#include "energy.h"
#include "finetune.h"
#include "lab.h"
#include "lab_internal.h"
#include "noise.h"
#include "clock.h"

#define CHIP_MT "lab.chip"

typedef struct lab_chip {
    chip c;
    int open;
    char health[400]; /* the link's last health line (kept while a job uses the chip) */
    int has_net;  /* net holds the programmed net */
    net n;
    int learnt;   /* tasks the programmed net had learnt, for fine-tuning (0: all) */
    lab_busy busy;
} lab_chip;

/* The chips open now, for the console's status line (main thread only). */
#define MAX_OPEN 16
static lab_chip *open_chips[MAX_OPEN];

static void track(lab_chip *lc, int on)
{
    for (int i = 0; i < MAX_OPEN; i++) {
        if (on && !open_chips[i]) {
            open_chips[i] = lc;
            return;
        }
        if (!on && open_chips[i] == lc)
            open_chips[i] = NULL;
    }
}

int lab_chips_status(char *buf, size_t len)
{
    size_t n = 0;
    int count = 0;
    buf[0] = '\0';
    for (int i = 0; i < MAX_OPEN && n < len; i++) {
        lab_chip *lc = open_chips[i];
        if (!lc || !lc->open)
            continue;
        chip *c = &lc->c;
        if (!strcmp(c->be->name, "link")) {
            if (lc->busy.count == 0) { /* the worker is not using it: ask for fresh figures */
                double lat = 0, retries = 0, errors = 0, reconnects = 0;
                char e[200];
                chip_get(c, "link_latency_ms", &lat, e, sizeof e);
                chip_get(c, "link_retries", &retries, e, sizeof e);
                chip_get(c, "link_errors", &errors, e, sizeof e);
                chip_get(c, "link_reconnects", &reconnects, e, sizeof e);
                snprintf(lc->health, sizeof lc->health,
                         "link %.200s: %.1f ms, %.0f retries, %.0f errors, %.0f reconnects", c->uri,
                         lat, retries, errors, reconnects);
            }
            n += (size_t)snprintf(buf + n, len - n, "%s%s", count ? " | " : "", lc->health);
        } else {
            n += (size_t)snprintf(buf + n, len - n, "%schip %s id %s", count ? " | " : "",
                                  c->info.backend, c->info.id);
        }
        count++;
    }
    return count;
}

static lab_chip *check_chip(lua_State *L, int i)
{
    lab_chip *lc = luaL_checkudata(L, i, CHIP_MT);
    if (!lc->open)
        luaL_error(L, "lab.chip: the chip is closed");
    return lc;
}

static lab_chip *idle_chip(lua_State *L, int i)
{
    lab_chip *lc = check_chip(L, i);
    lab_check_idle(L, &lc->busy, "lab.chip");
    return lc;
}

/* lab.chip.open(uri [, {id=, noise=, stuck=, adc_bits=, map=, ...}]) */
static int l_chip_open(lua_State *L)
{
    const char *uri = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        return luaL_error(L, "lab.chip.open: options must be a table");
    lua_settop(L, 2);
    char full[1024];
    size_t n = (size_t)snprintf(full, sizeof full, "%s", uri);
    if (lua_istable(L, 2)) {
        int first = !strchr(uri, ':');
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING ||
                (lua_type(L, -1) != LUA_TNUMBER && lua_type(L, -1) != LUA_TSTRING))
                return luaL_error(L, "lab.chip.open: options must be name = number or string");
            lua_pushvalue(L, -1); /* tostring on a copy: the key stays for lua_next */
            const char *v = lua_tostring(L, -1);
            if (n < sizeof full)
                n += (size_t)snprintf(full + n, sizeof full - n, "%s%s=%s", first ? ":" : ",",
                                      lua_tostring(L, -3), v);
            first = 0;
            lua_pop(L, 2);
        }
    }
    if (n >= sizeof full)
        return luaL_error(L, "lab.chip.open: options too long");
    char target[1024];
    cap_chip_uri(L, full, target, sizeof target, "lab.chip.open");
    lab_chip *lc = lua_newuserdatauv(L, sizeof *lc, 0);
    memset(lc, 0, sizeof *lc);
    char err[512];
    if (chip_open(&lc->c, target, err, sizeof err) < 0)
        return luaL_error(L, "lab.chip.open: %s", err);
    lc->open = 1;
    track(lc, 1);
    luaL_setmetatable(L, CHIP_MT);
    return 1;
}

static void chip_release(lab_chip *lc)
{
    track(lc, 0);
    if (lc->has_net)
        net_free(&lc->n);
    lc->has_net = 0;
    if (lc->open)
        chip_close(&lc->c);
    lc->open = 0;
}

static int chip_gc(lua_State *L)
{
    lab_chip *lc = luaL_checkudata(L, 1, CHIP_MT);
    if (lc->busy.count > 0)
        job_system_stop(); /* only at lua_close */
    chip_release(lc);
    return 0;
}

/* chip:close() */
static int chip_close_lua(lua_State *L)
{
    lab_chip *lc = luaL_checkudata(L, 1, CHIP_MT);
    if (lc->open)
        lab_check_idle(L, &lc->busy, "lab.chip");
    chip_release(lc);
    return 0;
}

static int chip_tostring(lua_State *L)
{
    lab_chip *lc = luaL_checkudata(L, 1, CHIP_MT);
    if (!lc->open) {
        lua_pushstring(L, "chip (closed)");
        return 1;
    }
    char buf[400];
    int n = snprintf(buf, sizeof buf, "chip %s (%s, id %s): %d x %d x 2", lc->c.uri,
                     lc->c.info.name, lc->c.info.id, lc->c.info.rows, lc->c.info.cols);
    if (lc->has_net) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, ", net ");
        for (int l = 0; l <= lc->n.nlayers && n < (int)sizeof buf - 8; l++)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%d", l ? "-" : "", lc->n.sizes[l]);
        snprintf(buf + n, sizeof buf - (size_t)n, " programmed");
    }
    lua_pushstring(L, buf);
    return 1;
}

/* chip:info() -> {backend, name, firmware, id, rows, cols, caps = {...}, layers = {...}} */
static int chip_info_lua(lua_State *L)
{
    lab_chip *lc = check_chip(L, 1);
    const chip_info *in = &lc->c.info;
    lua_createtable(L, 0, 8);
    lua_pushstring(L, in->backend);
    lua_setfield(L, -2, "backend");
    lua_pushstring(L, in->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, in->firmware);
    lua_setfield(L, -2, "firmware");
    lua_pushstring(L, in->id);
    lua_setfield(L, -2, "id");
    lab_set_int(L, "rows", in->rows);
    lab_set_int(L, "cols", in->cols);
    lua_newtable(L);
    static const char *const caps[] = {"pulse", "program", "read", "vmm", "time"};
    for (int i = 0, k = 1; i < 5; i++)
        if (in->caps & (1u << i)) {
            lua_pushstring(L, caps[i]);
            lua_rawseti(L, -2, k++);
        }
    lua_setfield(L, -2, "caps");
    lua_createtable(L, lc->c.nlayers, 0);
    for (int l = 0; l < lc->c.nlayers; l++) {
        lua_createtable(L, 0, 4);
        lab_set_int(L, "row", lc->c.at[l].row0);
        lab_set_int(L, "col", lc->c.at[l].col0);
        lab_set_int(L, "rows", lc->c.at[l].rows);
        lab_set_int(L, "cols", lc->c.at[l].cols);
        lua_rawseti(L, -2, l + 1);
    }
    lua_setfield(L, -2, "layers");
    return 1;
}

static void push_report(lua_State *L, const chipnet_report *r, int nlayers, int first)
{
    lua_createtable(L, 0, 4);
    lab_set_int(L, "cells", r->cells);
    lab_set_int(L, "pulses", r->pulses);
    lab_set_int(L, "failed", r->failed);
    lua_createtable(L, nlayers, 0);
    for (int l = first; l < nlayers; l++) {
        lua_createtable(L, 0, 3);
        lab_set_int(L, "cells", r->layer[l].cells);
        lab_set_int(L, "pulses", r->layer[l].pulses);
        lab_set_int(L, "failed", r->layer[l].failed);
        lua_rawseti(L, -2, l + 1);
    }
    lua_setfield(L, -2, "layers");
}

/* Add mapping = {all=, per layer...} to the table on top. */
static void add_mapping(lua_State *L, lab_chip *lc)
{
    double per[NET_MAX_LAYERS], all;
    char err[400];
    if (chipnet_mapping(&lc->c, &lc->n, per, &all, err, sizeof err) < 0)
        luaL_error(L, "chip:program: %s", err);
    lua_createtable(L, lc->n.nlayers, 1);
    for (int l = 0; l < lc->n.nlayers; l++) {
        lua_pushnumber(L, per[l]);
        lua_rawseti(L, -2, l + 1);
    }
    lab_set_num(L, "all", all);
    lua_setfield(L, -2, "mapping");
    lab_record(L, "program mapping=%.6f", all);
}

/* chip:program(net [, {tol=, max_pulses=, learnt=}]) -> {cells, pulses, failed, layers,
 * mapping = {all, per layer}} */
static int chip_program_lua(lua_State *L)
{
    static const char *const known[] = {"tol", "max_pulses", "learnt", NULL};
    lab_chip *lc = idle_chip(L, 1);
    lab_net *ln = lab_check_net(L, 2);
    lab_check_idle(L, &ln->busy, "lab.net");
    lab_check_options(L, 3, "chip:program", known);
    chip_verify v;
    chip_verify_default(&v);
    v.tol = (float)lab_opt_num(L, 3, "tol", v.tol, "chip:program");
    v.max_pulses = lab_opt_i32(L, 3, "max_pulses", v.max_pulses, "chip:program");
    char err[512];
    net copy;
    if (net_clone(&copy, &ln->n) < 0)
        return luaL_error(L, "chip:program: out of memory");
    if (chipnet_place(&lc->c, &copy, err, sizeof err) < 0) {
        net_free(&copy);
        return luaL_error(L, "chip:program: %s", err);
    }
    chipnet_report rep;
    if (chipnet_program(&lc->c, &copy, 0, &v, &rep, err, sizeof err) < 0) {
        net_free(&copy);
        return luaL_error(L, "chip:program: %s", err);
    }
    if (lc->has_net)
        net_free(&lc->n);
    lc->n = copy;
    lc->has_net = 1;
    lc->learnt = lab_opt_i32(L, 3, "learnt", 0, "chip:program");
    push_report(L, &rep, copy.nlayers, 0);
    add_mapping(L, lc);
    const lab_observer *ob = lab_get_observer();
    if (ob->chip)
        ob->chip(ob->ud, &lc->c, &lc->n);
    return 1;
}

/* chip:mapping() -> {all=, per layer...}: each weight's pair read once, sign compared. */
static int chip_mapping_lua(lua_State *L)
{
    lab_chip *lc = idle_chip(L, 1);
    if (!lc->has_net)
        return luaL_error(L, "chip:mapping: no net programmed (chip:program(net) first)");
    lua_newtable(L);
    add_mapping(L, lc);
    lua_getfield(L, -1, "mapping");
    return 1;
}

/* chip:net() -> a copy of the net programmed (fine-tuned, if it was). */
static int chip_net_lua(lua_State *L)
{
    lab_chip *lc = idle_chip(L, 1);
    if (!lc->has_net)
        return luaL_error(L, "chip:net: no net programmed");
    lab_net *ln = lua_newuserdatauv(L, sizeof *ln, 0);
    memset(ln, 0, sizeof *ln);
    if (net_clone(&ln->n, &lc->n) < 0)
        return luaL_error(L, "chip:net: out of memory");
    luaL_setmetatable(L, NET_MT);
    return 1;
}

static int array_arg(lua_State *L, int i)
{
    static const char *const names[] = {"pos", "neg", NULL};
    if (lua_type(L, i) == LUA_TNUMBER) {
        lua_Integer a = lua_tointeger(L, i);
        if (a != 0 && a != 1)
            luaL_error(L, "lab.chip: array must be \"pos\" (0) or \"neg\" (1), got %d", (int)a);
        return (int)a;
    }
    return luaL_checkoption(L, i, NULL, names);
}

/* The rectangle of opts.layer (a placed layer), or opts row/col/rows/cols, or the array. */
static chip_rect rect_arg(lua_State *L, lab_chip *lc, int t, const char *who)
{
    chip_rect r = {0, 0, lc->c.info.rows, lc->c.info.cols};
    if (lua_isnoneornil(L, t))
        return r;
    lua_Integer l = lab_opt_int(L, t, "layer", 0, who);
    if (l) {
        if (l < 1 || l > lc->c.nlayers)
            luaL_error(L, "%s: layer %I is not placed (%d placed)", who, l, lc->c.nlayers);
        return lc->c.at[l - 1];
    }
    r.row0 = lab_opt_i32(L, t, "row", 0, who);
    r.col0 = lab_opt_i32(L, t, "col", 0, who);
    r.rows = lab_opt_i32(L, t, "rows", lc->c.info.rows - r.row0, who);
    r.cols = lab_opt_i32(L, t, "cols", lc->c.info.cols - r.col0, who);
    return r;
}

/* Read both arrays of a block: gp, gn malloc'd (rows, cols). */
static void read_both(lua_State *L, lab_chip *lc, chip_rect r, float **gp, float **gn,
                      const char *who)
{
    size_t n = (size_t)(r.rows > 0 ? r.rows : 0) * (size_t)(r.cols > 0 ? r.cols : 0);
    *gp = malloc((n ? n : 1) * sizeof **gp);
    *gn = malloc((n ? n : 1) * sizeof **gn);
    char err[400];
    if (!*gp || !*gn) {
        free(*gp);
        free(*gn);
        luaL_error(L, "%s: out of memory", who);
    }
    if (chip_read(&lc->c, CHIP_POS, r, *gp, err, sizeof err) < 0 ||
        chip_read(&lc->c, CHIP_NEG, r, *gn, err, sizeof err) < 0) {
        free(*gp);
        free(*gn);
        luaL_error(L, "%s: %s", who, err);
    }
}

static void push_matrix(lua_State *L, const float *g, int rows, int cols)
{
    lua_createtable(L, rows, 0);
    for (int i = 0; i < rows; i++) {
        lua_createtable(L, cols, 0);
        for (int j = 0; j < cols; j++) {
            lua_pushnumber(L, g[(size_t)i * cols + j]);
            lua_rawseti(L, -2, j + 1);
        }
        lua_rawseti(L, -2, i + 1);
    }
}

/* chip:map([{layer=} | {row=, col=, rows=, cols=}]) -> {pos = rows, neg = rows, row=, col=}:
 * a conductance snapshot (uS, one read each) of both arrays. */
static int chip_map_lua(lua_State *L)
{
    static const char *const known[] = {"layer", "row", "col", "rows", "cols", NULL};
    lab_chip *lc = idle_chip(L, 1);
    lab_check_options(L, 2, "chip:map", known);
    chip_rect r = rect_arg(L, lc, 2, "chip:map");
    float *gp, *gn;
    read_both(L, lc, r, &gp, &gn, "chip:map");
    lua_createtable(L, 0, 4);
    push_matrix(L, gp, r.rows, r.cols);
    lua_setfield(L, -2, "pos");
    push_matrix(L, gn, r.rows, r.cols);
    lua_setfield(L, -2, "neg");
    lab_set_int(L, "row", r.row0);
    lab_set_int(L, "col", r.col0);
    free(gp);
    free(gn);
    return 1;
}

/* chip:histogram([{bins=, layer=, max=}]) -> {edges, lrs, hrs, lrs_mean, lrs_sd, hrs_mean,
 * hrs_sd}: conductances of the programmed cells read once, LRS cells (meant +) and HRS
 * cells apart, over bins from 0 to max uS. */
static int chip_histogram_lua(lua_State *L)
{
    static const char *const known[] = {"bins", "layer", "max", NULL};
    lab_chip *lc = idle_chip(L, 1);
    if (!lc->has_net)
        return luaL_error(L, "chip:histogram: no net programmed (chip:program(net) first)");
    lab_check_options(L, 2, "chip:histogram", known);
    int bins = lab_opt_i32(L, 2, "bins", 60, "chip:histogram");
    int layer = lab_opt_i32(L, 2, "layer", 0, "chip:histogram");
    double glrs = 0;
    char err[200];
    if (chip_get(&lc->c, "g_lrs", &glrs, err, sizeof err) < 0)
        glrs = 100;
    double gmax = lab_opt_num(L, 2, "max", 1.6 * glrs, "chip:histogram");
    if (bins < 2 || bins > 1000 || !(gmax > 0) || layer < 0 || layer > lc->n.nlayers)
        return luaL_error(L, "chip:histogram: bins 2-1000, max > 0, layer 0 (all) or 1-%d",
                          lc->n.nlayers);
    /* The counts in a userdata: a read that fails below raises, and the collector frees it. */
    long *cl = lua_newuserdatauv(L, 2 * sizeof *cl * (size_t)bins, 0), *ch = cl + bins;
    memset(cl, 0, 2 * sizeof *cl * (size_t)bins);
    double s[2] = {0}, s2[2] = {0};
    long cnt[2] = {0};
    for (int l = 0; l < lc->n.nlayers; l++) {
        if (layer && l != layer - 1)
            continue;
        chip_rect r = lc->c.at[l];
        float *gp, *gn;
        read_both(L, lc, r, &gp, &gn, "chip:histogram");
        const net_layer *nl = &lc->n.layer[l];
        for (int i = 0; i < r.rows; i++)
            for (int j = 0; j < r.cols; j++) {
                int plus = nl->wh[(size_t)j * nl->in + i] >= 0.0f;
                size_t k = (size_t)i * r.cols + j;
                float g[2] = {gp[k], gn[k]};
                for (int a = 0; a < 2; a++) {
                    int lrs = a == 0 ? plus : !plus;
                    double x = g[a] / gmax * bins; /* clamped before the cast (NaN too) */
                    int bin = !(x >= 0) ? 0 : x >= bins ? bins - 1 : (int)x;
                    (lrs ? cl : ch)[bin]++;
                    s[lrs] += g[a];
                    s2[lrs] += (double)g[a] * g[a];
                    cnt[lrs]++;
                }
            }
        free(gp);
        free(gn);
    }
    const lab_observer *ob = lab_get_observer();
    if (ob->histogram) {
        double *edges = malloc(sizeof(double) * (size_t)(bins + 1));
        for (int b = 0; edges && b <= bins; b++)
            edges[b] = gmax * b / bins;
        if (edges)
            ob->histogram(ob->ud, edges, cl, ch, bins);
        free(edges);
    }
    lua_createtable(L, 0, 7);
    lua_createtable(L, bins + 1, 0);
    for (int b = 0; b <= bins; b++) {
        lua_pushnumber(L, gmax * b / bins);
        lua_rawseti(L, -2, b + 1);
    }
    lua_setfield(L, -2, "edges");
    for (int a = 0; a < 2; a++) {
        lua_createtable(L, bins, 0);
        for (int b = 0; b < bins; b++) {
            lua_pushinteger(L, (a ? cl : ch)[b]);
            lua_rawseti(L, -2, b + 1);
        }
        lua_setfield(L, -2, a ? "lrs" : "hrs");
        double mean = cnt[a] ? s[a] / cnt[a] : 0;
        double var = cnt[a] ? s2[a] / cnt[a] - mean * mean : 0;
        lab_set_num(L, a ? "lrs_mean" : "hrs_mean", mean);
        lab_set_num(L, a ? "lrs_sd" : "hrs_sd", sqrt(var > 0 ? var : 0));
    }
    return 1;
}

/* chip:retention(cells, reads [, {every=}]) -> {max_deviation = {...}, mean = {...},
 * trace = {{g...}...}}: each cell ({array, row, col}, 0-based; or a number n: the first n
 * LRS cells of the programmed net's first layer) read `reads` times; max deviation is
 * (Gmax - Gmin) / Gmean; the trace keeps every `every`-th read (reads / 200 by default). */
/* The cells chip:retention reads (argument 2): the first n LRS cells of the programmed
 * net's first layer, or a list of {array, row, col}. Pushes them as a userdata buffer (freed
 * by the collector, whatever error comes) and returns it; *n their count. */
static int (*retention_cells(lua_State *L, lab_chip *lc, int *n))[3]
{
    int ncells;
    int (*cells)[3];
    if (lua_type(L, 2) == LUA_TNUMBER) {
        ncells = lab_check_i32(L, 2);
        if (!lc->has_net || ncells < 1 || ncells > 4096)
            luaL_error(L, "chip:retention: a count of LRS cells (1-4096) needs a "
                          "programmed net");
        cells = lua_newuserdatauv(L, sizeof *cells * (size_t)ncells, 0);
        const net_layer *nl = &lc->n.layer[0];
        chip_rect r = lc->c.at[0];
        int k = 0;
        for (int i = 0; i < r.rows && k < ncells; i++)
            for (int j = 0; j < r.cols && k < ncells; j++) {
                int plus = nl->wh[(size_t)j * nl->in + i] >= 0.0f;
                cells[k][0] = plus ? CHIP_POS : CHIP_NEG;
                cells[k][1] = r.row0 + i;
                cells[k][2] = r.col0 + j;
                k++;
            }
        *n = k;
        return cells;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    ncells = lab_len_i32(L, 2);
    if (ncells < 1 || ncells > 4096)
        luaL_error(L, "chip:retention: 1 to 4096 cells, got %d", ncells);
    cells = lua_newuserdatauv(L, sizeof *cells * (size_t)ncells, 0);
    for (int k = 0; k < ncells; k++) {
        lua_geti(L, 2, k + 1);
        if (!lua_istable(L, -1) || luaL_len(L, -1) != 3)
            luaL_error(L, "chip:retention: cell %d must be {array, row, col}", k + 1);
        for (int f = 0; f < 3; f++) {
            lua_geti(L, -1, f + 1);
            cells[k][f] = f == 0 ? array_arg(L, -1) : lab_check_i32(L, -1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    *n = ncells;
    return cells;
}

/* Read one cell `reads` times; pushes its trace (every `every`-th read) and gives its mean
 * and max - min. The first cell's trace also goes to the console's retention panel. */
static void retention_trace(lua_State *L, lab_chip *lc, const int cell[3], lua_Integer reads,
                            int every, int first, double *mean, double *spread)
{
    chip_rect r = {cell[1], cell[2], 1, 1};
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    char err[400];
    lua_createtable(L, (int)(reads / every) + 1, 0);
    int nt = 0;
    for (lua_Integer i = 0; i < reads; i++) {
        float g;
        if (chip_read(&lc->c, cell[0], r, &g, err, sizeof err) < 0)
            luaL_error(L, "chip:retention: %s", err);
        mn = g < mn ? g : mn;
        mx = g > mx ? g : mx;
        sum += g;
        if (i % every == 0) {
            lua_pushnumber(L, g);
            lua_rawseti(L, -2, ++nt);
            /* a simulated chip applies its pending reads (read drift) now; others have no
             * such parameter */
            chip_set(&lc->c, "refresh", 0, err, sizeof err);
        }
    }
    const lab_observer *ob = lab_get_observer();
    if (first && ob->retention) {
        float *tr = malloc(sizeof(float) * (size_t)nt);
        for (int i = 0; tr && i < nt; i++) {
            lua_rawgeti(L, -1, i + 1);
            tr[i] = (float)lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        if (tr)
            ob->retention(ob->ud, tr, nt, every);
        free(tr);
    }
    *mean = sum / (double)reads;
    *spread = mx - mn;
}

static int chip_retention_lua(lua_State *L)
{
    static const char *const known[] = {"every", NULL};
    lab_chip *lc = idle_chip(L, 1);
    lua_Integer reads = luaL_checkinteger(L, 3);
    if (reads < 2 || reads > 10000000)
        return luaL_error(L, "chip:retention: reads must be 2 to 10^7, got %I", reads);
    lab_check_options(L, 4, "chip:retention", known);
    int every = lab_opt_i32(L, 4, "every", reads / 200 > 0 ? (int)(reads / 200) : 1,
                            "chip:retention");
    if (every < 1)
        return luaL_error(L, "chip:retention: every must be >= 1");
    lua_settop(L, 4);
    int ncells;
    int (*cells)[3] = retention_cells(L, lc, &ncells);
    lua_createtable(L, 0, 4);
    lua_createtable(L, ncells, 0); /* max_deviation */
    lua_createtable(L, ncells, 0); /* mean */
    lua_createtable(L, ncells, 0); /* trace */
    int top = lua_gettop(L);
    for (int k = 0; k < ncells; k++) {
        double mean, spread;
        retention_trace(L, lc, cells[k], reads, every, k == 0, &mean, &spread);
        lua_rawseti(L, top, k + 1);
        lua_pushnumber(L, mean > 0 ? spread / mean : 0);
        lua_rawseti(L, top - 2, k + 1);
        lua_pushnumber(L, mean);
        lua_rawseti(L, top - 1, k + 1);
    }
    lua_setfield(L, top - 3, "trace");
    lua_setfield(L, top - 3, "mean");
    lua_setfield(L, top - 3, "max_deviation");
    lab_set_int(L, "every", every);
    return 1;
}

/* chip:get(name) / chip:set(name, value) / chip:params() */
static int chip_get_lua(lua_State *L)
{
    lab_chip *lc = idle_chip(L, 1);
    double v;
    char err[300];
    if (chip_get(&lc->c, luaL_checkstring(L, 2), &v, err, sizeof err) < 0)
        return luaL_error(L, "chip:get: %s", err);
    lua_pushnumber(L, v);
    return 1;
}

static int chip_set_lua(lua_State *L)
{
    lab_chip *lc = idle_chip(L, 1);
    char err[300];
    if (chip_set(&lc->c, luaL_checkstring(L, 2), luaL_checknumber(L, 3), err, sizeof err) < 0)
        return luaL_error(L, "chip:set: %s", err);
    return 0;
}

static int chip_params_lua(lua_State *L)
{
    lab_chip *lc = idle_chip(L, 1);
    lua_newtable(L);
    const char *const *p = lc->c.be->params;
    for (int i = 0; p && p[i]; i++) {
        double v;
        char err[200];
        if (chip_get(&lc->c, p[i], &v, err, sizeof err) == 0) {
            lua_pushnumber(L, v);
            lua_setfield(L, -2, p[i]);
        }
    }
    return 1;
}

/* chip:pulse(array, row, col, "form" | "set" | "reset" [, amplitude_v, width_s]) */
static int chip_pulse_lua(lua_State *L)
{
    static const char *const kinds[] = {"form", "set", "reset", NULL};
    static const float amp[] = {3.0f, 1.5f, 1.8f}, width[] = {10e-6f, 100e-9f, 100e-9f};
    lab_chip *lc = idle_chip(L, 1);
    int a = array_arg(L, 2);
    int row = lab_check_i32(L, 3), col = lab_check_i32(L, 4);
    int kind = luaL_checkoption(L, 5, NULL, kinds);
    float v = (float)luaL_optnumber(L, 6, amp[kind]);
    float w = (float)luaL_optnumber(L, 7, width[kind]);
    char err[400];
    if (chip_pulse(&lc->c, a, row, col, (chip_pulse_kind)kind, v, w, err, sizeof err) < 0)
        return luaL_error(L, "chip:pulse: %s", err);
    return 0;
}

/* chip:read(array, row, col) -> G in uS (one read, with noise) */
static int chip_read_lua(lua_State *L)
{
    lab_chip *lc = idle_chip(L, 1);
    int a = array_arg(L, 2);
    chip_rect r = {lab_check_i32(L, 3), lab_check_i32(L, 4), 1, 1};
    float g;
    char err[400];
    if (chip_read(&lc->c, a, r, &g, err, sizeof err) < 0)
        return luaL_error(L, "chip:read: %s", err);
    lua_pushnumber(L, g);
    return 1;
}

/* ---- chip inference (a job) ----------------------------------------------------------- */

typedef struct infer_ctx {
    lab_chip *lc;
    const data_set *test;
    const data_tasks *tasks;
    int upto, p, bn_task, simulate;
    scenario scen;
    double acc[DATA_MAX_TASKS];
    int counts[DATA_MAX_TASKS];
    xbar_ops ops;
    double seconds;
} infer_ctx;

static int infer_work(job *j, void *ctx, char *err, size_t errlen)
{
    infer_ctx *c = ctx;
    double t0 = clock_seconds();
    for (int t = 0; t < c->upto; t++) {
        const data_task *tk = &c->tasks->task[t];
        int right = 0;
        int bank = c->bn_task ? t : -1;
        if (c->simulate) { /* the software path: WL/WR from Wpara read now */
            int nout = c->lc->n.sizes[c->lc->n.nlayers];
            float *z = malloc(sizeof *z * (size_t)(tk->ntest ? tk->ntest : 1) * nout);
            if (!z) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            if (finetune_simulate(&c->lc->c, &c->lc->n, bank, c->p, c->test, tk->test,
                                  tk->ntest, z, err, errlen) < 0) {
                free(z);
                return -1;
            }
            right = metrics_score(z, tk->ntest, nout, c->test, tk->test, tk, c->scen, NULL);
            free(z);
        } else if (chipnet_eval(&c->lc->c, &c->lc->n, bank, c->p, c->test, tk->test, tk->ntest,
                                tk, c->scen, NULL, &right, &j->cancel, err, errlen) < 0) {
            return j->cancel ? 0 : -1;
        }
        c->acc[t] = tk->ntest ? (double)right / tk->ntest : 0;
        c->counts[t] = tk->ntest;
        char status[64];
        snprintf(status, sizeof status, "task %d of %d on the chip", t + 1, c->upto);
        job_publish(j, (double)(t + 1) / c->upto, NULL, status);
    }
    char e2[100];
    xbar_count_ops(c->lc->n.nlayers, c->lc->n.sizes, c->p, 2, &c->ops, e2, sizeof e2);
    c->seconds = clock_seconds() - t0;
    return 0;
}

static void infer_result(lua_State *L, job *j, void *ctx)
{
    infer_ctx *c = ctx;
    if (job_get_state(j) == JOB_CANCELLED) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 6);
    lua_createtable(L, c->upto, 0);
    char accs[DATA_MAX_TASKS * 10] = "";
    size_t na = 0;
    for (int t = 0; t < c->upto; t++) {
        lua_pushnumber(L, c->acc[t]);
        lua_rawseti(L, -2, t + 1);
        na += (size_t)snprintf(accs + na, sizeof accs - na, "%s%.6f", t ? "," : "", c->acc[t]);
    }
    lua_setfield(L, -2, "acc");
    double avg = metrics_weighted_average(c->acc, c->counts, c->upto);
    lab_set_num(L, "average", avg);
    lab_set_int(L, "p", c->p);
    lua_createtable(L, 0, 3);
    lab_set_int(L, "array_ops", c->ops.array_ops);
    lab_set_int(L, "adds", c->ops.adds);
    lab_set_int(L, "conversions", c->ops.conversions);
    lua_setfield(L, -2, "ops_per_image");
    lab_set_num(L, "seconds", c->seconds);
    lab_record(L, "chip_%s p=%d average=%.6f acc=%s", c->simulate ? "simulate" : "infer", c->p,
               avg, accs);
}

/* Common options of chip inference and fine-tuning: scenario, upto, bn, p. */
static void read_eval_opts(lua_State *L, int t, lab_tasks *ts, const char *who, int *upto,
                           int *p, int *bn_task, scenario *sc)
{
    const char *scs = lab_opt_str(L, t, "scenario", "task", who);
    if (scenario_parse(scs, sc) < 0)
        luaL_error(L, "%s: scenario must be task, domain or class, got '%s'", who, scs);
    *upto = lab_opt_i32(L, t, "upto", ts->t.ntasks, who);
    if (*upto < 1 || *upto > ts->t.ntasks)
        luaL_error(L, "%s: upto must be 1-%d", who, ts->t.ntasks);
    *p = lab_opt_i32(L, t, "p", 16, who);
    if (*p < 1 || *p > 512)
        luaL_error(L, "%s: p must be 1-512, got %d", who, *p);
    const char *bn = lab_opt_str(L, t, "bn", *sc == SCEN_TASK ? "task" : "shared", who);
    if (strcmp(bn, "task") && strcmp(bn, "shared"))
        luaL_error(L, "%s: bn must be task or shared, got '%s'", who, bn);
    *bn_task = !strcmp(bn, "task");
}

/* chip:infer(seq [, {p=16, upto=, scenario=, bn=, simulate=false}]) -> a job: {acc, average,
 * p, ops_per_image = {array_ops, adds, conversions}, seconds} on the test sets; simulate=true
 * runs the software path (the chip's Wpara read once, WL/WR with Int) instead of the chip. */
static int chip_infer_lua(lua_State *L)
{
    static const char *const known[] = {"p", "upto", "scenario", "bn", "simulate", NULL};
    lab_chip *lc = check_chip(L, 1);
    lab_tasks *ts = lab_check_tasks(L, 2);
    lab_dataset *ds = lab_tasks_dataset(L, 2);
    lab_check_options(L, 3, "chip:infer", known);
    if (!lc->has_net)
        return luaL_error(L, "chip:infer: no net programmed (chip:program(net) first)");
    if (!ds->test.binary)
        return luaL_error(L, "chip:infer: the chip needs binary inputs (input paper192 or "
                             "binary784)");
    if (ds->test.dim != lc->n.sizes[0])
        return luaL_error(L, "chip:infer: the net takes %d inputs, the data set has %d",
                          lc->n.sizes[0], ds->test.dim);
    infer_ctx opt = {0};
    read_eval_opts(L, 3, ts, "chip:infer", &opt.upto, &opt.p, &opt.bn_task, &opt.scen);
    opt.simulate = lab_opt_bool(L, 3, "simulate", 0);
    infer_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "chip:infer: out of memory");
    *c = opt;
    c->lc = lc;
    c->test = &ds->test;
    c->tasks = &ts->t;
    lab_job_spec spec = {.name = "chip:infer", .fn = infer_work, .ctx = c, .free_ctx = free,
                         .result = infer_result, .busy = {&lc->busy}, .keep = {1, 2}};
    lab_job_submit(L, &spec);
    return 1;
}

/* ---- fine-tuning (a job) -------------------------------------------------------------- */

typedef struct ft_ctx {
    lab_chip *lc;
    lab_net *ln;
    const data_set *train;
    const data_tasks *tasks;
    int learnt;
    finetune_config cfg;
    finetune_report rep;
    job *j;
} ft_ctx;

static int ft_progress(int epoch, int epochs, float loss, float acc, void *ud)
{
    ft_ctx *c = ud;
    char status[64];
    snprintf(status, sizeof status, "fine-tuning epoch %d/%d, loss %.3f", epoch, epochs, loss);
    (void)acc;
    job_publish(c->j, (double)epoch / epochs, NULL, status);
    return 0;
}

static int ft_work(job *j, void *ctx, char *err, size_t errlen)
{
    ft_ctx *c = ctx;
    c->j = j;
    if (finetune_run(&c->lc->c, &c->lc->n, c->train, c->tasks, c->learnt, &c->cfg, ft_progress,
                     c, &j->cancel, &c->rep, err, errlen) < 0)
        return j->cancel ? 0 : -1;
    return 0;
}

static void ft_result(lua_State *L, job *j, void *ctx)
{
    ft_ctx *c = ctx;
    if (job_get_state(j) == JOB_CANCELLED) {
        lua_pushnil(L);
        return;
    }
    /* The net passed in becomes the fine-tuned one. */
    net fresh;
    if (net_clone(&fresh, &c->lc->n) == 0) {
        net_free(&c->ln->n);
        c->ln->n = fresh;
    }
    const finetune_report *r = &c->rep;
    lua_createtable(L, 0, 8);
    lab_set_int(L, "examples", r->examples);
    lab_set_int(L, "epochs", r->epochs_run);
    lab_set_num(L, "loss", r->loss);
    lab_set_num(L, "train_acc", r->train_acc);
    lab_set_int(L, "flipped", r->flipped);
    lab_set_num(L, "mapping", r->mapping_after);
    lab_set_int(L, "pulses", r->reprogram.pulses);
    lab_set_int(L, "p", c->cfg.p);
    lab_record(L, "finetune p=%d examples=%d flipped=%ld loss=%.6f train_acc=%.6f", c->cfg.p,
               r->examples, r->flipped, (double)r->loss, (double)r->train_acc);
    const lab_observer *ob = lab_get_observer();
    if (ob->chip)
        ob->chip(ob->ud, &c->lc->c, &c->lc->n);
}

/* lab.finetune(chip, net, seq [, {p=16, epochs=5, lr=0.002, batch=100, replay=0, reads=1,
 * learnt=, scenario=, bn=, seed=}]) -> a job: the chip's programmed net (and `net`) have
 * their last layer fine-tuned against the chip and re-programmed. */
static int l_finetune(lua_State *L)
{
    static const char *const known[] = {"p", "epochs", "lr", "batch", "replay", "reads",
                                        "learnt", "scenario", "bn", "seed", "upto", NULL};
    static const char *who = "lab.finetune";
    lab_chip *lc = check_chip(L, 1);
    lab_net *ln = lab_check_net(L, 2);
    lab_tasks *ts = lab_check_tasks(L, 3);
    lab_dataset *ds = lab_tasks_dataset(L, 3);
    lab_check_options(L, 4, who, known);
    if (!lc->has_net)
        return luaL_error(L, "%s: no net programmed on the chip (chip:program(net) first)", who);
    if (ln->n.nlayers != lc->n.nlayers ||
        memcmp(ln->n.sizes, lc->n.sizes, sizeof(int) * (size_t)(ln->n.nlayers + 1)))
        return luaL_error(L, "%s: the net is not the one programmed on the chip", who);
    finetune_config cfg;
    finetune_config_default(&cfg);
    int upto, bn_task;
    read_eval_opts(L, 4, ts, who, &upto, &cfg.p, &bn_task, &cfg.scen);
    cfg.bn_task = bn_task;
    cfg.mask_task = cfg.scen == SCEN_TASK;
    cfg.epochs = lab_opt_i32(L, 4, "epochs", cfg.epochs, who);
    cfg.lr = (float)lab_opt_num(L, 4, "lr", cfg.lr, who);
    cfg.batch = lab_opt_i32(L, 4, "batch", cfg.batch, who);
    cfg.replay = lab_opt_i32(L, 4, "replay", 0, who);
    cfg.nreads = lab_opt_i32(L, 4, "reads", 1, who);
    cfg.seed = (uint64_t)lab_opt_int(L, 4, "seed", lab_default_seed(L), who);
    int learnt = lab_opt_i32(L, 4, "learnt", lc->learnt ? lc->learnt : upto, who);
    if (learnt < 1 || learnt > ts->t.ntasks)
        return luaL_error(L, "%s: learnt must be 1-%d", who, ts->t.ntasks);
    ft_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "%s: out of memory", who);
    c->cfg = cfg;
    c->learnt = learnt;
    c->lc = lc;
    c->ln = ln;
    c->train = &ds->train;
    c->tasks = &ts->t;
    lab_job_spec spec = {.name = "lab.finetune", .fn = ft_work, .ctx = c, .free_ctx = free,
                         .result = ft_result, .busy = {&lc->busy, &ln->busy},
                         .keep = {1, 2, 3}};
    lab_job_submit(L, &spec);
    return 1;
}

/* ---- noise sweep (a job) --------------------------------------------------------------- */

/* A sweep job shared by nets and baselines: the model is a copy the job owns. */
struct lab_noise_job {
    void *model;
    lab_sweep_fn sweep;
    void (*free_model)(void *);
    noise_taskset ts;
    double rho[256], acc[256], sd[256];
    int nrho, draws;
    uint64_t seed;
    double tolerance;
    int reached;
    const char *record; /* the session record's first word */
};

static void noise_free(void *p)
{
    lab_noise_job *c = p;
    if (c->model)
        c->free_model(c->model);
    free(c);
}

static int noise_work(job *j, void *ctx, char *err, size_t errlen)
{
    lab_noise_job *c = ctx;
    job_publish(j, 0, NULL, "noise sweep");
    if (c->sweep(c->model, &c->ts, c->rho, c->nrho, c->draws, c->seed, &j->cancel, c->acc,
                 c->sd, err, errlen) < 0)
        return j->cancel ? 0 : -1;
    int rc = noise_tolerance(c->rho, c->acc, c->nrho, NOISE_TOLERANCE_LEVEL, &c->tolerance, err,
                             errlen);
    if (rc < 0)
        return -1;
    c->reached = rc == 0;
    return 0;
}

static void noise_result(lua_State *L, job *j, void *ctx)
{
    lab_noise_job *c = ctx;
    if (job_get_state(j) == JOB_CANCELLED) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 5);
    lab_push_doubles(L, c->rho, c->nrho);
    lua_setfield(L, -2, "rho");
    lab_push_doubles(L, c->acc, c->nrho);
    lua_setfield(L, -2, "acc");
    lab_push_doubles(L, c->sd, c->nrho);
    lua_setfield(L, -2, "sd");
    lab_set_num(L, "tolerance", c->tolerance);
    lua_pushboolean(L, c->reached);
    lua_setfield(L, -2, "reached");
    lab_record(L, "%s tolerance=%.6f reached=%d", c->record, c->tolerance, c->reached);
}

lab_noise_job *lab_noise_job_new(lua_State *L, int opts, const char *who)
{
    double step = lab_opt_num(L, opts, "step", 0.05, who);
    int draws = lab_opt_i32(L, opts, "draws", 5, who);
    uint64_t seed = (uint64_t)lab_opt_int(L, opts, "seed", lab_default_seed(L), who);
    char err[300];
    int nrho = noise_rho_grid(step, NULL, 0, err, sizeof err);
    if (nrho < 0 || nrho > 256)
        luaL_error(L, "%s: %s", who, nrho < 0 ? err : "step too small (256 points at most)");
    if (draws < 1 || draws > 1000)
        luaL_error(L, "%s: draws must be 1-1000", who);
    lab_noise_job *c = calloc(1, sizeof *c);
    if (!c)
        luaL_error(L, "%s: out of memory", who);
    c->draws = draws;
    c->seed = seed;
    c->nrho = noise_rho_grid(step, c->rho, 256, err, sizeof err);
    return c;
}

void lab_noise_job_submit(lua_State *L, lab_noise_job *c, const char *name,
                          const char *record, void *model,
                          lab_sweep_fn sweep, void (*free_model)(void *), noise_taskset ts,
                          int keep1, int keep2)
{
    c->model = model;
    c->sweep = sweep;
    c->free_model = free_model;
    c->ts = ts;
    c->record = record;
    lab_job_spec spec = {.name = name, .fn = noise_work, .ctx = c, .free_ctx = noise_free,
                         .result = noise_result, .keep = {keep1, keep2}};
    lab_job_submit(L, &spec);
}

static int sweep_net(const void *model, const noise_taskset *ts, const double *rho, int nrho,
                     int draws, uint64_t seed, const volatile int *cancel, double *acc,
                     double *sd, char *err, size_t errlen)
{
    return noise_sweep_net(model, ts, rho, nrho, draws, seed, cancel, acc, sd, err, errlen);
}

static void free_net(void *n)
{
    net_free(n);
    free(n);
}

/* lab.noise_sweep(net, seq [, {step=0.05, draws=5, seed=, upto=, scenario=, bn=}]) -> a job:
 * {rho, acc, sd, tolerance, reached}. */
static int l_noise_sweep(lua_State *L)
{
    static const char *const known[] = {"step", "draws", "seed", "upto", "scenario", "bn", "p",
                                        NULL};
    static const char *who = "lab.noise_sweep";
    lab_net *ln = lab_check_net(L, 1);
    lab_check_idle(L, &ln->busy, "lab.net");
    lab_tasks *ts = lab_check_tasks(L, 2);
    lab_dataset *ds = lab_tasks_dataset(L, 2);
    lab_check_options(L, 3, who, known);
    if (ds->test.dim != ln->n.sizes[0])
        return luaL_error(L, "%s: the net takes %d inputs, the data set has %d", who,
                          ln->n.sizes[0], ds->test.dim);
    int upto, p, bn_task;
    scenario sc;
    read_eval_opts(L, 3, ts, who, &upto, &p, &bn_task, &sc);
    lab_noise_job *c = lab_noise_job_new(L, 3, who);
    net *copy = calloc(1, sizeof *copy); /* the sweep may run while the net trains on */
    if (!copy || net_clone(copy, &ln->n) < 0) {
        free(copy);
        noise_free(c);
        return luaL_error(L, "%s: out of memory", who);
    }
    lab_noise_job_submit(L, c, "lab.noise_sweep", "noise_sweep", copy, sweep_net, free_net,
                         (noise_taskset){&ds->test, &ts->t, upto, sc, bn_task}, 1, 2);
    return 1;
}

/* ---- energy and operation counts ------------------------------------------------------- */

/* The layer sizes of a net or a list of sizes at index i. */
static int sizes_arg(lua_State *L, int i, int *sizes, const char *who)
{
    if (luaL_testudata(L, i, NET_MT)) {
        const net *n = &lab_check_net(L, i)->n;
        memcpy(sizes, n->sizes, sizeof(int) * (size_t)(n->nlayers + 1));
        return n->nlayers;
    }
    int nl = lab_baseline_sizes(L, i, sizes);
    if (nl > 0)
        return nl;
    if (!lua_istable(L, i))
        luaL_error(L, "%s: give a net, a baseline or a list of layer sizes", who);
    int k = lab_len_i32(L, i);
    if (k < 2 || k > NET_MAX_LAYERS + 1)
        luaL_error(L, "%s: 2 to %d layer sizes", who, NET_MAX_LAYERS + 1);
    for (int j = 0; j < k; j++) {
        lua_geti(L, i, j + 1);
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        lua_pop(L, 1);
        if (!isint || v > INT_MAX)
            luaL_error(L, "%s: layer sizes must be integers that fit in 32 bits", who);
        sizes[j] = (int)v;
        if (sizes[j] < 1)
            luaL_error(L, "%s: layer sizes must be positive, got %d", who, sizes[j]);
    }
    return k - 1;
}

/* lab.energy(net | sizes [, {p=16, chip=, v_read=, t_read=, r_lrs=, r_hrs=, e_add=, e_adc=}])
 * -> {macs, float_cmos, binary_digital, rram, ratio, rram_read, rram_add, rram_adc, psum_adds,
 * g_lrs, g_hrs} in J per image; with chip=, the chip's mean programmed LRS and HRS. */
static int l_energy(lua_State *L)
{
    static const char *const known[] = {"p", "chip", "v_read", "t_read", "r_lrs", "r_hrs",
                                        "e_add", "e_adc", NULL};
    static const char *who = "lab.energy";
    int sizes[NET_MAX_LAYERS + 1];
    int nl = sizes_arg(L, 1, sizes, who);
    lab_check_options(L, 2, who, known);
    energy_params ep;
    energy_params_default(&ep);
    ep.p = lab_opt_i32(L, 2, "p", ep.p, who);
    ep.v_read = lab_opt_num(L, 2, "v_read", ep.v_read, who);
    ep.t_read = lab_opt_num(L, 2, "t_read", ep.t_read, who);
    ep.r_lrs = lab_opt_num(L, 2, "r_lrs", ep.r_lrs, who);
    ep.r_hrs = lab_opt_num(L, 2, "r_hrs", ep.r_hrs, who);
    ep.e_add = lab_opt_num(L, 2, "e_add", ep.e_add, who);
    ep.e_adc = lab_opt_num(L, 2, "e_adc", ep.e_adc, who);
    energy_report r;
    char err[300];
    int rc;
    if (lab_opt_field(L, 2, "chip")) {
        lab_chip *lc = idle_chip(L, lua_gettop(L));
        if (!lc->has_net)
            return luaL_error(L, "%s: the chip has no net programmed", who);
        lua_pushcfunction(L, chip_histogram_lua);
        lua_pushvalue(L, -2);
        lua_call(L, 1, 1);
        lua_getfield(L, -1, "lrs_mean");
        lua_getfield(L, -2, "hrs_mean");
        double gl = lua_tonumber(L, -2) * 1e-6, gh = lua_tonumber(L, -1) * 1e-6;
        double v;
        if (chip_get(&lc->c, "v_read", &v, err, sizeof err) == 0)
            ep.v_read = v;
        rc = energy_compute_measured(nl, sizes, &ep, gl, gh, &r, err, sizeof err);
    } else {
        rc = energy_compute(nl, sizes, &ep, &r, err, sizeof err);
    }
    if (rc < 0)
        return luaL_error(L, "%s: %s", who, err);
    lua_createtable(L, 0, 12);
    lab_set_int(L, "macs", r.macs);
    lab_set_num(L, "float_cmos", r.float_cmos_j);
    lab_set_num(L, "binary_digital", r.binary_digital_j);
    lab_set_num(L, "rram", r.rram_j);
    lab_set_num(L, "ratio", r.rram_j > 0 ? r.float_cmos_j / r.rram_j : 0);
    lab_set_num(L, "rram_read", r.rram_read_j);
    lab_set_num(L, "rram_add", r.rram_add_j);
    lab_set_num(L, "rram_adc", r.rram_adc_j);
    lab_set_int(L, "psum_adds", r.psum_adds);
    lab_set_num(L, "g_lrs", r.g_lrs);
    lab_set_num(L, "g_hrs", r.g_hrs);
    lab_set_int(L, "p", ep.p);
    return 1;
}

/* lab.ops(net | sizes [, {p=16, adc_channels=2}]) -> {array_ops, adds, conversions} per
 * image (crossbar.h's definitions). */
static int l_ops(lua_State *L)
{
    static const char *const known[] = {"p", "adc_channels", NULL};
    int sizes[NET_MAX_LAYERS + 1];
    int nl = sizes_arg(L, 1, sizes, "lab.ops");
    lab_check_options(L, 2, "lab.ops", known);
    int p = lab_opt_i32(L, 2, "p", 16, "lab.ops");
    int ch = lab_opt_i32(L, 2, "adc_channels", 2, "lab.ops");
    xbar_ops o;
    char err[300];
    if (xbar_count_ops(nl, sizes, p, ch, &o, err, sizeof err) < 0)
        return luaL_error(L, "lab.ops: %s", err);
    lua_createtable(L, 0, 3);
    lab_set_int(L, "array_ops", o.array_ops);
    lab_set_int(L, "adds", o.adds);
    lab_set_int(L, "conversions", o.conversions);
    return 1;
}

void lab_chip_open(lua_State *L, int lab)
{
    static const luaL_Reg meta[] = {{"__gc", chip_gc}, {"__tostring", chip_tostring},
                                    {"__close", chip_close_lua}, {NULL, NULL}};
    static const luaL_Reg methods[] = {{"info", chip_info_lua},
                                       {"program", chip_program_lua},
                                       {"mapping", chip_mapping_lua},
                                       {"net", chip_net_lua},
                                       {"map", chip_map_lua},
                                       {"histogram", chip_histogram_lua},
                                       {"retention", chip_retention_lua},
                                       {"infer", chip_infer_lua},
                                       {"get", chip_get_lua},
                                       {"set", chip_set_lua},
                                       {"params", chip_params_lua},
                                       {"pulse", chip_pulse_lua},
                                       {"read", chip_read_lua},
                                       {"close", chip_close_lua},
                                       {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class(L, CHIP_MT, meta, methods);
    lua_newtable(L);
    lua_pushcfunction(L, l_chip_open);
    lua_setfield(L, -2, "open");
    lua_setfield(L, lab, "chip");
    lua_pushcfunction(L, l_finetune);
    lua_setfield(L, lab, "finetune");
    lua_pushcfunction(L, l_noise_sweep);
    lua_setfield(L, lab, "noise_sweep");
    lua_pushcfunction(L, l_energy);
    lua_setfield(L, lab, "energy");
    lua_pushcfunction(L, l_ops);
    lua_setfield(L, lab, "ops");
}
