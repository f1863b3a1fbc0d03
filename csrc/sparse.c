/* sparse.c - CSR x dense products for sparse inputs, both dtypes (template
 * in sparse_impl.h). It keeps no state and does not allocate. */
#include "vec.h"

#define FMLP_TEMPLATE "sparse_impl.h"
#include "instantiate.h"
