/* mpcl-baselines: one float baseline on a 5-split benchmark: the accuracy matrix, the
 * multitask average after each task, backward transfer, and the noise sweep with its
 * tolerance.
 *
 *   build/mpcl-baselines [key=value ...]
 *     method=none|joint|ewc|si|gem|agem   dataset=mnist|fmnist   input=paper192|float784|...
 *     threshold=0.2 scen=task|domain|class hidden=256 epochs=5 batch=100 lr=0.001 opt=adam|sgd
 *     lambda=1000 online=0 gamma=1 fisher=true|empirical fisher_n=0 c=0.5 eps=0.001
 *     mem=256 ref=256 seed=1 threads=2 noise=1 step=0.05 draws=5 mask=1 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baselines.h"
#include "data.h"
#include "clock.h"
#include "kernels.h"
#include "metrics.h"
#include "noise.h"

static const char *arg(int argc, char **argv, const char *key, const char *def)
{
    size_t n = strlen(key);
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
            return argv[i] + n + 1;
    return def;
}

int main(int argc, char **argv)
{
    kern_flush_denormals();
    char err[512];
    kern_set_threads(atoi(arg(argc, argv, "threads", "2")));
    const char *dsname = arg(argc, argv, "dataset", "mnist");
    data_input input;
    if (data_input_parse(arg(argc, argv, "input", "paper192"), &input)) {
        fprintf(stderr, "bad input\n");
        return 1;
    }
    float threshold = (float)atof(arg(argc, argv, "threshold", "0.2"));
    uint64_t seed = strtoull(arg(argc, argv, "seed", "1"), NULL, 10);
    data_raw rtr, rte;
    data_set train, test;
    data_tasks tasks;
    if (data_raw_load_named(dsname, 1, &rtr, err, sizeof err) ||
        data_raw_load_named(dsname, 0, &rte, err, sizeof err) ||
        data_prepare_take(&rtr, input, threshold, &train, err, sizeof err) ||
        data_prepare_take(&rte, input, threshold, &test, err, sizeof err) ||
        data_tasks_split5(&train, &test, 0.1, seed, &tasks, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* tune=1: evaluate on the validation splits (for choosing hyper-parameters). */
    data_tasks evt = tasks;
    const data_set *evd = &test;
    if (atoi(arg(argc, argv, "tune", "0"))) {
        for (int j = 0; j < evt.ntasks; j++) {
            evt.task[j].test = evt.task[j].val;
            evt.task[j].ntest = evt.task[j].nval;
        }
        evd = &train;
    }
    bl_config c;
    bl_config_default(&c);
    if (bl_method_parse(arg(argc, argv, "method", "none"), &c.method) ||
        scenario_parse(arg(argc, argv, "scen", "task"), &c.scen)) {
        fprintf(stderr, "bad method or scenario\n");
        return 1;
    }
    c.epochs = atoi(arg(argc, argv, "epochs", "5"));
    c.batch = atoi(arg(argc, argv, "batch", "100"));
    c.lr = (float)atof(arg(argc, argv, "lr", "0.001"));
    c.opt = !strcmp(arg(argc, argv, "opt", "adam"), "sgd") ? BL_SGD : BL_ADAM;
    c.ewc_lambda = (float)atof(arg(argc, argv, "lambda", "1000"));
    c.ewc_online = atoi(arg(argc, argv, "online", "0"));
    c.ewc_gamma = (float)atof(arg(argc, argv, "gamma", "1"));
    c.fisher = !strcmp(arg(argc, argv, "fisher", "true"), "empirical") ? BL_FISHER_EMPIRICAL
                                                                       : BL_FISHER_TRUE;
    c.fisher_n = atoi(arg(argc, argv, "fisher_n", "0"));
    c.si_c = (float)atof(arg(argc, argv, "c", "0.5"));
    c.si_eps = (float)atof(arg(argc, argv, "eps", "0.001"));
    c.mem_per_task = atoi(arg(argc, argv, "mem", "256"));
    c.agem_ref = atoi(arg(argc, argv, "ref", "256"));
    c.mask_task = atoi(arg(argc, argv, "mask", "1"));
    c.seed = seed;
    int hidden = atoi(arg(argc, argv, "hidden", "256"));
    int sizes[4] = {train.dim, hidden, hidden, scenario_outputs(c.scen)};
    bl_model m;
    if (bl_create(&m, 3, sizes, seed, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("# %s%s %s %s-IL, %d-%d-%d-%d, epochs %d, batch %d, %s lr %g, lambda %g%s, c %g, "
           "eps %g, mem %d, ref %d, seed %llu, threads %d\n",
           evd == &train ? "(validation) " : "", bl_method_name(c.method), dsname, scenario_name(c.scen), sizes[0], sizes[1],
           sizes[2], sizes[3], c.epochs, c.batch, c.opt == BL_SGD ? "sgd" : "adam", c.lr,
           c.ewc_lambda, c.ewc_online ? " (online)" : "", c.si_c, c.si_eps, c.mem_per_task,
           c.agem_ref, (unsigned long long)seed, kern_threads());
    double accm[DATA_MAX_TASKS][DATA_MAX_TASKS] = {{0}}, avg = 0, t0 = clock_seconds();
    for (int t = 0; t < tasks.ntasks; t++) {
        bl_result res;
        double ts = clock_seconds();
        if (bl_learn(&m, &train, &tasks, t, &c, NULL, NULL, NULL, &res, err, sizeof err) ||
            bl_accuracy(&m, evd, &evt, t + 1, c.scen, &avg, accm[t], err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("task %d (%.1f s, loss %.4f, projected %ld/%ld):", t + 1, clock_seconds() - ts, res.loss,
               res.projected, res.steps);
        for (int j = 0; j <= t; j++)
            printf(" %.2f", 100 * accm[t][j]);
        printf("  average %.2f%%\n", 100 * avg);
    }
    printf("average %.2f%%  bwt %.2f points  train %.1f s\n", 100 * avg,
           100 * metrics_backward_transfer(accm, tasks.ntasks), clock_seconds() - t0);
    if (atoi(arg(argc, argv, "noise", "1"))) {
        double step = atof(arg(argc, argv, "step", "0.05")), rho[128], acc[128], sd[128], tol;
        int draws = atoi(arg(argc, argv, "draws", "5"));
        int nrho = noise_rho_grid(step, rho, 128, err, sizeof err);
        noise_taskset ts = {evd, &evt, tasks.ntasks, c.scen, 0};
        if (nrho < 0 || bl_noise_sweep(&m, &ts, rho, nrho, draws, seed, NULL, acc, sd, err,
                                       sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        int rc = noise_tolerance(rho, acc, nrho, NOISE_TOLERANCE_LEVEL, &tol, err, sizeof err);
        printf("noise:");
        for (int i = 0; i < nrho; i++)
            printf(" %.2f:%.2f+-%.2f", rho[i], 100 * acc[i], 100 * sd[i]);
        printf("\ntolerance %.1f%%%s\n", 100 * tol, rc == 1 ? " (lower bound)" : "");
    }
    bl_free(&m);
    data_tasks_free(&tasks);
    data_set_free(&train);
    data_set_free(&test);
    return 0;
}
