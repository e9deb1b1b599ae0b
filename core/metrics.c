#include "metrics.h"

#include <stdlib.h>
#include <string.h>

int scenario_parse(const char *s, scenario *out)
{
    if (!strcmp(s, "task"))
        *out = SCEN_TASK;
    else if (!strcmp(s, "domain"))
        *out = SCEN_DOMAIN;
    else if (!strcmp(s, "class"))
        *out = SCEN_CLASS;
    else
        return -1;
    return 0;
}

const char *scenario_name(scenario s)
{
    return s == SCEN_TASK ? "task" : s == SCEN_DOMAIN ? "domain" : "class";
}

int scenario_outputs(scenario s) { return s == SCEN_DOMAIN ? 2 : 10; }

static int position_in_task(const data_task *t, int cls)
{
    for (int i = 0; i < t->nclasses; i++)
        if (t->classes[i] == cls)
            return i;
    return 0;
}

int scenario_target(scenario s, const data_task *t, int cls)
{
    return s == SCEN_DOMAIN ? position_in_task(t, cls) : cls;
}

uint16_t scenario_eval_mask(scenario s, const data_task *t)
{
    if (s == SCEN_CLASS)
        return (uint16_t)((1u << 10) - 1);
    if (s == SCEN_DOMAIN)
        return (uint16_t)((1u << (t->nclasses < 16 ? t->nclasses : 16)) - 1);
    uint16_t m = 0;
    for (int i = 0; i < t->nclasses; i++)
        m |= (uint16_t)(1u << t->classes[i]);
    return m;
}

int scenario_class_of(scenario s, const data_task *t, int output)
{
    if (s == SCEN_DOMAIN)
        return output < t->nclasses ? t->classes[output] : output;
    return output;
}

int metrics_score(const float *logits, int count, int nout, const data_set *d, const int *idx,
                  const data_task *t, scenario s, long confusion[10][10])
{
    uint16_t mask = scenario_eval_mask(s, t);
    int right = 0;
    for (int k = 0; k < count; k++) {
        const float *z = logits + (size_t)k * nout;
        int arg = -1;
        for (int o = 0; o < nout; o++)
            if ((mask >> o & 1) && (arg < 0 || z[o] > z[arg]))
                arg = o;
        int cls = d->labels[idx[k]];
        right += arg == scenario_target(s, t, cls);
        int pred = arg >= 0 ? scenario_class_of(s, t, arg) : -1;
        if (confusion && pred >= 0 && pred < 10)
            confusion[cls][pred]++;
    }
    return right;
}

int metrics_eval_with(metrics_infer_fn infer, void *ctx, int nout, const data_set *d,
                      const int *idx, int count, const data_task *t, scenario s,
                      long confusion[10][10])
{
    enum { CHUNK = 4096 };
    float *logits = malloc(sizeof(float) * CHUNK * nout);
    if (!logits)
        return -1;
    int right = 0;
    for (int c0 = 0; c0 < count; c0 += CHUNK) {
        int len = count - c0 < CHUNK ? count - c0 : CHUNK;
        if (infer(ctx, d, idx + c0, len, logits) < 0) {
            free(logits);
            return -1;
        }
        right += metrics_score(logits, len, nout, d, idx + c0, t, s, confusion);
    }
    free(logits);
    return right;
}

/* metrics_eval's evaluator: a net with a batch-norm bank. */
typedef struct net_bank {
    const net *n;
    int bank;
} net_bank;

static int infer_net(void *ctx, const data_set *d, const int *idx, int count, float *out)
{
    const net_bank *nb = ctx;
    return net_infer(nb->n, nb->bank, d, idx, count, out);
}

int metrics_eval(const net *n, int bank, const data_set *d, const int *idx, int count,
                 const data_task *t, scenario s, long confusion[10][10])
{
    net_bank nb = {.n = n, .bank = bank};
    return metrics_eval_with(infer_net, &nb, n->sizes[n->nlayers], d, idx, count, t, s,
                             confusion);
}

double metrics_weighted_average(const double *acc, const int *counts, int k)
{
    double num = 0, den = 0;
    for (int j = 0; j < k; j++) {
        num += acc[j] * counts[j];
        den += counts[j];
    }
    return den > 0 ? num / den : 0.0;
}

double metrics_backward_transfer(const double acc[][DATA_MAX_TASKS], int T)
{
    if (T < 2)
        return 0.0;
    double s = 0;
    for (int j = 0; j < T - 1; j++)
        s += acc[T - 1][j] - acc[j][j];
    return s / (T - 1);
}

long metrics_sign_flips(const uint64_t *a, const uint64_t *b, long words)
{
    long c = 0;
    for (long i = 0; i < words; i++)
        c += __builtin_popcountll(a[i] ^ b[i]);
    return c;
}
