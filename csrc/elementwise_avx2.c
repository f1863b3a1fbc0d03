/* elementwise_avx2.c - the elementwise kernels compiled for AVX2 + FMA from the
 * same templates as the portable build; only the target pragma differs. No
 * intrinsics: results are bit-identical to the other paths (no contraction). */
#include "vec.h"

#if FMLP_BUILD_AVX2
FMLP_TARGET_BEGIN_AVX2
#define FMLP_VEC_TABLE fmlp_vec_avx2
#include "elementwise_isa.h"
FMLP_TARGET_END
#endif
