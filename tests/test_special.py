"""scipy.special drop-ins against scipy (and mpmath at the extremes), on every backend."""
import mpmath
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

import fastloss
from fastloss._api import special as special_api
from conftest import EDGE_VALUES, REFERENCES, layouts

ELEMENTWISE = ["expit", "sigmoid", "log_expit", "log_sigmoid", "softplus"]
mpmath.mp.dps = 50


def _mp_reference(name, x):
    if np.isnan(x):
        return np.nan
    if np.isinf(x):
        return {"expit": (0.0, 1.0), "log_expit": (-np.inf, 0.0), "softplus": (0.0, np.inf)}[
            name
        ][int(x > 0)]
    v = mpmath.mpf(float(x))
    if name == "expit":
        return float(1 / (1 + mpmath.exp(-v)))
    if name == "log_expit":
        return float(-mpmath.log1p(mpmath.exp(-v)))
    return float(mpmath.log1p(mpmath.exp(v)))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_edges_match_scipy_and_mpmath(backend, name):
    fn = getattr(fastloss, name)
    with np.errstate(all="ignore"):
        ref = REFERENCES[name](EDGE_VALUES)
    got = fn(EDGE_VALUES)
    assert got.dtype == ref.dtype
    # scipy flushes expit(-710) = 4.5e-309 to 0; the mpmath check below holds us to the subnormal
    # absolute slack: scipy cancels (x - m) - log(s) where we use log1p, near-zero entries differ
    assert_allclose(got, ref, rtol=1e-15, atol=1e-15, equal_nan=True)
    base = name.replace("sigmoid", "expit")
    exact = np.array([_mp_reference(base, v) for v in EDGE_VALUES])
    assert_allclose(got, exact, rtol=1e-15, atol=0, equal_nan=True)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_float32(backend, name):
    fn = getattr(fastloss, name)
    with np.errstate(over="ignore"):
        x = np.concatenate([EDGE_VALUES, np.linspace(-100, 100, 2001)]).astype(np.float32)
    with np.errstate(all="ignore"):
        exact = REFERENCES[name](x.astype(np.float64)).astype(np.float32)
    got = fn(x)
    assert got.dtype == np.float32
    # at most one float32 rounding away from the correctly rounded value
    assert_allclose(got, exact, rtol=1.2e-7, atol=1e-45, equal_nan=True)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_float32_lanes(backend, name):
    """float32 input gets exp(-|x|) in float32 lanes and the rest in float64: within 2 float32
    ulp of the exact value (the float64 reference is within 1e-16 of it) over a dense grid from
    subnormal to overflow, past the kernels' 256-element chunks and the parallel size; a strided
    view gives the bits of its contiguous copy."""
    fn = getattr(fastloss, name)
    rng = np.random.default_rng(5)
    x = np.concatenate([np.linspace(-110, 110, 150_001), rng.normal(scale=8, size=50_000),
                        np.float32(10.0) ** rng.uniform(-45, 1.5, 20_000),
                        -np.float32(10.0) ** rng.uniform(-45, 1.5, 20_000)]).astype(np.float32)
    with np.errstate(all="ignore"):
        exact = REFERENCES[name](x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    # the ufunc (Cython's loops) and the function behind it (the selected backend's kernels,
    # what a build without the Cython extension serves)
    base = {"sigmoid": "expit", "log_sigmoid": "log_expit"}.get(name, name)
    for f in (fn, getattr(special_api, f"{base}_function")):
        got = f(x)
        assert got.dtype == np.float32
        err = np.abs(got.astype(np.float64) - exact) / ulp
        assert err.max() <= 2.0, (f, float(err.max()), float(x[err.argmax()]))
        strided = np.repeat(x, 2)[::2]
        assert_array_equal(f(strided), got)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_exp_in_range_chunks(backend, name):
    """float64 input: a 256-element chunk whose |x| all lie within 708 takes exp without its edge
    cases, one with an |x| beyond (or a nan) the full exp; both give the same bits, so dropping
    the chunks' outliers leaves every other result unchanged, and the outliers match scipy."""
    fn = getattr(fastloss, name)
    rng = np.random.default_rng(11)
    x = rng.normal(scale=30, size=300_000)
    outliers = [708.5, -708.5, 709.9, -745.5, 800.0, -1e300, np.inf, -np.inf, np.nan, 5e-324]
    where = rng.choice(x.size, size=60, replace=False)
    x[where] = np.resize(outliers, where.size)
    x[255:257] = [-708.0, 708.0]  # the range's ends, either side of a chunk boundary
    keep = np.ones(x.size, bool)
    keep[where] = False
    with np.errstate(all="ignore"):
        ref = REFERENCES[name](x)
    # the ufunc (Cython's loops) and the function behind it (the selected backend's kernels)
    base = {"sigmoid": "expit", "log_sigmoid": "log_expit"}.get(name, name)
    for f in (fn, getattr(special_api, f"{base}_function")):
        got = f(x)
        assert_array_equal(f(x[keep]), got[keep])
        assert_allclose(got, ref, rtol=1e-15, atol=1e-300, equal_nan=True)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_layouts_dtypes_and_out(backend, name):
    fn = getattr(fastloss, name)
    ref_fn = REFERENCES[name]
    values = EDGE_VALUES[:-1]  # even length, so the Fortran layout is produced too
    for label, arr in layouts(values):
        with np.errstate(all="ignore"):
            ref = ref_fn(np.asarray(arr))
        before = np.array(arr, copy=True)
        got = fn(arr)
        assert_allclose(got, ref, rtol=1e-15, atol=1e-300, equal_nan=True, err_msg=label)
        assert_array_equal(np.asarray(arr), before, err_msg=f"{label}: input modified")
    for dtype in (np.int8, np.int32, np.int64, np.uint8, np.float16, np.longdouble, np.bool_):
        x = np.array([0, 1, 1, 0], dtype=dtype)
        with np.errstate(all="ignore"):
            ref = ref_fn(x)
        got = fn(x)
        assert got.dtype == ref.dtype, dtype
        assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=1e-3 if ref.dtype == np.float16 else 1e-15)
    # scalars come back as numpy scalars, like a ufunc
    assert type(fn(0.25)) is type(ref_fn(0.25))
    assert fn(np.empty(0)).shape == (0,)
    # out=: written in place and returned; the input may be its own output
    x = np.linspace(-5, 5, 11)
    out = np.empty_like(x)
    assert fn(x, out=out) is out
    assert_allclose(out, ref_fn(x), rtol=1e-15)
    y = x.copy()
    fn(y, out=y)
    assert_allclose(y, ref_fn(x), rtol=1e-15)
    out32 = np.empty(11, np.float32)
    fn(x, out=out32)
    assert_allclose(out32, ref_fn(x).astype(np.float32), rtol=1e-7)
    strided_out = np.zeros(22)[::2]
    fn(x, out=strided_out)
    assert_allclose(strided_out, ref_fn(x), rtol=1e-15)


