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
    exp_neg_abs_chunk, fetestexcept, feclearexcept, FE_INVALID,
    expit1, softplus1, log_expit1, expit_e, softplus_e, log_expit_e, expf_lanes, row_max, lse1,
    TILE, MAX_TILED_K, exp_unshifted, row_sum, row_in_range, row_argmax, log1p_others_over,
)
from libc.math cimport fabsf

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


cdef inline int _threads_for(Py_ssize_t size) noexcept nogil:
    """Threads for a call on ``size`` elements; 0 means: take the serial path."""
    global _pool_started
    if not _openmp or _serial_only or _nthreads <= 1 or size <= SERIAL_MAX_ELEMENTS:
        return 0
    _pool_started = True
    return _nthreads


# ---------------------------------------------------------------- elementwise maps
# float32 lanes: for float32 x, e = exp(-|x|) is computed in float32 arithmetic (-|x| is exact, e
# within 0.77 ulp; 8 lanes per AVX2 instruction), a chunk at a time into a float32 buffer, and the
# rest in double: nothing after e cancels, so each result stays within 2 float32 ulp (tests:
# mpmath). The same in fastloss/_numba/special.py.
cdef enum:
    MAP_CHUNK = 256


cdef inline void _exp_chunk(const float* x, float* e, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(m):
        e[j] = expf_lanes(-fabsf(x[j]))


cdef enum:
    EXPIT = 0
    LOG_EXPIT = 1
    SOFTPLUS = 2

cdef inline double _scalar(int which, double x) noexcept nogil:
    if which == EXPIT:
        return expit1(x)
    if which == LOG_EXPIT:
        return log_expit1(x)
    return softplus1(x)


cdef inline float _scalar_f(int which, float x) noexcept nogil:
    """_scalar of a float32 x with e in float32, as the contiguous maps compute it (a strided
    array gets the same bits as its contiguous copy)."""
    cdef double e = expf_lanes(-fabsf(x))
    if which == EXPIT:
        return <float>expit_e(x, e)
    if which == LOG_EXPIT:
        return <float>log_expit_e(x, e)
    return <float>softplus_e(x, e)


cdef inline double _from_e(int which, double x, double e) noexcept nogil:
    if which == EXPIT:
        return expit_e(x, e)
    if which == LOG_EXPIT:
        return log_expit_e(x, e)
    return softplus_e(x, e)


cdef void _map_range(int which, const floating* x, floating* out, Py_ssize_t start,
                     Py_ssize_t stop) noexcept nogil:
    # one call per function with ``which`` a constant: GCC inlines _map_of into each and folds
    # the choice away, so each loop vectorises (with ``which`` a variable inside the loop it
    # did not: 2-3.7x slower)
    if which == EXPIT:
        _map_of(EXPIT, x, out, start, stop)
    elif which == LOG_EXPIT:
        _map_of(LOG_EXPIT, x, out, start, stop)
    else:
        _map_of(SOFTPLUS, x, out, start, stop)


cdef inline void _map_of(int which, const floating* x, floating* out, Py_ssize_t start,
                         Py_ssize_t stop) noexcept nogil:
    """out[i] = the function ``which`` of x[i]."""
    cdef Py_ssize_t i, j, m
    cdef float e[MAP_CHUNK]
    cdef double ed[MAP_CHUNK]
    if floating is float:
        i = start
        while i < stop:
            m = min(<Py_ssize_t>MAP_CHUNK, stop - i)
            _exp_chunk(x + i, e, m)
            for j in range(m):
                out[i + j] = <float>_from_e(which, <double>x[i + j], <double>e[j])
            i += m
    else:
        i = start
        while i < stop:
            m = min(<Py_ssize_t>MAP_CHUNK, stop - i)
            exp_neg_abs_chunk(x + i, ed, m)
            for j in range(m):
                out[i + j] = _from_e(which, x[i + j], ed[j])
            i += m


cdef void _map(int which, const floating* x, floating* out, Py_ssize_t n) noexcept nogil:
    """The contiguous map: serial up to SERIAL_MAX_ELEMENTS, else fixed blocks under OpenMP."""
    cdef int nt = _threads_for(n)
    cdef Py_ssize_t nb, b
    if nt == 0:
        _map_range(which, x, out, 0, n)
    else:
        nb = (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK
        for b in prange(nb, schedule="static", num_threads=nt):
            _map_range(which, x, out, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK))


def expit(const floating[::1] x, floating[::1] out):
    """out = 1 / (1 + exp(-x)) elementwise (x and out 1-D, same dtype; out may be x's buffer)."""
    _map_call(EXPIT, x, out)


def softplus(const floating[::1] x, floating[::1] out):
    """out = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) elementwise."""
    _map_call(SOFTPLUS, x, out)


def log_expit(const floating[::1] x, floating[::1] out):
    """out = log(expit(x)) = min(x, 0) - log1p(exp(-|x|)) elementwise."""
    _map_call(LOG_EXPIT, x, out)


cdef inline void _map_call(int which, const floating[::1] x, floating[::1] out):
    if x.shape[0] == 0:
        return
    with nogil:
        _map(which, &x[0], &out[0], x.shape[0])


# ---------------------------------------------------------------- row reductions
# the row-wise ops (_rowwise; small_rowwise's op codes)
cdef enum:
    LOGSUMEXP = 0
    SOFTMAX = 1
    LOG_SOFTMAX = 2


# Short contiguous rows (r == 1, 1 <= k <= MAX_TILED_K) are reduced TILE rows at a time: the exps
# of a tile's flat elements in one vectorised loop, unshifted where a row's |x| all lie within 350.
# |log S| from which an unshifted row's log S is its logsumexp; nearer 0 the row takes
# x_a + log1p(...) (fastloss/_numba/_tiled.py's LOG_S_EXACT_FROM and lse_near_zero: the reasons)
cdef double LOG_S_EXACT_FROM = 1.0


cdef void _logsumexp_tiled(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t start,
                           Py_ssize_t stop) noexcept nogil:
    """_logsumexp_range for short contiguous rows: a row whose |x| all lie within 350 is
    log sum e**x, the exps over a tile's flat elements in one vectorised loop, or where that is
    within LOG_S_EXACT_FROM of 0, x_a + log1p(sum over t != a of e**x_t / e**x_a), a the argmax;
    any other row takes lse1 (fastloss/_numba/_tiled.py's logsumexp_rows: the reasons, the same
    steps). Decided per row: a row's bits never depend on its neighbours."""
    cdef double e[MAX_TILED_K * TILE]
    cdef double ls[TILE]
    cdef Py_ssize_t i0, nt, j, i, a
    cdef double ea
    cdef bint clean
    i0 = start
    while i0 < stop:
        nt = min(<Py_ssize_t>TILE, stop - i0)
        clean = exp_unshifted(x + i0 * k, nt * k, e) == nt * k
        for j in range(nt):
            ls[j] = row_sum(e + j * k, k)
        for j in range(nt):  # apart, so log vectorises across the rows
            ls[j] = log(ls[j])
        for j in range(nt):
            i = i0 + j
            if not clean and not row_in_range(x + i * k, k):
                out[i] = <floating>lse1(x + i * k, k, 1)
            elif not fabs(ls[j]) >= LOG_S_EXACT_FROM:
                a = row_argmax(e + j * k, k)
                ea = e[j * k + a]
                e[j * k + a] = 0.0
                out[i] = <floating>(<double>x[i * k + a] + log1p(row_sum(e + j * k, k) / ea))
            else:
                out[i] = <floating>ls[j]
        i0 += TILE


cdef void _logsumexp_range(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t r,
                           Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i, j
    for i in range(start, stop):
        for j in range(r):
            out[i * r + j] = <floating>lse1(x + i * k * r + j, k, r)


def logsumexp(const floating[:, :, ::1] x, floating[:, ::1] out):
    """out[i, j] = log(sum_t exp(x[i, t, j])): -inf for k == 0 or an all -inf row, +inf if a
    term is +inf, nan if any is nan; accurate when one term dominates (see lse1)."""
    if x.shape[0] == 0 or x.shape[2] == 0:
        return
    with nogil:
        _rowwise_blocks(LOGSUMEXP, &x[0, 0, 0], &out[0, 0], x.shape[0], x.shape[1], x.shape[2])


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


cdef void _softmax_tiled(const floating* x, floating* out, Py_ssize_t k, Py_ssize_t start,
                         Py_ssize_t stop) noexcept nogil:
    """_softmax_range for short contiguous rows: a row whose |x| all lie within 350 is
    e**x / sum e**x, the exps over a tile's flat elements in one vectorised loop, once each
    (fastloss/_numba/_tiled.py's softmax_rows: the reasons; the same steps); any other row
    takes _softmax_range. Decided per row: a row's bits never depend on its neighbours."""
    cdef double e[MAX_TILED_K * TILE]
    cdef Py_ssize_t i0, i, j, t, b, nt
    cdef double total
    cdef bint clean
    i0 = start
    while i0 < stop:
        nt = min(<Py_ssize_t>TILE, stop - i0)
        clean = exp_unshifted(x + i0 * k, nt * k, e) == nt * k
        for j in range(nt):
            i = i0 + j
            b = j * k
            if not clean and not row_in_range(x + i * k, k):
                _softmax_range(x, out, k, 1, i, i + 1)
                continue
            total = row_sum(e + b, k)
            for t in range(k):  # a division per term: a dominant p is exactly 1
                out[i * k + t] = <floating>(e[b + t] / total)
        i0 += TILE


def softmax(const floating[:, :, ::1] x, floating[:, :, ::1] out):
    """out = softmax of x over axis 1 (out has x's shape and dtype)."""
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        return
    with nogil:
        _rowwise_blocks(SOFTMAX, &x[0, 0, 0], &out[0, 0, 0], x.shape[0], x.shape[1], x.shape[2])


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
    """_log_softmax_range for short contiguous rows: a row whose |x| all lie within 350 is
    (x - x_a) - log1p(sum over t != a of e**x_t / e**x_a), a the argmax, the exps over a tile's
    flat elements in one vectorised loop (fastloss/_numba/_tiled.py's log_softmax_unshifted:
    the reasons, the same steps); any other row takes the scalar path. Decided per row."""
    cdef double e[MAX_TILED_K * TILE]
    cdef double ls[TILE]
    cdef Py_ssize_t ia[TILE]
    cdef Py_ssize_t i0, nt, j, t, i
    cdef double za
    cdef bint clean
    i0 = start
    while i0 < stop:
        nt = min(<Py_ssize_t>TILE, stop - i0)
        clean = exp_unshifted(x + i0 * k, nt * k, e) == nt * k
        for j in range(nt):
            ia[j] = row_argmax(e + j * k, k)
        log1p_others_over(e, ia, k, nt, ls)
        for j in range(nt):
            i = i0 + j
            if not clean and not row_in_range(x + i * k, k):
                _log_softmax_range(x, out, k, 1, i, i + 1)
                continue
            za = <double>x[i * k + ia[j]]
            for t in range(k):
                out[i * k + t] = <floating>((<double>x[i * k + t] - za) - ls[j])
        i0 += TILE


def log_softmax(const floating[:, :, ::1] x, floating[:, :, ::1] out):
    """out = log_softmax of x over axis 1 (out has x's shape and dtype)."""
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        return
    with nogil:
        _rowwise_blocks(LOG_SOFTMAX, &x[0, 0, 0], &out[0, 0, 0], x.shape[0], x.shape[1], x.shape[2])


cdef void _rowwise(int op, const floating* x, floating* out, Py_ssize_t k, Py_ssize_t r,
                   Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Rows start .. stop of op (LOGSUMEXP: out is (m, r); SOFTMAX, LOG_SOFTMAX: out is x's
    shape) over axis 1 of the (m, k, r) C-contiguous x: short contiguous rows (r == 1,
    1 <= k <= MAX_TILED_K) a tile at a time, any other a row at a time."""
    cdef bint tiled = r == 1 and 1 <= k <= MAX_TILED_K
    if op == LOGSUMEXP:
        if tiled:
            _logsumexp_tiled(x, out, k, start, stop)
        else:
            _logsumexp_range(x, out, k, r, start, stop)
    elif op == SOFTMAX:
        if tiled:
            _softmax_tiled(x, out, k, start, stop)
        else:
            _softmax_range(x, out, k, r, start, stop)
    elif tiled:
        _log_softmax_tiled(x, out, k, start, stop)
    else:
        _log_softmax_range(x, out, k, r, start, stop)


cdef void _rowwise_blocks(int op, const floating* x, floating* out, Py_ssize_t m, Py_ssize_t k,
                          Py_ssize_t r) noexcept nogil:
    """_rowwise over all m rows: serially for small inputs, else in fixed blocks of ROW_BLOCK
    rows on the OpenMP threads (the same bits for any thread count)."""
    cdef int nt = _threads_for(m * k * r)
    cdef Py_ssize_t nb, b
    if nt == 0:
        _rowwise(op, x, out, k, r, 0, m)
        return
    nb = (m + ROW_BLOCK - 1) // ROW_BLOCK
    for b in prange(nb, schedule="static", num_threads=nt):
        _rowwise(op, x, out, k, r, b * ROW_BLOCK, min(m, (b + 1) * ROW_BLOCK))


# ---------------------------------------------------------------- NumPy ufuncs
# expit, log_expit and softplus as real ufuncs (NumPy's C API): NumPy does the dtype resolution,
# casting, broadcasting, out=/where=/dtype=, and __array_ufunc__ for pandas, xarray, Dask...; the
# inner loops below do the arithmetic. Loops: float32, float64 (these kernels: contiguous runs
# go through the fixed-block parallel maps above, bitwise the same for any thread count) and
# long double (the same formulas in libm's long double), listed as scipy.special's expit and
# log_expit list theirs, so the types resolve the same; softplus resolves as np.logaddexp(0, x).
cimport numpy as cnp

cnp.import_array()
cnp.import_ufunc()

cdef extern from "numpy/ndarraytypes.h":
    enum:
        NPY_HALF

cdef extern from "numpy/ufuncobject.h":
    void PyUFunc_e_e_As_f_f(char** args, cnp.npy_intp* dims, cnp.npy_intp* steps, void* func) noexcept nogil
    void PyUFunc_g_g(char** args, cnp.npy_intp* dims, cnp.npy_intp* steps, void* func) noexcept nogil

cdef extern from *:
    """
    #include <math.h>
    static long double fl_expitl(long double x) {
        long double e;
        if (isnan(x)) return x;  /* no ordered comparison with nan: it would raise "invalid" */
        e = expl(-fabsl(x));
        return (x >= 0 ? 1.0L : e) / (1.0L + e);
    }
    static long double fl_log_expitl(long double x) {
        if (isnan(x)) return x;
        return (x < 0 ? x : 0.0L) - log1pl(expl(-fabsl(x)));
    }
    static long double fl_softplusl(long double x) {
        return (x > 0 ? x : 0.0L) + log1pl(expl(-fabsl(x)));
    }
    """
    long double fl_expitl(long double x) noexcept nogil
    long double fl_log_expitl(long double x) noexcept nogil
    long double fl_softplusl(long double x) noexcept nogil

cdef inline void _forget_invalid(int which, int before) noexcept nogil:
    """NumPy turns the FP flags a loop leaves into RuntimeWarnings. A nan input meets the
    branch-free selects' ordered comparisons and raises "invalid", which scipy's expit and
    log_expit never report (they are defined for every non-nan real, +-inf included): drop it.
    softplus keeps it, as np.logaddexp reports it."""
    if which != SOFTPLUS and not before:
        feclearexcept(FE_INVALID)


cdef inline void _loop(const floating* kind, char** args, cnp.npy_intp* dims,
                       cnp.npy_intp* steps, int which) noexcept nogil:
    """The inner loop for x and out of type ``floating`` (``kind`` only picks the type):
    contiguous runs go to _map, strided ones element by element."""
    cdef Py_ssize_t n = dims[0], i
    cdef Py_ssize_t si = steps[0], so = steps[1]
    cdef int before = fetestexcept(FE_INVALID)
    if si == sizeof(floating) and so == sizeof(floating):
        _map(which, <const floating*>args[0], <floating*>args[1], n)
    elif floating is float:
        for i in range(n):
            (<float*>(args[1] + i * so))[0] = _scalar_f(which, (<float*>(args[0] + i * si))[0])
    else:
        for i in range(n):
            (<double*>(args[1] + i * so))[0] = _scalar(which, (<double*>(args[0] + i * si))[0])
    _forget_invalid(which, before)


cdef void _loop_d(char** args, cnp.npy_intp* dims, cnp.npy_intp* steps, void* data) noexcept nogil:
    _loop(<const double*>NULL, args, dims, steps, <int><size_t>data)


cdef void _loop_f(char** args, cnp.npy_intp* dims, cnp.npy_intp* steps, void* data) noexcept nogil:
    _loop(<const float*>NULL, args, dims, steps, <int><size_t>data)


cdef float _softplus_f(float x) noexcept nogil:
    return <float>softplus1(<double>x)


cdef void _softplus_loop_bool(char** args, cnp.npy_intp* dims, cnp.npy_intp* steps,
                              void* data) noexcept nogil:
    """bool -> float64, as np.logaddexp(0, bool array) gives (its int8 input gives float16)."""
    cdef Py_ssize_t n = dims[0], i
    for i in range(n):
        (<double*>(args[1] + i * steps[1]))[0] = softplus1(
            1.0 if (<cnp.npy_bool*>(args[0] + i * steps[0]))[0] else 0.0)


# scipy.special's expit/log_expit list d, f, g: an exact dtype match wins, anything else takes
# the first loop it casts to safely (float16, bool, every int -> float64)
cdef cnp.PyUFuncGenericFunction _expit_loops[3]
cdef cnp.PyUFuncGenericFunction _log_expit_loops[3]
cdef cnp.PyUFuncGenericFunction _softplus_loops[5]
cdef void* _expit_data[3]
cdef void* _log_expit_data[3]
cdef void* _softplus_data[5]
cdef char _dfg_types[6]
cdef char _softplus_types[10]

_dfg_types[0] = _dfg_types[1] = cnp.NPY_DOUBLE
_dfg_types[2] = _dfg_types[3] = cnp.NPY_FLOAT
_dfg_types[4] = _dfg_types[5] = cnp.NPY_LONGDOUBLE
# np.logaddexp's e, f, d, g (int8 and uint8 -> float16, ...), bool first (-> float64, as there)
_softplus_types[0] = cnp.NPY_BOOL
_softplus_types[1] = cnp.NPY_DOUBLE
_softplus_types[2] = _softplus_types[3] = NPY_HALF
_softplus_types[4] = _softplus_types[5] = cnp.NPY_FLOAT
_softplus_types[6] = _softplus_types[7] = cnp.NPY_DOUBLE
_softplus_types[8] = _softplus_types[9] = cnp.NPY_LONGDOUBLE

_expit_loops[0] = <cnp.PyUFuncGenericFunction>_loop_d
_expit_loops[1] = <cnp.PyUFuncGenericFunction>_loop_f
_expit_loops[2] = <cnp.PyUFuncGenericFunction>PyUFunc_g_g
_expit_data[0] = _expit_data[1] = <void*><size_t>EXPIT
_expit_data[2] = <void*>fl_expitl
_log_expit_loops[0] = <cnp.PyUFuncGenericFunction>_loop_d
_log_expit_loops[1] = <cnp.PyUFuncGenericFunction>_loop_f
_log_expit_loops[2] = <cnp.PyUFuncGenericFunction>PyUFunc_g_g
_log_expit_data[0] = _log_expit_data[1] = <void*><size_t>LOG_EXPIT
_log_expit_data[2] = <void*>fl_log_expitl
_softplus_loops[0] = <cnp.PyUFuncGenericFunction>_softplus_loop_bool
_softplus_loops[1] = <cnp.PyUFuncGenericFunction>PyUFunc_e_e_As_f_f
_softplus_loops[2] = <cnp.PyUFuncGenericFunction>_loop_f
_softplus_loops[3] = <cnp.PyUFuncGenericFunction>_loop_d
_softplus_loops[4] = <cnp.PyUFuncGenericFunction>PyUFunc_g_g
_softplus_data[0] = NULL
_softplus_data[1] = <void*>_softplus_f
_softplus_data[2] = _softplus_data[3] = <void*><size_t>SOFTPLUS
_softplus_data[4] = <void*>fl_softplusl

UFUNCS = {
    "expit": cnp.PyUFunc_FromFuncAndData(
        _expit_loops, _expit_data, _dfg_types, 3, 1, 1, cnp.PyUFunc_None, b"expit",
        b"expit(x, /, out=None, *, where=True, ...)\n\nLogistic sigmoid 1 / (1 + exp(-x)), "
        b"elementwise: a NumPy ufunc, drop-in for scipy.special.expit.", 0),
    "log_expit": cnp.PyUFunc_FromFuncAndData(
        _log_expit_loops, _log_expit_data, _dfg_types, 3, 1, 1, cnp.PyUFunc_None, b"log_expit",
        b"log_expit(x, /, out=None, *, where=True, ...)\n\nlog(expit(x)) = min(x, 0) - "
        b"log1p(exp(-|x|)): a NumPy ufunc, drop-in for scipy.special.log_expit.", 0),
    "softplus": cnp.PyUFunc_FromFuncAndData(
        _softplus_loops, _softplus_data, _softplus_types, 5, 1, 1, cnp.PyUFunc_None, b"softplus",
        b"softplus(x, /, out=None, *, where=True, ...)\n\nlog(1 + exp(x)) = max(x, 0) + "
        b"log1p(exp(-|x|)): a NumPy ufunc with np.logaddexp(0, x)'s dtype rules.", 0),
}


# ---------------------------------------------------------------- the small common call
def small_rowwise(int op, object a, object axis):
    """logsumexp (op 0), softmax (1) or log_softmax (2) of a small plain array along one axis:
    a native-order, C-ordered float32/float64 ndarray of at most SERIAL_MAX_ELEMENTS, 1-D
    (axis None, 0 or -1) or 2-D (one int axis). Serial, with none of the general path's
    bookkeeping; the same range functions, so the same values. None for any other input: the
    general path then serves it (and raises what it raises)."""
    if type(a) is not cnp.ndarray:
        return None
    cdef cnp.ndarray x = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(x), nd = cnp.PyArray_NDIM(x)
    if ((t != cnp.NPY_FLOAT64 and t != cnp.NPY_FLOAT32) or not cnp.PyArray_ISCARRAY_RO(x)
            or not cnp.PyArray_ISNOTSWAPPED(x) or (nd != 1 and nd != 2)):
        return None
    cdef Py_ssize_t size = cnp.PyArray_SIZE(x)
    if size == 0 or size > SERIAL_MAX_ELEMENTS:
        return None
    cdef long ax
    if axis is None:
        if nd != 1:
            return None
        ax = 0
    elif type(axis) is int:
        ax = axis
        if ax < 0:
            ax += nd
        if ax < 0 or ax >= nd:
            return None
    else:
        return None
    cdef Py_ssize_t d0 = cnp.PyArray_DIM(x, 0), d1 = 1 if nd == 1 else cnp.PyArray_DIM(x, 1)
    # the (m, k, r) layout the range functions reduce over k
    cdef Py_ssize_t m = 1 if (nd == 1 or ax == 0) else d0
    cdef Py_ssize_t k = d0 if (nd == 1 or ax == 0) else d1
    cdef Py_ssize_t r = d1 if (nd == 2 and ax == 0) else 1
    cdef cnp.npy_intp dims[2]
    cdef cnp.ndarray out
    if op == 0:
        dims[0] = m * r
        out = cnp.PyArray_EMPTY(1, dims, t, 0)
    else:
        out = cnp.PyArray_EMPTY(nd, cnp.PyArray_DIMS(x), t, 0)
    cdef void* xp = cnp.PyArray_DATA(x)
    cdef void* op_ = cnp.PyArray_DATA(out)
    with nogil:
        if t == cnp.NPY_FLOAT64:
            _rowwise(op, <const double*>xp, <double*>op_, k, r, 0, m)
        else:
            _rowwise(op, <const float*>xp, <float*>op_, k, r, 0, m)
    if op == 0 and nd == 1:
        return out[0]
    return out
