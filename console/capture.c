#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct piece {
    struct piece *next;
    int is_error;
    size_t len;
    char text[];
} piece;

static struct {
    int saved[2];   /* the original 1 and 2 */
    int rd[2];      /* read ends of the pipes */
    int stop[2];    /* a pipe that tells the thread to end */
    int wake;
    pthread_t thread;
    pthread_mutex_t mu;
    piece *head, *tail;
    int on;
} cap = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void push(const char *buf, size_t n, int is_error)
{
    piece *p = malloc(sizeof *p + n);
    if (!p)
        return; /* out of memory: the text is lost, the lab goes on */
    p->next = NULL;
    p->is_error = is_error;
    p->len = n;
    memcpy(p->text, buf, n);
    pthread_mutex_lock(&cap.mu);
    if (cap.tail)
        cap.tail->next = p;
    else
        cap.head = p;
    cap.tail = p;
    pthread_mutex_unlock(&cap.mu);
    if (cap.wake >= 0) {
        char c = 2;
        ssize_t w = write(cap.wake, &c, 1);
        (void)w;
    }
}

static void *drain(void *arg)
{
    (void)arg;
    char buf[4096];
    for (;;) {
        struct pollfd pf[3] = {{cap.rd[0], POLLIN, 0}, {cap.rd[1], POLLIN, 0}, {cap.stop[0], POLLIN, 0}};
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int got = 0;
        for (int i = 0; i < 2; i++)
            if (pf[i].revents & (POLLIN | POLLHUP)) {
                ssize_t n = read(cap.rd[i], buf, sizeof buf);
                if (n > 0) {
                    push(buf, (size_t)n, i == 1);
                    got = 1;
                }
            }
        if (!got && (pf[2].revents & POLLIN))
            break; /* stop asked and nothing left to read */
    }
    return NULL;
}

int capture_start(int wake_fd)
{
    if (cap.on)
        return -1;
    fflush(stdout);
    fflush(stderr);
    int tty = dup(STDOUT_FILENO);
    int p1[2], p2[2];
    if (tty < 0 || pipe(p1) < 0 || pipe(p2) < 0 || pipe(cap.stop) < 0)
        return -1;
    fcntl(tty, F_SETFD, FD_CLOEXEC);
    cap.saved[0] = dup(STDOUT_FILENO);
    cap.saved[1] = dup(STDERR_FILENO);
    dup2(p1[1], STDOUT_FILENO);
    dup2(p2[1], STDERR_FILENO);
    close(p1[1]);
    close(p2[1]);
    cap.rd[0] = p1[0];
    cap.rd[1] = p2[0];
    cap.wake = wake_fd;
    setvbuf(stdout, NULL, _IOLBF, 0); /* a pipe now: line buffering keeps print timely */
    if (pthread_create(&cap.thread, NULL, drain, NULL) != 0) {
        capture_stop();
        close(tty);
        return -1;
    }
    cap.on = 1;
    return tty;
}

void capture_stop(void)
{
    fflush(stdout);
    fflush(stderr);
    if (cap.saved[0] > 0) {
        dup2(cap.saved[0], STDOUT_FILENO);
        dup2(cap.saved[1], STDERR_FILENO);
        close(cap.saved[0]);
        close(cap.saved[1]);
        cap.saved[0] = cap.saved[1] = 0;
    }
    if (cap.on) {
        char c = 1;
        ssize_t w = write(cap.stop[1], &c, 1);
        (void)w;
        pthread_join(cap.thread, NULL);
        cap.on = 0;
    }
    for (int i = 0; i < 2; i++) {
        if (cap.rd[i] > 0)
            close(cap.rd[i]);
        if (cap.stop[i] > 0)
            close(cap.stop[i]);
        cap.rd[i] = cap.stop[i] = 0;
    }
}

void capture_take(void (*fn)(void *ud, const char *text, size_t len, int is_error), void *ud)
{
    pthread_mutex_lock(&cap.mu);
    piece *p = cap.head;
    cap.head = cap.tail = NULL;
    pthread_mutex_unlock(&cap.mu);
    while (p) {
        piece *next = p->next;
        fn(ud, p->text, p->len, p->is_error);
        free(p);
        p = next;
    }
}
