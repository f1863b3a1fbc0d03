/* pool.c - a persistent pool of worker threads that runs the independent
 * tasks of one kernel call (fmlp_parallel_for), spinning briefly between
 * calls and sleeping when idle; safe across fork().
 * It does not decide how work is split (callers cut their output into tasks
 * whose results do not depend on which thread runs them) and never nests:
 * a call made while the pool is busy runs serially in its caller.
 *
 * Protocol. The caller publishes a job (fields, then `gate` reopened, then
 * `generation` bumped) and runs tasks itself. A worker that notices the new
 * generation enters through `gate` (an atomic count with a CLOSED bit), takes
 * tasks, and leaves. When every task is done the caller closes the gate and
 * waits only for workers already inside; a worker that arrives late (it was
 * asleep or descheduled) finds the gate closed and goes back to waiting. So a
 * busy machine can slow a job down but never stall it on a worker that has
 * not started. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "internal.h"

#define POOL_MAX_WORKERS (FMLP_MAX_THREADS - 1)
/* Polls (roughly 50-100 us) a worker spins before sleeping: a training step
 * issues several parallel calls with short serial gaps between them. */
#define POOL_SPIN 20000
/* Polls the caller spins waiting for stragglers before yielding its core. */
#define POOL_WAIT_SPIN 2000
#define GATE_CLOSED 0x40000000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

typedef struct {
    /* the job being run */
    fmlp_task_fn fn;
    void *ctx;
    int64_t n_tasks;
    atomic_llong next_task;
    atomic_llong tasks_done;
    atomic_int gate;            /* workers inside the job, | GATE_CLOSED when closed */
    atomic_uint generation;     /* bumped once per job */
    int participants;           /* workers 0 .. participants-1 may enter */
    /* sleeping */
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    int sleepers;
    /* workers */
    unsigned start_gen[POOL_MAX_WORKERS];
    int n_workers;
    pthread_mutex_t busy;       /* held by the caller running a job */
} fmlp_pool;

static fmlp_pool g_pool = {
    .gate = GATE_CLOSED,
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .busy = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static atomic_int g_default_threads = 0;   /* 0: all cores */
static _Thread_local int t_thread_budget = 0;

static void run_tasks(fmlp_pool *p)
{
    for (;;) {
        int64_t t = atomic_fetch_add_explicit(&p->next_task, 1, memory_order_relaxed);
        if (t >= p->n_tasks) break;
        p->fn(p->ctx, t);
        atomic_fetch_add_explicit(&p->tasks_done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg)
{
    const int index = (int)(intptr_t)arg;
    fmlp_pool *p = &g_pool;
    /* Not a fresh load: a job posted right after this worker was created
     * must not be missed. */
    unsigned seen = p->start_gen[index];
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (++spins < POOL_SPIN) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->mutex);
            while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) {
                p->sleepers++;
                pthread_cond_wait(&p->wake, &p->mutex);
                p->sleepers--;
            }
            pthread_mutex_unlock(&p->mutex);
        }
        seen = gen;
        int inside = atomic_fetch_add_explicit(&p->gate, 1, memory_order_acq_rel);
        if (!(inside & GATE_CLOSED) && index < p->participants) run_tasks(p);
        atomic_fetch_sub_explicit(&p->gate, 1, memory_order_release);
    }
    return NULL;
}

/* In a forked child only the forking thread exists: forget the workers and
 * re-create the locks (one may have been held by a thread that is gone). */
static void pool_atfork_child(void)
{
    fmlp_pool *p = &g_pool;
    p->n_workers = 0;
    p->sleepers = 0;
    p->participants = 0;
    atomic_store(&p->generation, 0);
    atomic_store(&p->gate, GATE_CLOSED);
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_mutex_init(&p->busy, NULL);
}

static void pool_register_atfork(void) { pthread_atfork(NULL, NULL, pool_atfork_child); }

/* Counted once: sysconf reads /sys and sched_getaffinity is a system call,
 * far too slow for every kernel call of a microsecond predict. */
static atomic_int g_cpus = 0;

static int count_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0 && c < n) n = c;
    }
#endif
    if (n < 1) n = 1;
    if (n > POOL_MAX_WORKERS + 1) n = POOL_MAX_WORKERS + 1;
    return (int)n;
}

static int online_cpus(void)
{
    int n = atomic_load_explicit(&g_cpus, memory_order_relaxed);
    if (n == 0) {
        n = count_cpus();
        atomic_store_explicit(&g_cpus, n, memory_order_relaxed);
    }
    return n;
}

int fmlp_cpu_count(void) { return online_cpus(); }

