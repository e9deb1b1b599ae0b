/* gnuplot: a figure through gnuplot's pngcairo terminal into a PNG with text chunks
 * (gnuplot.h). No pipe carries the script (it is a temporary file), so SIGPIPE never comes
 * into it; the child gets fds of its own, so the console's capture of fds 1 and 2 and its
 * terminal stay out of it. */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

extern char **environ;

int gnuplot_find(char *out, size_t len, char *err, size_t errlen)
{
    const char *path = getenv("PATH");
    const char *p = path ? path : "";
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char cand[PATH_MAX];
        int w = snprintf(cand, sizeof cand, "%.*s/gnuplot", (int)n, n ? p : ".");
        if (w > 0 && (size_t)w < sizeof cand && (size_t)w < len && access(cand, X_OK) == 0) {
            memcpy(out, cand, (size_t)w + 1);
            return 0;
        }
        p += n + (colon ? 1 : 0);
    }
    return err_set(err, errlen, "gnuplot not found on PATH (apt-get install gnuplot-nox)");
}

void gnuplot_quote(FILE *gp, const char *s)
{
    fputc('"', gp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fputc('\\', gp);
        if (c >= 32 && c != 127)
            fputc(c, gp);
    }
    fputc('"', gp);
}

/* path in single quotes (gnuplot's: a quote is doubled, nothing else is special). */
static void quote_single(FILE *gp, const char *s)
{
    fputc('\'', gp);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', gp);
        fputc(*s, gp);
    }
    fputc('\'', gp);
}

static void remove_temps(gnuplot_fig *f)
{
    if (f->gp)
        fclose(f->gp);
    f->gp = NULL;
    if (f->script[0])
        unlink(f->script);
    if (f->png[0])
        unlink(f->png);
    f->script[0] = f->png[0] = '\0';
}

void gnuplot_abort(gnuplot_fig *f) { remove_temps(f); }

/* The temporary PNG beside dest (which proves the directory writable): 0, or -1. */
static int make_png_temp(gnuplot_fig *f, const char *dest, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
        return err_set(err, errlen, "cannot write '%s': %s", dest, strerror(EISDIR));
    int w = snprintf(f->png, sizeof f->png, "%s.tmp-XXXXXX", dest);
    if (w < 0 || (size_t)w >= sizeof f->png) {
        f->png[0] = '\0';
        return err_set(err, errlen, "cannot write '%s': %s", dest, strerror(ENAMETOOLONG));
    }
    int fd = mkstemp(f->png);
    if (fd < 0) {
        f->png[0] = '\0';
        return err_set(err, errlen, "cannot write '%s': %s", dest, strerror(errno));
    }
    mode_t mask = umask(022); /* the PNG gets a new file's mode, not mkstemp's 0600 */
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);
    return 0;
}

static int make_script_temp(gnuplot_fig *f, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(f->script, sizeof f->script, "%s/mpcl-plot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(f->script);
    if (fd < 0) {
        err_format(err, errlen, "cannot make a temporary file in %s: %s",
                   tmp && *tmp ? tmp : "/tmp", strerror(errno));
        f->script[0] = '\0';
        return -1;
    }
    f->gp = fdopen(fd, "w");
    if (!f->gp) {
        close(fd);
        return err_set(err, errlen, "gnuplot script: out of memory");
    }
    return 0;
}

int gnuplot_begin(gnuplot_fig *f, const char *dest, int width, int height, int font,
                  char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (gnuplot_find(f->exe, sizeof f->exe, err, errlen) < 0)
        return -1;
    snprintf(f->dest, sizeof f->dest, "%s", dest);
    if (make_png_temp(f, dest, err, errlen) < 0 || make_script_temp(f, err, errlen) < 0) {
        remove_temps(f);
        return -1;
    }
    if (font <= 0)
        font = width / 90 > 8 ? width / 90 : 8;
    double lw = width / 1000.0 > 1 ? width / 1000.0 : 1;
    fprintf(f->gp, "set encoding utf8\n");
    fprintf(f->gp, "set terminal pngcairo size %d,%d font \",%d\" linewidth %.2f noenhanced\n",
            width, height, font, lw);
    fprintf(f->gp, "set output ");
    quote_single(f->gp, f->png);
    fprintf(f->gp, "\n");
    return 0;
}

/* The first line of gnuplot's complaint in the text it wrote to fd: the one that says
 * `"script" line N: what`, as "line N: what"; else the first line with words. */
static void first_error(int fd, char *out, size_t len)
{
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    const char *pick = NULL;
    for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        while (*l == ' ' || *l == '\t')
            l++;
        char *at = strstr(l, "\" line ");
        if (at) {
            pick = at + 2;
            break;
        }
        if (!pick && *l && *l != '^')
            pick = l;
    }
    snprintf(out, len, "%s", pick ? pick : "no message (exit status)");
}

/* Run gnuplot on the script with fds of its own and its own session; its stderr into errfd.
 * The exit status as waitpid gives it, or -1 when it could not start (errno). */
static int run_gnuplot(const gnuplot_fig *f, int errfd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the console's tty, pipes, sockets */
    posix_spawnattr_init(&at);
    sigset_t none, deflt;
    sigemptyset(&none);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGTERM);
    sigaddset(&deflt, SIGCHLD);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &deflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"gnuplot", (char *)f->script, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, f->exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

