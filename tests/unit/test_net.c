/* Unit tests for core/net: gradients of the float parts against finite differences,
 * the straight-through mask, inference against a plain float reference, banks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "net.h"
#include "rng.h"
#include "synth.h"

/* Loss of the current parameters (forward in training mode; the running statistics it
 * nudges do not enter the loss). */
static double loss_of(net *n, const float *x, const int *target, const uint16_t *allowed,
                      int B)
{
    net_forward_train(n, x, B);
    return net_backward(n, target, allowed, B, NULL);
}

static void random_batch(float *x, int *target, int B, int in, int nout, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < B * in; i++)
        x[i] = (float)rng_normal(&r);
    for (int b = 0; b < B; b++)
        target[b] = (int)rng_below(&r, (uint32_t)nout);
}

/* Central differences of the loss w.r.t. one float: analytic vs numeric. */
static void check_param(net *n, float *p, const float *grad_slot_after_backward, int gi,
                        const float *x, const int *target, const uint16_t *allowed, int B)
{
    float h = 1e-2f, keep = *p;
    loss_of(n, x, target, allowed, B);
    double analytic = grad_slot_after_backward[gi];
    *p = keep + h;
    double lp = loss_of(n, x, target, allowed, B);
    *p = keep - h;
    double lm = loss_of(n, x, target, allowed, B);
    *p = keep;
    double numeric = (lp - lm) / (2 * h);
    double tol = 2e-3 + 2e-2 * fabs(numeric);
    if (fabs(analytic - numeric) > tol)
        fail_msg("gradient %g, finite difference %g", analytic, numeric);
}

static void test_gradients_single_layer(void **state)
{
    (void)state;
    kern_set_threads(1);
    int sizes[2] = {7, 5}, B = 6;
    char err[128];
    net n;
    assert_int_equal(net_create(&n, 1, sizes, 0, 1.0f, 3, err, sizeof err), 0);
    /* Non-trivial affine parameters. */
    for (int o = 0; o < 5; o++) {
        n.layer[0].gamma[o] = 0.5f + 0.3f * o;
        n.layer[0].beta[o] = 0.1f * o - 0.2f;
    }
    float x[6 * 7];
    int target[6];
    random_batch(x, target, B, 7, 5, 9);
    uint16_t allowed[6] = {0x1f, 0x1f, 0x03 | 1u << target[2], 0x1f, 0x0c | 1u << target[4],
                           0x1f};
    for (int pass = 0; pass < 2; pass++) {
        const uint16_t *al = pass ? allowed : NULL;
        for (int o = 0; o < 5; o++) {
            check_param(&n, &n.layer[0].gamma[o], n.layer[0].g_gamma, o, x, target, al, B);
            check_param(&n, &n.layer[0].beta[o], n.layer[0].g_beta, o, x, target, al, B);
        }
        /* The forward pass uses Wb; its gradient is what reaches Wh. */
        for (int i = 0; i < 35; i += 3)
            check_param(&n, &n.layer[0].wb[i], n.layer[0].g_w, i, x, target, al, B);
    }
    net_free(&n);
}

static void test_gradients_last_layer_of_deep_net(void **state)
{
    (void)state;
    kern_set_threads(1);
    int sizes[4] = {9, 8, 6, 4}, B = 10;
    char err[128];
    net n;
    assert_int_equal(net_create(&n, 3, sizes, 0, 1.0f, 5, err, sizeof err), 0);
    float x[10 * 9];
    int target[10];
    random_batch(x, target, B, 9, 4, 11);
    net_layer *L = &n.layer[2];
    for (int o = 0; o < 4; o++) {
        check_param(&n, &L->gamma[o], L->g_gamma, o, x, target, NULL, B);
        check_param(&n, &L->beta[o], L->g_beta, o, x, target, NULL, B);
    }
    /* The hidden layers' products are exact popcounts of +-1 signs, so their weights
     * cannot be nudged by h; test_gradients_single_layer checks dW = dA^T X itself. */
    /* The hidden layers' batch-norm parameters: sign() makes the loss piecewise constant
     * in them, so only check the straight-through gradient is finite and not all zero. */
    loss_of(&n, x, target, NULL, B);
    double s = 0;
    for (int i = 0; i < 8 * 9; i++) {
        assert_true(isfinite(n.layer[0].g_w[i]));
        s += fabs(n.layer[0].g_w[i]);
    }
    assert_true(s > 0);
    net_free(&n);
}

