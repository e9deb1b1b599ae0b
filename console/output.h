/* output: the console's output pane's text: everything Lua prints, the lab's notices, the
 * REPL's echo of each chunk, errors marked. A ring of at most OUTPUT_MAX lines; text is
 * appended in pieces (a piece may end inside a line). */
#ifndef MPCL_OUTPUT_H
#define MPCL_OUTPUT_H

#include <stddef.h>

#define OUTPUT_MAX 4000

typedef enum output_kind { OUT_TEXT, OUT_ERROR, OUT_ECHO, OUT_NOTICE } output_kind;

typedef struct output_line {
    char *text; /* UTF-8, no newline */
    output_kind kind;
} output_line;

typedef struct output {
    output_line line[OUTPUT_MAX];
    int first, count;   /* ring */
    int open;           /* the last line is still being written */
    output_kind open_kind;
    int scroll;         /* lines scrolled back from the bottom */
    unsigned version;   /* bumped on every change */
} output;

void output_init(output *o);
void output_free(output *o);
void output_add(output *o, const char *text, size_t len, output_kind kind);
/* Line i (0 = oldest) of the ring. */
const output_line *output_get(const output *o, int i);
void output_scroll(output *o, int delta, int page);

#endif
