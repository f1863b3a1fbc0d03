/* cpu.c - finds out which instruction sets this CPU and OS can run and
 * selects one for every area's dispatch table.
 * It does not choose per call: one selection holds until fmlp_set_isa(). */
#include "internal.h"

static int g_active = FMLP_ISA_GENERIC;
static int g_best = FMLP_ISA_GENERIC;
static int g_ready = 0;

static const char *const g_names[FMLP_ISA_COUNT] = {"generic", "avx2", "avx512"};

const char *fmlp_isa_name(int isa)
{
    return (isa >= 0 && isa < FMLP_ISA_COUNT) ? g_names[isa] : "unknown";
}

int fmlp_isa_compiled(int isa)
{
    switch (isa) {
    case FMLP_ISA_GENERIC: return 1;
    case FMLP_ISA_AVX2: return FMLP_BUILD_AVX2;
    case FMLP_ISA_AVX512: return FMLP_BUILD_AVX512;
    default: return 0;
    }
}

/* __builtin_cpu_supports also checks that the OS saves the wider registers
 * (XGETBV), so a CPU flag alone never selects a path the kernel disabled. */
static int cpu_runs(int isa)
{
#if FMLP_BUILD_AVX2
    __builtin_cpu_init();
    switch (isa) {
    case FMLP_ISA_GENERIC: return 1;
    case FMLP_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case FMLP_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    default: return 0;
    }
#else
    return isa == FMLP_ISA_GENERIC;
#endif
}

int fmlp_isa_supported(int isa)
{
    return fmlp_isa_compiled(isa) && cpu_runs(isa);
}

static void select_all(int isa)
{
    fmlp_gemm_select(isa);
    fmlp_vec_select(isa);
    g_active = isa;
}

void fmlp_init(void)
{
    if (g_ready) return;
    g_best = FMLP_ISA_GENERIC;
    for (int isa = FMLP_ISA_COUNT - 1; isa > FMLP_ISA_GENERIC; isa--) {
        if (fmlp_isa_supported(isa)) { g_best = isa; break; }
    }
    select_all(g_best);
    g_ready = 1;
}

int fmlp_set_isa(int isa)
{
    fmlp_init();
    if (!fmlp_isa_supported(isa)) return FMLP_ERR_ISA;
    select_all(isa);
    return FMLP_OK;
}

int fmlp_get_isa(void) { fmlp_init(); return g_active; }

int fmlp_best_isa(void) { fmlp_init(); return g_best; }
