# Shared declarations and inline scalar kernels of the Cython backend (special.pyx, metrics.pyx).
#
# The formulas are those of fastloss/_numba/special.py (expit1, softplus1, log_expit1, row_max,
# lse1), written on raw pointers: a row of an (m, k, r) C-contiguous array starts at
# x + i*k*r + j and its k elements are `stride` = r apart. Math in double, as Numba does.
#
# exp/log/log1p are those flmath.h selects: libm in the baseline build, fastmath.h's vectorisable
# polynomials in the AVX2 build (see flmath.h and setup.py for the measurements behind the split).
from libc.math cimport fabs, fabsf, INFINITY, NAN

cdef extern from "flmath.h" nogil:
    double exp "FL_EXP"(double x)
    # exp(x) bit for bit where |x| <= EXP_RANGE, anything elsewhere (fastmath.h: 1.3 vs 2.4 ns);
    # HAVE_EXP_IN_RANGE is 0 in the libm build, whose exp_in_range is exp (the kernels skip it)
    double exp_in_range "FL_EXP_IN_RANGE"(double x)
    const bint HAVE_EXP_IN_RANGE "FL_HAVE_EXP_IN_RANGE"
    # e**x within about 1 ulp where |x| <= EXP_RANGE, anything elsewhere: for terms that are summed
    # (fastmath.h: 1.0 vs exp_in_range's 1.3 ns); exp in the libm build
    double exp_summand "FL_EXP_SUMMAND"(double x)
    double EXP_RANGE "FL_EXP_RANGE"
    double log "FL_LOG"(double x)
    # log(x) bit for bit for a positive normal finite x, anything elsewhere (fastmath.h: 1.55 vs
    # 2.14 ns); libm's log in the libm build
    double log_normal "FL_LOG_NORMAL"(double x)
    double log1p "FL_LOG1P"(double x)
    # log1p of e in [0, 1] (softplus's exp(-|x|)): fl_log1p's result with fewer steps
    double log1p_unit "FL_LOG1P_UNIT"(double e)
    # exp in float32 arithmetic (<= 0.77 ulp; the loss kernels' float32 lanes)
    float expf_lanes "FL_EXPF"(float x)
    # expf_lanes bit for bit where |x| <= EXPF_RANGE (e**x a normal float32), anything elsewhere
    float expf_in_range "FL_EXPF_IN_RANGE"(float x)
    float EXPF_RANGE "FL_EXPF_RANGE"
    double expm1 "FL_EXPM1"(double x)
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


