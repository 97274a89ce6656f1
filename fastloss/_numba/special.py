"""Numba special-function kernels: plain loops over C-contiguous arrays.

Elementwise kernels take 1-D ``x`` and ``out``; row kernels see ``x`` as (m, k, r) and reduce over
k. Each has a ``*_range`` form (serial, one block of work) and a ``*_par`` form that runs the same
blocks under ``prange``; results do not depend on the number of threads.
Math is done in float64 and rounded once into ``out``.

exp/log/log1p come from ``_math`` (branch-free polynomials that LLVM vectorises; libm calls do
not), and ``error_model="numpy"`` drops Numba's ZeroDivisionError check, whose branch would
otherwise stop a loop with a division from vectorising (x / 0 then gives inf/nan, as in NumPy).
"""
import numpy as np
from numba import njit, prange

from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from . import _tiled
from ._flags import JIT as _JIT
from ._flags import PAR as _PAR
from ._math import exp, log, log1p


# ---------------------------------------------------------------- scalar formulas
@njit(forceinline=True, **_JIT)
def expit1(x):
    """1 / (1 + exp(-x)), through e = exp(-|x|) <= 1 so nothing overflows."""
    e = exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


@njit(forceinline=True, **_JIT)
def softplus1(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); exact limits at +-inf, nan stays nan."""
    return (x if x > 0.0 else 0.0) + log1p(exp(-abs(x)))


@njit(forceinline=True, **_JIT)
def log_expit1(x):
    """log(expit(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    return (x if x < 0.0 else 0.0) - log1p(exp(-abs(x)))


# ---------------------------------------------------------------- elementwise maps
@njit(**_JIT)
def expit_range(x, out, start, stop):
    for i in range(start, stop):
        out[i] = expit1(np.float64(x[i]))


@njit(**_JIT)
def softplus_range(x, out, start, stop):
    for i in range(start, stop):
        out[i] = softplus1(np.float64(x[i]))


@njit(**_JIT)
def log_expit_range(x, out, start, stop):
    for i in range(start, stop):
        out[i] = log_expit1(np.float64(x[i]))


@njit(**_PAR)
def expit_par(x, out):
    n = x.shape[0]
    for b in prange((n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK):
        expit_range(x, out, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


@njit(**_PAR)
def softplus_par(x, out):
    n = x.shape[0]
    for b in prange((n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK):
        softplus_range(x, out, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


@njit(**_PAR)
def log_expit_par(x, out):
    n = x.shape[0]
    for b in prange((n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK):
        log_expit_range(x, out, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


# ---------------------------------------------------------------- row reductions
@njit(forceinline=True, **_JIT)
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


@njit(forceinline=True, **_JIT)
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


@njit(**_JIT)
def logsumexp_range(x, out, start, stop):
    m, k, r = x.shape
    if r == 1 and 0 < k <= _tiled.MAX_TILED_K:  # short rows: vectorised across rows
        _tiled.logsumexp_rows(x.reshape((m, k)), out.reshape(m), start, stop)
        return
    for i in range(start, stop):
        for j in range(r):
            out[i, j] = lse1(x, i, j)


@njit(**_PAR)
def logsumexp_par(x, out):
    m = x.shape[0]
    for b in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        logsumexp_range(x, out, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))


@njit(**_JIT)
def logsumexp_b_range(x, b, out, sign, start, stop):
    """log|Σ b·exp(x)| and its sign, as scipy: terms with b == 0 are dropped whatever x is; the
    sum is shifted by the max of the remaining x, and recomputed unshifted if that max is inf."""
    k = x.shape[1]
    r = x.shape[2]
    for i in range(start, stop):
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


@njit(**_PAR)
def logsumexp_b_par(x, b, out, sign):
    m = x.shape[0]
    for blk in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        logsumexp_b_range(x, b, out, sign, blk * ROW_BLOCK, min(m, (blk + 1) * ROW_BLOCK))


@njit(**_JIT)
def softmax_range(x, out, start, stop):
    """exp(x - m) / Σ exp(x - m) with m the row max; a nan, +inf or all -inf row gives nan,
    as scipy.special.softmax does."""
    m_, k, r = x.shape
    if r == 1 and 0 < k <= _tiled.MAX_TILED_K:
        _tiled.softmax_rows(x.reshape((m_, k)), out.reshape((m_, k)), start, stop)
        return
    for i in range(start, stop):
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


@njit(**_PAR)
def softmax_par(x, out):
    m = x.shape[0]
    for b in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        softmax_range(x, out, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))


@njit(**_JIT)
def log_softmax_range(x, out, start, stop):
    m_, k, r = x.shape
    if r == 1 and 0 < k <= _tiled.MAX_TILED_K and stop > start:
        special = np.zeros(stop - start, dtype=np.int8)
        _tiled.log_softmax_rows(x.reshape((m_, k)), out.reshape((m_, k)), start, stop, special)
        for i in range(start, stop):
            if special[i - start]:
                log_softmax_scalar(x, out, i, i + 1)
        return
    log_softmax_scalar(x, out, start, stop)


@njit(**_JIT)
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


@njit(**_PAR)
def log_softmax_par(x, out):
    m = x.shape[0]
    for b in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        log_softmax_range(x, out, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))
