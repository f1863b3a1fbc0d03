/* gemm.c - the GEMM entry points for both dtypes, the per-ISA dispatch of
 * its kernels, and the FMA peak probe's dispatch. It does not allocate:
 * packing scratch comes from the caller. */
#include "internal.h"
#include "gemm_bench.h"

static int g_gemm_isa = FMLP_ISA_GENERIC;

void fmlp_gemm_select(int isa) { g_gemm_isa = isa; }

#define FMLP_TEMPLATE "gemm_impl.h"
#include "instantiate.h"

#if FMLP_BUILD_AVX2
int64_t fmlp_fma_probe_avx2(int64_t iters);
#endif
#if FMLP_BUILD_AVX512
int64_t fmlp_fma_probe_avx512(int64_t iters);
#endif

int64_t fmlp_fma_peak_probe(int isa, int64_t iters)
{
    if (iters <= 0 || !fmlp_isa_supported(isa)) return 0;
    switch (isa) {
#if FMLP_BUILD_AVX512
    case FMLP_ISA_AVX512: return fmlp_fma_probe_avx512(iters);
#endif
#if FMLP_BUILD_AVX2
    case FMLP_ISA_AVX2: return fmlp_fma_probe_avx2(iters);
#endif
    default: return 0;
    }
}
