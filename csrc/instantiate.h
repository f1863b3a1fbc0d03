/* instantiate.h - expands one dtype-generic template twice, for float and
 * double, so each kernel has exactly one source. It is not a header with
 * declarations: include it once per template, with
 *
 *     #define FMLP_TEMPLATE "activations_impl.h"
 *     #include "instantiate.h"       -- FMLP_TEMPLATE is undefined afterwards
 *
 * Inside the template: FMLP_T is the element type, FMLP_FN(name) the public
 * name (name_f32 / name_f64), FMLP_IS_F32 is 1 or 0, and, when the including
 * file defined FMLP_ISA_TAG (e.g. avx2), FMLP_IFN(name) names a per-ISA
 * variant (name_f32_avx2). */
#ifndef FMLP_TEMPLATE
#  error "define FMLP_TEMPLATE before including instantiate.h"
#endif

#define FMLP_CAT3_(a, b, c) a##_##b##_##c
#define FMLP_CAT3(a, b, c) FMLP_CAT3_(a, b, c)

#define FMLP_T float
#define FMLP_FN(name) name##_f32
#define FMLP_IS_F32 1
#ifdef FMLP_ISA_TAG
#  define FMLP_IFN(name) FMLP_CAT3(name, f32, FMLP_ISA_TAG)
#endif
#include FMLP_TEMPLATE
#undef FMLP_T
#undef FMLP_FN
#undef FMLP_IS_F32
#undef FMLP_IFN

#define FMLP_T double
#define FMLP_FN(name) name##_f64
#define FMLP_IS_F32 0
#ifdef FMLP_ISA_TAG
#  define FMLP_IFN(name) FMLP_CAT3(name, f64, FMLP_ISA_TAG)
#endif
#include FMLP_TEMPLATE
#undef FMLP_T
#undef FMLP_FN
#undef FMLP_IS_F32
#undef FMLP_IFN

#undef FMLP_CAT3
#undef FMLP_CAT3_
#undef FMLP_TEMPLATE
