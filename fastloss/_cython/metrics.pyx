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
from libc.stdlib cimport malloc, free

from fastloss._cython._common cimport (
    floating, exp, log, log1p, fabs, INFINITY, NAN, fl_openmp_enabled, fl_max_threads, fl_select,
    softplus1, row_max, lse_tail,
)

from fastloss._constants import ELEMENT_BLOCK as _EB, ROW_BLOCK as _RB
from fastloss._constants import SERIAL_MAX_ELEMENTS as _SM

cdef Py_ssize_t ELEMENT_BLOCK = _EB
cdef Py_ssize_t ROW_BLOCK = _RB
cdef Py_ssize_t SERIAL_MAX_ELEMENTS = _SM

cdef enum:
    # partials layout: 0 Σw·l, 1 Σw, 2 min p, 3 max p, 4 #nan, 5 worst |row sum - 1|
    NPART = 6
    # blocks whose partials fit on the stack (larger inputs malloc their partials)
    STACK_BLOCKS = 64

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


cdef inline void _acc_add(Acc* a, const double* w, bint have_w, Py_ssize_t i,
                          double loss) noexcept nogil:
    """Accumulate w_i * loss_i; a zero weight adds nothing even if the loss is infinite."""
    cdef double wi
    if have_w:
        wi = w[i]
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
cdef void _labels_block(const floating* p, const Py_ssize_t* y, const double* w, bint have_w,
                        Py_ssize_t k, double eps, Py_ssize_t start, Py_ssize_t stop,
                        double* part) noexcept nogil:
    """l_i = -log(clip(p[i, y_i], eps, 1 - eps)); clipping as scikit-learn (eps of p's dtype)."""
    cdef Acc a
    cdef Py_ssize_t i, t
    cdef const floating* row
    cdef double hi = 1.0 - eps, v, row_sum, dev, q
    _acc_init(&a)
    for i in range(start, stop):
        row = p + i * k
        row_sum = 0.0
        for t in range(k):
            v = <double>row[t]
            _acc_observe(&a, v)
            row_sum += v
        dev = fabs(row_sum - 1.0)
        if dev > a.worst:
            a.worst = dev
        q = _clip(<double>row[y[i]], eps, hi)
        _acc_add(&a, w, have_w, i, -log(q))
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
        _acc_add(&a, w, have_w, i, loss)
    _acc_store(&a, part)


cdef void _binary_block(const floating* p, const Py_ssize_t* y, const double* w, bint have_w,
                        double eps, Py_ssize_t start, Py_ssize_t stop,
                        double* part) noexcept nogil:
    """l_i = -log(clip(p_i)) if y_i == 1 else -log(clip(1 - p_i)), 1 - p_i taken in p's dtype."""
    cdef Acc a
    cdef Py_ssize_t i
    cdef floating pv, one_minus
    cdef double hi = 1.0 - eps, q
    _acc_init(&a)
    for i in range(start, stop):
        pv = p[i]
        _acc_observe(&a, <double>pv)
        one_minus = <floating>1.0 - pv
        q = fl_select(y[i] == 1, <double>pv, <double>one_minus)
        _acc_add(&a, w, have_w, i, -log(_clip(q, eps, hi)))
    _acc_store(&a, part)


cdef void _logits_labels_block(const floating* z, const Py_ssize_t* y, const double* w,
                               bint have_w, Py_ssize_t k, Py_ssize_t start, Py_ssize_t stop,
                               double* part) noexcept nogil:
    """l_i = logsumexp(z_i) - z[i, y_i]; if z[i, y_i] = +inf the loss is log(#(+inf) in row)."""
    cdef Acc a
    cdef Py_ssize_t i, t, nn
    cdef const floating* row
    cdef double mx, zy, n_top, loss
    _acc_init(&a)
    for i in range(start, stop):
        row = z + i * k
        mx = row_max(row, k, 1, &nn)  # one pass: the max for lse1 and the nan count
        a.nnan += <double>nn
        zy = <double>row[y[i]]
        if zy == INFINITY:
            n_top = 0.0
            for t in range(k):
                if row[t] == INFINITY:
                    n_top += 1.0
            loss = log(n_top)
        else:
            loss = lse_tail(row, k, 1, mx, nn > 0) - zy
        _acc_add(&a, w, have_w, i, loss)
    _acc_store(&a, part)


