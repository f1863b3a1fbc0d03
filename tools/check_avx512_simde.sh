#!/usr/bin/env bash
# check_avx512_simde.sh - builds the AVX-512 GEMM kernels against SIMDe's
# portable emulation and checks them against the reference on this CPU,
# which need not have AVX-512 (then the AVX2 kernels natively, if it can). Developer/CI tool; it builds nothing of the
# package. Needs gcc and SIMDe (Debian: apt-get install -y libsimde-dev;
# or SIMDE_INCLUDE=/path/to/simde-parent).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${TMPDIR:-/tmp}/fmlp_gemm_simde_check
INC=()
if [ -n "${SIMDE_INCLUDE:-}" ]; then INC=(-I"$SIMDE_INCLUDE"); fi
if ! echo '#include <simde/x86/avx512.h>' | gcc "${INC[@]}" -E -x c - >/dev/null 2>&1; then
    echo "check_avx512_simde: SIMDe not found (apt-get install -y libsimde-dev)" >&2
    exit 2
fi
# The library files keep their real flags; only gemm_avx512.c is emulated.
# -mavx2 -mfma lets SIMDe emulate 512-bit operations with native 256-bit
# ones (fast, fused multiply-add as on real hardware); pass EMU_FLAGS= to
# emulate with plain C instead.
EMU_FLAGS=${EMU_FLAGS--mavx2 -mfma -Wno-psabi}
CFLAGS="-O2 -std=c11 -fno-math-errno -Wall -Wno-unused-function -Icsrc"
gcc $CFLAGS ${SANITIZE:-} -c csrc/gemm.c -o "$OUT.gemm.o"
gcc $CFLAGS ${SANITIZE:-} -c csrc/cpu.c -o "$OUT.cpu.o"
gcc $CFLAGS ${SANITIZE:-} -c csrc/gemm_avx2.c -o "$OUT.avx2.o"
# cpu.c selects the elementwise tables too (fmlp_vec_select) and gemm.c has a
# threaded entry (pool.c): link them as built.
for f in elementwise_generic elementwise_avx2 elementwise_avx512 pool; do
    gcc $CFLAGS ${SANITIZE:-} -c "csrc/$f.c" -o "$OUT.$f.o"
done
# SANITIZE (e.g. -fsanitize=address,undefined) instruments every file but the
# emulated one: gcc needs many minutes and gigabytes for SIMDe under ASan.
gcc $CFLAGS $EMU_FLAGS "${INC[@]}" -DFMLP_GEMM_SIMDE -c csrc/gemm_avx512.c -o "$OUT.avx512.o"
gcc $CFLAGS ${SANITIZE:-} tools/gemm_simde_check.c "$OUT.gemm.o" "$OUT.cpu.o" "$OUT.avx2.o" \
    "$OUT.avx512.o" "$OUT.elementwise_generic.o" "$OUT.elementwise_avx2.o" \
    "$OUT.elementwise_avx512.o" "$OUT.pool.o" -lm -lpthread -o "$OUT"
"$OUT"
