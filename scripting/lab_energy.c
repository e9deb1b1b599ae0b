/* lab.energy and lab.ops: a net's energy per image, CMOS against RRAM (core/energy.h; with
 * chip=, from the chip's measured LRS and HRS), and its array operations, partial-sum adds
 * and ADC conversions per image (core/crossbar.h).
 *   lab.energy(net, {p = 16}).ratio; lab.ops({784, 100, 10}, {p = 16}).conversions */
#include <limits.h>
#include <string.h>

#include "crossbar.h"
#include "energy.h"
#include "lab_chip.h"

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
    if (k < 2 || k > MPCL_MAX_LAYERS + 1)
        luaL_error(L, "%s: 2 to %d layer sizes", who, MPCL_MAX_LAYERS + 1);
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
    int sizes[MPCL_MAX_LAYERS + 1];
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
        lab_chip *lc = lab_idle_chip(L, lua_gettop(L));
        if (!lc->has_net)
            return luaL_error(L, "%s: the chip has no net programmed", who);
        chipmeter_histogram h; /* what chip:histogram() measures */
        lab_chip_histogram(L, lc, 0, 60, chipmeter_histogram_default_max(&lc->c), &h);
        double gl = h.lrs_mean * 1e-6, gh = h.hrs_mean * 1e-6;
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
    int sizes[MPCL_MAX_LAYERS + 1];
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

void lab_energy_open(lua_State *L, int lab)
{
    lab = lua_absindex(L, lab);
    lua_pushcfunction(L, l_energy);
    lua_setfield(L, lab, "energy");
    lua_pushcfunction(L, l_ops);
    lua_setfield(L, lab, "ops");
}
