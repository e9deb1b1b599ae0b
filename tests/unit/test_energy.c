/* Unit tests for core/energy: Table 1's digital figures, the RRAM figure of the default
 * parameters, its parts and their dependence on p, measured conductances, bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "energy.h"

static const int paper[4] = {192, 256, 256, 10}; /* Table 1's net */

/* x printed to two significant figures, as Table 1 prints it. */
static const char *two_sig(double x)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "%.1e", x);
    return buf;
}

static void test_table1_digital(void **state)
{
    (void)state;
    energy_report r;
    char err[128];
    assert_int_equal(energy_compute(3, paper, NULL, &r, err, sizeof err), 0);
    assert_int_equal(r.macs, 117248);
    assert_int_equal(r.muls, 117248);
    assert_int_equal(r.adds, 117248);
    /* The brief's arithmetic... */
    assert_float_equal(r.float_cmos_j, 117248 * 4.6e-12, 1e-20);
    assert_float_equal(r.binary_digital_j, 117248 * 0.23e-12, 1e-21);
    /* ...and Table 1 to its two significant figures. */
    assert_string_equal(two_sig(r.float_cmos_j), "5.4e-07");
    assert_string_equal(two_sig(r.binary_digital_j), "2.7e-08");
    assert_true(energy_round_sig(r.float_cmos_j, 2) == 5.4e-7);
    assert_true(energy_round_sig(r.binary_digital_j, 2) == 2.7e-8);
    assert_float_equal(energy_digital(10, ENERGY_FP32_MUL_PJ, 20, ENERGY_INT32_ADD_PJ),
                       (37.0 + 2.0) * 1e-12, 1e-24);
}

/* The paper's RRAM figure is 2.3e-9 J, ~235x below float CMOS; the defaults must land
 * within 2.0e-9 .. 2.8e-9 J (about +-20%) and 150x .. 300x. */
static void test_rram_defaults(void **state)
{
    (void)state;
    energy_params p;
    energy_params_default(&p);
    energy_report r;
    char err[128];
    assert_int_equal(energy_compute(3, paper, &p, &r, err, sizeof err), 0);
    assert_true(r.rram_j >= 2.0e-9 && r.rram_j <= 2.8e-9);
    double ratio = r.float_cmos_j / r.rram_j;
    assert_true(ratio >= 150 && ratio <= 300);
    /* The documented value: 2.29e-9 J (the paper's 2.3e-9 to two figures), 235x. */
    assert_string_equal(two_sig(r.rram_j), "2.3e-09");
    assert_int_equal((int)lround(ratio), 235);
    /* Its parts: every cell read once, one LRS and one HRS per weight. */
    assert_int_equal(r.cells_read, 2 * 117248);
    assert_float_equal(r.sum_g, 117248 * (1 / 30e3 + 1 / 1e6), 1e-12);
    assert_float_equal(r.rram_read_j, 0.2 * 0.2 * 10e-9 * r.sum_g, 1e-22);
    /* p = 16: ceil(192/16) = 12, ceil(256/16) = 16 partial sums per column. */
    assert_int_equal(r.psum_adds, 256 * 11 + 256 * 15 + 10 * 15);
    assert_int_equal(r.conversions, 256 * 12 + 256 * 16 + 10 * 16);
    assert_float_equal(r.rram_add_j, r.psum_adds * 0.1e-12, 1e-24);
    assert_float_equal(r.rram_adc_j, 0.0, 0);
    assert_float_equal(r.rram_j, r.rram_read_j + r.rram_add_j + r.rram_adc_j, 1e-24);
}

static void test_parallelism(void **state)
{
    (void)state;
    energy_params p;
    energy_params_default(&p);
    energy_report r1, r16, r256;
    char err[128];
    p.p = 1;
    assert_int_equal(energy_compute(3, paper, &p, &r1, err, sizeof err), 0);
    p.p = 16;
    assert_int_equal(energy_compute(3, paper, &p, &r16, err, sizeof err), 0);
    p.p = 256;
    assert_int_equal(energy_compute(3, paper, &p, &r256, err, sizeof err), 0);
    /* p changes how many cells are read at once, not how many are read. */
    assert_float_equal(r1.rram_read_j, r16.rram_read_j, 0);
    assert_float_equal(r1.rram_read_j, r256.rram_read_j, 0);
    /* p = 1: every product is its own partial sum; p >= fan-in: one partial sum. */
    assert_int_equal(r1.psum_adds, 256 * 191 + 256 * 255 + 10 * 255);
    assert_int_equal(r1.conversions, 117248);
    assert_int_equal(r256.psum_adds, 0);
    assert_int_equal(r256.conversions, 256 + 256 + 10);
    assert_true(r1.rram_j > r16.rram_j && r16.rram_j > r256.rram_j);
    /* ADC energy when asked for: two conversions per column when each array is read. */
    p.p = 16;
    p.e_adc = 80e-12;
    p.adc_per_output = 2;
    energy_report ra;
    assert_int_equal(energy_compute(3, paper, &p, &ra, err, sizeof err), 0);
    assert_int_equal(ra.conversions, 2 * r16.conversions);
    assert_float_equal(ra.rram_adc_j, ra.conversions * 80e-12, 1e-20);
}

static void test_measured_conductances(void **state)
{
    (void)state;
    energy_params p;
    energy_params_default(&p);
    energy_report d, m;
    char err[128];
    assert_int_equal(energy_compute(3, paper, &p, &d, err, sizeof err), 0);
    /* The defaults' own conductances give the same figure. */
    assert_int_equal(energy_compute_measured(3, paper, &p, 1 / 30e3, 1 / 1e6, &m, err,
                                             sizeof err),
                     0);
    assert_float_equal(m.rram_j, d.rram_j, 1e-24);
    /* A chip whose LRS reads 40 uS and HRS 0.5 uS. */
    assert_int_equal(energy_compute_measured(3, paper, &p, 40e-6, 0.5e-6, &m, err, sizeof err),
                     0);
    assert_float_equal(m.g_lrs, 40e-6, 0);
    assert_float_equal(m.rram_read_j, 0.04 * 10e-9 * 117248 * 40.5e-6, 1e-22);
    assert_float_equal(m.float_cmos_j, d.float_cmos_j, 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    energy_params p;
    energy_params_default(&p);
    energy_report r;
    char err[128];
    int bad[3] = {192, -3, 10};
    assert_int_equal(energy_compute(2, bad, &p, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "-3"));
    assert_int_equal(energy_compute(0, paper, &p, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "layer"));
    p.p = 0;
    assert_int_equal(energy_compute(3, paper, &p, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "parallelism"));
    energy_params_default(&p);
    p.r_hrs = 1e3;
    assert_int_equal(energy_compute(3, paper, &p, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "R_HRS"));
    energy_params_default(&p);
    p.v_read = NAN;
    assert_int_equal(energy_compute(3, paper, &p, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "v_read"));
    energy_params_default(&p);
    p.adc_per_output = 3;
    assert_int_equal(energy_compute(3, paper, &p, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "adc_per_output"));
    assert_int_equal(energy_compute_measured(3, paper, NULL, 1e-6, 2e-6, &r, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "G_LRS > G_HRS"));
    assert_int_equal(energy_compute(3, paper, NULL, NULL, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table1_digital),
        cmocka_unit_test(test_rram_defaults),
        cmocka_unit_test(test_parallelism),
        cmocka_unit_test(test_measured_conductances),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
