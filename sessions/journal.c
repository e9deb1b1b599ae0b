#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lua.h>
#include <zlib.h>

#include "data.h"

static void utc_now(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* CRC-32 of a file's bytes; -1 when it cannot be read. */
static long long file_crc(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static unsigned char buf[1 << 16];
    uLong c = crc32(0L, Z_NULL, 0);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        c = crc32(c, buf, (uInt)n);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : (long long)c;
}

void journal_header_fill(journal_header *h, const char *version, long long seed, int threads)
{
    memset(h, 0, sizeof *h);
    snprintf(h->version, sizeof h->version, "%s", version);
    utc_now(h->date, sizeof h->date);
    h->seed = seed;
    h->threads = threads;
    platform_get(&h->where, LUA_RELEASE);
    snprintf(h->chip, sizeof h->chip, "none");
    static const char *const sets[] = {"mnist", "fmnist"};
    static const char *const stems[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int s = 0; s < 2; s++) {
        const char *dir = data_dir_for(sets[s]);
        for (int k = 0; k < 4 && h->ndata < 8; k++) {
            for (int gz = 0; gz < 2; gz++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s%s", dir, stems[k], gz ? ".gz" : "");
                long long crc = file_crc(path);
                if (crc < 0)
                    continue;
                snprintf(h->data[h->ndata++], sizeof h->data[0], "%s/%s%s crc32=%08llx",
                         sets[s], stems[k], gz ? ".gz" : "", crc);
                break;
            }
        }
    }
}

static int write_all(journal *j, const char *s, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w = write(j->fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "%s: cannot write: %s", j->path, strerror(errno));
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Build text in a growing buffer. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return;
        b->p = np;
        b->cap = cap;
    }
}