/* The straight-through estimator passes gradient only where |Y| <= 1: pushing every
 * hidden unit far from zero (large beta) must zero the first layer's gradient. */
static void test_straight_through_mask(void **state)
{
    (void)state;
    int sizes[3] = {6, 5, 3}, B = 8;
    char err[128];
    net n;
    assert_int_equal(net_create(&n, 2, sizes, 0, 1.0f, 2, err, sizeof err), 0);
    for (int o = 0; o < 5; o++) {
        n.layer[0].gamma[o] = 0.1f;
        n.layer[0].beta[o] = 5.0f;
    }
    float x[8 * 6];
    int target[8];
    random_batch(x, target, B, 6, 3, 4);
    loss_of(&n, x, target, NULL, B);
    for (int i = 0; i < 30; i++)
        assert_float_equal(n.layer[0].g_w[i], 0.0f, 0.0f);
    net_free(&n);
}

/* Plain float inference with running statistics, for comparison with the bit path. */
static void reference_logits(const net *n, const data_set *d, int k, float *out)
{
    float a[1024], b[1024];
    for (int i = 0; i < d->dim; i++)
        a[i] = data_feature(d, k, i);
    for (int l = 0; l < n->nlayers; l++) {
        const net_layer *L = &n->layer[l];
        for (int o = 0; o < L->out; o++) {
            double s = 0;
            for (int i = 0; i < L->in; i++)
                s += (double)a[i] * L->wb[(size_t)o * L->in + i];
            float y = L->gamma[o] * ((float)s - L->mean[o]) / sqrtf(L->var[o] + n->bn_eps) +
                      L->beta[o];
            b[o] = (l < n->nlayers - 1) ? (y >= 0 ? 1.0f : -1.0f) : y;
        }
        memcpy(a, b, sizeof(float) * L->out);
    }
    memcpy(out, a, sizeof(float) * n->sizes[n->nlayers]);
}

static void check_inference(int binary)
{
    data_set d;
    if (binary)
        synth_binary(&d, 300, 150, 0.2, 7);
    else
        synth_float(&d, 300, 150, 0.2, 7);
    int sizes[4] = {150, 70, 65, 10};
    char err[128];
    net n;
    assert_int_equal(net_create(&n, 3, sizes, binary, 1.0f, 8, err, sizeof err), 0);
    /* Running statistics and affine parameters away from their defaults. */
    rng r;
    rng_seed(&r, 3);
    for (int l = 0; l < 3; l++)
        for (int o = 0; o < sizes[l + 1]; o++) {
            n.layer[l].mean[o] = (float)(rng_normal(&r) * 3);
            n.layer[l].var[o] = (float)(5 + 20 * rng_uniform(&r));
            n.layer[l].gamma[o] = (float)rng_normal(&r);
            n.layer[l].beta[o] = (float)rng_normal(&r) * 0.5f;
        }
    int idx[300];
    for (int k = 0; k < 300; k++)
        idx[k] = k;
    float *out = malloc(sizeof(float) * 300 * 10);
    for (int threads = 1; threads <= 2; threads++) {
        kern_set_threads(threads);
        net_infer(&n, -1, &d, idx, 300, out);
        for (int k = 0; k < 300; k++) {
            float ref[10];
            reference_logits(&n, &d, k, ref);
            for (int o = 0; o < 10; o++)
                assert_float_equal(out[k * 10 + o], ref[o], 1e-3 * (1 + fabsf(ref[o])));
        }
    }
    kern_set_threads(1);
    free(out);
    net_free(&n);
    data_set_free(&d);
}

static void test_inference_binary_matches_reference(void **state)
{
    (void)state;
    check_inference(1);
}

static void test_inference_float_matches_reference(void **state)
{
    (void)state;
    check_inference(0);
}

