/* gemm_simd_impl.h - the SIMD GEMM written once: register-tiled kernels, the
 * unpacked small-shape ("sup") drivers and the packed Goto/BLIS driver.
 * It does not know any instruction set or dtype: it is written against the
 * GV_ and gv_ vocabulary of gemm_vec_<isa>.h and expanded by gemm_<isa>.c
 * through instantiate.h, once per dtype, inside that file's target region.
 *
 * Why one template over a vector-macro layer: the kernels of AVX2 and
 * AVX-512, float and double, differ only in the vector type, lane count,
 * mask type and tile shape. Writing them once keeps four kernels from
 * drifting apart; each ISA file chooses its tile shape and blocking, and
 * the SIMDe harness (tools/) checks the AVX-512 expansion of this very code.
 *
 * The ISA file defines before expansion:
 *   GEMM_VEC_HEADER          its gemm_vec_<isa>.h
 *   GK_MR, GK_NV             broadcast tile: GK_MR rows x GK_NV vectors
 *   GK_FOR_MR(X), GK_FOR_NV(Y, p)          repetitions over that tile
 *   GK_DR, GK_DC             dot tile: GK_DR rows of A x GK_DC rows of B
 *   GK_FOR_DR(X), GK_FOR_DC_J(Y, p), GK_FOR_DC(X), GK_FOR_DR_K(Y, p)
 *   GK_KC_, GK_MC_, GK_NC_F32/F64           cache blocking of the packed path
 *   GK_NCA_F32/F64 (optional)               NC when A is packed too (default NC)
 *   GK_KC1_F32/F64 (optional)               K up to this is one depth block (default KC)
 *   GK_PACK_MIN_M, GK_PACKB_MIN_KN         path thresholds (gk_plan)
 *   GK_NO_PACK_A             1: NN/NT read A rows in place when they allow
 *   GK_PACK_X86              use gemm_pack_x86.h's vector packing
 *
 * Two kernels, by orientation of the operands in memory:
 *   bcast  C[rows, nv vectors] += a[i,k] (broadcast) * b[k, j..] (vector
 *          loads), the shape of every BLAS micro-kernel. It reads A by rows
 *          (NN: A[i*lda+k]) or by columns (TN and packed: A[k*lda+i]), and B
 *          rows in place (NN, TN) or from packed panels.
 *   dot    C[i,j] = sum_k A[i,k] B[j,k] for NT (both rows contiguous in k):
 *          vectors along K, one horizontal sum per element at the end.
 *          No operand is transposed, so small batches need no packing.
 * and three paths (gk_plan):
 *   sup     unpacked: dot for NT, bcast for NN/TN (small M, or no scratch)
 *   packB   small-M NN/TN: B packed into panels, A read in place
 *   packed  Goto/BLIS: op(A) into GK_MR-row and op(B) into NR-column panels,
 *           then bcast on them (M >= GK_PACK_MIN_M; B reused by many tiles)
 *
 * Bit-identical splits: each element of C is computed by one fixed chain of
 * operations that depends on the whole shape (which path, K blocking) but
 * never on which tile or sub-block holds it, so the range entry point gives
 * the same bits whatever way a caller splits M and N. */

#include GEMM_VEC_HEADER

#define GK_NR (GK_NV * GV_L)
#define GK_PF_ROWS 8
#ifndef GK_PFC_ON
#  define GK_PFC_ON 1
#endif
#if FMLP_IS_F32
#  define GK_KC GK_KC_F32
#  define GK_MC GK_MC_F32
#  define GK_NC GK_NC_F32
#  ifdef GK_KC1_F32
#    define GK_KC1 GK_KC1_F32
#  endif
#  ifdef GK_NCA_F32
#    define GK_NCA GK_NCA_F32
#  endif
#else
#  define GK_KC GK_KC_F64
#  define GK_MC GK_MC_F64
#  define GK_NC GK_NC_F64
#  ifdef GK_KC1_F64
#    define GK_KC1 GK_KC1_F64
#  endif
#  ifdef GK_NCA_F64
#    define GK_NCA GK_NCA_F64
#  endif
#endif
#ifndef GK_NCA
#  define GK_NCA GK_NC
#endif
#ifndef GK_KC1
#  define GK_KC1 GK_KC
#endif

/* ---- bcast kernel -------------------------------------------------------
 * rows (1..GK_MR), nv (1..GK_NV), masked, a_trans and packed are compile-time
 * constants at every call (the function is force-inlined into one wrapper per
 * combination), so dead rows and vectors disappear. masked: the last vector
 * holds fewer than GV_L columns and is loaded and stored through `mask`.
 * packed: A and B are packed panels (strides GK_MR and GK_NR). */