ELEMENTWISE_REF = {"expit": sp.expit, "sigmoid": sp.expit, "log_expit": sp.log_expit,
                   "log_sigmoid": sp.log_expit,
                   "softplus": lambda x, out=None: np.logaddexp(0, x, out=out)}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_bad_input(backend, name):
    """Each bad call raises what the reference (a NumPy ufunc) raises: the same exception type,
    and never a crash, a silent nan or a modified input."""
    fn, ref = getattr(fastloss, name), ELEMENTWISE_REF[name]
    ro = np.empty(3)
    ro.flags.writeable = False
    calls = [
        ((np.array(["a", "b"]),), {}, TypeError),
        ((np.ones(3, complex),), {}, TypeError),
        ((None,), {}, TypeError),
        ((np.ones(3),), {"out": np.empty(4)}, ValueError),       # out of another shape
        ((np.ones(3),), {"out": ro}, ValueError),                 # read-only out
        ((np.ones(3),), {"out": np.empty(3, dtype=np.int64)}, TypeError),  # unsafe cast
        ((np.ones(3),), {"out": [0.0, 0.0, 0.0]}, TypeError),     # out not an array
    ]
    for args, kwargs, kind in calls:
        with pytest.raises(kind) as want:
            ref(*args, **kwargs)
        with pytest.raises(kind) as got:
            fn(*args, **kwargs)
        assert isinstance(got.value, type(want.value)) or isinstance(want.value, type(got.value)), (
            args, kwargs, got.value, want.value)


