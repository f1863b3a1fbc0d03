/* pool_selftest.h - a test hook that runs the worker pool (pool.c) on a job
 * whose answer is known, so tests can prove the pool correct and fork-safe.
 * It is not part of the contract in fastmlp.h and nothing but tests calls it. */
#ifndef FMLP_POOL_SELFTEST_H
#define FMLP_POOL_SELFTEST_H

#include <stdint.h>

/* For t in [0, n_tasks), on up to n_threads threads (caller included):
 * out[t] = the state of a 64-bit LCG seeded with t + 1 after `spin` steps,
 * shifted right by one; tid[t] = an id of the thread that ran task t.
 * OVERWRITES out[n_tasks] and tid[n_tasks]. */
void fmlp_pool_selftest(int n_threads, int64_t n_tasks, int64_t spin, int64_t *out,
                        uint64_t *tid);

#endif
