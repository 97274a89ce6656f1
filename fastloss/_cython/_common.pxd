# Shared declarations and inline scalar kernels of the Cython backend (special.pyx, metrics.pyx).
#
# The formulas are those of fastloss/_numba/special.py (expit1, softplus1, log_expit1, row_max,
# lse1), written on raw pointers: a row of an (m, k, r) C-contiguous array starts at
# x + i*k*r + j and its k elements are `stride` = r apart. Math in double, as Numba does.
#
# exp/log/log1p are those flmath.h selects: libm in the baseline build, fastmath.h's vectorisable
# polynomials in the AVX2 build (see flmath.h and setup.py for the measurements behind the split).
from libc.math cimport fabs, INFINITY, NAN

cdef extern from "flmath.h" nogil:
    double exp "FL_EXP"(double x)
    double log "FL_LOG"(double x)
    double log1p "FL_LOG1P"(double x)
    const char* FL_MATH_NAME
from cython cimport floating

cdef extern from *:
    """
    #if FASTLOSS_OPENMP && defined(_OPENMP)
    #include <omp.h>
    static int fl_openmp_enabled(void) { return 1; }
    static int fl_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fl_openmp_enabled(void) { return 0; }
    static int fl_max_threads(void) { return 1; }
    #endif
    """
    int fl_openmp_enabled() noexcept nogil
    int fl_max_threads() noexcept nogil

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* c ? a : b without a branch (a bit mask), for data-dependent choices in hot loops:
     * GCC keeps a conditional jump for a ternary between two doubles, which mispredicts on
     * random signs; the value is the same. */
    static inline double fl_select(int c, double a, double b) {
        uint64_t ia, ib, m = (uint64_t)0 - (uint64_t)(c != 0);
        memcpy(&ia, &a, sizeof ia);
        memcpy(&ib, &b, sizeof ib);
        ia = (ia & m) | (ib & ~m);
        memcpy(&a, &ia, sizeof a);
        return a;
    }
    """
    double fl_select(bint c, double a, double b) noexcept nogil


# ---------------------------------------------------------------- scalar formulas
cdef inline double expit1(double x) noexcept nogil:
    """1 / (1 + exp(-x)), through e = exp(-|x|) <= 1 so nothing overflows; the numerator (1 or
    e by the sign of x) is chosen without a branch, which doubles the speed on random signs."""
    cdef double e = exp(-fabs(x))
    return fl_select(x >= 0, 1.0, e) / (1.0 + e)


cdef inline double softplus1(double x) noexcept nogil:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); exact limits at +-inf, nan stays nan."""
    return (x if x > 0.0 else 0.0) + log1p(exp(-fabs(x)))


cdef inline double log_expit1(double x) noexcept nogil:
    """log(expit(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    return (x if x < 0.0 else 0.0) - log1p(exp(-fabs(x)))


# ---------------------------------------------------------------- row helpers
cdef inline double row_max(const floating* row, Py_ssize_t k, Py_ssize_t stride,
                           Py_ssize_t* n_nan) noexcept nogil:
    """Max of the row ignoring nan; n_nan receives the number of nans seen."""
    cdef double mx = -INFINITY
    cdef double v
    cdef Py_ssize_t t, nn = 0
    for t in range(k):
        v = <double>row[t * stride]
        if v > mx:
            mx = v
        elif v != v:
            nn += 1
    n_nan[0] = nn
    return mx


cdef inline double lse_tail(const floating* row, Py_ssize_t k, Py_ssize_t stride,
                            double mx, bint seen_nan) noexcept nogil:
    """lse1 after row_max: m + log(c) + log1p(s / c), c the multiplicity of the max m and s the
    sum of exp(v - m) over the other terms (Blanchard, Higham & Higham 2021)."""
    cdef double c = 0.0, s = 0.0, v
    cdef Py_ssize_t t
    if k == 0:
        return -INFINITY
    if seen_nan:
        return NAN
    if mx == INFINITY or mx == -INFINITY:
        return mx
    for t in range(k):
        v = <double>row[t * stride]
        if v == mx:
            c += 1.0
        else:
            s += exp(v - mx)
    return mx + log(c) + log1p(s / c)


cdef inline double lse1(const floating* row, Py_ssize_t k, Py_ssize_t stride) noexcept nogil:
    """logsumexp of one row: -inf if empty or all -inf, +inf if any +inf, nan if any nan."""
    cdef Py_ssize_t nn
    cdef double mx
    if k == 0:
        return -INFINITY
    mx = row_max(row, k, stride, &nn)
    return lse_tail(row, k, stride, mx, nn > 0)
