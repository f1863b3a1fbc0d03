/* pool_selftest.c - the test hook declared in pool_selftest.h: a known job for
 * the worker pool, so tests see which threads ran it and whether it finished.
 * It does no real work for the library and allocates nothing. */
#include <pthread.h>

#include "internal.h"
#include "pool_selftest.h"

typedef struct {
    int64_t spin;
    int64_t *out;
    uint64_t *tid;
} selftest_job;

static void selftest_task(void *ctx, int64_t t)
{
    const selftest_job *job = (const selftest_job *)ctx;
    uint64_t x = (uint64_t)t + 1;
    for (int64_t i = 0; i < job->spin; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    job->out[t] = (int64_t)(x >> 1);
    job->tid[t] = (uint64_t)pthread_self();
}

void fmlp_pool_selftest(int n_threads, int64_t n_tasks, int64_t spin, int64_t *out,
                        uint64_t *tid)
{
    selftest_job job = {spin, out, tid};
    fmlp_parallel_for(n_threads, n_tasks, selftest_task, &job);
}
