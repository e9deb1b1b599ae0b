#include "repl_rl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "platform.h"
#include "repl.h"

void repl_rl_history_path(char *out, size_t len)
{
    char dir[4000];
    out[0] = '\0';
    if (platform_state_dir(NULL, dir, sizeof dir) == 0)
        snprintf(out, len, "%s/history", dir);
}

void repl_rl_history_load(const char *path)
{
    if (!*path)
        return;
    read_history(path);
    history_truncate_file(path, 2000);
}

void repl_rl_history_add(const char *path, const char *line)
{
    if (!*line)
        return;
    add_history(line);
    if (*path && append_history(1, path) != 0)
        write_history(path);
}

static lua_State *the_L;
static char **completions;
static size_t ncompletions;

static char *next_completion(const char *text, int state)
{
    (void)text;
    static size_t i;
    if (!state)
        i = 0;
    return i < ncompletions ? strdup(completions[i++]) : NULL;
}

/* Tab: complete the name chain before the cursor ("exp:st", "lab.da"). */
static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    enum { MAX = 256 };
    repl_rl_free();
    completions = malloc(sizeof(char *) * MAX);
    ncompletions = completions ? repl_complete(the_L, text, completions, MAX) : 0;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    rl_completion_append_character = '\0';
    return rl_completion_matches(text, next_completion);
}

void repl_rl_completion(lua_State *L)
{
    the_L = L;
    rl_attempted_completion_function = complete;
    rl_completer_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^#~[]";
}

void repl_rl_free(void)
{
    for (size_t i = 0; i < ncompletions; i++)
        free(completions[i]);
    free(completions);
    completions = NULL;
    ncompletions = 0;
}