GK_ALWAYS_INLINE void FMLP_IFN(gk_bcast)(const int rows, const int nv, const int masked,
                                         const int a_trans, const int packed, int64_t K,
                                         const FMLP_T *A, int64_t lda,
                                         const FMLP_T *B, int64_t ldb,
                                         FMLP_T *C, int64_t ldc, GV_MASK_T mask,
                                         FMLP_T alpha, FMLP_T beta)
{
    if (packed) { lda = GK_MR; ldb = GK_NR; }
    /* Stepping A by `ak` per k lets NN address A[i*lda + k] and TN/packed
     * A[k*lda + i] with one formula. */
    const int64_t ak = a_trans ? lda : 1;
#define GK_DECL(i, v) GV_T c##i##_##v = gv_zero();
#define GK_DECL_ROW(i) GK_FOR_NV(GK_DECL, i)
    GK_FOR_MR(GK_DECL_ROW)
#define GK_APTR(i) const FMLP_T *a##i = A + ((i) < rows ? (a_trans ? (i) : (i) * lda) : 0);
    GK_FOR_MR(GK_APTR)
    /* The C tile is touched only after the k loop; fetching its lines now
     * hides the misses (6% of a 512x1024x1024 product was C stores). A
     * short loop would not hide them, and then the prefetches only cost. */
#define GK_PFC(i) if ((i) < rows) { gv_prefetch(C + (i) * ldc); \
                                    gv_prefetch(C + (i) * ldc + (nv * GV_L - 1)); }
    if (GK_PFC_ON && K >= 64) { GK_FOR_MR(GK_PFC) }

#define GK_LOADB(p, v) GV_T b##v = (v) < nv ? ((masked && (v) == nv - 1) \
        ? gv_mload(B + (v) * GV_L, mask) : gv_load(B + (v) * GV_L)) : gv_zero();
#define GK_FMA(i, v) if ((v) < nv) c##i##_##v = gv_fma(a, b##v, c##i##_##v);
#define GK_ROW(i) if ((i) < rows) { GV_T a = gv_bcast(a##i + k * ak); GK_FOR_NV(GK_FMA, i) }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 4
#endif
    for (int64_t k = 0; k < K; k++) {
        /* B read in place (not packed) walks one line per row, often a new
         * page each time, which hardware prefetchers do not follow; a
         * software prefetch a few rows ahead does (prefetches never fault). */
        if (!packed) gv_prefetch(B + GK_PF_ROWS * ldb);
        GK_FOR_NV(GK_LOADB, 0)
        GK_FOR_MR(GK_ROW)
        B += ldb;
    }

    const GV_T va = gv_set1(alpha);
    /* beta == 0 never reads C (it may hold NaN garbage). beta != 0 rounds
     * as fma(beta, C, alpha*acc) everywhere, so a K block after the first
     * (beta = 1) adds alpha*acc to C exactly as one rounding. */
    if (beta == 0) {
#define GK_ST0(i, v) if ((i) < rows && (v) < nv) { \
            FMLP_T *cp = C + (i) * ldc + (v) * GV_L; GV_T r = gv_mul(va, c##i##_##v); \
            if (masked && (v) == nv - 1) gv_mstore(cp, mask, r); else gv_store(cp, r); }
#define GK_ST0_ROW(i) GK_FOR_NV(GK_ST0, i)
        GK_FOR_MR(GK_ST0_ROW)
    } else {
        const GV_T vb = gv_set1(beta);
#define GK_ST1(i, v) if ((i) < rows && (v) < nv) { \
            FMLP_T *cp = C + (i) * ldc + (v) * GV_L; GV_T r = gv_mul(va, c##i##_##v); \
            if (masked && (v) == nv - 1) gv_mstore(cp, mask, gv_fma(vb, gv_mload(cp, mask), r)); \
            else gv_store(cp, gv_fma(vb, gv_load(cp), r)); }
#define GK_ST1_ROW(i) GK_FOR_NV(GK_ST1, i)
        GK_FOR_MR(GK_ST1_ROW)
    }
#undef GK_DECL
#undef GK_DECL_ROW
#undef GK_APTR
#undef GK_PFC
#undef GK_LOADB
#undef GK_FMA
#undef GK_ROW
#undef GK_ST0
#undef GK_ST0_ROW
#undef GK_ST1
#undef GK_ST1_ROW
}

/* One non-inlined function per (rows, nv) edge shape and per A layout, plus
 * the three full-tile kernels, reached through a table: the drivers stay
 * small and every tile shape still gets straight-line code. */
