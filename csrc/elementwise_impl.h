/* elementwise_impl.h - one dtype's worth of elementwise kernels: the math
 * helpers, then the area templates (activations, losses, optimizers, CSR
 * products), in dependency order. Expanded by
 * instantiate.h from elementwise_isa.h; it adds no code of its own. */
#include "vecmath.h"
#include "activations_impl.h"
#include "losses_impl.h"
#include "optim_impl.h"
#include "sparse_kernels_impl.h"
