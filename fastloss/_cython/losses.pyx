"""Cython loss-catalogue kernels, the counterpart of fastloss/_numba/losses.py (the contract --
families, ``kind`` numbers, signatures, layouts, return values -- is at the top of
fastloss/_numpy/losses.py).

Same closed forms, edge handling and operation order as the Numba module, math in double and
rounded once into the outputs; float32/float64 through the ``floating`` fused type; inputs are
``const`` memoryviews (read-only arrays work and are never written).

Elementwise losses: one scalar function per (loss, quantity), chosen at *compile time* through a
fused "tag" type (one empty struct per kind), so each loss gets its own branch-free loop, as the
literal-kind specialisation does in Numba. Loss loops work in chunks of 256 (buffer, then four
accumulators), exactly as ``_loop_loss`` there, so the sums are added in the same order.

Reductions walk fixed blocks (ELEMENT_BLOCK elements / ROW_BLOCK rows, fastloss/_constants.py):
each block writes its partials into a preallocated array, under an OpenMP ``prange`` when the
input is above SERIAL_MAX_ELEMENTS, and the partials are added serially in block order, so a
result is bitwise identical for any thread count (and equal to Numba's up to the ulp-level
difference between libm and Numba's vectorised exp/log1p).

Threads: the package's ``set_num_threads`` (fastloss/_cython/__init__.py) records the count in
``fastloss._cython._threads``, which is read here on every call; this module also registers its
own fork handler (a child forked after a parallel region here runs serial, as for special/metrics).
"""
import os

import numpy as np

from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport exp, log, log1p, fabs, tanh, pow, INFINITY, NAN
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

from fastloss._constants import ELEMENT_BLOCK as _EB, ROW_BLOCK as _RB
from fastloss._constants import SERIAL_MAX_ELEMENTS as _SM
from fastloss._numpy.losses import (
    BCE as _BCE, BCE_PROBA as _BCE_PROBA, FOCAL as _FOCAL, SQUARED as _SQUARED,
    ABSOLUTE as _ABSOLUTE, HUBER as _HUBER, LOG_COSH as _LOG_COSH, PINBALL as _PINBALL,
    ASYMMETRIC as _ASYMMETRIC, POISSON as _POISSON, HINGE as _HINGE,
    GAUSSIAN_NLL as _GAUSSIAN_NLL, BETA_NLL as _BETA_NLL,
    CROSS_ENTROPY as _CROSS_ENTROPY, MULTICLASS_HINGE as _MULTICLASS_HINGE,
    SOFT_CROSS_ENTROPY as _SOFT_CROSS_ENTROPY, KL_DIV as _KL_DIV,
)

cdef extern from *:
    """
    #if FASTLOSS_OPENMP && defined(_OPENMP)
    #include <omp.h>
    static int flx_openmp_enabled(void) { return 1; }
    static int flx_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int flx_openmp_enabled(void) { return 0; }
    static int flx_max_threads(void) { return 1; }
    #endif
    /* lgamma without the global signgam write (a data race under OpenMP) where libm has it */
    #if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
    static inline double flx_lgamma(double x) { int sg; return lgamma_r(x, &sg); }
    #else
    static inline double flx_lgamma(double x) { return lgamma(x); }
    #endif
    """
    int flx_openmp_enabled() noexcept nogil
    int flx_max_threads() noexcept nogil
    double flx_lgamma(double x) noexcept nogil

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* c ? a : b without a branch (a bit mask; both sides are computed): data-dependent choices
     * (random labels, signs) would otherwise mispredict; the value is the same. */
    static inline double flx_sel(int c, double a, double b) {
        uint64_t ia, ib, m = (uint64_t)0 - (uint64_t)(c != 0);
        memcpy(&ia, &a, sizeof ia);
        memcpy(&ib, &b, sizeof ib);
        ia = (ia & m) | (ib & ~m);
        memcpy(&a, &ia, sizeof a);
        return a;
    }
    """
    double flx_sel(bint c, double a, double b) noexcept nogil

NAME = "cython"

cdef Py_ssize_t ELEMENT_BLOCK = _EB
cdef Py_ssize_t ROW_BLOCK = _RB
cdef Py_ssize_t SERIAL_MAX_ELEMENTS = _SM

cdef int BCE = _BCE
cdef int BCE_PROBA = _BCE_PROBA
cdef int FOCAL = _FOCAL
cdef int SQUARED = _SQUARED
cdef int ABSOLUTE = _ABSOLUTE
cdef int HUBER = _HUBER
cdef int LOG_COSH = _LOG_COSH
cdef int PINBALL = _PINBALL
cdef int ASYMMETRIC = _ASYMMETRIC
cdef int POISSON = _POISSON
cdef int HINGE = _HINGE
cdef int GAUSSIAN_NLL = _GAUSSIAN_NLL
cdef int BETA_NLL = _BETA_NLL
cdef int CROSS_ENTROPY = _CROSS_ENTROPY
cdef int MULTICLASS_HINGE = _MULTICLASS_HINGE
cdef int SOFT_CROSS_ENTROPY = _SOFT_CROSS_ENTROPY
cdef int KL_DIV = _KL_DIV

cdef double LOG2 = log(2.0)
cdef double HALF_LOG_2PI = 0.5 * log(2.0 * 3.141592653589793)

cdef enum:
    CHUNK = 256
    STACK_PARTS = 256
    # modes of the drivers: loss / gradient / loss + gradient / gradient + hessian
    M_LOSS = 0
    M_GRAD = 1
    M_LOSS_GRAD = 2
    M_GRAD_HESS = 3

# ---------------------------------------------------------------- threads
cdef bint _openmp = flx_openmp_enabled()
cdef int _max_threads = max(1, flx_max_threads())
cdef int _nthreads = _max_threads
cdef bint _pool_started = False
cdef bint _serial_only = False

OPENMP = bool(_openmp)
MAX_THREADS = _max_threads

try:  # the package's thread state (set_num_threads, fork flag); read on every call
    from fastloss._cython import _threads as _pkg_threads
except ImportError:  # pragma: no cover
    _pkg_threads = None


def _set_threads(int n):
    """Same hook as special/metrics (used if the package lists this module in its _MODULES)."""
    global _nthreads
    _nthreads = max(1, min(n, _max_threads))
    if _pkg_threads is not None:
        _pkg_threads["n"] = max(1, min(n, _max_threads))


def _pool_used():
    return bool(_pool_started)


def _force_serial(bint flag):
    global _serial_only
    _serial_only = flag


def _after_fork_in_child():
    """libgomp is not fork-safe: after a parallel region here, the child runs serial (all the
    backend's modules: the OpenMP pool is shared)."""
    global _serial_only
    if not _pool_started:
        return
    _serial_only = True
    try:
        import fastloss._cython as pkg

        pkg._threads["forked"] = True
        for module in pkg._MODULES:
            module._force_serial(True)
    except Exception:  # pragma: no cover
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


cdef int _threads_for(Py_ssize_t size) except -1:
    """Threads for a call on ``size`` elements; 0 means: take the serial path."""
    global _pool_started
    cdef int n = _nthreads
    if not _openmp or _serial_only or size <= SERIAL_MAX_ELEMENTS:
        return 0
    if _pkg_threads is not None:
        if _pkg_threads.get("forked", False):
            return 0
        n = max(1, min(<int>_pkg_threads["n"], _max_threads))
    if n <= 1:
        return 0
    _pool_started = True
    return n


cdef inline Py_ssize_t _nblocks(Py_ssize_t n, Py_ssize_t block) noexcept nogil:
    return max(1, (n + block - 1) // block)


cdef double* _parts_buffer(Py_ssize_t count, double* stack) except NULL:
    if count <= STACK_PARTS:
        return stack
    cdef double* parts = <double*>malloc(count * sizeof(double))
    if parts == NULL:
        raise MemoryError()
    return parts


cdef double _block_sum(const double* parts, Py_ssize_t nb, Py_ssize_t stride,
                       Py_ssize_t col) noexcept:
    """Partials added in block order (thread-count independent)."""
    cdef double total = 0.0
    cdef Py_ssize_t b
    for b in range(nb):
        total += parts[b * stride + col]
    return total


cdef inline double _sum_w(object w, Py_ssize_t n):
    """Σ w as the Numba backend computes it (numpy's sum), n when unweighted."""
    if len(w) == 0:
        return float(n)
    return float(np.sum(w))


cdef inline void _ab(const double[::1] params, double* a, double* b) noexcept:
    a[0] = params[0] if params.shape[0] > 0 else 0.0
    b[0] = params[1] if params.shape[0] > 1 else 0.0


# ================================================================ scalar helpers
cdef inline double _times(double c, double v) noexcept nogil:
    """c * v with 0 * anything = 0: a zero coefficient removes an infinite term (branch-free)."""
    return flx_sel(c == 0.0, 0.0, c * v)


cdef inline double _sigmoid(double r, double e) noexcept nogil:
    """sigma(r) given e = exp(-|r|) <= 1: nothing overflows (numerator 1 or e, branch-free)."""
    return flx_sel(r >= 0.0, 1.0, e) / (1.0 + e)


cdef double digamma(double x) noexcept nogil:
    """psi(x), x >= 0: recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
    series to x**-12 (as fastloss/_numba/losses.py)."""
    cdef double acc, r, s
    if x != x:
        return NAN
    if x == 0.0:
        return -INFINITY
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    s = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (
        1.0 / 132 - r * 691.0 / 32760)))))
    return acc + log(x) - 0.5 / x - s


