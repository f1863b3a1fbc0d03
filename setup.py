"""Build script for fastmlp's one extension module, fastmlp._core.

The C library in csrc/ is compiled into the extension together with the
Cython bridge. SIMD code selects its instruction set per source file with
target pragmas (see csrc/isa.h), so no -march flag is ever passed and the
same binary runs on any x86-64 (and the portable path on anything else).
"""
import glob
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def c_sources():
    # Sorted so builds are reproducible; relative so setuptools accepts them.
    return sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.c")))


def compile_args():
    if sys.platform == "win32":
        return ["/O2"]
    # -O3 but never -ffast-math: it would break isfinite() and NaN handling.
    # -fno-math-errno only lets sqrt() inline; results are unchanged.
    # -ffp-contract=off: a * b + c is never fused into one FMA behind our back
    # (gcc's ISO C default, not clang's), so every ISA path rounds the same and
    # the MT19937 draws stay NumPy's; FMA is used only where written.
    args = ["-O3", "-std=c11", "-fno-math-errno", "-ffp-contract=off", "-Wall",
            "-Wno-unused-function", "-pthread"]
    if os.environ.get("FASTMLP_SANITIZE"):
        # Memory-safety build (tools/sanitize.sh): ASan + UBSan, frame pointers.
        args = [a for a in args if a != "-O3"] + [
            "-O1", "-g", "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
        ]
    return args


def link_args():
    if sys.platform == "win32":
        return []
    args = ["-pthread"]
    if os.environ.get("FASTMLP_SANITIZE"):
        args += ["-fsanitize=address,undefined"]
    return args


extensions = [
    Extension(
        "fastmlp._core",
        sources=["fastmlp/_core.pyx"] + c_sources(),
        include_dirs=[np.get_include(), "csrc"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args(),
        extra_link_args=link_args(),
        depends=sorted(glob.glob(os.path.join("csrc", "*.h"))),
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    ),
    package_data={"fastmlp": ["datasets/data/*", "*.pxd"]},
    include_package_data=True,
)
