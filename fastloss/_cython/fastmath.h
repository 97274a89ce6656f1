/*
 * fastmath.h -- vectorisable exp, log, log1p and expm1 in portable C99 (fastloss).
 *
 *   static inline double fl_exp(double);    float fl_expf(float);
 *   static inline double fl_exp_in_range(double);  (|x| <= FL_EXP_RANGE only; see there)
 *   static inline double fl_exp_summand(double);  (|x| <= FL_EXP_RANGE, ~1 ulp; see there)
 *   static inline float fl_expf_in_range(float);  (|x| <= FL_EXPF_RANGE only; see there)
 *   static inline double fl_log(double);    float fl_logf(float);
 *   static inline double fl_log_normal(double);  (positive normal finite x only; see there)
 *   static inline double fl_log1p(double);  float fl_log1pf(float);
 *   static inline double fl_expm1(double);  float fl_expm1f(float);
 *
 * From Cython:
 *   cdef extern from "fastmath.h" nogil:
 *       double fl_exp(double x)
 *       float fl_expf(float x)
 *       ...
 *
 * The algorithms, constants and polynomials are those of fastloss/_numba/_math.py (its
 * docstring has the derivation and the measured accuracy); keep the two in step. (The selects
 * are written differently here, for GCC; the arithmetic is the same.)
 *
 * No libm calls and no branches: special cases are ternaries that compile to selects, and bit
 * casts go through memcpy. Checked with GCC 12: a loop `for (i...) y[i] = fl_exp(x[i]);` is
 * vectorised at -O2/-O3 (with or without #pragma omp simd) for all eight functions with the
 * baseline x86-64 ISA (SSE2: 2 doubles / 4 floats per instruction), with -mavx2 -mfma (4 / 8)
 * and with -march=native (AVX-512), under GCC's default -ftrapping-math -- see the note above
 * fl_exp on how the selects are written for that. tests/test_fast_math.py checks it.
 * Only IEEE arithmetic is assumed: do not compile with -ffast-math / -ffinite-math-only (they
 * break inf/nan) or with flush-to-zero (it breaks subnormals). FMA contraction is harmless.
 *
 * Accuracy: max error below 1 ulp for all eight functions over the whole domain, subnormals
 * included (the test suite checks <= 2 ulp against mpmath). Edge cases as C99 Annex F:
 * exp(+inf)=inf, exp(-inf)=+0, overflow to +inf, gradual underflow; log(+-0)=-inf, log(<0)=nan,
 * log(inf)=inf; log1p(-1)=-inf, log1p(<-1)=nan; expm1(-inf)=-1; log1p/expm1 keep tiny x and -0.0.
 *
 * Method in brief:
 *   exp:   x = n ln2 + r, |r| <= ln2/2 (Cody-Waite, ln2 = FL__LN2_HI + FL__LN2_LO, keeping the
 *          rounding error r_lo); n rounded with the 1.5*2^52 shifter, whose low bits then give
 *          2^n by integer add + shift; e^r = 1 + r + t, t = r_lo(1 + r) + r^2 q(r), q a
 *          degree-10 Remez fit of (e^r - 1 - r)/r^2 (Estrin's scheme), summed with Fast2Sum; 2^n applied as
 *          2^floor(n/2) * 2^ceil(n/2), so overflow and gradual underflow round once.
 *   expm1: same reduction; F((h - 1/F) + h r + h t) with h = 2^n/F (F = 2 only for n = 1024),
 *          TwoSum/Fast2Sum so that nothing cancels; the sign is copied from x.
 *   log:   |x| = 2^k m, m in [sqrt(2)/2, sqrt(2)), s = f/(2+f), log(1+f) = 2s + s z g(z),
 *          z = s^2, g a degree-6 Remez fit; fdlibm's summation order; specials added at the end.
 *   log1p: u = 1 + x with its TwoSum error c, log(u) + c/u; the sign is copied from x.
 *   float: the same in float arithmetic, degree-5 q and degree-2 g.
 */
#ifndef FASTLOSS_FASTMATH_H
#define FASTLOSS_FASTMATH_H

#include <math.h> /* INFINITY, NAN and fabs/fabsf (compiler builtins, no libm call) */
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FL__INLINE static inline __attribute__((always_inline))
#else
#define FL__INLINE static inline
#endif