cdef double trigamma(double x) noexcept nogil:
    """psi'(x), x >= 0: recurrence psi'(x) = psi'(x + 1) + 1/x**2 up to x >= 10, then the
    asymptotic series to x**-15."""
    cdef double acc, r, s
    if x != x:
        return NAN
    if x * x == 0.0:
        return INFINITY
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    r = 1.0 / (x * x)
    s = 1.0 / 6 - r * (1.0 / 30 - r * (1.0 / 42 - r * (1.0 / 30 - r * (5.0 / 66 - r * (
        691.0 / 2730 - r * 7.0 / 6)))))
    return acc + 1.0 / x + 0.5 * r + s * r / x


def py_digamma(double x):
    return digamma(x)


def py_trigamma(double x):
    return trigamma(x)


# ================================================================ elementwise formulas
# Arguments: y (target), r (raw), a, b (params[0], params[1]); float64 in, float64 out.
# --- binary cross-entropy from logits, pos_weight a
cdef inline double _l_bce(double y, double r, double a, double b) noexcept nogil:
    cdef double c1 = a * y, c0 = 1.0 - y
    cdef double lp = log1p(exp(-fabs(r)))
    cdef double sp_neg = flx_sel(r < 0.0, -r, 0.0) + lp
    cdef double sp_pos = flx_sel(r > 0.0, r, 0.0) + lp
    return _times(c1, sp_neg) + _times(c0, sp_pos)


cdef inline double _g_bce(double y, double r, double a, double b) noexcept nogil:
    cdef double c1 = a * y
    cdef double sig = _sigmoid(r, exp(-fabs(r)))
    return sig * (c1 + 1.0 - y) - c1


cdef inline double _h_bce(double y, double r, double a, double b) noexcept nogil:
    cdef double e = exp(-fabs(r))
    return (e / ((1.0 + e) * (1.0 + e))) * (a * y + 1.0 - y)


# --- binary cross-entropy from probabilities, clipped to [eps, 1 - eps] (eps = a)
cdef inline double _clip_p(double r, double eps) noexcept nogil:
    if r < 0.0 or r > 1.0:
        return NAN
    return eps if r < eps else (1.0 - eps if r > 1.0 - eps else r)


cdef inline double _l_bce_proba(double y, double r, double a, double b) noexcept nogil:
    cdef double q = _clip_p(r, a)
    return -(_times(y, log(q)) + _times(1.0 - y, log1p(-q)))


cdef inline double _g_bce_proba(double y, double r, double a, double b) noexcept nogil:
    cdef double q = _clip_p(r, a)
    return -y / q + (1.0 - y) / (1.0 - q)


cdef inline double _h_bce_proba(double y, double r, double a, double b) noexcept nogil:
    cdef double q = _clip_p(r, a)
    return y / (q * q) + (1.0 - y) / ((1.0 - q) * (1.0 - q))


# --- sigmoid focal loss, gamma a, alpha b (b < 0: no alpha weighting)
cdef struct Focal:
    double s, u, su, q, big_l, at, sl


cdef inline Focal _focal_parts(double y, double r, double b) noexcept nogil:
    cdef Focal f
    cdef double e
    f.s = 1.0 if y == 1.0 else (-1.0 if y == 0.0 else NAN)
    f.u = f.s * r
    e = exp(-fabs(f.u))
    f.su = _sigmoid(f.u, e)
    f.q = 1.0 - f.su if f.u < 0.0 else e / (1.0 + e)
    f.big_l = (-f.u if f.u < 0.0 else 0.0) + log1p(e)
    f.at = 1.0 if b < 0.0 else (b if f.s > 0.0 else 1.0 - b)
    f.sl = 0.0 if f.u == -INFINITY else f.su * f.big_l
    return f


cdef inline double _l_focal(double y, double r, double a, double b) noexcept nogil:
    cdef Focal f = _focal_parts(y, r, b)
    return _times(f.at, _times(pow(f.q, a), f.big_l))


cdef inline double _g_focal(double y, double r, double a, double b) noexcept nogil:
    cdef Focal f = _focal_parts(y, r, b)
    return -f.s * f.at * pow(f.q, a) * (a * f.sl + f.q)


cdef inline double _h_focal(double y, double r, double a, double b) noexcept nogil:
    cdef Focal f = _focal_parts(y, r, b)
    cdef double bb
    if f.u == -INFINITY:
        return 0.0
    bb = a * f.sl + f.q
    return f.at * pow(f.q, a) * f.su * (a * bb - f.q * (a * (f.big_l - 1.0) - 1.0))


# --- half squared error
cdef inline double _l_squared(double y, double r, double a, double b) noexcept nogil:
    cdef double d = r - y
    return 0.5 * d * d


cdef inline double _g_squared(double y, double r, double a, double b) noexcept nogil:
    return r - y


cdef inline double _h_one(double y, double r, double a, double b) noexcept nogil:
    """Hessian 1: exact for squared error; the convention where none exists."""
    return 1.0 if (r == r and y == y) else NAN


# --- absolute error; gradient -1 at a tie
cdef inline double _l_absolute(double y, double r, double a, double b) noexcept nogil:
    return fabs(r - y)


