"""Cython special-function kernels, the counterpart of fastloss/_numba/special.py.

Elementwise kernels take 1-D ``x`` and ``out``; row kernels see ``x`` as C-contiguous (m, k, r)
and reduce over k. Same formulas and edge-case rules as the Numba kernels, math in double and
rounded once into ``out``. Large inputs run fixed blocks (ELEMENT_BLOCK elements, ROW_BLOCK rows)
under an OpenMP ``prange``; small ones (<= SERIAL_MAX_ELEMENTS) never enter an OpenMP region.
Every output element depends only on its own row, so results never depend on the thread count.
"""
from cython.parallel cimport prange

from fastloss._cython._common cimport (
    floating, exp, log, log1p, fabs, INFINITY, NAN, fl_openmp_enabled, fl_max_threads, FL_MATH_NAME,
    expit1, softplus1, log_expit1, row_max, lse1, TILE, MAX_TILED_K, lse_tile, lse_lane,
)

from fastloss._constants import ELEMENT_BLOCK as _EB, ROW_BLOCK as _RB
from fastloss._constants import SERIAL_MAX_ELEMENTS as _SM

cdef Py_ssize_t ELEMENT_BLOCK = _EB
cdef Py_ssize_t ROW_BLOCK = _RB
cdef Py_ssize_t SERIAL_MAX_ELEMENTS = _SM

# ---------------------------------------------------------------- threads (see __init__.py)
cdef bint _openmp = fl_openmp_enabled()
cdef int _max_threads = max(1, fl_max_threads())
cdef int _nthreads = _max_threads
cdef bint _pool_started = False
cdef bint _serial_only = False

OPENMP = bool(_openmp)
MATH = FL_MATH_NAME.decode()
MAX_THREADS = _max_threads


def _set_threads(int n):
    global _nthreads
    _nthreads = max(1, min(n, _max_threads))


def _pool_used():
    return bool(_pool_started)


def _force_serial(bint flag):
    global _serial_only
    _serial_only = flag


cdef inline int _threads_for(Py_ssize_t size) noexcept:
    """Threads for a call on ``size`` elements; 0 means: take the serial path."""
    global _pool_started
    if not _openmp or _serial_only or _nthreads <= 1 or size <= SERIAL_MAX_ELEMENTS:
        return 0
    _pool_started = True
    return _nthreads


