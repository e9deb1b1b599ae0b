#include "output.h"

#include <stdlib.h>
#include <string.h>

void output_init(output *o) { memset(o, 0, sizeof *o); }

void output_free(output *o)
{
    for (int i = 0; i < o->count; i++)
        free(o->line[(o->first + i) % OUTPUT_MAX].text);
    memset(o, 0, sizeof *o);
}

static output_line *last(output *o) { return &o->line[(o->first + o->count - 1) % OUTPUT_MAX]; }

static void new_line(output *o, output_kind kind)
{
    if (o->count == OUTPUT_MAX) { /* drop the oldest */
        free(o->line[o->first].text);
        o->first = (o->first + 1) % OUTPUT_MAX;
        o->count--;
    }
    output_line *l = &o->line[(o->first + o->count) % OUTPUT_MAX];
    l->text = calloc(1, 1);
    l->kind = kind;
    o->count++;
    if (o->scroll > 0)
        o->scroll++; /* keep the view where the reader left it */
}

static void append(output_line *l, const char *s, size_t n)
{
    if (!l->text)
        return;
    size_t old = strlen(l->text);
    char *t = realloc(l->text, old + n + 1);
    if (!t)
        return;
    for (size_t i = 0; i < n; i++) /* tabs to spaces, other controls dropped */
        t[old++] = s[i] == '\t' ? ' ' : s[i];
    t[old] = '\0';
    l->text = t;
}

void output_add(output *o, const char *text, size_t len, output_kind kind)
{
    size_t i = 0;
    while (i < len) {
        if (!o->open || o->open_kind != kind) {
            new_line(o, kind);
            o->open = 1;
            o->open_kind = kind;
        }
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        char clean[4096];
        size_t n = 0;
        for (size_t k = i; k < j; k++) {
            unsigned char c = (unsigned char)text[k];
            if (c >= 0x20 || c == '\t')
                clean[n++] = (char)c;
            if (n == sizeof clean) {
                append(last(o), clean, n);
                n = 0;
            }
        }
        append(last(o), clean, n);
        if (j < len) /* a newline ends the line */
            o->open = 0;
        i = j + 1;
    }
    o->version++;
}

const output_line *output_get(const output *o, int i)
{
    return i >= 0 && i < o->count ? &o->line[(o->first + i) % OUTPUT_MAX] : NULL;
}

void output_scroll(output *o, int delta, int page)
{
    int s = o->scroll + delta * (page > 0 ? page : 1);
    if (s > o->count - 1)
        s = o->count - 1;
    o->scroll = s < 0 ? 0 : s;
    o->version++;
}
