"""Cython log-loss kernels, the counterpart of fastloss/_numba/metrics.py (contract and return
tuples: fastloss/_numpy/metrics.py).

Each ``_*_block`` computes one block's partials (Σw·l, Σw, min p, max p, #nan, worst |row sum - 1|)
into 6 doubles; the drivers run every block (under ``prange`` for large inputs) into a
preallocated array and add the partials serially in block order, so a result is bitwise identical
for any thread count. Same blocks and operation order as the Numba backend; only exp/log differ
(flmath.h here -- libm, or fastmath.h in the AVX2 build -- and Numba's vectorised ``_math`` there: within an ulp per call).
Probabilities are read once; no n x k temporary is made.
"""
from cython.parallel cimport prange
from libc.stdlib cimport calloc, malloc, free
from libc.float cimport DBL_MIN

from fastloss._cython._common cimport (
    floating, exp, log, log_normal, log1p, fabs, INFINITY, NAN, fl_openmp_enabled, fl_max_threads, fl_select,
    softplus_e, exp_neg_abs_chunk, lse_parts, sum_chunk, TILE, MAX_TILED_K, lse_tile,
    label_losses_unshifted, label_losses_from_lanes,
)

from fastloss._constants import ELEMENT_BLOCK as _EB, ROW_BLOCK as _RB
from fastloss._constants import SERIAL_MAX_ELEMENTS as _SM

cimport numpy as cnp

# Label codes 0..K-1 and weights are read as the caller holds them (fastloss._labels.code_view:
# uint8, uint16, uint32 or intp codes; float32 or float64 weights), not copied wider. The width is
# a run-time argument, not a fused type (which would multiply the generated C by 8): the kernels
# widen the codes and weights of a chunk (CHUNK or TILE entries, in L1) into local buffers with
# one vectorised loop per width, and the loops that follow are the ones they always were.
# The binary kernels also read float labels as they are (width -8 or -4: float64 or float32,
# 0./1. labels handed over unchecked): 1. is code 1, 0. (and -0.) code 0, anything else (nan,
# 0.5, 2.) code 2, which those kernels count as outside {0, 1}.
cdef inline void _codes(const void* y, int width, Py_ssize_t c0, Py_ssize_t m,
                        Py_ssize_t* out) noexcept nogil:
    """out[0:m] = the codes y[c0:c0 + m]."""
    cdef Py_ssize_t j
    cdef double v
    if width == -8:
        for j in range(m):
            v = (<const double*>y)[c0 + j]
            out[j] = 1 if v == 1.0 else (0 if v == 0.0 else 2)
    elif width == -4:
        for j in range(m):
            v = (<const float*>y)[c0 + j]
            out[j] = 1 if v == 1.0 else (0 if v == 0.0 else 2)
    elif width == 1:
        for j in range(m):
            out[j] = (<const cnp.npy_uint8*>y)[c0 + j]
    elif width == 2:
        for j in range(m):
            out[j] = (<const cnp.npy_uint16*>y)[c0 + j]
    elif width == 4:
        for j in range(m):
            out[j] = (<const cnp.npy_uint32*>y)[c0 + j]
    else:
        for j in range(m):
            out[j] = (<const Py_ssize_t*>y)[c0 + j]


cdef inline void _weights(const void* w, bint w32, Py_ssize_t c0, Py_ssize_t m,
                          double* out) noexcept nogil:
    """out[0:m] = the weights w[c0:c0 + m] as double."""
    cdef Py_ssize_t j
    if w32:
        for j in range(m):
            out[j] = <double>(<const float*>w)[c0 + j]
    else:
        for j in range(m):
            out[j] = (<const double*>w)[c0 + j]


cdef inline Py_ssize_t _code(const void* y, int width, Py_ssize_t i) noexcept nogil:
    """The code y[i] (the rows kernels read one per row)."""
    cdef Py_ssize_t c
    _codes(y, width, i, 1, &c)
    return c


cdef inline double _weight(const void* w, bint w32, Py_ssize_t i) noexcept nogil:
    cdef double v
    _weights(w, w32, i, 1, &v)
    return v


cdef Py_ssize_t ELEMENT_BLOCK = _EB
cdef Py_ssize_t ROW_BLOCK = _RB
cdef Py_ssize_t SERIAL_MAX_ELEMENTS = _SM

cdef enum:
    # partials layout: 0 Σw·l, 1 Σw, 2 min p, 3 max p, 4 #nan, 5 worst |row sum - 1|
    NPART = 6
    # blocks whose partials fit on the stack (larger inputs malloc their partials)
    STACK_BLOCKS = 64
    # 1-D blocks are walked in chunks: the losses of a chunk go to a buffer in one vectorised
    # loop and are added by sum_chunk (8 accumulators); a scalar running sum would not vectorise
    CHUNK = 256

# ---------------------------------------------------------------- threads (see __init__.py)
cdef bint _openmp = fl_openmp_enabled()
cdef int _max_threads = max(1, fl_max_threads())
cdef int _nthreads = _max_threads
cdef bint _pool_started = False
cdef bint _serial_only = False


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


# ---------------------------------------------------------------- partials
cdef struct Acc:
    double swl
    double sw
    double pmin
    double pmax
    double nnan
    double worst


cdef inline void _acc_init(Acc* a) noexcept nogil:
    a.swl = 0.0
    a.sw = 0.0
    a.pmin = INFINITY
    a.pmax = -INFINITY
    a.nnan = 0.0
    a.worst = 0.0


cdef inline void _acc_add(Acc* a, const void* w, bint w32, bint have_w, Py_ssize_t i,
                          double loss) noexcept nogil:
    """Accumulate w_i * loss_i; a zero weight adds nothing even if the loss is infinite."""
    cdef double wi
    if have_w:
        wi = _weight(w, w32, i)
        if wi != 0.0:
            a.swl += wi * loss
        a.sw += wi
    else:
        a.swl += loss
        a.sw += 1.0


