/* Fuzz target for session journals (sessions/journal): the parser of both formats, the
 * writer's rendering and the stream of results that --verify compares, on input nobody
 * vouches for. No Lua runs.
 *
 * The first byte picks the mode:
 *   0x01: the rest is a session: fields separated by NUL bytes, three per chunk (its code;
 *         its results separated by 0x01 bytes; its error, empty for none). It is rendered as
 *         the recorder writes it and parsed back: code, results and errors must come back
 *         byte for byte (what the REPL records is what the replay runs).
 *   else: the whole input is a journal file. When it parses, its rendering in format 2 must
 *         parse back to the same document (header, chunks, results, errors).
 * In both, the rendering cut at a byte picked from the input (what a kill or a power cut
 * leaves) must parse without error to the chunks before the cut, with the cut reported
 * when it falls inside a chunk; the result streams must agree. A broken property: abort().
 *
 * Built as the other targets are (tests/fuzz/README.md): build/fuzz-journal (libFuzzer) and
 * build/fuzz-journal-replay (tests/fuzz/replay.c: every input of a corpus once). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-journal: property broken: %s\n", what);
        abort();
    }
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static void same_header(const journal_header *a, const journal_header *b)
{
    check(!strcmp(a->version, b->version) && !strcmp(a->date, b->date) &&
              a->seed == b->seed && a->threads == b->threads && !strcmp(a->chip, b->chip),
          "header fields survive rendering");
    check(!strcmp(a->where.cpu, b->where.cpu) && !strcmp(a->where.isa, b->where.isa) &&
              !strcmp(a->where.libraries, b->where.libraries),
          "platform lines survive rendering");
    check(a->ndata == b->ndata, "data lines survive rendering");
    for (int i = 0; i < a->ndata; i++)
        check(!strcmp(a->data[i], b->data[i]), "data lines survive rendering");
}

/* Chunk a and chunk b hold the same code, results and error. */
static void same_chunk(const journal_chunk *a, const journal_chunk *b)
{
    check(a->number == b->number, "chunk numbers");
    check(!strcmp(a->code, b->code), "code comes back byte for byte");
    check(a->nrecords == b->nrecords, "result counts");
    for (int k = 0; k < a->nrecords; k++)
        check(!strcmp(a->records[k], b->records[k]), "results come back byte for byte");
    check(same_str(a->error, b->error), "errors come back byte for byte");
}

/* The result streams --verify walks agree on both documents, to the end. */
static void same_stream(const journal_doc *a, const journal_doc *b)
{
    journal_cursor ca = {0, 0}, cb = {0, 0};
    for (;;) {
        int la = 0, lb = 0;
        const char *ra = journal_next_result(a, &ca, &la), *rb = journal_next_result(b, &cb, &lb);
        check(same_str(ra, rb), "result streams agree");
        if (!ra)
            return;
        check(la > 0 && lb > 0, "results have line numbers");
    }
}

/* Internal consistency of a parsed document. */
static void sane(const journal_doc *d)
{
    check(d->format == 1 || d->format == 2, "format");
    check((d->cut_line > 0) == (d->cut[0] != '\0'), "cut line and warning go together");
    for (int i = 0; i < d->nchunks; i++) {
        const journal_chunk *c = &d->chunks[i];
        check(c->number == i + 1 && c->code, "chunks numbered from 1, with code");
        check(c->line > 0 && c->code_end >= c->line, "code lines");
        for (int k = 0; k < c->nrecords; k++)
            check(c->records[k] && c->record_lines[k] > 0, "results");
        check(!c->error || c->error_line > 0, "error line");
    }
}

/* Cut the rendering r (len bytes) at byte at: it parses, to the full document's first
 * chunks; a cut inside a chunk is reported as such. */
static void check_prefix(const char *r, size_t len, size_t at, const journal_doc *full)
{
    size_t first = strcspn(r, "\n") + 1;
    if (at < first) /* inside line 1: not yet a journal */
        at = first;
    if (at > len)
        at = len;
    journal_doc p;
    char err[700];
    int rc = journal_parse_buffer("prefix", r, at, &p, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "fuzz-journal: cut at %zu of %zu: %s\n", at, len, err);
    check(rc == 0, "a cut rendering parses");
    sane(&p);
    check(p.nchunks <= full->nchunks, "a cut rendering has no more chunks");
    for (int i = 0; i < p.nchunks; i++)
        same_chunk(&p.chunks[i], &full->chunks[i]);
    if (at == len)
        check(p.nchunks == full->nchunks && !p.cut_line, "the whole rendering is not cut");
    if (p.cut_chunk > 0)
        check(p.cut_chunk == p.nchunks + 1, "the cut chunk follows the last one read");
    journal_doc_free(&p);
}

