/* lab.chip: chips (core/chip.h) as userdata, the class and its methods: open, close,
 * info, program, mapping, net, map, histogram and retention (measured by core/chipmeter.h),
 * get, set, params, pulse, read, and chip inference as a job. Also the console's chip
 * status line. The rest of the hardware side has its own files: lab_finetune.c,
 * lab_noise.c, lab_energy.c (registered from lab_chip_open, lab_chip.h).
 *   chip = lab.chip.open("sim", {id = 42})
 *   chip:program(net); chip:infer(seq, {p = 16}); lab.finetune(chip, net, seq, {p = 16})
 * A chip keeps a copy of the net programmed into it: inference uses that copy, fine-tuning
 * changes it (and the net passed in). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "chipnet.h"
#include "clock.h"
#include "crossbar.h"
#include "error.h"
#include "finetune.h"
#include "lab.h"
#include "lab_chip.h"

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

lab_chip *lab_check_chip(lua_State *L, int i)
{
    lab_chip *lc = luaL_checkudata(L, i, CHIP_MT);
    if (!lc->open)
        luaL_error(L, "lab.chip: the chip is closed");
    return lc;
}

lab_chip *lab_idle_chip(lua_State *L, int i)
{
    lab_chip *lc = lab_check_chip(L, i);
    lab_check_idle(L, &lc->busy, "lab.chip");
    return lc;
}

/* lab.chip.open(uri [, {id=, noise=, stuck=, adc_bits=, map=, ...}]) */
static int l_chip(lua_State *L)
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

static int l_chip_gc(lua_State *L)
{
    lab_chip *lc = luaL_checkudata(L, 1, CHIP_MT);
    if (lc->busy.count > 0)
        job_system_stop(); /* only at lua_close */
    chip_release(lc);
    return 0;
}

/* chip:close() */
static int l_chip_close(lua_State *L)
{
    lab_chip *lc = luaL_checkudata(L, 1, CHIP_MT);
    if (lc->open)
        lab_check_idle(L, &lc->busy, "lab.chip");
    chip_release(lc);
    return 0;
}

