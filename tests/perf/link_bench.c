/* The chip link's cost: the whole 512 x 512 array programmed and 10,000 VMMs run over
 * loopback TCP against a board emulator (mpcl-chipd, started here), and the same on the
 * in-process sim with the same id in the same run; prints both, the ratio (the bar:
 * batched VMMs at most 2x the in-process time), and checks that the two chips agree bit
 * for bit (conductances after programming, every VMM output).
 *
 *   mpcl-bench-link [--chipd build/mpcl-chipd] [--vectors 10000] [--batch 1000] [--p 16]
 *                   [--repeat 3] [--faults "--drop 0.05 ..."] [--options "&timeout_ms=300"]
 * --faults passes fault options to the board (then the figures are the link's under those
 * faults; the outputs must still agree exactly). Exit status 0 when they agree. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chip.h"
#include "clock.h"

extern char **environ;

#define N 512

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Start the board; its TCP address into addr. */
static pid_t start_board(const char *chipd, const char *faults, char *addr, size_t len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec %s --listen 127.0.0.1:0 --id 42 %s", chipd,
             faults ? faults : "");
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {"sh", "-c", cmd, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        return -1;
    }
    FILE *f = fdopen(fds[0], "r");
    char line[512] = "";
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "mpcl-chipd: listening on %255s",
                                                      addr) != 1) {
        fprintf(stderr, "mpcl-bench-link: the board did not start (%s)\n", line);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        if (f)
            fclose(f);
        return -1;
    }
    (void)len;
    fclose(f);
    return pid;
}

typedef struct bench {
    int vectors, batch, p, repeat;
    uint8_t *target[2];
    uint64_t *bits;
} bench;