def test_large_elementwise_runs_parallel_path(backend):
    x = np.random.default_rng(0).normal(scale=30, size=300_001)
    assert_allclose(fastloss.expit(x), sp.expit(x), rtol=1e-15)
    assert_allclose(fastloss.softplus(x), np.logaddexp(0, x), rtol=1e-15)
    assert_allclose(fastloss.log_expit(x), sp.log_expit(x), rtol=1e-15, atol=0)


# ------------------------------------------------------------------- logsumexp
LSE_CASES = [
    ([1.0, 2.0, 3.0], {}),
    ([[1.0, 2.0], [3.0, 4.0]], {"axis": 0}),
    ([[1.0, 2.0], [3.0, 4.0]], {"axis": 1, "keepdims": True}),
    ([[1.0, 2.0], [3.0, 4.0]], {"axis": -1}),
    ([[1e300, 1e300], [-1e300, 0.0]], {"axis": 1}),
    ([[np.inf, 1.0], [-np.inf, -np.inf], [np.nan, 1.0], [np.inf, -np.inf]], {"axis": 1}),
    ([[0.0, -800.0], [1e-20, -1e-20]], {"axis": 1}),
    ([0.0, -50.0], {}),  # one dominating term: accuracy of the log1p split
    (np.arange(24.0).reshape(2, 3, 4), {"axis": (0, 2)}),
    (np.arange(24.0).reshape(2, 3, 4), {"axis": (0, 1)}),
    (np.arange(24.0).reshape(2, 3, 4), {"axis": 1}),
    (np.arange(24.0).reshape(2, 3, 4), {"axis": None, "keepdims": True}),
    (5.0, {}),
    (np.empty(0), {}),
    (np.empty((3, 0)), {"axis": 1}),
    (np.empty((0, 3)), {"axis": 1}),
    (np.ones(5, dtype=np.int64), {}),
    (np.ones(5, dtype=np.float16), {}),
]


@pytest.mark.parametrize("a,kwargs", LSE_CASES)
def test_logsumexp_matches_scipy(backend, a, kwargs):
    ref = sp.logsumexp(a, **kwargs)
    got = fastloss.logsumexp(a, **kwargs)
    assert np.shape(got) == np.shape(ref)
    assert np.asarray(got).dtype == np.asarray(ref).dtype
    tol = 1e-3 if np.asarray(ref).dtype == np.float16 else 4e-16
    assert_allclose(got, ref, rtol=tol, equal_nan=True)
    ref_v, ref_s = sp.logsumexp(a, return_sign=True, **kwargs)
    got_v, got_s = fastloss.logsumexp(a, return_sign=True, **kwargs)
    assert_allclose(got_v, ref_v, rtol=tol, equal_nan=True)
    assert_array_equal(got_s, ref_s)


def test_logsumexp_mpmath_extremes(backend):
    rows = [
        [0.0, -50.0, -60.0],
        [1e300, 1e300 - 1e284, 0.0],
        [-1e300, -1e300],
        [-745.0, -745.0, -745.0],
        [700.0, 709.0, 709.7],
        [1e-300, -1e-300, 5e-324],
    ]
    for row in rows:
        exact = float(mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in row)))
        assert_allclose(fastloss.logsumexp(row), exact, rtol=1e-15, atol=0, err_msg=str(row))


@pytest.mark.parametrize(
    "b,kwargs",
    [
        ([1.0, -2.0, 0.5], {}),
        ([[1.0], [0.0]], {"axis": 1}),
        ([0.0, 0.0, 0.0], {}),
        ([1.0, 1.0, -1.0], {}),
        (2.0, {}),
        (np.float32(2.0), {}),
    ],
)
def test_logsumexp_with_b(backend, b, kwargs):
    a = np.array([[1.0, 2.0, np.inf], [1.0, 2.0, 3.0]]) if kwargs else [1.0, 2.0, 3.0]
    for return_sign in (False, True):
        with np.errstate(all="ignore"):
            ref = sp.logsumexp(a, b=b, return_sign=return_sign, **kwargs)
        got = fastloss.logsumexp(a, b=b, return_sign=return_sign, **kwargs)
        if return_sign:
            assert_allclose(got[0], ref[0], rtol=1e-15, equal_nan=True)
            assert_array_equal(got[1], ref[1])
        else:
            assert np.asarray(got).dtype == np.asarray(ref).dtype
            assert_allclose(got, ref, rtol=1e-15, equal_nan=True)


