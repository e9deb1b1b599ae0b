#include "journal.h"

#include <ctype.h>
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
#include "error.h"
#include "fileio.h"

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
            return err_set(err, errlen, "%s: cannot write: %s", j->path, strerror(errno));
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Build text in a growing buffer; oom is set (and the text stops growing) when memory runs
 * out. Appending is amortised linear. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static int sb_reserve(sbuf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more < b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap <= b->len + more) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (sb_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sb_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Write b's text and fsync; frees b. */
static int flush(journal *j, sbuf *b, char *err, size_t errlen)
{
    int rc = b->oom || !b->p ? -1 : write_all(j, b->p, b->len, err, errlen);
    if (b->oom || !b->p)
        err_format(err, errlen, "%s: out of memory", j->path);
    free(b->p);
    if (rc == 0 && fsync(j->fd) < 0) {
        err_format(err, errlen, "%s: cannot sync: %s", j->path, strerror(errno));
        rc = -1;
    }
    return rc;
}

static void render_header(sbuf *b, const journal_header *h)
{
    sb_add(b, "%s\n-- version: %s\n-- date: %s\n-- seed: %lld\n-- threads: %d\n",
           JOURNAL_FIRST_LINE, h->version, h->date, h->seed, h->threads);
    sb_add(b, "-- cpu: %s\n-- isa: %s\n-- libraries: %s\n", h->where.cpu, h->where.isa,
           h->where.libraries);
    for (int i = 0; i < h->ndata; i++)
        sb_add(b, "-- data: %s\n", h->data[i]);
    sb_add(b, "-- chip: %s\n-- Replay: mpcl --replay FILE [--step] [--verify] [--trust]\n",
           h->chip);
}

static int write_sbuf(int fd, void *ud)
{
    const sbuf *b = ud;
    return fileio_write_all(fd, b->p, b->len);
}

/* The header is written to a temporary file and linked into place (fileio_write_new): a
 * journal never exists without its whole header, even after a kill -9. */
int journal_create(journal *j, const char *path, const journal_header *h, char *err,
                   size_t errlen)
{
    memset(j, 0, sizeof *j);
    j->fd = -1;
    snprintf(j->path, sizeof j->path, "%s", path);
    sbuf b = {0};
    render_header(&b, h);
    int rc = b.oom ? -1 : fileio_write_new(path, write_sbuf, &b, err, errlen);
    if (b.oom)
        err_format(err, errlen, "%s: out of memory", path);
    free(b.p);
    if (rc == 0 && (j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0) {
        err_format(err, errlen, "%s: cannot open the journal: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* One result or error line: prefix, then text with backslash, CR, LF and other control
 * bytes escaped (\\, \r, \n, \xNN), so that it stays one line and reads back exactly. */
static void add_line(sbuf *b, const char *prefix, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    sb_put(b, prefix, strlen(prefix));
    const char *run = text;
    for (const char *c = text;; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch && ch != '\\' && (ch >= 0x20 || ch == '\t') && ch != 0x7f)
            continue;
        sb_put(b, run, (size_t)(c - run));
        if (!ch)
            break;
        char esc[4] = {'\\', (char)ch, 0, 0};
        size_t n = 2;
        if (ch == '\n' || ch == '\r') {
            esc[1] = ch == '\n' ? 'n' : 'r';
        } else if (ch != '\\') {
            esc[1] = 'x';
            esc[2] = hex[ch >> 4];
            esc[3] = hex[ch & 15];
            n = 4;
        }
        sb_put(b, esc, n);
        run = c + 1;
    }
    sb_put(b, "\n", 1);
}

/* A chunk as format 2 writes it: marker with the code's length and the result count, the
 * code verbatim in do ... end, the results, the error. */
static void render_chunk(sbuf *b, int number, const char *when, const char *code,
                         const char *const *records, int nrecords, const char *error)
{
    size_t n = strlen(code);
    sb_add(b, "\n-- [chunk %d] %s code=%zu results=%d\ndo\n", number, when, n,
           nrecords + (error != NULL));
    sb_put(b, code, n);
    sb_put(b, "\nend\n", 5);
    for (int i = 0; i < nrecords; i++)
        add_line(b, "--| ", records[i]);
    if (error)
        add_line(b, "--! ", error);
}

int journal_append(journal *j, const char *code, const char *const *records, int nrecords,
                   const char *error, char *err, size_t errlen)
{
    if (j->fd < 0)
        return err_set(err, errlen, "journal is not open");
    char when[32];
    utc_now(when, sizeof when);
    sbuf b = {0};
    render_chunk(&b, j->nchunks + 1, when, code, records, nrecords, error);
    int rc = flush(j, &b, err, errlen);
    if (rc == 0)
        j->nchunks++;
    return rc;
}

/* Results that arrived after the last chunk: "-- [after chunk N] results=K", then them. */
static void render_late(sbuf *b, int after, const char *const *records, int nrecords)
{
    sb_add(b, "-- [after chunk %d] results=%d\n", after, nrecords);
    for (int i = 0; i < nrecords; i++)
        add_line(b, "--| ", records[i]);
}

int journal_append_records(journal *j, const char *const *records, int nrecords, char *err,
                           size_t errlen)
{
    if (nrecords == 0 || j->nchunks == 0) /* no chunk, no job: nothing can have ended */
        return 0;
    if (j->fd < 0)
        return err_set(err, errlen, "journal is not open");
    sbuf b = {0};
    render_late(&b, j->nchunks, records, nrecords);
    return flush(j, &b, err, errlen);
}

void journal_close(journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

char *journal_render(const journal_doc *d, size_t *len)
{
    sbuf b = {0};
    render_header(&b, &d->header);
    for (int i = 0; i < d->nchunks; i++) {
        const journal_chunk *c = &d->chunks[i];
        render_chunk(&b, c->number, c->when[0] ? c->when : "-", c->code,
                     (const char *const *)c->records, c->nrecords, c->error);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
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

const char *journal_next_result(const journal_doc *d, journal_cursor *c, int *line)
{
    while (c->chunk < d->nchunks && c->rec >= d->chunks[c->chunk].nrecords) {
        c->chunk++;
        c->rec = 0;
    }
    if (c->chunk >= d->nchunks)
        return NULL;
    const journal_chunk *ch = &d->chunks[c->chunk];
    *line = ch->record_lines[c->rec];
    return ch->records[c->rec++];
}

/* The reader: a private, NUL-terminated copy of the file, read once from start to end (every
 * step is linear in what it reads). Lines are cut in place ('\n' becomes '\0'). */
typedef struct reader {
    char *p, *end;    /* the unread rest; *end == '\0' */
    const char *name; /* for messages */
    int ln;           /* the line number of the next line */
    char *err;
    size_t errlen;
    journal_doc *d;
    int cap_chunks;
} reader;

static int fail(reader *r, int ln, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "NAME:LINE: problem" into r->err (LINE 0: "NAME: problem"). Returns -1. */
static int fail(reader *r, int ln, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ln > 0)
        snprintf(r->err, r->errlen, "%s:%d: %s", r->name, ln, msg);
    else
        snprintf(r->err, r->errlen, "%s: %s", r->name, msg);
    return -1;
}

/* The next line (its '\n' cut), or NULL at the end of the text. *partial is 1 for a last
 * line without '\n' (an append cut short). *len is its length. A NUL byte in it: -1 in
 * *partial (reported). */
static char *take_line(reader *r, size_t *len, int *partial)
{
    if (r->p >= r->end)
        return NULL;
    char *s = r->p, *nl = memchr(s, '\n', (size_t)(r->end - s));
    char *stop = nl ? nl : r->end;
    *len = (size_t)(stop - s);
    *partial = !nl;
    r->ln++;
    r->p = nl ? nl + 1 : r->end;
    if (memchr(s, '\0', *len)) {
        fail(r, r->ln, "a NUL byte: not a text journal");
        *partial = -1;
        return s;
    }
    *stop = '\0';
    return s;
}

/* Record the cut: at line ln, inside chunk (0: the header or the late results). */
static void set_cut(reader *r, int ln, int chunk)
{
    journal_doc *d = r->d;
    d->cut_line = ln;
    d->cut_chunk = chunk;
    int kept = d->nchunks;
    if (chunk == 0 && kept == 0)
        snprintf(d->cut, sizeof d->cut, "%s:%d: journal cut inside its header (the recording "
                 "was interrupted): no chunk to read", r->name, ln);
    else if (chunk == 0)
        snprintf(d->cut, sizeof d->cut, "%s:%d: journal cut inside the results recorded "
                 "after chunk %d (the recording was interrupted): they are dropped", r->name,
                 ln, kept);
    else if (kept == 0)
        snprintf(d->cut, sizeof d->cut, "%s:%d: journal cut inside chunk %d (the recording "
                 "was interrupted): no complete chunk to read", r->name, ln, chunk);
    else
        snprintf(d->cut, sizeof d->cut, "%s:%d: journal cut inside chunk %d (the recording "
                 "was interrupted): chunks 1-%d are read, the rest is dropped", r->name, ln,
                 chunk, kept);
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
static int header_line(reader *r, const char *line)
{
    journal_header *h = &r->d->header;
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
    return bad ? fail(r, r->ln, "%s must be an integer, got '%s'", key, val) : 0;
}

/* Line 1 names the format (1 or 2) into d->format. Returns 0, or -1 with a message. */
static int first_line(reader *r)
{
    size_t len;
    int partial, fmt;
    char *line = take_line(r, &len, &partial);
    if (!line)
        return fail(r, 0, "empty file, not a session journal");
    if (partial < 0)
        return -1;
    if (sscanf(line, "-- MPCL Lab session journal, format %d", &fmt) != 1)
        return fail(r, 1, "not a session journal (the first line must be '%s')",
                    JOURNAL_FIRST_LINE);
    if (fmt != 1 && fmt != 2)
        return fail(r, 1, "journal format %d, this lab reads formats 1 and 2", fmt);
    r->d->format = fmt;
    return 0;
}

/* The header: blank lines and "-- key: value" lines up to the first chunk marker, which is
 * left unread. Returns 0 (a cut header is set_cut), or -1 with a message. */
static int header(reader *r)
{
    for (;;) {
        char *save = r->p;
        size_t len;
        int partial;
        char *line = take_line(r, &len, &partial);
        if (!line || partial < 0)
            return line ? -1 : 0;
        if (partial) {
            set_cut(r, r->ln, 0);
            return 0;
        }
        if (starts(line, "-- [chunk ")) {
            line[len] = '\n'; /* leave it for the chunk reader */
            r->p = save;
            r->ln--;
            return 0;
        }
        if (blank(line))
            continue;
        if (!starts(line, "-- "))
            return fail(r, r->ln, "code before the first chunk marker '-- [chunk 1] TIME'");
        if (header_line(r, line) < 0)
            return -1;
    }
}

/* A new chunk numbered number in r->d (its other fields zero). NULL when out of memory. */
static journal_chunk *new_chunk(reader *r, int number, const char *when)
{
    journal_doc *d = r->d;
    if (d->nchunks == r->cap_chunks) {
        int grown = r->cap_chunks ? 2 * r->cap_chunks : 16;
        journal_chunk *nc = realloc(d->chunks, sizeof *nc * (size_t)grown);
        if (!nc) {
            fail(r, 0, "out of memory");
            return NULL;
        }
        d->chunks = nc;
        r->cap_chunks = grown;
    }
    journal_chunk *c = &d->chunks[d->nchunks++];
    memset(c, 0, sizeof *c);
    c->number = number;
    snprintf(c->when, sizeof c->when, "%s", when);
    return c;
}

/* Drop the last chunk of d (the cut one). */
static void drop_last(journal_doc *d)
{
    journal_chunk *c = &d->chunks[--d->nchunks];
    free(c->code);
    for (int k = 0; k < c->nrecords; k++)
        free(c->records[k]);
    free(c->records);
    free(c->record_lines);
    free(c->error);
}

/* Add a result ("--| ...") or the error ("--! ...") text of line ln to chunk c (text is
 * taken: freed on failure). Returns 0, or -1 with a message. */
static int add_result(reader *r, journal_chunk *c, int is_error, char *text, int ln)
{
    if (!text)
        return fail(r, 0, "out of memory");
    if (is_error) {
        if (c->error) {
            free(text);
            return fail(r, ln, "chunk %d has two error lines", c->number);
        }
        c->error = text;
        c->error_line = ln;
        return 0;
    }
    int n = c->nrecords;
    if (n == 0 || (n >= 8 && !(n & (n - 1)))) { /* capacity: 8, 16, 32, ... */
        size_t cap = n ? 2 * (size_t)n : 8;
        char **nr = realloc(c->records, sizeof *nr * cap);
        if (nr)
            c->records = nr;
        int *nl = realloc(c->record_lines, sizeof *nl * cap);
        if (nl)
            c->record_lines = nl;
        if (!nr || !nl) {
            free(text);
            return fail(r, 0, "out of memory");
        }
    }
    c->records[n] = text;
    c->record_lines[n] = ln;
    c->nrecords++;
    return 0;
}

/* ---- format 1: chunks delimited by their lines ---------------------------------------- */

/* The code gathered for chunk c (if it has any) becomes c->code. */
static int finish_code_v1(reader *r, journal_chunk *c, sbuf *code)
{
    if (!c->line || c->code)
        return 0;
    c->code = code->oom ? NULL : strndup(code->p ? code->p : "", code->len);
    code->len = 0;
    return c->code ? 0 : fail(r, 0, "out of memory");
}

/* A "-- [chunk N] TIME" marker: the next chunk, after checking its number and that the
 * chunk before it has code. Returns it, or NULL with a message. */
static journal_chunk *marker_v1(reader *r, const char *line)
{
    int number;
    char stamp[64];
    journal_doc *d = r->d;
    const journal_chunk *prev = d->nchunks ? &d->chunks[d->nchunks - 1] : NULL;
    if (sscanf(line, "-- [chunk %d] %63s", &number, stamp) != 2) {
        fail(r, r->ln, "malformed chunk marker (expected '-- [chunk N] TIME')");
        return NULL;
    }
    if (number != d->nchunks + 1) {
        fail(r, r->ln, "chunk marker says %d, expected %d", number, d->nchunks + 1);
        return NULL;
    }
    if (prev && !prev->line) {
        fail(r, r->ln, "chunk %d is empty", prev->number);
        return NULL;
    }
    return new_chunk(r, number, stamp);
}

/* A "--| record" or "--! error" line of chunk c (format 1: literal text). */
static int result_v1(reader *r, journal_chunk *c, sbuf *code, const char *line)
{
    if (!c->line)
        return fail(r, r->ln, "a result line before chunk %d has any code", c->number);
    if (finish_code_v1(r, c, code) < 0)
        return -1;
    return add_result(r, c, line[2] == '!', strdup(line + 4), r->ln);
}

/* A line of chunk c's code, kept verbatim (blank lines between chunks are the writer's:
 * kept inside; end_v1 trims them). */
static void code_v1(reader *r, journal_chunk *c, sbuf *code, const char *line, size_t len)
{
    if (!c->line) {
        c->line = r->ln;
        c->code_end = r->ln;
        code->len = 0;
    }
    if (!blank(line))
        c->code_end = r->ln;
    sb_put(code, line, len);
    sb_put(code, "\n", 1);
}

/* Each chunk's code ends with the writer's "end" line (then blank separators): cut it.
 * Returns 0, 1 when it has none (the caller decides: a cut or an error), or -1 with a
 * message (an empty chunk). */
static int end_v1(reader *r, journal_chunk *c)
{
    size_t n = strlen(c->code);
    while (n > 0 && (c->code[n - 1] == '\n' || c->code[n - 1] == ' ' ||
                     c->code[n - 1] == '\t' || c->code[n - 1] == '\r'))
        c->code[--n] = '\0';
    if (n < 3 || strcmp(c->code + n - 3, "end") || (n > 3 && c->code[n - 4] != '\n'))
        return 1;
    c->code[n - 3] = '\0';
    if (n == 3)
        return fail(r, c->code_end, "chunk %d is empty", c->number);
    return 0;
}

/* After the last line: the last chunk is cut when the text ends inside one of its lines
 * (cut 1), or when it has no code or no "end" line (dropped, with the cut noted); cut 2: the
 * text ends inside the marker of the chunk after it. Every other chunk must end with
 * "end". */
static int close_v1(reader *r, int cut, int marker_ln)
{
    journal_doc *d = r->d;
    for (int i = 0; i < d->nchunks; i++) {
        journal_chunk *c = &d->chunks[i];
        int last = i == d->nchunks - 1, rc = c->code ? end_v1(r, c) : 1;
        if (rc < 0)
            return -1;
        if (rc == 1 && !last)
            return fail(r, c->code_end, "chunk %d does not end with the line 'end'",
                        c->number);
        if (last && (rc == 1 || cut == 1)) {
            int number = c->number;
            drop_last(d);
            set_cut(r, marker_ln, number);
        }
    }
    if (cut && !d->cut_line)
        set_cut(r, r->ln, d->nchunks + 1);
    return 0;
}

/* Format 1: the lines after the header. Linear: code lines are gathered in one buffer and
 * copied once per chunk. */
static int parse_v1(reader *r)
{
    sbuf code = {0};
    journal_chunk *cur = NULL;
    int expect_do = 0, cut = 0, marker_ln = 0, rc = 0;
    size_t len;
    char *line;
    while (rc == 0 && (line = take_line(r, &len, &cut))) {
        if (cut > 0 && !strcmp(line, "end")) /* a hand-written file's last line, whole */
            cut = 0;
        if (cut) { /* a cut marker: the chunk before it is whole */
            rc = cut < 0 ? -1 : 0;
            cut = cut > 0 && starts(line, "-- [") ? 2 : cut;
            break;
        }
        if (starts(line, "-- [chunk ")) {
            if ((cur && finish_code_v1(r, cur, &code) < 0) || !(cur = marker_v1(r, line)))
                rc = -1;
            expect_do = r->ln + 1;
            marker_ln = r->ln;
        } else if (r->ln == expect_do) {
            if (strcmp(line, "do"))
                rc = fail(r, r->ln, "expected 'do' after the marker of chunk %d", cur->number);
        } else if (starts(line, "--| ") || starts(line, "--! ")) {
            rc = result_v1(r, cur, &code, line);
        } else if (cur->nrecords || cur->error) {
            if (!blank(line))
                rc = fail(r, r->ln, "code after chunk %d's result lines (a '-- [chunk %d] "
                          "TIME' marker missing?)", cur->number, cur->number + 1);
        } else {
            code_v1(r, cur, &code, line, len);
        }
    }
    if (rc == 0 && cur)
        rc = finish_code_v1(r, cur, &code);
    free(code.p);
    return rc < 0 ? -1 : close_v1(r, cut, marker_ln);
}

/* ---- format 2: chunks read by their length -------------------------------------------- */

/* A result line's text with its escapes (\\, \r, \n, \xNN) undone, malloc'd; NULL with a
 * message. */
static char *unescape(reader *r, const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);
    if (!out) {
        fail(r, 0, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            out[o++] = s[i];
            continue;
        }
        char e = s[++i];
        unsigned v;
        if (e == '\\' || e == 'n' || e == 'r') {
            out[o++] = e == 'n' ? '\n' : e == 'r' ? '\r' : '\\';
        } else if (e == 'x' && sscanf(s + i + 1, "%2x", &v) == 1 && isxdigit((unsigned char)s[i + 1])
                   && isxdigit((unsigned char)s[i + 2]) && v != 0) {
            out[o++] = (char)v;
            i += 2;
        } else {
            free(out);
            fail(r, r->ln, "bad escape in a result line (\\\\, \\r, \\n or \\xNN, not NUL)");
            return NULL;
        }
    }
    out[o] = '\0';
    return out;
}

/* Take the exact bytes want (n of them) from r. Returns 0, 1 when the text ends before
 * them but matches as far as it goes (a cut), -1 when they differ. */
static int take_exact(reader *r, const char *want, size_t n)
{
    size_t avail = (size_t)(r->end - r->p);
    if (memcmp(r->p, want, avail < n ? avail : n))
        return -1;
    if (avail < n)
        return 1;
    r->p += n;
    return 0;
}

/* Chunk c's code: its n bytes, verbatim (none is an empty chunk, as the REPL may record),
 * then "\nend\n". Returns 0, 1 (cut), -1. */
static int code_v2(reader *r, journal_chunk *c, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return 1;
    if (memchr(r->p, '\0', n))
        return fail(r, r->ln + 1, "chunk %d's code holds a NUL byte", c->number);
    if (!(c->code = malloc(n + 1)))
        return fail(r, 0, "out of memory");
    memcpy(c->code, r->p, n);
    c->code[n] = '\0';
    int nl = 0;
    for (const char *q = r->p; (q = memchr(q, '\n', (size_t)(r->p + n - q))); q++)
        nl++;
    c->line = r->ln + 1;
    c->code_end = c->line + nl;
    r->p += n;
    r->ln = c->code_end;
    int rc = take_exact(r, "\nend\n", 5);
    if (rc < 0)
        return fail(r, c->code_end, "chunk %d: no line 'end' after its %zu bytes of code (was "
                    "the code edited? code= on the marker must be its length)", c->number, n);
    r->ln += 1;
    return rc;
}

/* k result lines ("--| text", "--! text") for chunk c; late: after the last chunk (no
 * "--!"). Returns 0, 1 (cut), -1. */
static int results_v2(reader *r, journal_chunk *c, long k, int late)
{
    for (long i = 0; i < k; i++) {
        size_t len;
        int partial;
        char *line = take_line(r, &len, &partial);
        if (!line || partial)
            return line && partial < 0 ? -1 : 1;
        int is_error = starts(line, "--! ") && !late;
        if (!starts(line, "--| ") && !is_error)
            return fail(r, r->ln, "%ld result lines announced%s, this is not one ('--| ...'%s)",
                        k, late ? " after the last chunk" : "", late ? "" : " or '--! ...'");
        char *text = unescape(r, line + 4);
        if (!text || add_result(r, c, is_error, text, r->ln) < 0)
            return -1;
    }
    return 0;
}

/* A "-- [chunk N] TIME code=BYTES results=K" marker and its chunk. Returns 0, 1 (cut: the
 * chunk dropped, the cut noted), -1. */
static int chunk_v2(reader *r, const char *line)
{
    int number, end = 0, marker_ln = r->ln;
    char when[64], bytes[21], count[10];
    if (sscanf(line, "-- [chunk %d] %63s code=%20[0-9] results=%9[0-9]%n", &number, when,
               bytes, count, &end) != 4 || line[end])
        return fail(r, r->ln, "malformed chunk marker (expected '-- [chunk N] TIME "
                    "code=BYTES results=K')");
    if (number != r->d->nchunks + 1)
        return fail(r, r->ln, "chunk marker says %d, expected %d", number, r->d->nchunks + 1);
    journal_chunk *c = new_chunk(r, number, when);
    if (!c)
        return -1;
    int rc = take_exact(r, "do\n", 3);
    if (rc < 0)
        return fail(r, r->ln + 1, "expected 'do' after the marker of chunk %d", number);
    r->ln += rc == 0;
    if (rc == 0)
        rc = code_v2(r, c, strtoull(bytes, NULL, 10));
    if (rc == 0)
        rc = results_v2(r, c, strtol(count, NULL, 10), 0);
    if (rc == 1) {
        drop_last(r->d);
        set_cut(r, marker_ln, number);
    }
    return rc;
}

/* "-- [after chunk N] results=K" and its K results, added to the last chunk. Returns 0, 1
 * (cut: they are dropped, the cut noted), -1. */
static int late_v2(reader *r, const char *line)
{
    int after, end = 0, marker_ln = r->ln;
    char count[10];
    journal_doc *d = r->d;
    if (sscanf(line, "-- [after chunk %d] results=%9[0-9]%n", &after, count, &end) != 2 ||
        line[end])
        return fail(r, r->ln, "malformed results marker (expected '-- [after chunk N] "
                    "results=K')");
    if (after != d->nchunks || after == 0)
        return fail(r, r->ln, "results after chunk %d, but chunk %d is the last", after,
                    d->nchunks);
    journal_chunk *c = &d->chunks[d->nchunks - 1];
    int had = c->nrecords;
    int rc = results_v2(r, c, strtol(count, NULL, 10), 1);
    if (rc == 1) {
        while (c->nrecords > had)
            free(c->records[--c->nrecords]);
        set_cut(r, marker_ln, 0);
    }
    return rc;
}

/* Format 2: after the header, chunks and late results, blank lines between them. */
static int parse_v2(reader *r)
{
    for (;;) {
        size_t len;
        int partial, rc;
        char *line = take_line(r, &len, &partial);
        if (!line)
            return 0;
        if (partial < 0)
            return -1;
        if (partial) {
            set_cut(r, r->ln, starts(line, "-- [a") ? 0 : r->d->nchunks + 1);
            return 0;
        }
        if (blank(line))
            continue;
        if (starts(line, "-- [chunk "))
            rc = chunk_v2(r, line);
        else if (starts(line, "-- [after chunk "))
            rc = late_v2(r, line);
        else
            return fail(r, r->ln, "unexpected text after chunk %d (expected '-- [chunk %d] "
                        "TIME code=BYTES results=K')", r->d->nchunks, r->d->nchunks + 1);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
}

/* Parse the NUL-terminated copy buf (len bytes) into d. */
static int parse_text(const char *name, char *buf, size_t len, journal_doc *d, char *err,
                      size_t errlen)
{
    memset(d, 0, sizeof *d);
    reader r = {buf, buf + len, name, 0, err, errlen, d, 0};
    int rc = first_line(&r);
    if (rc == 0)
        rc = header(&r);
    if (rc == 0 && !d->cut_line)
        rc = d->format == 1 ? parse_v1(&r) : parse_v2(&r);
    if (rc < 0)
        journal_doc_free(d);
    return rc;
}

int journal_parse_buffer(const char *name, const char *buf, size_t len, journal_doc *d,
                         char *err, size_t errlen)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        memset(d, 0, sizeof *d);
        return err_set(err, errlen, "%s: out of memory", name);
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';
    int rc = parse_text(name, copy, len, d, err, errlen);
    free(copy);
    return rc;
}

/* The whole of a regular file in a malloc'd buffer with a NUL after it; NULL + err. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = fileio_open_regular(path, err, errlen);
    if (fd < 0)
        return NULL;
    sbuf b = {0};
    for (;;) {
        if (sb_reserve(&b, 1 << 16) < 0) {
            err_format(err, errlen, "%s: out of memory", path);
            break;
        }
        ssize_t n = read(fd, b.p + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err_format(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        if (n <= 0) {
            close(fd);
            if (n < 0)
                break;
            b.p[b.len] = '\0';
            *len = b.len;
            return b.p;
        }
        b.len += (size_t)n;
    }
    close(fd);
    free(b.p);
    return NULL;
}

int journal_parse(const char *path, journal_doc *d, char *err, size_t errlen)
{
    size_t len;
    char *buf = read_file(path, &len, err, errlen);
    if (!buf) {
        memset(d, 0, sizeof *d);
        return -1;
    }
    int rc = parse_text(path, buf, len, d, err, errlen);
    free(buf);
    return rc;
}
