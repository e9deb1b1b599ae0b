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
#include "repl_rl.h"
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
    repl_rl_history_add(history_path, line);
    /* The terminal goes back to normal while the chunk runs (its output, Ctrl-C). */
    rl_callback_handler_remove();
    running = 1;
    repl_feed(&the_repl, line);
    running = 0;
    free(line);
    install_prompt();
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
    repl_rl_history_path(history_path, sizeof history_path);
    repl_rl_history_load(history_path);
    rl_readline_name = "mpcl";
    repl_rl_completion(L);
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
    repl_rl_free();
    lab_jobs_shutdown(L);
    session_finish(&sess);
    repl_free(&the_repl);
    return 0;
}