typedef void (*FMLP_IFN(gk_tile_fn))(int64_t K, const FMLP_T *A, int64_t lda,
                                     const FMLP_T *B, int64_t ldb, FMLP_T *C, int64_t ldc,
                                     GV_MASK_T mask, FMLP_T alpha, FMLP_T beta);

#define GK_TILE_ARGS int64_t K, const FMLP_T *A, int64_t lda, const FMLP_T *B, int64_t ldb, \
                     FMLP_T *C, int64_t ldc, GV_MASK_T mask, FMLP_T alpha, FMLP_T beta
#define GK_TILE_PASS K, A, lda, B, ldb, C, ldc, mask, alpha, beta
#define GK_EDGE(i, v) \
    GK_NOINLINE void FMLP_IFN(gk_eN_##i##_##v)(GK_TILE_ARGS) \
    { FMLP_IFN(gk_bcast)((i) + 1, (v) + 1, 1, 0, 0, GK_TILE_PASS); } \
    GK_NOINLINE void FMLP_IFN(gk_eT_##i##_##v)(GK_TILE_ARGS) \
    { FMLP_IFN(gk_bcast)((i) + 1, (v) + 1, 1, 1, 0, GK_TILE_PASS); } \
    GK_NOINLINE void FMLP_IFN(gk_eP_##i##_##v)(GK_TILE_ARGS) \
    { FMLP_IFN(gk_bcast)((i) + 1, (v) + 1, 1, 1, 1, GK_TILE_PASS); }
#define GK_EDGE_ROW(i) GK_FOR_NV(GK_EDGE, i)
GK_FOR_MR(GK_EDGE_ROW)

GK_NOINLINE void FMLP_IFN(gk_fullN)(GK_TILE_ARGS)
{ FMLP_IFN(gk_bcast)(GK_MR, GK_NV, 0, 0, 0, GK_TILE_PASS); }
GK_NOINLINE void FMLP_IFN(gk_fullT)(GK_TILE_ARGS)
{ FMLP_IFN(gk_bcast)(GK_MR, GK_NV, 0, 1, 0, GK_TILE_PASS); }
GK_NOINLINE void FMLP_IFN(gk_fullP)(GK_TILE_ARGS)
{ FMLP_IFN(gk_bcast)(GK_MR, GK_NV, 0, 1, 1, GK_TILE_PASS); }

/* [layout: 0 NN rows, 1 TN columns, 2 packed][rows - 1][nv - 1] */
#define GK_TABN(i, v) FMLP_IFN(gk_eN_##i##_##v),
#define GK_TABT(i, v) FMLP_IFN(gk_eT_##i##_##v),
#define GK_TABP(i, v) FMLP_IFN(gk_eP_##i##_##v),
#define GK_TABN_ROW(i) {GK_FOR_NV(GK_TABN, i)},
#define GK_TABT_ROW(i) {GK_FOR_NV(GK_TABT, i)},
#define GK_TABP_ROW(i) {GK_FOR_NV(GK_TABP, i)},
static FMLP_IFN(gk_tile_fn) const FMLP_IFN(gk_edge_tab)[3][GK_MR][GK_NV] = {
    {GK_FOR_MR(GK_TABN_ROW)}, {GK_FOR_MR(GK_TABT_ROW)}, {GK_FOR_MR(GK_TABP_ROW)}};
static FMLP_IFN(gk_tile_fn) const FMLP_IFN(gk_full_tab)[3] = {
    FMLP_IFN(gk_fullN), FMLP_IFN(gk_fullT), FMLP_IFN(gk_fullP)};
#undef GK_TABN
#undef GK_TABT
#undef GK_TABP
#undef GK_TABN_ROW
#undef GK_TABT_ROW
#undef GK_TABP_ROW
#undef GK_EDGE
#undef GK_EDGE_ROW

/* C[rows, n] (rows <= GK_MR, n <= GK_NR) through the right tile kernel. */
static inline void FMLP_IFN(gk_tile)(int layout, int64_t rows, int64_t n, int64_t K,
                                     const FMLP_T *A, int64_t lda, const FMLP_T *B, int64_t ldb,
                                     FMLP_T *C, int64_t ldc, FMLP_T alpha, FMLP_T beta)
{
    if (rows == GK_MR && n == GK_NR) {
        FMLP_IFN(gk_full_tab)[layout](K, A, lda, B, ldb, C, ldc, gv_mask(GV_L), alpha, beta);
        return;
    }
    const int64_t nv = (n + GV_L - 1) / GV_L;
    const int64_t last = n - (nv - 1) * GV_L;
    FMLP_IFN(gk_edge_tab)[layout][rows - 1][nv - 1](K, A, lda, B, ldb, C, ldc,
                                                     gv_mask(last), alpha, beta);
}

/* ---- dot kernel (NT) ------------------------------------------------------
 * rows (1..GK_DR) and cols (1..GK_DC) are compile-time constants per wrapper.
 * The K tail is one masked load (zeros beyond K), so no element of A or B
 * outside the matrices is read. */
GK_ALWAYS_INLINE void FMLP_IFN(gk_dot)(const int rows, const int cols, int64_t K,
                                       const FMLP_T *A, int64_t lda,
                                       const FMLP_T *B, int64_t ldb,
                                       FMLP_T *C, int64_t ldc, FMLP_T alpha, FMLP_T beta)
{
#define GK_DDECL(i, j) GV_T d##i##_##j = gv_zero();
#define GK_DDECL_ROW(i) GK_FOR_DC_J(GK_DDECL, i)
    GK_FOR_DR(GK_DDECL_ROW)
#define GK_XPTR(i) const FMLP_T *x##i = A + ((i) < rows ? (i) : 0) * lda;
    GK_FOR_DR(GK_XPTR)
#define GK_WPTR(j) const FMLP_T *w##j = B + ((j) < cols ? (j) : 0) * ldb;
    GK_FOR_DC(GK_WPTR)

#define GK_DFMA(i, j) if ((i) < rows) d##i##_##j = gv_fma(xv##i, wv, d##i##_##j);
    int64_t k = 0;
    for (; k + GV_L <= K; k += GV_L) {
#define GK_XLOAD(i) GV_T xv##i = (i) < rows ? gv_load(x##i + k) : gv_zero();
        GK_FOR_DR(GK_XLOAD)
#define GK_DCOL(j) if ((j) < cols) { GV_T wv = gv_load(w##j + k); GK_FOR_DR_K(GK_DFMA, j) }
        GK_FOR_DC(GK_DCOL)
#undef GK_XLOAD
#undef GK_DCOL
    }
    if (k < K) {
        const GV_MASK_T m = gv_mask(K - k);
#define GK_XLOAD(i) GV_T xv##i = (i) < rows ? gv_mload(x##i + k, m) : gv_zero();
        GK_FOR_DR(GK_XLOAD)
#define GK_DCOL(j) if ((j) < cols) { GV_T wv = gv_mload(w##j + k, m); GK_FOR_DR_K(GK_DFMA, j) }
        GK_FOR_DC(GK_DCOL)
#undef GK_XLOAD
#undef GK_DCOL
    }
    /* Horizontal sums, four columns at a time where a row has them (gv_hsum
     * and gv_hsum4 add lanes in the same order), then a scalar epilogue:
     * alpha*s, then beta*C + that, two roundings without contraction
     * (-std=c11), the same for every element of this path. */
#define GK_DSUM1(i, j) if ((j) < cols && ((j) >= 4 || cols < 4)) s##i[j] = gv_hsum(d##i##_##j);
#define GK_DST(i, j) if ((j) < cols) { \
        FMLP_T r = alpha * s##i[j]; FMLP_T *cp = C + (i) * ldc + (j); \
        *cp = beta == 0 ? r : beta * *cp + r; }
#define GK_DST_ROW(i) if ((i) < rows) { \
        FMLP_T s##i[GK_DC]; \
        if (cols >= 4) gv_hsum4(d##i##_0, d##i##_1, d##i##_2, d##i##_3, s##i); \
        GK_FOR_DC_J(GK_DSUM1, i) \
        GK_FOR_DC_J(GK_DST, i) }
    GK_FOR_DR(GK_DST_ROW)
#undef GK_DDECL
#undef GK_DDECL_ROW
#undef GK_XPTR
#undef GK_WPTR
#undef GK_DFMA
#undef GK_DST
#undef GK_DSUM1
#undef GK_DST_ROW
}

typedef void (*FMLP_IFN(gk_dot_fn))(int64_t K, const FMLP_T *A, int64_t lda,
                                    const FMLP_T *B, int64_t ldb, FMLP_T *C, int64_t ldc,
                                    FMLP_T alpha, FMLP_T beta);
#define GK_DOT_ARGS int64_t K, const FMLP_T *A, int64_t lda, const FMLP_T *B, int64_t ldb, \
                    FMLP_T *C, int64_t ldc, FMLP_T alpha, FMLP_T beta
#define GK_DOTW(i, j) GK_NOINLINE void FMLP_IFN(gk_d_##i##_##j)(GK_DOT_ARGS) \
    { FMLP_IFN(gk_dot)((i) + 1, (j) + 1, K, A, lda, B, ldb, C, ldc, alpha, beta); }
#define GK_DOTW_ROW(i) GK_FOR_DC_J(GK_DOTW, i)
GK_FOR_DR(GK_DOTW_ROW)
#define GK_DTAB(i, j) FMLP_IFN(gk_d_##i##_##j),
#define GK_DTAB_ROW(i) {GK_FOR_DC_J(GK_DTAB, i)},
static FMLP_IFN(gk_dot_fn) const FMLP_IFN(gk_dot_tab)[GK_DR][GK_DC] = {GK_FOR_DR(GK_DTAB_ROW)};
#undef GK_DOTW
#undef GK_DOTW_ROW
#undef GK_DTAB
#undef GK_DTAB_ROW
#undef GK_DOT_ARGS

/* ---- unpacked drivers -----------------------------------------------------
 * Column strips outer, row tiles inner: one strip of B (K x NR, or DC rows
 * of W) is reused from L1/L2 by every row tile, while A, small when M is
 * small, stays in L2. */
static void FMLP_IFN(gk_sup_bcast)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                   const FMLP_T *B, int64_t ldb, int64_t K, int trans_a,
                                   FMLP_T alpha, FMLP_T beta,
                                   int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    for (int64_t j = n0; j < n1; j += GK_NR) {
        const int64_t n = n1 - j < GK_NR ? n1 - j : GK_NR;
        for (int64_t i = m0; i < m1; i += GK_MR) {
            const int64_t rows = m1 - i < GK_MR ? m1 - i : GK_MR;
            const FMLP_T *a = trans_a ? A + i : A + i * lda;
            FMLP_IFN(gk_tile)(trans_a ? 1 : 0, rows, n, K, a, lda, B + j, ldb,
                              C + i * ldc + j, ldc, alpha, beta);
        }
    }
}

/* One row of A against eight rows of B: the serving shape (one input row,
 * big weights), where the GK_DR x GK_DC tile has only GK_DC chains for its
 * one row and FMA latency, not bandwidth, bounds it. Each element's chain is
 * exactly gk_dot's (one accumulator over k, the same masked tail, hsum4 over
 * four columns, the same scalar epilogue), so results are bit-identical to
 * that kernel's whichever of the two computes a row. */
GK_NOINLINE void FMLP_IFN(gk_dot_1x8)(int64_t K, const FMLP_T *x, const FMLP_T *B, int64_t ldb,
                                             FMLP_T *C, FMLP_T alpha, FMLP_T beta)
{
    GV_T d0 = gv_zero(), d1 = gv_zero(), d2 = gv_zero(), d3 = gv_zero();
    GV_T d4 = gv_zero(), d5 = gv_zero(), d6 = gv_zero(), d7 = gv_zero();
    const FMLP_T *w0 = B, *w1 = B + ldb, *w2 = B + 2 * ldb, *w3 = B + 3 * ldb;
    const FMLP_T *w4 = B + 4 * ldb, *w5 = B + 5 * ldb, *w6 = B + 6 * ldb, *w7 = B + 7 * ldb;
    int64_t k = 0;
    for (; k + GV_L <= K; k += GV_L) {
        const GV_T xv = gv_load(x + k);
        d0 = gv_fma(xv, gv_load(w0 + k), d0);
        d1 = gv_fma(xv, gv_load(w1 + k), d1);
        d2 = gv_fma(xv, gv_load(w2 + k), d2);
        d3 = gv_fma(xv, gv_load(w3 + k), d3);
        d4 = gv_fma(xv, gv_load(w4 + k), d4);
        d5 = gv_fma(xv, gv_load(w5 + k), d5);
        d6 = gv_fma(xv, gv_load(w6 + k), d6);
        d7 = gv_fma(xv, gv_load(w7 + k), d7);
    }
    if (k < K) {
        const GV_MASK_T m = gv_mask(K - k);
        const GV_T xv = gv_mload(x + k, m);
        d0 = gv_fma(xv, gv_mload(w0 + k, m), d0);
        d1 = gv_fma(xv, gv_mload(w1 + k, m), d1);
        d2 = gv_fma(xv, gv_mload(w2 + k, m), d2);
        d3 = gv_fma(xv, gv_mload(w3 + k, m), d3);
        d4 = gv_fma(xv, gv_mload(w4 + k, m), d4);
        d5 = gv_fma(xv, gv_mload(w5 + k, m), d5);
        d6 = gv_fma(xv, gv_mload(w6 + k, m), d6);
        d7 = gv_fma(xv, gv_mload(w7 + k, m), d7);
    }
    FMLP_T s[8];
    gv_hsum4(d0, d1, d2, d3, s);
    gv_hsum4(d4, d5, d6, d7, s + 4);
    for (int j = 0; j < 8; j++) {
        FMLP_T r = alpha * s[j];
        C[j] = beta == 0 ? r : beta * C[j] + r;
    }
}

static void FMLP_IFN(gk_sup_dot)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                 const FMLP_T *B, int64_t ldb, int64_t K,
                                 FMLP_T alpha, FMLP_T beta,
                                 int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    if (m1 - m0 == 1 && GK_DC >= 4) {
        const FMLP_T *x = A + m0 * lda;
        FMLP_T *c = C + m0 * ldc;
        for (; n0 + 8 <= n1; n0 += 8)
            FMLP_IFN(gk_dot_1x8)(K, x, B + n0 * ldb, ldb, c + n0, alpha, beta);
    }
    for (int64_t j = n0; j < n1; j += GK_DC) {
        const int64_t cols = n1 - j < GK_DC ? n1 - j : GK_DC;
        for (int64_t i = m0; i < m1; i += GK_DR) {
            const int64_t rows = m1 - i < GK_DR ? m1 - i : GK_DR;
            FMLP_IFN(gk_dot_tab)[rows - 1][cols - 1](K, A + i * lda, lda, B + j * ldb, ldb,
                                                     C + i * ldc + j, ldc, alpha, beta);
        }
    }
}