cdef void _logits_binary_block(const floating* z, const Py_ssize_t* y, const double* w,
                               bint have_w, Py_ssize_t start, Py_ssize_t stop,
                               double* part) noexcept nogil:
    """l_i = softplus(-z_i) if y_i == 1 else softplus(z_i)  (= softplus(z) - y z, stably)."""
    cdef Acc a
    cdef Py_ssize_t i
    cdef double zi
    _acc_init(&a)
    for i in range(start, stop):
        zi = <double>z[i]
        if zi != zi:
            a.nnan += 1.0
        _acc_add(&a, w, have_w, i, softplus1(fl_select(y[i] == 1, -zi, zi)))
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


def log_loss_labels(const floating[:, ::1] p, const Py_ssize_t[::1] y, const double[::1] w,
                    double eps):
    """Clipped log loss of (n, k) probabilities against class codes y.
    Returns (sum_wl, sum_w, pmin, pmax, n_nan, worst)."""
    cdef Py_ssize_t n = p.shape[0], k = p.shape[1], b
    cdef Py_ssize_t nb = _nblocks(n, ROW_BLOCK)
    cdef int nt = _threads_for(n * k)
    cdef bint have_w = w.shape[0] > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* pp = &p[0, 0]
    cdef const Py_ssize_t* yp = &y[0]
    cdef const double* wp = &w[0]
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _labels_block(pp, yp, wp, have_w, k, eps, b * ROW_BLOCK,
                                  min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _labels_block(pp, yp, wp, have_w, k, eps, b * ROW_BLOCK,
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


def log_loss_binary(const floating[::1] p, const Py_ssize_t[::1] y, const double[::1] w,
                    double eps):
    """Clipped log loss of positive-class probabilities p (n,) against 0/1 codes y.
    Returns (sum_wl, sum_w, pmin, pmax, n_nan, 0.0)."""
    cdef Py_ssize_t n = p.shape[0], b
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef int nt = _threads_for(n)
    cdef bint have_w = w.shape[0] > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* pp = &p[0]
    cdef const Py_ssize_t* yp = &y[0]
    cdef const double* wp = &w[0]
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _binary_block(pp, yp, wp, have_w, eps, b * ELEMENT_BLOCK,
                                  min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _binary_block(pp, yp, wp, have_w, eps, b * ELEMENT_BLOCK,
                                  min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
        return _combine(parts, nb)
    finally:
        if parts != stack:
            free(parts)


def log_loss_logits_labels(const floating[:, ::1] z, const Py_ssize_t[::1] y,
                           const double[::1] w):
    """Log loss from (n, k) logits against class codes y: returns (sum_wl, sum_w, n_nan)."""
    cdef Py_ssize_t n = z.shape[0], k = z.shape[1], b
    cdef Py_ssize_t nb = _nblocks(n, ROW_BLOCK)
    cdef int nt = _threads_for(n * k)
    cdef bint have_w = w.shape[0] > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* zp = &z[0, 0]
    cdef const Py_ssize_t* yp = &y[0]
    cdef const double* wp = &w[0]
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _logits_labels_block(zp, yp, wp, have_w, k, b * ROW_BLOCK,
                                         min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _logits_labels_block(zp, yp, wp, have_w, k, b * ROW_BLOCK,
                                         min(n, (b + 1) * ROW_BLOCK), parts + b * NPART)
        t = _combine(parts, nb)
        return t[0], t[1], t[4]
    finally:
        if parts != stack:
            free(parts)


def log_loss_logits_binary(const floating[::1] z, const Py_ssize_t[::1] y, const double[::1] w):
    """Log loss from positive-class logits z (n,) against 0/1 codes y: (sum_wl, sum_w, n_nan)."""
    cdef Py_ssize_t n = z.shape[0], b
    cdef Py_ssize_t nb = _nblocks(n, ELEMENT_BLOCK)
    cdef int nt = _threads_for(n)
    cdef bint have_w = w.shape[0] > 0
    cdef double stack[STACK_BLOCKS * NPART]
    cdef double* parts = _parts_buffer(nb, stack)
    cdef const floating* zp = &z[0]
    cdef const Py_ssize_t* yp = &y[0]
    cdef const double* wp = &w[0]
    try:
        with nogil:
            if nt == 0:
                for b in range(nb):
                    _logits_binary_block(zp, yp, wp, have_w, b * ELEMENT_BLOCK,
                                         min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
            else:
                for b in prange(nb, schedule="static", num_threads=nt):
                    _logits_binary_block(zp, yp, wp, have_w, b * ELEMENT_BLOCK,
                                         min(n, (b + 1) * ELEMENT_BLOCK), parts + b * NPART)
        t = _combine(parts, nb)
        return t[0], t[1], t[4]
    finally:
        if parts != stack:
            free(parts)
