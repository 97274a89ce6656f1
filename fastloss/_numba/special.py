"""Numba special-function kernels: plain loops over C-contiguous arrays.

Elementwise kernels take 1-D ``x`` and ``out``; row kernels see ``x`` as (m, k, r) and reduce over
k. Each ``*_rows`` kernel computes all of the rows it is given: the backend's driver
(fastloss/_numba/__init__.py) hands each thread a view of its share of the rows. Every row's result
depends on that row only, so the split never changes a result. Working on views also keeps every
loop index starting at 0, which lets Numba drop its negative-index wraparound (with it LLVM
vectorises these loops several times slower).
Math is done in float64 and rounded once into ``out``.

exp/log/log1p come from ``_math`` (branch-free polynomials that LLVM vectorises; libm calls do
not), and ``error_model="numpy"`` drops Numba's ZeroDivisionError check, whose branch would
otherwise stop a loop with a division from vectorising (x / 0 then gives inf/nan, as in NumPy).
"""
import numpy as np
from numba import njit

from . import _tiled
from ._flags import JIT as _JIT, cached_jit
from ._math import EXP_RANGE, exp, exp64_in_range, log, log1p, log1p_unit64


# ---------------------------------------------------------------- scalar formulas
# Each takes x and e = exp(-|x|) (float64): the maps below get e in float32 lanes for float32 x.
@njit(inline="always")
def expit_e(x, e):
    """1 / (1 + exp(-x)) from e = exp(-|x|) <= 1, so nothing overflows."""
    return (1.0 if x >= 0 else e) / (1.0 + e)


@njit(inline="always")
def softplus_e(x, e):
    """log(1 + exp(x)) = max(x, 0) + log1p(e); exact limits at +-inf, nan stays nan."""
    return (x if x > 0.0 else 0.0) + log1p_unit64(e)


@njit(inline="always")
def log_expit_e(x, e):
    """log(expit(x)) = -softplus(-x) = min(x, 0) - log1p(e)."""
    return (x if x < 0.0 else 0.0) - log1p_unit64(e)


@cached_jit(forceinline=True, **_JIT)
def expit1(x):
    return expit_e(x, exp(-abs(x)))


@cached_jit(forceinline=True, **_JIT)
def softplus1(x):
    return softplus_e(x, exp(-abs(x)))


@cached_jit(forceinline=True, **_JIT)
def log_expit1(x):
    return log_expit_e(x, exp(-abs(x)))


# ---------------------------------------------------------------- elementwise maps
# float32 lanes: for float32 x, e = exp(-|x|) is computed in float32 arithmetic (-|x| is exact,
# e within 0.77 ulp; 8 lanes per AVX2 instruction), a chunk at a time into a float32 buffer (a
# loop that stored it as float64 ran no faster than float64 math), and the rest in float64:
# nothing after e cancels, so each result stays within 2 float32 ulp (tests: mpmath).
CHUNK = 256


@njit(inline="always")
def exp_neg_abs_chunk(xc, e, m):
    """e[j] = exp(-|xc[j]|) (float64) for j < m: exp64_in_range while every |x| lies within
    EXP_RANGE, counted in the same loop (a separate pass over x first waits on memory alone); a
    chunk with an |x| beyond (or a nan) is redone with the full exp, the same bits."""
    inside = 0
    for j in range(m):
        a = abs(np.float64(xc[j]))
        inside += 1 if a <= EXP_RANGE else 0
        e[j] = exp64_in_range(-a)
    if inside != m:
        for j in range(m):
            e[j] = exp(-abs(np.float64(xc[j])))


@njit(inline="always")
def _map_e(x, out, formula):
    """out[i] = formula(x[i], exp(-|x[i]|)) (float32 x: e in float32 lanes)."""
    n = x.shape[0]
    if x.itemsize == 4:
        e = np.empty(CHUNK, np.float32)
        for c0 in range(0, n, CHUNK):
            m = min(CHUNK, n - c0)
            xc = x[c0:c0 + m]
            oc = out[c0:c0 + m]
            for j in range(m):
                e[j] = exp(-abs(xc[j]))
            for j in range(m):
                oc[j] = formula(np.float64(xc[j]), np.float64(e[j]))
    else:
        e = np.empty(CHUNK, np.float64)
        for c0 in range(0, n, CHUNK):
            m = min(CHUNK, n - c0)
            xc = x[c0:c0 + m]
            oc = out[c0:c0 + m]
            exp_neg_abs_chunk(xc, e, m)
            for j in range(m):
                oc[j] = formula(np.float64(xc[j]), e[j])


@cached_jit(**_JIT)
def expit_rows(x, out):
    _map_e(x, out, expit_e)


@cached_jit(**_JIT)
def softplus_rows(x, out):
    _map_e(x, out, softplus_e)


@cached_jit(**_JIT)
def log_expit_rows(x, out):
    _map_e(x, out, log_expit_e)


# ---------------------------------------------------------------- row reductions
@njit(inline="always")
def row_max(x, i, j):
    """Max of x[i, :, j] ignoring nan, and whether a nan was seen."""
    k = x.shape[1]
    mx = -np.inf
    seen_nan = False
    for t in range(k):
        v = np.float64(x[i, t, j])
        if v > mx:
            mx = v
        elif v != v:
            seen_nan = True
    return mx, seen_nan


