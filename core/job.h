/* job: long engine work on one worker thread.
 *
 * The main thread submits jobs (a function and its context); the worker runs them one at a
 * time in submission order. The main thread polls or waits for a job and may ask it to
 * cancel; a job's function polls job->cancel (train_task takes it as its cancel pointer).
 *
 * While it runs, a job publishes events (started, progress, finished) into a ring that the
 * faces drain at their own pace: the console at its frame rate, Lua while it waits. A pipe
 * (job_wake_fd) becomes readable whenever an event is published, for poll loops; drain it
 * with job_wake_clear.
 *
 * Ownership: job_submit hands the job to the system; the main thread keeps the pointer and
 * must call job_release once it has seen the job finish (state DONE, FAILED or CANCELLED).
 * The context is freed by free_ctx at release. */
#ifndef MPCL_JOB_H
#define MPCL_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "train.h"

typedef enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED } job_state;

const char *job_state_name(job_state s);

typedef struct job job;
/* The work: returns 0, or -1 with a message in err. It must poll j->cancel. */
typedef int (*job_fn)(job *j, void *ctx, char *err, size_t errlen);

/* What a job has published last: its fraction done and the last training epoch. */
typedef struct job_progress {
    double fraction;        /* 0..1, as far as the job can tell */
    double started, ended;  /* seconds on the monotonic clock; 0 until then */
    int has_train;          /* whether train holds an epoch */
    train_progress train;
    char status[64];        /* a short line: "task 3 epoch 7/20" */
} job_progress;

typedef enum job_event_kind { JOB_EV_STARTED, JOB_EV_PROGRESS, JOB_EV_FINISHED } job_event_kind;

#define JOB_MAX_VALUES 12

typedef struct job_event {
    uint64_t seq;   /* 1, 2, ... in publication order */
    int job_id;
    job_event_kind kind;
    job_state state; /* for FINISHED: how it ended */
    double fraction;
    int has_train;
    train_progress train;
    /* a result row published by the work (job_publish_values): tag says what it is */
    int tag, nvalues;
    double values[JOB_MAX_VALUES];
} job_event;

struct job {
    int id;                 /* 1, 2, ... in submission order */
    char name[48];          /* what it does: "exp:step" */
    volatile int cancel;    /* set to ask the job to stop; polled by the work */
    int sync;               /* job_publish waits for job_ack, so
                               that a progress callback on the main thread sees each epoch
                               before the next one starts (and can stop the job there) */
    /* private to job.c from here on */
    job_fn fn;
    void *ctx;
    void (*free_ctx)(void *ctx);
    _Atomic int state;
    struct job *next;
    char err[256];
    job_progress progress;
    uint64_t published, acked; /* the job's last progress event, the last acknowledged */
};

/* Start the worker thread and the wake pipe (idempotent). Returns 0 or -1. */
int job_system_start(void);
/* Cancel every job, wait for the worker to finish the running one and stop it. Jobs not yet
 * released stay allocated for their owners to release. */
void job_system_stop(void);
/* In the child of a fork() made while no job was queued or running: forget the parent's
 * worker thread (a child has only the thread that forked) and its wake pipe; the next
 * job_system_start starts the child's own. Event numbering continues. */
void job_system_after_fork(void);

/* Queue work; sync: see job.sync. Returns the job (state QUEUED), or NULL when out of
 * memory or the system cannot start (free_ctx(ctx) has then been called). */
job *job_submit(const char *name, job_fn fn, void *ctx, void (*free_ctx)(void *ctx), int sync);

job_state job_get_state(const job *j);
int job_finished(const job *j);
/* Ask the job to stop (a queued job is dropped when its turn comes). */
void job_cancel(job *j);
/* Wait until the job has finished or timeout_ms passed (< 0: no limit). Returns 1 when it
 * has finished, 0 on timeout. */
int job_wait(job *j, int timeout_ms);
/* Wait until some job finishes or timeout_ms passes. */
void job_wait_any(int timeout_ms);
/* A copy of the job's progress (safe from any thread). */
void job_get_progress(job *j, job_progress *out);
/* The failure message of a FAILED job ("" otherwise). */
const char *job_error(const job *j);
void *job_context(job *j);
void job_release(job *j);

/* From the work function: publish progress. fraction < 0 keeps the previous one; tp may be
 * NULL; status may be NULL. For a sync job, returns only after the main thread has
 * acknowledged the event (or the job is cancelled). */
void job_publish(job *j, double fraction, const train_progress *tp, const char *status);
/* From the work function: a small result row (tag is the work's own: e.g. an experiment
 * step's accuracies), for faces that show results as they come. Never waits. */
void job_publish_values(job *j, int tag, const double *values, int n);
/* From the main thread: the events of job j up to seq have been handled. */
void job_ack(job *j, uint64_t seq);

/* Events after *seq (the caller's cursor, 0 at first) into out (up to max); *seq advances.
 * Returns the count. When the ring has overwritten events the caller had not read,
 * *lost (may be NULL) is set to how many. */
int job_events(uint64_t *seq, job_event *out, int max, uint64_t *lost);
/* The read end of the wake pipe (-1 before job_system_start), and its drain. */
int job_wake_fd(void);
void job_wake_clear(void);

/* Whether a job is queued or running. */
int job_any_active(void);

#endif
