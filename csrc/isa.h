/* isa.h - compile-time switches for per-ISA source files: which SIMD paths
 * this compiler can build, and the pragmas that put one file's functions on
 * one instruction set. It never uses -march flags and never detects the CPU
 * (cpu.c does that at run time). */
#ifndef FMLP_ISA_H
#define FMLP_ISA_H

#if defined(__x86_64__) || defined(_M_X64)
#  define FMLP_X86_64 1
#else
#  define FMLP_X86_64 0
#endif

/* SIMD paths need GCC or clang (target pragmas, __builtin_cpu_supports);
 * FASTMLP_GENERIC_ONLY builds the portable path alone. */
#if FMLP_X86_64 && (defined(__GNUC__) || defined(__clang__)) && !defined(FASTMLP_GENERIC_ONLY)
#  define FMLP_BUILD_AVX2 1
#  define FMLP_BUILD_AVX512 1
#else
#  define FMLP_BUILD_AVX2 0
#  define FMLP_BUILD_AVX512 0
#endif

/* FMLP_TARGET_BEGIN_xxx ... FMLP_TARGET_END bracket the code of one ISA file:
 * every function defined in between (static inline ones from included
 * templates too) is compiled for that instruction set. */
#if defined(__clang__)
#  define FMLP_TARGET_BEGIN_AVX2 \
     _Pragma("clang attribute push (__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#  define FMLP_TARGET_BEGIN_AVX512 \
     _Pragma("clang attribute push (__attribute__((target(\"avx512f,avx2,fma\"))), apply_to = function)")
#  define FMLP_TARGET_END _Pragma("clang attribute pop")
#elif defined(__GNUC__)
#  define FMLP_TARGET_BEGIN_AVX2 _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#  define FMLP_TARGET_BEGIN_AVX512 \
     _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx2,fma\")")
#  define FMLP_TARGET_END _Pragma("GCC pop_options")
#else
#  define FMLP_TARGET_BEGIN_AVX2
#  define FMLP_TARGET_BEGIN_AVX512
#  define FMLP_TARGET_END
#endif

#endif /* FMLP_ISA_H */
