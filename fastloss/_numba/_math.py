"""Vectorisable exp, log, log1p and expm1 for use inside Numba kernels.

Why: llvmlite from PyPI ships without Intel SVML, so ``math.exp`` / ``np.exp`` inside an ``@njit``
loop compile to one scalar libm call per element and the loop is not vectorised. These functions
are plain Numba with no calls and no branches in the hot path (special cases are selects, which
LLVM turns into blends / masked moves), so a loop such as::

    @njit(nogil=True, cache=True)
    def kernel(x, out):
        for i in range(x.shape[0]):
            out[i] = exp(x[i])

is auto-vectorised. What ``kernel.inspect_asm(kernel.signatures[0])`` shows (numba 0.68.1,
llvmlite 0.50, x86-64 host with AVX-512, where LLVM prefers 256-bit vectors): for all four
functions and both dtypes the loop body is packed ymm code -- ``vfmadd213pd``/``vfmadd231pd``
(``...ps`` for float32) for the polynomials, ``vmulpd``/``vaddpd``/``vsubpd``, ``vdivpd ymm`` in
log/log1p, ``vpsllq``/``vpaddq`` building 2**n -- 4 doubles or 8 floats per instruction, and no
``call`` at all (the scalar remainder loop uses the same code unvectorised).
tests/test_fast_math.py::test_numba_loops_vectorise checks this on every run.

Usage: ``from fastloss._numba._math import exp, log, log1p, expm1`` and call them inside
``@njit`` code. They are ``@overload``-ed stubs compiled with ``forceinline=True`` (LLVM's
alwaysinline: inlined at the LLVM level, which vectorises as well as Numba-IR inlining and compiles
several times faster -- logsumexp's first call went from 10.8 s to 5.2 s): a float32 argument gets
float32 arithmetic (shorter polynomials) and a float32 result; float64, integer and bool
arguments get float64. No fastmath flags are involved, so inf/nan stay exact; kernels that
inline these can use ``cache=True`` and ``parallel=True``. Called from plain Python, the stubs
run the same compiled code on one scalar (handy for tests). fastloss/_cython/fastmath.h has the
same algorithms in C; keep the two in step.

Accuracy (measured against mpmath / float64 references, tests/test_fast_math.py keeps checking
<= 2 ulp): max error below 1 ulp for all eight functions over the whole domain, subnormal inputs
and results included -- float64 exp 0.64, log 0.83, log1p 0.74, expm1 0.74 ulp; float32 (every
2**-8-th bit pattern plus dense grids) exp 0.77, log 0.84, log1p 0.85, expm1 0.94 ulp. Edge cases
follow C99 Annex F: exp(+inf)=inf, exp(-inf)=+0, overflow to +inf, gradual underflow to
subnormals then +0; log(+-0)=-inf, log(<0)=nan, log(inf)=inf; log1p(-1)=-inf, log1p(<-1)=nan,
log1p(inf)=inf; expm1(-inf)=-1, expm1(inf)=inf; log1p and expm1 keep tiny x (and -0.0) exactly;
nan gives nan.

Numerical choices
-----------------
exp: x = n*ln2 + r, n = round(x/ln2), |r| <= ln2/2. Cody-Waite: ln2 = _LN2_HI + _LN2_LO where
  _LN2_HI keeps 41 significant bits, so n*_LN2_HI is exact for |n| < 2**12 and x - n*_LN2_HI is
  exact (Sterbenz); the rounding error r_lo of the second subtraction is kept. n is rounded with
  the 1.5*2**52 "shifter": adding it leaves round(x/ln2) in the low mantissa bits, which gives n
  as a float (subtract it again) and, read as an int64, builds 2**n with integer adds and shifts
  -- no float<->int64 conversion, which AVX2 lacks. e**r = 1 + r + t, t = r_lo*(1 + r) +
  r**2*q(r), where q is a degree-10 minimax polynomial for (e**r - 1 - r)/r**2 on
  [-0.3466, 0.3466], evaluated by Estrin's scheme (Remez exchange in mpmath at 50 digits; error < 2**-61 relative to e**r
  after rounding the coefficients to double). 1 + r + t is summed with Fast2Sum so only the last
  addition rounds. x is clamped to [-746, 710] (selects that let nan through) and 2**n is applied
  as 2**n1 * 2**n2 with n1 = floor(n/2): both factors are normal, the first product is exact, so
  overflow gives +inf and gradual underflow rounds once, to the correct subnormal or zero.
exp64_in_range: exp's arithmetic without the clamps, 2**n applied in one step (an integer add to
  the exponent bits of e**r): the same bits for |x| <= EXP_RANGE = 708, where the result is a
  normal float64; anything elsewhere. Kernels use it a chunk at a time and redo a chunk with exp
  when one of its arguments lies outside (special.exp_neg_abs_chunk, _tiled, the BCE skeleton).
exp64_summand: for the unshifted row tiles, whose terms are summed (their sum's roundings add
  more error than the terms') and which have no fallback that must match exp's bits:
  exp64_in_range's reduction and q without r_lo and without Fast2Sum, e**r = 1 + (r + r**2 q(r)).
  Error about 1 ulp, not below it: 1.015 found where r is near -ln2/2 (e**r ~ 0.71, whose ulp is
  half 1's; a review's search of 2e6 points there), 0.94 over 3e6 uniform points in [-708, 708],
  mean 0.27 (exp's: 0.64, mean 0.25). Keeping either refinement makes it faithful (< 1 ulp: 0.73
  and 0.80 there) and costs 1.04 -> 1.22 ns an element (one core, in L1; exp64_in_range 1.33):
  the dependency chain is 6 steps shorter without both, and the exp loops are bound by it.
expm1: same reduction and the same q. With h = 2**n (2**1023 and a final factor F = 2 when
  n = 1024), expm1(x) = F*((h - 1/F) + h*r + h*t): h - 1/F is computed with its exact rounding
  error (TwoSum) and h*r is added by Fast2Sum, so nothing cancels near 0 and the result is
  rounded essentially once. x is clamped to [-40, 710] (expm1 rounds to -1 below -37.5). For tiny
  x every term but r vanishes, so the result is x exactly; the sign is copied from x at the end
  (expm1 always has the sign of x), which makes expm1(-0.0) = -0.0.
log: |x| = 2**k * m with m in [sqrt(2)/2, sqrt(2)) read from the bits (after scaling subnormals
  by 2**53, others by 1/2 -- both exact), f = m - 1, s = f/(2 + f); log(1+f) = 2*atanh(s) =
  2s + s*z*g(z), z = s*s <= 0.02944, with g a degree-6 minimax polynomial for
  (2*atanh(s) - 2s)/(s*z) (Remez; error < 2**-57 relative to log(1+f)). The sum is arranged as in
  fdlibm, k*_LN2_HI + (f - (f*f/2 - (s*(f*f/2 + z*g) + k*_LN2_LO))), which stays below 1 ulp.
  k becomes a float through the shifter trick again. The main path is finite for every x
  (x <= 0 and inf included), and the special values are added at the end: +0, -inf, inf or nan.
log1p: u = 1 + x rounded, c = (1 + x) - u recovered exactly with TwoSum, then log(u) as above plus
  the first-order correction c/u. For tiny x this gives x exactly; the sign is copied from x.
float32: the same formulas in float32 arithmetic with a 15-bit _LN2_HI_F, a degree-5 q (error
  < 2**-30 relative to e**r) and a degree-2 g (< 2**-28 relative), subnormal inputs of log scaled
  by 2**23, clamps [-104, 89] (exp) and [-18, 89] (expm1).
Polynomials are evaluated with ``llvm.fmuladd`` (a fused multiply-add where the CPU has FMA,
multiply + add otherwise; the error analysis holds either way). Division uses a bare ``fdiv``
(Numba's ``/`` adds a ZeroDivisionError branch, which would stop vectorisation).
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._flags import cached_jit

__all__ = ["exp", "log", "log1p", "expm1", "exp64", "exp64_in_range", "exp64_summand", "EXP_RANGE", "exp32_in_range",
           "EXP32_RANGE", "expm1_64", "log64",
           "log64_normal", "log1p64", "log1p_unit64"]


# ---------------------------------------------------------------- LLVM helpers
@intrinsic
def _muladd(typingctx, a, b, c):
    """a*b + c through llvm.fmuladd (fused when the target has FMA); all three the same float type."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        lty = context.get_value_type(sig.return_type)
        fnty = ir.FunctionType(lty, [lty, lty, lty])
        name = "llvm.fmuladd.f64" if sig.return_type == types.float64 else "llvm.fmuladd.f32"
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        return builder.call(fn, args)

    return a(a, a, a), codegen