def test_logsumexp_large_and_layouts(backend):
    rng = np.random.default_rng(1)
    x = rng.normal(scale=10, size=(20_000, 10))
    assert_allclose(fastloss.logsumexp(x, axis=1), sp.logsumexp(x, axis=1), rtol=1e-15)
    assert_allclose(fastloss.logsumexp(x, axis=0), sp.logsumexp(x, axis=0), rtol=1e-14)
    assert_allclose(fastloss.logsumexp(x), sp.logsumexp(x), rtol=1e-14)
    flat = rng.normal(size=300_000)
    assert_allclose(fastloss.logsumexp(flat), sp.logsumexp(flat), rtol=1e-14)
    flat[1234] = np.inf
    assert fastloss.logsumexp(flat) == np.inf
    flat[999] = np.nan
    assert np.isnan(fastloss.logsumexp(flat))
    f = np.asfortranarray(x[:300])
    assert_allclose(fastloss.logsumexp(f, axis=1), sp.logsumexp(f, axis=1), rtol=1e-15)
    assert_allclose(fastloss.logsumexp(f, axis=0), sp.logsumexp(f, axis=0), rtol=1e-14)
    for label, arr in layouts(x[:4].ravel()):
        a2 = np.asarray(arr).reshape(8, 5) if label != "fortran" else arr
        assert_allclose(fastloss.logsumexp(a2, axis=-1), sp.logsumexp(np.asarray(a2), axis=-1), rtol=1e-15)
    x32 = x.astype(np.float32)
    got = fastloss.logsumexp(x32, axis=1)
    assert got.dtype == np.float32
    assert_allclose(got, sp.logsumexp(x, axis=1), rtol=1e-6)


def test_logsumexp_bad_input(backend):
    with pytest.raises(np.exceptions.AxisError):
        fastloss.logsumexp(np.ones((2, 2)), axis=2)
    with pytest.raises(TypeError, match="axis"):
        fastloss.logsumexp(np.ones((2, 2)), axis=1.5)
    with pytest.raises(TypeError, match="a"):
        fastloss.logsumexp(["x", "y"])
    with pytest.raises(TypeError, match="b"):
        fastloss.logsumexp([1.0, 2.0], b=["x", "y"])
    with pytest.raises(ValueError):
        fastloss.logsumexp(np.ones(3), b=np.ones(4))


