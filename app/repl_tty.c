#include "repl_tty.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "job.h"
#include "lab.h"
#include "repl.h"
#include "session.h"

#define PROMPT "mpcl> "
#define PROMPT_MORE "  >> "

static repl the_repl;
static lua_State *the_L;
static volatile sig_atomic_t running, got_sigint;
static int done;
static char history_path[4096];

static void on_sigint(int sig)
{
    (void)sig;
    if (running)
        repl_interrupt(the_L); /* the chunk stops with "interrupted!"; the lab stays */
    else
        got_sigint = 1; /* at the prompt: the main loop drops the line */
}

static void write_out(void *ud, const char *text, int is_error)
{
    (void)ud;
    fputs(text, is_error ? stderr : stdout);
    fflush(is_error ? stderr : stdout);
}

/* ${XDG_STATE_HOME:-$HOME/.local/state}/mpcl/history, its directory created; "" if none. */
static void find_history_path(void)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[4000];
    if (state && *state)
        snprintf(dir, sizeof dir, "%s/mpcl", state);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/mpcl", home);
    else
        return;
    /* mkdir -p, one level at a time */
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return;
    snprintf(history_path, sizeof history_path, "%s/history", dir);
}

/* A line from the lab (a job finished) while the prompt is up: print it above the prompt
 * and redraw the line being typed. */
static void notify(void *ud, const char *text)
{
    (void)ud;
    if (running) {
        fputs(text, stdout);
        fflush(stdout);
        return;
    }
    int point = rl_point;
    char *saved = rl_copy_text(0, rl_end);
    rl_save_prompt();
    rl_replace_line("", 0);
    rl_redisplay();
    fputs("\r", stdout);
    fputs(text, stdout);
    rl_restore_prompt();
    rl_replace_line(saved, 0);
    rl_point = point;
    rl_forced_update_display();
    free(saved);
}

static void on_line(char *line);

static void install_prompt(void)
{
    rl_callback_handler_install(repl_has_pending(&the_repl) ? PROMPT_MORE : PROMPT, on_line);
}

static void on_line(char *line)
{
    if (!line) { /* Ctrl-D */
        done = 1;
        rl_callback_handler_remove();
        putchar('\n');
        return;
    }
    if (*line) {
        add_history(line);
        if (*history_path && append_history(1, history_path) != 0)
            write_history(history_path);
    }
    /* The terminal goes back to normal while the chunk runs (its output, Ctrl-C). */
    rl_callback_handler_remove();
    running = 1;
    repl_feed(&the_repl, line);
    running = 0;
    free(line);
    install_prompt();
}

/* Tab: complete the name chain before the cursor ("exp:st", "lab.da"). */
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

static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    enum { MAX = 256 };
    for (size_t i = 0; i < ncompletions; i++)
        free(completions[i]);
    free(completions);
    completions = malloc(sizeof(char *) * MAX);
    ncompletions = completions ? repl_complete(the_L, text, completions, MAX) : 0;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    rl_completion_append_character = '\0';
    return rl_completion_matches(text, next_completion);
}

int repl_tty_run(lua_State *L, const char *record, long long seed, int threads)
{
    the_L = L;
    repl_init(&the_repl, L, write_out, NULL);
    session sess;
    memset(&sess, 0, sizeof sess);
    char path[4096] = "";
    if (!record) {
        if (session_default_path(path, sizeof path) < 0)
            fprintf(stderr, "mpcl: no state directory: this session is not recorded\n");
    } else {
        snprintf(path, sizeof path, "%s", record);
    }
    if (*path) {
        char err[512];
        if (session_start(&sess, &the_repl, path, seed, threads, err, sizeof err) < 0)
            fprintf(stderr, "mpcl: this session is not recorded: %s\n", err);
        else
            printf("Recording this session in %s\n", path);
    }
    find_history_path();
    if (*history_path) {
        read_history(history_path);
        history_truncate_file(history_path, 2000);
    }
    rl_readline_name = "mpcl";
    rl_attempted_completion_function = complete;
    rl_completer_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^#~[]";
    rl_variable_bind("enable-bracketed-paste", "off");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    rl_catch_signals = 0; /* ours: readline must not re-raise SIGINT at us */
    printf("MPCL Lab %s, Lua REPL. help() lists the lab; Ctrl-C interrupts or cancels jobs, "
           "Ctrl-D leaves.\n", MPCL_VERSION);
    lab_jobs_set_background(1);
    lab_jobs_set_notify(notify, NULL);
    job_system_start();
    install_prompt();
    while (!done) {
        struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = job_wake_fd(), .events = POLLIN}};
        int r = poll(pfd, 2, -1);
        if (got_sigint) {
            got_sigint = 0;
            int n = lab_jobs_cancel_all(the_L);
            if (n > 0) { /* Ctrl-C at the prompt with jobs running: cancel them */
                char msg[80];
                snprintf(msg, sizeof msg, "^C: cancelling %d job%s\n", n, n > 1 ? "s" : "");
                notify(NULL, msg);
                continue;
            }
            /* Drop the line being typed and any pending chunk; a fresh prompt. */
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_replace_line("", 0);
            repl_reset(&the_repl);
            fputs("^C\n", stdout);
            rl_callback_handler_remove();
            install_prompt();
            continue;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (r > 0 && (pfd[1].revents & POLLIN))
            lab_jobs_poll(the_L);
        if (r > 0 && (pfd[0].revents & (POLLIN | POLLHUP)))
            rl_callback_read_char();
    }
    for (size_t i = 0; i < ncompletions; i++)
        free(completions[i]);
    free(completions);
    lab_jobs_shutdown(L);
    session_finish(&sess);
    repl_free(&the_repl);
    return 0;
}
