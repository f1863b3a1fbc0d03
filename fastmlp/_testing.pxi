# _testing.pxi - included by _core.pyx: hooks that let tests drive C machinery directly
# (the worker pool, on a job whose answer and threads are known). Not API: names start with _.
cdef extern from "pool_selftest.h" nogil:
    void fmlp_pool_selftest(int n_threads, int64_t n_tasks, int64_t spin, int64_t *out,
                            uint64_t *tid)


def _pool_selftest(int n_threads, int64_t n_tasks, int64_t spin):
    """Run a known job on the worker pool: (values, thread ids), one per task."""
    if n_tasks < 0 or spin < 0:
        raise ValueError("n_tasks and spin must be >= 0")
    cdef cnp.ndarray out = np.zeros(n_tasks, dtype=np.int64)
    cdef cnp.ndarray tid = np.zeros(n_tasks, dtype=np.uint64)
    cdef int64_t *po = <int64_t *>cnp.PyArray_DATA(out)
    cdef uint64_t *pt = <uint64_t *>cnp.PyArray_DATA(tid)
    with nogil:
        fmlp_pool_selftest(n_threads, n_tasks, spin, po, pt)
    return out, tid
