"""GEMM: every ISA path and both dtypes against the float64 oracle.

Not timing anything (benchmarks/bench_gemm.py does). The error bound is
proportional to |op(A)| @ |op(B)| (+ |beta C|), so rounding passes and a
wrong formula, index or tail fails.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastmlp
from fastmlp import _core, kernels, reference



def rtol_for(dtype):
    """tests/conftest.py's tolerances (conftest is not importable by name
    when tests/ and benchmarks/ run together)."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12

@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """The float64 oracle's matmuls are small: OpenBLAS threads only spin."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


# (trans_a, trans_b): NT forward, NN input gradient, TN weight gradient, TT.
ORIENTATIONS = [(False, True), (False, False), (True, False), (True, True)]
ORI_IDS = ["NT", "NN", "TN", "TT"]
MLP_ORIENTATIONS = ORIENTATIONS[:3]


def make(rng, m, n, k, ta, tb, dtype, pad=0):
    """op(a) is m x k, op(b) is k x n; pad > 0 returns column-sliced views
    whose row stride is wider than the row."""
    def mat(r, c):
        base = rng.standard_normal((r, c + pad)).astype(dtype)
        return base[:, :c] if pad else base
    a = mat(k, m) if ta else mat(m, k)
    b = mat(n, k) if tb else mat(k, n)
    return a, b


def oracle(a, b, c0, ta, tb, alpha, beta):
    """Exact-enough result and the magnitude its rounding error scales with."""
    opa = a.astype(np.float64).T if ta else a.astype(np.float64)
    opb = b.astype(np.float64).T if tb else b.astype(np.float64)
    exact = alpha * (opa @ opb)
    scale = abs(alpha) * (np.abs(opa) @ np.abs(opb))
    if beta != 0:
        exact = exact + beta * c0.astype(np.float64)
        scale = scale + abs(beta) * np.abs(c0.astype(np.float64))
    return exact, scale


def assert_gemm_close(c, exact, scale, dtype, what=""):
    tol = rtol_for(dtype)
    err = np.abs(np.asarray(c, dtype=np.float64) - exact)
    bad = ~(err <= tol * scale + 1e-300)  # NaN counts as bad
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise AssertionError(f"{what} wrong at ({i}, {j}): got {c[i, j]!r}, expected "
                             f"{exact[i, j]!r} (bound {tol * scale[i, j]:.3g}); "
                             f"{int(bad.sum())} of {bad.size} elements off")


def run_core(a, b, c, ta, tb, alpha, beta, work="auto", reference=False):
    """_core.gemm with the packing scratch given ("auto"), absent (None) or
    too small ("small")."""
    m, n = c.shape
    k = a.shape[0] if ta else a.shape[1]
    size = _core.gemm_work_size(m, n, k, ta, tb, c.dtype == np.float32)
    if work == "auto":
        w = np.empty(size, np.uint8) if size else None
    elif work == "small":
        w = np.empty(max(size // 2, 1), np.uint8)
    else:
        w = None
    _core.gemm(c, a, b, ta, tb, alpha, beta, w, reference)
    return c


def check_one(rng, m, n, k, ta, tb, dtype, alpha=1.0, beta=0.0, pad=0, work="auto",
              reference=False):
    a, b = make(rng, m, n, k, ta, tb, dtype, pad)
    cbase = rng.standard_normal((m, n + pad + 2)).astype(dtype)
    if beta == 0:
        cbase[:, :n] = np.nan  # beta == 0 must not read C
    cbase[:, n:] = 777.0  # padding past the row must stay untouched
    c = cbase[:, :n]
    c0 = c.copy()
    run_core(a, b, c, ta, tb, alpha, beta, work, reference)
    exact, scale = oracle(a, b, c0, ta, tb, alpha, beta)
    what = f"{m}x{n}x{k} ta={ta} tb={tb} alpha={alpha} beta={beta} pad={pad} work={work}"
    assert_gemm_close(c, exact, scale, dtype, what)
    assert np.all(cbase[:, n:] == 777.0), f"{what}: wrote past the end of C's rows"


SHAPES = [
    (1, 1, 1), (2, 3, 5), (7, 11, 13), (13, 17, 19), (31, 37, 41),  # primes
    (1, 128, 784), (1, 10, 128), (4, 9, 3),  # batch 1 and tiny
    (32, 128, 784), (33, 129, 67), (32, 10, 128), (32, 784, 10),  # MLP batch 32
    (5, 300, 7), (300, 5, 7),  # wide and tall
    (3, 2, 200), (64, 64, 1), (17, 23, 9), (6, 16, 8), (8, 48, 16),  # exact tiles
    (13, 300, 250), (63, 97, 700),  # small M, B big enough to pack alone (NN/TN)
]


@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_shapes(isa, dtype, ta, tb, shape):
    rng = np.random.default_rng(hash(shape) % 2**32)
    m, n, k = shape
    check_one(rng, m, n, k, ta, tb, dtype)
    check_one(rng, m, n, k, ta, tb, dtype, alpha=-0.5, beta=1.5, pad=3)


@pytest.mark.parametrize("ta,tb", MLP_ORIENTATIONS, ids=ORI_IDS[:3])
def test_every_tail(isa, dtype, ta, tb):
    """Every N tail up to 2*NR+1 (NR is 48 on AVX-512 fp32), every M tail up
    to 2*MR+1, and K around the vector widths."""
    rng = np.random.default_rng(7)
    for n in range(1, 98):
        check_one(rng, 3, n, (n % 19) + 1, ta, tb, dtype, beta=0.0 if n % 2 else 0.5)
    for m in range(1, 18):
        check_one(rng, m, 50, 33, ta, tb, dtype, beta=0.0 if m % 2 else 2.0)
        check_one(rng, m, 7, 16, ta, tb, dtype)
    for k in range(1, 34):
        check_one(rng, 5, 9, k, ta, tb, dtype)


# K = 1024 without padding gives A rows 4 KiB apart, where NN/NT pack A
# instead of reading it in place: both variants of the packed path.
BIG = [(130, 150, 270), (96, 97, 64), (200, 50, 513), (70, 60, 1024), (20, 70, 1024)]


@pytest.mark.parametrize("work", ["auto", None, "small"])
@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
def test_packed_and_unpacked(isa, dtype, ta, tb, work):
    """Shapes big enough to pack: with scratch (packed path), without, and
    with too little (the unpacked path must take over)."""
    if work != "auto" and (isa == "generic" or (ta and tb)):
        pytest.skip("the portable path (and TT everywhere) never packs")
    rng = np.random.default_rng(11)
    for m, n, k in BIG:
        check_one(rng, m, n, k, ta, tb, dtype, alpha=0.75, beta=-1.0, pad=5, work=work)
        check_one(rng, m, n, k, ta, tb, dtype, work=work)


def test_packed_path_is_used(isa, dtype):
    """The SIMD paths ask for scratch on a large MLP shape (so the packed
    tests above really pack); the portable path never does."""
    size = _core.gemm_work_size(512, 1024, 1024, False, True, dtype == np.float32)
    assert (size > 0) == (isa != "generic")
    assert _core.gemm_work_size(0, 5, 5, False, False, True) == 0


@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
def test_wider_than_a_b_block(isa, dtype, ta, tb):
    """N beyond the packed driver's NC (AVX2: 512 columns, 1024 when A is
    packed too; AVX-512: 4032), K beyond KC: several column blocks, each with
    A read in place (stride 600) or packed (TN, and a 4 KiB row stride)."""
    rng = np.random.default_rng(3)
    check_one(rng, 96, 4100, 600, ta, tb, dtype, beta=1.0)
    check_one(rng, 70, 2100, 1024, ta, tb, dtype, alpha=0.5, beta=-1.0)


@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
def test_empty_dimensions(isa, dtype, ta, tb):
    rng = np.random.default_rng(5)
    for m, n in [(0, 5), (5, 0), (0, 0)]:
        check_one(rng, m, n, 4, ta, tb, dtype, beta=1.0)
    # K == 0: C = beta * C, and exactly 0 over NaN garbage when beta == 0.
    a, b = make(rng, 4, 6, 0, ta, tb, dtype)
    c = np.full((4, 6), np.nan, dtype)
    run_core(a, b, c, ta, tb, 1.0, 0.0)
    assert np.all(c == 0)
    c = np.full((4, 6), 3.0, dtype)
    run_core(a, b, c, ta, tb, 1.0, -2.0)
    assert np.all(c == -6.0)


def test_alpha_zero_scales_c(isa, dtype):
    rng = np.random.default_rng(9)
    a, b = make(rng, 20, 30, 40, False, True, dtype)
    c = rng.standard_normal((20, 30)).astype(dtype)
    expected = 0.5 * c
    run_core(a, b, c, False, True, 0.0, 0.5)
    np.testing.assert_array_equal(c, expected)


@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
def test_c_reference_kernel(dtype, ta, tb):
    """fmlp_gemm_ref, the C oracle the fast paths sit beside, is right too."""
    rng = np.random.default_rng(13)
    for m, n, k in [(1, 1, 1), (7, 11, 13), (33, 20, 70)]:
        check_one(rng, m, n, k, ta, tb, dtype, reference=True)
        check_one(rng, m, n, k, ta, tb, dtype, alpha=2.0, beta=-0.5, pad=2, reference=True)


@pytest.mark.parametrize("shape", [(130, 300, 270), (32, 128, 784), (40, 100, 30)],
                         ids=["packed", "small-M", "small"])
@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
def test_sub_blocks_bit_identical(isa, dtype, ta, tb, shape):
    """The thread-split entry gives the same bits for any split of M and N."""
    rng = np.random.default_rng(17)
    m, n, k = shape
    a, b = make(rng, m, n, k, ta, tb, dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    size = _core.gemm_work_size(m, n, k, ta, tb, dtype == np.float32)
    w = np.empty(size, np.uint8) if size else None
    for beta in (0.0, 1.25):
        whole = c0.copy()
        _core.gemm(whole, a, b, ta, tb, 0.5, beta, w)
        for ms, ns in [(m // 3, n // 2), (1, n - 1), (48, 48), (m - 5, 17)]:
            ms, ns = min(ms, m), min(ns, n)
            split = c0.copy()
            for m0, m1 in ((0, ms), (ms, m)):
                for n0, n1 in ((0, ns), (ns, n)):
                    _core.gemm_range(split, a, b, ta, tb, 0.5, beta, m0, m1, n0, n1, w)
            np.testing.assert_array_equal(split, whole)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.integers(0, 70), n=st.integers(0, 110), k=st.integers(0, 90),
       ori=st.sampled_from(ORIENTATIONS), f32=st.booleans(),
       alpha=st.sampled_from([1.0, -1.5, 0.25]), beta=st.sampled_from([0.0, 1.0, -0.5]),
       pad=st.integers(0, 3), work=st.sampled_from(["auto", None]), seed=st.integers(0, 2**16))
def test_property_random_shapes(isa, m, n, k, ori, f32, alpha, beta, pad, work, seed):
    dtype = np.dtype(np.float32 if f32 else np.float64)
    check_one(np.random.default_rng(seed), m, n, k, ori[0], ori[1], dtype,
              alpha=alpha, beta=beta, pad=pad, work=work)


# ---- the public kernels.gemm ---------------------------------------------------

@pytest.mark.parametrize("ta,tb", ORIENTATIONS, ids=ORI_IDS)
def test_kernels_gemm_matches_reference(isa, dtype, ta, tb):
    rng = np.random.default_rng(21)
    for m, n, k in [(32, 128, 784), (130, 70, 200), (1, 3, 2)]:
        a, b = make(rng, m, n, k, ta, tb, dtype)
        got = kernels.gemm(a, b, trans_a=ta, trans_b=tb)
        assert got.dtype == dtype and got.shape == (m, n)
        exact, scale = oracle(a, b, None, ta, tb, 1.0, 0.0)
        assert_gemm_close(got, exact, scale, dtype, "kernels.gemm")
        np.testing.assert_allclose(reference.gemm(a, b, trans_a=ta, trans_b=tb), exact,
                                   rtol=rtol_for(dtype) * 10, atol=rtol_for(dtype) * np.max(scale))
        c = rng.standard_normal((m, n)).astype(dtype)
        c0 = c.copy()
        out = kernels.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=2.0, beta=-1.0)
        assert out is c
        exact, scale = oracle(a, b, c0, ta, tb, 2.0, -1.0)
        assert_gemm_close(c, exact, scale, dtype, "kernels.gemm into c")


def test_kernels_gemm_reuses_scratch():
    """The cached packing buffer is reused, not reallocated, call after call."""
    if fastmlp.get_isa() == "generic":
        pytest.skip("the portable path never packs, so it has no scratch to reuse")
    a = np.ones((256, 256), np.float32)
    kernels.gemm(a, a, trans_b=True)
    first = kernels._gemm_tls.work
    kernels.gemm(a, a, trans_b=True)
    assert kernels._gemm_tls.work is first


def test_kernels_gemm_validation():
    a = np.ones((4, 3), np.float32)
    b = np.ones((3, 5), np.float32)
    with pytest.raises(TypeError, match="a must have dtype float32 or float64"):
        kernels.gemm(a.astype(np.int32), b)
    with pytest.raises(TypeError, match="b has dtype float64 but a has dtype float32"):
        kernels.gemm(a, b.astype(np.float64))
    with pytest.raises(TypeError, match="NumPy array"):
        kernels.gemm(a.tolist(), b)
    with pytest.raises(ValueError, match="must be 2-D"):
        kernels.gemm(a.ravel(), b)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        kernels.gemm(a, b.T.copy())
    with pytest.raises(ValueError, match="unit column stride"):
        kernels.gemm(np.ones((4, 6), np.float32)[:, ::2], b)
    with pytest.raises(ValueError, match="c must have shape"):
        kernels.gemm(a, b, np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="c has dtype float64"):
        kernels.gemm(a, b, np.zeros((4, 5), np.float64))
    ro = np.zeros((4, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.gemm(a, b, ro)
    sq = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="c shares memory with a"):
        kernels.gemm(sq, np.ones((4, 4), np.float32), sq)
    with pytest.raises(ValueError, match="beta must be 0"):
        kernels.gemm(a, b, beta=1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        kernels.gemm(a, b, alpha=np.inf)
    with pytest.raises(TypeError, match="beta must be a real number"):
        kernels.gemm(a, b, np.zeros((4, 5), np.float32), beta="1")


def test_isa_fixture_covers_simd_here():
    """On an x86-64 CPU with AVX2 the SIMD path is among those tested."""
    import platform
    if platform.machine() in ("x86_64", "AMD64") and _core.isa_supported(1):
        assert "avx2" in fastmlp.available_isas()


def test_fma_peak_probe_counts_flop():
    """The benchmark probe reports the FLOP it ran (12 chains x lanes x 2),
    and nothing for paths this CPU cannot run or that have no probe."""
    assert _core.fma_peak_probe(0, 10) == 0
    for isa, lanes in ((1, 8), (2, 16)):
        expected = 10 * 12 * lanes * 2 if _core.isa_supported(isa) else 0
        assert _core.fma_peak_probe(isa, 10) == expected
