/* core/sweep: grid order, ids, seeds from parameters, the manifest (refused when different,
 * replaced with force), run files and resume, results.csv/json, dispatch order and the
 * makespan of a dynamic schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mpcl_test_sweep.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    assert_non_null(v);
    return v;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* sweep_open, failing the test with its message */
static void open_ok(sweep *s, const char *out, const cJSON *meta)
{
    char err[300] = "";
    int rc = sweep_open(s, out, meta, 0, err, sizeof err);
    if (rc < 0)
        fail_msg("sweep_open %s: %s", out, err);
}

static void test_grid_order(void **state)
{
    (void)state;
    char err[200];
    cJSON *g = parse("{\"seed\": [1, 2], \"m\": [0, 0.5, 1]}");
    cJSON *p = sweep_grid_points(g, err, sizeof err);
    assert_non_null(p);
    char *text = cJSON_PrintUnformatted(p);
    /* keys sorted, the first (m) varying slowest */
    assert_string_equal(text, "[{\"m\":0,\"seed\":1},{\"m\":0,\"seed\":2},{\"m\":0.5,\"seed\":1},"
                              "{\"m\":0.5,\"seed\":2},{\"m\":1,\"seed\":1},{\"m\":1,\"seed\":2}]");
    free(text);
    cJSON_Delete(p);
    cJSON_Delete(g);
}