/* ------------------------------------------------------------------ bit casts */
FL__INLINE uint64_t fl__bits64(double x) { uint64_t i; memcpy(&i, &x, sizeof i); return i; }
FL__INLINE double fl__from_bits64(uint64_t i) { double x; memcpy(&x, &i, sizeof x); return x; }
FL__INLINE uint32_t fl__bits32(float x) { uint32_t i; memcpy(&i, &x, sizeof i); return i; }
FL__INLINE float fl__from_bits32(uint32_t i) { float x; memcpy(&x, &i, sizeof x); return x; }

/* ------------------------------------------------------------------ float64 constants */
#define FL__INF ((double)INFINITY)
#define FL__NAN ((double)NAN)
#define FL__LOG2E 0x1.71547652b82fep+0 /* 1/ln2 */
#define FL__LN2_HI 0x1.62e42fefa3000p-1 /* ln2 with the low 12 mantissa bits cleared */
#define FL__LN2_LO 0x1.3de6af278ece6p-42 /* ln2 - FL__LN2_HI */
#define FL__SHIFT 0x1.8p52 /* 1.5 * 2^52 */
#define FL__SHIFT_BITS UINT64_C(0x4338000000000000)
#define FL__SQRT_HALF_OFF UINT64_C(0x00095F619980C433) /* bits(1) - bits(sqrt(2)/2) */
#define FL__ONE_BITS UINT64_C(0x3FF0000000000000)

/* q(r) ~ (e^r - 1 - r)/r^2, |r| <= 0.3466, degree 10, by Estrin's scheme: pairs c_2i + c_2i+1 r
 * joined by r^2 and r^4, a dependency chain of 4 multiply-adds where Horner's has 10. The exp
 * loops are bound by instruction throughput and latency together (an AVX2 loop of fl_exp keeps
 * ~4 iterations in flight); measured on Zen 2, one core: 2.86 -> 2.54 ns per exp, and the max
 * error over 4e7 samples (long double reference) 0.60 -> 0.63 ulp of the result. */
FL__INLINE double fl__q64(double r)
{
    double r2 = r * r, r4 = r2 * r2;
    double p01 = 0x1.5555555555557p-3 * r + 0.5;
    double p23 = 0x1.11111111100dcp-7 * r + 0x1.5555555555558p-5;
    double p45 = 0x1.a01a01abe7a28p-13 * r + 0x1.6c16c16c151f8p-10;
    double p67 = 0x1.71de0232c2861p-19 * r + 0x1.a01a01acfc9e9p-16;
    double p89 = 0x1.af4de6fd95f43p-26 * r + 0x1.27e4ccc91aa01p-22;
    double p03 = p23 * r2 + p01;
    double p47 = p67 * r2 + p45;
    double p810 = 0x1.1f8b5512e6016p-29 * r2 + p89;
    return (p810 * r4 + p47) * r4 + p03;
}

/* r, t with x - kd*ln2 = r + r_lo and e^(r + r_lo) = 1 + r + t */
FL__INLINE double fl__reduce64(double x, double kd, double *t)
{
    double hi = x - kd * FL__LN2_HI; /* exact */
    double nlo = kd * FL__LN2_LO;
    double r = hi - nlo;
    double r_lo = (hi - r) - nlo;
    *t = (r_lo * r + r_lo) + r * r * fl__q64(r);
    return r;
}

/* s*(f*f/2 + z*g(z)) for log(1+f), f in [sqrt(2)/2 - 1, sqrt(2) - 1]; *hfsq = f*f/2 */
FL__INLINE double fl__log1pf64(double f, double *hfsq)
{
    double s = f / (2.0 + f);
    double z = s * s;
    double g = 0x1.2b5fb60c518b8p-3;
    g = g * z + 0x1.39fdb9f1bbaf4p-3;
    g = g * z + 0x1.7462ba23625a5p-3;
    g = g * z + 0x1.c71c62d04be99p-3;
    g = g * z + 0x1.2492492e03dbdp-2;
    g = g * z + 0x1.9999999995224p-2;
    g = g * z + 0x1.5555555555558p-1;
    *hfsq = 0.5 * f * f;
    return s * (z * g + *hfsq);
}

/* x 2^-sh = 2^k m with m in [sqrt(2)/2, sqrt(2)) for a positive normal x given by its bits */
FL__INLINE double fl__split64(uint64_t bits, uint64_t sh, double *k)
{
    uint64_t e = ((bits + FL__SQRT_HALF_OFF) >> 52) & 0x7FF;
    *k = fl__from_bits64(e - sh + FL__SHIFT_BITS) - (FL__SHIFT + 1023.0); /* exact int -> float */
    return fl__from_bits64(bits - (e << 52) + FL__ONE_BITS);
}