/* ---- packing --------------------------------------------------------------
 * A block op(A)[i0:i0+mc, k0:k0+kc] becomes panels of GK_MR rows, each laid
 * out k-major (Ap[k*GK_MR + r]); B block op(B)[k0:k0+kc, j0:j0+nc] becomes
 * panels of GK_NR columns (Bp[k*GK_NR + c]). Rows/columns past the edge are
 * zero so every panel has the full stride. Buffers keep GK_SLACK elements
 * after each packed area (gk_pack_rows may write a few past a panel). */
#define GK_SLACK 64
#ifdef GK_PACK_X86
#  include "gemm_pack_x86.h"
#else
static void FMLP_IFN(gk_pack_rows)(FMLP_T *dst, const FMLP_T *src, int64_t ld,
                                   int64_t nvalid, int64_t kc, int64_t P)
{
    for (int64_t k = 0; k < kc; k++)
        for (int64_t c = 0; c < P; c++) dst[k * P + c] = c < nvalid ? src[c * ld + k] : (FMLP_T)0;
}

static void FMLP_IFN(gk_pack_cols)(FMLP_T *dst, const FMLP_T *src, int64_t ld,
                                   int64_t n, int64_t kc, int64_t P)
{
    for (int64_t q = 0; q < n; q += P)
        for (int64_t k = 0; k < kc; k++)
            for (int64_t c = 0; c < P; c++)
                dst[q * kc + k * P + c] = q + c < n ? src[k * ld + q + c] : (FMLP_T)0;
}
#endif

