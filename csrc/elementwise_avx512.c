/* elementwise_avx512.c - the elementwise kernels compiled for AVX-512F from the
 * same templates as the portable build; only the target pragma differs. No
 * intrinsics: results are bit-identical to the other paths (no contraction). */
#include "vec.h"

#if FMLP_BUILD_AVX512
FMLP_TARGET_BEGIN_AVX512
#define FMLP_VEC_TABLE fmlp_vec_avx512
#include "elementwise_isa.h"
FMLP_TARGET_END
#endif