/* ------------------------------------------------------------------ float64 functions */
/* Vectorisation with GCC: under its default -ftrapping-math GCC will not if-convert a loop in
 * which a floating-point operation sits in a conditional block -- and a ternary between a
 * computed value and a constant becomes one (the computation is sunk into one arm, or folded to
 * a constant along one arm and so computed only on the other; a condition tested twice gets the
 * code between the tests duplicated). Hence, below:
 *   - each condition is tested once, and ternaries pick between constants (integer or float)
 *     whose result then feeds unconditional arithmetic; float constants are never ones that fold
 *     the arithmetic away (x - 0.0, x * 1.0): -0.0 is used, or factors built from integer bits;
 *   - clamps pick between x and a limit made opaque with x's sign bit (fl__copysign);
 *   - the main path is finite for every input, and special results are added at the end
 *     (res + 0.0, +-inf or nan), or the sign is copied from x.
 * Clang, or GCC with -fno-trapping-math, would vectorise the plain formulation too. */

/* |a| with the sign of b, by bit operations (inlined everywhere, unlike a libm call) */
FL__INLINE double fl__copysign(double a, double b)
{
    uint64_t sign = UINT64_C(0x8000000000000000);
    return fl__from_bits64((fl__bits64(a) & ~sign) | (fl__bits64(b) & sign));
}

/* e^r in [0.70, 1.42] for x = n ln2 + r, and *nbits = the bits of FL__SHIFT + n (|x| <= 746) */
FL__INLINE double fl__exp_mantissa(double x, uint64_t *nbits)
{
    double kd = x * FL__LOG2E + FL__SHIFT;
    *nbits = fl__bits64(kd); /* FL__SHIFT_BITS + n */
    kd -= FL__SHIFT;
    double t;
    double r = fl__reduce64(x, kd, &t);
    double s = 1.0 + r;
    return s + ((r - (s - 1.0)) + t);
}

FL__INLINE double fl_exp(double x)
{
    x = x > 710.0 ? fl__copysign(710.0, x) : x; /* overflow threshold 709.78; nan passes */
    x = x < -746.0 ? fl__copysign(746.0, x) : x; /* underflow-to-zero threshold -745.13 */
    uint64_t nbits;
    double p = fl__exp_mantissa(x, &nbits);
    /* 2^n = 2^n1 * 2^n2, n1 = floor(n/2), both normal for n in [-1076, 1024] */
    uint64_t e = nbits - FL__SHIFT_BITS + 2048; /* n + 2048 > 0 */
    uint64_t e1 = e >> 1; /* n1 + 1024 */
    return (p * fl__from_bits64((e1 - 1) << 52)) * fl__from_bits64((e - e1 - 1) << 52);
}

/* fl_exp(x) bit for bit for x in [-FL_EXP_RANGE, FL_EXP_RANGE], and anything elsewhere (nan
 * included), where it may also raise floating-point flags: callers count a chunk's arguments
 * within the range and redo the chunk with fl_exp unless all are, and a caller whose flags are
 * read (a NumPy ufunc loop: they become warnings) restores them first. Within the range e^x is a
 * normal double, n lies in [-1021, 1021] and p 2^n is exact, so 2^n is applied in one step, an
 * integer add to p's exponent, and the clamps go. A loop of it over 2e5 doubles in L2, one
 * core, AVX2: 1.33 ns per element, fl_exp 2.37. (Clamping x instead, so that nothing raises a
 * flag, costs 0.4 ns: with a select, GCC computes the exp of the unclamped x as well and
 * selects after, which -fno-trapping-math allows; a bit mask avoids that at that price.) */
#define FL_EXP_RANGE 708.0
FL__INLINE double fl_exp_in_range(double x)
{
    uint64_t nbits;
    double p = fl__exp_mantissa(x, &nbits);
    return fl__from_bits64(fl__bits64(p) + (nbits << 52)); /* nbits << 52 = n << 52 (mod 2^64) */
}

/* e^x within about 1 ulp (1.015 max found) for x in [-FL_EXP_RANGE, FL_EXP_RANGE], anything
 * elsewhere: fl_exp_in_range without r's rounding error and with a plain sum 1 + (r + r^2 q(r)) --
 * for the unshifted row tiles, whose terms are summed and need no fallback with fl_exp's bits
 * (fastloss/_numba/_math.py's exp64_summand has the measurements; the same arithmetic, its fused
 * multiply-adds by contraction). */