cdef inline double _g_absolute(double y, double r, double a, double b) noexcept nogil:
    cdef double d = r - y
    return 1.0 if d > 0.0 else (-1.0 if d <= 0.0 else NAN)


# --- Huber, delta a
cdef inline double _l_huber(double y, double r, double a, double b) noexcept nogil:
    cdef double d = r - y
    cdef double ad = fabs(d)
    return 0.5 * d * d if ad <= a else a * (ad - 0.5 * a)


cdef inline double _g_huber(double y, double r, double a, double b) noexcept nogil:
    cdef double d = r - y
    if fabs(d) <= a:
        return d
    return a if d > 0.0 else (-a if d < 0.0 else NAN)


cdef inline double _h_huber(double y, double r, double a, double b) noexcept nogil:
    cdef double ad = fabs(r - y)
    return 1.0 if ad <= a else (0.0 if ad > a else NAN)


# --- log-cosh
cdef inline double _l_log_cosh(double y, double r, double a, double b) noexcept nogil:
    cdef double ad = fabs(r - y)
    return ad + log1p(exp(-2.0 * ad)) - LOG2


cdef inline double _g_log_cosh(double y, double r, double a, double b) noexcept nogil:
    return tanh(r - y)


cdef inline double _h_log_cosh(double y, double r, double a, double b) noexcept nogil:
    cdef double e = exp(-2.0 * fabs(r - y))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


# --- pinball, quantile a
cdef inline double _l_pinball(double y, double r, double a, double b) noexcept nogil:
    cdef double d = y - r
    return a * d if d >= 0.0 else (a - 1.0) * d


cdef inline double _g_pinball(double y, double r, double a, double b) noexcept nogil:
    cdef double d = y - r
    return -a if d >= 0.0 else (1.0 - a if d < 0.0 else NAN)


# --- asymmetric absolute error, alpha a
cdef inline double _l_asymmetric(double y, double r, double a, double b) noexcept nogil:
    cdef double d = y - r
    return a * d if d >= 0.0 else -d


cdef inline double _g_asymmetric(double y, double r, double a, double b) noexcept nogil:
    cdef double d = y - r
    return -a if d >= 0.0 else (1.0 if d < 0.0 else NAN)


# --- Poisson NLL, log link; a = 1: add lgamma(y + 1)
cdef inline double _l_poisson(double y, double r, double a, double b) noexcept nogil:
    cdef double l
    if y < 0.0:
        return NAN
    if r == INFINITY:
        return INFINITY if y == y else NAN
    l = exp(r) - _times(y, r)
    if a != 0.0:
        l += flx_lgamma(y + 1.0)
    return l


cdef inline double _g_poisson(double y, double r, double a, double b) noexcept nogil:
    return exp(r) - y if y >= 0.0 else NAN


cdef inline double _h_poisson(double y, double r, double a, double b) noexcept nogil:
    return exp(r) if y >= 0.0 else NAN


# --- binary hinge
cdef inline double _hinge_sign(double y) noexcept nogil:
    return 1.0 if y == 1.0 else (-1.0 if (y == 0.0 or y == -1.0) else NAN)


cdef inline double _l_hinge(double y, double r, double a, double b) noexcept nogil:
    cdef double m = 1.0 - _hinge_sign(y) * r
    return m if m > 0.0 else (0.0 if m <= 0.0 else NAN)


cdef inline double _g_hinge(double y, double r, double a, double b) noexcept nogil:
    cdef double s = _hinge_sign(y)
    cdef double m = 1.0 - s * r
    return -s if m > 0.0 else (0.0 if m <= 0.0 else NAN)


cdef inline double _h_hinge(double y, double r, double a, double b) noexcept nogil:
    cdef double m = 1.0 - _hinge_sign(y) * r
    return 1.0 if m == m else NAN


# ================================================================ compile-time kind dispatch
cdef struct K_BCE:
    char _
cdef struct K_BCE_PROBA:
    char _
cdef struct K_FOCAL:
    char _
cdef struct K_SQUARED:
    char _
cdef struct K_ABSOLUTE:
    char _
cdef struct K_HUBER:
    char _
cdef struct K_LOG_COSH:
    char _
cdef struct K_PINBALL:
    char _
cdef struct K_ASYMMETRIC:
    char _
cdef struct K_POISSON:
    char _
cdef struct K_HINGE:
    char _

ctypedef fused EK:
    K_BCE
    K_BCE_PROBA
    K_FOCAL
    K_SQUARED
    K_ABSOLUTE
    K_HUBER
    K_LOG_COSH
    K_PINBALL
    K_ASYMMETRIC
    K_POISSON
    K_HINGE


cdef inline double _elem_l(EK* tag, double y, double r, double a, double b) noexcept nogil:
    if EK is K_BCE:
        return _l_bce(y, r, a, b)
    elif EK is K_BCE_PROBA:
        return _l_bce_proba(y, r, a, b)
    elif EK is K_FOCAL:
        return _l_focal(y, r, a, b)
    elif EK is K_SQUARED:
        return _l_squared(y, r, a, b)
    elif EK is K_ABSOLUTE:
        return _l_absolute(y, r, a, b)
    elif EK is K_HUBER:
        return _l_huber(y, r, a, b)
    elif EK is K_LOG_COSH:
        return _l_log_cosh(y, r, a, b)
    elif EK is K_PINBALL:
        return _l_pinball(y, r, a, b)
    elif EK is K_ASYMMETRIC:
        return _l_asymmetric(y, r, a, b)
    elif EK is K_POISSON:
        return _l_poisson(y, r, a, b)
    else:
        return _l_hinge(y, r, a, b)


cdef inline double _elem_g(EK* tag, double y, double r, double a, double b) noexcept nogil:
    if EK is K_BCE:
        return _g_bce(y, r, a, b)
    elif EK is K_BCE_PROBA:
        return _g_bce_proba(y, r, a, b)
    elif EK is K_FOCAL:
        return _g_focal(y, r, a, b)
    elif EK is K_SQUARED:
        return _g_squared(y, r, a, b)
    elif EK is K_ABSOLUTE:
        return _g_absolute(y, r, a, b)
    elif EK is K_HUBER:
        return _g_huber(y, r, a, b)
    elif EK is K_LOG_COSH:
        return _g_log_cosh(y, r, a, b)
    elif EK is K_PINBALL:
        return _g_pinball(y, r, a, b)
    elif EK is K_ASYMMETRIC:
        return _g_asymmetric(y, r, a, b)
    elif EK is K_POISSON:
        return _g_poisson(y, r, a, b)
    else:
        return _g_hinge(y, r, a, b)


cdef inline double _elem_h(EK* tag, double y, double r, double a, double b) noexcept nogil:
    if EK is K_BCE:
        return _h_bce(y, r, a, b)
    elif EK is K_BCE_PROBA:
        return _h_bce_proba(y, r, a, b)
    elif EK is K_FOCAL:
        return _h_focal(y, r, a, b)
    elif EK is K_HUBER:
        return _h_huber(y, r, a, b)
    elif EK is K_LOG_COSH:
        return _h_log_cosh(y, r, a, b)
    elif EK is K_POISSON:
        return _h_poisson(y, r, a, b)
    elif EK is K_HINGE:
        return _h_hinge(y, r, a, b)
    else:  # squared (exact), absolute, pinball, asymmetric (convention)
        return _h_one(y, r, a, b)


