/* elementwise_isa.h - the body of every elementwise_<isa>.c: expands the
 * activation, loss, optimizer and CSR-product templates for both dtypes and
 * exports them as one table. It holds no code of its own; the includer sets the target
 * pragma and names the table (FMLP_VEC_TABLE). */
#ifndef FMLP_VEC_TABLE
#  error "define FMLP_VEC_TABLE before including elementwise_isa.h"
#endif

#define FMLP_TEMPLATE "elementwise_impl.h"
#include "instantiate.h"

#define FMLP_VEC_ENTRIES(S)                                 \
    .bias_act_forward_##S = k_bias_act_forward_##S,         \
    .act_backward_##S = k_act_backward_##S,                 \
    .softmax_forward_##S = k_softmax_forward_##S,           \
    .softmax_backward_##S = k_softmax_backward_##S,         \
    .softmax_xent_labels_##S = k_softmax_xent_labels_##S,   \
    .softmax_xent_probs_##S = k_softmax_xent_probs_##S,     \
    .sigmoid_bce_##S = k_sigmoid_bce_##S,                   \
    .squared_error_##S = k_squared_error_##S,               \
    .colsum_##S = k_colsum_##S,                             \
    .sgd_update_##S = k_sgd_update_##S,                     \
    .momentum_update_##S = k_momentum_update_##S,           \
    .adam_update_##S = k_adam_update_##S,                   \
    .adam_apply_##S = k_adam_apply_##S,                     \
    .csr_fwd_rows_##S = k_csr_fwd_rows_##S,                 \
    .csr_t_cols_##S = k_csr_t_cols_##S,                     \
    .sum_squares_##S = k_sum_squares_##S,                   \
    .sum_abs_##S = k_sum_abs_##S,

const fmlp_vec_table FMLP_VEC_TABLE = {
    FMLP_VEC_ENTRIES(f32)
    FMLP_VEC_ENTRIES(f64)
};

#undef FMLP_VEC_ENTRIES