void fmlp_set_default_threads(int n) { atomic_store(&g_default_threads, n < 0 ? 0 : n); }

int fmlp_get_default_threads(void)
{
    int n = atomic_load(&g_default_threads);
    return n > 0 ? n : online_cpus();
}

int fmlp_set_thread_budget(int n)
{
    int old = t_thread_budget;
    t_thread_budget = n < 0 ? 0 : n;
    return old;
}

int fmlp_threads_for_call(void)
{
    int n = t_thread_budget > 0 ? t_thread_budget : fmlp_get_default_threads();
    int cpus = online_cpus();
    return n < cpus ? n : cpus;
}

/* Start workers until there are `want`; returns how many exist. */
static int ensure_workers(fmlp_pool *p, int want)
{
    if (want > POOL_MAX_WORKERS) want = POOL_MAX_WORKERS;
    while (p->n_workers < want) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 1 << 20);
        p->start_gen[p->n_workers] = atomic_load_explicit(&p->generation, memory_order_relaxed);
        int rc = pthread_create(&thread, &attr, worker_main, (void *)(intptr_t)p->n_workers);
        pthread_attr_destroy(&attr);
        if (rc != 0) break; /* fewer threads is slower, never wrong */
        p->n_workers++;
    }
    return p->n_workers;
}

static void wait_until(atomic_llong *counter, int64_t target)
{
    int spins = 0;
    while (atomic_load_explicit(counter, memory_order_acquire) < target) {
        if (++spins < POOL_WAIT_SPIN) cpu_relax();
        else sched_yield();
    }
}

void fmlp_parallel_for(int n_threads, int64_t n_tasks, fmlp_task_fn fn, void *ctx)
{
    if (n_tasks <= 0) return;
    if (n_threads > n_tasks) n_threads = (int)n_tasks;
    fmlp_pool *p = &g_pool;
    if (n_threads <= 1 || pthread_mutex_trylock(&p->busy) != 0) {
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    pthread_once(&g_atfork_once, pool_register_atfork);
    int helpers = ensure_workers(p, n_threads - 1);
    if (helpers > n_threads - 1) helpers = n_threads - 1;
    if (helpers < 1) {
        pthread_mutex_unlock(&p->busy);
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    /* Publish: fields first, then open the gate, then announce. */
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->participants = helpers;
    atomic_store_explicit(&p->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&p->tasks_done, 0, memory_order_relaxed);
    /* Clear only the CLOSED bit: a late worker of the last job may still be
     * between its increment and decrement, and its count must balance. */
    atomic_fetch_and_explicit(&p->gate, ~GATE_CLOSED, memory_order_release);
    pthread_mutex_lock(&p->mutex);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (p->sleepers > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);

    run_tasks(p);
    wait_until(&p->tasks_done, n_tasks);
    /* Close the gate and wait for the workers already inside to leave, so
     * none still reads this job when the next one is published. */
    int inside = atomic_fetch_or_explicit(&p->gate, GATE_CLOSED, memory_order_acq_rel);
    int spins = 0;
    while ((inside & ~GATE_CLOSED) != 0) {
        if (++spins < POOL_WAIT_SPIN) cpu_relax();
        else sched_yield();
        inside = atomic_load_explicit(&p->gate, memory_order_acquire);
    }
    pthread_mutex_unlock(&p->busy);
}

/* ---- ranges ------------------------------------------------------------------------ */

/* Run fn(ctx, lo, hi) over [0, n) in up to `threads` contiguous pieces whose
 * boundaries are multiples of `align`; pieces smaller than min_piece are not
 * worth a thread. */
typedef struct {
    fmlp_range_fn fn;
    void *ctx;
    int64_t n, piece;
} fmlp_range_job;

static void fmlp_range_task(void *vjob, int64_t t)
{
    const fmlp_range_job *job = (const fmlp_range_job *)vjob;
    const int64_t lo = t * job->piece;
    const int64_t hi = lo + job->piece < job->n ? lo + job->piece : job->n;
    if (lo < hi) job->fn(job->ctx, lo, hi);
}

void fmlp_par_range(int threads, int64_t n, int64_t align, int64_t min_piece,
                           fmlp_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    int64_t parts = threads;
    if (parts > 1 && n / parts < min_piece) parts = n / min_piece;
    if (parts <= 1) {
        fn(ctx, 0, n);
        return;
    }
    int64_t piece = (n + parts - 1) / parts;
    piece = (piece + align - 1) / align * align;
    fmlp_range_job job = {fn, ctx, n, piece};
    fmlp_parallel_for((int)parts, (n + piece - 1) / piece, fmlp_range_task, &job);
}