static void test_bad_grids(void **state)
{
    (void)state;
    char err[200];
    static const char *const bad[][2] = {
        {"{}", "grid is empty"},
        {"{\"m\": 1}", "m must be a list"},
        {"{\"m\": []}", "m is an empty list"},
        {"{\"m\": [[1]]}", "not a number, string or boolean"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *g = parse(bad[i][0]);
        err[0] = '\0';
        assert_null(sweep_grid_points(g, err, sizeof err));
        assert_non_null(strstr(err, bad[i][1]));
        cJSON_Delete(g);
    }
    cJSON *pts = parse("[{\"a\": {\"b\": 1}}]");
    assert_int_equal(sweep_check_points(pts, err, sizeof err), -1);
    assert_non_null(strstr(err, "point 1: a"));
    cJSON_Delete(pts);
}

static void test_ids_and_seeds(void **state)
{
    (void)state;
    char err[200];
    sweep *a = sweep_new(parse("[{\"m\": 1}, {\"m\": 2}]"), err, sizeof err);
    sweep *b = sweep_new(parse("[{\"m\": 2}, {\"m\": 1}]"), err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(sweep_id(a, 0), "0001");
    assert_string_equal(sweep_id(a, 1), "0002");
    /* a point's seed depends on its parameters, not its place */
    assert_true(sweep_seed(a, 0) == sweep_seed(b, 1));
    assert_true(sweep_seed(a, 0) != sweep_seed(a, 1));
    assert_true(sweep_seed(a, 0) >= 1 && sweep_seed(a, 0) <= 0x7fffffff);
    sweep_free(a);
    sweep_free(b);
}

static void test_resume_and_gather(void **state)
{
    (void)state;
    char err[300], out[128], path[256];
    snprintf(out, sizeof out, "%s/r", dir);
    cJSON *meta = parse("{\"lab\": \"test\"}");
    sweep *s = sweep_new(parse("[{\"m\": 0}, {\"m\": 0.5}, {\"m\": 1}]"), err, sizeof err);
    open_ok(s, out, meta);
    assert_int_equal(sweep_done_count(s), 0);
    assert_int_equal(sweep_record(s, 0, 1, parse("{\"acc\": [0.5, 0.25], \"name\": \"a,b\"}"),
                                  NULL, 1, 1.5, err, sizeof err), 0);
    assert_int_equal(sweep_record(s, 2, 0, NULL, "boom", 2, 0.1, err, sizeof err), 0);
    sweep_free(s);

    /* the same sweep again: point 1 is done, point 3 failed (runs again), point 2 never ran */
    s = sweep_new(parse("[{\"m\": 0}, {\"m\": 0.5}, {\"m\": 1}]"), err, sizeof err);
    open_ok(s, out, meta);
    assert_true(sweep_done(s, 0));
    assert_false(sweep_done(s, 1));
    assert_false(sweep_done(s, 2));
    assert_true(sweep_failed(s, 2));
    assert_int_equal(sweep_gather(s, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/results.csv", out);
    assert_string_equal(slurp(path), "id,m,ok,seconds,attempts,error,acc.1,acc.2,name\n"
                                     "0001,0,true,1.5,1,,0.5,0.25,\"a,b\"\n"
                                     "0002,0.5,,,,,,,\n"
                                     "0003,1,false,0.1,2,boom,,,\n");
    snprintf(path, sizeof path, "%s/results.json", out);
    cJSON *all = cJSON_Parse(slurp(path));
    assert_int_equal(cJSON_GetArraySize(all), 3);
    cJSON_Delete(all);
    sweep_free(s);

    /* a different sweep in the same place: refused, then replaced with force */
    s = sweep_new(parse("[{\"m\": 7}]"), err, sizeof err);
    assert_int_equal(sweep_open(s, out, meta, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds a different sweep (the points differ)"));
    assert_int_equal(sweep_open(s, out, meta, 1, err, sizeof err), 0);
    assert_int_equal(sweep_done_count(s), 0);
    snprintf(path, sizeof path, "%s/superseded-1/runs/0001.json", out);
    assert_int_equal(access(path, R_OK), 0); /* nothing lost */
    sweep_free(s);
    cJSON_Delete(meta);
}

static void test_damaged_run_file(void **state)
{
    (void)state;
    char err[300], out[128], path[256];
    snprintf(out, sizeof out, "%s/d", dir);
    sweep *s = sweep_new(parse("[{\"m\": 0}]"), err, sizeof err);
    open_ok(s, out, NULL);
    assert_int_equal(sweep_record(s, 0, 1, NULL, NULL, 1, 1, err, sizeof err), 0);
    sweep_free(s);
    snprintf(path, sizeof path, "%s/runs/0001.json", out);
    FILE *f = fopen(path, "w");
    fputs("{\"id\": \"0001\", \"ok\": tr", f);
    fclose(f);
    s = sweep_new(parse("[{\"m\": 0}]"), err, sizeof err);
    open_ok(s, out, NULL);
    assert_false(sweep_done(s, 0)); /* it runs again */
    sweep_free(s);
}

static void test_order_and_makespan(void **state)
{
    (void)state;
    char err[100];
    sweep *s = sweep_new(parse("[{\"i\":1},{\"i\":2},{\"i\":3},{\"i\":4},{\"i\":5}]"), err,
                         sizeof err);
    double cost[5] = {3, -1, 5, 4, 3};
    int order[5];
    sweep_order(s, cost, order);
    int want[5] = {2, 3, 0, 4, 1}; /* longest first, ties in point order, unknown last */
    for (int k = 0; k < 5; k++)
        assert_int_equal(order[k], want[k]);
    sweep_free(s);
    double c[5] = {5, 4, 3, 3, 3};
    /* dynamic dispatch: 5 | 4, then 3 at t=4 (w2), 3 at t=5 (w1), 3 at t=7 (w2): 10 (the
     * best split, 5+4 | 3+3+3, would be 9: the master does not plan ahead) */
    assert_true(sweep_makespan(c, NULL, 5, 2, 0) == 10);
    assert_true(sweep_makespan(c, NULL, 5, 1, 0) == 18);
    assert_true(sweep_makespan(c, NULL, 5, 8, 0.5) == 5.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_order),
        cmocka_unit_test(test_bad_grids),
        cmocka_unit_test(test_ids_and_seeds),
        cmocka_unit_test(test_resume_and_gather),
        cmocka_unit_test(test_damaged_run_file),
        cmocka_unit_test(test_order_and_makespan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