cdef inline void _acc_observe(Acc* a, double v) noexcept nogil:
    if v < a.pmin:
        a.pmin = v
    if v > a.pmax:
        a.pmax = v
    if v != v:
        a.nnan += 1.0


cdef inline void _acc_store(const Acc* a, double* part) noexcept nogil:
    part[0] = a.swl
    part[1] = a.sw
    part[2] = a.pmin
    part[3] = a.pmax
    part[4] = a.nnan
    part[5] = a.worst


cdef tuple _combine(const double* parts, Py_ssize_t nb):
    """Add the block partials in block order (min/max/worst keep the first of equal values)."""
    cdef Acc t
    cdef Py_ssize_t b
    cdef const double* p
    _acc_init(&t)
    for b in range(nb):
        p = parts + b * NPART
        t.swl += p[0]
        t.sw += p[1]
        if p[2] < t.pmin:
            t.pmin = p[2]
        if p[3] > t.pmax:
            t.pmax = p[3]
        t.nnan += p[4]
        if p[5] > t.worst:
            t.worst = p[5]
    return t.swl, t.sw, t.pmin, t.pmax, int(t.nnan), t.worst


cdef inline double _clip(double q, double lo, double hi) noexcept nogil:
    return lo if q < lo else (hi if q > hi else q)


# ---------------------------------------------------------------- block kernels
cdef void _labels_rows(const floating* p, const void* y, int yw, const void* w, bint w32, bint have_w,
                       Py_ssize_t k, double eps, Py_ssize_t start, Py_ssize_t stop,
                       Acc* a) noexcept nogil:
    """_labels_block's rows one at a time (long rows)."""
    cdef Py_ssize_t i, t
    cdef const floating* row
    cdef double hi = 1.0 - eps, v, row_sum, dev, q
    for i in range(start, stop):
        row = p + i * k
        row_sum = 0.0
        for t in range(k):
            v = <double>row[t]
            _acc_observe(a, v)
            row_sum += v
        dev = fabs(row_sum - 1.0)
        if dev > a.worst:
            a.worst = dev
        q = _clip(<double>row[_code(y, yw, i)], eps, hi)
        _acc_add(a, w, w32, have_w, i, -log(q))


cdef void _labels_block(const floating* p, const void* y, int yw, const void* w, bint w32, bint have_w,
                        Py_ssize_t k, double eps, Py_ssize_t start, Py_ssize_t stop,
                        double* part) noexcept nogil:
    """l_i = -log(clip(p[i, y_i], eps, 1 - eps)); clipping as scikit-learn (eps of p's dtype).
    Short rows go TILE at a time, one vector lane per row: the row sums (added in the row's
    order, as _labels_rows does), min/max/nan and the logs run across rows."""
    cdef Acc a
    cdef double buf[MAX_TILED_K * TILE]
    cdef double rs[TILE]
    cdef double lo[TILE]
    cdef double up[TILE]
    cdef double nn[TILE]
    cdef double lv[TILE]
    cdef Py_ssize_t yc[TILE]
    cdef Py_ssize_t i0, nt, j, t
    cdef double hi = 1.0 - eps, v, dev
    _acc_init(&a)
    if k < 1 or k > MAX_TILED_K:
        _labels_rows(p, y, yw, w, w32, have_w, k, eps, start, stop, &a)
        _acc_store(&a, part)
        return
    i0 = start
    while i0 < stop:
        nt = min(<Py_ssize_t>TILE, stop - i0)
        for j in range(nt):
            for t in range(k):
                buf[t * TILE + j] = <double>p[(i0 + j) * k + t]
        for j in range(nt):
            rs[j] = 0.0
            lo[j] = INFINITY
            up[j] = -INFINITY
            nn[j] = 0.0
        for t in range(k):
            for j in range(nt):
                v = buf[t * TILE + j]
                rs[j] += v
                lo[j] = v if v < lo[j] else lo[j]
                up[j] = v if v > up[j] else up[j]
                nn[j] += 0.0 if v == v else 1.0
        _codes(y, yw, i0, nt, yc)
        for j in range(nt):
            lv[j] = <double>p[(i0 + j) * k + yc[j]]
        for j in range(nt):
            lv[j] = -log(_clip(lv[j], eps, hi))
        for j in range(nt):
            if lo[j] < a.pmin:
                a.pmin = lo[j]
            if up[j] > a.pmax:
                a.pmax = up[j]
            a.nnan += nn[j]
            dev = fabs(rs[j] - 1.0)
            if dev > a.worst:
                a.worst = dev
            _acc_add(&a, w, w32, have_w, i0 + j, lv[j])
        i0 += TILE
    _acc_store(&a, part)


cdef void _dense_block(const floating* p, const double* Y, const double* w, bint have_w,
                       Py_ssize_t k, double eps, Py_ssize_t start, Py_ssize_t stop,
                       double* part) noexcept nogil:
    """l_i = -sum_k Y[i, k] log(clip(p[i, k])); zero targets add nothing."""
    cdef Acc a
    cdef Py_ssize_t i, t
    cdef const floating* row
    cdef const double* yrow
    cdef double hi = 1.0 - eps, v, yt, row_sum, loss, dev
    _acc_init(&a)
    for i in range(start, stop):
        row = p + i * k
        yrow = Y + i * k
        row_sum = 0.0
        loss = 0.0
        for t in range(k):
            v = <double>row[t]
            _acc_observe(&a, v)
            row_sum += v
            yt = yrow[t]
            if yt != 0:
                loss -= yt * log(_clip(v, eps, hi))
        dev = fabs(row_sum - 1.0)
        if dev > a.worst:
            a.worst = dev
        _acc_add(&a, w, False, have_w, i, loss)
    _acc_store(&a, part)


