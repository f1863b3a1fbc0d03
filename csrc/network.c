/* network.c - the engine for both dtypes: parameter layout, workspace
 * carving, epoch start, and the typed layer stack from network_impl.h.
 * It does not allocate, print or touch Python: the caller owns every buffer
 * and turns status codes into exceptions. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rng.h"
#include "vec.h"

/* ---- layout of the flat parameter vector --------------------------------- */

static int64_t fmlp_weight_offset(const fmlp_net *net, int64_t l)
{
    int64_t off = 0;
    for (int64_t i = 0; i < l; i++) off += net->sizes[i] * net->sizes[i + 1];
    return off;
}

static int64_t fmlp_n_weights(const fmlp_net *net) { return fmlp_weight_offset(net, net->n_layers); }

static int64_t fmlp_bias_offset(const fmlp_net *net, int64_t l)
{
    int64_t off = fmlp_n_weights(net);
    for (int64_t i = 0; i < l; i++) off += net->sizes[i + 1];
    return off;
}

static int64_t fmlp_n_params(const fmlp_net *net) { return fmlp_bias_offset(net, net->n_layers); }

/* ---- workspace carving: 64-byte aligned slices of one caller buffer ------- */

typedef struct {
    char *base;   /* NULL: only measure */
    size_t used;
} fmlp_carver;

static void *fmlp_carve(fmlp_carver *c, size_t bytes)
{
    /* Align the address (not just the offset): the caller's buffer may start anywhere. */
    size_t start = c->used;
    if (c->base) {
        uintptr_t addr = (uintptr_t)(c->base + start);
        start += (size_t)((64 - (addr & 63)) & 63);
    } else {
        start += 63; /* worst case when measuring */
    }
    c->used = start + bytes;
    return c->base ? (void *)(c->base + start) : NULL;
}

static double fmlp_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- threads ------------------------------------------------------------------
 * A step splits its big pieces (GEMMs, row-wise passes, the update) over the
 * pool. Every split is by output rows, columns or elements, never by a
 * reduction, so results do not depend on the thread count. */

static int fmlp_net_threads(const fmlp_net *net)
{
    int n = net->n_threads > 0 ? net->n_threads : fmlp_get_default_threads();
    int cpus = fmlp_cpu_count();
    return n < cpus ? (n < 1 ? 1 : n) : cpus;
}

/* ---- untyped entry points --------------------------------------------------- */

void fmlp_rng_seed_state(fmlp_rng *rng, uint64_t seed) { fmlp_rng_seed(rng, seed); }

uint64_t fmlp_rng_next_u64(fmlp_rng *rng) { return fmlp_rng_next(rng); }

void fmlp_epoch_begin(fmlp_epoch *ep, fmlp_rng *rng, int64_t n)
{
    ep->pos = 0;
    ep->loss_sum = 0;
    ep->penalty_sum = 0;
    ep->nonfinite_at = -1;
    if (ep->shuffle == 1) {
        fmlp_rng_permutation(rng, ep->perm, n);
    } else if (ep->shuffle == 0) {
        for (int64_t i = 0; i < n; i++) ep->perm[i] = i;
    } /* else perm holds the caller's order (NetCore.train_epoch checks its range) */
}

/* memcpy split over the pool: the weight snapshots of a big network are
 * tens of megabytes, more than one core's share of the memory bandwidth. */
typedef struct {
    char *dst;
    const char *src;
} fmlp_copy_job;

static void fmlp_copy_range(void *vjob, int64_t lo, int64_t hi)
{
    const fmlp_copy_job *j = (const fmlp_copy_job *)vjob;
    memcpy(j->dst + lo, j->src + lo, (size_t)(hi - lo));
}

static void fmlp_par_copy(void *dst, const void *src, size_t bytes, int nt)
{
    fmlp_copy_job j = {(char *)dst, (const char *)src};
    fmlp_par_range(nt, (int64_t)bytes, 4096, 1 << 20, fmlp_copy_range, &j);
}

#define FMLP_TEMPLATE "network_impl.h"
#include "instantiate.h"
