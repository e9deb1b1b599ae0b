#include "job.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 1024 /* events; at ten a second per job, minutes of history */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done, ack;
    pthread_t worker;
    int started, stopping;
    job *head, *tail;     /* queued, in order */
    job *running;
    int next_id;
    int active;           /* queued + running */
    job_event ring[RING];
    uint64_t seq;         /* events published so far */
    int wake[2];
} js = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}};

const char *job_state_name(job_state s)
{
    static const char *const names[] = {"queued", "running", "done", "failed", "cancelled"};
    return (unsigned)s < 5 ? names[s] : "?";
}

/* With js.mu held. */
static job_event *publish_locked(job *j, job_event_kind kind)
{
    job_event *e = &js.ring[js.seq % RING];
    js.seq++;
    e->seq = js.seq;
    e->tag = e->nvalues = 0;
    e->job_id = j->id;
    e->kind = kind;
    e->state = (job_state)atomic_load(&j->state);
    e->fraction = j->progress.fraction;
    e->has_train = j->progress.has_train;
    e->train = j->progress.train;
    if (js.wake[1] >= 0) {
        char c = 1;
        ssize_t w = write(js.wake[1], &c, 1); /* a full pipe is already readable */
        (void)w;
    }
    return e;
}

void job_publish_values(job *j, int tag, const double *values, int n)
{
    pthread_mutex_lock(&js.mu);
    job_event *e = publish_locked(j, JOB_EV_PROGRESS);
    e->has_train = 0;
    e->tag = tag;
    e->nvalues = n < JOB_MAX_VALUES ? n : JOB_MAX_VALUES;
    memcpy(e->values, values, sizeof(double) * (size_t)e->nvalues);
    pthread_mutex_unlock(&js.mu);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&js.mu);
    for (;;) {
        while (!js.head && !js.stopping)
            pthread_cond_wait(&js.work, &js.mu);
        if (js.stopping)
            break;
        job *j = js.head;
        js.head = j->next;
        if (!js.head)
            js.tail = NULL;
        j->next = NULL;
        int rc = 0;
        if (j->cancel) {
            atomic_store(&j->state, JOB_CANCELLED);
        } else {
            js.running = j;
            atomic_store(&j->state, JOB_RUNNING);
            j->progress.started = clock_seconds();
            publish_locked(j, JOB_EV_STARTED);
            pthread_mutex_unlock(&js.mu);
            rc = j->fn(j, j->ctx, j->err, sizeof j->err);
            pthread_mutex_lock(&js.mu);
            js.running = NULL;
            j->progress.ended = clock_seconds();
            atomic_store(&j->state, rc < 0 ? JOB_FAILED : j->cancel ? JOB_CANCELLED : JOB_DONE);
            if (rc == 0)
                j->progress.fraction = 1.0;
        }
        js.active--;
        publish_locked(j, JOB_EV_FINISHED);
        pthread_cond_broadcast(&js.done);
    }
    pthread_mutex_unlock(&js.mu);
    return NULL;
}

int job_system_start(void)
{
    pthread_mutex_lock(&js.mu);
    int rc = 0;
    if (!js.started) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&js.done, &ca);
        pthread_cond_init(&js.work, NULL);
        pthread_cond_init(&js.ack, NULL);
        pthread_condattr_destroy(&ca);
        if (pipe(js.wake) == 0) {
            for (int i = 0; i < 2; i++)
                fcntl(js.wake[i], F_SETFL, fcntl(js.wake[i], F_GETFL) | O_NONBLOCK);
            fcntl(js.wake[0], F_SETFD, FD_CLOEXEC);
            fcntl(js.wake[1], F_SETFD, FD_CLOEXEC);
        } else {
            js.wake[0] = js.wake[1] = -1;
        }
        js.stopping = 0;
        if (pthread_create(&js.worker, NULL, worker_main, NULL) == 0)
            js.started = 1;
        else
            rc = -1;
    }
    pthread_mutex_unlock(&js.mu);
    return rc;
}

void job_system_after_fork(void)
{
    pthread_mutex_init(&js.mu, NULL);
    for (int i = 0; i < 2; i++)
        if (js.wake[i] >= 0) {
            close(js.wake[i]);
            js.wake[i] = -1;
        }
    js.started = js.stopping = 0;
    js.head = js.tail = js.running = NULL;
    js.active = 0;
}