cdef inline void _observe_chunk(Acc* a, const floating* x, Py_ssize_t m) noexcept nogil:
    """_acc_observe over x[0:m] in 8 lanes (vectorised min/max/nan count; same min and max)."""
    cdef double lo[8]
    cdef double hi[8]
    cdef double nn[8]
    cdef Py_ssize_t j = 0, t
    cdef double v
    for t in range(8):
        lo[t] = INFINITY
        hi[t] = -INFINITY
        nn[t] = 0.0
    while j + 8 <= m:
        for t in range(8):
            v = <double>x[j + t]
            lo[t] = v if v < lo[t] else lo[t]
            hi[t] = v if v > hi[t] else hi[t]
            nn[t] += 0.0 if v == v else 1.0
        j += 8
    while j < m:
        _acc_observe(a, <double>x[j])
        j += 1
    for t in range(8):
        if lo[t] < a.pmin:
            a.pmin = lo[t]
        if hi[t] > a.pmax:
            a.pmax = hi[t]
        a.nnan += nn[t]


cdef inline void _add_chunk(Acc* a, double* buf, const void* w, bint w32, bint have_w,
                            Py_ssize_t c0, Py_ssize_t m) noexcept nogil:
    """Σ w l and Σ w of a chunk whose losses are in buf (a zero weight removes an infinite loss);
    the weights are widened to double in a chunk buffer, so float32 weights need no copy."""
    cdef Py_ssize_t j
    cdef double wi
    cdef double wbuf[CHUNK]
    if have_w:
        _weights(w, w32, c0, m, wbuf)
        for j in range(m):
            wi = wbuf[j]
            buf[j] = wi * buf[j] if wi != 0.0 else 0.0
        a.sw += sum_chunk(wbuf, m)
    else:
        a.sw += <double>m
    a.swl += sum_chunk(buf, m)


cdef inline Py_ssize_t _binary_chunk(const floating* p, const Py_ssize_t* yc, Py_ssize_t m,
                                     double eps, double hi, double* buf, bint normal) noexcept nogil:
    """buf[j] = -log(clip(q_j)), q_j = p_j if y_j == 1 else 1 - p_j (in p's dtype), j < m; returns
    the number of codes outside {0, 1}. normal (a constant where this is inlined): every clipped
    q is a normal number (eps >= DBL_MIN, no nan in the chunk), so log_normal gives log's bits
    without its subnormal and special-value steps."""
    cdef Py_ssize_t j, outside = 0
    cdef floating pv, one_minus
    cdef double q
    for j in range(m):
        pv = p[j]
        one_minus = <floating>1.0 - pv
        q = _clip(<double>pv if yc[j] == 1 else <double>one_minus, eps, hi)
        buf[j] = -(log_normal(q) if normal else log(q))
        # codes not in {0, 1}: the caller may hand over unchecked labels (the "worst" slot); an
        # integer count, which does not stop the loop from vectorising
        outside += (<size_t>yc[j]) > 1  # one unsigned compare: negative codes wrap above 1
    return outside


cdef void _binary_block(const floating* p, const void* y, int yw, const void* w, bint w32, bint have_w,
                        double eps, Py_ssize_t start, Py_ssize_t stop,
                        double* part) noexcept nogil:
    """l_i = -log(clip(p_i)) if y_i == 1 else -log(clip(1 - p_i)), 1 - p_i taken in p's dtype;
    the worst slot counts the codes outside {0, 1}."""
    cdef Acc a
    cdef double buf[CHUNK]
    cdef Py_ssize_t yc[CHUNK]
    cdef Py_ssize_t c0, m
    cdef double hi = 1.0 - eps, nan_before
    # both clipping bounds normal (a direct kernel call with eps >= 1 has hi <= 0)
    cdef bint normal_eps = eps >= DBL_MIN and hi >= DBL_MIN
    cdef Py_ssize_t outside = 0
    _acc_init(&a)
    c0 = start
    while c0 < stop:
        m = min(<Py_ssize_t>CHUNK, stop - c0)
        nan_before = a.nnan
        _observe_chunk(&a, p + c0, m)
        _codes(y, yw, c0, m, yc)
        if normal_eps and a.nnan == nan_before:
            outside += _binary_chunk(p + c0, yc, m, eps, hi, buf, 1)
        else:
            outside += _binary_chunk(p + c0, yc, m, eps, hi, buf, 0)
        _add_chunk(&a, buf, w, w32, have_w, c0, m)
        c0 += CHUNK
    a.worst = <double>outside
    _acc_store(&a, part)


cdef inline double _long_row_label_loss(const floating* row, Py_ssize_t k, Py_ssize_t c,
                                        Py_ssize_t* n_nan) noexcept nogil:
    """logsumexp(row) - row[c] as (m - row[c]) + (lse - m) from lse_parts: both parts >= 0, so a
    small loss keeps its relative precision (lse - row[c] cancels: a confident row's 1e-17 came
    out 0). row[c] = +inf costs log(#(+inf) in the row); a nan gives nan, an infinite max
    m - row[c] (nan for a row of -inf: its loss is undefined). n_nan: the row's nan count."""
    cdef Py_ssize_t t
    cdef double mx, n, s, n_top = 0.0
    cdef double zc = <double>row[c]
    cdef double lse = lse_parts(row, k, &mx, &n, &s, n_nan)
    if zc == INFINITY:
        for t in range(k):
            if row[t] == INFINITY:
                n_top += 1.0
        return log(n_top)
    if lse != lse or mx == INFINITY or mx == -INFINITY:
        return mx - zc
    return (mx - zc) + (log(n) + log1p(s / n))