FL__INLINE double fl_exp_summand(double x)
{
    double kd = x * FL__LOG2E + FL__SHIFT;
    uint64_t nbits = fl__bits64(kd);
    kd -= FL__SHIFT;
    double r = (x - kd * FL__LN2_HI) - kd * FL__LN2_LO;
    double p = 1.0 + (r * r * fl__q64(r) + r);
    return fl__from_bits64(fl__bits64(p) + (nbits << 52));
}

FL__INLINE double fl_expm1(double x)
{
    double xc = x > 710.0 ? fl__copysign(710.0, x) : x;
    xc = xc < -40.0 ? fl__copysign(40.0, xc) : xc; /* expm1 rounds to -1 below -37.5 */
    double kd = xc * FL__LOG2E + FL__SHIFT;
    uint64_t nbits = fl__bits64(kd);
    kd -= FL__SHIFT;
    double t;
    double r = fl__reduce64(xc, kd, &t);
    /* expm1 = F*((h - 1/F) + h*r + h*t), h = 2^n/F; F = 2 only for n = 1024 (2^n overflows).
     * a = h - 1/F with its rounding error ea (TwoSum), then b = h*r added by Fast2Sum. */
    uint64_t off = kd > 1023.5 ? 1022 : 1023;
    double h = fl__from_bits64((nbits + off) << 52);
    double inv_f = fl__from_bits64(off << 52); /* 1/F */
    double fac = fl__copysign(fl__from_bits64((2046 - off) << 52), h); /* F; copysign: see note */
    double a = h - inv_f;
    double ab = a - h;
    double ea = (h - (a - ab)) - (inv_f + ab);
    double b = h * r;
    double s = a + b; /* |a| >= |b| or a = 0 */
    double res = fac * (s + ((b - (s - a)) + (h * t + ea)));
    /* expm1(x) has the sign of x; this only changes expm1(-0.0) from +0.0 to -0.0 */
    return fl__copysign(res, x);
}

/* k ln2 + log(m) for m in [sqrt(2)/2, sqrt(2)) (fl__split64's split): fl_log's and fl_log_normal's
 * last steps */
FL__INLINE double fl__log_join(double k, double m)
{
    double hfsq;
    double f = m - 1.0;
    double w = fl__log1pf64(f, &hfsq);
    return k * FL__LN2_HI + (f - (hfsq - (w + k * FL__LN2_LO)));
}

FL__INLINE double fl_log(double x)
{
    double xa = fabs(x); /* x < 0 computes log|x| (finite), then nan is added below */
    double k;
    /* subnormals (and 0) are scaled by 2^53, the rest by 2^-1 (exact) */
    uint64_t sh = xa < 0x1p-1021 ? 53 : (uint64_t)-1;
    double m = fl__split64(fl__bits64(xa * fl__from_bits64((1023 + sh) << 52)), sh, &k);
    double res = fl__log_join(k, m); /* finite for any x */
    double special = x > 0.0 ? 0.0 : (x == 0.0 ? -FL__INF : FL__NAN);
    return res + (x == FL__INF ? FL__INF : special);
}

/* fl_log(x) bit for bit for a positive normal finite x (DBL_MIN <= x <= DBL_MAX), anything
 * elsewhere: without fl_log's subnormal scaling and special values. For arguments known to be
 * normal, such as probabilities clipped to [eps, 1 - eps] with eps >= DBL_MIN (the log losses).
 * A loop of it over 2e5 doubles in L2, one core, AVX2: 1.55 ns per element, fl_log 2.14. */
FL__INLINE double fl_log_normal(double x)
{
    double k;
    double m = fl__split64(fl__bits64(x), 0, &k);
    return fl__log_join(k, m);
}

/* log(u) = k ln2 + log(1 + f), with cu the correction for u's rounding (c / u): the last step of
 * fl_log1p and fl_log1p_unit */
FL__INLINE double fl__log1p_join(double k, double f, double cu)
{
    double hfsq;
    double w = fl__log1pf64(f, &hfsq);
    return k * FL__LN2_HI + (f - (hfsq - (w + (k * FL__LN2_LO + cu))));
}