/* The byte-input pass computes the first product in integers: the same pass as the float
 * one, to rounding, for byte inputs and for 0/1 inputs. */
static void check_bytes_pass(float unit, int maxval)
{
    int sizes[4] = {37, 40, 24, 10}, B = 20;
    char err[128];
    net a, b;
    assert_int_equal(net_create(&a, 3, sizes, 0, 1.0f, 6, err, sizeof err), 0);
    assert_int_equal(net_create(&b, 3, sizes, 0, 1.0f, 6, err, sizeof err), 0);
    rng r;
    rng_seed(&r, 13);
    uint8_t x8[20 * 37];
    float x[20 * 37];
    for (int i = 0; i < B * 37; i++) {
        x8[i] = (uint8_t)rng_below(&r, (uint32_t)maxval + 1);
        x[i] = (float)x8[i] * unit;
    }
    net_forward_train(&a, x, B);
    memcpy(net_input_buffer(&b, B), x, sizeof x);
    net_forward_train_bytes(&b, x8, unit, B);
    for (int i = 0; i < B * 40; i++)
        assert_float_equal(a.pre[0][i], b.pre[0][i], 1e-4f * (1 + fabsf(a.pre[0][i])));
    for (int i = 0; i < B * 10; i++)
        assert_float_equal(a.act[3][i], b.act[3][i], 1e-3f * (1 + fabsf(a.act[3][i])));
    net_free(&a);
    net_free(&b);
}

static void test_forward_bytes_matches_float(void **state)
{
    (void)state;
    kern_set_threads(1);
    check_bytes_pass(1.0f / 255.0f, 255);
    check_bytes_pass(1.0f, 1);
    kern_set_threads(2);
    check_bytes_pass(1.0f / 255.0f, 255);
    kern_set_threads(1);
}

static void test_banks(void **state)
{
    (void)state;
    int sizes[3] = {4, 3, 2};
    char err[128];
    net n;
    assert_int_equal(net_create(&n, 2, sizes, 0, 1.0f, 1, err, sizeof err), 0);
    assert_false(net_bn_has(&n, 0));
    assert_int_equal(net_bn_load(&n, 2), -1);
    n.layer[1].mean[1] = 7.0f;
    n.layer[0].gamma[2] = 3.0f;
    assert_int_equal(net_bn_store(&n, 2), 0);
    assert_true(net_bn_has(&n, 2));
    assert_false(net_bn_has(&n, 1)); /* banks below a stored one stay unstored */
    n.layer[1].mean[1] = 0.0f;
    n.layer[0].gamma[2] = 1.0f;
    assert_int_equal(net_bn_load(&n, 2), 0);
    assert_float_equal(n.layer[1].mean[1], 7.0f, 0);
    assert_float_equal(n.layer[0].gamma[2], 3.0f, 0);
    net clone;
    assert_int_equal(net_clone(&clone, &n), 0);
    assert_true(net_bn_has(&clone, 2));
    assert_memory_equal(clone.layer[0].wh, n.layer[0].wh, sizeof(float) * 12);
    net_free(&clone);
    net_free(&n);
}

static void test_create_rejects_bad_sizes(void **state)
{
    (void)state;
    char err[128];
    net n;
    int bad[3] = {4, -3, 2};
    assert_int_equal(net_create(&n, 2, bad, 0, 1.0f, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "-3"));
    int many_out[2] = {4, 40};
    assert_int_equal(net_create(&n, 1, many_out, 0, 1.0f, 1, err, sizeof err), -1);
    assert_int_equal(net_create(&n, 0, many_out, 0, 1.0f, 1, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_single_layer),
        cmocka_unit_test(test_gradients_last_layer_of_deep_net),
        cmocka_unit_test(test_straight_through_mask),
        cmocka_unit_test(test_inference_binary_matches_reference),
        cmocka_unit_test(test_inference_float_matches_reference),
        cmocka_unit_test(test_forward_bytes_matches_float),
        cmocka_unit_test(test_banks),
        cmocka_unit_test(test_create_rejects_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
