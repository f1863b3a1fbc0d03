#!/usr/bin/env bash
# sanitize.sh - build fastmlp with AddressSanitizer + UndefinedBehaviorSanitizer in a copy of
# the tree and run the tests there. It never touches the normal in-place build.
#
# Usage:
#   tools/sanitize.sh                 # the whole suite: tests + benchmarks (benchmarks not timed)
#   tools/sanitize.sh --quick         # the CI subset: kernels, engine, fuzzers, threads, fork
#   tools/sanitize.sh -- ARGS...      # any pytest arguments, e.g. -- tests/test_gemm.py -x
#
# Environment:
#   FASTMLP_SANITIZE_DIR   where the copy is built (default: a fresh temporary directory,
#                          removed afterwards; a given directory is kept and reused)
#   FASTMLP_FUZZ_EXAMPLES  examples per fuzz test (default 150; e.g. 5000 for a long run)
#   PYTHON                 the interpreter (default python3)
#
# Python itself is not instrumented, so the ASan runtime is preloaded (LD_PRELOAD) before
# the interpreter starts; leak detection is off (the interpreter keeps memory on purpose)
# and any UBSan finding aborts the run with a stack trace. A clean run ends with
# "sanitize: clean"; any report fails it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=${PYTHON:-python3}

# Everything that drives C code hard: kernels on every ISA path, the engine, both fuzzers,
# numerical faults, threads and fork. (The rest is Python over the same entry points.)
QUICK_TESTS=(tests/test_gemm.py tests/test_activations.py tests/test_losses.py
             tests/test_optim.py tests/test_engine.py tests/test_fuzz_kernels.py
             tests/test_fuzz_load.py tests/test_numerics.py tests/test_concurrency.py
             tests/test_processes.py)

if [[ ${1:-} == "--quick" ]]; then
    shift
    ARGS=("${QUICK_TESTS[@]}" -q -x "$@")
elif [[ ${1:-} == "--" ]]; then
    shift
    ARGS=("$@")
elif [[ $# -eq 0 ]]; then
    ARGS=(tests benchmarks --benchmark-disable -q)
else
    echo "usage: $0 [--quick [pytest args...] | -- pytest args...]" >&2
    exit 2
fi

# Exit status 77 means "cannot run here" (not a failure of fastmlp); CI reports it as such.
if [[ "$(uname -s)" != "Linux" ]]; then
    echo "sanitize: needs Linux and gcc (ASan runtime preloading)" >&2
    exit 77
fi
CC=${CC:-gcc}
ASAN_LIB="$("$CC" -print-file-name=libasan.so 2>/dev/null || true)"
UBSAN_LIB="$("$CC" -print-file-name=libubsan.so 2>/dev/null || true)"
if [[ ! -e "$ASAN_LIB" || ! -e "$UBSAN_LIB" ]]; then
    echo "sanitize: $CC has no ASan/UBSan runtime (libasan.so, libubsan.so); install them" \
         "(e.g. apt-get install libasan8 libubsan1)" >&2
    exit 77
fi
if ! "$PY" -c "import Cython, numpy, setuptools" 2>/dev/null; then
    echo "sanitize: building needs Cython, NumPy and setuptools in $PY's environment:" \
         "$PY -m pip install 'cython>=3.0' numpy setuptools" >&2
    exit 2
fi

if [[ -n ${FASTMLP_SANITIZE_DIR:-} ]]; then
    WORK="$FASTMLP_SANITIZE_DIR"
    mkdir -p "$WORK"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastmlp-sanitize.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
fi

# The copy: tracked and untracked-but-not-ignored files (work in progress included),
# never the in-place build products.
echo "sanitize: copying the tree to $WORK"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$ROOT" && tar --null -T - -cf - 2>/dev/null) | (cd "$WORK" && tar -xf -)
rm -f "$WORK"/fastmlp/*.so "$WORK"/fastmlp/_core.c

echo "sanitize: building with -fsanitize=address,undefined"
(cd "$WORK" && FASTMLP_SANITIZE=1 CC="$CC" "$PY" setup.py build_ext --inplace -j2 \
    > "$WORK/sanitize-build.log" 2>&1) || {
    tail -30 "$WORK/sanitize-build.log" >&2
    echo "sanitize: the build failed (log: $WORK/sanitize-build.log)" >&2
    exit 1
}

LOG="$WORK/sanitize-reports"
mkdir -p "$LOG"
rm -f "$LOG"/*
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:log_path=$LOG/asan:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOG/ubsan:${UBSAN_OPTIONS:-}"
# The copy lives elsewhere: point the real-data tests at the tree's data sets, if any.
if [[ -z ${FASTMLP_DATASETS:-} && -d "$ROOT/../shared/datasets" ]]; then
    export FASTMLP_DATASETS="$(cd "$ROOT/../shared/datasets" && pwd)"
fi

echo "sanitize: running python -m pytest ${ARGS[*]}"
status=0
(cd "$WORK" && LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" "$PY" -m pytest -p no:cacheprovider \
    "${ARGS[@]}") || status=$?

# Reports go to files (a sanitizer report in a child process would not reach pytest).
if compgen -G "$LOG/*" > /dev/null; then
    echo "sanitize: sanitizer reports:" >&2
    for f in "$LOG"/*; do
        echo "---- $f" >&2
        head -60 "$f" >&2
    done
    exit 1
fi
if [[ $status -ne 0 ]]; then
    echo "sanitize: the tests failed under the sanitizers (status $status)" >&2
    exit "$status"
fi
echo "sanitize: clean"
