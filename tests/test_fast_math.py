"""Vectorisable exp / log / log1p / expm1: fastloss/_numba/_math.py and fastloss/_cython/fastmath.h.

Both implementations are checked against mpmath (ulp error <= 2 on dense grids over the whole
domain: near overflow, near underflow / subnormal results, subnormal inputs, around 0 and around
-1 for log1p, plus random samples), on the IEEE edge cases, and with hypothesis properties. The
Numba functions are called through small @njit loops, which is how kernels use them; the C
header through a shared library compiled from a test-local .c file (skipped without a C
compiler). Measured maxima when this was written (ulp): float64 exp 0.64, log 0.83, log1p 0.74,
expm1 0.74; float32 exp 0.77, log 0.84, log1p 0.85, expm1 0.94.
"""
import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import numba
from numba import njit, types

ROOT = Path(__file__).resolve().parents[1]
# the source tree is put on sys.path only when no fastloss is installed (CI also runs these tests
# from outside the tree against an installed wheel, whose fastloss must be the one imported)
SOURCE_PATH = [] if importlib.util.find_spec("fastloss") is not None else [str(ROOT)]
sys.path[:0] = SOURCE_PATH
from fastloss._numba import _math as fm  # noqa: E402
import fastloss  # noqa: E402

# fastmath.h ships inside the package (the sdist and the wheel carry it): compile the installed copy
FASTMATH_DIR = Path(fastloss.__file__).resolve().parent / "_cython"

FUNCS = ("exp", "log", "log1p", "expm1")
DTYPES = (np.float64, np.float32)
MAX_ULP = 2.0
MP = {"exp": mpmath.exp, "log": mpmath.log, "log1p": mpmath.log1p, "expm1": mpmath.expm1}
NP = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1}


# ---------------------------------------------------------------- callers
def _numba_loop(f):
    @njit(nogil=True)
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    return loop


NUMBA_LOOPS = {name: _numba_loop(getattr(fm, name)) for name in FUNCS}
NUMBA_LOOPS["exp_in_range"] = _numba_loop(fm.exp64_in_range)
NUMBA_LOOPS["exp_summand"] = _numba_loop(fm.exp64_summand)
NUMBA_LOOPS["exp32_in_range"] = _numba_loop(fm.exp32_in_range)
NUMBA_LOOPS["log_normal"] = _numba_loop(fm.log64_normal)


def numba_call(name, x):
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    NUMBA_LOOPS[name](x, out)
    return out


C_SOURCE = textwrap.dedent(
    """
    #include "fastmath.h"
    #define LOOP(name, T, f)                                                  \\
        void name(const T *restrict x, T *restrict y, long n)                 \\
        {                                                                     \\
            _Pragma("omp simd")                                               \\
            for (long i = 0; i < n; i++) y[i] = f(x[i]);                      \\
        }
    LOOP(v_exp, double, fl_exp)
    LOOP(v_exp_in_range, double, fl_exp_in_range)
    LOOP(v_exp_summand, double, fl_exp_summand)
    LOOP(v_log_normal, double, fl_log_normal)
    LOOP(v_log, double, fl_log)
    LOOP(v_log1p, double, fl_log1p)
    LOOP(v_expm1, double, fl_expm1)
    LOOP(v_expf, float, fl_expf)
    LOOP(v_exp32_in_rangef, float, fl_expf_in_range)
    LOOP(v_logf, float, fl_logf)
    LOOP(v_log1pf, float, fl_log1pf)
    LOOP(v_expm1f, float, fl_expm1f)
    """
)
C_BUILDS = {"portable": ["-O3", "-fopenmp-simd"], "native": ["-O3", "-fopenmp-simd", "-march=native"]}


def _c_compiler():
    for cc in (os.environ.get("CC", "").split()[:1] or []) + ["gcc", "cc"]:
        if shutil.which(cc):
            return cc
    return None


