"""The NumPy oracle: a plain implementation of every kernel.

This is the ground truth for tests and benchmarks, so it is written to be
obviously right, not fast. It computes in the dtype it is given; tests that
want the exact answer pass float64 copies.
"""
import numpy as np


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c."""
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    out = alpha * (opa @ opb)
    if c is not None and beta != 0.0:
        out = out + beta * c
    return out.astype(a.dtype, copy=False)


# ---- randomness shared by the engines ------------------------------------------
# Both engines must draw the same numbers, so the algorithms are fixed here
# exactly; the C engine implements the same ones (csrc/rng.h).

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & _MASK64


def mix64(z):
    """splitmix64's output function on a uint64 (Python int or uint64 array)."""
    if isinstance(z, np.ndarray):
        z = z.astype(np.uint64, copy=True)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        return z
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class Rng:
    """xoshiro256** seeded through splitmix64, with Lemire's bounded draw.

    - seed(s): x = s; four times: x += GOLDEN; state[i] = mix64(x).
    - next(): the xoshiro256** step.
    - bounded(n): uniform in [0, n): m = next() * n (128-bit); redraw while
      low64(m) < (2**64 - n) % n; return m >> 64.
    - permutation(n): Fisher-Yates from the identity, i = n-1 down to 1,
      j = bounded(i + 1), swap p[i], p[j].
    """

    def __init__(self, seed=0):
        self.seed(seed)

    def seed(self, seed):
        x = int(seed) & _MASK64
        state = []
        for _ in range(4):
            x = (x + _GOLDEN) & _MASK64
            state.append(mix64(x))
        self.state = state

    def next(self):
        s0, s1, s2, s3 = self.state
        result = (_rotl((s1 * 5) & _MASK64, 7) * 9) & _MASK64
        t = (s1 << 17) & _MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.state = [s0, s1, s2, s3]
        return result

    def bounded(self, n):
        m = self.next() * n
        low = m & _MASK64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & _MASK64
        return m >> 64

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.bounded(i + 1)
            p[i], p[j] = p[j], p[i]
        return np.array(p, dtype=np.int64)


def dropout_uniforms(key, step, layer, n):
    """The n uniforms in [0, 1) that decide dropout for one layer of one step.

    Counter-based, so any thread can draw any element: element e of layer l at
    global step s uses mix64(key + s * 2**40 + l * 2**32 + e + GOLDEN), top 53
    bits. A unit is kept when its uniform is >= the dropout rate.
    """
    base = (int(key) + (int(step) << 40) + (int(layer) << 32) + _GOLDEN) & _MASK64
    counters = np.uint64(base) + np.arange(n, dtype=np.uint64)
    return (mix64(counters) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