cdef void _logits_labels_block(const floating* z, const void* y, int yw, const void* w,
                               bint w32, bint have_w, Py_ssize_t k, Py_ssize_t start, Py_ssize_t stop,
                               double* part) noexcept nogil:
    """l_i = logsumexp(z_i) - z[i, y_i]; if z[i, y_i] = +inf the loss is log(#(+inf) in row).
    Short rows go a tile at a time: label_losses_unshifted where every |z| of the tile allows it,
    else label_losses_from_lanes after the tiled logsumexp (one vector lane per row); both keep a
    small loss's relative precision. Rows longer than MAX_TILED_K go a row at a time
    (_long_row_label_loss), which keeps it too."""
    cdef Acc a
    cdef Py_ssize_t i, i0, j, nn
    cdef const floating* row
    cdef double l
    cdef double tbuf[MAX_TILED_K * TILE]
    cdef double tmx[TILE]
    cdef double tcnt[TILE]
    cdef double ts[TILE]
    cdef double tbad[TILE]
    cdef double tloss[TILE]
    cdef Py_ssize_t yc[TILE]
    _acc_init(&a)
    if 1 <= k <= MAX_TILED_K:
        i0 = start
        while i0 < stop:
            nn = min(<Py_ssize_t>TILE, stop - i0)
            _codes(y, yw, i0, nn, yc)
            if not label_losses_unshifted(z + i0 * k, k, nn, yc, tbuf, tloss):
                lse_tile(z + i0 * k, k, nn, tbuf, tmx, tcnt, ts, tbad)
                label_losses_from_lanes(z + i0 * k, k, nn, yc, tmx, tcnt, ts, tbad, tloss)
                for j in range(nn):
                    a.nnan += tbad[j]
            for j in range(nn):
                _acc_add(&a, w, w32, have_w, i0 + j, tloss[j])
            i0 += TILE
    else:
        for i in range(start, stop):
            row = z + i * k
            l = _long_row_label_loss(row, k, _code(y, yw, i), &nn)
            a.nnan += <double>nn
            _acc_add(&a, w, w32, have_w, i, l)
    _acc_store(&a, part)


cdef void _logits_binary_block(const floating* z, const void* y, int yw, const void* w,
                               bint w32, bint have_w, Py_ssize_t start, Py_ssize_t stop,
                               double* part) noexcept nogil:
    """l_i = softplus(-z_i) if y_i == 1 else softplus(z_i)  (= softplus(z) - y z, stably), from
    e = exp(-|z_i|), which both share."""
    cdef Acc a
    cdef double buf[CHUNK]
    cdef double e[CHUNK]
    cdef Py_ssize_t yc[CHUNK]
    cdef Py_ssize_t c0, m, j
    cdef double zi
    cdef Py_ssize_t outside = 0  # codes not in {0, 1} (the worst slot), as _binary_block
    _acc_init(&a)
    c0 = start
    while c0 < stop:
        m = min(<Py_ssize_t>CHUNK, stop - c0)
        _codes(y, yw, c0, m, yc)
        exp_neg_abs_chunk(z + c0, e, m)
        for j in range(m):
            zi = <double>z[c0 + j]
            a.nnan += 0.0 if zi == zi else 1.0
            buf[j] = softplus_e(-zi if yc[j] == 1 else zi, e[j])
            outside += (<size_t>yc[j]) > 1  # one unsigned compare: negative codes wrap above 1
        _add_chunk(&a, buf, w, w32, have_w, c0, m)
        c0 += CHUNK
    a.worst = <double>outside
    _acc_store(&a, part)


