"""Numba loss kernels. The contract (families, kinds, signatures) is at the top of
fastloss/_numpy/losses.py; the formulas here are the same closed forms, one scalar function each.

Layout, following scikit-learn's ``_loss``: per loss one scalar ``_l_*`` (loss), ``_g_*``
(gradient) and ``_h_*`` (hessian), all float64 and ``inline='always'``; ``_elem_l`` etc. pick one
by ``kind``. The generic loops (``_loop_*``) are also inlined, and each ``*_range`` function calls
them with the kind as a literal constant in an if-chain, so after inlining LLVM sees one branch-free
loop per loss (no per-element dispatch). ``*_serial`` / ``*_par`` walk fixed blocks (prange over
blocks in ``*_par``), keep each block's partial sum and add the partials in block order: results do
not depend on the number of threads.
"""
import math

import numpy as np
from numba import njit, prange

from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from .._numpy.losses import (
    ABSOLUTE,
    ASYMMETRIC,
    BCE,
    BCE_PROBA,
    BETA_NLL,
    CROSS_ENTROPY,
    FOCAL,
    GAUSSIAN_NLL,
    HINGE,
    HUBER,
    KL_DIV,
    LOG_COSH,
    MULTICLASS_HINGE,
    PINBALL,
    POISSON,
    SOFT_CROSS_ENTROPY,
    SQUARED,
)
from . import _run

try:  # branch-free exp/log1p that LLVM can vectorise (fastloss/_numba/_math.py), when present
    from ._math import exp as _exp
    from ._math import log1p as _log1p
except ImportError:  # pragma: no cover
    from math import exp as _exp
    from math import log1p as _log1p

NAME = "numba"
# error_model="numpy": a division by zero gives inf/nan (handled as values) instead of raising.
_JIT = dict(nogil=True, cache=True, error_model="numpy")
_PAR = dict(nogil=True, cache=True, parallel=True, error_model="numpy")
_INL = dict(forceinline=True, nogil=True, cache=True, error_model="numpy")
_INF = np.inf
_NAN = np.nan
_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ================================================================ scalar helpers
@njit(**_INL)
def _times(c, v):
    """c * v with 0 * anything = 0: a zero coefficient removes an infinite term."""
    return 0.0 if c == 0.0 else c * v


@njit(**_INL)
def _sigmoid_parts(r):
    """(e, sigma(r)) with e = exp(-|r|) <= 1: nothing overflows."""
    e = _exp(-abs(r))
    return e, (1.0 / (1.0 + e) if r >= 0.0 else e / (1.0 + e))


@njit(**_JIT)
def digamma(x):
    """psi(x), x >= 0: recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
    series to x**-12 (truncation error < 1e-16 relative at x = 10)."""
    if x != x:
        return _NAN
    if x == 0.0:
        return -_INF
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    s = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132 - r * 691 / 32760)))))
    return acc + math.log(x) - 0.5 / x - s


@njit(**_JIT)
def trigamma(x):
    """psi'(x), x >= 0: recurrence psi'(x) = psi'(x + 1) + 1/x**2 up to x >= 10, then the
    asymptotic series to x**-15."""
    if x != x:
        return _NAN
    if x * x == 0.0:
        return _INF
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    r = 1.0 / (x * x)
    s = 1 / 6 - r * (1 / 30 - r * (1 / 42 - r * (1 / 30 - r * (5 / 66 - r * (691 / 2730 - r * 7 / 6)))))
    return acc + 1.0 / x + 0.5 * r + s * r / x


# ================================================================ elementwise formulas
# Arguments: y (target), r (raw), a, b (params[0], params[1]); float64 in, float64 out.
# --- binary cross-entropy from logits, pos_weight a: l = a*y*softplus(-r) + (1-y)*softplus(r)
@njit(**_INL)
def _l_bce(y, r, a, b):
    c1 = a * y
    c0 = 1.0 - y
    lp = _log1p(_exp(-abs(r)))  # softplus(+-r) = max(+-r, 0) + log1p(exp(-|r|))
    sp_neg = (-r if r < 0.0 else 0.0) + lp
    sp_pos = (r if r > 0.0 else 0.0) + lp
    return _times(c1, sp_neg) + _times(c0, sp_pos)


@njit(**_INL)
def _g_bce(y, r, a, b):
    c1 = a * y
    e, sig = _sigmoid_parts(r)
    return sig * (c1 + 1.0 - y) - c1


@njit(**_INL)
def _h_bce(y, r, a, b):
    e = _exp(-abs(r))
    return (e / ((1.0 + e) * (1.0 + e))) * (a * y + 1.0 - y)  # sigma(1 - sigma), no cancellation


# --- binary cross-entropy from probabilities, clipped to [eps, 1 - eps] (eps = a), as log_loss.
# The derivatives are those of the unclipped formula at the clipped point (finite everywhere).
@njit(**_INL)
def _clip_p(r, eps):
    if r < 0.0 or r > 1.0:
        return _NAN  # not a probability: undefined (the API raises)
    return eps if r < eps else (1.0 - eps if r > 1.0 - eps else r)


@njit(**_INL)
def _l_bce_proba(y, r, a, b):
    q = _clip_p(r, a)
    return -(_times(y, math.log(q)) + _times(1.0 - y, math.log1p(-q)))


@njit(**_INL)
def _g_bce_proba(y, r, a, b):
    q = _clip_p(r, a)
    return -y / q + (1.0 - y) / (1.0 - q)


@njit(**_INL)
def _h_bce_proba(y, r, a, b):
    q = _clip_p(r, a)
    return y / (q * q) + (1.0 - y) / ((1.0 - q) * (1.0 - q))