@intrinsic
def _div(typingctx, a, b):
    """a / b as a bare IEEE division (Numba's ``/`` adds a ZeroDivisionError branch)."""
    if not (isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.fdiv(args[0], args[1])

    return a(a, a), codegen


@intrinsic
def _f64_bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (LLVM bitcast)."""
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _f64_from_bits(typingctx, i):
    """The float64 whose IEEE bits are the int64 ``i`` (LLVM bitcast)."""
    if i != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _f32_bits(typingctx, x):
    """The IEEE bits of a float32, zero-extended to int64 (Numba's integer arithmetic is int64)."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.zext(builder.bitcast(args[0], ir.IntType(32)), ir.IntType(64))

    return types.int64(types.float32), codegen


@intrinsic
def _f32_from_bits(typingctx, i):
    """The float32 whose IEEE bits are the low 32 bits of the int64 ``i``."""
    if i != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(builder.trunc(args[0], ir.IntType(32)), ir.FloatType())

    return types.float32(types.int64), codegen


@njit(inline="always")
def _copysign32(a, b):
    """|a| with the sign of b, for float32 (bit operations)."""
    return _f32_from_bits((_f32_bits(a) & 0x7FFFFFFF) | (_f32_bits(b) & 0x80000000))


# ---------------------------------------------------------------- float64 constants
_INF = np.inf
_NAN = np.nan
_DBL_MAX = 1.7976931348623157e308
_LOG2E = 1.4426950408889634  # 1/ln2
_LN2_HI = 0.693147180559663  # 0x1.62e42fefa3000p-1: ln2 with the low 12 mantissa bits cleared
_LN2_LO = 2.8235290563031577e-13  # 0x1.3de6af278ece6p-42: ln2 - _LN2_HI
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + _SHIFT rounds x to an integer held in the low bits
_SHIFT_BITS = 0x4338000000000000  # bits of _SHIFT; bits(_SHIFT + n) == _SHIFT_BITS + n
_SQRT2 = 1.4142135623730951  # 0x1.6a09e667f3bcdp+0
_SQRT_HALF_OFF = 0x00095F619980C433  # bits(1.0) - bits(sqrt(2)/2): puts m in [sqrt(2)/2, sqrt(2))
_ONE_BITS = 0x3FF0000000000000
_KBIAS = _SHIFT + 1023.0  # _SHIFT + exponent bias
_LOG_SUB = 2.0**-1021
_TWO53 = 2.0**53

# q(r) ~ (e**r - 1 - r)/r**2 on |r| <= 0.3466, degree-10 minimax (Remez)
_E0 = 0.5
_E1 = 0.1666666666666667  # 0x1.5555555555557p-3
_E2 = 0.041666666666666685  # 0x1.5555555555558p-5
_E3 = 0.008333333333326136  # 0x1.11111111100dcp-7
_E4 = 0.001388888888887439  # 0x1.6c16c16c151f8p-10
_E5 = 0.00019841269874816656  # 0x1.a01a01abe7a28p-13
_E6 = 2.4801587347364753e-05  # 0x1.a01a01acfc9e9p-16
_E7 = 2.755725540541868e-06  # 0x1.71de0232c2861p-19
_E8 = 2.755725288574598e-07  # 0x1.27e4ccc91aa01p-22
_E9 = 2.5105214787552445e-08  # 0x1.af4de6fd95f43p-26
_E10 = 2.0921598979730786e-09  # 0x1.1f8b5512e6016p-29

# g(z) ~ (2*atanh(s) - 2s)/(s*z), z = s*s <= 0.02944, degree-6 minimax (Remez)
_L0 = 0.666666666666667  # 0x1.5555555555558p-1
_L1 = 0.3999999999989845  # 0x1.9999999995224p-2
_L2 = 0.28571428626397816  # 0x1.2492492e03dbdp-2
_L3 = 0.22222211073084422  # 0x1.c71c62d04be99p-3
_L4 = 0.18182893200382214  # 0x1.7462ba23625a5p-3
_L5 = 0.1533159758468724  # 0x1.39fdb9f1bbaf4p-3
_L6 = 0.14617864823430238  # 0x1.2b5fb60c518b8p-3


# ---------------------------------------------------------------- float64 kernels
@njit(inline="always")
def _q64(r):
    """q(r) by Estrin's scheme (pairs E_2i + E_2i+1 r joined by r**2 and r**4): 4 multiply-adds
    deep where Horner's chain is 10, which the exp loops, bound by throughput and latency
    together, feel (fastmath.h's fl__q64 has the measurements)."""
    r2 = r * r
    r4 = r2 * r2
    p01 = _muladd(r, _E1, _E0)
    p23 = _muladd(r, _E3, _E2)
    p45 = _muladd(r, _E5, _E4)
    p67 = _muladd(r, _E7, _E6)
    p89 = _muladd(r, _E9, _E8)
    p03 = _muladd(r2, p23, p01)
    p47 = _muladd(r2, p67, p45)
    p810 = _muladd(r2, _E10, p89)
    return _muladd(r4, _muladd(r4, p810, p47), p03)


@njit(inline="always")
def _reduce64(x, kd):
    """r, t with x - kd*ln2 = r + r_lo and e**(r + r_lo) = 1 + r + t (t to first order in r_lo).
    Multiply-adds where fastmath.h's are contracted by GCC (-ffp-contract=fast, its default):
    hi is exact either way, r_lo = (hi - r) - kd*ln2_lo rounds once instead of twice, and the
    exp loops run 8% faster (1.68 -> 1.55 ns an element, one core, in L1)."""
    hi = _muladd(-kd, _LN2_HI, x)  # exact (Sterbenz; kd*_LN2_HI is exact too)
    r = _muladd(-kd, _LN2_LO, hi)
    r_lo = _muladd(-kd, _LN2_LO, hi - r)  # the rounding error of r
    return r, _muladd(r * r, _q64(r), _muladd(r_lo, r, r_lo))


@njit(inline="always")
def _log1p_f64(f):
    """For log(1 + f), f in [sqrt(2)/2 - 1, sqrt(2) - 1]: (s*(f*f/2 + z*g(z)), f*f/2)."""
    s = _div(f, 2.0 + f)
    z = s * s
    g = _muladd(z, _L6, _L5)
    g = _muladd(z, g, _L4)
    g = _muladd(z, g, _L3)
    g = _muladd(z, g, _L2)
    g = _muladd(z, g, _L1)
    g = _muladd(z, g, _L0)
    hfsq = 0.5 * f * f
    return s * _muladd(z, g, hfsq), hfsq


@njit(inline="always")
def _split64(bits, kbias):
    """(k, m) with x = 2**(k + kbias - _KBIAS) * m, m in [sqrt(2)/2, sqrt(2)), x > 0 normal."""
    e = ((bits + _SQRT_HALF_OFF) >> 52) & 0x7FF  # biased exponent of x*sqrt(2)
    k = _f64_from_bits(e + _SHIFT_BITS) - kbias  # exact int -> float: (_SHIFT + e) - kbias
    return k, _f64_from_bits(bits - (e << 52) + _ONE_BITS)


@njit(inline="always")
def _exp64_mantissa(x):
    """(e**r in [0.70, 1.42], the bits of _SHIFT + n) for x = n*ln2 + r, |x| <= 746."""
    kd = _muladd(x, _LOG2E, _SHIFT)
    nbits = _f64_bits(kd)  # _SHIFT_BITS + n
    kd = kd - _SHIFT  # n, exactly, as a float
    r, t = _reduce64(x, kd)
    s = 1.0 + r  # e**r = 1 + r + t, summed with Fast2Sum so that only the last add rounds
    return s + ((r - (s - 1.0)) + t), nbits


@cached_jit(forceinline=True, cache=True)
def _exp64(x):
    x = 710.0 if x > 710.0 else x  # beyond the overflow threshold 709.78; nan passes through
    x = -746.0 if x < -746.0 else x  # below the underflow-to-zero threshold -745.13
    p, nbits = _exp64_mantissa(x)
    # 2**n = 2**n1 * 2**n2 with n1 = floor(n/2): both normal for n in [-1076, 1024]
    e = nbits - _SHIFT_BITS + 2048  # n + 2048 > 0
    e1 = e >> 1  # n1 + 1024
    return (p * _f64_from_bits((e1 - 1) << 52)) * _f64_from_bits((e - e1 - 1) << 52)


EXP_RANGE = 708.0


@cached_jit(forceinline=True, cache=True)
def _exp64_in_range(x):
    """_exp64(x) bit for bit for x in [-EXP_RANGE, EXP_RANGE], anything elsewhere (nan included):
    callers count a chunk's arguments within the range and redo the chunk with exp unless all
    are. Within the range e**x is a normal float64, n lies in [-1021, 1021] and p*2**n is exact,
    so 2**n is applied in one step, an integer add to p's exponent, and the clamps go
    (fastmath.h's fl_exp_in_range has the timings)."""
    p, nbits = _exp64_mantissa(x)
    return _f64_from_bits(_f64_bits(p) + ((nbits - _SHIFT_BITS) << 52))


@cached_jit(forceinline=True, cache=True)
def _exp64_summand(x):
    """e**x within about 1 ulp (1.015 max found) for x in [-EXP_RANGE, EXP_RANGE], anything
    elsewhere (nan included):
    exp64_in_range without the rounding error of r and with a plain sum 1 + (r + r**2 q(r))
    (module docstring; fastmath.h's fl_exp_summand has the same arithmetic)."""
    kd = _muladd(x, _LOG2E, _SHIFT)
    nbits = _f64_bits(kd)  # _SHIFT_BITS + n
    kd = kd - _SHIFT
    r = _muladd(-kd, _LN2_LO, _muladd(-kd, _LN2_HI, x))
    p = 1.0 + _muladd(r * r, _q64(r), r)
    return _f64_from_bits(_f64_bits(p) + ((nbits - _SHIFT_BITS) << 52))


@cached_jit(forceinline=True, cache=True)
def _expm1_64(x):
    xc = 710.0 if x > 710.0 else x
    xc = -40.0 if xc < -40.0 else xc  # expm1(x) rounds to -1 for x < -37.5
    kd = xc * _LOG2E + _SHIFT
    nbits = _f64_bits(kd)
    kd = kd - _SHIFT
    r, t = _reduce64(xc, kd)
    # expm1 = F*((h - 1/F) + h*r + h*t) with h = 2**n/F; F = 2 only for n = 1024 (2**n
    # overflows). a = h - 1/F with its rounding error ea (TwoSum), then h*r by Fast2Sum.
    off = 1022 if kd > 1023.5 else 1023
    h = _f64_from_bits((nbits + off) << 52)
    inv_f = _f64_from_bits(off << 52)  # 1/F
    a = h - inv_f
    ab = a - h
    ea = (h - (a - ab)) - (inv_f + ab)
    b = h * r
    s = a + b  # |a| >= |b| or a == 0
    res = (s + ((b - (s - a)) + (h * t + ea))) * _f64_from_bits((2046 - off) << 52)
    # expm1(x) has the sign of x; this only turns expm1(-0.0) = +0.0 into -0.0
    return math.copysign(res, x)


@njit(inline="always")
def _log_join(k, m):
    """k*ln2 + log(m) for m in [sqrt(2)/2, sqrt(2)) (_split64's split): the last steps of _log64
    and _log64_normal."""
    f = m - 1.0
    w, hfsq = _log1p_f64(f)
    return k * _LN2_HI + (f - (hfsq - (w + k * _LN2_LO)))


@cached_jit(forceinline=True, cache=True)
def _log64(x):
    xa = abs(x)  # x < 0 gives log|x| here (finite), replaced by nan below
    sub = xa < _LOG_SUB  # scale subnormals (and 0) by 2**53, the rest by 1/2: both exact
    scaled = xa * (_TWO53 if sub else 0.5)
    k, m = _split64(_f64_bits(scaled), _KBIAS + (53.0 if sub else -1.0))
    res = _log_join(k, m)  # finite for every x
    special = 0.0 if x > 0.0 else (-_INF if x == 0.0 else _NAN)
    return res + (_INF if x == _INF else special)


@cached_jit(forceinline=True, cache=True)
def _log64_normal(x):
    """_log64(x) bit for bit for a positive normal finite x (2**-1022 <= x <= DBL_MAX), anything
    elsewhere: without the subnormal scaling and the special values, for arguments known to be
    normal (probabilities clipped to [eps, 1 - eps], eps >= 2**-1022)."""
    k, m = _split64(_f64_bits(x), _KBIAS)
    return _log_join(k, m)


@cached_jit(forceinline=True, cache=True)
def _log1p64(x):
    xc = _DBL_MAX if x > _DBL_MAX else x  # keeps the main path finite for x = inf
    u = 1.0 + xc
    ap = u - xc  # TwoSum: c = (1 + x) - u exactly
    c = (1.0 - ap) + (xc - (u - ap))
    k, m = _split64(_f64_bits(u), _KBIAS)  # u >= 2**-53 whenever x > -1
    f = m - 1.0
    w, hfsq = _log1p_f64(f)
    # the 2**-1000 keeps x = -1 (u = c = 0) finite; it vanishes next to any u >= 2**-53
    res = k * _LN2_HI + (f - (hfsq - (w + (k * _LN2_LO + _div(c, u + 2.0**-1000)))))
    special = (-_INF if x == -1.0 else 0.0) if x >= -1.0 else _NAN
    res = res + (_INF if x == _INF else special)
    # log1p(x) has the sign of x; this only turns log1p(-0.0) = +0.0 into -0.0
    return math.copysign(res, x)


@cached_jit(forceinline=True, cache=True)
def _log1p_unit64(e):
    """log1p(e) for e in [+0, 1] -- softplus's and log_expit's log1p(exp(-|x|)) -- with
    _log1p64's result bit for bit, without its clamp, exponent split or special values: u = 1 + e
    lies in [1, 2], so k is 0 or 1 (u >= sqrt(2)), the TwoSum error needs one Fast2Sum step, and
    no nan, inf or -1 can arrive. fastmath.h's fl_log1p_unit, the same steps."""
    u = 1.0 + e
    c = (1.0 - u) + e  # exact: |1| >= |e|
    big = u >= _SQRT2
    k = 1.0 if big else 0.0
    f = u * (0.5 if big else 1.0) - 1.0  # exact
    w, hfsq = _log1p_f64(f)
    return k * _LN2_HI + (f - (hfsq - (w + (k * _LN2_LO + _div(c, u)))))


# ---------------------------------------------------------------- float32 constants
_f32 = np.float32
_INF_F = _f32(np.inf)
_NAN_F = _f32(np.nan)
_ZERO_F = _f32(0.0)
_HALF_F = _f32(0.5)
_ONE_F = _f32(1.0)
_TWO_F = _f32(2.0)
_FLT_MAX = _f32(3.4028234663852886e38)
_LOG2E_F = _f32(1.4426950408889634)
_LN2_HI_F = _f32(0.693145751953125)  # 0x1.62e4p-1: ln2 with the low 9 mantissa bits cleared
_LN2_LO_F = _f32(1.428606765330187e-06)  # 0x1.7f7d1cp-20
_SHIFT_F = _f32(12582912.0)  # 1.5 * 2**23
_SHIFT_BITS_F = 0x4B400000
_KBIAS_F = _f32(12582912.0 + 127.0)
_EXP_HI_F = _f32(89.0)  # overflow threshold 88.72
_EXP_LO_F = _f32(-104.0)  # underflow-to-zero threshold -103.97
_EXPM1_LO_F = _f32(-18.0)  # expm1f rounds to -1 below -17.33
_TOP_F = _f32(127.5)
_LOG_SUB_F = _f32(2.0**-125)
_SQRT_HALF_OFF_F = 0x3F800000 - 0x3F3504F3
_ONE_BITS_F = 0x3F800000
_U_EPS_F = _f32(2.0**-100)
_TWO23_F = _f32(2.0**23)
_TWENTYTHREE_F = _f32(23.0)

# q(r) ~ (e**r - 1 - r)/r**2 on |r| <= 0.3467, degree-5 minimax (Remez), rounded to float32
_EF0 = _f32(0.5)
_EF1 = _f32(0.1666666716337204)  # 0x1.555556p-3
_EF2 = _f32(0.041666463017463684)  # 0x1.5554e8p-5
_EF3 = _f32(0.00833328627049923)  # 0x1.1110acp-7
_EF4 = _f32(0.0013933675363659859)  # 0x1.6d4350p-10
_EF5 = _f32(0.00019907622481696308)  # 0x1.a17e3cp-13
# g(z) ~ (2*atanh(s) - 2s)/(s*z), z <= 0.02944, degree-2 minimax (Remez), rounded to float32
_LF0 = _f32(0.6666668653488159)  # 0x1.55555cp-1
_LF1 = _f32(0.39988717436790466)  # 0x1.997c06p-2
_LF2 = _f32(0.2958214282989502)  # 0x1.2eebd0p-2


# ---------------------------------------------------------------- float32 kernels
# The same algorithms in float32 arithmetic. Numba does integer arithmetic in int64: the bit
# patterns are zero-extended and truncated back by _f32_bits / _f32_from_bits, which LLVM
# narrows to 32-bit lanes again.
@njit(inline="always")
def _q32(r):
    q = _muladd(r, _EF5, _EF4)
    q = _muladd(r, q, _EF3)
    q = _muladd(r, q, _EF2)
    q = _muladd(r, q, _EF1)
    return _muladd(r, q, _EF0)


@njit(inline="always")
def _reduce32(x, kd):
    hi = x - kd * _LN2_HI_F
    nlo = kd * _LN2_LO_F
    r = hi - nlo
    r_lo = (hi - r) - nlo
    return r, _muladd(r_lo, r, r_lo) + r * r * _q32(r)


@njit(inline="always")
def _log1p_f32(f):
    s = _div(f, _TWO_F + f)
    z = s * s
    g = _muladd(z, _LF2, _LF1)
    g = _muladd(z, g, _LF0)
    hfsq = _HALF_F * f * f
    return s * _muladd(z, g, hfsq), hfsq


@njit(inline="always")
def _split32(bits, kbias):
    """(k, m) with x = 2**(k + kbias - 127) * m; kbias is a float here so the int ops stay 32-bit."""
    e = ((bits + _SQRT_HALF_OFF_F) & 0xFFFFFFFF) >> 23
    k = _f32_from_bits(e + _SHIFT_BITS_F) - kbias
    return k, _f32_from_bits(bits - (e << 23) + _ONE_BITS_F)


@njit(inline="always")
def _exp32_mantissa(x):
    """(e**r in [0.70, 1.42], the bits of _SHIFT_F + n) for x = n*ln2 + r, float32 arithmetic."""
    kd = x * _LOG2E_F + _SHIFT_F
    nbits = _f32_bits(kd)
    kd = kd - _SHIFT_F
    r, t = _reduce32(x, kd)
    s = _ONE_F + r
    return s + ((r - (s - _ONE_F)) + t), nbits


@cached_jit(forceinline=True, cache=True)
def _exp32(x):
    x = _EXP_HI_F if x > _EXP_HI_F else x
    x = _EXP_LO_F if x < _EXP_LO_F else x
    p, nbits = _exp32_mantissa(x)
    e = (nbits - _SHIFT_BITS_F + 256) & 0x1FF  # n + 256 in [106, 385]
    e1 = e >> 1
    return (p * _f32_from_bits((e1 - 1) << 23)) * _f32_from_bits((e - e1 - 1) << 23)


# |x| <= this: e**x is a normal float32 (e**-87 = 1.6e-38 > 2**-126 = 1.2e-38; e**87 = 6e37)
EXP32_RANGE = 87.0


@cached_jit(forceinline=True, cache=True)
def _exp32_in_range(x):
    """_exp32(x) bit for bit for x in [-EXP32_RANGE, EXP32_RANGE], anything elsewhere (nan
    included): 2**n applied in one step, an integer add to the exponent bits of e**r, as
    exp64_in_range. In float32 lanes: 8 a vector where float64 has 4 (0.42-0.54 ns an element
    in L1, one core, against exp64_summand's 1.04), for the float32 row tiles."""
    p, nbits = _exp32_mantissa(x)
    return _f32_from_bits(_f32_bits(p) + ((nbits - _SHIFT_BITS_F) << 23))


@cached_jit(forceinline=True, cache=True)
def _expm1_32(x):
    xc = _EXP_HI_F if x > _EXP_HI_F else x
    xc = _EXPM1_LO_F if xc < _EXPM1_LO_F else xc
    kd = xc * _LOG2E_F + _SHIFT_F
    nbits = _f32_bits(kd)
    kd = kd - _SHIFT_F
    r, t = _reduce32(xc, kd)
    off = 126 if kd > _TOP_F else 127
    h = _f32_from_bits((nbits + off) << 23)
    inv_f = _f32_from_bits(off << 23)
    a = h - inv_f
    ab = a - h
    ea = (h - (a - ab)) - (inv_f + ab)
    b = h * r
    s = a + b
    res = (s + ((b - (s - a)) + (h * t + ea))) * _f32_from_bits((254 - off) << 23)
    return _copysign32(res, x)


@cached_jit(forceinline=True, cache=True)
def _log32(x):
    xa = abs(x)
    sub = xa < _LOG_SUB_F  # scale subnormals by 2**23, the rest by 1/2
    scaled = xa * (_TWO23_F if sub else _HALF_F)
    k, m = _split32(_f32_bits(scaled), _KBIAS_F + (_TWENTYTHREE_F if sub else -_ONE_F))
    f = m - _ONE_F
    w, hfsq = _log1p_f32(f)
    res = k * _LN2_HI_F + (f - (hfsq - (w + k * _LN2_LO_F)))
    special = _ZERO_F if x > _ZERO_F else (-_INF_F if x == _ZERO_F else _NAN_F)
    return res + (_INF_F if x == _INF_F else special)


@cached_jit(forceinline=True, cache=True)
def _log1p32(x):
    xc = _FLT_MAX if x > _FLT_MAX else x  # keeps the main path finite for x = inf
    u = _ONE_F + xc
    ap = u - xc
    c = (_ONE_F - ap) + (xc - (u - ap))
    k, m = _split32(_f32_bits(u), _KBIAS_F)
    f = m - _ONE_F
    w, hfsq = _log1p_f32(f)
    res = k * _LN2_HI_F + (f - (hfsq - (w + (k * _LN2_LO_F + _div(c, u + _U_EPS_F)))))
    special = (-_INF_F if x == -_ONE_F else _ZERO_F) if x >= -_ONE_F else _NAN_F
    res = res + (_INF_F if x == _INF_F else special)
    return _copysign32(res, x)


# ---------------------------------------------------------------- public stubs + overloads
def _make(name, impl64, impl32, doc):
    """A Python stub ``name`` whose @njit overload calls impl32 / impl64 by argument type (LLVM inlines it)."""

    def stub(x):
        return _scalar[name](x)

    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = doc

    # inline="always": the one-line dispatch is inlined in Numba's IR (no compiled function of its
    # own); impl64/impl32 stay separate functions, compiled once and inlined by LLVM
    @overload(stub, inline="always", jit_options=dict(forceinline=True, error_model="numpy"))
    def _ol(x):
        if x == types.float32:
            return lambda x: impl32(x)
        if x == types.float64:
            return lambda x: impl64(x)
        if isinstance(x, (types.Float, types.Integer, types.Boolean)):
            return lambda x: impl64(np.float64(x))
        return None

    return stub


exp = _make("exp", _exp64, _exp32, "e**x (float32 or float64); inline in @njit code.")
expm1 = _make("expm1", _expm1_64, _expm1_32, "e**x - 1, accurate near 0 (float32 or float64).")
log = _make("log", _log64, _log32, "Natural logarithm (float32 or float64); inline in @njit code.")
log1p = _make("log1p", _log1p64, _log1p32, "log(1 + x), accurate near 0 (float32 or float64).")

# The float64 functions themselves, for kernels whose math is float64 whatever the input dtype
# (the loss formulas, the row tiles): no type dispatch in between, one compiled function less each.
exp64, expm1_64, log64, log1p64 = _exp64, _expm1_64, _log64, _log1p64
# exp64 where |x| <= EXP_RANGE, one step cheaper (see _exp64_in_range); log64 of normal numbers
exp64_in_range = _exp64_in_range
# e**x within about 1 ulp where |x| <= EXP_RANGE, for terms that are summed (see _exp64_summand)
exp64_summand = _exp64_summand
# _exp32 where |x| <= EXP32_RANGE, one step cheaper (see _exp32_in_range)
exp32_in_range = _exp32_in_range
log64_normal = _log64_normal
# log1p of an argument in [+0, 1] (float64): softplus's log1p(exp(-|x|))
log1p_unit64 = _log1p_unit64

# From plain Python the stubs run the compiled code on one scalar (tests, debugging).
_scalar = {
    "exp": njit(lambda x: exp(x)),
    "expm1": njit(lambda x: expm1(x)),
    "log": njit(lambda x: log(x)),
    "log1p": njit(lambda x: log1p(x)),
}