# ---------------------------------------------------------------- drivers
cdef inline Py_ssize_t _nblocks(Py_ssize_t n, Py_ssize_t block) noexcept nogil:
    return max(1, (n + block - 1) // block)


cdef double* _parts_buffer(Py_ssize_t nb, double* stack) except NULL:
    if nb <= STACK_BLOCKS:
        return stack
    cdef double* parts = <double*>malloc(nb * NPART * sizeof(double))
    if parts == NULL:
        raise MemoryError()
    return parts


cdef int _code_width(object y, Py_ssize_t n, bint binary=False) except -1:
    """Bytes per code of ``y`` (a C-contiguous 1-D array of n uint8/uint16/uint32/intp codes);
    ``binary`` (the binary kernels): float64 / float32 labels too, as -8 / -4 (see _codes)."""
    if not isinstance(y, cnp.ndarray):
        raise TypeError(f"label codes must be a numpy array, got {type(y).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>y
    cdef int t = cnp.PyArray_TYPE(a)
    if cnp.PyArray_NDIM(a) != 1 or cnp.PyArray_DIM(a, 0) != n or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"label codes must be a C-contiguous 1-D array of {n} entries")
    if not cnp.PyArray_ISNOTSWAPPED(a):
        raise ValueError("label codes must be in native byte order")
    if t == cnp.NPY_UINT8 or t == cnp.NPY_UINT16 or t == cnp.NPY_UINT32:
        return <int>cnp.PyArray_ITEMSIZE(a)
    if binary and (t == cnp.NPY_FLOAT64 or t == cnp.NPY_FLOAT32):
        return -<int>cnp.PyArray_ITEMSIZE(a)
    if cnp.PyArray_ITEMSIZE(a) == sizeof(Py_ssize_t) and cnp.PyArray_ISINTEGER(a):
        return <int>sizeof(Py_ssize_t)
    raise TypeError(f"label codes must be uint8, uint16, uint32 or intp"
                    f"{' (or float32/float64 labels)' if binary else ''}, got {a.dtype}")


cdef bint _is_float32_weights(object w, Py_ssize_t n) except -1:
    """Whether ``w`` (C-contiguous 1-D float32/float64, n entries or none) is float32."""
    if not isinstance(w, cnp.ndarray):
        raise TypeError(f"weights must be a numpy array, got {type(w).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>w
    cdef int t = cnp.PyArray_TYPE(a)
    if cnp.PyArray_NDIM(a) != 1 or cnp.PyArray_DIM(a, 0) not in (0, n) or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"weights must be a C-contiguous 1-D array of {n} entries (or none)")
    if not cnp.PyArray_ISNOTSWAPPED(a) or (t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64):
        raise TypeError(f"weights must be native float32 or float64, got {a.dtype}")
    return t == cnp.NPY_FLOAT32


def log_loss_labels(const floating[:, ::1] p, object y, object w, double eps):
    """Clipped log loss of (n, k) probabilities against class codes y.
    Returns (sum_wl, sum_w, pmin, pmax, n_nan, worst)."""
    cdef Py_ssize_t n = p.shape[0], k = p.shape[1], b
    cdef Py_ssize_t nb = _nblocks(n, ROW_BLOCK)
    cdef int nt = _threads_for(n * k)
    cdef bint have_w = len(w) > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* pp = &p[0, 0]
    cdef int yw = _code_width(y, n)
    cdef bint w32 = _is_float32_weights(w, n)
    cdef const void* yp = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef const void* wp = cnp.PyArray_DATA(<cnp.ndarray>w)
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _labels_block(pp, yp, yw, wp, w32, have_w, k, eps, b * ROW_BLOCK,
                                  min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _labels_block(pp, yp, yw, wp, w32, have_w, k, eps, b * ROW_BLOCK,
                                  min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
        return _combine(parts, nb)
    finally:
        if parts != stack:
            free(parts)


def log_loss_dense(const floating[:, ::1] p, const double[:, ::1] Y, const double[::1] w,
                   double eps):
    """Clipped log loss of (n, k) probabilities against indicator (or soft) targets Y (n, k).
    Returns (sum_wl, sum_w, pmin, pmax, n_nan, worst)."""
    cdef Py_ssize_t n = p.shape[0], k = p.shape[1], b
    cdef Py_ssize_t nb = _nblocks(n, ROW_BLOCK)
    cdef int nt = _threads_for(n * k)
    cdef bint have_w = w.shape[0] > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* pp = &p[0, 0]
    cdef const double* Yp = &Y[0, 0]
    cdef const double* wp = &w[0]
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _dense_block(pp, Yp, wp, have_w, k, eps, b * ROW_BLOCK,
                                 min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _dense_block(pp, Yp, wp, have_w, k, eps, b * ROW_BLOCK,
                                 min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
        return _combine(parts, nb)
    finally:
        if parts != stack:
            free(parts)


def log_loss_binary(const floating[::1] p, object y, object w, double eps):
    """Clipped log loss of positive-class probabilities p (n,) against 0/1 codes y.
    Returns (sum_wl, sum_w, pmin, pmax, n_nan, 0.0)."""
    cdef Py_ssize_t n = p.shape[0], b
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef int nt = _threads_for(n)
    cdef bint have_w = len(w) > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* pp = &p[0]
    cdef int yw = _code_width(y, n, True)
    cdef bint w32 = _is_float32_weights(w, n)
    cdef const void* yp = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef const void* wp = cnp.PyArray_DATA(<cnp.ndarray>w)
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _binary_block(pp, yp, yw, wp, w32, have_w, eps, b * ELEMENT_BLOCK,
                                  min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _binary_block(pp, yp, yw, wp, w32, have_w, eps, b * ELEMENT_BLOCK,
                                  min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
        return _combine(parts, nb)
    finally:
        if parts != stack:
            free(parts)


def log_loss_logits_labels(const floating[:, ::1] z, object y, object w):
    """Log loss from (n, k) logits against class codes y: returns (sum_wl, sum_w, n_nan)."""
    cdef Py_ssize_t n = z.shape[0], k = z.shape[1], b
    cdef Py_ssize_t nb = _nblocks(n, ROW_BLOCK)
    cdef int nt = _threads_for(n * k)
    cdef bint have_w = len(w) > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* zp = &z[0, 0]
    cdef int yw = _code_width(y, n)
    cdef bint w32 = _is_float32_weights(w, n)
    cdef const void* yp = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef const void* wp = cnp.PyArray_DATA(<cnp.ndarray>w)
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _logits_labels_block(zp, yp, yw, wp, w32, have_w, k, b * ROW_BLOCK,
                                         min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _logits_labels_block(zp, yp, yw, wp, w32, have_w, k, b * ROW_BLOCK,
                                         min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
        t = _combine(parts, nb)
        return t[0], t[1], t[4]
    finally:
        if parts != stack:
            free(parts)


def log_loss_logits_binary(const floating[::1] z, object y, object w, bint check_codes=False):
    """Log loss from positive-class logits z (n,) against 0/1 codes y: (sum_wl, sum_w, n_nan);
    with ``check_codes`` also a fourth value, > 0 exactly when a code lies outside {0, 1}."""
    cdef Py_ssize_t n = z.shape[0], b
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef int nt = _threads_for(n)
    cdef bint have_w = len(w) > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* zp = &z[0]
    cdef int yw = _code_width(y, n, True)
    cdef bint w32 = _is_float32_weights(w, n)
    cdef const void* yp = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef const void* wp = cnp.PyArray_DATA(<cnp.ndarray>w)
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _logits_binary_block(zp, yp, yw, wp, w32, have_w, b * ELEMENT_BLOCK,
                                         min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _logits_binary_block(zp, yp, yw, wp, w32, have_w, b * ELEMENT_BLOCK,
                                         min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
        t = _combine(parts, nb)
        if check_codes:
            return t[0], t[1], t[4], t[5]
        return t[0], t[1], t[4]
    finally:
        if parts != stack:
            free(parts)


# ---------------------------------------------------------------- the small common call
# log_loss / log_loss_from_logits on a few samples (a request scored at a time): 1-D integer,
# boolean, integral float or string labels, C-ordered float32/float64 scores, no weights, no
# labels=. Everything sklearn would check is checked here in C; anything else, and every input
# that is wrong (an error or warning to raise), returns None and takes the general path, which
# raises exactly what it always raises. One block, so the value is the general path's, bitwise.
cimport numpy as cnp
from libc.string cimport memcmp
from libc.math cimport floor, sqrt
from libc.float cimport DBL_EPSILON, FLT_EPSILON

cnp.import_array()

cdef enum:
    SMALL_MAX = 4096  # samples (at most one ELEMENT_BLOCK and one ROW_BLOCK: a single block)
    SMALL_RANGE = 256  # integer labels spanning at most this many values
    SMALL_CLASSES = 64  # distinct string labels

ctypedef fused label_t:  # (bool is read as uint8: the same C type)
    cnp.npy_int8
    cnp.npy_uint8
    cnp.npy_int16
    cnp.npy_uint16
    cnp.npy_int32
    cnp.npy_uint32
    cnp.npy_int64
    cnp.npy_uint64
    cnp.npy_float32
    cnp.npy_float64


cdef int _rank_integers(const label_t* src, Py_ssize_t n, Py_ssize_t* codes) noexcept nogil:
    """codes[i] = rank of label i among the distinct labels (np.unique's order); returns the
    number of classes, -1 when the labels are not integers spanning <= SMALL_RANGE values."""
    cdef Py_ssize_t i, lo = 0, hi = 0, v
    cdef double d
    cdef int c, nc = 0
    cdef int rank[SMALL_RANGE]
    for i in range(n):
        d = <double>src[i]
        if d != d or d != floor(d) or fabs(d) > 9.0e15:
            return -1
        v = <Py_ssize_t>d
        codes[i] = v
        if i == 0 or v < lo:
            lo = v
        if i == 0 or v > hi:
            hi = v
    if hi - lo >= SMALL_RANGE:
        return -1
    for c in range(hi - lo + 1):
        rank[c] = 0
    for i in range(n):
        rank[codes[i] - lo] = 1
    for c in range(hi - lo + 1):
        if rank[c]:
            rank[c] = nc
            nc += 1
        else:
            rank[c] = -1
    for i in range(n):
        codes[i] = rank[codes[i] - lo]
    return nc


cdef inline int _ucs4_cmp(const cnp.npy_uint32* a, const cnp.npy_uint32* b, Py_ssize_t width) noexcept nogil:
    """NumPy's order of two fixed-width unicode strings (code points; NUL padding sorts first)."""
    cdef Py_ssize_t t
    for t in range(width):
        if a[t] != b[t]:
            return -1 if a[t] < b[t] else 1
    return 0


cdef int _rank_strings(const char* data, Py_ssize_t itemsize, Py_ssize_t n, Py_ssize_t* codes) noexcept nogil:
    """As _rank_integers for fixed-width unicode labels (at most SMALL_CLASSES distinct)."""
    cdef Py_ssize_t i
    cdef Py_ssize_t first[SMALL_CLASSES]
    cdef int c, d, r, nc = 0
    cdef int rank[SMALL_CLASSES]
    cdef Py_ssize_t width = itemsize // 4
    for i in range(n):
        for c in range(nc):
            if memcmp(data + i * itemsize, data + first[c] * itemsize, itemsize) == 0:
                break
        else:
            if nc == SMALL_CLASSES:
                return -1
            first[nc] = i
            c = nc
            nc += 1
        codes[i] = c
    for c in range(nc):  # a class's rank: how many classes sort before it
        r = 0
        for d in range(nc):
            if _ucs4_cmp(<const cnp.npy_uint32*>(data + first[d] * itemsize),
                         <const cnp.npy_uint32*>(data + first[c] * itemsize), width) < 0:
                r += 1
        rank[c] = r
    for i in range(n):
        codes[i] = rank[codes[i]]
    return nc


cdef int _small_codes(cnp.ndarray y, Py_ssize_t n, Py_ssize_t* codes) noexcept:
    cdef int t = cnp.PyArray_TYPE(y)
    cdef const char* data = <const char*>cnp.PyArray_DATA(y)
    if t == cnp.NPY_BOOL or t == cnp.NPY_UINT8:
        return _rank_integers(<const cnp.npy_uint8*>data, n, codes)
    if t == cnp.NPY_INT8:
        return _rank_integers(<const cnp.npy_int8*>data, n, codes)
    if t == cnp.NPY_INT16:
        return _rank_integers(<const cnp.npy_int16*>data, n, codes)
    if t == cnp.NPY_UINT16:
        return _rank_integers(<const cnp.npy_uint16*>data, n, codes)
    if t == cnp.NPY_INT32:
        return _rank_integers(<const cnp.npy_int32*>data, n, codes)
    if t == cnp.NPY_UINT32:
        return _rank_integers(<const cnp.npy_uint32*>data, n, codes)
    if t == cnp.NPY_INT64 or t == cnp.NPY_LONGLONG:
        return _rank_integers(<const cnp.npy_int64*>data, n, codes)
    if t == cnp.NPY_UINT64 or t == cnp.NPY_ULONGLONG:
        return _rank_integers(<const cnp.npy_uint64*>data, n, codes)
    if t == cnp.NPY_FLOAT64:
        return _rank_integers(<const cnp.npy_float64*>data, n, codes)
    if t == cnp.NPY_FLOAT32:
        return _rank_integers(<const cnp.npy_float32*>data, n, codes)
    if t == cnp.NPY_UNICODE:
        return _rank_strings(data, cnp.PyArray_ITEMSIZE(y), n, codes)
    return -1


cdef inline bint _plain(cnp.ndarray a) noexcept:
    """C-contiguous, aligned, native byte order."""
    return cnp.PyArray_ISCARRAY_RO(a) and cnp.PyArray_ISNOTSWAPPED(a)


def log_loss_small(object y_true, object scores, bint from_logits):
    """log_loss(y_true, scores) (from_logits: log_loss_from_logits) for the small common call,
    or None when the general path must decide (see above)."""
    if type(y_true) is not cnp.ndarray or type(scores) is not cnp.ndarray:
        return None
    cdef cnp.ndarray y = <cnp.ndarray>y_true, p = <cnp.ndarray>scores
    cdef int pt = cnp.PyArray_TYPE(p)
    if cnp.PyArray_NDIM(y) != 1 or not _plain(y) or not _plain(p) or (
            pt != cnp.NPY_FLOAT64 and pt != cnp.NPY_FLOAT32):
        return None
    cdef Py_ssize_t n = cnp.PyArray_DIM(y, 0)
    cdef int nd = cnp.PyArray_NDIM(p)
    if n == 0 or n > SMALL_MAX or (nd != 1 and nd != 2) or cnp.PyArray_DIM(p, 0) != n:
        return None
    cdef Py_ssize_t k = 1 if nd == 1 else cnp.PyArray_DIM(p, 1)
    cdef Py_ssize_t codes[SMALL_MAX]
    cdef int nc = _small_codes(y, n, codes)
    if nc < 2 or nc != (2 if k == 1 else k):
        return None
    cdef double part[NPART]
    cdef const void* data = cnp.PyArray_DATA(p)
    cdef double eps = DBL_EPSILON if pt == cnp.NPY_FLOAT64 else FLT_EPSILON
    with nogil:
        if from_logits:
            if k == 1:
                if pt == cnp.NPY_FLOAT64:
                    _logits_binary_block(<const double*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, 0, n, part)
                else:
                    _logits_binary_block(<const float*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, 0, n, part)
            elif pt == cnp.NPY_FLOAT64:
                _logits_labels_block(<const double*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, k, 0, n, part)
            else:
                _logits_labels_block(<const float*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, k, 0, n, part)
        elif k == 1:
            if pt == cnp.NPY_FLOAT64:
                _binary_block(<const double*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, eps, 0, n, part)
            else:
                _binary_block(<const float*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, eps, 0, n, part)
        elif pt == cnp.NPY_FLOAT64:
            _labels_block(<const double*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, k, eps, 0, n, part)
        else:
            _labels_block(<const float*>data, codes, sizeof(Py_ssize_t), NULL, False, 0, k, eps, 0, n, part)
    # partials: Σw·l, Σw, min, max, #nan, worst |row sum - 1| (the _combine of one block)
    if part[4] != 0.0 or part[0] != part[0]:
        return None  # nan: the general path raises
    if not from_logits:
        if not (part[2] >= 0.0 and part[3] <= 1.0):
            return None  # outside [0, 1] or infinite: the general path raises
        if k > 1 and part[5] > 1e-8 + sqrt(eps):
            return None  # rows not summing to one: the general path warns
    return part[0] / part[1]


# ---------------------------------------------------------------- label bounds
ctypedef fused label_int:
    cnp.int8_t
    cnp.int16_t
    cnp.int32_t
    cnp.int64_t
    cnp.uint8_t
    cnp.uint16_t
    cnp.uint32_t
    cnp.uint64_t


cdef void _bounds_block(const label_int* y, Py_ssize_t lo, Py_ssize_t hi, label_int* mn,
                        label_int* mx) noexcept nogil:
    cdef Py_ssize_t i
    cdef label_int a = y[lo]
    cdef label_int b = y[lo]
    for i in range(lo, hi):  # two independent selects per element: GCC vectorises both
        a = y[i] if y[i] < a else a
        b = y[i] if y[i] > b else b
    mn[0] = a
    mx[0] = b


def label_bounds(const label_int[::1] y, bint serial=False):
    """(min, max) of non-empty integer labels as Python ints: the check every log_loss call makes
    on its targets (fastloss._labels), one read of y, over fixed blocks in parallel for large
    inputs (NumPy's y.min() and y.max() read it twice, serially: 2 x 5.4 ms for 1e7 int64).
    ``serial``: no OpenMP region (when the Numba kernels run next: a region of ours leaves a
    libgomp worker spinning on the core their pool thread needs)."""
    cdef Py_ssize_t n = y.shape[0]
    if n == 0:
        raise ValueError("label_bounds of an empty array")
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef label_int* part = <label_int*>malloc(2 * nb * sizeof(label_int))
    if part == NULL:
        raise MemoryError()
    cdef int nt = 0 if serial else min(_threads_for(n), nb)
    cdef Py_ssize_t b
    cdef label_int lo, hi
    with nogil:
        if nt == 0:
            for b in range(nb):
                _bounds_block(&y[0], b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK),
                              &part[2 * b], &part[2 * b + 1])
        else:
            for b in prange(nb, schedule="static", num_threads=nt):
                _bounds_block(&y[0], b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK),
                              &part[2 * b], &part[2 * b + 1])
        lo = part[0]
        hi = part[1]
        for b in range(1, nb):
            lo = part[2 * b] if part[2 * b] < lo else lo
            hi = part[2 * b + 1] if part[2 * b + 1] > hi else hi
    free(part)
    return int(lo), int(hi)


cdef bint _count_labels(const label_int* y, Py_ssize_t n, cnp.uint64_t base, cnp.int64_t* counts,
                        cnp.int64_t* odd, cnp.uint64_t k) noexcept nogil:
    """counts[c] += the number of y == base + c, c < k, in two histograms: even positions in
    counts, odd ones in odd (k zeros), added into counts at the end; consecutive equal labels
    then increment different counters (one counter's read-modify-write chain through memory
    halved the count's speed). False, counts untouched past k, at a label outside the range."""
    cdef Py_ssize_t i, j
    cdef cnp.uint64_t c, c1
    cdef bint ok = True
    for i in range(0, n - 1, 2):
        # y - base modulo 2**64: the true difference for y >= base, above k for y < base
        c = <cnp.uint64_t>y[i] - base
        c1 = <cnp.uint64_t>y[i + 1] - base
        if c >= k or c1 >= k:
            ok = False
            break
        counts[c] += 1
        odd[c1] += 1
    if ok and n % 2 == 1:
        c = <cnp.uint64_t>y[n - 1] - base
        if c >= k:
            ok = False
        else:
            counts[c] += 1
    for j in range(<Py_ssize_t>k):
        counts[j] += odd[j]
    return ok


def label_counts(const label_int[::1] y, label_int lo, cnp.int64_t[::1] counts):
    """counts[c] += the number of labels equal to lo + c, for integer labels that label_bounds
    found within [lo, lo + len(counts)): one serial read where NumPy's chunks convert each to
    intp first (1e7 int64 labels of 10 classes: 17-22 -> 6.4 ms). ValueError, and nothing counted
    past ``counts``, at a label outside that range."""
    cdef cnp.uint64_t k = <cnp.uint64_t>counts.shape[0]
    cdef bint ok = True
    cdef cnp.int64_t* odd = <cnp.int64_t*>calloc(k + 1, sizeof(cnp.int64_t))  # (k = 0: not NULL)
    if odd == NULL:
        raise MemoryError()
    if y.shape[0]:
        with nogil:
            ok = _count_labels(&y[0], y.shape[0], <cnp.uint64_t>lo, &counts[0], odd, k)
    free(odd)
    if not ok:
        raise ValueError("label_counts: a label outside [lo, lo + len(counts))")


# Integral float labels are those equal to their int64 cast (scikit-learn's type_of_target):
# whole numbers in [-2**63, 2**63); nan, inf and 2**63 and beyond are not.
cdef double _INT64_END = 9223372036854775808.0  # 2**63


cdef void _float_bounds_block(const floating* y, Py_ssize_t start, Py_ssize_t stop,
                              double* part) noexcept nogil:
    """part = (values not integral, min, max) of y[start:stop] (min/max of the integral ones)."""
    cdef Py_ssize_t i
    cdef double v, bad = 0.0, lo = INFINITY, hi = -INFINITY
    cdef bint ok
    for i in range(start, stop):
        v = <double>y[i]
        ok = v == floor(v) and v >= -_INT64_END and v < _INT64_END
        bad += 0.0 if ok else 1.0
        lo = v if (ok and v < lo) else lo
        hi = v if (ok and v > hi) else hi
    part[0] = bad
    part[1] = lo
    part[2] = hi


def float_label_bounds(const floating[::1] y, bint serial=False):
    """(number of values that are not int64 integers, min, max) of non-empty float labels, one
    read of y over fixed blocks (in parallel for large inputs unless ``serial``, as
    label_bounds): the check and the bounds that NumPy takes in three reads (the int64 cast
    compared, min, max). The min and max are those of the integral values (floats)."""
    cdef Py_ssize_t n = y.shape[0]
    if n == 0:
        raise ValueError("float_label_bounds of an empty array")
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef double* part = <double*>malloc(3 * nb * sizeof(double))
    if part == NULL:
        raise MemoryError()
    cdef int nt = 0 if serial else min(_threads_for(n), nb)
    cdef Py_ssize_t b
    cdef double bad = 0.0, lo = INFINITY, hi = -INFINITY
    with nogil:
        if nt == 0:
            for b in range(nb):
                _float_bounds_block(&y[0], b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK), &part[3 * b])
        else:
            for b in prange(nb, schedule="static", num_threads=nt):
                _float_bounds_block(&y[0], b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK), &part[3 * b])
        for b in range(nb):
            bad += part[3 * b]
            lo = part[3 * b + 1] if part[3 * b + 1] < lo else lo
            hi = part[3 * b + 2] if part[3 * b + 2] > hi else hi
    free(part)
    return int(bad), lo, hi


cdef inline bint _store_codes(const floating* y, Py_ssize_t n, double lo, void* out, int width,
                              Py_ssize_t k) noexcept nogil:
    """The code loops of float_label_codes, one per width with no exit (so that they
    vectorise): a code outside [0, k) is flagged, and False returned at the end."""
    cdef Py_ssize_t i, c
    cdef size_t bad = 0
    if width == 1:
        for i in range(n):
            c = <Py_ssize_t>(<double>y[i] - lo)
            bad |= <size_t>(<size_t>c >= <size_t>k)  # (negative codes wrap above k)
            (<cnp.npy_uint8*>out)[i] = <cnp.npy_uint8>c
    elif width == 2:
        for i in range(n):
            c = <Py_ssize_t>(<double>y[i] - lo)
            bad |= <size_t>(<size_t>c >= <size_t>k)
            (<cnp.npy_uint16*>out)[i] = <cnp.npy_uint16>c
    elif width == 4:
        for i in range(n):
            c = <Py_ssize_t>(<double>y[i] - lo)
            bad |= <size_t>(<size_t>c >= <size_t>k)
            (<cnp.npy_uint32*>out)[i] = <cnp.npy_uint32>c
    else:
        for i in range(n):
            c = <Py_ssize_t>(<double>y[i] - lo)
            bad |= <size_t>(<size_t>c >= <size_t>k)
            (<cnp.npy_uint64*>out)[i] = <cnp.npy_uint64>c
    return not bad


def float_label_codes(const floating[::1] y, double lo, cnp.ndarray codes, cnp.int64_t[::1] counts):
    """codes[i] = y[i] - lo and counts[c] = the number of labels with code c, for float labels
    that float_label_bounds found integral with min lo and max lo + len(counts) - 1: the codes
    in one serial read (loops that vectorise), then counted from the codes by label_counts'
    loop, where NumPy's chunks took the offsets twice and an intp copy for bincount. ``codes``:
    C-contiguous, as long as y, of an unsigned type of 1, 2, 4 or 8 bytes. ValueError (codes
    then written, nothing counted) at a label outside that range."""
    cdef Py_ssize_t n = y.shape[0]
    cdef int width = <int>cnp.PyArray_ITEMSIZE(codes)
    if (cnp.PyArray_NDIM(codes) != 1 or cnp.PyArray_DIM(codes, 0) != n
            or not cnp.PyArray_IS_C_CONTIGUOUS(codes) or not cnp.PyArray_ISUNSIGNED(codes)
            or width not in (1, 2, 4, 8)):
        raise ValueError(f"codes must be a C-contiguous unsigned array of {n} entries")
    cdef void* out = cnp.PyArray_DATA(codes)
    cdef Py_ssize_t k = counts.shape[0]
    cdef bint ok = True
    cdef cnp.int64_t* odd = <cnp.int64_t*>calloc(k + 1, sizeof(cnp.int64_t))
    if odd == NULL:
        raise MemoryError()
    if n:
        with nogil:
            ok = _store_codes(&y[0], n, lo, out, width, k)
            if ok and width == 1:
                _count_labels(<const cnp.uint8_t*>out, n, 0, &counts[0], odd, k)
            elif ok and width == 2:
                _count_labels(<const cnp.uint16_t*>out, n, 0, &counts[0], odd, k)
            elif ok and width == 4:
                _count_labels(<const cnp.uint32_t*>out, n, 0, &counts[0], odd, k)
            elif ok:
                _count_labels(<const cnp.uint64_t*>out, n, 0, &counts[0], odd, k)
    free(odd)
    if not ok:
        raise ValueError("float_label_codes: a label outside [lo, lo + len(counts))")
