/* The corpus replayer: main() for a fuzz target built without libFuzzer (gcc, ASan+UBSan),
 * linked with the target's tests/fuzz/fuzz_NAME.c as build/fuzz-NAME-replay.
 *
 *   fuzz-NAME-replay FILE|DIR...
 *
 * runs the target's LLVMFuzzerInitialize (when it has one) and then every input once, files
 * of a directory in name order, and prints how many. A crash is the sanitizers' abort; the
 * exit status is 1 when a path cannot be read, else 0. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* One input: the whole file in a buffer of exactly its size (so ASan sees overreads). */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return -1;
    }
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) {
        memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
    }
    free(exact);
    free(buf);
    return exact ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every file under a directory (dot files skipped), in name order. */
static int run_path(const char *path, long *count)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: %s: no such file or directory\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, NULL), rc = 0;
    if (n < 0) {
        fprintf(stderr, "replay: %s: cannot read the directory\n", path);
        return -1;
    }
    char **full = calloc((size_t)n + 1, sizeof *full);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (full && names[i]->d_name[0] != '.' &&
            asprintf(&full[k], "%s/%s", path, names[i]->d_name) >= 0)
            k++;
        free(names[i]);
    }
    free(names);
    if (!full)
        return -1;
    qsort(full, (size_t)k, sizeof *full, by_name);
    for (int i = 0; i < k; i++) {
        rc |= run_path(full[i], count);
        free(full[i]);
    }
    free(full);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    long count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= run_path(argv[i], &count);
    printf("%s: %ld inputs replayed, no crash\n", argv[0], count);
    return rc ? 1 : 0;
}