# ------------------------------------------------------------------- softmax / log_softmax
SOFTMAX_CASES = [
    ([1.0, 2.0, 3.0], None),
    ([[1.0, 0.5, 0.2, 3.0], [1.0, -1.0, 7.0, 3.0], [2.0, 12.0, 13.0, 3.0]], None),
    ([[1.0, 0.5, 0.2, 3.0], [1.0, -1.0, 7.0, 3.0], [2.0, 12.0, 13.0, 3.0]], 0),
    ([[1.0, 0.5, 0.2, 3.0], [1.0, -1.0, 7.0, 3.0], [2.0, 12.0, 13.0, 3.0]], 1),
    ([[1000.0, 0.0], [-1000.0, 0.0], [np.inf, 1.0], [-np.inf, -np.inf], [np.nan, 0.0], [-np.inf, 0.0]], 1),
    (np.arange(24.0).reshape(2, 3, 4), (0, 2)),
    (np.arange(24.0).reshape(2, 3, 4), -1),
    (3.0, None),
    (np.float32(3.0), None),
    (np.empty((0, 3)), 1),
    (np.array([1, 2, 3], dtype=np.int32), None),
]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("x,axis", SOFTMAX_CASES)
def test_softmax_family_matches_scipy(backend, name, x, axis):
    with np.errstate(all="ignore"):
        ref = REFERENCES[name](x, axis=axis)
    got = getattr(fastloss, name)(x, axis=axis)
    assert type(got) is type(ref)
    assert np.shape(got) == np.shape(ref)
    assert np.asarray(got).dtype == np.asarray(ref).dtype
    # absolute slack: scipy cancels (x - m) - log(s) where we use log1p, near-zero entries differ
    assert_allclose(got, ref, rtol=1e-15, atol=1e-15, equal_nan=True)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_rows_exp_in_range_tiles(backend, name):
    """Row tiles (K <= 128): a tile whose x - max all lie within 708 takes exp without its edge
    cases, any other is redone with the full exp; the same bits, so results of the other rows do
    not change when the outlier rows are dropped (which moves every tile boundary), and rows with
    -inf, nan, +inf or a spread past 708 (subnormal and zero terms) match scipy."""
    fn = getattr(fastloss, name)
    rng = np.random.default_rng(12)
    x = rng.normal(scale=4, size=(3000, 10))
    odd = rng.choice(3000, size=40, replace=False)
    for n, i in enumerate(odd):
        x[i, n % 10] = [x[i].max() - 720.0, x[i].max() - 708.5, -745.0 - x[i].max(), -np.inf, np.nan,
                        np.inf, 2000.0, -1e300][n % 8]
    got = fn(x, axis=1)
    keep = np.ones(3000, bool)
    keep[odd] = False
    assert_array_equal(fn(x[keep], axis=1), got[keep])
    with np.errstate(all="ignore"):
        ref = REFERENCES[name](x, axis=1)
    # log_softmax: scipy cancels (x - m) - log(s) where we use log1p, near-zero entries differ
    assert_allclose(got, ref, rtol=1e-14, atol=1e-15 if name == "log_softmax" else 1e-320, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_unshifted_rows(backend, dtype):
    """Rows whose |x| all lie within 350 are e**x / sum e**x with no max shift (no x - m rounds
    before its exp): within 6 ulp of mpmath (scipy's own error reaches 10 ulp on these rows);
    rows beyond (400, a -inf, a nan, all -inf, a +inf) sharing their tiles take the shifted
    path and match scipy; and every row has the bits it gets alone (the path is chosen per
    row, not per tile)."""
    rng = np.random.default_rng(17)
    n, k = 100, 7
    x = np.clip(rng.normal(size=(n, k)) * 40, -340, 340)
    x[3, 2] = 400.0
    x[5, 1] = -np.inf
    x[7, 0] = np.nan
    x[9] = -np.inf
    x[11, 4] = np.inf
    x = x.astype(dtype)
    got = fastloss.softmax(x, axis=1)
    odd = [3, 5, 7, 9, 11]
    clean = np.setdiff1d(np.arange(n), odd)
    with mpmath.workdps(40):
        ref = np.array([[float(mpmath.exp(mpmath.mpf(float(v))) / mpmath.fsum(mpmath.exp(mpmath.mpf(float(u))) for u in row))
                         for v in row] for row in x[clean]])
    if dtype == np.float64:
        assert_allclose(got[clean], ref, rtol=6 * 2.0**-53, atol=1e-300)
    else:
        assert_allclose(got[clean], ref, rtol=2.0**-23, atol=1e-44)
    with np.errstate(invalid="ignore"):
        assert_allclose(got[odd], sp.softmax(x[odd].astype(np.float64), axis=1).astype(dtype),
                        rtol=1e-14 if dtype == np.float64 else 2.0**-22, equal_nan=True)
    for i in (0, 4, 6, 31, 40, 99):
        assert_array_equal(fastloss.softmax(x[[i]], axis=1), got[[i]])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_errors_and_layouts(backend, name):
    fn = getattr(fastloss, name)
    with pytest.raises(ValueError, match="zero-size"):
        fn(np.empty((3, 0)), axis=1)
    with pytest.raises(ValueError, match="zero-size"):
        fn(np.empty(0))
    with pytest.raises(np.exceptions.AxisError):
        fn(np.ones(3), axis=1)
    x = np.random.default_rng(2).normal(size=(5000, 12)) * 20
    ref = REFERENCES[name](x, axis=1)
    assert_allclose(fn(x, axis=1), ref, rtol=1e-14, atol=1e-15)
    assert_allclose(fn(np.asfortranarray(x), axis=1), ref, rtol=1e-14, atol=1e-15)
    assert_allclose(fn(x.astype(">f8"), axis=1), ref, rtol=1e-14, atol=1e-15)
    got32 = fn(x.astype(np.float32), axis=1)
    assert got32.dtype == np.float32
    assert_allclose(got32, REFERENCES[name](x.astype(np.float32).astype(np.float64), axis=1),
                    rtol=2e-6, atol=1e-15)


# ------------------------------------------------------------------- properties
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
rows = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8), elements=finite)