/* Render d, parse it back (it must be the same document), cut it at the byte pick says. */
static void round_trip(const journal_doc *d, unsigned pick)
{
    size_t len;
    char *r = journal_render(d, &len);
    if (!r)
        return;
    journal_doc back;
    char err[700];
    int rc = journal_parse_buffer("rendering", r, len, &back, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "fuzz-journal: the rendering does not parse: %s\n", err);
    check(rc == 0, "a rendering parses");
    sane(&back);
    check(back.format == 2 && !back.cut_line, "a rendering is format 2, whole");
    check(back.nchunks == d->nchunks, "chunk count survives rendering");
    same_header(&d->header, &back.header);
    for (int i = 0; i < d->nchunks; i++)
        same_chunk(&d->chunks[i], &back.chunks[i]);
    same_stream(d, &back);
    check_prefix(r, len, len ? pick % (len + 1) : 0, &back);
    journal_doc_free(&back);
    free(r);
}

/* The next NUL-separated field of [*p, end) as a malloc'd string; "" past the end. */
static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *s = *p, *z = s < end ? memchr(s, 0, (size_t)(end - s)) : NULL;
    const uint8_t *stop = z ? z : (s < end ? end : s);
    char *f = strndup((const char *)s, (size_t)(stop - s));
    *p = z ? z + 1 : end;
    return f;
}

/* Split s on 0x01 into records of chunk c (s is consumed). */
static void split_records(journal_chunk *c, char *s)
{
    if (!*s) {
        free(s);
        return;
    }
    int n = 1;
    for (char *q = s; *q; q++)
        n += *q == 1;
    c->records = calloc((size_t)n, sizeof *c->records);
    c->record_lines = calloc((size_t)n, sizeof *c->record_lines);
    char *start = s;
    for (char *q = s;; q++)
        if (*q == 1 || !*q) {
            int last = !*q;
            *q = '\0';
            c->records[c->nrecords] = strdup(start);
            c->record_lines[c->nrecords++] = 1;
            start = q + 1;
            if (last)
                break;
        }
    free(s);
}

/* Mode 0x01: a session built from fields, rendered and parsed back. */
static void run_session(const uint8_t *data, size_t size, unsigned pick)
{
    journal_doc d;
    memset(&d, 0, sizeof d);
    d.format = 2;
    snprintf(d.header.version, sizeof d.header.version, "0.3.0");
    snprintf(d.header.chip, sizeof d.header.chip, "none");
    const uint8_t *p = data, *end = data + size;
    d.chunks = calloc(64, sizeof *d.chunks);
    while (d.chunks && p < end && d.nchunks < 64) {
        journal_chunk *c = &d.chunks[d.nchunks];
        c->number = ++d.nchunks;
        snprintf(c->when, sizeof c->when, "2026-01-01T00:00:00Z");
        c->code = field(&p, end);
        split_records(c, field(&p, end));
        c->error = field(&p, end);
        if (c->error && !*c->error) {
            free(c->error);
            c->error = NULL;
        }
        c->line = c->code_end = 1;
    }
    round_trip(&d, pick);
    journal_doc_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned pick = 2166136261u; /* FNV-1a of the input: where to cut the rendering */
    for (size_t i = 0; i < size; i++)
        pick = (pick ^ data[i]) * 16777619u;
    if (size >= 1 && data[0] == 1) {
        run_session(data + 1, size - 1, pick);
        return 0;
    }
    journal_doc d;
    char err[700];
    if (journal_parse_buffer("input", (const char *)data, size, &d, err, sizeof err) < 0) {
        check(err[0] != '\0' && !strchr(err, '\n'), "a failed parse says why, in one line");
        return 0;
    }
    sane(&d);
    check(!strchr(d.cut, '\n'), "the cut warning is one line");
    round_trip(&d, pick);
    journal_doc_free(&d);
    return 0;
}