static int l_chip_tostring(lua_State *L)
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
static int l_chip_info(lua_State *L)
{
    lab_chip *lc = lab_check_chip(L, 1);
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
    double per[MPCL_MAX_LAYERS], all;
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
static int l_chip_program(lua_State *L)
{
    static const char *const known[] = {"tol", "max_pulses", "learnt", NULL};
    lab_chip *lc = lab_idle_chip(L, 1);
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
static int l_chip_mapping(lua_State *L)
{
    lab_chip *lc = lab_idle_chip(L, 1);
    if (!lc->has_net)
        return luaL_error(L, "chip:mapping: no net programmed (chip:program(net) first)");
    lua_newtable(L);
    add_mapping(L, lc);
    lua_getfield(L, -1, "mapping");
    return 1;
}

/* chip:net() -> a copy of the net programmed (fine-tuned, if it was). */
static int l_chip_net(lua_State *L)
{
    lab_chip *lc = lab_idle_chip(L, 1);
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
static int l_chip_map(lua_State *L)
{
    static const char *const known[] = {"layer", "row", "col", "rows", "cols", NULL};
    lab_chip *lc = lab_idle_chip(L, 1);
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

void lab_chip_histogram(lua_State *L, lab_chip *lc, int layer, int bins, double gmax,
                        chipmeter_histogram *h)
{
    char err[400];
    if (chipmeter_histogram_measure(&lc->c, &lc->n, layer, bins, gmax, h, err, sizeof err) < 0)
        luaL_error(L, "chip:histogram: %s", err);
    const lab_observer *ob = lab_get_observer();
    if (ob->histogram)
        ob->histogram(ob->ud, h->edges, h->lrs, h->hrs, bins);
}

static void push_counts(lua_State *L, const long *count, int bins)
{
    lua_createtable(L, bins, 0);
    for (int b = 0; b < bins; b++) {
        lua_pushinteger(L, count[b]);
        lua_rawseti(L, -2, b + 1);
    }
}

/* chip:histogram([{bins=, layer=, max=}]) -> {edges, lrs, hrs, lrs_mean, lrs_sd, hrs_mean,
 * hrs_sd}: conductances of the programmed cells read once, LRS cells (meant +) and HRS
 * cells apart, over bins from 0 to max uS. */
static int l_chip_histogram(lua_State *L)
{
    static const char *const known[] = {"bins", "layer", "max", NULL};
    static const char *who = "chip:histogram";
    lab_chip *lc = lab_idle_chip(L, 1);
    if (!lc->has_net)
        return luaL_error(L, "chip:histogram: no net programmed (chip:program(net) first)");
    lab_check_options(L, 2, who, known);
    int bins = lab_opt_i32(L, 2, "bins", 60, who);
    int layer = lab_opt_i32(L, 2, "layer", 0, who);
    double gmax = lab_opt_num(L, 2, "max", chipmeter_histogram_default_max(&lc->c), who);
    chipmeter_histogram h;
    lab_chip_histogram(L, lc, layer, bins, gmax, &h);
    lua_createtable(L, 0, 7);
    lab_push_doubles(L, h.edges, bins + 1);
    lua_setfield(L, -2, "edges");
    push_counts(L, h.hrs, bins);
    lua_setfield(L, -2, "hrs");
    lab_set_num(L, "hrs_mean", h.hrs_mean);
    lab_set_num(L, "hrs_sd", h.hrs_sd);
    push_counts(L, h.lrs, bins);
    lua_setfield(L, -2, "lrs");
    lab_set_num(L, "lrs_mean", h.lrs_mean);
    lab_set_num(L, "lrs_sd", h.lrs_sd);
    return 1;
}

/* Field f (0 array, 1 row, 2 col) of the cell {array, row, col} on top of the stack. */
static int cell_field(lua_State *L, int f)
{
    lua_geti(L, -1, f + 1);
    int v = f == 0 ? array_arg(L, -1) : lab_check_i32(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The cells chip:retention reads (argument 2): the first n LRS cells of the programmed
 * net's first layer, or a list of {array, row, col}. Pushes them as a userdata buffer (freed
 * by the collector, whatever error comes) and returns it; *n their count. */
static chipmeter_cell *retention_cells(lua_State *L, lab_chip *lc, int *n)
{
    chipmeter_cell *cells;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        int ncells = lab_check_i32(L, 2);
        if (!lc->has_net || ncells < 1 || ncells > CHIPMETER_MAX_CELLS)
            luaL_error(L, "chip:retention: a count of LRS cells (1-%d) needs a programmed net",
                       CHIPMETER_MAX_CELLS);
        cells = lua_newuserdatauv(L, sizeof *cells * (size_t)ncells, 0);
        *n = chipmeter_lrs_cells(&lc->c, &lc->n, cells, ncells);
        return cells;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    int ncells = lab_len_i32(L, 2);
    if (ncells < 1 || ncells > CHIPMETER_MAX_CELLS)
        luaL_error(L, "chip:retention: 1 to %d cells, got %d", CHIPMETER_MAX_CELLS, ncells);
    cells = lua_newuserdatauv(L, sizeof *cells * (size_t)ncells, 0);
    for (int k = 0; k < ncells; k++) {
        lua_geti(L, 2, k + 1);
        if (!lua_istable(L, -1) || luaL_len(L, -1) != 3)
            luaL_error(L, "chip:retention: cell %d must be {array, row, col}", k + 1);
        cells[k].array = cell_field(L, 0);
        cells[k].row = cell_field(L, 1);
        cells[k].col = cell_field(L, 2);
        lua_pop(L, 1);
    }
    *n = ncells;
    return cells;
}

/* A measurement's arrays, owned by a userdata until pushed: a Lua error on the way (out of
 * memory) leaves them to the collector. */
#define RETENTION_MT "lab.chip.retention"

static int l_retention_gc(lua_State *L)
{
    chipmeter_retention_free(luaL_checkudata(L, 1, RETENTION_MT));
    return 0;
}

static chipmeter_retention *push_retention_box(lua_State *L)
{
    chipmeter_retention *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    luaL_setmetatable(L, RETENTION_MT);
    return r;
}

/* chip:retention(cells, reads [, {every=}]) -> {max_deviation = {...}, mean = {...},
 * trace = {{g...}...}, every}: each cell ({array, row, col}, 0-based; or a number n: the
 * first n LRS cells of the programmed net's first layer) read `reads` times; max deviation
 * is (Gmax - Gmin) / Gmean; the trace keeps every `every`-th read (reads / 200 by default).
 * The first cell's trace also goes to the console's retention panel. */
static int l_chip_retention(lua_State *L)
{
    static const char *const known[] = {"every", NULL};
    lab_chip *lc = lab_idle_chip(L, 1);
    lua_Integer reads = luaL_checkinteger(L, 3);
    if (reads < 2 || reads > CHIPMETER_MAX_READS)
        return luaL_error(L, "chip:retention: reads must be 2 to 10^7, got %I", reads);
    lab_check_options(L, 4, "chip:retention", known);
    int every = lab_opt_i32(L, 4, "every", reads / 200 > 0 ? (int)(reads / 200) : 1,
                            "chip:retention");
    if (every < 1)
        return luaL_error(L, "chip:retention: every must be >= 1");
    lua_settop(L, 4);
    int ncells;
    chipmeter_cell *cells = retention_cells(L, lc, &ncells);
    chipmeter_retention *r = push_retention_box(L);
    char err[400];
    if (chipmeter_retention_measure(&lc->c, cells, ncells, (long)reads, every, r, err,
                                    sizeof err) < 0)
        return luaL_error(L, "chip:retention: %s", err);
    const lab_observer *ob = lab_get_observer();
    if (ob->retention)
        ob->retention(ob->ud, r->trace, r->ntrace, every);
    lua_createtable(L, 0, 4);
    lua_createtable(L, ncells, 0);
    for (int k = 0; k < ncells; k++) {
        lab_push_floats(L, r->trace + (size_t)k * r->ntrace, r->ntrace);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "trace");
    lab_push_doubles(L, r->mean, ncells);
    lua_setfield(L, -2, "mean");
    lab_push_doubles(L, r->max_deviation, ncells);
    lua_setfield(L, -2, "max_deviation");
    lab_set_int(L, "every", every);
    chipmeter_retention_free(r);
    return 1;
}

/* chip:get(name) / chip:set(name, value) / chip:params() */
static int l_chip_get(lua_State *L)
{
    lab_chip *lc = lab_idle_chip(L, 1);
    double v;
    char err[300];
    if (chip_get(&lc->c, luaL_checkstring(L, 2), &v, err, sizeof err) < 0)
        return luaL_error(L, "chip:get: %s", err);
    lua_pushnumber(L, v);
    return 1;
}

static int l_chip_set(lua_State *L)
{
    lab_chip *lc = lab_idle_chip(L, 1);
    char err[300];
    if (chip_set(&lc->c, luaL_checkstring(L, 2), luaL_checknumber(L, 3), err, sizeof err) < 0)
        return luaL_error(L, "chip:set: %s", err);
    return 0;
}

static int l_chip_params(lua_State *L)
{
    lab_chip *lc = lab_idle_chip(L, 1);
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
static int l_chip_pulse(lua_State *L)
{
    static const char *const kinds[] = {"form", "set", "reset", NULL};
    static const float amp[] = {3.0f, 1.5f, 1.8f}, width[] = {10e-6f, 100e-9f, 100e-9f};
    lab_chip *lc = lab_idle_chip(L, 1);
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
static int l_chip_read(lua_State *L)
{
    lab_chip *lc = lab_idle_chip(L, 1);
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
            if (!z)
                return err_set(err, errlen, "out of memory");
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
void lab_read_eval_opts(lua_State *L, int t, lab_tasks *ts, const char *who, int *upto,
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
static int l_chip_infer(lua_State *L)
{
    static const char *const known[] = {"p", "upto", "scenario", "bn", "simulate", NULL};
    lab_chip *lc = lab_check_chip(L, 1);
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
    lab_read_eval_opts(L, 3, ts, "chip:infer", &opt.upto, &opt.p, &opt.bn_task, &opt.scen);
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


void lab_chip_open(lua_State *L, int lab)
{
    static const luaL_Reg meta[] = {{"__gc", l_chip_gc}, {"__tostring", l_chip_tostring},
                                    {"__close", l_chip_close}, {NULL, NULL}};
    static const luaL_Reg methods[] = {{"info", l_chip_info},
                                       {"program", l_chip_program},
                                       {"mapping", l_chip_mapping},
                                       {"net", l_chip_net},
                                       {"map", l_chip_map},
                                       {"histogram", l_chip_histogram},
                                       {"retention", l_chip_retention},
                                       {"infer", l_chip_infer},
                                       {"get", l_chip_get},
                                       {"set", l_chip_set},
                                       {"params", l_chip_params},
                                       {"pulse", l_chip_pulse},
                                       {"read", l_chip_read},
                                       {"close", l_chip_close},
                                       {NULL, NULL}};
    lab = lua_absindex(L, lab);
    lab_new_class(L, CHIP_MT, meta, methods);
    lua_newtable(L);
    lua_pushcfunction(L, l_chip);
    lua_setfield(L, -2, "open");
    lua_setfield(L, lab, "chip");
    luaL_newmetatable(L, RETENTION_MT); /* internal: never handed to Lua code */
    lua_pushcfunction(L, l_retention_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}
