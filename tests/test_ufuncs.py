"""expit, log_expit, softplus (and sigmoid, log_sigmoid) as real NumPy ufuncs (issue 11, item 1):
NumPy's type resolution, casting, broadcasting, out=/where=/dtype=, __array_ufunc__ for pandas and
Dask, the parallel contiguous loop bitwise the same for any thread count."""
import numpy as np
import pytest
import scipy.special as sp
from numpy.testing import assert_allclose

import fastloss

pytestmark = pytest.mark.skipif(not isinstance(fastloss.expit, np.ufunc),
                                reason="a build without the Cython backend has no ufuncs")

UFUNCS = {"expit": (fastloss.expit, sp.expit), "log_expit": (fastloss.log_expit, sp.log_expit),
          "softplus": (fastloss.softplus, lambda x, **kw: np.logaddexp(0, x, **kw))}
DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
          np.uint64, np.float16, np.float32, np.float64, np.longdouble]
X = np.array([-800.0, -40.0, -1.5, -1e-300, 0.0, 1e-300, 0.7, 3.0, 40.0, 800.0, np.inf,
              -np.inf, np.nan])


def _close(got, want):
    """Same dtype, nan/inf positions; values to a few ulp of the result dtype (SciPy flushes
    expit's subnormal results to 0, fastloss keeps them: compared with an absolute floor)."""
    assert got.dtype == want.dtype
    tol = {2: 1e-3, 4: 1e-6}.get(want.dtype.itemsize, 1e-15)
    tiny = float(np.finfo(want.dtype).tiny) if want.dtype.kind == "f" else 1e-300
    assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tiny,
                    equal_nan=True)


def test_they_are_ufuncs():
    for name in ("expit", "sigmoid", "log_expit", "log_sigmoid", "softplus"):
        fn = getattr(fastloss, name)
        assert isinstance(fn, np.ufunc) and fn.nin == 1 and fn.nout == 1
    assert fastloss.sigmoid is fastloss.expit and fastloss.log_sigmoid is fastloss.log_expit


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UFUNCS))
def test_dtype_rules_and_values_as_the_reference(name, dtype):
    fn, ref = UFUNCS[name]
    x = (X > 0) if dtype is np.bool_ else X
    with np.errstate(all="ignore"):
        x = x.astype(dtype)
        _close(fn(x), ref(x))
        _close(np.asarray(fn(x[3])), np.asarray(ref(x[3])))  # numpy scalars


@pytest.mark.parametrize("name", list(UFUNCS))
def test_ufunc_machinery(name):
    fn, ref = UFUNCS[name]
    rng = np.random.default_rng(1)
    a = rng.normal(0, 20, (7, 9))
    # broadcasting / layouts: Fortran order, strided views, negative strides
    for v in (np.asfortranarray(a), a[:, ::2], a[::-1, 1::3], a.T):
        _close(fn(v), ref(v))
    # out= (also a strided out), in place, where=, dtype=, casting=
    out = np.full((7, 9), -5.0)
    assert fn(a, out=out) is out
    _close(out, ref(a))
    strided = np.zeros((7, 18))[:, ::2]
    fn(a, out=strided)
    _close(strided, ref(a))
    b = a.copy()
    fn(b, out=b)
    _close(b, ref(a))
    mask = a > 0
    w = np.full_like(a, 7.0)
    fn(a, out=w, where=mask)
    assert np.all(w[~mask] == 7.0)
    _close(w[mask], ref(a)[mask])
    _close(fn(a, dtype=np.float32), ref(a, dtype=np.float32))
    with pytest.raises(TypeError):
        fn(a, out=np.empty((7, 9), np.int64))
    _close(fn(a.astype(np.float32), casting="unsafe", dtype=np.float64),
           ref(a.astype(np.float32), casting="unsafe", dtype=np.float64))
    # the input is never modified
    before = a.copy()
    fn(a)
    assert np.array_equal(a, before)


def test_pandas_and_dask_through_array_ufunc():
    pd = pytest.importorskip("pandas")
    da = pytest.importorskip("dask.array")
    s = pd.Series([-1.0, 0.0, 2.0], index=["a", "b", "c"], name="z")
    r = fastloss.expit(s)
    assert isinstance(r, pd.Series) and list(r.index) == ["a", "b", "c"] and r.name == "z"
    _close(r.to_numpy(), sp.expit(s.to_numpy()))
    df = pd.DataFrame({"u": [0.5, -3.0], "v": [9.0, -9.0]})
    rd = fastloss.softplus(df)
    assert isinstance(rd, pd.DataFrame) and list(rd.columns) == ["u", "v"]
    x = da.from_array(np.linspace(-50, 50, 1001), chunks=100)
    lazy = fastloss.log_expit(x)
    assert isinstance(lazy, da.Array)  # nothing computed yet
    _close(lazy.compute(), sp.log_expit(np.linspace(-50, 50, 1001)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(UFUNCS))
def test_parallel_loop_bitwise_identical_for_any_thread_count(name, dtype):
    fn, ref = UFUNCS[name]
    x = np.random.default_rng(2).normal(0, 30, 300_001).astype(dtype)  # several blocks
    with fastloss.thread_limit(1):
        one = fn(x)
    fastloss.set_num_threads(2)
    two = fn(x)
    assert one.tobytes() == two.tobytes()
    _close(two, ref(x))


@pytest.mark.parametrize("name", list(UFUNCS))
def test_warnings_across_chunks(name):
    """float64 loops take exp a chunk of 256 at a time without its edge cases and redo a chunk
    holding an |x| past 708 (or a nan) with the full exp, after restoring the flags the discarded
    values raised: a flag the reference raises in one chunk survives a redo in a later one, and a
    redo adds none, in either order."""
    import warnings

    fn, ref = UFUNCS[name]
    rng = np.random.default_rng(4)
    for first, second in [(np.nan, 1e300), (1e300, np.nan), (np.inf, -np.inf), (-1e300, np.nan), (800.0, 0.5)]:
        x = rng.normal(size=2000)
        x[10], x[700] = first, second
        seen = []
        for f in (fn, ref):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                f(x)
            seen.append(sorted(str(m.message).replace("logaddexp", name) for m in w))
        assert seen[0] == seen[1], (first, second, seen)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.longdouble])
@pytest.mark.parametrize("name", list(UFUNCS))
def test_warnings_as_the_reference(name, dtype):
    """NumPy reports the FP flags a loop leaves as RuntimeWarnings: the same ones as the
    reference (none for expit/log_expit of nan or +-inf; 'invalid' for softplus of nan, as
    np.logaddexp), serial and strided loops alike."""
    import warnings

    fn, ref = UFUNCS[name]
    for v in [np.nan, np.inf, -np.inf, -800.0, 800.0, 5e-324, 1e300, -1e300, 0.0]:
        seen = []
        for f in (fn, ref):
            with np.errstate(over="ignore"):  # 1e300 as float32 is inf
                x = np.array([v, v, v], dtype=dtype)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                f(x)
                f(x[::2])
            seen.append(sorted(str(m.message).replace("logaddexp", name) for m in w))
        assert seen[0] == seen[1], (v, seen)