FL__INLINE double fl_log1p(double x)
{
    double xc = x > 0x1.fffffffffffffp1023 ? fl__copysign(0x1.fffffffffffffp1023, x) : x;
    double u = 1.0 + xc;
    double ap = u - xc; /* TwoSum: c = (1 + x) - u exactly */
    double c = (1.0 - ap) + (xc - (u - ap));
    double k;
    double m = fl__split64(fl__bits64(u), 0, &k); /* u >= 2^-53 whenever x > -1 */
    /* the 2^-1000 keeps x = -1 (u = c = 0) finite; it vanishes next to any u >= 2^-53 */
    double res = fl__log1p_join(k, m - 1.0, c / (u + 0x1p-1000));
    double special = x >= -1.0 ? (x == -1.0 ? -FL__INF : 0.0) : FL__NAN;
    res += x == FL__INF ? FL__INF : special;
    /* log1p(x) has the sign of x; this only changes log1p(-0.0) from +0.0 to -0.0 */
    return fl__copysign(res, x);
}

/* log1p(e) for e in [+0, 1] or nan: the argument of softplus, e = exp(-|x|) (never -0.0).
 * fl_log1p's steps without what this range never needs (the clamp at DBL_MAX, the special
 * values, the sign, the bit-level split): u = 1 + e lies in [1, 2], so Fast2Sum gives its exact
 * error c and one compare the exponent k (the same threshold fl__split64 uses). The same result
 * as fl_log1p, bitwise (2e7 values of [+0, 1] and the edges, checked in C); a nan e propagates
 * through the arithmetic. softplus of 1e7 float64 into out=, one core: 100 -> 78 ms (0.1.0's
 * Numba loop: 92 ms). */
FL__INLINE double fl_log1p_unit(double e)
{
    double u = 1.0 + e;
    double c = (1.0 - u) + e; /* exact: |1| >= |e| */
    int big = u >= 0x1.6a09e667f3bcdp+0; /* u >= sqrt(2): log u = ln2 + log(u/2) */
    double k = big ? 1.0 : 0.0;
    return fl__log1p_join(k, u * (big ? 0.5 : 1.0) - 1.0 /* exact */, c / u);
}

/* ------------------------------------------------------------------ float32 */
#define FL__INFF ((float)INFINITY)
#define FL__NANF ((float)NAN)
#define FL__LOG2EF 0x1.715476p+0f /* 1/ln2 */
#define FL__LN2_HIF 0x1.62e4p-1f /* ln2 with the low 9 mantissa bits cleared */
#define FL__LN2_LOF 0x1.7f7d1cp-20f
#define FL__SHIFTF 0x1.8p23f
#define FL__SHIFT_BITSF UINT32_C(0x4B400000)
#define FL__SQRT_HALF_OFFF (UINT32_C(0x3F800000) - UINT32_C(0x3F3504F3))
#define FL__ONE_BITSF UINT32_C(0x3F800000)

FL__INLINE float fl__q32(float r)
{
    float q = 0x1.a17e3cp-13f;
    q = q * r + 0x1.6d4350p-10f;
    q = q * r + 0x1.1110acp-7f;
    q = q * r + 0x1.5554e8p-5f;
    q = q * r + 0x1.555556p-3f;
    return q * r + 0.5f;
}

FL__INLINE float fl__reduce32(float x, float kd, float *t)
{
    float hi = x - kd * FL__LN2_HIF;
    float nlo = kd * FL__LN2_LOF;
    float r = hi - nlo;
    float r_lo = (hi - r) - nlo;
    *t = (r_lo * r + r_lo) + r * r * fl__q32(r);
    return r;
}

FL__INLINE float fl__log1pf32(float f, float *hfsq)
{
    float s = f / (2.0f + f);
    float z = s * s;
    float g = 0x1.2eebd0p-2f;
    g = g * z + 0x1.997c06p-2f;
    g = g * z + 0x1.55555cp-1f;
    *hfsq = 0.5f * f * f;
    return s * (z * g + *hfsq);
}

FL__INLINE float fl__split32(uint32_t bits, uint32_t sh, float *k)
{
    uint32_t e = ((bits + FL__SQRT_HALF_OFFF) >> 23) & 0xFF;
    *k = fl__from_bits32(e - sh + FL__SHIFT_BITSF) - (FL__SHIFTF + 127.0f);
    return fl__from_bits32(bits - (e << 23) + FL__ONE_BITSF);
}

FL__INLINE float fl__copysignf(float a, float b)
{
    uint32_t sign = UINT32_C(0x80000000);
    return fl__from_bits32((fl__bits32(a) & ~sign) | (fl__bits32(b) & sign));
}