# ================================================================ elementwise loops
cdef inline double _sum_buf(const double* buf, Py_ssize_t m) noexcept nogil:
    """Four accumulators in a fixed order (as Numba's _sum_buf)."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t j = 0
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


cdef struct ElemArgs:
    # everything a block needs besides the typed pointers
    double a
    double b
    double scale
    bint have_w
    bint store
    const double* w


cdef double _elem_kind_block(EK* tag, int mode, const floating* y, const floating* raw,
                             const ElemArgs* e, floating* out, floating* grad, floating* hess,
                             Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """One block of one elementwise loss. Returns Σ w*l (loss modes) or the nan count written to
    grad/hess (gradient modes)."""
    cdef double buf[CHUNK]
    cdef double s = 0.0, l, g, h, wi, yi, ri
    cdef double a = e.a, b = e.b, scale = e.scale
    cdef const double* w = e.w
    cdef bint have_w = e.have_w, store = e.store
    cdef Py_ssize_t c0, m, j, i
    cdef Py_ssize_t n_nan = 0
    if mode == M_LOSS:
        c0 = start
        while c0 < stop:
            m = min(<Py_ssize_t>CHUNK, stop - c0)
            if have_w:
                for j in range(m):
                    l = _elem_l(tag, <double>y[c0 + j], <double>raw[c0 + j], a, b)
                    wi = w[c0 + j]
                    buf[j] = wi * l if wi != 0.0 else 0.0
            else:
                for j in range(m):
                    buf[j] = _elem_l(tag, <double>y[c0 + j], <double>raw[c0 + j], a, b)
            if store:
                for j in range(m):
                    out[c0 + j] = <floating>buf[j]
            s += _sum_buf(buf, m)
            c0 += CHUNK
        return s
    if mode == M_LOSS_GRAD:
        c0 = start
        while c0 < stop:
            m = min(<Py_ssize_t>CHUNK, stop - c0)
            for j in range(m):
                i = c0 + j
                yi = <double>y[i]
                ri = <double>raw[i]
                l = _elem_l(tag, yi, ri, a, b)
                g = _elem_g(tag, yi, ri, a, b)
                if have_w:
                    wi = w[i]
                    l = wi * l if wi != 0.0 else 0.0
                    g = (scale * wi) * g if wi != 0.0 else 0.0
                else:
                    g = scale * g
                buf[j] = l
                grad[i] = <floating>g
            if store:
                for j in range(m):
                    out[c0 + j] = <floating>buf[j]
            s += _sum_buf(buf, m)
            c0 += CHUNK
        return s
    if mode == M_GRAD:
        for i in range(start, stop):
            g = _elem_g(tag, <double>y[i], <double>raw[i], a, b)
            if have_w:
                wi = w[i]
                g = (scale * wi) * g if wi != 0.0 else 0.0
            else:
                g = scale * g
            grad[i] = <floating>g
            n_nan += 1 if g != g else 0
        return <double>n_nan
    # M_GRAD_HESS
    for i in range(start, stop):
        yi = <double>y[i]
        ri = <double>raw[i]
        g = _elem_g(tag, yi, ri, a, b)
        h = _elem_h(tag, yi, ri, a, b)
        if have_w:
            wi = w[i]
            g = wi * g if wi != 0.0 else 0.0
            h = wi * h if wi != 0.0 else 0.0
        grad[i] = <floating>g
        hess[i] = <floating>h
        n_nan += (1 if g != g else 0) + (1 if h != h else 0)
    return <double>n_nan


cdef double _elem_block(int kind, int mode, const floating* y, const floating* raw,
                        const ElemArgs* e, floating* out, floating* grad, floating* hess,
                        Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    if kind == BCE:
        return _elem_kind_block(<K_BCE*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == BCE_PROBA:
        return _elem_kind_block(<K_BCE_PROBA*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == FOCAL:
        return _elem_kind_block(<K_FOCAL*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == SQUARED:
        return _elem_kind_block(<K_SQUARED*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == ABSOLUTE:
        return _elem_kind_block(<K_ABSOLUTE*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == HUBER:
        return _elem_kind_block(<K_HUBER*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == LOG_COSH:
        return _elem_kind_block(<K_LOG_COSH*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == PINBALL:
        return _elem_kind_block(<K_PINBALL*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == ASYMMETRIC:
        return _elem_kind_block(<K_ASYMMETRIC*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    elif kind == POISSON:
        return _elem_kind_block(<K_POISSON*>NULL, mode, y, raw, e, out, grad, hess, start, stop)
    else:
        return _elem_kind_block(<K_HINGE*>NULL, mode, y, raw, e, out, grad, hess, start, stop)


cdef double _elem_run(int kind, int mode, const floating[::1] y, const floating[::1] raw,
                      const double[::1] w, const double[::1] params, double scale,
                      floating* out, bint store, floating* grad, floating* hess) except? -1.0:
    """All blocks of an elementwise op; returns the block partials added in block order."""
    cdef Py_ssize_t n = raw.shape[0], b
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef int nt
    cdef ElemArgs e
    cdef double stack[STACK_PARTS]
    cdef double* parts
    cdef const floating* yp = &y[0] if y.shape[0] > 0 else NULL
    cdef const floating* rp = &raw[0] if n > 0 else NULL
    if y.shape[0] != n or (w.shape[0] != 0 and w.shape[0] != n):
        raise ValueError("elem kernels: y, raw and w must have the same length")
    _ab(params, &e.a, &e.b)
    e.scale = scale
    e.have_w = w.shape[0] > 0
    e.store = store
    e.w = &w[0] if e.have_w else NULL
    nt = _threads_for(n)
    parts = _parts_buffer(nb, stack)
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    parts[b] = _elem_block(kind, mode, yp, rp, &e, out, grad, hess,
                                           b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    parts[b] = _elem_block(kind, mode, yp, rp, &e, out, grad, hess,
                                           b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))
        return _block_sum(parts, nb, 1, 0)
    finally:
        if parts != stack:
            free(parts)


cdef inline void _check_out(Py_ssize_t got, Py_ssize_t n, str what) except *:
    if got != n:
        raise ValueError(f"{what} has length {got}, expected {n}")


def elem_loss(int kind, const floating[::1] y, const floating[::1] raw, w, params,
              floating[::1] out):
    """-> (Σ w*l, Σ w); out (length n or 0) receives w_i * l_i."""
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    cdef bint store = out.shape[0] > 0
    if store:
        _check_out(out.shape[0], n, "out")
    s = _elem_run(kind, M_LOSS, y, raw, wv, pv, 1.0, &out[0] if store else NULL, store,
                  <floating*>NULL, <floating*>NULL)
    return s, _sum_w(w, n)


def elem_gradient(int kind, const floating[::1] y, const floating[::1] raw, w, params,
                  double scale, floating[::1] grad):
    """grad <- scale * w * dl/draw; -> number of nan written."""
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    _check_out(grad.shape[0], n, "grad")
    return int(_elem_run(kind, M_GRAD, y, raw, wv, pv, scale, <floating*>NULL, False,
                         &grad[0] if n > 0 else NULL, <floating*>NULL))


def elem_loss_gradient(int kind, const floating[::1] y, const floating[::1] raw, w, params,
                       double scale, floating[::1] out, floating[::1] grad):
    """-> (Σ w*l, Σ w); out (length n or 0) and grad as elem_loss / elem_gradient."""
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    cdef bint store = out.shape[0] > 0
    if store:
        _check_out(out.shape[0], n, "out")
    _check_out(grad.shape[0], n, "grad")
    s = _elem_run(kind, M_LOSS_GRAD, y, raw, wv, pv, scale, &out[0] if store else NULL,
                  store, &grad[0] if n > 0 else NULL, <floating*>NULL)
    return s, _sum_w(w, n)


def elem_gradient_hessian(int kind, const floating[::1] y, const floating[::1] raw, w, params,
                          floating[::1] grad, floating[::1] hess):
    """grad <- w * dl/draw, hess <- w * d2l/draw2; -> number of nan written."""
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    _check_out(grad.shape[0], n, "grad")
    _check_out(hess.shape[0], n, "hess")
    return int(_elem_run(kind, M_GRAD_HESS, y, raw, wv, pv, 1.0, <floating*>NULL, False,
                         &grad[0] if n > 0 else NULL, &hess[0] if n > 0 else NULL))


# ================================================================ two-column losses (raw (n, 2))
cdef struct PairRow:
    double loss, g0, g1, h0, h1


cdef inline PairRow _pair_row(int kind, double y, double r0, double r1, double full,
                              bint want_h) noexcept nogil:
    cdef PairRow o
    cdef double d, iv, q, a, b, ly, l1y, ab, dab, tab
    o.h0 = 0.0
    o.h1 = 0.0
    if kind == GAUSSIAN_NLL:
        # raw = (mu, s = log variance): l = (s + (y - mu)^2 exp(-s)) / 2 [+ log(2 pi) / 2]
        d = y - r0
        iv = exp(-r1)
        q = _times(d * d, iv)
        if r1 == INFINITY:
            o.loss = INFINITY if d == d else NAN
        elif r1 == -INFINITY:
            o.loss = (INFINITY if d != 0.0 else -INFINITY) if d == d else NAN
        else:
            o.loss = 0.5 * (r1 + q) + (HALF_LOG_2PI if full != 0.0 else 0.0)
        o.g0 = -_times(d, iv)
        o.g1 = 0.5 * (1.0 - q)
        if want_h:
            o.h0 = iv
            o.h1 = 0.5 * q
        return o
    # BETA_NLL, raw = (log a, log b), 0 < y < 1
    if not (y > 0.0 and y < 1.0):
        o.loss = NAN
        o.g0 = NAN
        o.g1 = NAN
        o.h0 = NAN
        o.h1 = NAN
        return o
    a = exp(r0)
    b = exp(r1)
    ly = log(y)
    l1y = log1p(-y)
    ab = a + b
    if (a == INFINITY) != (b == INFINITY):
        o.loss = INFINITY  # one shape parameter -> inf: the density at y -> 0
    else:
        o.loss = flx_lgamma(a) + flx_lgamma(b) - flx_lgamma(ab) - (a - 1.0) * ly - (b - 1.0) * l1y
    dab = digamma(ab)
    # a psi(a) = a psi(a + 1) - 1 keeps the a -> 0 limit free of 0 * inf
    o.g0 = a * (digamma(a + 1.0) - dab - ly) - 1.0
    o.g1 = b * (digamma(b + 1.0) - dab - l1y) - 1.0
    if want_h:
        tab = trigamma(ab)
        o.h0 = o.g0 + a * a * (trigamma(a + 1.0) - tab) + 1.0
        o.h1 = o.g1 + b * b * (trigamma(b + 1.0) - tab) + 1.0
    return o


cdef void _pair_block(int kind, int mode, const floating* y, const floating* raw,
                      const double* w, bint have_w, double full, double scale,
                      floating* out, bint store, floating* grad, floating* hess,
                      Py_ssize_t start, Py_ssize_t stop, double* part) noexcept nogil:
    """Rows start..stop; part <- (Σ w*l, nan count in grad/hess)."""
    cdef double s = 0.0, wi, l, gs
    cdef Py_ssize_t i, n_nan = 0
    cdef PairRow o
    for i in range(start, stop):
        wi = w[i] if have_w else 1.0
        if wi == 0.0:
            if store:
                out[i] = 0.0
            if mode != M_LOSS:
                grad[2 * i] = 0.0
                grad[2 * i + 1] = 0.0
            if mode == M_GRAD_HESS:
                hess[2 * i] = 0.0
                hess[2 * i + 1] = 0.0
            continue
        o = _pair_row(kind, <double>y[i], <double>raw[2 * i], <double>raw[2 * i + 1], full,
                      mode == M_GRAD_HESS)
        if mode == M_LOSS or mode == M_LOSS_GRAD:
            l = wi * o.loss
            s += l
            if store:
                out[i] = <floating>l
        if mode != M_LOSS:
            gs = wi * scale if mode != M_GRAD_HESS else wi
            grad[2 * i] = <floating>(gs * o.g0)
            grad[2 * i + 1] = <floating>(gs * o.g1)
            n_nan += (1 if o.g0 != o.g0 else 0) + (1 if o.g1 != o.g1 else 0)
        if mode == M_GRAD_HESS:
            hess[2 * i] = <floating>(wi * o.h0)
            hess[2 * i + 1] = <floating>(wi * o.h1)
            n_nan += (1 if o.h0 != o.h0 else 0) + (1 if o.h1 != o.h1 else 0)
    part[0] = s
    part[1] = <double>n_nan


cdef tuple _pair_run(int kind, int mode, const floating[::1] y, const floating[:, ::1] raw,
                     const double[::1] w, const double[::1] params, double scale,
                     floating* out, bint store, floating* grad, floating* hess):
    cdef Py_ssize_t n = raw.shape[0], b
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef double full = params[0] if params.shape[0] > 0 else 0.0
    cdef bint have_w = w.shape[0] > 0
    cdef const double* wp = &w[0] if have_w else NULL
    cdef const floating* yp = &y[0] if n > 0 else NULL
    cdef const floating* rp = &raw[0, 0] if n > 0 else NULL
    cdef int nt
    cdef double stack[STACK_PARTS]
    cdef double* parts
    if raw.shape[1] != 2 or y.shape[0] != n or (have_w and w.shape[0] != n):
        raise ValueError("pair kernels: raw must be (n, 2), y and w of length n")
    nt = _threads_for(n * 2 * 8)
    parts = _parts_buffer(2 * nb, stack)
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _pair_block(kind, mode, yp, rp, wp, have_w, full, scale, out, store, grad,
                                hess, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK),
                                parts + 2 * b)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _pair_block(kind, mode, yp, rp, wp, have_w, full, scale, out, store, grad,
                                hess, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK),
                                parts + 2 * b)
        return _block_sum(parts, nb, 2, 0), _block_sum(parts, nb, 2, 1)
    finally:
        if parts != stack:
            free(parts)


def pair_loss(int kind, const floating[::1] y, const floating[:, ::1] raw, w, params,
              floating[::1] out):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    cdef bint store = out.shape[0] > 0
    if store:
        _check_out(out.shape[0], n, "out")
    r = _pair_run(kind, M_LOSS, y, raw, wv, pv, 1.0, &out[0] if store else NULL, store,
                  <floating*>NULL, <floating*>NULL)
    return r[0], _sum_w(w, n)


def pair_gradient(int kind, const floating[::1] y, const floating[:, ::1] raw, w, params,
                  double scale, floating[:, ::1] grad):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    _check_out(grad.shape[0] * grad.shape[1], 2 * n, "grad")
    r = _pair_run(kind, M_GRAD, y, raw, wv, pv, scale, <floating*>NULL, False,
                  &grad[0, 0] if n > 0 else NULL, <floating*>NULL)
    return int(r[1])


def pair_loss_gradient(int kind, const floating[::1] y, const floating[:, ::1] raw, w, params,
                       double scale, floating[::1] out, floating[:, ::1] grad):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    cdef bint store = out.shape[0] > 0
    if store:
        _check_out(out.shape[0], n, "out")
    _check_out(grad.shape[0] * grad.shape[1], 2 * n, "grad")
    r = _pair_run(kind, M_LOSS_GRAD, y, raw, wv, pv, scale, &out[0] if store else NULL,
                  store, &grad[0, 0] if n > 0 else NULL, <floating*>NULL)
    return r[0], _sum_w(w, n)


def pair_gradient_hessian(int kind, const floating[::1] y, const floating[:, ::1] raw, w,
                          params, floating[:, ::1] grad, floating[:, ::1] hess):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef Py_ssize_t n = raw.shape[0]
    _check_out(grad.shape[0] * grad.shape[1], 2 * n, "grad")
    _check_out(hess.shape[0] * hess.shape[1], 2 * n, "hess")
    r = _pair_run(kind, M_GRAD_HESS, y, raw, wv, pv, 1.0, <floating*>NULL, False,
                  &grad[0, 0] if n > 0 else NULL, &hess[0, 0] if n > 0 else NULL)
    return int(r[1])


# ================================================================ softmax-based losses (raw (n, K))
cdef inline double _row_max(const floating* z, Py_ssize_t k) noexcept nogil:
    """Max of the row; nan if any entry is nan (-inf for an all -inf row)."""
    cdef double mx = -INFINITY, v
    cdef bint nan = False
    cdef Py_ssize_t t
    for t in range(k):
        v = <double>z[t]
        mx = v if v > mx else mx
        nan = nan or v != v
    return NAN if nan else mx


cdef double _softmax_row(const floating* z, Py_ssize_t k, int mode, floating* grad,
                         floating* hess, double gs, double hs, const double* tvals,
                         double st) noexcept nogil:
    """Row with target masses tvals (sum st): loss Σ_k t_k (lse - z_k) (t_k = 0 terms dropped);
    grad <- gs*((Σt) p - t), hess <- hs*(Σt) p (1 - p) when asked. A row with +inf logits takes
    the limit p = uniform over them; an all -inf or nan row gives nan. (z, grad, hess: the row.)"""
    cdef double mx = _row_max(z, k)
    cdef double c, lc, loss, tv, p, s, tz, v, lse, inv
    cdef bint top
    cdef Py_ssize_t t
    if mx == INFINITY or mx == -INFINITY or mx != mx:
        if mx == INFINITY:
            c = 0.0
            for t in range(k):
                c += 1.0 if z[t] == INFINITY else 0.0
            lc = log(c)
            loss = 0.0
            for t in range(k):
                top = z[t] == INFINITY
                tv = tvals[t]
                if tv != 0.0:
                    loss += tv * (lc if top else INFINITY)
                p = (1.0 / c) if top else 0.0
                if mode != M_LOSS:
                    grad[t] = <floating>(gs * (st * p - tv))
                if mode == M_GRAD_HESS:
                    hess[t] = <floating>(hs * st * p * (1.0 - p))
            return loss
        for t in range(k):
            if mode != M_LOSS:
                grad[t] = <floating>NAN
            if mode == M_GRAD_HESS:
                hess[t] = <floating>NAN
        return NAN
    s = 0.0
    tz = 0.0
    for t in range(k):
        v = <double>z[t] - mx
        tv = tvals[t]
        tz += tv * v if tv != 0.0 else 0.0
        s += exp(v)
    lse = log(s)
    loss = st * lse - tz
    if mode != M_LOSS:
        inv = 1.0 / s
        for t in range(k):
            p = exp(<double>z[t] - mx) * inv
            grad[t] = <floating>(gs * (st * p - tvals[t]))
            if mode == M_GRAD_HESS:
                hess[t] = <floating>(hs * st * p * (1.0 - p))
    return loss


cdef double _ce_row(const floating* z, Py_ssize_t k, Py_ssize_t yi, double eps, int mode,
                    floating* grad, floating* hess, double gs, double hs, double* ebuf,
                    double* tbuf) noexcept nogil:
    """Cross-entropy of one row, label yi, label smoothing eps: t = eps/K + (1 - eps)[k == yi];
    l = lse(z) - Σ t_k z_k; gradient p - t; hessian p(1 - p). Fast path for finite rows, else
    the general row function."""
    cdef double mx = _row_max(z, k)
    cdef double zy, zsum, s, loss, inv, off, p
    cdef Py_ssize_t t
    if mx == INFINITY or mx == -INFINITY or mx != mx:
        for t in range(k):
            tbuf[t] = eps / <double>k
        tbuf[yi] += 1.0 - eps
        return _softmax_row(z, k, mode, grad, hess, gs, hs, tbuf, 1.0)
    zy = <double>z[yi] - mx
    for t in range(k):
        ebuf[t] = <double>z[t] - mx
    zsum = _sum_buf(ebuf, k) if eps != 0.0 else 0.0
    for t in range(k):
        ebuf[t] = exp(ebuf[t])
    s = _sum_buf(ebuf, k)
    loss = log(s) - zy
    if eps != 0.0:
        # Σ t_k v_k = (1 - eps) v_y + eps/K Σ v_k. A -inf logit (or one so far below the max that
        # v_k overflows) has target mass eps/K > 0, so the loss is +inf; zsum is -inf exactly
        # then, and the formula would give inf - inf = nan (fastloss/_numba/losses.py's _ce_row
        # does: a known difference, the NumPy reference gives +inf as here).
        if zsum == -INFINITY:
            loss = INFINITY
        else:
            loss = loss + eps * zy - (eps / <double>k) * zsum
    if mode != M_LOSS:
        inv = 1.0 / s
        off = eps / <double>k
        for t in range(k):
            p = ebuf[t] * inv
            grad[t] = <floating>(gs * (p - off))
        if mode == M_GRAD_HESS:
            for t in range(k):
                p = ebuf[t] * inv
                hess[t] = <floating>(hs * p * (1.0 - p))
        grad[yi] = <floating>(<double>grad[yi] - gs * (1.0 - eps))
    return loss


cdef double _mhinge_row(const floating* z, Py_ssize_t k, Py_ssize_t yi, int mode,
                        floating* grad, floating* hess, double gs, double hs) noexcept nogil:
    """Crammer-Singer: l = max(0, 1 + max_{k != y} z_k - z_y); subgradient +1 at the first
    argmax, -1 at y when the margin is violated; hessian 1 (convention)."""
    cdef Py_ssize_t j = -1, t
    cdef double mj = -INFINITY, v, m, loss
    cdef bint nan = False
    for t in range(k):
        v = <double>z[t]
        nan = nan or v != v
        if t != yi and (j < 0 or v > mj):
            j = t
            mj = v
    m = 1.0 + mj - <double>z[yi]
    if nan or m != m:
        loss = NAN
    else:
        loss = m if m > 0.0 else 0.0
    if mode != M_LOSS:
        for t in range(k):
            grad[t] = <floating>(NAN if loss != loss else 0.0)
            if mode == M_GRAD_HESS:
                hess[t] = <floating>(NAN if loss != loss else hs)
        if loss > 0.0 and j >= 0:
            grad[j] = <floating>gs
            grad[yi] = <floating>(-gs)
    return loss


cdef struct RowArgs:
    const double* w
    const double* cw
    bint have_w
    bint have_cw
    bint store
    double eps
    int64_t ignore
    double scale


cdef void _labels_block(int kind, int mode, const int64_t* y, const floating* raw,
                        Py_ssize_t k, const RowArgs* ra, floating* out, floating* grad,
                        floating* hess, Py_ssize_t start, Py_ssize_t stop, double* ebuf,
                        double* tbuf, double* part) noexcept nogil:
    """Rows start..stop of the integer-label losses; part <- (Σ w_eff l, Σ w_eff, nan count)."""
    cdef double s = 0.0, sw = 0.0, wi, gs, loss, l
    cdef Py_ssize_t i, t, n_nan = 0
    cdef int64_t yi
    cdef floating* g = NULL
    cdef floating* h = NULL
    for i in range(start, stop):
        yi = y[i]
        wi = 0.0
        if yi != ra.ignore:
            wi = ra.w[i] if ra.have_w else 1.0
            if ra.have_cw and 0 <= yi < k:
                wi *= ra.cw[yi]
        sw += wi
        if mode != M_LOSS:
            g = grad + i * k
        if mode == M_GRAD_HESS:
            h = hess + i * k
        if wi == 0.0:
            if ra.store:
                out[i] = 0.0
            if mode != M_LOSS:
                for t in range(k):
                    g[t] = 0.0
            if mode == M_GRAD_HESS:
                for t in range(k):
                    h[t] = 0.0
            continue
        gs = wi * ra.scale if mode != M_GRAD_HESS else wi
        if yi < 0 or yi >= k:  # a label outside [0, K) (the API rejects these): undefined
            loss = NAN
            if mode != M_LOSS:
                for t in range(k):
                    g[t] = <floating>NAN
            if mode == M_GRAD_HESS:
                for t in range(k):
                    h[t] = <floating>NAN
        elif kind == CROSS_ENTROPY:
            loss = _ce_row(raw + i * k, k, yi, ra.eps, mode, g, h, gs, wi, ebuf, tbuf)
        else:
            loss = _mhinge_row(raw + i * k, k, yi, mode, g, h, gs, wi)
        l = wi * loss
        s += l
        if ra.store:
            out[i] = <floating>l
        if mode != M_LOSS and loss != loss:
            n_nan += k
    part[0] = s
    part[1] = sw
    part[2] = <double>n_nan


cdef void _dense_block(int kind, int mode, const floating* Y, const floating* raw,
                       Py_ssize_t k, const RowArgs* ra, floating* out, floating* grad,
                       floating* hess, Py_ssize_t start, Py_ssize_t stop, double* tvals,
                       double* part) noexcept nogil:
    """Rows start..stop of the target-distribution losses: soft cross-entropy
    Σ_k t_k (lse - z_k), and KL(t || softmax z) = that + Σ_k t_k log t_k. t_k < 0 gives nan.
    part <- (Σ w l, 0, nan count)."""
    cdef double s = 0.0, wi, st, ent, tv, gs, loss, l
    cdef bint bad
    cdef Py_ssize_t i, t, n_nan = 0
    cdef floating* g = NULL
    cdef floating* h = NULL
    for i in range(start, stop):
        wi = ra.w[i] if ra.have_w else 1.0
        if mode != M_LOSS:
            g = grad + i * k
        if mode == M_GRAD_HESS:
            h = hess + i * k
        if wi == 0.0:
            if ra.store:
                out[i] = 0.0
            if mode != M_LOSS:
                for t in range(k):
                    g[t] = 0.0
            if mode == M_GRAD_HESS:
                for t in range(k):
                    h[t] = 0.0
            continue
        st = 0.0
        ent = 0.0
        bad = False
        for t in range(k):
            tv = <double>Y[i * k + t]
            tvals[t] = tv
            st += tv
            bad = bad or not (tv >= 0.0)
            if tv > 0.0:
                ent += tv * log(tv)
        gs = wi * ra.scale if mode != M_GRAD_HESS else wi
        loss = _softmax_row(raw + i * k, k, mode, g, h, gs, wi, tvals, st)
        if kind == KL_DIV:
            loss += ent
        if bad:
            loss = NAN
            if mode != M_LOSS:
                for t in range(k):
                    g[t] = <floating>NAN
        l = wi * loss
        s += l
        if ra.store:
            out[i] = <floating>l
        if mode != M_LOSS and loss != loss:
            n_nan += k
    part[0] = s
    part[1] = 0.0
    part[2] = <double>n_nan


cdef tuple _rows_run(bint labels, int kind, int mode, const int64_t* yl, const floating* Yd,
                     const floating[:, ::1] raw, const double[::1] w, const double[::1] cw,
                     double eps, int64_t ignore, double scale, floating* out, bint store,
                     floating* grad, floating* hess):
    """All row blocks of a labels / dense op: (Σ w l, Σ w_eff, nan count), partials in block
    order."""
    cdef Py_ssize_t n = raw.shape[0], k = raw.shape[1], b
    cdef Py_ssize_t nb = _nblocks(n, ROW_BLOCK)
    cdef const floating* rp = &raw[0, 0] if n > 0 and k > 0 else NULL
    cdef RowArgs ra
    cdef int nt
    cdef double stack[STACK_PARTS]
    cdef double* parts
    cdef double* bufs
    if w.shape[0] != 0 and w.shape[0] != n:
        raise ValueError("row kernels: w must have length n (or 0)")
    if labels and cw.shape[0] != 0 and cw.shape[0] != k:
        raise ValueError("labels kernels: cw must have length K (or 0)")
    ra.have_w = w.shape[0] > 0
    ra.have_cw = cw.shape[0] > 0
    ra.w = &w[0] if ra.have_w else NULL
    ra.cw = &cw[0] if ra.have_cw else NULL
    ra.store = store
    ra.eps = eps
    ra.ignore = ignore
    ra.scale = scale
    nt = _threads_for(n * k)
    parts = _parts_buffer(3 * nb, stack)
    # two k-buffers per block (exp values, targets), allocated once
    bufs = <double*>malloc((2 * nb * k + 1) * sizeof(double))
    if bufs == NULL:
        if parts != stack:
            free(parts)
        raise MemoryError()
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    if labels:
                        _labels_block(kind, mode, yl, rp, k, &ra, out, grad, hess,
                                      b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK),
                                      bufs + 2 * b * k, bufs + (2 * b + 1) * k, parts + 3 * b)
                    else:
                        _dense_block(kind, mode, Yd, rp, k, &ra, out, grad, hess,
                                     b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK),
                                     bufs + 2 * b * k, parts + 3 * b)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    if labels:
                        _labels_block(kind, mode, yl, rp, k, &ra, out, grad, hess,
                                      b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK),
                                      bufs + 2 * b * k, bufs + (2 * b + 1) * k, parts + 3 * b)
                    else:
                        _dense_block(kind, mode, Yd, rp, k, &ra, out, grad, hess,
                                     b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK),
                                     bufs + 2 * b * k, parts + 3 * b)
        return (_block_sum(parts, nb, 3, 0), _block_sum(parts, nb, 3, 1),
                int(_block_sum(parts, nb, 3, 2)))
    finally:
        free(bufs)
        if parts != stack:
            free(parts)


cdef inline double _eps(const double[::1] params) noexcept:
    return params[0] if params.shape[0] > 0 else 0.0


cdef inline int64_t _ignore(const double[::1] params) noexcept:
    return <int64_t>params[1] if params.shape[0] > 1 else -100


cdef inline void _check_rows(Py_ssize_t ny, const floating[:, ::1] raw) except *:
    if ny != raw.shape[0]:
        raise ValueError(f"y has {ny} rows, raw has {raw.shape[0]}")


cdef inline void _check_2d(floating[:, ::1] a, const floating[:, ::1] raw, str what) except *:
    if a.shape[0] != raw.shape[0] or a.shape[1] != raw.shape[1]:
        raise ValueError(f"{what} must have raw's shape")


def labels_loss(int kind, const int64_t[::1] y, const floating[:, ::1] raw, w, cw, params,
                floating[::1] out):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef const double[::1] cwv = cw
    cdef bint store = out.shape[0] > 0
    _check_rows(y.shape[0], raw)
    if store:
        _check_out(out.shape[0], raw.shape[0], "out")
    r = _rows_run(True, kind, M_LOSS, &y[0] if y.shape[0] else NULL, <const floating*>NULL, raw, wv, cwv,
                  _eps(pv), _ignore(pv), 1.0, &out[0] if store else NULL, store,
                  <floating*>NULL, <floating*>NULL)
    return r[0], r[1]


def labels_gradient(int kind, const int64_t[::1] y, const floating[:, ::1] raw, w, cw, params,
                    double scale, floating[:, ::1] grad):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef const double[::1] cwv = cw
    _check_rows(y.shape[0], raw)
    _check_2d(grad, raw, "grad")
    r = _rows_run(True, kind, M_GRAD, &y[0] if y.shape[0] else NULL, <const floating*>NULL, raw, wv, cwv,
                  _eps(pv), _ignore(pv), scale, <floating*>NULL, False,
                  &grad[0, 0] if grad.shape[0] * grad.shape[1] else NULL, <floating*>NULL)
    return r[2]


def labels_loss_gradient(int kind, const int64_t[::1] y, const floating[:, ::1] raw, w, cw,
                         params, double scale, floating[::1] out, floating[:, ::1] grad):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef const double[::1] cwv = cw
    cdef bint store = out.shape[0] > 0
    _check_rows(y.shape[0], raw)
    _check_2d(grad, raw, "grad")
    if store:
        _check_out(out.shape[0], raw.shape[0], "out")
    r = _rows_run(True, kind, M_LOSS_GRAD, &y[0] if y.shape[0] else NULL, <const floating*>NULL, raw, wv, cwv,
                  _eps(pv), _ignore(pv), scale, &out[0] if store else NULL, store,
                  &grad[0, 0] if grad.shape[0] * grad.shape[1] else NULL, <floating*>NULL)
    return r[0], r[1]


def labels_gradient_hessian(int kind, const int64_t[::1] y, const floating[:, ::1] raw, w, cw,
                            params, floating[:, ::1] grad, floating[:, ::1] hess):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef const double[::1] cwv = cw
    _check_rows(y.shape[0], raw)
    _check_2d(grad, raw, "grad")
    _check_2d(hess, raw, "hess")
    r = _rows_run(True, kind, M_GRAD_HESS, &y[0] if y.shape[0] else NULL, <const floating*>NULL, raw, wv, cwv,
                  _eps(pv), _ignore(pv), 1.0, <floating*>NULL, False,
                  &grad[0, 0] if grad.shape[0] * grad.shape[1] else NULL, &hess[0, 0] if hess.shape[0] * hess.shape[1] else NULL)
    return r[2]


cdef inline void _check_2d_const(const floating[:, ::1] a, const floating[:, ::1] raw) except *:
    if a.shape[0] != raw.shape[0] or a.shape[1] != raw.shape[1]:
        raise ValueError("Y must have raw's shape")


cdef double[::1] _NO_CW = np.empty(0)


def dense_loss(int kind, const floating[:, ::1] Y, const floating[:, ::1] raw, w, params,
               floating[::1] out):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef bint store = out.shape[0] > 0
    _check_2d_const(Y, raw)
    if store:
        _check_out(out.shape[0], raw.shape[0], "out")
    r = _rows_run(False, kind, M_LOSS, <const int64_t*>NULL, &Y[0, 0] if Y.shape[0] * Y.shape[1] else NULL, raw, wv, _NO_CW, 0.0,
                  0, 1.0, &out[0] if store else NULL, store, <floating*>NULL, <floating*>NULL)
    return r[0], _sum_w(w, raw.shape[0])


def dense_gradient(int kind, const floating[:, ::1] Y, const floating[:, ::1] raw, w, params,
                   double scale, floating[:, ::1] grad):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    _check_2d_const(Y, raw)
    _check_2d(grad, raw, "grad")
    r = _rows_run(False, kind, M_GRAD, <const int64_t*>NULL, &Y[0, 0] if Y.shape[0] * Y.shape[1] else NULL, raw, wv, _NO_CW, 0.0,
                  0, scale, <floating*>NULL, False, &grad[0, 0] if grad.shape[0] * grad.shape[1] else NULL, <floating*>NULL)
    return r[2]


def dense_loss_gradient(int kind, const floating[:, ::1] Y, const floating[:, ::1] raw, w,
                        params, double scale, floating[::1] out, floating[:, ::1] grad):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    cdef bint store = out.shape[0] > 0
    _check_2d_const(Y, raw)
    _check_2d(grad, raw, "grad")
    if store:
        _check_out(out.shape[0], raw.shape[0], "out")
    r = _rows_run(False, kind, M_LOSS_GRAD, <const int64_t*>NULL, &Y[0, 0] if Y.shape[0] * Y.shape[1] else NULL, raw, wv, _NO_CW,
                  0.0, 0, scale, &out[0] if store else NULL, store,
                  &grad[0, 0] if grad.shape[0] * grad.shape[1] else NULL, <floating*>NULL)
    return r[0], _sum_w(w, raw.shape[0])


def dense_gradient_hessian(int kind, const floating[:, ::1] Y, const floating[:, ::1] raw, w,
                           params, floating[:, ::1] grad, floating[:, ::1] hess):
    cdef const double[::1] wv = w
    cdef const double[::1] pv = params
    _check_2d_const(Y, raw)
    _check_2d(grad, raw, "grad")
    _check_2d(hess, raw, "hess")
    r = _rows_run(False, kind, M_GRAD_HESS, <const int64_t*>NULL, &Y[0, 0] if Y.shape[0] * Y.shape[1] else NULL, raw, wv, _NO_CW,
                  0.0, 0, 1.0, <floating*>NULL, False, &grad[0, 0] if grad.shape[0] * grad.shape[1] else NULL,
                  &hess[0, 0] if hess.shape[0] * hess.shape[1] else NULL)
    return r[2]

