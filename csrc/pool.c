/* pool.c - a persistent pool of worker threads that runs the independent
 * tasks of one kernel call (fmlp_parallel_for), spinning briefly between
 * calls and sleeping when idle; safe across fork().
 * It does not decide how work is split (callers cut their output into tasks
 * whose results do not depend on which thread runs them) and never nests:
 * a call made while the pool is busy runs serially in its caller. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "internal.h"

#define POOL_MAX_WORKERS 63
/* Spin this many polls (roughly 50-100 us) before sleeping: a training step
 * issues several parallel calls with short serial gaps between them. */
#define POOL_SPIN 20000

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
    int participants;           /* workers 0 .. participants-1 take part */
    unsigned start_gen[POOL_MAX_WORKERS]; /* generation each worker was born in */
    atomic_llong next_task;
    atomic_llong tasks_done;
    atomic_int workers_busy;    /* workers that have not yet acknowledged the job */
    atomic_uint generation;     /* bumped once per job */
    /* sleeping */
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    int sleepers;
    /* workers */
    pthread_t threads[POOL_MAX_WORKERS];
    int n_workers;
    pthread_mutex_t busy;       /* held by the caller running a job */
} fmlp_pool;

static fmlp_pool g_pool = {
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
    /* Not a fresh load: a job may already have been posted after this worker
     * was created, and it must not be missed. */
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
        /* Every worker acknowledges every job, so none can lag into the next. */
        if (index < p->participants) run_tasks(p);
        atomic_fetch_sub_explicit(&p->workers_busy, 1, memory_order_release);
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
    atomic_store(&p->workers_busy, 0);
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_mutex_init(&p->busy, NULL);
}

static void pool_register_atfork(void) { pthread_atfork(NULL, NULL, pool_atfork_child); }

static int online_cpus(void)
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
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 1 << 20);
        p->start_gen[p->n_workers] = atomic_load_explicit(&p->generation, memory_order_relaxed);
        int rc = pthread_create(&p->threads[p->n_workers], &attr, worker_main,
                                (void *)(intptr_t)p->n_workers);
        pthread_attr_destroy(&attr);
        if (rc != 0) break; /* fewer threads is slower, never wrong */
        p->n_workers++;
    }
    return p->n_workers;
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
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->participants = helpers;
    atomic_store_explicit(&p->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&p->tasks_done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->workers_busy, p->n_workers, memory_order_relaxed);

    pthread_mutex_lock(&p->mutex);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (p->sleepers > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);

    run_tasks(p);
    /* Wait until every task is done and every worker has acknowledged the
     * job, so the next job can reuse the fields. */
    while (atomic_load_explicit(&p->tasks_done, memory_order_acquire) < n_tasks ||
           atomic_load_explicit(&p->workers_busy, memory_order_acquire) > 0)
        cpu_relax();
    pthread_mutex_unlock(&p->busy);
}