static void FMLP_IFN(gk_pack_a)(FMLP_T *Ap, const FMLP_T *A, int64_t lda, int trans_a,
                                int64_t i0, int64_t mc, int64_t k0, int64_t kc)
{
    if (trans_a) {
        FMLP_IFN(gk_pack_cols)(Ap, A + k0 * lda + i0, lda, mc, kc, GK_MR);
        return;
    }
    for (int64_t p = 0; p < mc; p += GK_MR) {
        const int64_t rows = mc - p < GK_MR ? mc - p : GK_MR;
        FMLP_IFN(gk_pack_rows)(Ap + p * kc, A + (i0 + p) * lda + k0, lda, rows, kc, GK_MR);
    }
}

static void FMLP_IFN(gk_pack_b)(FMLP_T *Bp, const FMLP_T *B, int64_t ldb, int trans_b,
                                int64_t k0, int64_t kc, int64_t j0, int64_t nc)
{
    if (!trans_b) {
        FMLP_IFN(gk_pack_cols)(Bp, B + k0 * ldb + j0, ldb, nc, kc, GK_NR);
        return;
    }
    for (int64_t q = 0; q < nc; q += GK_NR) {
        const int64_t cols = nc - q < GK_NR ? nc - q : GK_NR;
        FMLP_IFN(gk_pack_rows)(Bp + q * kc, B + (j0 + q) * ldb + k0, ldb, cols, kc, GK_NR);
    }
}