@given(x=rows, c=st.floats(-100, 100))
def test_property_logsumexp_shift_invariance(x, c):
    assert_allclose(fastloss.logsumexp(x + c, axis=1), fastloss.logsumexp(x, axis=1) + c, rtol=1e-12, atol=1e-9)


@given(x=rows)
def test_property_softmax_rows_sum_to_one_and_log_softmax(x):
    s = fastloss.softmax(x, axis=1)
    assert np.all(s >= 0)
    assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    lse = fastloss.logsumexp(x, axis=1, keepdims=True)
    assert_allclose(fastloss.log_softmax(x, axis=1), x - lse, rtol=1e-12, atol=1e-9)


@given(x=hnp.arrays(np.float64, st.integers(0, 50), elements=st.floats(-740, 740)))
def test_property_expit_symmetry(x):
    assert_allclose(fastloss.expit(-x), 1 - fastloss.expit(x), atol=2e-16)
    assert_allclose(fastloss.log_expit(x) - fastloss.log_expit(-x), x, rtol=1e-12, atol=1e-12)
    assert_allclose(fastloss.softplus(x) - fastloss.softplus(-x), x, rtol=1e-12, atol=1e-12)


COMPLEX_CASES = [
    np.array([1 + 2j, 3 - 1j, -2 + 0.5j]),
    np.array([[0.5 + 4j, -1j, 2 + 0j], [np.inf + 1j, 1 + 1j, 0j]]),
    np.array([-np.inf + 0j, -np.inf + 3j]),
    np.array([1e300 + 1j, 1e300 - 1j], dtype=np.complex128),
    np.array([1 + 1j, 2 - 3j], dtype=np.complex64),
    np.array([np.nan + 1j, 1 + 0j]),
]


@pytest.mark.parametrize("case", range(len(COMPLEX_CASES)))
def test_complex_input_as_scipy(backend, case):
    """Complex a (or b) is served as SciPy serves it: values, phases wrapped to (-pi, pi], signs."""
    import scipy.special as sp

    a = COMPLEX_CASES[case]
    axis = -1 if a.ndim > 1 else None
    with np.errstate(all="ignore"):
        for got, want in [
            (fastloss.logsumexp(a, axis=axis), sp.logsumexp(a, axis=axis)),
            (fastloss.logsumexp(a, axis=axis, return_sign=True),
             sp.logsumexp(a, axis=axis, return_sign=True)),
            (fastloss.logsumexp(a.real, axis=axis, b=np.full(a.shape, -1 + 1j)),
             sp.logsumexp(a.real, axis=axis, b=np.full(a.shape, -1 + 1j))),
            (fastloss.softmax(a, axis=axis), sp.softmax(a, axis=axis)),
            (fastloss.log_softmax(a, axis=axis), sp.log_softmax(a, axis=axis)),
        ]:
            for g, w in zip(got if isinstance(got, tuple) else (got,),
                            want if isinstance(want, tuple) else (want,)):
                assert np.asarray(g).dtype == np.asarray(w).dtype
                np.testing.assert_allclose(g, w, rtol=1e-6 if np.asarray(w).dtype.itemsize <= 8 else 1e-14,
                                           equal_nan=True)


def _mp_lse(row):
    return mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))


def _unshifted_rows_case(k=7):
    """Rows for the unshifted logsumexp / log_softmax tiles: random within 350 (|log S| >= 1
    mostly), a dominant term ([0, -40, ...]: logsumexp 3.7e-17), ties, log-probabilities
    (logsumexp ~ 0: the near-zero path), large magnitudes, and rows beyond 350 / inf / nan in the
    same tiles (the shifted path)."""
    rng = np.random.default_rng(23)
    x = np.clip(rng.normal(size=(120, k)) * 40, -340, 340)
    x[1] = [0.0, -40.0, -50.0, -60.0, -45.0, -38.0, -70.0]
    x[2] = [-0.7, -0.7, -30.0, -31.0, -32.0, -33.0, -34.0]  # logsumexp -0.0069: cancels
    x[4] = np.log(rng.dirichlet(np.ones(k)))
    x[6] = [300.0, 299.5, 298.0, 250.0, 301.0, 299.0, 100.0]
    x[8] = [5.0, 5.0, 5.0, -1.0, 2.0, 5.0, 0.0]
    x[10] = [30.0, 0.0, -5.0, 1.0, 2.0, 3.0, -300.0]
    x[12] = np.log([1 - 6e-10] + [1e-10] * 6)  # log-probabilities, one class near 1
    x[13, 2] = 400.0
    x[15, 1] = -np.inf
    x[17, 0] = np.nan
    x[19] = -np.inf
    x[21, 4] = np.inf
    return x, [13, 15, 17, 19, 21]