static int flush(journal *j, sbuf *b, char *err, size_t errlen)
{
    int rc = b->p ? write_all(j, b->p, b->len, err, errlen) : -1;
    if (!b->p)
        snprintf(err, errlen, "%s: out of memory", j->path);
    free(b->p);
    if (rc == 0 && fsync(j->fd) < 0) {
        snprintf(err, errlen, "%s: cannot sync: %s", j->path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int journal_create(journal *j, const char *path, const journal_header *h, char *err,
                   size_t errlen)
{
    memset(j, 0, sizeof *j);
    snprintf(j->path, sizeof j->path, "%s", path);
    j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        snprintf(err, errlen, "%s: cannot create the journal: %s", path, strerror(errno));
        return -1;
    }
    sbuf b = {0};
    sb_add(&b, "%s\n-- version: %s\n-- date: %s\n-- seed: %lld\n-- threads: %d\n",
           JOURNAL_FIRST_LINE, h->version, h->date, h->seed, h->threads);
    sb_add(&b, "-- cpu: %s\n-- isa: %s\n-- libraries: %s\n", h->where.cpu, h->where.isa,
           h->where.libraries);
    for (int i = 0; i < h->ndata; i++)
        sb_add(&b, "-- data: %s\n", h->data[i]);
    sb_add(&b, "-- chip: %s\n-- Replay: mpcl --replay FILE [--step] [--verify] [--trust]\n",
           h->chip);
    int rc = flush(j, &b, err, errlen);
    if (rc < 0) {
        close(j->fd);
        j->fd = -1;
    }
    return rc;
}

/* One record or error per line: newlines inside become spaces. */
static void add_line(sbuf *b, const char *prefix, const char *text)
{
    sb_add(b, "%s", prefix);
    for (const char *c = text; *c; c++)
        sb_add(b, "%c", *c == '\n' || *c == '\r' ? ' ' : *c);
    sb_add(b, "\n");
}

int journal_append(journal *j, const char *code, const char *const *records, int nrecords,
                   const char *error, char *err, size_t errlen)
{
    if (j->fd < 0) {
        snprintf(err, errlen, "journal is not open");
        return -1;
    }
    char when[32];
    utc_now(when, sizeof when);
    sbuf b = {0};
    size_t n = strlen(code);
    /* do ... end: a chunk may end in `return`, which Lua allows only at a block's end. */
    sb_add(&b, "\n-- [chunk %d] %s\ndo\n%s%send\n", j->nchunks + 1, when, code,
           n && code[n - 1] == '\n' ? "" : "\n");
    for (int i = 0; i < nrecords; i++)
        add_line(&b, "--| ", records[i]);
    if (error)
        add_line(&b, "--! ", error);
    int rc = flush(j, &b, err, errlen);
    if (rc == 0)
        j->nchunks++;
    return rc;
}

int journal_append_records(journal *j, const char *const *records, int nrecords, char *err,
                           size_t errlen)
{
    if (nrecords == 0)
        return 0;
    sbuf b = {0};
    for (int i = 0; i < nrecords; i++)
        add_line(&b, "--| ", records[i]);
    return flush(j, &b, err, errlen);
}

void journal_close(journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

/* ---- reading ------------------------------------------------------------------------ */

void journal_doc_free(journal_doc *d)
{
    for (int i = 0; i < d->nchunks; i++) {
        journal_chunk *c = &d->chunks[i];
        free(c->code);
        for (int k = 0; k < c->nrecords; k++)
            free(c->records[k]);
        free(c->records);
        free(c->record_lines);
        free(c->error);
    }
    free(d->chunks);
    memset(d, 0, sizeof *d);
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r')
            return 0;
    return 1;
}

/* One "-- key: value" line of the header into h (other comments pass). Returns 0, or -1
 * with "FILE:LINE: problem" in err. */
static int header_line(journal_header *h, const char *line, const char *path, int ln,
                       char *err, size_t errlen)
{
    char key[32], val[320];
    if (sscanf(line, "-- %31[a-z]: %319[^\n]", key, val) != 2)
        return 0;
    const struct {
        const char *key;
        char *to;
        size_t size;
    } text[] = {{"version", h->version, sizeof h->version},
                {"date", h->date, sizeof h->date},
                {"chip", h->chip, sizeof h->chip},
                {"cpu", h->where.cpu, sizeof h->where.cpu},
                {"isa", h->where.isa, sizeof h->where.isa},
                {"libraries", h->where.libraries, sizeof h->where.libraries}};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (!strcmp(key, text[i].key)) {
            snprintf(text[i].to, text[i].size, "%s", val);
            return 0;
        }
    if (!strcmp(key, "data") && h->ndata < 8)
        snprintf(h->data[h->ndata++], sizeof h->data[0], "%s", val);
    int bad = (!strcmp(key, "seed") && sscanf(val, "%lld", &h->seed) != 1) ||
              (!strcmp(key, "threads") && sscanf(val, "%d", &h->threads) != 1);
    if (bad)
        snprintf(err, errlen, "%s:%d: %s must be an integer, got '%s'", path, ln, key, val);
    return bad ? -1 : 0;
}

static int out_of_memory(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
}

/* Line 1 names the format. Returns 0, or -1 with a message in err. */
static int first_line(const char *line, const char *path, char *err, size_t errlen)
{
    int fmt;
    if (sscanf(line, "-- MPCL Lab session journal, format %d", &fmt) != 1) {
        snprintf(err, errlen, "%s:1: not a session journal (the first line must be '%s')", path,
                 JOURNAL_FIRST_LINE);
        return -1;
    }
    if (fmt != JOURNAL_FORMAT) {
        snprintf(err, errlen, "%s:1: journal format %d, this lab reads format %d", path, fmt,
                 JOURNAL_FORMAT);
        return -1;
    }
    return 0;
}

/* A "-- [chunk N] TIME" marker: the next chunk of d, after checking its number and that the
 * chunk before it has code. Returns it, or NULL with a message in err. */
static journal_chunk *start_chunk(journal_doc *d, int *cap, const char *line, const char *path,
                                  int ln, char *err, size_t errlen)
{
    int number;
    char stamp[64];
    const journal_chunk *prev = d->nchunks ? &d->chunks[d->nchunks - 1] : NULL;
    if (sscanf(line, "-- [chunk %d] %63s", &number, stamp) != 2) {
        snprintf(err, errlen, "%s:%d: malformed chunk marker (expected '-- [chunk N] TIME')",
                 path, ln);
        return NULL;
    }
    if (number != d->nchunks + 1) {
        snprintf(err, errlen, "%s:%d: chunk marker says %d, expected %d", path, ln, number,
                 d->nchunks + 1);
        return NULL;
    }
    if (prev && !prev->code) {
        snprintf(err, errlen, "%s:%d: chunk %d is empty", path, ln, prev->number);
        return NULL;
    }
    if (d->nchunks == *cap) {
        int grown = *cap ? 2 * *cap : 16;
        journal_chunk *nc = realloc(d->chunks, sizeof *nc * (size_t)grown);
        if (!nc) {
            out_of_memory(path, err, errlen);
            return NULL;
        }
        d->chunks = nc;
        *cap = grown;
    }
    journal_chunk *c = &d->chunks[d->nchunks++];
    memset(c, 0, sizeof *c);
    c->number = number;
    return c;
}

/* A "--| record" or "--! error" line of chunk c. Returns 0, or -1 with a message in err. */
static int result_line(journal_chunk *c, const char *line, const char *path, int ln,
                       char *err, size_t errlen)
{
    if (!c->code) {
        snprintf(err, errlen, "%s:%d: a result line before chunk %d has any code", path, ln,
                 c->number);
        return -1;
    }
    if (starts(line, "--! ")) {
        if (c->error) {
            snprintf(err, errlen, "%s:%d: chunk %d has two error lines", path, ln, c->number);
            return -1;
        }
        c->error = strdup(line + 4);
        c->error_line = ln;
        return c->error ? 0 : out_of_memory(path, err, errlen);
    }
    char **nr = realloc(c->records, sizeof *nr * (size_t)(c->nrecords + 1));
    if (nr)
        c->records = nr;
    int *nl = realloc(c->record_lines, sizeof *nl * (size_t)(c->nrecords + 1));
    if (nl)
        c->record_lines = nl;
    if (!nr || !nl || !(c->records[c->nrecords] = strdup(line + 4)))
        return out_of_memory(path, err, errlen);
    c->record_lines[c->nrecords++] = ln;
    return 0;
}

/* Each chunk's code ends with the writer's "end" line (then blank separators): cut it.
 * Returns 0, or -1 with "FILE:LINE: problem" in err. */
static int strip_ends(journal_doc *d, const char *path, char *err, size_t errlen)
{
    for (int i = 0; i < d->nchunks; i++) {
        journal_chunk *c = &d->chunks[i];
        size_t n = strlen(c->code);
        while (n > 0 && (c->code[n - 1] == '\n' || c->code[n - 1] == ' ' ||
                         c->code[n - 1] == '\t' || c->code[n - 1] == '\r'))
            c->code[--n] = '\0';
        if (n < 3 || strcmp(c->code + n - 3, "end") || (n > 3 && c->code[n - 4] != '\n')) {
            snprintf(err, errlen, "%s:%d: chunk %d does not end with the line 'end'", path,
                     c->code_end, c->number);
            return -1;
        }
        c->code[n - 3] = '\0';
        if (n == 3) {
            snprintf(err, errlen, "%s:%d: chunk %d is empty", path, c->code_end, c->number);
            return -1;
        }
    }
    return 0;
}

/* A line of the header (before the first chunk marker): blank, or a "-- key: value". */
static int header_part(journal_doc *d, const char *line, const char *path, int ln, char *err,
                       size_t errlen)
{
    if (blank(line))
        return 0;
    if (!starts(line, "-- ")) {
        snprintf(err, errlen, "%s:%d: code before the first chunk marker '-- [chunk 1] TIME'",
                 path, ln);
        return -1;
    }
    return header_line(&d->header, line, path, ln, err, errlen);
}

/* A line of chunk cur's code, kept verbatim (blank lines between chunks are the writer's:
 * kept inside; strip_ends trims them); code accumulates it. */
static int code_line(journal_chunk *cur, sbuf *code, const char *line, const char *path, int ln,
                     char *err, size_t errlen)
{
    if (!cur->code) {
        cur->line = ln;
        code->len = 0;
        cur->code_end = ln;
    }
    if (!blank(line))
        cur->code_end = ln;
    sb_add(code, "%s\n", line);
    free(cur->code);
    cur->code = strndup(code->p ? code->p : "", code->len);
    if (!cur->code) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

#define FAIL(...)                                    \
    do {                                             \
        snprintf(err, errlen, __VA_ARGS__);          \
        goto fail;                                   \
    } while (0)

int journal_parse(const char *path, journal_doc *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ln = 0, in_header = 1, cap_chunks = 0, expect_do = 0;
    sbuf code = {0};
    journal_chunk *cur = NULL;
    while ((len = getline(&line, &cap, f)) >= 0) {
        ln++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (memchr(line, '\0', (size_t)len))
            FAIL("%s:%d: a NUL byte: not a text journal", path, ln);
        if (ln == 1) {
            if (first_line(line, path, err, errlen) < 0)
                goto fail;
            continue;
        }
        if (starts(line, "-- [chunk ")) {
            if (!(cur = start_chunk(d, &cap_chunks, line, path, ln, err, errlen)))
                goto fail;
            in_header = 0;
            expect_do = ln + 1;
            continue;
        }
        if (in_header) {
            if (header_part(d, line, path, ln, err, errlen) < 0)
                goto fail;
            continue;
        }
        if (ln == expect_do) {
            if (strcmp(line, "do"))
                FAIL("%s:%d: expected 'do' after the marker of chunk %d", path, ln, cur->number);
            continue;
        }
        if (starts(line, "--| ") || starts(line, "--! ")) {
            if (result_line(cur, line, path, ln, err, errlen) < 0)
                goto fail;
            continue;
        }
        if (cur->nrecords || cur->error) {
            if (blank(line))
                continue;
            FAIL("%s:%d: code after chunk %d's result lines (a '-- [chunk %d] TIME' marker "
                 "missing?)", path, ln, cur->number, cur->number + 1);
        }
        if (code_line(cur, &code, line, path, ln, err, errlen) < 0)
            goto fail;
    }
    if (ln == 0)
        FAIL("%s: empty file, not a session journal", path);
    if (cur && !cur->code)
        FAIL("%s:%d: chunk %d is empty", path, ln, cur->number);
    if (strip_ends(d, path, err, errlen) < 0)
        goto fail;
    free(code.p);
    free(line);
    fclose(f);
    return 0;
fail:
    free(code.p);
    free(line);
    fclose(f);
    journal_doc_free(d);
    return -1;
}