# --- sigmoid focal loss (Lin et al. 2017; torchvision.ops.sigmoid_focal_loss), gamma a, alpha b.
# With s = +-1 for y = 1/0, u = s*r, q = sigma(-u) = 1 - p_t, L = softplus(-u) (the BCE):
#   l = alpha_t q**gamma L,  dl/du = -alpha_t q**gamma (gamma sigma(u) L + q),
#   d2l/du2 = alpha_t q**gamma sigma(u) (gamma B - q (gamma (L - 1) - 1)),  B = gamma sigma(u) L + q.
# sigma(u) L -> 0 as u -> -inf (written as 0 there to avoid 0 * inf).
@njit(**_INL)
def _focal_parts(y, r, b):
    s = 1.0 if y == 1.0 else (-1.0 if y == 0.0 else _NAN)
    u = s * r
    e, su = _sigmoid_parts(u)
    q = 1.0 - su if u < 0.0 else e / (1.0 + e)
    big_l = (-u if u < 0.0 else 0.0) + _log1p(e)
    at = 1.0 if b < 0.0 else (b if s > 0.0 else 1.0 - b)
    sl = 0.0 if u == -_INF else su * big_l
    return s, u, su, q, big_l, at, sl


@njit(**_INL)
def _l_focal(y, r, a, b):
    s, u, su, q, big_l, at, sl = _focal_parts(y, r, b)
    return _times(at, _times(q**a, big_l))


@njit(**_INL)
def _g_focal(y, r, a, b):
    s, u, su, q, big_l, at, sl = _focal_parts(y, r, b)
    return -s * at * q**a * (a * sl + q)


@njit(**_INL)
def _h_focal(y, r, a, b):
    s, u, su, q, big_l, at, sl = _focal_parts(y, r, b)
    if u == -_INF:
        return 0.0
    bb = a * sl + q
    return at * q**a * su * (a * bb - q * (a * (big_l - 1.0) - 1.0))


# --- half squared error: l = (r - y)**2 / 2, gradient r - y, hessian 1
@njit(**_INL)
def _l_squared(y, r, a, b):
    d = r - y
    return 0.5 * d * d


@njit(**_INL)
def _g_squared(y, r, a, b):
    return r - y


@njit(**_INL)
def _h_one(y, r, a, b):
    """Hessian 1: exact for squared error; the convention (scikit-learn, LightGBM) where none exists."""
    return 1.0 if (r == r and y == y) else _NAN


# --- absolute error |r - y|; gradient sign(r - y) with -1 at a tie (scikit-learn)
@njit(**_INL)
def _l_absolute(y, r, a, b):
    return abs(r - y)


@njit(**_INL)
def _g_absolute(y, r, a, b):
    d = r - y
    return 1.0 if d > 0.0 else (-1.0 if d <= 0.0 else _NAN)


# --- Huber, delta a (scikit-learn HuberLoss with a fixed delta)
@njit(**_INL)
def _l_huber(y, r, a, b):
    d = r - y
    ad = abs(d)
    return 0.5 * d * d if ad <= a else a * (ad - 0.5 * a)


@njit(**_INL)
def _g_huber(y, r, a, b):
    d = r - y
    if abs(d) <= a:
        return d
    return a if d > 0.0 else (-a if d < 0.0 else _NAN)


@njit(**_INL)
def _h_huber(y, r, a, b):
    ad = abs(r - y)
    return 1.0 if ad <= a else (0.0 if ad > a else _NAN)


# --- log-cosh: l = log(cosh(d)) = |d| + log1p(exp(-2|d|)) - log 2, d = r - y
@njit(**_INL)
def _l_log_cosh(y, r, a, b):
    ad = abs(r - y)
    return ad + _log1p(_exp(-2.0 * ad)) - _LOG2


@njit(**_INL)
def _g_log_cosh(y, r, a, b):
    return math.tanh(r - y)


@njit(**_INL)
def _h_log_cosh(y, r, a, b):
    e = _exp(-2.0 * abs(r - y))  # sech^2 = 4e/(1+e)^2: no 1 - tanh^2 cancellation
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


# --- pinball / quantile a: l = a (y - r) if y >= r else (1 - a)(r - y)  (scikit-learn PinballLoss)
@njit(**_INL)
def _l_pinball(y, r, a, b):
    d = y - r
    return a * d if d >= 0.0 else (a - 1.0) * d


@njit(**_INL)
def _g_pinball(y, r, a, b):
    d = y - r
    return -a if d >= 0.0 else (1.0 - a if d < 0.0 else _NAN)


# --- asymmetric absolute error: l = a (y - r) if y >= r (under-prediction) else r - y
@njit(**_INL)
def _l_asymmetric(y, r, a, b):
    d = y - r
    return a * d if d >= 0.0 else -d


@njit(**_INL)
def _g_asymmetric(y, r, a, b):
    d = y - r
    return -a if d >= 0.0 else (1.0 if d < 0.0 else _NAN)


# --- Poisson NLL, log link: l = exp(r) - y r [+ lgamma(y + 1) when a = 1]; y >= 0
@njit(**_INL)
def _l_poisson(y, r, a, b):
    if y < 0.0:
        return _NAN
    if r == _INF:
        return _INF if y == y else _NAN
    l = _exp(r) - _times(y, r)
    if a != 0.0:
        l += math.lgamma(y + 1.0)
    return l


@njit(**_INL)
def _g_poisson(y, r, a, b):
    return _exp(r) - y if y >= 0.0 else _NAN


@njit(**_INL)
def _h_poisson(y, r, a, b):
    return _exp(r) if y >= 0.0 else _NAN


# --- binary hinge: s = +1 for y = 1, -1 for y = 0 or -1; l = max(0, 1 - s r)
@njit(**_INL)
def _hinge_sign(y):
    return 1.0 if y == 1.0 else (-1.0 if (y == 0.0 or y == -1.0) else _NAN)