@cached_jit(forceinline=True, **_JIT)
def lse1(x, i, j):
    """logsumexp of x[i, :, j] = m + log(c) + log1p(s / c), with m the max, c its multiplicity
    and s the sum of exp(v - m) over the other terms (Blanchard, Higham & Higham 2021): keeping
    the c exact ones out of s gives full relative accuracy when one term dominates."""
    k = x.shape[1]
    if k == 0:
        return -np.inf
    mx, seen_nan = row_max(x, i, j)
    if seen_nan:
        return np.nan
    if mx == np.inf or mx == -np.inf:
        return mx
    c = 0.0
    s = 0.0
    for t in range(k):
        v = np.float64(x[i, t, j])
        is_max = v == mx
        c += 1.0 if is_max else 0.0
        s += 0.0 if is_max else exp(v - mx)
    return mx + log(c) + log1p(s / c)


@cached_jit(**_JIT)
def logsumexp_rows(x, out):
    m, k, r = x.shape
    if r == 1 and 0 < k <= _tiled.MAX_TILED_K:  # short rows: vectorised across rows
        special = np.zeros(m, dtype=np.int8)
        _tiled.logsumexp_rows(x.reshape((m, k)), out.reshape(m), special)
        for i in range(m):
            if special[i]:
                out[i, 0] = lse1(x, i, 0)
        return
    for i in range(m):
        for j in range(r):
            out[i, j] = lse1(x, i, j)


@cached_jit(**_JIT)
def logsumexp_b_rows(x, b, out, sign):
    """log|Σ b·exp(x)| and its sign, as scipy: terms with b == 0 are dropped whatever x is; the
    sum is shifted by the max of the remaining x, and recomputed unshifted if that max is inf."""
    m, k, r = x.shape
    for i in range(m):
        for j in range(r):
            mx = -np.inf
            seen_nan = False
            for t in range(k):
                if b[i, t, j] != 0:
                    v = np.float64(x[i, t, j])
                    if v > mx:
                        mx = v
                    elif v != v:
                        seen_nan = True
            shift = mx if (mx != np.inf and mx != -np.inf) else 0.0
            total = 0.0
            for t in range(k):
                bv = np.float64(b[i, t, j])
                if bv != 0:
                    total += bv * exp(np.float64(x[i, t, j]) - shift)
            if seen_nan or total != total:
                out[i, j] = np.nan
                sign[i, j] = np.nan
            else:
                out[i, j] = log(abs(total)) + shift
                sign[i, j] = 1.0 if total > 0 else (-1.0 if total < 0 else 0.0)


@cached_jit(**_JIT)
def softmax_rows(x, out):
    """exp(x - m) / Σ exp(x - m) with m the row max; a nan, +inf or all -inf row gives nan,
    as scipy.special.softmax does."""
    m_, k, r = x.shape
    if r == 1 and 0 < k <= _tiled.MAX_TILED_K:
        _tiled.softmax_rows(x.reshape((m_, k)), out.reshape((m_, k)))
        return
    for i in range(m_):
        for j in range(r):
            mx, seen_nan = row_max(x, i, j)
            if seen_nan:
                mx = np.nan
            s = 0.0
            for t in range(k):
                e = exp(np.float64(x[i, t, j]) - mx)
                out[i, t, j] = e
                s += e
            for t in range(k):
                out[i, t, j] = out[i, t, j] / s


@cached_jit(**_JIT)
def log_softmax_rows(x, out):
    m_, k, r = x.shape
    if r == 1 and 0 < k <= _tiled.MAX_TILED_K and m_ > 0:
        special = np.zeros(m_, dtype=np.int8)
        _tiled.log_softmax_rows(x.reshape((m_, k)), out.reshape((m_, k)), special)
        for i in range(m_):
            if special[i]:
                log_softmax_scalar(x, out, i, i + 1)
        return
    log_softmax_scalar(x, out, 0, m_)


@cached_jit(**_JIT)
def log_softmax_scalar(x, out, start, stop):
    """(x - m) - log Σ exp(x - m), m the row max or 0 when that max is not finite (scipy).

    For finite m the log-sum is log(c) + log1p(s / c) (c maxima, s the rest) so entries near
    the max keep full accuracy; non-finite rows follow scipy's arithmetic exactly."""
    k = x.shape[1]
    r = x.shape[2]
    for i in range(start, stop):
        for j in range(r):
            mx, seen_nan = row_max(x, i, j)
            finite_max = mx != np.inf and mx != -np.inf
            if not finite_max:
                mx = 0.0
            c = 0.0
            s = 0.0
            for t in range(k):
                v = np.float64(x[i, t, j])
                if finite_max and v == mx:
                    c += 1.0
                else:
                    s += exp(v - mx)
            if seen_nan:
                ls = np.nan
            elif finite_max:
                ls = log(c) + log1p(s / c)
            else:
                ls = log(s) if s > 0 else (-np.inf if s == 0 else s)
            for t in range(k):
                out[i, t, j] = (np.float64(x[i, t, j]) - mx) - ls

