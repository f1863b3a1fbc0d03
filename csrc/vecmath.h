/* vecmath.h - exp, expm1 and log1p written so that gcc vectorizes the loops
 * that call them (libm calls do not vectorize without -ffast-math).
 * It is a template fragment, not a header: included inside a dtype template
 * (FMLP_T, FMLP_FN, FMLP_IS_F32 set), so it has no include guard and defines
 * only static inline functions. It does no errno, no exceptions, no inf.
 *
 * Method (both dtypes): x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of
 * ln2, n rounded through the 1.5*2^p "magic" addition so no float->int
 * conversion is needed), expm1(r) = r + r^2 q(r) with q a Chebyshev fit
 * (mpmath, degree 9 for double, 4 for float), then a scale by 2^n built from
 * exponent bits. log1p on [0,1] uses log(1+f) = 2 atanh(f/(2+f)).
 * Plain C only: no fma(), so every ISA build rounds identically. */

#if FMLP_IS_F32
typedef uint32_t FMLP_FN(vm_bits);
#  define VM_MAGIC 12582912.0f                  /* 1.5 * 2^23 */
#  define VM_BIAS 127u
#  define VM_MANT 23
#  define VM_LOG2E 1.44269504088896341f
#  define VM_LN2_HI 0.693359375f                /* few bits: n * hi is exact */
#  define VM_LN2_LO -2.12194440e-4f
#  define VM_EXP_LO -104.0f                     /* exp() is 0 below */
#  define VM_EXP_HI 88.72f                      /* exp() is still finite */
#  define VM_EM_LO -20.0f                       /* expm1() is -1 below */
#  define VM_SQRT2 1.41421356f
#  define VM_LN2 0.693147181f
#else
typedef uint64_t FMLP_FN(vm_bits);
#  define VM_MAGIC 6755399441055744.0           /* 1.5 * 2^52 */
#  define VM_BIAS 1023u
#  define VM_MANT 52
#  define VM_LOG2E 1.4426950408889634074
#  define VM_LN2_HI 6.93147180369123816490e-01  /* low 32 bits zero */
#  define VM_LN2_LO 1.90821492927058770002e-10
#  define VM_EXP_LO -746.0
#  define VM_EXP_HI 709.78
#  define VM_EM_LO -60.0
#  define VM_SQRT2 1.41421356237309504880
#  define VM_LN2 0.693147180559945309417
#endif

static inline FMLP_T FMLP_FN(vm_abs)(FMLP_T x)
{
#if FMLP_IS_F32
    return fabsf(x);
#else
    return fabs(x);
#endif
}

/* With -fno-math-errno these inline to one vector square root. */
static inline FMLP_T FMLP_FN(vm_sqrt)(FMLP_T x)
{
#if FMLP_IS_F32
    return sqrtf(x);
#else
    return sqrt(x);
#endif
}

/* c ? a : b, as a bit blend. The plain ternary often does not vectorize
 * here: when one side is a constant, gcc's PRE specialises the rest of the
 * computation for it, and with -ftrapping-math (the default) the resulting
 * branch is never if-converted back. */