@njit(**_INL)
def _l_hinge(y, r, a, b):
    m = 1.0 - _hinge_sign(y) * r
    return m if m > 0.0 else (0.0 if m <= 0.0 else _NAN)


@njit(**_INL)
def _g_hinge(y, r, a, b):
    s = _hinge_sign(y)
    m = 1.0 - s * r
    return -s if m > 0.0 else (0.0 if m <= 0.0 else _NAN)


@njit(**_INL)
def _h_hinge(y, r, a, b):
    return 1.0 if (1.0 - _hinge_sign(y) * r) == (1.0 - _hinge_sign(y) * r) else _NAN


# ================================================================ kind dispatch (folded away)
@njit(**_INL)
def _elem_l(kind, y, r, a, b):
    if kind == BCE:
        return _l_bce(y, r, a, b)
    elif kind == BCE_PROBA:
        return _l_bce_proba(y, r, a, b)
    elif kind == FOCAL:
        return _l_focal(y, r, a, b)
    elif kind == SQUARED:
        return _l_squared(y, r, a, b)
    elif kind == ABSOLUTE:
        return _l_absolute(y, r, a, b)
    elif kind == HUBER:
        return _l_huber(y, r, a, b)
    elif kind == LOG_COSH:
        return _l_log_cosh(y, r, a, b)
    elif kind == PINBALL:
        return _l_pinball(y, r, a, b)
    elif kind == ASYMMETRIC:
        return _l_asymmetric(y, r, a, b)
    elif kind == POISSON:
        return _l_poisson(y, r, a, b)
    else:
        return _l_hinge(y, r, a, b)


@njit(**_INL)
def _elem_g(kind, y, r, a, b):
    if kind == BCE:
        return _g_bce(y, r, a, b)
    elif kind == BCE_PROBA:
        return _g_bce_proba(y, r, a, b)
    elif kind == FOCAL:
        return _g_focal(y, r, a, b)
    elif kind == SQUARED:
        return _g_squared(y, r, a, b)
    elif kind == ABSOLUTE:
        return _g_absolute(y, r, a, b)
    elif kind == HUBER:
        return _g_huber(y, r, a, b)
    elif kind == LOG_COSH:
        return _g_log_cosh(y, r, a, b)
    elif kind == PINBALL:
        return _g_pinball(y, r, a, b)
    elif kind == ASYMMETRIC:
        return _g_asymmetric(y, r, a, b)
    elif kind == POISSON:
        return _g_poisson(y, r, a, b)
    else:
        return _g_hinge(y, r, a, b)


@njit(**_INL)
def _elem_h(kind, y, r, a, b):
    if kind == BCE:
        return _h_bce(y, r, a, b)
    elif kind == BCE_PROBA:
        return _h_bce_proba(y, r, a, b)
    elif kind == FOCAL:
        return _h_focal(y, r, a, b)
    elif kind == HUBER:
        return _h_huber(y, r, a, b)
    elif kind == LOG_COSH:
        return _h_log_cosh(y, r, a, b)
    elif kind == POISSON:
        return _h_poisson(y, r, a, b)
    elif kind == HINGE:
        return _h_hinge(y, r, a, b)
    else:  # squared error (exact), absolute, pinball, asymmetric (convention)
        return _h_one(y, r, a, b)


# ================================================================ generic elementwise loops
# A row with weight 0 adds nothing and gets gradient 0, even where its loss is inf or undefined.
# Loss loops work in chunks of _CHUNK: the per-sample losses go to a small buffer in a loop with no
# loop-carried dependency (so LLVM vectorises the branch-free exp/log1p of _math), then the buffer
# is summed with four accumulators in a fixed order. A plain `s += l` in the same loop would
# serialise it (no fastmath reassociation here: _math's compensated sums must stay exact).
_CHUNK = 256


@njit(**_INL)
def _sum_buf(buf, m):
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    j = 0
    while j + 4 <= m:
        a0 += buf[j]
        a1 += buf[j + 1]
        a2 += buf[j + 2]
        a3 += buf[j + 3]
        j += 4
    while j < m:
        a0 += buf[j]
        j += 1
    return (a0 + a1) + (a2 + a3)


@njit(**_INL)
def _loop_loss(kind, y, raw, w, a, b, out, start, stop):
    have_w = w.shape[0] > 0
    store = out.shape[0] > 0
    buf = np.empty(_CHUNK)
    s = 0.0
    for c0 in range(start, stop, _CHUNK):
        m = min(_CHUNK, stop - c0)
        if have_w:
            for j in range(m):
                l = _elem_l(kind, np.float64(y[c0 + j]), np.float64(raw[c0 + j]), a, b)
                wi = w[c0 + j]
                buf[j] = wi * l if wi != 0.0 else 0.0
        else:
            for j in range(m):
                buf[j] = _elem_l(kind, np.float64(y[c0 + j]), np.float64(raw[c0 + j]), a, b)
        if store:
            for j in range(m):
                out[c0 + j] = buf[j]
        s += _sum_buf(buf, m)
    return s


@njit(**_INL)
def _loop_grad(kind, y, raw, w, a, b, scale, grad, start, stop):
    have_w = w.shape[0] > 0
    n_nan = 0
    for i in range(start, stop):
        g = _elem_g(kind, np.float64(y[i]), np.float64(raw[i]), a, b)
        if have_w:
            wi = w[i]
            g = (scale * wi) * g if wi != 0.0 else 0.0
        else:
            g = scale * g
        grad[i] = g
        n_nan += 1 if g != g else 0
    return n_nan