@pytest.fixture(scope="session")
def c_libs(tmp_path_factory):
    """{build: (ctypes lib, compiler diagnostics)} for the builds that compile here."""
    cc = _c_compiler()
    if cc is None:
        pytest.skip("no C compiler")
    tmp = tmp_path_factory.mktemp("fastmath_c")
    src = tmp / "fastmath_test.c"
    src.write_text(C_SOURCE)
    libs = {}
    for build, flags in C_BUILDS.items():
        so = tmp / f"fastmath_{build}.so"
        cmd = [cc, *flags, "-std=c99", "-Wall", "-Wextra", "-shared", "-fPIC",
               "-fopt-info-vec-optimized", "-I", str(FASTMATH_DIR), str(src), "-o", str(so)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0 and "-fopt-info" in res.stderr:  # not GCC: drop the report flag
            cmd.remove("-fopt-info-vec-optimized")
            res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            if build == "portable":
                pytest.fail(f"fastmath.h does not compile:\n{res.stderr}")
            continue  # e.g. -march=native unsupported by this compiler
        libs[build] = (ctypes.CDLL(str(so)), res.stderr)
    return libs


def c_call(lib, name, x):
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    fn = getattr(lib, "v_" + name + ("f" if x.dtype == np.float32 else ""))
    fn.restype = None
    fn(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_long(x.size))
    return out


@pytest.fixture(scope="session", params=["numba", "c-portable", "c-native"])
def impl(request):
    """A callable (name, x) -> f(x) for one implementation."""
    if request.param == "numba":
        return numba_call
    build = request.param[2:]
    libs = request.getfixturevalue("c_libs")
    if build not in libs:
        pytest.skip(f"C build {build!r} not available")
    lib = libs[build][0]
    return lambda name, x: c_call(lib, name, x)


# ---------------------------------------------------------------- mpmath references
def _points(name, dtype, rng):
    """Dense grids over the whole domain plus random samples, as `dtype`."""
    f32 = dtype == np.float32
    big, tiny_exp = (88.72, -103.9) if f32 else (709.78, -745.13)
    sub_lo = -87.33 if f32 else -708.4  # exp(x) is subnormal below this
    tiny = np.finfo(dtype).tiny
    smallest = np.finfo(dtype).smallest_subnormal
    logspace = lambda a, b, n: np.logspace(a, b, n)  # noqa: E731
    if name == "exp":
        parts = [np.linspace(tiny_exp - 0.5, big + 0.5, 1500), np.linspace(big - 0.3, big + 0.01, 150),
                 np.linspace(tiny_exp - 0.1, sub_lo + 0.5, 300), np.linspace(-1, 1, 201),
                 logspace(-30, -1, 60), -logspace(-30, -1, 60), rng.uniform(tiny_exp, big, 800)]
    elif name == "expm1":
        parts = [np.linspace(-45, big + 0.5, 1000), np.linspace(big - 0.3, big + 0.01, 100),
                 np.linspace(-1.5, 1.5, 601), logspace(-40, 0, 150), -logspace(-40, 0, 150),
                 np.linspace(-40, -15, 100), rng.uniform(-5, 5, 500), rng.uniform(-40, big, 300)]
    elif name == "log":
        bits = rng.integers(1, 0x7F800000 if f32 else 0x7FF0000000000000, 1500)
        rand = bits.astype(np.uint32).view(np.float32) if f32 else bits.view(np.float64)
        sub_bits = rng.integers(1, 0x00800000 if f32 else 0x0010000000000000, 200)
        subs = sub_bits.astype(np.uint32).view(np.float32) if f32 else sub_bits.view(np.float64)
        parts = [rand.astype(np.float64), subs.astype(np.float64), np.linspace(0.5, 2.0, 601),
                 1 + logspace(-12 if not f32 else -7, -1, 100), 1 - logspace(-12 if not f32 else -7, -1, 100),
                 [smallest, 2 * smallest, tiny, tiny * (1 - 2**-20), np.finfo(dtype).max]]
    else:  # log1p
        eps = 2.0**-24 if f32 else 2.0**-53
        parts = [-1 + logspace(np.log10(eps), -0.5, 200), np.linspace(-0.99, 1.0, 800),
                 logspace(-40, 0, 150), -logspace(-40, -0.5, 150), logspace(0, 38 if f32 else 308, 300),
                 rng.uniform(-1, 3, 500), [smallest, -smallest, tiny, -tiny, np.finfo(dtype).max]]
    x = np.concatenate([np.asarray(p, np.float64) for p in parts]).astype(dtype)
    return np.unique(x[np.isfinite(x)])


def _reference(name, x, dtype):
    """(hi, lo, ulp): the exact f(x) ~ hi + lo and the ulp of `dtype` at f(x); hi = +-inf on overflow."""
    mant, emin = (24, -149) if dtype == np.float32 else (53, -1074)
    fmax = mpmath.mpf(float(np.finfo(dtype).max))
    half_ulp_max = mpmath.ldexp(1, int(np.finfo(dtype).maxexp) - mant - 1)
    hi = np.empty(x.size)
    lo = np.empty(x.size)
    ulp = np.empty(x.size)
    with mpmath.workprec(160):
        for i, xi in enumerate(x.astype(np.float64)):
            v = MP[name](mpmath.mpf(float(xi)))
            if abs(v) >= fmax + half_ulp_max:  # rounds to +-inf in this dtype
                hi[i], lo[i], ulp[i] = (np.inf if v > 0 else -np.inf), 0.0, np.inf
                continue
            h = float(v)
            hi[i], lo[i] = h, float(v - h)
            e = mpmath.frexp(v)[1] if v != 0 else emin + mant
            ulp[i] = float(mpmath.ldexp(1, max(int(e) - mant, emin)))
    return hi, lo, ulp


@pytest.fixture(scope="session")
def references():
    """{(name, dtype): (x, hi, lo, ulp)}: computed once per session (a few thousand points each)."""
    rng = np.random.default_rng(20240611)
    out = {}
    for name in FUNCS:
        for dtype in DTYPES:
            x = _points(name, dtype, rng)
            out[name, dtype] = (x, *_reference(name, x, dtype))
    return out


def ulp_errors(y, hi, lo, ulp):
    y = y.astype(np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs((y - hi) - lo) / ulp
    inf = np.isinf(hi)
    err[inf] = np.where(y[inf] == hi[inf], 0.0, np.inf)
    return err


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_accuracy_vs_mpmath(impl, references, name, dtype):
    x, hi, lo, ulp = references[name, dtype]
    y = impl(name, x)
    assert y.dtype == dtype
    err = ulp_errors(y, hi, lo, ulp)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP, f"{name}({x[worst]!r}) = {y[worst]!r}, exact {hi[worst]!r}: {err[worst]} ulp"


@pytest.mark.parametrize("name", FUNCS)
def test_float32_dense_vs_float64(impl, name):
    """float32 against the float64 NumPy result (itself within 2**-29 float32 ulp of exact)."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    x = np.concatenate([bits.view(np.float32), np.linspace(-104, 90, 100_000, dtype=np.float32),
                        np.linspace(-1, 1, 50_001, dtype=np.float32)])
    x = x[np.isfinite(x)]
    y = impl(name, x).astype(np.float64)
    with np.errstate(all="ignore"):
        ref = NP[name](x.astype(np.float64))
        ref32 = ref.astype(np.float32)
    special = ~np.isfinite(ref32)
    np.testing.assert_array_equal(y[special], ref32[special])
    _, e = np.frexp(np.abs(ref[~special]))
    e = np.where(ref[~special] == 0, -200, e)  # an exact 0 must come out as 0 (ulp = 2**-149)
    err = np.abs(y[~special] - ref[~special]) / np.ldexp(1.0, np.maximum(e - 24, -149))
    assert err.max() <= MAX_ULP, x[~special][np.argmax(err)]


# ---------------------------------------------------------------- IEEE edge cases
INF, NAN = np.inf, np.nan


def _edge_cases(dtype):
    f32 = dtype == np.float32
    tiny_sub = float(np.finfo(dtype).smallest_subnormal)
    ovf = 88.73 if f32 else 709.79  # just above the overflow threshold
    big_ok = 88.72 if f32 else 709.78  # just below
    tiny = 2.0**-30 if f32 else 2.0**-60
    cases = {
        "exp": [(INF, INF), (-INF, 0.0), (NAN, NAN), (0.0, 1.0), (-0.0, 1.0), (ovf, INF), (1000.0, INF),
                (-1000.0, 0.0), (-104.0 if f32 else -746.0, 0.0), (1e300 if not f32 else 1e30, INF)],
        "log": [(0.0, -INF), (-0.0, -INF), (-1.0, NAN), (-tiny_sub, NAN), (-INF, NAN), (INF, INF),
                (NAN, NAN), (1.0, 0.0)],
        "log1p": [(-1.0, -INF), (-1.5, NAN), (-INF, NAN), (INF, INF), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0),
                  (tiny, tiny), (-tiny, -tiny), (tiny_sub, tiny_sub), (-tiny_sub, -tiny_sub)],
        "expm1": [(-INF, -1.0), (INF, INF), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0), (tiny, tiny), (-tiny, -tiny),
                  (tiny_sub, tiny_sub), (-tiny_sub, -tiny_sub), (ovf, INF), (-50.0, -1.0), (-1000.0, -1.0)],
    }
    return cases, big_ok


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_ieee_edge_cases(impl, name, dtype):
    cases, big_ok = _edge_cases(dtype)
    x = np.array([c[0] for c in cases[name]], dtype)
    want = np.array([c[1] for c in cases[name]], dtype)
    y = impl(name, x)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, want, err_msg=f"{name} at {x}")
    zero = want == 0
    np.testing.assert_array_equal(np.signbit(y[zero]), np.signbit(want[zero]), err_msg=f"sign of zero, {name}")
    if name in ("exp", "expm1"):  # the largest inputs that do not overflow stay finite
        assert np.isfinite(impl(name, np.array([big_ok], dtype))[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_exp_gradual_underflow(impl, dtype):
    """exp walks down through every subnormal binade to the smallest subnormal and then to +0."""
    f32 = dtype == np.float32
    k = np.arange(-149 if f32 else -1074, -125 if f32 else -1021)
    x = (k * np.log(2.0)).astype(dtype)
    y = impl("exp", x)
    ref = NP["exp"](x.astype(np.float64)).astype(dtype)  # rounding the float64 result: at most
    np.testing.assert_allclose(y, ref, rtol=0, atol=float(np.finfo(dtype).smallest_subnormal))  # 1 sub-ulp
    assert np.all(y > 0) and np.all(np.diff(y) > 0)
    below = np.array([-104.0 if f32 else -745.2, -110.0 if f32 else -750.0], dtype)
    assert np.all(impl("exp", below) == 0) and not np.any(np.signbit(impl("exp", below)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_log_of_subnormals(impl, dtype):
    f32 = dtype == np.float32
    k = np.arange(-149 if f32 else -1074, -125 if f32 else -1021)
    x = np.ldexp(np.ones(k.size), k).astype(dtype)
    y = impl("log", x)
    np.testing.assert_allclose(y.astype(np.float64), k * np.log(2.0), rtol=2 * np.finfo(dtype).eps)


# ---------------------------------------------------------------- hypothesis properties
def _floats(dtype, **kw):
    return st.floats(width=32 if dtype == np.float32 else 64, **kw)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_exp_log_roundtrip(dtype):
    lo, hi = (2.0**-100, 2.0**100) if dtype == np.float32 else (1e-300, 1e300)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(_floats(dtype, min_value=lo, max_value=hi), min_size=1, max_size=50))
    def check(vals):
        x = np.array(vals, dtype)
        y = numba_call("exp", numba_call("log", x)).astype(np.float64)
        eps = float(np.finfo(dtype).eps)
        # log(x) is rounded to 1 ulp of |log x|, which exp turns into a relative error of that size
        tol = 3 * eps * (1 + np.abs(np.log(x.astype(np.float64))))
        np.testing.assert_array_less(np.abs(y - x) / x, tol)

    check()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_log1p_expm1_roundtrip(dtype):
    @settings(max_examples=150, deadline=None)
    @given(st.lists(_floats(dtype, min_value=-1.0, max_value=80.0, allow_subnormal=True), min_size=1, max_size=50))
    def check(vals):
        x = np.array(vals, dtype)
        y = numba_call("log1p", numba_call("expm1", x)).astype(np.float64)
        x64 = x.astype(np.float64)
        eps = float(np.finfo(dtype).eps)
        # expm1's relative error e is scaled by expm1(x)/(1 + expm1(x)) = -expm1(-x) in log1p
        tol = 2 * eps * (np.abs(x64) + np.abs(np.expm1(-x64)))
        assert np.all(np.abs(y - x64) <= tol), (x, y)

    check()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_monotone_on_sorted_samples(name, dtype):
    domain = {"exp": (-120.0, 100.0) if dtype == np.float32 else (-800.0, 750.0), "expm1": (-50.0, 750.0),
              "log": (0.0, None), "log1p": (-1.0, None)}[name]

    @settings(max_examples=100, deadline=None)
    @given(st.lists(_floats(dtype, min_value=domain[0], max_value=domain[1], allow_nan=False), min_size=2,
                    max_size=80))
    def check(vals):
        x = np.sort(np.array(vals, dtype))
        y = numba_call(name, x)
        assert np.all(y[1:] >= y[:-1]), (x, y)

    check()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_random_floats_vs_libm(name, dtype):
    """Any float (subnormals, huge, inf, nan): within 2 ulp + 1 ulp of libm's own error of NumPy."""

    @settings(max_examples=100, deadline=None)
    @given(st.lists(_floats(dtype), min_size=1, max_size=60))
    def check(vals):
        x = np.array(vals, dtype)
        y = numba_call(name, x)
        with np.errstate(all="ignore"):
            ref = NP[name](x.astype(np.float64)).astype(dtype) if dtype == np.float32 else NP[name](x)
        same = (y == ref) | (np.isnan(y) & np.isnan(ref))
        finite = np.isfinite(ref) & ~same
        assert np.all(same | finite), (x[~(same | finite)], y[~(same | finite)])
        spacing = np.spacing(np.abs(ref[finite]).astype(dtype)).astype(np.float64)
        assert np.all(np.abs(y[finite].astype(np.float64) - ref[finite]) <= 3 * spacing), (x, y, ref)

    check()


def test_exp_in_range_is_exp_bit_for_bit(impl):
    """exp_in_range (2**n in one step, no clamps) gives exp's bits on all of [-EXP_RANGE,
    EXP_RANGE]: dense grids, the ends, the points where n changes, tiny and signed-zero x."""
    assert fm.EXP_RANGE == 708.0
    rng = np.random.default_rng(7)
    lim = fm.EXP_RANGE
    steps = np.arange(-1022, 1022) * np.log(2.0) / 2  # n changes at odd multiples of ln2/2
    x = np.concatenate([
        np.linspace(-lim, lim, 1_000_001), rng.uniform(-lim, lim, 1_000_000), rng.normal(0, 3, 100_000),
        [-lim, lim, np.nextafter(-lim, 0), np.nextafter(lim, 0), 0.0, -0.0, 5e-324, -5e-324, 1e-300],
        steps[np.abs(steps) <= lim], np.nextafter(steps, np.inf)[np.abs(steps) < lim],
        np.nextafter(steps, -np.inf)[np.abs(steps) < lim]])
    got, want = impl("exp_in_range", x), impl("exp", x)
    bad = got.view(np.int64) != want.view(np.int64)
    assert not bad.any(), (x[bad][:5], got[bad][:5], want[bad][:5])
    if impl is numba_call:  # vectorised like exp (the C loop is in test_c_loops_vectorise)
        loop = NUMBA_LOOPS["exp_in_range"]
        ir = loop.inspect_llvm(loop.signatures[0])
        assert re.search(r"<\d+ x double>", ir) and re.search(r"fmuladd\.v\d+f64", ir)


def test_exp32_in_range_is_expf_bit_for_bit(impl):
    """exp32_in_range (the float32 row tiles' exp: 2**n in one step, no clamps) gives the float32
    exp's bits on all of [-EXP32_RANGE, EXP32_RANGE], where e**x is a normal float32: every
    64th float32 there, the ends, the points where n changes, tiny and signed-zero x; and the
    Numba loop runs in 8 float32 lanes."""
    assert fm.EXP32_RANGE == 87.0
    lim = np.float32(fm.EXP32_RANGE)
    pos = np.arange(0, np.float32(lim).view(np.int32) + 1, 64, dtype=np.int32).view(np.float32)
    steps = (np.arange(-126, 126) * np.log(2.0) / 2).astype(np.float32)  # n changes at odd multiples of ln2/2
    steps = steps[np.abs(steps) < lim]
    x = np.concatenate([pos, -pos, steps, np.nextafter(steps, np.float32(np.inf)),
                        np.nextafter(steps, np.float32(-np.inf)),
                        np.array([lim, -lim, np.nextafter(lim, 0), 0.0, -0.0, 1e-45, -1e-45], np.float32)])
    got, want = impl("exp32_in_range", x), impl("exp", x)
    assert got.dtype == np.float32 and np.all(np.isfinite(got)) and got.min() >= np.finfo(np.float32).tiny
    bad = got.view(np.int32) != want.view(np.int32)
    assert not bad.any(), (x[bad][:5], got[bad][:5], want[bad][:5])
    if impl is numba_call:
        loop = NUMBA_LOOPS["exp32_in_range"]
        assert re.search(r"<8 x float>", loop.inspect_llvm(loop.signatures[0]))


def test_exp_summand_about_one_ulp(impl, references):
    """exp_summand (no r_lo, a plain sum; the unshifted row tiles' exp) stays within 1.1 ulp of
    mpmath -- 1.015 is the worst found, where the reduced r is near -ln2/2 (e**r ~ 0.71, half
    1's ulp): the exp references' points within [-690, 690], 20000 random ones, 8000 with r
    within 1e-3 of +-ln2/2 and the two a review found past 1 ulp. (Below -690 the reference's
    low part, ~1e-16 of a result near 1e-300, is subnormal and too coarse to measure an ulp
    with.)"""
    x, hi, lo, ulp = references["exp", np.float64]
    keep = np.abs(x) <= 690.0
    rng = np.random.default_rng(11)
    n = rng.integers(-990, 990, 4000)
    half = np.concatenate([(n + 0.5) * np.log(2.0) - rng.uniform(0, 1e-3, 4000),
                           (n - 0.5) * np.log(2.0) + rng.uniform(0, 1e-3, 4000)])
    extra = np.concatenate([rng.uniform(-690.0, 690.0, 10_000), rng.normal(0, 5, 10_000), half,
                            [88.38735239660566, -160.45472695339117]])
    x = np.concatenate([x[keep], extra])
    hi2, lo2, ulp2 = _reference("exp", extra, np.float64)
    hi, lo, ulp = (np.concatenate([a[keep], b]) for a, b in ((hi, hi2), (lo, lo2), (ulp, ulp2)))
    y = impl("exp_summand", x)
    err = ulp_errors(y, hi, lo, ulp)
    worst = int(np.argmax(err))
    assert err[worst] <= 1.1, f"exp_summand({x[worst]!r}) = {y[worst]!r}, exact {hi[worst]!r}: {err[worst]} ulp"
    assert np.mean(err) < 0.3
    if impl is numba_call:  # vectorised like exp (the C loop is in test_c_loops_vectorise)
        loop = NUMBA_LOOPS["exp_summand"]
        assert re.search(r"<\d+ x double>", loop.inspect_llvm(loop.signatures[0]))


def test_log_normal_is_log_bit_for_bit(impl):
    """log_normal (no subnormal scaling, no special values) gives log's bits on every positive
    normal double: dense grids over [2**-1022, DBL_MAX] and [eps, 1], binade edges, sqrt(2)/2."""
    rng = np.random.default_rng(9)
    tiny, big = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    binades = 2.0 ** np.arange(-1022, 1024)
    x = np.concatenate([
        np.geomspace(tiny, big, 1_000_001), rng.uniform(2.2e-16, 1.0, 1_000_000), binades,
        np.nextafter(binades, 0)[1:], np.nextafter(binades, np.inf)[:-1],
        np.sqrt(0.5) * binades[1:-1], np.nextafter(np.sqrt(0.5) * binades[1:-1], 0),
        [tiny, big, 1.0, np.nextafter(1.0, 0), np.nextafter(1.0, 2), 1 - 2.0**-53, 2.220446049250313e-16]])
    got, want = impl("log_normal", x), impl("log", x)
    bad = got.view(np.int64) != want.view(np.int64)
    assert not bad.any(), (x[bad][:5], got[bad][:5], want[bad][:5])


# ---------------------------------------------------------------- dispatch, vectorisation, caching
def test_dtype_dispatch_and_python_call():
    @njit
    def f(a, b, i):
        return fm.exp(a), fm.log(b), fm.log1p(i)

    r32, r64, ri = f(np.float32(1.0), 2.0, 3)
    assert f.nopython_signatures[0].return_type == types.Tuple([types.float32] + [types.float64] * 2)
    assert r32 == np.float32(np.e)
    np.testing.assert_allclose([r64, ri], [np.log(2.0), np.log1p(3.0)], rtol=3e-16)
    assert abs(fm.exp(1.0) - np.e) <= 4.5e-16  # the stubs also run from plain Python


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", FUNCS)
def test_numba_loops_vectorise(name, dtype):
    """The plain loop must be vectorised (vector types in the optimised IR) and call no libm."""
    numba_call(name, np.ones(8, dtype))
    loop = NUMBA_LOOPS[name]
    sig = next(sig for sig in loop.signatures if sig[0].dtype == numba.from_dtype(np.dtype(dtype)))
    ir = loop.inspect_llvm(sig)
    scalar = "double" if dtype == np.float64 else "float"
    assert re.search(rf"<\d+ x {scalar}>", ir), "loop not vectorised"
    assert re.search(rf"fmuladd\.v\d+f(64|32)", ir), "polynomial not vectorised"
    asm = loop.inspect_asm(sig)
    calls = re.findall(r"\bcall[lq]?\s+\*?(\S+)", asm)
    assert not [c for c in calls if re.search(r"exp|log", c)], calls


def test_c_loops_vectorise(c_libs):
    """GCC's -fopt-info-vec report: all eight loops vectorised, also with the portable flags."""
    for build, (_, report) in c_libs.items():
        if "optimized" not in report and "vectorized" not in report:
            pytest.skip("compiler gives no vectorisation report (not GCC)")
        lines = {int(m) for m in re.findall(r"fastmath_test\.c:(\d+):\d+: optimized: loop vectorized", report)}
        src = C_SOURCE.splitlines()
        want = {i + 1 for i, line in enumerate(src) if line.startswith("LOOP(")}
        assert want <= lines, (build, sorted(want - lines), report)


def test_cached_parallel_kernel(tmp_path):
    """A kernel that inlines these compiles with cache=True and parallel=True, and a fresh process
    loads it from the cache."""
    (tmp_path / "fl_fastmath_kernel.py").write_text(textwrap.dedent(
        """
        import numpy as np
        from numba import njit, prange
        from fastloss._numba._math import exp, log1p

        @njit(nogil=True, cache=True, parallel=True)
        def softplus(x, out):
            for i in prange(x.shape[0]):
                v = x[i]
                out[i] = max(v, 0.0) + log1p(exp(-abs(v)))
        """
    ))
    check = textwrap.dedent(
        """
        import numpy as np
        x = np.linspace(-800, 800, 10001)
        out = np.empty_like(x)
        k.softplus(x, out)
        assert np.allclose(out, np.logaddexp(0, x), rtol=1e-15, atol=1e-300)
        hits = sum(k.softplus.stats.cache_hits.values())
        """
    )
    sys.path.insert(0, str(tmp_path))
    try:
        ns = {"k": importlib.import_module("fl_fastmath_kernel")}
        exec(check, ns)  # compiles here and writes the cache
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fl_fastmath_kernel", None)
    script = "\n".join([f"import sys; sys.path[:0] = {[str(tmp_path)] + SOURCE_PATH!r}",
                         "import fl_fastmath_kernel as k", check, "print(hits)"])
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1", r.stdout