/* e^r in [0.70, 1.42] for x = n ln2 + r, and in *nbits the bits of FL__SHIFTF + n */
FL__INLINE float fl__expf_mantissa(float x, uint32_t *nbits)
{
    float kd = x * FL__LOG2EF + FL__SHIFTF;
    *nbits = fl__bits32(kd);
    kd -= FL__SHIFTF;
    float t;
    float r = fl__reduce32(x, kd, &t);
    float s = 1.0f + r;
    return s + ((r - (s - 1.0f)) + t);
}

FL__INLINE float fl_expf(float x)
{
    x = x > 89.0f ? fl__copysignf(89.0f, x) : x; /* overflow threshold 88.72 */
    x = x < -104.0f ? fl__copysignf(104.0f, x) : x; /* underflow-to-zero threshold -103.97 */
    uint32_t nbits;
    float p = fl__expf_mantissa(x, &nbits);
    uint32_t e = nbits - FL__SHIFT_BITSF + 256; /* n + 256 > 0, n in [-150, 129] */
    uint32_t e1 = e >> 1; /* n1 + 128 */
    return (p * fl__from_bits32((e1 - 1) << 23)) * fl__from_bits32((e - e1 - 1) << 23);
}

/* fl_expf(x) bit for bit for x in [-FL_EXPF_RANGE, FL_EXPF_RANGE] (e^x a normal float there),
 * anything elsewhere: 2^n applied in one step, as fl_exp_in_range -- the float32 row tiles'
 * terms, 8 a vector (fastloss/_numba/_math.py's exp32_in_range). */
#define FL_EXPF_RANGE 87.0f
FL__INLINE float fl_expf_in_range(float x)
{
    uint32_t nbits;
    float p = fl__expf_mantissa(x, &nbits);
    return fl__from_bits32(fl__bits32(p) + ((nbits - FL__SHIFT_BITSF) << 23));
}

FL__INLINE float fl_expm1f(float x)
{
    float xc = x > 89.0f ? fl__copysignf(89.0f, x) : x;
    xc = xc < -18.0f ? fl__copysignf(18.0f, xc) : xc; /* expm1f rounds to -1 below -17.33 */
    float kd = xc * FL__LOG2EF + FL__SHIFTF;
    uint32_t nbits = fl__bits32(kd);
    kd -= FL__SHIFTF;
    float t;
    float r = fl__reduce32(xc, kd, &t);
    uint32_t off = kd > 127.5f ? 126 : 127;
    float h = fl__from_bits32((nbits + off) << 23);
    float inv_f = fl__from_bits32(off << 23);
    float fac = fl__copysignf(fl__from_bits32((254 - off) << 23), h);
    float a = h - inv_f;
    float ab = a - h;
    float ea = (h - (a - ab)) - (inv_f + ab);
    float b = h * r;
    float s = a + b;
    float res = fac * (s + ((b - (s - a)) + (h * t + ea)));
    return fl__copysignf(res, x);
}

FL__INLINE float fl_logf(float x)
{
    float xa = fabsf(x);
    float k, hfsq;
    uint32_t sh = xa < 0x1p-125f ? 23 : (uint32_t)-1;
    float m = fl__split32(fl__bits32(xa * fl__from_bits32((127 + sh) << 23)), sh, &k);
    float f = m - 1.0f;
    float w = fl__log1pf32(f, &hfsq);
    float res = k * FL__LN2_HIF + (f - (hfsq - (w + k * FL__LN2_LOF)));
    float special = x > 0.0f ? 0.0f : (x == 0.0f ? -FL__INFF : FL__NANF);
    return res + (x == FL__INFF ? FL__INFF : special);
}

FL__INLINE float fl_log1pf(float x)
{
    float xc = x > 0x1.fffffep127f ? fl__copysignf(0x1.fffffep127f, x) : x;
    float u = 1.0f + xc;
    float ap = u - xc;
    float c = (1.0f - ap) + (xc - (u - ap));
    float k, hfsq;
    float m = fl__split32(fl__bits32(u), 0, &k);
    float f = m - 1.0f;
    float w = fl__log1pf32(f, &hfsq);
    float res = k * FL__LN2_HIF + (f - (hfsq - (w + (k * FL__LN2_LOF + c / (u + 0x1p-100f)))));
    float special = x >= -1.0f ? (x == -1.0f ? -FL__INFF : 0.0f) : FL__NANF;
    res += x == FL__INFF ? FL__INFF : special;
    return fl__copysignf(res, x);
}

#undef FL__INLINE
#endif /* FASTLOSS_FASTMATH_H */