@njit(**_INL)
def _loop_loss_grad(kind, y, raw, w, a, b, scale, out, grad, start, stop):
    have_w = w.shape[0] > 0
    store = out.shape[0] > 0
    buf = np.empty(_CHUNK)
    s = 0.0
    for c0 in range(start, stop, _CHUNK):
        m = min(_CHUNK, stop - c0)
        for j in range(m):
            i = c0 + j
            yi = np.float64(y[i])
            ri = np.float64(raw[i])
            l = _elem_l(kind, yi, ri, a, b)
            g = _elem_g(kind, yi, ri, a, b)
            if have_w:
                wi = w[i]
                l = wi * l if wi != 0.0 else 0.0
                g = (scale * wi) * g if wi != 0.0 else 0.0
            else:
                g = scale * g
            buf[j] = l
            grad[i] = g
        if store:
            for j in range(m):
                out[c0 + j] = buf[j]
        s += _sum_buf(buf, m)
    return s


@njit(**_INL)
def _loop_grad_hess(kind, y, raw, w, a, b, grad, hess, start, stop):
    have_w = w.shape[0] > 0
    n_nan = 0
    for i in range(start, stop):
        yi = np.float64(y[i])
        ri = np.float64(raw[i])
        g = _elem_g(kind, yi, ri, a, b)
        h = _elem_h(kind, yi, ri, a, b)
        if have_w:
            wi = w[i]
            g = wi * g if wi != 0.0 else 0.0
            h = wi * h if wi != 0.0 else 0.0
        grad[i] = g
        hess[i] = h
        n_nan += (1 if g != g else 0) + (1 if h != h else 0)
    return n_nan


# One specialised loop per kind: the literal kind folds _elem_* down to one formula.
@njit(**_JIT)
def elem_loss_range(kind, y, raw, w, a, b, out, start, stop):
    if kind == BCE:
        return _loop_loss(BCE, y, raw, w, a, b, out, start, stop)
    elif kind == BCE_PROBA:
        return _loop_loss(BCE_PROBA, y, raw, w, a, b, out, start, stop)
    elif kind == FOCAL:
        return _loop_loss(FOCAL, y, raw, w, a, b, out, start, stop)
    elif kind == SQUARED:
        return _loop_loss(SQUARED, y, raw, w, a, b, out, start, stop)
    elif kind == ABSOLUTE:
        return _loop_loss(ABSOLUTE, y, raw, w, a, b, out, start, stop)
    elif kind == HUBER:
        return _loop_loss(HUBER, y, raw, w, a, b, out, start, stop)
    elif kind == LOG_COSH:
        return _loop_loss(LOG_COSH, y, raw, w, a, b, out, start, stop)
    elif kind == PINBALL:
        return _loop_loss(PINBALL, y, raw, w, a, b, out, start, stop)
    elif kind == ASYMMETRIC:
        return _loop_loss(ASYMMETRIC, y, raw, w, a, b, out, start, stop)
    elif kind == POISSON:
        return _loop_loss(POISSON, y, raw, w, a, b, out, start, stop)
    else:
        return _loop_loss(HINGE, y, raw, w, a, b, out, start, stop)