/* ---- packed driver --------------------------------------------------------
 * Loops NC (B block, L3) > KC (depth, sets the panel sizes) > MC (A block, L2)
 * > NR strips (a B micro-panel, L1) > MR tiles. K is blocked the same way for
 * every sub-range, which keeps splits bit-identical. */
static inline int64_t FMLP_IFN(gk_round_up)(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* The depth block for a product of depth K: K itself up to GK_KC1 (a
 * slightly deeper micro-panel beats a second, short pass over C), else
 * GK_KC. It depends on K alone, so every sub-range blocks K the same way. */
static inline int64_t FMLP_IFN(gk_kc)(int64_t K) { return K <= GK_KC1 ? K : GK_KC; }

/* Scratch of the packed driver blocking N by ncb (GK_NC, or GK_NCA when A is
 * packed too). */
static size_t FMLP_IFN(gk_packed_bytes)(int64_t M, int64_t N, int64_t K, int64_t ncb)
{
    const int64_t mc = M < GK_MC ? FMLP_IFN(gk_round_up)(M, GK_MR) : GK_MC;
    const int64_t nc = N < ncb ? FMLP_IFN(gk_round_up)(N, GK_NR) : ncb;
    const int64_t kc = FMLP_IFN(gk_kc)(K);
    return (size_t)((mc + nc) * kc + 2 * GK_SLACK) * sizeof(FMLP_T) + 64;
}



static void FMLP_IFN(gk_packed)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                                const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                                int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                                int64_t m0, int64_t m1, int64_t n0, int64_t n1, int pack_a,
                                int64_t ncb, void *work)
{
    const int64_t mcap = M < GK_MC ? FMLP_IFN(gk_round_up)(M, GK_MR) : GK_MC;
    const int64_t kb = FMLP_IFN(gk_kc)(K);
    const int64_t kcap = kb;
    FMLP_T *Ap = (FMLP_T *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    FMLP_T *Bp = Ap + mcap * kcap + GK_SLACK;
    /* Unpacked A (small M, NN/TN): tiles read A in place, by rows (layout 0)
     * or by columns (layout 1). */
    const int layout = pack_a ? 2 : (trans_a ? 1 : 0);
    for (int64_t jc = n0; jc < n1; jc += ncb) {
        const int64_t nc = n1 - jc < ncb ? n1 - jc : ncb;
        for (int64_t pc = 0; pc < K; pc += kb) {
            const int64_t kc = K - pc < kb ? K - pc : kb;
            const FMLP_T bt = pc == 0 ? beta : (FMLP_T)1;
            FMLP_IFN(gk_pack_b)(Bp, B, ldb, trans_b, pc, kc, jc, nc);
            for (int64_t ic = m0; ic < m1; ic += GK_MC) {
                const int64_t mc = m1 - ic < GK_MC ? m1 - ic : GK_MC;
                if (pack_a) FMLP_IFN(gk_pack_a)(Ap, A, lda, trans_a, ic, mc, pc, kc);
                for (int64_t jr = 0; jr < nc; jr += GK_NR) {
                    const int64_t n = nc - jr < GK_NR ? nc - jr : GK_NR;
                    for (int64_t ir = 0; ir < mc; ir += GK_MR) {
                        const int64_t rows = mc - ir < GK_MR ? mc - ir : GK_MR;
                        const int64_t i = ic + ir;
                        const FMLP_T *a = pack_a ? Ap + ir * kc
                                        : (trans_a ? A + pc * lda + i : A + i * lda + pc);
                        FMLP_IFN(gk_tile)(layout, rows, n, kc, a, pack_a ? GK_MR : lda,
                                          Bp + jr * kc, GK_NR, C + i * ldc + jc + jr, ldc,
                                          alpha, bt);
                    }
                }
            }
        }
    }
}

/* ---- path choice and entry points ---------------------------------------- */
#ifndef GK_PATH_SUP /* once per file, though the template expands twice */
enum { GK_PATH_SUP = 0, GK_PATH_PACKB = 1, GK_PATH_PACKED = 2 };
#  define GK_PATH_SUP GK_PATH_SUP
#endif

/* Depends on the whole shape (and, at call time, the leading dimensions)
 * only, never on a sub-block, which keeps splits bit-identical. Packing both operands pays once enough row tiles
 * reuse each B panel. Below that, NT needs no copy at all (dot kernel over
 * contiguous rows), and NN/TN pack only B once it is big enough to fall out
 * of cache: a K x 16 strip of B read in place touches one line per row, and
 * at row strides of 4 KiB every line is a new page for the prefetcher and
 * the same cache set; packing reads B's rows front to back once. */
static int FMLP_IFN(gk_plan)(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
{
    if (M >= GK_PACK_MIN_M) return GK_PATH_PACKED;
    if (!trans_a && trans_b) return GK_PATH_SUP;
    /* A single row tile reads each B strip once: nothing to amortise a copy. */
    if (M > GK_MR && K * N >= GK_PACKB_MIN_KN) return GK_PATH_PACKB;
    return GK_PATH_SUP;
}

/* Whether K rows of one cache line each, ld elements apart, fit in a
 * 32 KiB 8-way L1 using at most half of each set's ways (A and C need the
 * rest): the stride decides how many of the 64 sets the rows spread over. */
static int FMLP_IFN(gk_strip_fits_l1)(int64_t K, int64_t ld)
{
    const int64_t bytes = ld * (int64_t)sizeof(FMLP_T);
    int64_t sets = 64;
    if (bytes % 64 == 0) {
        int64_t g = (bytes / 64) % 64, a = 64;
        while (g) { int64_t t = a % g; a = g; g = t; } /* a = gcd(bytes/64, 64) */
        sets = 64 / a;
    }
    return K <= sets * 4 && K * 64 <= 16384;
}

/* Whether A is packed too on the packed path: always for TN at M >= the
 * packing threshold, and for NN/NT only when A's row stride is a multiple of
 * 4 KiB (see fmlp_gemm_isa). */
static int FMLP_IFN(gk_packs_a)(int path, int trans_a, int64_t lda)
{
    if (!trans_a && GK_NO_PACK_A) return ((size_t)lda * sizeof(FMLP_T)) % 4096 == 0;
    return path == GK_PATH_PACKED;
}

/* Sized for the path a contiguous A (lda = K, or M for TN) takes; a caller
 * with another stride that makes A packed gets GK_NC blocking if the scratch
 * is short of GK_NCA's (the same bits either way: N blocks never change a
 * chain). */
size_t FMLP_IFN(fmlp_gemm_isa_work)(int64_t M, int64_t N, int64_t K, int trans_a, int trans_b)
{
    const int path = FMLP_IFN(gk_plan)(M, N, K, trans_a, trans_b);
    if (path == GK_PATH_SUP) return 0;
    const int pack_a = FMLP_IFN(gk_packs_a)(path, trans_a, trans_a ? M : K);
    return FMLP_IFN(gk_packed_bytes)(M, N, K, pack_a ? GK_NCA : GK_NC);
}

void FMLP_IFN(fmlp_gemm_isa)(FMLP_T *C, int64_t ldc, const FMLP_T *A, int64_t lda,
                             const FMLP_T *B, int64_t ldb, int64_t M, int64_t N, int64_t K,
                             int trans_a, int trans_b, FMLP_T alpha, FMLP_T beta,
                             int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                             void *work, size_t work_size)
{
    int path = FMLP_IFN(gk_plan)(M, N, K, trans_a, trans_b);
    /* Small-M NN/TN: a K x NR strip of B that stays in L1 (few enough rows,
     * spread over enough cache sets by its row stride) is reused in place
     * by every row tile; copying it first would only cost. */
    if (path == GK_PATH_PACKB && FMLP_IFN(gk_strip_fits_l1)(K, ldb))
        path = GK_PATH_SUP;
    /* NN/NT: rows of A can feed the kernel in place, saving a third of the
     * packing, unless their stride is a multiple of 4 KiB: then a tile's
     * rows share one L1 set with the B panel and thrash, so A is packed
     * too, whatever M. (Large TN keeps packing: its tile would touch a new
     * line of A every k.) Both variants use the same K blocking. */
    if (path != GK_PATH_SUP && !trans_a && GK_NO_PACK_A)
        path = FMLP_IFN(gk_packs_a)(path, trans_a, lda) ? GK_PATH_PACKED : GK_PATH_PACKB;
    /* A packed block is repacked for every NC block of columns, so packing
     * both operands blocks N by the wider GK_NCA (where the ISA file sets
     * one) when the scratch allows. */
    int64_t ncb = path == GK_PATH_PACKED ? GK_NCA : GK_NC;
    if (work != NULL && work_size < FMLP_IFN(gk_packed_bytes)(M, N, K, ncb)) ncb = GK_NC;
    if (path != GK_PATH_SUP && work != NULL &&
            work_size >= FMLP_IFN(gk_packed_bytes)(M, N, K, ncb)) {
        FMLP_IFN(gk_packed)(C, ldc, A, lda, B, ldb, M, N, K, trans_a, trans_b, alpha, beta,
                            m0, m1, n0, n1, path == GK_PATH_PACKED, ncb, work);
    } else if (trans_b) {
        /* NT (TT never comes here: gemm.c sends it to the generic path). */
        FMLP_IFN(gk_sup_dot)(C, ldc, A, lda, B, ldb, K, alpha, beta, m0, m1, n0, n1);
    } else {
        FMLP_IFN(gk_sup_bcast)(C, ldc, A, lda, B, ldb, K, trans_a, alpha, beta, m0, m1, n0, n1);
    }
}

#undef GK_NR
#undef GK_PF_ROWS
#undef GK_KC
#undef GK_MC
#undef GK_NC
#undef GK_NCA
#undef GK_KC1
#undef GK_SLACK
#undef GK_TILE_ARGS
#undef GK_TILE_PASS
#include "gemm_vec_undef.h"