static inline FMLP_T FMLP_FN(vm_select)(int c, FMLP_T a, FMLP_T b)
{
    FMLP_FN(vm_bits) ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    FMLP_FN(vm_bits) m = (FMLP_FN(vm_bits))0 - (FMLP_FN(vm_bits))(c != 0);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

/* min(max(x, lo), hi); NaN stays NaN. */
static inline FMLP_T FMLP_FN(vm_clamp)(FMLP_T x, FMLP_T lo, FMLP_T hi)
{
    x = FMLP_FN(vm_select)(x < lo, lo, x);
    return FMLP_FN(vm_select)(x > hi, hi, x);
}

/* 2^nf for an integral nf with 2^nf normal. The magic addition leaves nf in
 * the low mantissa bits; adding the bias and shifting pushes the magic's own
 * exponent bits out of the word (unsigned, so the wrap is defined). */
static inline FMLP_T FMLP_FN(vm_pow2i)(FMLP_T nf)
{
    FMLP_T t = nf + VM_MAGIC;
    FMLP_FN(vm_bits) u;
    memcpy(&u, &t, sizeof u);
    u = (FMLP_FN(vm_bits))((u + VM_BIAS) << VM_MANT);
    FMLP_T s;
    memcpy(&s, &u, sizeof s);
    return s;
}

/* expm1(r) for |r| <= ln2/2 (a little more is harmless). */
static inline FMLP_T FMLP_FN(vm_expm1_core)(FMLP_T r)
{
#if FMLP_IS_F32
    FMLP_T q = 0.00139261759f;
    q = q * r + 0.00836317334f;
    q = q * r + 0.0416665561f;
    q = q * r + 0.166665778f;
    q = q * r + 0.5f;
#else
    FMLP_T q = 2.5100375832561234e-08;
    q = q * r + 2.7620075879983367e-07;
    q = q * r + 2.7557268480310024e-06;
    q = q * r + 2.4801521322368692e-05;
    q = q * r + 0.00019841269863040545;
    q = q * r + 0.0013888888917196719;
    q = q * r + 0.008333333333330065;
    q = q * r + 0.041666666666624164;
    q = q * r + 0.16666666666666669;
    q = q * r + 0.50000000000000011;
#endif
    return r + (r * r) * q;
}

/* n = round(x / ln2) as an integral FMLP_T, and r = x - n ln2. */
static inline FMLP_T FMLP_FN(vm_reduce)(FMLP_T x, FMLP_T *r)
{
    FMLP_T nf = (x * VM_LOG2E + VM_MAGIC) - VM_MAGIC;
    *r = (x - nf * VM_LN2_HI) - nf * VM_LN2_LO;
    return nf;
}

/* exp(x), a few ulp, never inf: inputs are clamped to [EXP_LO, EXP_HI], so
 * very negative x gives 0 (through correctly scaled subnormals) and very
 * positive x saturates just below the largest finite value. NaN stays NaN.
 * 2^n is applied in two halves so that n down to the subnormal range and up
 * to the overflow edge needs no special case. */
static inline FMLP_T FMLP_FN(vm_exp)(FMLP_T x)
{
    x = FMLP_FN(vm_clamp)(x, VM_EXP_LO, VM_EXP_HI);
    FMLP_T r;
    FMLP_T nf = FMLP_FN(vm_reduce)(x, &r);
    FMLP_T p = (FMLP_T)1 + FMLP_FN(vm_expm1_core)(r);
    FMLP_T h = (nf * (FMLP_T)0.5 + VM_MAGIC) - VM_MAGIC;
    return (p * FMLP_FN(vm_pow2i)(h)) * FMLP_FN(vm_pow2i)(nf - h);
}

/* expm1(x) for x <= 0 (tanh needs no more): keeps full relative accuracy
 * near 0, where exp(x) - 1 would cancel. Below EM_LO the result is -1 in
 * this precision anyway, and clamping there keeps 2^n normal. */
static inline FMLP_T FMLP_FN(vm_expm1_neg)(FMLP_T x)
{
    x = FMLP_FN(vm_clamp)(x, VM_EM_LO, 0);
    FMLP_T r;
    FMLP_T nf = FMLP_FN(vm_reduce)(x, &r);
    FMLP_T s = FMLP_FN(vm_pow2i)(nf);
    return s * FMLP_FN(vm_expm1_core)(r) + (s - (FMLP_T)1);
}

/* log1p(u) for u in [0, 1] (the range of exp(-|z|) in the BCE loss).
 * s = 1 + u rounds; c = (u - (s - 1)) / s restores what the rounding lost.
 * s = 2^k m with m in [sqrt(1/2), sqrt(2)), f = m - 1 exactly (Sterbenz),
 * log(1 + f) = 2 a + 2 a w g(w) with a = f / (2 + f), w = a^2. */
static inline FMLP_T FMLP_FN(vm_log1p_unit)(FMLP_T u)
{
    u = FMLP_FN(vm_clamp)(u, 0, 1);
    FMLP_T s = (FMLP_T)1 + u;
    FMLP_T c = (u - (s - (FMLP_T)1)) / s;
    int big = s > VM_SQRT2;
    FMLP_T m = FMLP_FN(vm_select)(big, s * (FMLP_T)0.5, s);
    FMLP_T k = FMLP_FN(vm_select)(big, VM_LN2, 0);
    FMLP_T f = m - (FMLP_T)1;
    FMLP_T a = f / ((FMLP_T)2 + f);
    FMLP_T w = a * a;
#if FMLP_IS_F32
    FMLP_T g = 0.147899747f;
    g = g * w + 0.1999439f;
    g = g * w + 0.333333433f;
#else
    FMLP_T g = 0.073082248425217031;
    g = g * w + 0.07665860800278021;
    g = g * w + 0.090914445626308613;
    g = g * w + 0.1111110556739754;
    g = g * w + 0.14285714312987743;
    g = g * w + 0.19999999999949752;
    g = g * w + 0.33333333333333348;
#endif
    FMLP_T a2 = a + a;
    return k + (a2 + (a2 * w) * g + c);
}

/* sigmoid(x) = 1 / (1 + exp(-x)) through e = exp(-|x|) <= 1, so nothing
 * overflows and the small tail keeps its relative accuracy. */
static inline FMLP_T FMLP_FN(vm_sigmoid)(FMLP_T x)
{
    FMLP_T e = FMLP_FN(vm_exp)(-FMLP_FN(vm_abs)(x));
    FMLP_T num = x >= 0 ? (FMLP_T)1 : e;
    return num / ((FMLP_T)1 + e);
}

/* tanh(|x|) = -expm1(-2|x|) / (2 + expm1(-2|x|)): no cancellation near 0. */
static inline FMLP_T FMLP_FN(vm_tanh)(FMLP_T x)
{
    FMLP_T a = FMLP_FN(vm_abs)(x);
    FMLP_T em = FMLP_FN(vm_expm1_neg)(-(a + a));
    FMLP_T t = -em / ((FMLP_T)2 + em);
    return x < 0 ? -t : t;
}

#undef VM_MAGIC
#undef VM_BIAS
#undef VM_MANT
#undef VM_LOG2E
#undef VM_LN2_HI
#undef VM_LN2_LO
#undef VM_EXP_LO
#undef VM_EXP_HI
#undef VM_EM_LO
#undef VM_SQRT2
#undef VM_LN2
