/* gemm_vec_undef.h - forgets the GV_ and gv_ vector vocabulary at the end of one
 * template expansion so the next dtype (or ISA) can define its own.
 * Nothing else. */
#undef GV_T
#undef GV_L
#undef GV_MASK_T
#undef gv_zero
#undef gv_set1
#undef gv_load
#undef gv_store
#undef gv_bcast
#undef gv_fma
#undef gv_mul
#undef gv_mask
#undef gv_mload
#undef gv_mstore
#undef gv_hsum
#undef gv_hsum4
#undef gv_prefetch