/* Place one 512 x 512 layer and program both arrays; seconds taken. */
static double program_all(chip *c, const bench *b, chip_report *rep)
{
    char err[512];
    chip_rect r = {0, 0, N, N};
    double t0 = clock_seconds();
    if (chip_place(c, 1, &r, err, sizeof err) < 0 ||
        chip_program(c, CHIP_POS, r, b->target[0], NULL, &rep[0], NULL, err, sizeof err) < 0 ||
        chip_program(c, CHIP_NEG, r, b->target[1], NULL, &rep[1], NULL, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl-bench-link: %s\n", err);
        exit(1);
    }
    return clock_seconds() - t0;
}

/* All vectors through VMMs in batches; the best of `repeat` runs, in seconds. The outputs
 * of every run go to y (vectors, N) in turn, so the last run's stay. */
static double vmm_all(chip *c, const bench *b, int32_t *y)
{
    char err[512];
    double best = 1e30;
    for (int rep = 0; rep < b->repeat; rep++) {
        double t0 = clock_seconds();
        for (int k = 0; k < b->vectors; k += b->batch) {
            int B = b->vectors - k < b->batch ? b->vectors - k : b->batch;
            if (chip_vmm_bits(c, 0, b->p, b->bits + (size_t)k * 8, 8, B, 1, y + (size_t)k * N,
                              err, sizeof err) < 0) {
                fprintf(stderr, "mpcl-bench-link: %s\n", err);
                exit(1);
            }
        }
        double t = clock_seconds() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static void open_chip(chip *c, const char *uri)
{
    char err[512];
    if (chip_open(c, uri, err, sizeof err) < 0) {
        fprintf(stderr, "mpcl-bench-link: %s\n", err);
        exit(1);
    }
}

static long same_cells(chip *a, chip *b)
{
    float *ga = malloc(sizeof(float) * N * N), *gb = malloc(sizeof(float) * N * N);
    char err[512];
    long same = 0;
    chip_rect r = {0, 0, N, N};
    for (int arr = 0; arr < 2; arr++) {
        if (chip_peek(a, arr, r, ga, err, sizeof err) < 0 ||
            chip_peek(b, arr, r, gb, err, sizeof err) < 0) {
            fprintf(stderr, "mpcl-bench-link: %s\n", err);
            exit(1);
        }
        for (size_t k = 0; k < (size_t)N * N; k++)
            same += ga[k] == gb[k];
    }
    free(ga);
    free(gb);
    return same;
}

/* The remaining commands on both chips, compared: single pulses and reads, parameters,
 * time passing, and the int8 VMM with per-group outputs. Returns the mismatches. */
static long every_command(chip *a, chip *b)
{
    char err[512];
    long bad = 0;
    chip *c[2] = {a, b};
    float g[2][64];
    double v[2];
    enum { B = 20 };
    int8_t *x = malloc(B * N);
    int32_t *y[2] = {malloc(sizeof(int32_t) * B * N), malloc(sizeof(int32_t) * B * N)};
    int32_t *gr[2] = {malloc(sizeof(int32_t) * B * 32 * N), malloc(sizeof(int32_t) * B * 32 * N)};
    uint64_t s = 7;
    for (int k = 0; k < B * N; k++)
        x[k] = (int8_t)((int)(rnd(&s) % 3) - 1);
    for (int i = 0; i < 2; i++) {
        chip_rect r = {3, 5, 8, 8};
        if (chip_pulse(c[i], CHIP_POS, 3, 5, CHIP_RESET, 1.8f, 1e-7f, err, sizeof err) < 0 ||
            chip_pulse(c[i], CHIP_NEG, 4, 6, CHIP_SET, 1.5f, 1e-7f, err, sizeof err) < 0 ||
            chip_set(c[i], "time_s", 3600, err, sizeof err) < 0 ||
            chip_set(c[i], "adc_bits", 12, err, sizeof err) < 0 ||
            chip_read(c[i], CHIP_POS, r, g[i], err, sizeof err) < 0 ||
            chip_get(c[i], "array_ops", &v[i], err, sizeof err) < 0 ||
            chip_vmm(c[i], 0, 16, x, B, y[i], gr[i], err, sizeof err) < 0) {
            fprintf(stderr, "mpcl-bench-link: %s\n", err);
            exit(1);
        }
    }
    bad += memcmp(g[0], g[1], sizeof g[0]) != 0;
    bad += v[0] != v[1];
    bad += memcmp(y[0], y[1], sizeof(int32_t) * B * N) != 0;
    bad += memcmp(gr[0], gr[1], sizeof(int32_t) * B * 32 * N) != 0;
    free(x);
    for (int i = 0; i < 2; i++) {
        free(y[i]);
        free(gr[i]);
    }
    return bad;
}

static void args(int argc, char **argv, bench *b, const char **chipd, const char **faults,
                 const char **options)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--chipd"))
            *chipd = v;
        else if (!strcmp(k, "--faults"))
            *faults = v;
        else if (!strcmp(k, "--options"))
            *options = v;
        else if (!strcmp(k, "--vectors"))
            b->vectors = atoi(v);
        else if (!strcmp(k, "--batch"))
            b->batch = atoi(v);
        else if (!strcmp(k, "--p"))
            b->p = atoi(v);
        else if (!strcmp(k, "--repeat"))
            b->repeat = atoi(v);
        else {
            fprintf(stderr, "mpcl-bench-link: unknown option %s\n", k);
            exit(2);
        }
    }
    if (b->vectors < 1 || b->batch < 1 || b->p < 1 || b->p > N || b->repeat < 1) {
        fprintf(stderr, "mpcl-bench-link: --vectors, --batch, --repeat >= 1, --p 1-512\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    bench b = {10000, 1000, 16, 3, {NULL, NULL}, NULL};
    const char *chipd = "build/mpcl-chipd", *faults = "", *options = "";
    args(argc, argv, &b, &chipd, &faults, &options);
    signal(SIGPIPE, SIG_IGN);
    char addr[256], uri[600];
    pid_t pid = start_board(chipd, faults, addr, sizeof addr);
    if (pid < 0)
        return 1;
    snprintf(uri, sizeof uri, "tcp://%s?timeout_ms=2000%s", addr, options);
    uint64_t s = 42;
    b.target[0] = malloc(N * N);
    b.target[1] = malloc(N * N);
    b.bits = malloc(sizeof(uint64_t) * 8 * (size_t)b.vectors);
    int32_t *y_sim = malloc(sizeof(int32_t) * N * (size_t)b.vectors);
    int32_t *y_link = malloc(sizeof(int32_t) * N * (size_t)b.vectors);
    for (size_t k = 0; k < (size_t)N * N; k++) {
        b.target[0][k] = rnd(&s) & 1;
        b.target[1][k] = !b.target[0][k];
    }
    for (size_t k = 0; k < 8 * (size_t)b.vectors; k++)
        b.bits[k] = rnd(&s);

    chip sim, link;
    open_chip(&sim, "sim:id=42");
    open_chip(&link, uri);
    chip_report rs[2], rl[2];
    double prog_sim = program_all(&sim, &b, rs), prog_link = program_all(&link, &b, rl);
    long same = same_cells(&sim, &link);
    double vmm_sim = vmm_all(&sim, &b, y_sim), vmm_link = vmm_all(&link, &b, y_link);
    long diff = 0;
    for (size_t k = 0; k < (size_t)N * b.vectors; k++)
        diff += y_sim[k] != y_link[k];
    long others = every_command(&sim, &link);

    char err[256];
    double lat = 0, retries = 0, reconnects = 0, hits = 0, executed = 0, calls = 0;
    chip_get(&link, "link_latency_ms", &lat, err, sizeof err);
    chip_get(&link, "link_retries", &retries, err, sizeof err);
    chip_get(&link, "link_reconnects", &reconnects, err, sizeof err);
    chip_get(&link, "link_calls", &calls, err, sizeof err);
    chip_get(&link, "board_session_executed", &executed, err, sizeof err);
    chip_get(&link, "board_cache_hits", &hits, err, sizeof err);
    printf("board: mpcl-chipd --id 42 %s over %s\n", faults, uri);
    printf("program 512 x 512, both arrays (%ld cells, %ld pulses, %ld failed): in-process "
           "%.3f s, link %.3f s (%.2fx)\n", rs[0].cells + rs[1].cells,
           rs[0].pulses + rs[1].pulses, rs[0].failed + rs[1].failed, prog_sim, prog_link,
           prog_link / prog_sim);
    printf("  reports equal: %s; cells equal to the in-process sim's: %ld of %d\n",
           rs[0].pulses == rl[0].pulses && rs[1].pulses == rl[1].pulses &&
                   rs[0].failed == rl[0].failed && rs[1].failed == rl[1].failed
               ? "yes" : "NO",
           same, 2 * N * N);
    printf("vmm: %d vectors of 512 x 512 at p = %d in batches of %d (best of %d): in-process "
           "%.4f s (%.0f vectors/s), link %.4f s (%.0f vectors/s): ratio %.2fx\n", b.vectors,
           b.p, b.batch, b.repeat, vmm_sim, b.vectors / vmm_sim, vmm_link,
           b.vectors / vmm_link, vmm_link / vmm_sim);
    printf("  outputs differing: %ld of %ld\n", diff, (long)N * b.vectors);
    printf("pulse, read, set, get, int8 vmm with per-group outputs: %s\n",
           others ? "DIFFER" : "identical");
    printf("link: %.0f requests, the board ran %.0f, %.0f repeats answered from its cache; "
           "retries %.0f, reconnects %.0f, mean latency %.3f ms\n", calls, executed, hits,
           retries, reconnects, lat);
    int ok = diff == 0 && others == 0 && same == 2 * N * N && executed == calls;
    fflush(stdout);
    chip_close(&link);
    chip_close(&sim);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(b.target[0]);
    free(b.target[1]);
    free(b.bits);
    free(y_sim);
    free(y_link);
    return ok ? 0 : 1;
}