# ---------------------------------------------------------------- elementwise maps
cdef void _expit_range(const floating* x, floating* out, Py_ssize_t start,
                       Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        out[i] = <floating>expit1(<double>x[i])


cdef void _softplus_range(const floating* x, floating* out, Py_ssize_t start,
                          Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        out[i] = <floating>softplus1(<double>x[i])


cdef void _log_expit_range(const floating* x, floating* out, Py_ssize_t start,
                           Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        out[i] = <floating>log_expit1(<double>x[i])


def expit(const floating[::1] x, floating[::1] out):
    """out = 1 / (1 + exp(-x)) elementwise (x and out 1-D, same dtype; out may be x's buffer)."""
    cdef Py_ssize_t n = x.shape[0], nb, b
    cdef int nt = _threads_for(n)
    if n == 0:
        return
    cdef const floating* xp = &x[0]
    cdef floating* op = &out[0]
    with nogil:
        if nt == 0:
            _expit_range(xp, op, 0, n)
        else:
            nb = (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK
            for b in prange(nb, schedule="static", num_threads=nt):
                _expit_range(xp, op, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


def softplus(const floating[::1] x, floating[::1] out):
    """out = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) elementwise."""
    cdef Py_ssize_t n = x.shape[0], nb, b
    cdef int nt = _threads_for(n)
    if n == 0:
        return
    cdef const floating* xp = &x[0]
    cdef floating* op = &out[0]
    with nogil:
        if nt == 0:
            _softplus_range(xp, op, 0, n)
        else:
            nb = (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK
            for b in prange(nb, schedule="static", num_threads=nt):
                _softplus_range(xp, op, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


def log_expit(const floating[::1] x, floating[::1] out):
    """out = log(expit(x)) = min(x, 0) - log1p(exp(-|x|)) elementwise."""
    cdef Py_ssize_t n = x.shape[0], nb, b
    cdef int nt = _threads_for(n)
    if n == 0:
        return
    cdef const floating* xp = &x[0]
    cdef floating* op = &out[0]
    with nogil:
        if nt == 0:
            _log_expit_range(xp, op, 0, n)
        else:
            nb = (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK
            for b in prange(nb, schedule="static", num_threads=nt):
                _log_expit_range(xp, op, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


# ---------------------------------------------------------------- row reductions
# Short contiguous rows (r == 1, 1 <= k <= MAX_TILED_K) are reduced TILE rows at a time, one
# vector lane per row (lse_tile in _common.pxd).
cdef void _logsumexp_tiled(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t start,
                           Py_ssize_t stop) noexcept nogil:
    cdef double buf[MAX_TILED_K * TILE]
    cdef double mx[TILE]
    cdef double cnt[TILE]
    cdef double s[TILE]
    cdef double bad[TILE]
    cdef Py_ssize_t i0, nt, j
    cdef double m, v
    i0 = start
    while i0 < stop:
        nt = min(<Py_ssize_t>TILE, stop - i0)
        lse_tile(x + i0 * k, k, nt, buf, mx, cnt, s, bad)
        for j in range(nt):
            out[i0 + j] = <floating>lse_lane(mx, cnt, s, bad, j)
        i0 += TILE


cdef void _logsumexp_range(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t r,
                           Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i, j
    if r == 1 and 1 <= k <= MAX_TILED_K:
        _logsumexp_tiled(x, out, k, start, stop)
        return
    for i in range(start, stop):
        for j in range(r):
            out[i * r + j] = <floating>lse1(x + i * k * r + j, k, r)


def logsumexp(const floating[:, :, ::1] x, floating[:, ::1] out):
    """out[i, j] = log(sum_t exp(x[i, t, j])): -inf for k == 0 or an all -inf row, +inf if a
    term is +inf, nan if any is nan; accurate when one term dominates (see lse1)."""
    cdef Py_ssize_t m = x.shape[0], k = x.shape[1], r = x.shape[2], nb, b
    cdef int nt = _threads_for(m * k * r)
    if m == 0 or r == 0:
        return
    cdef const floating* xp = &x[0, 0, 0]
    cdef floating* op = &out[0, 0]
    with nogil:
        if nt == 0:
            _logsumexp_range(xp, op, k, r, 0, m)
        else:
            nb = (m + ROW_BLOCK - 1) // ROW_BLOCK
            for b in prange(nb, schedule="static", num_threads=nt):
                _logsumexp_range(xp, op, k, r, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))


cdef void _logsumexp_b_range(const floating* x, const floating* bb, floating* out,
                             floating* sign, Py_ssize_t k, Py_ssize_t r, Py_ssize_t start,
                             Py_ssize_t stop) noexcept nogil:
    """log|sum b*exp(x)| and its sign, as scipy: terms with b == 0 are dropped whatever x is;
    the sum is shifted by the max of the remaining x, unshifted if that max is infinite."""
    cdef Py_ssize_t i, j, t, o
    cdef const floating* xr
    cdef const floating* br
    cdef double mx, v, bv, shift, total
    cdef bint seen_nan
    for i in range(start, stop):
        for j in range(r):
            xr = x + i * k * r + j
            br = bb + i * k * r + j
            mx = -INFINITY
            seen_nan = False
            for t in range(k):
                if br[t * r] != 0:
                    v = <double>xr[t * r]
                    if v > mx:
                        mx = v
                    elif v != v:
                        seen_nan = True
            shift = mx if (mx != INFINITY and mx != -INFINITY) else 0.0
            total = 0.0
            for t in range(k):
                bv = <double>br[t * r]
                if bv != 0:
                    total += bv * exp(<double>xr[t * r] - shift)
            o = i * r + j
            if seen_nan or total != total:
                out[o] = <floating>NAN
                sign[o] = <floating>NAN
            else:
                out[o] = <floating>(log(fabs(total)) + shift)
                sign[o] = <floating>(1.0 if total > 0 else (-1.0 if total < 0 else 0.0))


def logsumexp_b(const floating[:, :, ::1] x, const floating[:, :, ::1] b,
                floating[:, ::1] out, floating[:, ::1] sign):
    """out = log|sum_t b*exp(x)| over axis 1 and sign = its sign (scipy's return_sign)."""
    cdef Py_ssize_t m = x.shape[0], k = x.shape[1], r = x.shape[2], nb, blk
    cdef int nt = _threads_for(m * k * r)
    if m == 0 or r == 0:
        return
    cdef const floating* xp = &x[0, 0, 0]
    cdef const floating* bp = &b[0, 0, 0]
    cdef floating* op = &out[0, 0]
    cdef floating* sp = &sign[0, 0]
    with nogil:
        if nt == 0:
            _logsumexp_b_range(xp, bp, op, sp, k, r, 0, m)
        else:
            nb = (m + ROW_BLOCK - 1) // ROW_BLOCK
            for blk in prange(nb, schedule="static", num_threads=nt):
                _logsumexp_b_range(xp, bp, op, sp, k, r, blk * ROW_BLOCK,
                                   min(m, (blk + 1) * ROW_BLOCK))


cdef void _softmax_range(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t r,
                         Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """exp(x - m) / sum exp(x - m), m the row max; a nan, +inf or all -inf row gives nan, as
    scipy.special.softmax. Like the Numba kernel, exp(x - m) is stored in out (rounded to out's
    dtype) and then divided in double by the unrounded sum."""
    cdef Py_ssize_t i, j, t, nn
    cdef const floating* xr
    cdef floating* orow
    cdef double mx, s, e
    for i in range(start, stop):
        for j in range(r):
            xr = x + i * k * r + j
            orow = out + i * k * r + j
            mx = row_max(xr, k, r, &nn)
            if nn > 0:
                mx = NAN
            s = 0.0
            for t in range(k):
                e = exp(<double>xr[t * r] - mx)
                orow[t * r] = <floating>e
                s += e
            for t in range(k):
                orow[t * r] = <floating>(<double>orow[t * r] / s)


def softmax(const floating[:, :, ::1] x, floating[:, :, ::1] out):
    """out = softmax of x over axis 1 (out has x's shape and dtype)."""
    cdef Py_ssize_t m = x.shape[0], k = x.shape[1], r = x.shape[2], nb, b
    cdef int nt = _threads_for(m * k * r)
    if m == 0 or k == 0 or r == 0:
        return
    cdef const floating* xp = &x[0, 0, 0]
    cdef floating* op = &out[0, 0, 0]
    with nogil:
        if nt == 0:
            _softmax_range(xp, op, k, r, 0, m)
        else:
            nb = (m + ROW_BLOCK - 1) // ROW_BLOCK
            for b in prange(nb, schedule="static", num_threads=nt):
                _softmax_range(xp, op, k, r, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))


cdef void _log_softmax_range(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t r,
                             Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """(x - m) - log sum exp(x - m), m the row max or 0 when that max is not finite (scipy).
    For finite m the log-sum is log(c) + log1p(s / c) (c maxima, s the rest)."""
    cdef Py_ssize_t i, j, t, nn
    cdef const floating* xr
    cdef floating* orow
    cdef double mx, c, s, v, ls
    cdef bint finite_max
    for i in range(start, stop):
        for j in range(r):
            xr = x + i * k * r + j
            orow = out + i * k * r + j
            mx = row_max(xr, k, r, &nn)
            finite_max = mx != INFINITY and mx != -INFINITY
            if not finite_max:
                mx = 0.0
            c = 0.0
            s = 0.0
            for t in range(k):
                v = <double>xr[t * r]
                if finite_max and v == mx:
                    c += 1.0
                else:
                    s += exp(v - mx)
            if nn > 0:
                ls = NAN
            elif finite_max:
                ls = log(c) + log1p(s / c)
            else:
                ls = log(s) if s > 0 else (-INFINITY if s == 0 else s)
            for t in range(k):
                orow[t * r] = <floating>((<double>xr[t * r] - mx) - ls)


cdef void _log_softmax_tiled(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t start,
                             Py_ssize_t stop) noexcept nogil:
    """_log_softmax_range for short contiguous rows, from lse_tile's lane state; a row with a
    nan or an infinite max takes the scalar path (the same values: both use log(c) + log1p(s/c))."""
    cdef double buf[MAX_TILED_K * TILE]
    cdef double mx[TILE]
    cdef double cnt[TILE]
    cdef double s[TILE]
    cdef double bad[TILE]
    cdef Py_ssize_t i0, nt, j, t, i
    cdef double m, ls
    i0 = start
    while i0 < stop:
        nt = min(<Py_ssize_t>TILE, stop - i0)
        lse_tile(x + i0 * k, k, nt, buf, mx, cnt, s, bad)
        for j in range(nt):
            i = i0 + j
            m = mx[j]
            if bad[j] > 0.0 or m == INFINITY or m == -INFINITY:
                _log_softmax_range(x, out, k, 1, i, i + 1)
                continue
            ls = log(cnt[j]) + log1p(s[j] / cnt[j])
            for t in range(k):
                out[i * k + t] = <floating>((<double>x[i * k + t] - m) - ls)
        i0 += TILE


cdef void _log_softmax_rows(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t r,
                            Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    if r == 1 and 1 <= k <= MAX_TILED_K:
        _log_softmax_tiled(x, out, k, start, stop)
    else:
        _log_softmax_range(x, out, k, r, start, stop)


def log_softmax(const floating[:, :, ::1] x, floating[:, :, ::1] out):
    """out = log_softmax of x over axis 1 (out has x's shape and dtype)."""
    cdef Py_ssize_t m = x.shape[0], k = x.shape[1], r = x.shape[2], nb, b
    cdef int nt = _threads_for(m * k * r)
    if m == 0 or k == 0 or r == 0:
        return
    cdef const floating* xp = &x[0, 0, 0]
    cdef floating* op = &out[0, 0, 0]
    with nogil:
        if nt == 0:
            _log_softmax_rows(xp, op, k, r, 0, m)
        else:
            nb = (m + ROW_BLOCK - 1) // ROW_BLOCK
            for b in prange(nb, schedule="static", num_threads=nt):
                _log_softmax_rows(xp, op, k, r, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))
