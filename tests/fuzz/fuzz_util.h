/* Helpers shared by the fuzz targets (static: each target includes what it uses).
 *
 * fuzz_memfile: the parsers under test take paths, and read them through core/fileio, which
 * accepts regular files only; a memfd is one (S_ISREG), reached as /proc/self/fd/N, and costs
 * no disk and no temporary directory to clean up.
 *
 * fuzz_sim_uri: a chip URI made cheap to open and safe to fuzz: plugin:, tcp:// and serial:
 * URIs (dlopen, connect) are refused; rows and cols above a cap are lowered to it (a 4096 x
 * 4096 chip is legal and takes a second to build: the fuzzer would learn nothing faster);
 * defaults for rows and cols are put first when absent (later options override them); a
 * non-empty map= or map_neg= value becomes the path given (any path would read any file). */
#ifndef MPCL_FUZZ_UTIL_H
#define MPCL_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding data[0..size): its descriptor (close it), its path in path; -1 if the
 * system refuses (then the input is skipped). */
static inline int fuzz_memfile(const void *data, size_t size, char *path, size_t len)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, p + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

static inline int fuzz_is_remote_uri(const char *uri)
{
    return !strncmp(uri, "plugin:", 7) || !strncmp(uri, "tcp://", 6) ||
           !strncmp(uri, "serial:", 7);
}

/* One option token for fuzz_sim_uri: rows/cols capped, map paths replaced. */
static inline void fuzz_sim_token(char *out, size_t n, const char *tok, int cap,
                                  const char *map_path)
{
    const char *eq = strchr(tok, '=');
    size_t klen = eq ? (size_t)(eq - tok) : 0;
    if (eq && ((klen == 4 && !strncmp(tok, "rows", 4)) || (klen == 4 && !strncmp(tok, "cols", 4)))) {
        char *end;
        double d = strtod(eq + 1, &end);
        if (end != eq + 1 && !*end && d > cap) {
            snprintf(out, n, "%.4s=%d", tok, cap);
            return;
        }
    }
    if (eq && eq[1] && ((klen == 3 && !strncmp(tok, "map", 3)) ||
                        (klen == 7 && !strncmp(tok, "map_neg", 7)))) {
        snprintf(out, n, "%.*s=%s", (int)klen, tok, map_path);
        return;
    }
    snprintf(out, n, "%s", tok);
}

/* The URI in (NUL-terminated) rewritten into out[n] as the header says; 0, or -1 to skip it
 * (a remote URI, or too long). Not "sim" or "sim:...": copied as it is (an unknown kind). */
static inline int fuzz_sim_uri(const char *in, char *out, size_t n, int rows, int cols, int cap,
                               const char *map_path)
{
    if (fuzz_is_remote_uri(in))
        return -1;
    if (strcmp(in, "sim") && strncmp(in, "sim:", 4))
        return snprintf(out, n, "%s", in) < (int)n ? 0 : -1;
    size_t o = (size_t)snprintf(out, n, "sim:rows=%d,cols=%d", rows, cols);
    const char *p = in + 4;
    while (in[3] && o < n) {
        /* Tokens as sim.c cuts them, empty ones kept (sim.c skips them: so do we, as ","). */
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char tok[4096], rew[4096 + 64];
        if (len >= sizeof tok)
            return -1;
        memcpy(tok, p, len);
        tok[len] = '\0';
        fuzz_sim_token(rew, sizeof rew, tok, cap, map_path);
        o += (size_t)snprintf(out + o, n - o, ",%s", rew);
        if (!comma)
            break;
        p = comma + 1;
    }
    return o < n ? 0 : -1;
}

#endif