/* gnuplot on the script: 0, or -1 with its first error line. */
static int render(gnuplot_fig *f, const char *what, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char errpath[PATH_MAX];
    snprintf(errpath, sizeof errpath, "%s/mpcl-plot-err-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int errfd = mkstemp(errpath);
    if (errfd < 0)
        return err_set(err, errlen, "cannot make a temporary file for gnuplot: %s",
                       strerror(errno));
    unlink(errpath); /* gone when closed */
    int st = run_gnuplot(f, errfd);
    if (st < 0) {
        err_format(err, errlen, "cannot run %s: %s", f->exe, strerror(errno));
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char line[300];
        first_error(errfd, line, sizeof line);
        if (WIFSIGNALED(st))
            snprintf(line, sizeof line, "killed by signal %d", WTERMSIG(st));
        err_format(err, errlen, "gnuplot failed on %s: %s", what, line);
        st = -1;
    }
    close(errfd);
    return st < 0 ? -1 : 0;
}

/* gnuplot's output a PNG: 0, or -1 with "gnuplot wrote no valid PNG for WHAT (why)". */
static int checked_png(const gnuplot_fig *f, const char *what, char *err, size_t errlen)
{
    char why[PATH_MAX + 100];
    int w, h;
    if (png_size(f->png, &w, &h, why, sizeof why) == 0)
        return 0;
    const char *paren = strrchr(why, '(');
    return err_set(err, errlen, "gnuplot wrote no valid PNG for %s %s", what, paren ? paren : "");
}

int gnuplot_finish(gnuplot_fig *f, const char *what, const char *title, const char *description,
                   char *err, size_t errlen)
{
    int bad = ferror(f->gp);
    bad |= fclose(f->gp) != 0;
    f->gp = NULL;
    if (bad) {
        err_format(err, errlen, "cannot write the gnuplot script %s: %s", f->script,
                   strerror(errno));
        remove_temps(f);
        return -1;
    }
    const char *keys[3], *values[3];
    int n = 0;
    static const char software[] = "MPCL Lab " MPCL_VERSION;
    const char *const given[3] = {title, description, software};
    static const char *const names[3] = {"Title", "Description", "Software"};
    for (int i = 0; i < 3; i++)
        if (given[i]) {
            keys[n] = names[i];
            values[n++] = given[i];
        }
    if (render(f, what, err, errlen) < 0 || checked_png(f, what, err, errlen) < 0 ||
        png_add_text(f->png, n, keys, values, err, errlen) < 0) {
        remove_temps(f);
        return -1;
    }
    if (rename(f->png, f->dest) < 0) {
        err_format(err, errlen, "cannot write '%s': %s", f->dest, strerror(errno));
        remove_temps(f);
        return -1;
    }
    f->png[0] = '\0';
    remove_temps(f);
    return 0;
}

/* ---- PNG --------------------------------------------------------------------------------- */

uint32_t png_crc32(uint32_t crc, const void *buf, size_t n)
{
    static uint32_t table[256];
    static int ready;
    if (!ready) { /* idempotent: two threads would write the same values */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

enum { PNG_HEAD = 8 + 8 + 13 + 4 }; /* the signature and the IHDR chunk */

/* The file at path into *buf (malloc'd), checked to begin with a PNG signature and a sound
 * IHDR. Its size, or -1. */
static long read_png(const char *path, unsigned char **buf, char *err, size_t errlen)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    unsigned char *b = size >= PNG_HEAD ? malloc((size_t)size) : NULL;
    int ok = b && fseek(fp, 0, SEEK_SET) == 0 && fread(b, 1, (size_t)size, fp) == (size_t)size;
    fclose(fp);
    const char *why = !ok && size >= PNG_HEAD && !b ? "out of memory"
                      : !ok                          ? "too short or unreadable"
                      : memcmp(b, sig, 8)            ? "no PNG signature"
                      : get_be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) ? "no IHDR first"
                      : png_crc32(0, b + 12, 17) != get_be32(b + 29)       ? "a bad IHDR CRC"
                                                                           : NULL;
    if (why) {
        free(b);
        return err_set(err, errlen, "'%s' is not a PNG (%s)", path, why);
    }
    *buf = b;
    return size;
}

/* One tEXt chunk of key and value (bytes outside printable ASCII as '?') to fp. */
static void write_text_chunk(FILE *fp, const char *key, const char *value)
{
    size_t kl = strlen(key) > 79 ? 79 : strlen(key), vl = strlen(value);
    unsigned char head[8];
    put_be32(head, (uint32_t)(kl + 1 + vl));
    memcpy(head + 4, "tEXt", 4);
    fwrite(head, 1, 8, fp);
    uint32_t crc = png_crc32(0, "tEXt", 4);
    for (size_t i = 0; i < kl + 1 + vl; i++) {
        unsigned char c = i < kl    ? (unsigned char)key[i]
                          : i == kl ? 0
                                    : (unsigned char)value[i - kl - 1];
        if (i != kl && (c < 32 || c > 126))
            c = '?';
        fputc(c, fp);
        crc = png_crc32(crc, &c, 1);
    }
    unsigned char tail[4];
    put_be32(tail, crc);
    fwrite(tail, 1, 4, fp);
}

int png_add_text(const char *path, int n, const char *const *keys, const char *const *values,
                 char *err, size_t errlen)
{
    unsigned char *b;
    long size = read_png(path, &b, err, errlen);
    if (size < 0)
        return -1;
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(b);
        return err_set(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    }
    fwrite(b, 1, PNG_HEAD, fp);
    for (int i = 0; i < n; i++)
        write_text_chunk(fp, keys[i], values[i]);
    fwrite(b + PNG_HEAD, 1, (size_t)(size - PNG_HEAD), fp);
    free(b);
    int bad = ferror(fp);
    bad |= fclose(fp) != 0;
    if (bad)
        return err_set(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int png_size(const char *path, int *width, int *height, char *err, size_t errlen)
{
    unsigned char *b;
    if (read_png(path, &b, err, errlen) < 0)
        return -1;
    *width = (int)get_be32(b + 16);
    *height = (int)get_be32(b + 20);
    free(b);
    return 0;
}
