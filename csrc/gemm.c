/* gemm.c - the GEMM entry points for both dtypes and the per-ISA dispatch
 * of its inner kernels. It does not allocate: packing scratch comes from
 * the caller. */
#include "internal.h"

static int g_gemm_isa = FMLP_ISA_GENERIC;

void fmlp_gemm_select(int isa) { g_gemm_isa = isa; }

#define FMLP_TEMPLATE "gemm_impl.h"
#include "instantiate.h"