void job_system_stop(void)
{
    pthread_mutex_lock(&js.mu);
    if (!js.started) {
        pthread_mutex_unlock(&js.mu);
        return;
    }
    for (job *j = js.head; j; j = j->next) {
        j->cancel = 1;
        atomic_store(&j->state, JOB_CANCELLED);
        js.active--;
    }
    js.head = js.tail = NULL;
    if (js.running)
        js.running->cancel = 1;
    js.stopping = 1;
    pthread_cond_broadcast(&js.ack);
    pthread_cond_broadcast(&js.work);
    pthread_cond_broadcast(&js.done);
    pthread_mutex_unlock(&js.mu);
    pthread_join(js.worker, NULL);
    pthread_mutex_lock(&js.mu);
    js.started = 0;
    for (int i = 0; i < 2; i++)
        if (js.wake[i] >= 0) {
            close(js.wake[i]);
            js.wake[i] = -1;
        }
    pthread_cond_destroy(&js.work);
    pthread_cond_destroy(&js.ack);
    pthread_cond_destroy(&js.done);
    pthread_mutex_unlock(&js.mu);
}

job *job_submit(const char *name, job_fn fn, void *ctx, void (*free_ctx)(void *ctx), int sync)
{
    job *j = calloc(1, sizeof *j);
    if (!j || job_system_start() < 0) {
        free(j);
        if (free_ctx)
            free_ctx(ctx);
        return NULL;
    }
    snprintf(j->name, sizeof j->name, "%s", name);
    j->fn = fn;
    j->ctx = ctx;
    j->free_ctx = free_ctx;
    j->sync = sync;
    atomic_store(&j->state, JOB_QUEUED);
    pthread_mutex_lock(&js.mu);
    j->id = ++js.next_id;
    if (js.tail)
        js.tail->next = j;
    else
        js.head = j;
    js.tail = j;
    js.active++;
    pthread_cond_signal(&js.work);
    pthread_mutex_unlock(&js.mu);
    return j;
}

job_state job_get_state(const job *j) { return (job_state)atomic_load(&j->state); }

int job_finished(const job *j) { return job_get_state(j) >= JOB_DONE; }

void job_cancel(job *j)
{
    pthread_mutex_lock(&js.mu);
    j->cancel = 1;
    pthread_cond_broadcast(&js.ack); /* a sync job waiting for its ack goes on to stop */
    pthread_mutex_unlock(&js.mu);
}

static struct timespec deadline(int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

void job_wait_any(int timeout_ms)
{
    struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&js.mu);
    if (js.started && js.active > 0)
        pthread_cond_timedwait(&js.done, &js.mu, &until);
    pthread_mutex_unlock(&js.mu);
}

int job_wait(job *j, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&js.mu);
    while (!job_finished(j) && js.started) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&js.done, &js.mu);
        } else if (pthread_cond_timedwait(&js.done, &js.mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&js.mu);
    return job_finished(j);
}

void job_get_progress(job *j, job_progress *out)
{
    pthread_mutex_lock(&js.mu);
    *out = j->progress;
    pthread_mutex_unlock(&js.mu);
}

const char *job_error(const job *j) { return job_get_state(j) == JOB_FAILED ? j->err : ""; }

void *job_context(job *j) { return j->ctx; }

void job_release(job *j)
{
    if (!j)
        return;
    if (j->free_ctx)
        j->free_ctx(j->ctx);
    free(j);
}

void job_publish(job *j, double fraction, const train_progress *tp, const char *status)
{
    pthread_mutex_lock(&js.mu);
    if (fraction >= 0)
        j->progress.fraction = fraction > 1 ? 1 : fraction;
    if (tp) {
        j->progress.train = *tp;
        j->progress.train.tap = NULL; /* events outlive the callback */
        j->progress.has_train = 1;
    }
    if (status)
        snprintf(j->progress.status, sizeof j->progress.status, "%s", status);
    publish_locked(j, JOB_EV_PROGRESS);
    j->published = js.seq;
    while (j->sync && j->acked < j->published && !j->cancel && !js.stopping)
        pthread_cond_wait(&js.ack, &js.mu);
    pthread_mutex_unlock(&js.mu);
}

void job_ack(job *j, uint64_t seq)
{
    pthread_mutex_lock(&js.mu);
    if (seq > j->acked) {
        j->acked = seq;
        pthread_cond_broadcast(&js.ack);
    }
    pthread_mutex_unlock(&js.mu);
}

int job_events(uint64_t *seq, job_event *out, int max, uint64_t *lost)
{
    pthread_mutex_lock(&js.mu);
    uint64_t first = js.seq > RING ? js.seq - RING : 0; /* oldest event still held */
    uint64_t from = *seq < first ? first : *seq;
    if (lost)
        *lost = from - *seq;
    int n = 0;
    while (from < js.seq && n < max)
        out[n++] = js.ring[from++ % RING];
    *seq = from;
    pthread_mutex_unlock(&js.mu);
    return n;
}

int job_wake_fd(void) { return js.wake[0]; }

void job_wake_clear(void)
{
    char buf[256];
    if (js.wake[0] >= 0)
        while (read(js.wake[0], buf, sizeof buf) > 0)
            ;
}

int job_any_active(void)
{
    pthread_mutex_lock(&js.mu);
    int a = js.active;
    pthread_mutex_unlock(&js.mu);
    return a > 0;
}