def test_logsumexp_unshifted_rows(backend):
    """Rows whose |x| all lie within 350: log sum e**x unshifted where |log S| >= 1 (within 8 ulp
    of mpmath, relative), x_a + log1p(...) nearer 0, so a dominant term keeps the relative
    precision ([0, -40, ...]: 3.7e-17) and other near-zero rows are within 4 ulp of 1; rows
    beyond take the shifted path (as scipy); every row has the bits it gets alone."""
    x, odd = _unshifted_rows_case()
    got = fastloss.logsumexp(x, axis=1)
    clean = np.setdiff1d(np.arange(x.shape[0]), odd)
    with mpmath.workdps(40):
        ref = np.array([float(_mp_lse(x[i])) for i in clean])
    err = np.abs(got[clean] - ref)
    assert np.all(err <= 8 * 2.0**-53 * np.maximum(np.abs(ref), 1.0)), (clean[np.argmax(err)], err.max())
    assert np.all(err[np.abs(ref) >= 1.0] <= 8 * 2.0**-53 * np.abs(ref[np.abs(ref) >= 1.0]))
    i1 = list(clean).index(1)
    assert 3e-17 < ref[i1] < 4e-17 and abs(got[1] / ref[i1] - 1) <= 4 * 2.0**-53
    with np.errstate(invalid="ignore"):
        assert_allclose(got[odd], sp.logsumexp(x[odd], axis=1), rtol=1e-14, equal_nan=True)
    for i in (0, 1, 2, 4, 12, 13, 40, 119):
        assert_array_equal(fastloss.logsumexp(x[[i]], axis=1), got[[i]])
    # float32: S = e**89 exceeds float32's range, the logsumexp 89.11 does not
    x32 = np.full((40, 5), 87.5, np.float32)
    assert_array_equal(fastloss.logsumexp(x32, axis=1), np.full(40, np.float32(87.5 + np.log(5.0))))


def test_log_softmax_unshifted_rows(backend):
    """Rows whose |x| all lie within 350: (x - x_a) - log1p(sum over t != a of e**x_t / e**x_a),
    a the argmax, with no max pass: within 4 ulp of mpmath relative to max(|value|, 1) -- and
    relative to the value itself for a dominant class's entry (-3.7e-17 for [0, -40, ...], where
    scipy gives 0) and for large rows ([300, 299.5, ...]); rows beyond take the shifted path (as
    scipy); every row has the bits it gets alone."""
    x, odd = _unshifted_rows_case()
    got = fastloss.log_softmax(x, axis=1)
    clean = np.setdiff1d(np.arange(x.shape[0]), odd)
    with mpmath.workdps(40):
        ref = np.array([[float(mpmath.mpf(float(v)) - _mp_lse(x[i])) for v in x[i]] for i in clean])
    err = np.abs(got[clean] - ref)
    assert np.all(err <= 4 * 2.0**-53 * np.maximum(np.abs(ref), 1.0)), err.max()
    for i in (1, 6, 10, 12):  # a dominant class, large magnitudes: relative to the value
        r = ref[list(clean).index(i)]
        assert np.all(np.abs(got[i] - r) <= 4 * 2.0**-53 * np.abs(r)), (i, got[i], r)
    assert -4e-17 < got[1, 0] < -3e-17
    with np.errstate(invalid="ignore"):
        assert_allclose(got[odd], sp.log_softmax(x[odd], axis=1), rtol=1e-14, atol=1e-15, equal_nan=True)
    for i in (0, 1, 2, 4, 12, 13, 40, 119):
        assert_array_equal(fastloss.log_softmax(x[[i]], axis=1), got[[i]])