# ---------------------------------------------------------------- sums
cdef inline double sum_chunk(const double* buf, Py_ssize_t m) noexcept nogil:
    """buf[0:m] with 8 accumulators combined pairwise (the order of the Numba skeleton)."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t j = 0
    while j + 8 <= m:
        a0 += buf[j]
        a1 += buf[j + 1]
        a2 += buf[j + 2]
        a3 += buf[j + 3]
        a4 += buf[j + 4]
        a5 += buf[j + 5]
        a6 += buf[j + 6]
        a7 += buf[j + 7]
        j += 8
    while j < m:
        a0 += buf[j]
        j += 1
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


# ---------------------------------------------------------------- e = exp(-|x|) of a chunk
cdef extern from "fenv.h" nogil:
    ctypedef struct fexcept_t:
        pass
    int fegetexceptflag(fexcept_t* flagp, int excepts)
    int fesetexceptflag(const fexcept_t* flagp, int excepts)
    int fetestexcept(int excepts)
    int feclearexcept(int excepts)
    int FE_ALL_EXCEPT
    int FE_INVALID


cdef inline void exp_neg_abs_chunk(const floating* x, double* e, Py_ssize_t m) noexcept nogil:
    """e[j] = exp(-|x[j]|) for j < m: exp_in_range while every |x| lies within EXP_RANGE, counted
    in the same loop (a separate pass over x first ran 35% slower: it waits on memory alone); a
    chunk with an |x| beyond (or a nan) is redone with the full exp, the same bits, after
    dropping the flags the discarded values raised (a ufunc loop's flags become NumPy warnings).
    m: a chunk (the flags are read once per call)."""
    cdef Py_ssize_t j, inside = 0
    cdef fexcept_t flags
    if HAVE_EXP_IN_RANGE:
        fegetexceptflag(&flags, FE_ALL_EXCEPT)
        for j in range(m):
            inside += fabs(<double>x[j]) <= EXP_RANGE
            e[j] = exp_in_range(-fabs(<double>x[j]))
        if inside == m:
            return
        fesetexceptflag(&flags, FE_ALL_EXCEPT)
    for j in range(m):
        e[j] = exp(-fabs(<double>x[j]))


# ---------------------------------------------------------------- scalar formulas
# The *_e forms take e = exp(-|x|) computed by the caller (float32 lanes for float32 x: special.pyx)
cdef inline double expit_e(double x, double e) noexcept nogil:
    """1 / (1 + exp(-x)) from e = exp(-|x|) <= 1, so nothing overflows; the numerator (1 or e
    by the sign of x) is chosen without a branch, which doubles the speed on random signs."""
    return fl_select(x >= 0, 1.0, e) / (1.0 + e)


cdef inline double softplus_e(double x, double e) noexcept nogil:
    """log(1 + exp(x)) = max(x, 0) + log1p(e); exact limits at +-inf, nan stays nan."""
    return (x if x > 0.0 else 0.0) + log1p_unit(e)


cdef inline double log_expit_e(double x, double e) noexcept nogil:
    """log(expit(x)) = -softplus(-x) = min(x, 0) - log1p(e)."""
    return (x if x < 0.0 else 0.0) - log1p_unit(e)


cdef inline double expit1(double x) noexcept nogil:
    return expit_e(x, exp(-fabs(x)))


cdef inline double softplus1(double x) noexcept nogil:
    return softplus_e(x, exp(-fabs(x)))


cdef inline double log_expit1(double x) noexcept nogil:
    return log_expit_e(x, exp(-fabs(x)))


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


cdef inline void lse_sums(const floating* row, Py_ssize_t k, Py_ssize_t stride, double mx,
                          double* c, double* s) noexcept nogil:
    """c = the multiplicity of the row's (finite) max mx, s = the sum of exp(v - mx) over its
    other terms, in the row's order (Blanchard, Higham & Higham 2021)."""
    cdef double cc = 0.0, ss = 0.0, v
    cdef Py_ssize_t t
    for t in range(k):
        v = <double>row[t * stride]
        if v == mx:
            cc += 1.0
        else:
            ss += exp(v - mx)
    c[0] = cc
    s[0] = ss


cdef inline double lse_tail(const floating* row, Py_ssize_t k, Py_ssize_t stride,
                            double mx, bint seen_nan) noexcept nogil:
    """lse1 after row_max: m + log(c) + log1p(s / c) from lse_sums."""
    cdef double c, s
    if k == 0:
        return -INFINITY
    if seen_nan:
        return NAN
    if mx == INFINITY or mx == -INFINITY:
        return mx
    lse_sums(row, k, stride, mx, &c, &s)
    return mx + log(c) + log1p(s / c)


cdef inline double lse_parts(const floating* row, Py_ssize_t k, double* mx, double* c, double* s,
                             Py_ssize_t* n_nan) noexcept nogil:
    """logsumexp of a contiguous row (k >= 1) with lse1's steps and bits, m + log(c) + log1p(s / c),
    and its parts: mx the max m, c its count, s the sum of exp(v - m) over the other terms, so
    that lse - m = log(c) + log1p(s / c) comes without the rounding of m + ... (a label's loss
    (m - z_y) + (lse - m) keeps a small value's precision; lse - z_y cancels). n_nan receives the
    number of nans: any gives nan (mx nan); an infinite max gives it (c 1, s 0)."""
    cdef double m = row_max(row, k, 1, n_nan)
    c[0] = 1.0
    s[0] = 0.0
    mx[0] = NAN if n_nan[0] > 0 else m
    if n_nan[0] > 0 or m == INFINITY or m == -INFINITY:
        return mx[0]
    lse_sums(row, k, 1, m, c, s)
    return m + log(c[0]) + log1p(s[0] / c[0])


cdef inline double lse1(const floating* row, Py_ssize_t k, Py_ssize_t stride) noexcept nogil:
    """logsumexp of one row: -inf if empty or all -inf, +inf if any +inf, nan if any nan."""
    cdef Py_ssize_t nn
    cdef double mx
    if k == 0:
        return -INFINITY
    mx = row_max(row, k, stride, &nn)
    return lse_tail(row, k, stride, mx, nn > 0)


# ---------------------------------------------------------------- tiles of short rows
# A loop over one short row cannot use the vector units (its max and sum are reductions GCC will
# not reorder); a loop across the rows of a transposed tile can. So short contiguous rows
# (1 <= k <= MAX_TILED_K) are reduced TILE at a time, one lane per row, as
# fastloss/_numba/_tiled.py does. Each lane adds its row's terms in the row's order: the same
# value as lse1 / row_logsumexp, bit for bit.
cdef enum:
    TILE = 32
    MAX_TILED_K = 128


cdef inline void _lse_transpose(const floating* x, Py_ssize_t k, Py_ssize_t nt,
                                double* buf) noexcept nogil:
    cdef Py_ssize_t j, t
    for j in range(nt):
        for t in range(k):
            buf[t * TILE + j] = <double>x[j * k + t]


cdef inline Py_ssize_t _lse_exp_pass(Py_ssize_t k, Py_ssize_t nt, double* buf, const double* mx,
                                     double* cnt, double* s, bint keep,
                                     bint in_range) noexcept nogil:
    """cnt, s (and with keep the terms) from the tile's maxima. in_range (a constant where this
    is inlined): exp_in_range, and the number of arguments v - max within EXP_RANGE is returned;
    the caller redoes the tile with the full exp (in_range 0) unless that is all of them."""
    cdef Py_ssize_t j, t, inside = 0
    cdef double v, e, d
    cdef bint is_max
    for j in range(nt):
        cnt[j] = 0.0
        s[j] = 0.0
    for t in range(k):
        for j in range(nt):
            v = buf[t * TILE + j]
            is_max = v == mx[j]
            d = v - mx[j]
            if in_range:
                # -inf (a masked logit) is in range too: its term is 0
                inside += (fabs(d) <= EXP_RANGE) + (d == -INFINITY)
                e = 1.0 if is_max else (0.0 if d == -INFINITY else exp_in_range(d))
            else:
                e = 1.0 if is_max else exp(d)
            cnt[j] += 1.0 if is_max else 0.0
            s[j] += 0.0 if is_max else e
            if keep:
                buf[t * TILE + j] = e
    return inside


cdef inline void _lse_tile(const floating* x, Py_ssize_t k, Py_ssize_t nt, double* buf,
                           double* mx, double* cnt, double* s, double* bad, bint keep) noexcept nogil:
    """Lane state of rows x[0:nt] (k elements each, contiguous): max, count of maxima, sum of
    exp(v - max) over the other terms, number of nans. With keep (a constant where this is
    inlined), each term e_tj = exp(v - max) (1 at the max) is left in buf[t * TILE + j].
    A tile whose v - max all lie within EXP_RANGE or are -inf (no nan, +inf or a spread beyond
    708) takes exp without its edge cases, the same bits; any other is redone with the full
    exp."""
    cdef Py_ssize_t j, t
    cdef double v, mj
    _lse_transpose(x, k, nt, buf)
    for j in range(nt):
        mx[j] = -INFINITY
        bad[j] = 0.0
    for t in range(k):
        for j in range(nt):
            v = buf[t * TILE + j]
            mj = mx[j]
            mx[j] = v if v > mj else mj
            bad[j] += 0.0 if v == v else 1.0
    if HAVE_EXP_IN_RANGE:
        if _lse_exp_pass(k, nt, buf, mx, cnt, s, keep, 1) == k * nt:
            return
        if keep:  # the pass overwrote the tile with its terms
            _lse_transpose(x, k, nt, buf)
    _lse_exp_pass(k, nt, buf, mx, cnt, s, keep, 0)


cdef inline void lse_tile(const floating* x, Py_ssize_t k, Py_ssize_t nt, double* buf,
                          double* mx, double* cnt, double* s, double* bad) noexcept nogil:
    _lse_tile(x, k, nt, buf, mx, cnt, s, bad, 0)


cdef inline void lse_terms_tile(const floating* x, Py_ssize_t k, Py_ssize_t nt, double* buf,
                                double* mx, double* cnt, double* s, double* bad) noexcept nogil:
    """lse_tile that also leaves the terms in buf, so the softmax e_tj / (cnt + s) costs no second
    exp (as fastloss/_numba/_tiled.py)."""
    _lse_tile(x, k, nt, buf, mx, cnt, s, bad, 1)


cdef inline Py_ssize_t exp_unshifted(const floating* x, Py_ssize_t m, double* e) noexcept nogil:
    """e[a] = e**x[a] for the m flat elements of a tile, one vectorised loop (exp_summand);
    returns how many |x| lie within 350 (fastloss/_numba/_tiled.py's exp_unshifted)."""
    cdef Py_ssize_t a, inside = 0
    cdef double v
    for a in range(m):
        v = <double>x[a]
        inside += fabs(v) <= 350.0
        e[a] = exp_summand(v)
    return inside


cdef inline bint exp_unshifted_f32(const float* x, Py_ssize_t m, float* e) noexcept nogil:
    """e[a] = e**x[a] in float32 lanes (expf_in_range, 8 a vector) for the m flat elements of a
    float32 tile; returns whether every |x| lies within EXPF_RANGE (fastloss/_numba/_tiled.py's
    exp_unshifted with float32 terms). An and of the tests, in an int: GCC keeps 8 lanes."""
    cdef Py_ssize_t a
    cdef int inside = 1
    cdef float v
    for a in range(m):
        v = x[a]
        inside &= fabsf(v) <= EXPF_RANGE
        e[a] = expf_in_range(v)
    return inside


cdef inline double row_sum(const floating* e, Py_ssize_t k) noexcept nogil:
    """e[0] + ... + e[k - 1] in two running float64 sums (half the add latency chain), fixed
    order; float32 terms are widened as they are added."""
    cdef double s0 = 0.0, s1 = 0.0
    cdef Py_ssize_t t = 0
    while t + 1 < k:
        s0 += e[t]
        s1 += e[t + 1]
        t += 2
    if k % 2 == 1:
        s0 += e[k - 1]
    return s0 + s1


cdef inline bint row_in_range(const floating* x, Py_ssize_t k) noexcept nogil:
    """Every |x[t]|, t < k, within 350 (nan is not)."""
    cdef Py_ssize_t t
    for t in range(k):
        if not fabs(<double>x[t]) <= 350.0:
            return 0
    return 1


cdef inline Py_ssize_t row_argmax(const double* e, Py_ssize_t k) noexcept nogil:
    """The t < k of the largest e[t] (the first of equal ones), by selects."""
    cdef Py_ssize_t a = 0, t
    cdef double best = e[0], v
    for t in range(1, k):
        v = e[t]
        a = t if v > best else a
        best = v if v > best else best
    return a


cdef inline void log1p_others_over(floating* e, const Py_ssize_t* y, Py_ssize_t k, Py_ssize_t nt,
                                   double* out) noexcept nogil:
    """out[j] = log1p(sum over t != y[j] of e[j k + t] / e[j k + y[j]]) for nt rows of e (k each);
    e's y[j] terms are zeroed -- set aside and zeroed in a pass of their own, not skipped (a
    compare per term mispredicts) nor zeroed in the sum's loop (the store stalled the row's
    loads): fastloss/_numba/_tiled.py's log1p_others_over."""
    cdef Py_ssize_t j, b
    for j in range(nt):
        b = j * k + y[j]
        out[j] = e[b]
        e[b] = 0.0
    for j in range(nt):
        out[j] = row_sum(e + j * k, k) / out[j]
    for j in range(nt):
        out[j] = log1p(out[j])


cdef inline bint label_losses_unshifted(const floating* x, Py_ssize_t k, Py_ssize_t nt,
                                        const Py_ssize_t* yc, double* e, double* loss) noexcept nogil:
    """loss[j] = logsumexp(x_j) - x_j[yc[j]] for rows x[0:nt] (k each, contiguous), computed as
    log1p(r_j), r_j = sum over t != yc[j] of e**x_jt / e**x_j,yc[j], without the rows' maxima;
    returns 0 (loss untouched) unless every |x| <= 350, where each e**x is a normal double and
    r_j < 128 * e**700 does not overflow (fastloss/_numba/_tiled.py's label_losses_unshifted,
    which has the reasons and timings). e: scratch of nt * k doubles. float32 logits take their
    exps in float32 lanes (held in e's first half), within EXPF_RANGE, as Numba's kernel does."""
    if floating is float:
        if not exp_unshifted_f32(x, nt * k, <float*>e):
            return 0
        log1p_others_over(<float*>e, yc, k, nt, loss)
        return 1
    if exp_unshifted(x, nt * k, e) != nt * k:
        return 0
    log1p_others_over(e, yc, k, nt, loss)
    return 1


cdef inline void label_losses_from_lanes(const floating* x, Py_ssize_t k, Py_ssize_t nt,
                                         const Py_ssize_t* yc, const double* mx, const double* cnt,
                                         const double* s, const double* bad,
                                         double* loss) noexcept nogil:
    """loss[j] = logsumexp(x_j) - x_j[yc[j]] from lse_tile's lane state, as
    (m - z_y) + (log(c) + log1p(s / c)), both parts >= 0 (no cancellation); a true class at +inf
    costs log(#(+inf) in the row), a nan gives nan, an infinite max m - z_y (as
    fastloss/_numba/_tiled.py's label_losses_from_lanes)."""
    cdef Py_ssize_t j, t
    cdef double m, zy, n_top
    for j in range(nt):  # apart, so log and log1p vectorise across the lanes
        loss[j] = log(cnt[j]) + log1p(s[j] / cnt[j])
    for j in range(nt):
        m = mx[j]
        zy = <double>x[j * k + yc[j]]
        if zy == INFINITY:
            n_top = 0.0
            for t in range(k):
                n_top += 1.0 if x[j * k + t] == INFINITY else 0.0
            loss[j] = log(n_top)
        elif bad[j] > 0.0:
            loss[j] = NAN
        elif m == INFINITY or m == -INFINITY:
            loss[j] = m - zy
        else:
            loss[j] += m - zy


cdef inline double lse_lane(const double* mx, const double* cnt, const double* s,
                            const double* bad, Py_ssize_t j) noexcept nogil:
    """Row j's logsumexp from lse_tile's lane state: m + log(c) + log1p(s / c); a +-inf max is
    the answer; a nan makes it nan."""
    cdef double m = mx[j]
    cdef double v = m + log(cnt[j]) + log1p(s[j] / cnt[j])
    v = m if (m == INFINITY or m == -INFINITY) else v
    return NAN if bad[j] > 0.0 else v


cdef inline void lse_lanes(Py_ssize_t nt, const double* mx, const double* cnt, const double* s,
                           const double* bad, double* out) noexcept nogil:
    """out[j] = lse_lane(..., j) for the nt lanes, in one loop (log and log1p vectorise)."""
    cdef Py_ssize_t j
    for j in range(nt):
        out[j] = lse_lane(mx, cnt, s, bad, j)
