/* elementwise_generic.c - the portable build of the elementwise kernels and
 * the selection of the active ISA table (fmlp_vec_select, called by cpu.c).
 * It has no target pragma: this path must build and run anywhere. */
#include "vec.h"

#define FMLP_VEC_TABLE fmlp_vec_generic
#include "elementwise_isa.h"

const fmlp_vec_table *fmlp_vec = &fmlp_vec_generic;

void fmlp_vec_select(int isa)
{
    switch (isa) {
#if FMLP_BUILD_AVX512
    case FMLP_ISA_AVX512: fmlp_vec = &fmlp_vec_avx512; break;
#endif
#if FMLP_BUILD_AVX2
    case FMLP_ISA_AVX2: fmlp_vec = &fmlp_vec_avx2; break;
#endif
    default: fmlp_vec = &fmlp_vec_generic; break;
    }
}