@njit(**_JIT)
def elem_grad_range(kind, y, raw, w, a, b, scale, grad, start, stop):
    if kind == BCE:
        return _loop_grad(BCE, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == BCE_PROBA:
        return _loop_grad(BCE_PROBA, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == FOCAL:
        return _loop_grad(FOCAL, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == SQUARED:
        return _loop_grad(SQUARED, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == ABSOLUTE:
        return _loop_grad(ABSOLUTE, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == HUBER:
        return _loop_grad(HUBER, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == LOG_COSH:
        return _loop_grad(LOG_COSH, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == PINBALL:
        return _loop_grad(PINBALL, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == ASYMMETRIC:
        return _loop_grad(ASYMMETRIC, y, raw, w, a, b, scale, grad, start, stop)
    elif kind == POISSON:
        return _loop_grad(POISSON, y, raw, w, a, b, scale, grad, start, stop)
    else:
        return _loop_grad(HINGE, y, raw, w, a, b, scale, grad, start, stop)


@njit(**_JIT)
def elem_loss_grad_range(kind, y, raw, w, a, b, scale, out, grad, start, stop):
    if kind == BCE:
        return _loop_loss_grad(BCE, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == BCE_PROBA:
        return _loop_loss_grad(BCE_PROBA, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == FOCAL:
        return _loop_loss_grad(FOCAL, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == SQUARED:
        return _loop_loss_grad(SQUARED, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == ABSOLUTE:
        return _loop_loss_grad(ABSOLUTE, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == HUBER:
        return _loop_loss_grad(HUBER, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == LOG_COSH:
        return _loop_loss_grad(LOG_COSH, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == PINBALL:
        return _loop_loss_grad(PINBALL, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == ASYMMETRIC:
        return _loop_loss_grad(ASYMMETRIC, y, raw, w, a, b, scale, out, grad, start, stop)
    elif kind == POISSON:
        return _loop_loss_grad(POISSON, y, raw, w, a, b, scale, out, grad, start, stop)
    else:
        return _loop_loss_grad(HINGE, y, raw, w, a, b, scale, out, grad, start, stop)


@njit(**_JIT)
def elem_grad_hess_range(kind, y, raw, w, a, b, grad, hess, start, stop):
    if kind == BCE:
        return _loop_grad_hess(BCE, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == BCE_PROBA:
        return _loop_grad_hess(BCE_PROBA, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == FOCAL:
        return _loop_grad_hess(FOCAL, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == SQUARED:
        return _loop_grad_hess(SQUARED, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == ABSOLUTE:
        return _loop_grad_hess(ABSOLUTE, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == HUBER:
        return _loop_grad_hess(HUBER, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == LOG_COSH:
        return _loop_grad_hess(LOG_COSH, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == PINBALL:
        return _loop_grad_hess(PINBALL, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == ASYMMETRIC:
        return _loop_grad_hess(ASYMMETRIC, y, raw, w, a, b, grad, hess, start, stop)
    elif kind == POISSON:
        return _loop_grad_hess(POISSON, y, raw, w, a, b, grad, hess, start, stop)
    else:
        return _loop_grad_hess(HINGE, y, raw, w, a, b, grad, hess, start, stop)


# ================================================================ two-column losses (raw (n, 2))
@njit(**_INL)
def _pair_row(kind, y, r0, r1, full, want_h):
    """(loss, g0, g1, h0, h1) of one row (hessians only when want_h)."""
    h0 = 0.0
    h1 = 0.0
    if kind == GAUSSIAN_NLL:
        # raw = (mu, s = log variance): l = (s + (y - mu)^2 exp(-s)) / 2 [+ log(2 pi) / 2]
        d = y - r0
        iv = math.exp(-r1)
        q = _times(d * d, iv)
        if r1 == _INF:
            loss = _INF if d == d else _NAN
        elif r1 == -_INF:
            loss = (_INF if d != 0.0 else -_INF) if d == d else _NAN
        else:
            loss = 0.5 * (r1 + q) + (_HALF_LOG_2PI if full != 0.0 else 0.0)
        g0 = -_times(d, iv)
        g1 = 0.5 * (1.0 - q)
        if want_h:
            h0 = iv
            h1 = 0.5 * q
        return loss, g0, g1, h0, h1
    # BETA_NLL, raw = (log a, log b): l = lnB(a, b) - (a - 1) log y - (b - 1) log(1 - y), 0 < y < 1
    if not (y > 0.0 and y < 1.0):
        return _NAN, _NAN, _NAN, _NAN, _NAN
    a = math.exp(r0)
    b = math.exp(r1)
    ly = math.log(y)
    l1y = math.log1p(-y)
    ab = a + b
    if (a == _INF) != (b == _INF):
        loss = _INF  # one shape parameter -> inf: the Beta mass leaves y, the density -> 0
    else:
        loss = math.lgamma(a) + math.lgamma(b) - math.lgamma(ab) - (a - 1.0) * ly - (b - 1.0) * l1y
    dab = digamma(ab)
    # a psi(a) = a psi(a + 1) - 1 keeps the a -> 0 limit (gradient -> -1) free of 0 * inf
    g0 = a * (digamma(a + 1.0) - dab - ly) - 1.0
    g1 = b * (digamma(b + 1.0) - dab - l1y) - 1.0
    if want_h:
        tab = trigamma(ab)
        h0 = g0 + a * a * (trigamma(a + 1.0) - tab) + 1.0
        h1 = g1 + b * b * (trigamma(b + 1.0) - tab) + 1.0
    return loss, g0, g1, h0, h1


@njit(**_JIT)
def pair_range(kind, y, raw, w, full, scale, out, grad, hess, mode, start, stop):
    """mode 0: loss; 1: gradient; 2: loss + gradient; 3: gradient + hessian.
    Returns (sum of w*l, number of nan written to grad/hess)."""
    have_w = w.shape[0] > 0
    store = out.shape[0] > 0
    s = 0.0
    n_nan = 0
    for i in range(start, stop):
        wi = w[i] if have_w else 1.0
        if wi == 0.0:
            if store:
                out[i] = 0.0
            if mode != 0:
                grad[i, 0] = 0.0
                grad[i, 1] = 0.0
            if mode == 3:
                hess[i, 0] = 0.0
                hess[i, 1] = 0.0
            continue
        loss, g0, g1, h0, h1 = _pair_row(
            kind, np.float64(y[i]), np.float64(raw[i, 0]), np.float64(raw[i, 1]), full, mode == 3
        )
        if mode == 0 or mode == 2:
            l = wi * loss
            s += l
            if store:
                out[i] = l
        if mode != 0:
            gs = wi * scale if mode != 3 else wi
            grad[i, 0] = gs * g0
            grad[i, 1] = gs * g1
            n_nan += (1 if g0 != g0 else 0) + (1 if g1 != g1 else 0)
        if mode == 3:
            hess[i, 0] = wi * h0
            hess[i, 1] = wi * h1
            n_nan += (1 if h0 != h0 else 0) + (1 if h1 != h1 else 0)
    return s, n_nan


# ================================================================ softmax-based losses (raw (n, K))
@njit(**_INL)
def _row_max(z, i):
    k = z.shape[1]
    mx = -_INF
    nan = False
    for t in range(k):
        v = np.float64(z[i, t])
        mx = v if v > mx else mx
        nan = nan or v != v
    return _NAN if nan else mx


@njit(**_INL)
def _softmax_row(z, i, mode, grad, hess, gs, hs, tvals, st):
    """Softmax-family row i with target masses tvals (length K, sum st): returns the loss
    Σ_k t_k (lse - z_k) (t_k = 0 terms dropped) and writes gs*((Σt) p - t) to grad[i] and
    hs*(Σt) p (1 - p) to hess[i] when asked (mode as in pair_range). A row with +inf logits
    takes the limit p = uniform over them; an all -inf or nan row gives nan."""
    k = z.shape[1]
    mx = _row_max(z, i)
    if mx == _INF or mx == -_INF or mx != mx:
        if mx == _INF:
            c = 0.0
            for t in range(k):
                c += 1.0 if z[i, t] == _INF else 0.0
            lc = math.log(c)
            loss = 0.0
            for t in range(k):
                top = z[i, t] == _INF
                tv = tvals[t]
                if tv != 0.0:
                    loss += tv * (lc if top else _INF)
                p = (1.0 / c) if top else 0.0
                if mode != 0:
                    grad[i, t] = gs * (st * p - tv)
                if mode == 3:
                    hess[i, t] = hs * st * p * (1.0 - p)
            return loss
        for t in range(k):
            if mode != 0:
                grad[i, t] = _NAN
            if mode == 3:
                hess[i, t] = _NAN
        return _NAN
    s = 0.0
    tz = 0.0
    for t in range(k):
        v = np.float64(z[i, t]) - mx
        tv = tvals[t]
        tz += tv * v if tv != 0.0 else 0.0
        s += _exp(v)
    lse = math.log(s)
    loss = st * lse - tz
    if mode != 0:
        inv = 1.0 / s
        for t in range(k):
            p = _exp(np.float64(z[i, t]) - mx) * inv
            grad[i, t] = gs * (st * p - tvals[t])
            if mode == 3:
                hess[i, t] = hs * st * p * (1.0 - p)
    return loss


@njit(**_INL)
def _ce_row(z, i, yi, eps, mode, grad, hess, gs, hs, ebuf):
    """Cross-entropy of row i with label yi and label smoothing eps: target
    t_k = eps/K + (1 - eps)[k == yi]; l = lse(z) - Σ_k t_k z_k; gradient p - t; hessian p(1 - p).
    Fast path for finite rows (one pass for the max, one for exp, one for p); else the general
    row function."""
    k = z.shape[1]
    mx = _row_max(z, i)
    if mx == _INF or mx == -_INF or mx != mx:
        tvals = np.full(k, eps / k)
        tvals[yi] += 1.0 - eps
        return _softmax_row(z, i, mode, grad, hess, gs, hs, tvals, 1.0)
    zy = np.float64(z[i, yi]) - mx
    for t in range(k):
        ebuf[t] = np.float64(z[i, t]) - mx  # no loop-carried sum here: vectorisable
    zsum = _sum_buf(ebuf, k) if eps != 0.0 else 0.0
    for t in range(k):
        ebuf[t] = _exp(ebuf[t])
    s = _sum_buf(ebuf, k)
    loss = math.log(s) - zy
    if eps != 0.0:
        # Σ t_k v_k = (1 - eps) v_y + eps/K Σ v_k; a -inf logit makes this +inf (its target is > 0)
        # a -inf logit with a positive smoothed target costs +inf (inf - inf would give nan)
        loss = _INF if zsum == -_INF else loss + eps * zy - (eps / k) * zsum
    if mode != 0:
        inv = 1.0 / s
        off = eps / k
        for t in range(k):
            p = ebuf[t] * inv
            grad[i, t] = gs * (p - off)
        if mode == 3:
            for t in range(k):
                p = ebuf[t] * inv
                hess[i, t] = hs * p * (1.0 - p)
        grad[i, yi] -= gs * (1.0 - eps)
    return loss


@njit(**_INL)
def _mhinge_row(z, i, yi, mode, grad, hess, gs, hs):
    """Crammer-Singer: l = max(0, 1 + max_{k != y} z_k - z_y); subgradient +1 at the first
    argmax, -1 at y when the margin is violated; hessian 1 (convention)."""
    k = z.shape[1]
    j = -1
    mj = -_INF
    nan = False
    for t in range(k):
        v = np.float64(z[i, t])
        nan = nan or v != v
        if t != yi and (j < 0 or v > mj):
            j = t
            mj = v
    m = 1.0 + mj - np.float64(z[i, yi])
    if nan or m != m:
        loss = _NAN
    else:
        loss = m if m > 0.0 else 0.0
    if mode != 0:
        for t in range(k):
            grad[i, t] = _NAN if loss != loss else 0.0
            if mode == 3:
                hess[i, t] = _NAN if loss != loss else hs
        if loss > 0.0:
            grad[i, j] = gs
            grad[i, yi] = -gs
    return loss


@njit(**_JIT)
def labels_range(kind, y, raw, w, cw, eps, ignore, scale, out, grad, hess, mode, start, stop):
    """Rows start..stop of the integer-label losses (mode as in pair_range).
    Returns (Σ w_eff l, Σ w_eff, nan count in grad/hess)."""
    k = raw.shape[1]
    have_w = w.shape[0] > 0
    have_cw = cw.shape[0] > 0
    store = out.shape[0] > 0
    ebuf = np.empty(k)
    s = 0.0
    sw = 0.0
    n_nan = 0
    for i in range(start, stop):
        yi = y[i]
        wi = 0.0
        if yi != ignore:
            wi = w[i] if have_w else 1.0
            if have_cw:
                wi *= cw[yi]
        sw += wi
        if wi == 0.0:
            if store:
                out[i] = 0.0
            if mode != 0:
                for t in range(k):
                    grad[i, t] = 0.0
            if mode == 3:
                for t in range(k):
                    hess[i, t] = 0.0
            continue
        gs = wi * scale if mode != 3 else wi
        if kind == CROSS_ENTROPY:
            loss = _ce_row(raw, i, yi, eps, mode, grad, hess, gs, wi, ebuf)
        else:
            loss = _mhinge_row(raw, i, yi, mode, grad, hess, gs, wi)
        l = wi * loss
        s += l
        if store:
            out[i] = l
        if mode != 0 and loss != loss:
            n_nan += k
    return s, sw, n_nan


@njit(**_JIT)
def dense_range(kind, Y, raw, w, scale, out, grad, hess, mode, start, stop):
    """Rows start..stop of the target-distribution losses: soft cross-entropy
    Σ_k t_k (lse - z_k), and KL(t || softmax z) = that + Σ_k t_k log t_k. t_k < 0 gives nan."""
    k = raw.shape[1]
    have_w = w.shape[0] > 0
    store = out.shape[0] > 0
    s = 0.0
    n_nan = 0
    tvals = np.empty(k)
    for i in range(start, stop):
        wi = w[i] if have_w else 1.0
        if wi == 0.0:
            if store:
                out[i] = 0.0
            if mode != 0:
                for t in range(k):
                    grad[i, t] = 0.0
            if mode == 3:
                for t in range(k):
                    hess[i, t] = 0.0
            continue
        st = 0.0
        ent = 0.0
        bad = False
        for t in range(k):
            tv = np.float64(Y[i, t])
            tvals[t] = tv
            st += tv
            bad = bad or not (tv >= 0.0)
            if tv > 0.0:
                ent += tv * math.log(tv)
        gs = wi * scale if mode != 3 else wi
        loss = _softmax_row(raw, i, mode, grad, hess, gs, wi, tvals, st)
        if kind == KL_DIV:
            loss += ent
        if bad:
            loss = _NAN
            if mode != 0:
                for t in range(k):
                    grad[i, t] = _NAN
        l = wi * loss
        s += l
        if store:
            out[i] = l
        if mode != 0 and loss != loss:
            n_nan += k
    return s, n_nan


# ================================================================ block drivers
# Elementwise: one serial and one parallel driver per operation (so each compiles only when used);
# each returns the block partials (Σ w*l for loss ops, nan counts for gradient ops).
@njit(**_JIT)
def elem_loss_serial(kind, y, raw, w, a, b, out):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in range(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_loss_range(kind, y, raw, w, a, b, out, lo, min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_PAR)
def elem_loss_par(kind, y, raw, w, a, b, out):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in prange(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_loss_range(kind, y, raw, w, a, b, out, lo, min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_JIT)
def elem_grad_serial(kind, y, raw, w, a, b, scale, grad):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in range(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_grad_range(kind, y, raw, w, a, b, scale, grad, lo, min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_PAR)
def elem_grad_par(kind, y, raw, w, a, b, scale, grad):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in prange(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_grad_range(kind, y, raw, w, a, b, scale, grad, lo, min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_JIT)
def elem_loss_grad_serial(kind, y, raw, w, a, b, scale, out, grad):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in range(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_loss_grad_range(kind, y, raw, w, a, b, scale, out, grad, lo,
                                          min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_PAR)
def elem_loss_grad_par(kind, y, raw, w, a, b, scale, out, grad):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in prange(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_loss_grad_range(kind, y, raw, w, a, b, scale, out, grad, lo,
                                          min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_JIT)
def elem_grad_hess_serial(kind, y, raw, w, a, b, grad, hess):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in range(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_grad_hess_range(kind, y, raw, w, a, b, grad, hess, lo, min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_PAR)
def elem_grad_hess_par(kind, y, raw, w, a, b, grad, hess):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros(nb)
    for blk in prange(nb):
        lo = blk * ELEMENT_BLOCK
        parts[blk] = elem_grad_hess_range(kind, y, raw, w, a, b, grad, hess, lo, min(n, lo + ELEMENT_BLOCK))
    return parts


@njit(**_JIT)
def pair_serial(kind, y, raw, w, full, scale, out, grad, hess, mode):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros((nb, 2))
    for blk in range(nb):
        lo = blk * ELEMENT_BLOCK
        r = pair_range(kind, y, raw, w, full, scale, out, grad, hess, mode, lo, min(n, lo + ELEMENT_BLOCK))
        parts[blk, 0] = r[0]
        parts[blk, 1] = r[1]
    return parts


@njit(**_PAR)
def pair_par(kind, y, raw, w, full, scale, out, grad, hess, mode):
    n = raw.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.zeros((nb, 2))
    for blk in prange(nb):
        lo = blk * ELEMENT_BLOCK
        r = pair_range(kind, y, raw, w, full, scale, out, grad, hess, mode, lo, min(n, lo + ELEMENT_BLOCK))
        parts[blk, 0] = r[0]
        parts[blk, 1] = r[1]
    return parts


@njit(**_JIT)
def labels_serial(kind, y, raw, w, cw, eps, ignore, scale, out, grad, hess, mode):
    n = raw.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.zeros((nb, 3))
    for blk in range(nb):
        lo = blk * ROW_BLOCK
        r = labels_range(kind, y, raw, w, cw, eps, ignore, scale, out, grad, hess, mode, lo,
                         min(n, lo + ROW_BLOCK))
        parts[blk, 0] = r[0]
        parts[blk, 1] = r[1]
        parts[blk, 2] = r[2]
    return parts


@njit(**_PAR)
def labels_par(kind, y, raw, w, cw, eps, ignore, scale, out, grad, hess, mode):
    n = raw.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.zeros((nb, 3))
    for blk in prange(nb):
        lo = blk * ROW_BLOCK
        r = labels_range(kind, y, raw, w, cw, eps, ignore, scale, out, grad, hess, mode, lo,
                         min(n, lo + ROW_BLOCK))
        parts[blk, 0] = r[0]
        parts[blk, 1] = r[1]
        parts[blk, 2] = r[2]
    return parts


@njit(**_JIT)
def dense_serial(kind, Y, raw, w, scale, out, grad, hess, mode):
    n = raw.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.zeros((nb, 2))
    for blk in range(nb):
        lo = blk * ROW_BLOCK
        r = dense_range(kind, Y, raw, w, scale, out, grad, hess, mode, lo, min(n, lo + ROW_BLOCK))
        parts[blk, 0] = r[0]
        parts[blk, 1] = r[1]
    return parts


@njit(**_PAR)
def dense_par(kind, Y, raw, w, scale, out, grad, hess, mode):
    n = raw.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.zeros((nb, 2))
    for blk in prange(nb):
        lo = blk * ROW_BLOCK
        r = dense_range(kind, Y, raw, w, scale, out, grad, hess, mode, lo, min(n, lo + ROW_BLOCK))
        parts[blk, 0] = r[0]
        parts[blk, 1] = r[1]
    return parts


# ================================================================ contract functions
def _block_sum(col):
    """Partials added in block order (a plain sequential sum): thread-count independent."""
    total = 0.0
    for v in col.tolist():
        total += v
    return total


def _sum_w(w, n):
    return float(n) if w.shape[0] == 0 else float(np.sum(w))


def _empty(raw):
    return np.empty((0,) * raw.ndim, dtype=raw.dtype)


def _ab(params):
    a = float(params[0]) if params.shape[0] > 0 else 0.0
    b = float(params[1]) if params.shape[0] > 1 else 0.0
    return a, b


def elem_loss(kind, y, raw, w, params, out):
    a, b = _ab(params)
    parts = _run(raw.size, elem_loss_serial, elem_loss_par, kind, y, raw, w, a, b, out)
    return _block_sum(parts), _sum_w(w, raw.shape[0])


def elem_gradient(kind, y, raw, w, params, scale, grad):
    a, b = _ab(params)
    parts = _run(raw.size, elem_grad_serial, elem_grad_par, kind, y, raw, w, a, b, float(scale), grad)
    return int(parts.sum())


def elem_loss_gradient(kind, y, raw, w, params, scale, out, grad):
    a, b = _ab(params)
    parts = _run(raw.size, elem_loss_grad_serial, elem_loss_grad_par, kind, y, raw, w, a, b,
                 float(scale), out, grad)
    return _block_sum(parts), _sum_w(w, raw.shape[0])


def elem_gradient_hessian(kind, y, raw, w, params, grad, hess):
    a, b = _ab(params)
    parts = _run(raw.size, elem_grad_hess_serial, elem_grad_hess_par, kind, y, raw, w, a, b, grad, hess)
    return int(parts.sum())


def _e2(raw):
    return np.empty((0, 0), dtype=raw.dtype)


def _pair(mode, kind, y, raw, w, params, scale, out, grad, hess):
    full = float(params[0]) if params.shape[0] > 0 else 0.0
    return _run(raw.size * 8, pair_serial, pair_par, kind, y, raw, w, full, float(scale), out, grad,
                hess, mode)


def pair_loss(kind, y, raw, w, params, out):
    e = _e2(raw)
    parts = _pair(0, kind, y, raw, w, params, 1.0, out, e, e)
    return _block_sum(parts[:, 0]), _sum_w(w, raw.shape[0])


def pair_gradient(kind, y, raw, w, params, scale, grad):
    parts = _pair(1, kind, y, raw, w, params, scale, _empty(y), grad, _e2(raw))
    return int(parts[:, 1].sum())


def pair_loss_gradient(kind, y, raw, w, params, scale, out, grad):
    parts = _pair(2, kind, y, raw, w, params, scale, out, grad, _e2(raw))
    return _block_sum(parts[:, 0]), _sum_w(w, raw.shape[0])


def pair_gradient_hessian(kind, y, raw, w, params, grad, hess):
    parts = _pair(3, kind, y, raw, w, params, 1.0, _empty(y), grad, hess)
    return int(parts[:, 1].sum())


def _labels(mode, kind, y, raw, w, cw, params, scale, out, grad, hess):
    eps = float(params[0]) if params.shape[0] > 0 else 0.0
    ignore = int(params[1]) if params.shape[0] > 1 else -100
    return _run(raw.size, labels_serial, labels_par, kind, y, raw, w, cw, eps, ignore, float(scale),
                out, grad, hess, mode)


def labels_loss(kind, y, raw, w, cw, params, out):
    e = _e2(raw)
    parts = _labels(0, kind, y, raw, w, cw, params, 1.0, out, e, e)
    return _block_sum(parts[:, 0]), _block_sum(parts[:, 1])


def labels_gradient(kind, y, raw, w, cw, params, scale, grad):
    parts = _labels(1, kind, y, raw, w, cw, params, scale, _empty(y).astype(raw.dtype), grad, _e2(raw))
    return int(parts[:, 2].sum())


def labels_loss_gradient(kind, y, raw, w, cw, params, scale, out, grad):
    parts = _labels(2, kind, y, raw, w, cw, params, scale, out, grad, _e2(raw))
    return _block_sum(parts[:, 0]), _block_sum(parts[:, 1])


def labels_gradient_hessian(kind, y, raw, w, cw, params, grad, hess):
    parts = _labels(3, kind, y, raw, w, cw, params, 1.0, _empty(y).astype(raw.dtype), grad, hess)
    return int(parts[:, 2].sum())


def _dense(mode, kind, Y, raw, w, scale, out, grad, hess):
    return _run(raw.size, dense_serial, dense_par, kind, Y, raw, w, float(scale), out, grad, hess, mode)


def dense_loss(kind, Y, raw, w, params, out):
    e = _e2(raw)
    parts = _dense(0, kind, Y, raw, w, 1.0, out, e, e)
    return _block_sum(parts[:, 0]), _sum_w(w, raw.shape[0])


def dense_gradient(kind, Y, raw, w, params, scale, grad):
    parts = _dense(1, kind, Y, raw, w, scale, np.empty(0, raw.dtype), grad, _e2(raw))
    return int(parts[:, 1].sum())


def dense_loss_gradient(kind, Y, raw, w, params, scale, out, grad):
    parts = _dense(2, kind, Y, raw, w, scale, out, grad, _e2(raw))
    return _block_sum(parts[:, 0]), _sum_w(w, raw.shape[0])


def dense_gradient_hessian(kind, Y, raw, w, params, grad, hess):
    parts = _dense(3, kind, Y, raw, w, 1.0, np.empty(0, raw.dtype), grad, hess)
    return int(parts[:, 1].sum())
