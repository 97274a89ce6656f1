"""The Cython backend kernels against the NumPy reference and the Numba backend.

Every kernel of ``fastloss._cython`` is called directly (the backend contract: C-contiguous typed
arrays, see fastloss/_numpy) on random and adversarial inputs -- +-inf, nan, all -inf rows, empty
reduction axes, float32/float64, zero weights -- and compared with ``fastloss._numpy`` (within a
few ulp) and ``fastloss._numba`` (within 1e-12: same formulas and blocks, but flmath.h's exp/log here
and Numba's own vectorised ones there). Every kernel must be bitwise identical for 1 and 2 threads
on inputs spanning several blocks.

The extension is built by ``pip install -e . --no-build-isolation`` (CI does): a missing build is
a failure here, not a skip.
"""
import numpy as np
import pytest

from fastloss import _numba as nb
from fastloss import _numpy as ref
from fastloss._constants import ELEMENT_BLOCK, ROW_BLOCK, SERIAL_MAX_ELEMENTS

try:
    from fastloss import _cython as cy
except ImportError as exc:  # pragma: no cover - only when the build is missing
    pytest.fail(
        "fastloss._cython is not importable -- the Cython extensions are not built. Run "
        "`pip install -e . --no-build-isolation` (or `python setup.py build_ext --inplace`). "
        f"Import error: {exc}",
        pytrace=False,
    )

DTYPES = [np.float64, np.float32]
ELEMENTWISE = ["expit", "log_expit", "softplus"]
ROWWISE = ["logsumexp", "softmax", "log_softmax"]
PROBA = ["log_loss_labels", "log_loss_binary", "log_loss_dense"]
LOGITS = ["log_loss_logits_labels", "log_loss_logits_binary"]
EDGE = np.array([0.0, -0.0, 1.0, -1.0, 5e-324, 1e-300, 20.0, -20.0, 37.0, -37.0, 88.0, 89.0,
                 -104.0, 709.0, 710.0, -745.0, -746.0, 1e300, -1e300, 3.4e38, -3.4e38,
                 np.inf, -np.inf, np.nan])


@pytest.fixture(autouse=True)
def _restore_threads():
    before_cy, before_nb = cy.get_num_threads(), nb.get_num_threads()
    yield
    cy.set_num_threads(before_cy)
    nb.set_num_threads(before_nb)


# ------------------------------------------------------------------ helpers
def assert_close(got, expected, rtol, atol=0.0, what=""):
    """Same nan positions, same infinities (with sign), finite values within rtol/atol."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, what
    nan_g, nan_e = np.isnan(got), np.isnan(expected)
    assert np.array_equal(nan_g, nan_e), f"{what}: nan positions differ"
    inf_g, inf_e = np.isinf(got), np.isinf(expected)
    assert np.array_equal(inf_g, inf_e), f"{what}: inf positions differ"
    assert np.array_equal(got[inf_g], expected[inf_e]), f"{what}: inf signs differ"
    fin = ~(nan_g | inf_g)
    np.testing.assert_allclose(got[fin], expected[fin], rtol=rtol, atol=atol, err_msg=what)


def ulp_rtol(dtype, n=4):
    return n * float(np.finfo(dtype).eps)


# the functions whose float32 results are computed with float32 lanes (their exp)
FLOAT32_LANES = ("expit", "log_expit", "softplus")


def numba_rtol(dtype, name=""):
    # 1e-12 is the contract for float64; a float32 output rounded from doubles that differ by
    # an ulp (libm vs Numba's _math exp/log) may differ by one float32 rounding. With float32
    # lanes each backend is within 2 float32 ulp of the exact value, and fastmath.h's float32
    # exp and Numba's (each <= 0.77 ulp) differ in the last bit for ~0.3% of arguments: two
    # float32 roundings.
    if dtype == np.float64:
        return 1e-12
    return float(np.finfo(np.float32).eps) * (2 if name in FLOAT32_LANES else 1)


def edge_vector(rng, n, dtype):
    """n values: mostly N(0, 10^2), one in 8 drawn from the adversarial set."""
    x = rng.normal(scale=10.0, size=n)
    pick = rng.random(n) < 0.125
    x[pick] = rng.choice(EDGE, size=int(pick.sum()))
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def edge_rows(rng, m, k, r, dtype):
    """(m, k, r) with random rows, rows of all -inf, rows with +inf, nan, ties at the max."""
    x = rng.normal(scale=5.0, size=(m, k, r))
    if k and m >= 8:
        x[0] = -np.inf
        x[1, 0] = np.inf
        x[2, -1] = np.nan
        x[3] = 2.5                                     # all equal: c = k maxima
        x[4, :, :] = -np.inf
        x[4, 0, :] = 3.0                               # one finite term among -inf
        x[5, 0] = np.inf
        x[5, -1] = -np.inf
        x[6] = 1e300                                   # huge but finite
        x[7, 0] = np.nan
        x[7, -1] = np.inf
        extra = rng.random((m, k, r)) < 0.02
        x[extra] = rng.choice(EDGE, size=int(extra.sum()))
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(x.astype(dtype))


def call_elementwise(module, name, x):
    out = np.empty_like(x)
    getattr(module, name)(x, out)
    return out


def call_rows(module, name, x):
    m, k, r = x.shape
    out = np.empty((m, r), x.dtype) if name == "logsumexp" else np.empty_like(x)
    getattr(module, name)(x, out)
    return out


def call_b(module, x, b):
    m, _, r = x.shape
    out = np.empty((m, r), x.dtype)
    sign = np.empty((m, r), x.dtype)
    module.logsumexp_b(x, b, out, sign)
    return out, sign


def proba_inputs(rng, kind, n, k, dtype, weighted, adversarial):
    eps = float(np.finfo(dtype).eps)
    if kind == "log_loss_binary":
        p = rng.random(n)
        y = rng.integers(0, 2, n).astype(np.intp)
        extra = None
    else:
        p = rng.dirichlet(np.ones(k), size=n)
        y = rng.integers(0, k, n).astype(np.intp)
        extra = np.zeros((n, k))
        extra[np.arange(n), y] = 1.0
        extra[: n // 10] = rng.random((n // 10, k))          # soft targets
    if adversarial:
        flat = p.reshape(-1)
        idx = rng.choice(flat.size, size=max(1, flat.size // 50), replace=False)
        flat[idx] = rng.choice([0.0, 1.0, 1e-20, 1.0 - 1e-17, 5e-324, -0.0], size=idx.size)
    p = np.ascontiguousarray(p.astype(dtype))
    w = rng.random(n) * 3.0 if weighted else np.empty(0)
    if weighted:
        w[::5] = 0.0
    target = y if kind != "log_loss_dense" else extra
    return p, target, w, eps


def call(module, name, *args):
    return getattr(module, name)(*args)


# ------------------------------------------------------------------ contract
def test_exports_match_numba():
    names = ELEMENTWISE + ROWWISE + ["logsumexp_b"] + PROBA + LOGITS
    for name in names + ["set_num_threads", "get_num_threads", "describe"]:
        assert callable(getattr(cy, name)), name
        assert callable(getattr(nb, name)), name
    assert cy.NAME == "cython"
    info = cy.describe()
    assert info["cython_compiled"] is True
    assert isinstance(info["openmp"], bool) and info["openmp"] == cy.PARALLEL
    assert isinstance(info["num_threads"], int) and info["num_threads"] == cy.get_num_threads()
    cy.set_num_threads(1)
    assert cy.get_num_threads() == 1
    cy.set_num_threads(10_000)
    assert 1 <= cy.get_num_threads() <= max(1, info.get("max_threads", 10_000))
    if not cy.PARALLEL:
        assert cy.get_num_threads() == 1


def test_read_only_inputs_and_in_place():
    x = np.linspace(-30, 30, 101)
    x.flags.writeable = False
    out = call_elementwise(cy, "expit", x)
    assert_close(out, call_elementwise(ref, "expit", x), 1e-15)
    x3 = x.reshape(1, 101, 1)
    assert_close(call_rows(cy, "logsumexp", x3), call_rows(ref, "logsumexp", x3), 1e-15)
    buf = np.linspace(-30, 30, 101)
    cy.softplus(buf, buf)                                  # out is exactly the input
    assert_close(buf, call_elementwise(ref, "softplus", x), 1e-15)
    p = np.full((4, 2), 0.5)
    p.flags.writeable = False
    y = np.array([0, 1, 0, 1], dtype=np.intp)
    y.flags.writeable = False
    w = np.empty(0)
    w.flags.writeable = False
    assert cy.log_loss_labels(p, y, w, 1e-16) == ref.log_loss_labels(p, y, w, 1e-16)


def test_wrong_dtype_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        cy.expit(np.zeros(3, np.float32), np.zeros(3, np.float64))
    with pytest.raises((TypeError, ValueError)):
        cy.logsumexp(np.zeros((2, 3, 1), order="F")[:, ::2], np.zeros((2, 1)))


# ------------------------------------------------------------------ special functions
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise(name, dtype):
    rng = np.random.default_rng(1)
    with np.errstate(over="ignore"):
        x = np.concatenate([EDGE.astype(dtype), edge_vector(rng, 5000, dtype)])
    got = call_elementwise(cy, name, x)
    assert got.dtype == dtype
    assert_close(got, call_elementwise(ref, name, x), ulp_rtol(dtype), what=f"{name} vs numpy")
    assert_close(got, call_elementwise(nb, name, x), numba_rtol(dtype, name), what=f"{name} vs numba")
    assert call_elementwise(cy, name, x[:0]).shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(40, 7, 1), (16, 5, 3), (9, 1, 2), (10, 0, 1), (0, 4, 1)])
@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise(name, shape, dtype):
    if shape[1] == 0 and name != "logsumexp":
        shape = (10, 1, 1)                 # softmax over an empty axis is rejected by the API
    x = edge_rows(np.random.default_rng(2), *shape, dtype)
    got = call_rows(cy, name, x)
    assert got.dtype == dtype
    # numpy's SIMD exp/log differ from libm by an ulp or two; results near 0 lose relative
    # accuracy to cancellation in m + log(c) + log1p(s/c), hence the small atol.
    atol = 1e-13 if dtype == np.float64 else 1e-6
    assert_close(got, call_rows(ref, name, x), ulp_rtol(dtype, 8), atol, f"{name} vs numpy")
    assert_close(got, call_rows(nb, name, x), numba_rtol(dtype), what=f"{name} vs numba")


def test_logsumexp_special_rows():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, np.inf], [0.0, 0.0],
                  [np.inf, -np.inf], [1e308, 1e308]])[:, :, None]
    got = call_rows(cy, "logsumexp", x)[:, 0]
    assert got[0] == -np.inf and got[1] == np.inf and np.isnan(got[2])
    assert got[3] == np.log(2.0) and got[4] == np.inf
    assert got[5] == 1e308 + np.log(2.0)
    assert call_rows(cy, "logsumexp", np.empty((3, 0, 2)))[0, 0] == -np.inf
    # one dominant term keeps full relative accuracy
    tiny = call_rows(cy, "logsumexp", np.array([[0.0, -40.0]])[:, :, None])[0, 0]
    assert tiny == np.log1p(np.exp(-40.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(40, 6, 1), (12, 4, 3), (8, 0, 1)])
def test_logsumexp_b(shape, dtype):
    rng = np.random.default_rng(3)
    x = edge_rows(rng, *shape, dtype)
    b = rng.normal(size=shape)
    b[rng.random(shape) < 0.2] = 0.0
    if shape[0] >= 12 and shape[1]:
        b[8] = 0.0                                       # every term dropped: -inf, sign 0
        b[9] = -1.0                                      # negative sum
        x[10, 0], b[10, 0] = np.inf, 0.0                 # inf with b == 0 is dropped
        b[11, 0] = np.inf                                # infinite weight
    b = np.ascontiguousarray(b.astype(dtype))
    out, sign = call_b(cy, x, b)
    r_out, r_sign = call_b(ref, x, b)
    n_out, n_sign = call_b(nb, x, b)
    atol = 1e-13 if dtype == np.float64 else 1e-6
    assert_close(out, r_out, ulp_rtol(dtype, 16), atol, "logsumexp_b vs numpy")
    assert_close(sign, r_sign, 0, what="sign vs numpy")
    assert_close(out, n_out, numba_rtol(dtype), what="logsumexp_b vs numba")
    assert_close(sign, n_sign, 0, what="sign vs numba")


# ------------------------------------------------------------------ log loss
@pytest.mark.parametrize("adversarial", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", PROBA)
def test_log_loss_probabilities(name, dtype, weighted, adversarial):
    rng = np.random.default_rng(4)
    p, target, w, eps = proba_inputs(rng, name, 3000, 4, dtype, weighted, adversarial)
    got = call(cy, name, p, target, w, eps)
    expected = call(ref, name, p, target, w, eps)
    numba = call(nb, name, p, target, w, eps)
    assert [type(v) for v in got] == [float, float, float, float, int, float]
    assert_close(got[:4], expected[:4], 1e-10, what=f"{name} vs numpy")
    assert got[4] == expected[4]
    assert abs(got[5] - expected[5]) <= 1e-14
    assert_close(got, numba, 1e-12, what=f"{name} vs numba")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", PROBA)
def test_log_loss_probabilities_nonfinite(name, dtype):
    """nan/inf probabilities are counted and bounded (the API raises from these stats); a zero
    weight drops a row whose loss would be inf or nan."""
    rng = np.random.default_rng(5)
    p, target, _, eps = proba_inputs(rng, name, 50, 3, dtype, False, False)
    flat = p.reshape(-1)
    flat[[1, 7]] = np.nan
    flat[3] = np.inf
    flat[11] = -np.inf
    w = np.ones(p.shape[0])
    for unweighted in (np.empty(0), w):
        got = call(cy, name, p, target, unweighted, eps)
        numba = call(nb, name, p, target, unweighted, eps)
        expected = call(ref, name, p, target, unweighted, eps)
        assert got[4] == expected[4] == 2
        assert (got[2], got[3]) == (expected[2], expected[3]) == (-np.inf, np.inf)
        assert_close(got, numba, 1e-12, what=f"{name} vs numba")
    # zero weights on every row touched above: the loss sum is finite again
    rows = {i // (p.size // p.shape[0]) for i in (1, 3, 7, 11)}
    w[list(rows)] = 0.0
    got = call(cy, name, p, target, w, eps)
    expected = call(ref, name, p, target, w, eps)
    assert np.isfinite(got[0])
    assert_close(got[:2], expected[:2], 1e-10, what=f"{name} zero weights vs numpy")
    assert_close(got, call(nb, name, p, target, w, eps), 1e-12, what=f"{name} vs numba")
    # all-nan input: min/max keep their identities
    allnan = np.full_like(p, np.nan)
    got = call(cy, name, allnan, target, np.empty(0), eps)
    assert got[2:5] == (np.inf, -np.inf, allnan.size)


def test_log_loss_empty_and_wide_rows():
    for name in PROBA:
        k = 3
        p = np.empty((0,) if name == "log_loss_binary" else (0, k))
        target = np.empty((0, k)) if name == "log_loss_dense" else np.empty(0, np.intp)
        got = call(cy, name, p, target, np.empty(0), 1e-16)
        assert got == (0.0, 0.0, np.inf, -np.inf, 0, 0.0) == call(nb, name, p, target, np.empty(0), 1e-16)
    # dense with k == 0: loss 0, row sum 0
    p = np.empty((5, 0))
    got = cy.log_loss_dense(p, np.empty((5, 0)), np.empty(0), 1e-16)
    assert got == ref.log_loss_dense(p, np.empty((5, 0)), np.empty(0), 1e-16)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_loss_logits_labels(dtype, weighted):
    rng = np.random.default_rng(6)
    n, k = 2000, 5
    z = rng.normal(scale=4.0, size=(n, k))
    y = rng.integers(0, k, n).astype(np.intp)
    z[0, y[0]] = np.inf                                  # true class at +inf: loss 0
    z[1, :] = np.inf                                     # k tied +inf: loss log(k)
    z[2, (y[2] + 1) % k] = np.inf                        # wrong class at +inf: loss inf
    z[3, y[3]] = -np.inf                                 # true class at -inf: loss inf
    z[4] = 800.0                                         # huge ties
    z[5, 2] = np.nan
    z = np.ascontiguousarray(z.astype(dtype))
    w = rng.random(n) if weighted else np.empty(0)
    if weighted:
        w[[2, 3, 5]] = 0.0                               # zero weights drop the inf/nan rows
        w[::7] = 0.0
    got = cy.log_loss_logits_labels(z, y, w)
    assert [type(v) for v in got] == [float, float, int]
    assert got[2] == 1
    # float32 logits: the compiled kernels' exps run in float32 lanes (2 float32 ulp of a loss;
    # GCC contracts the C exp's products into fused multiply-adds, Numba's are not: their
    # float32 terms differ by an ulp here and there)
    lanes32 = dtype == np.float32
    assert_close(got, ref.log_loss_logits_labels(z, y, w), 2.0**-22 if lanes32 else 1e-10, what="vs numpy")
    assert_close(got, nb.log_loss_logits_labels(z, y, w), 2.0**-22 if lanes32 else 1e-12, what="vs numba")
    if weighted:
        assert np.isfinite(got[0])
    # the +inf rule on single rows
    for row, expected in ((0, 0.0), (1, np.log(k)), (2, np.inf), (3, np.inf)):
        single = cy.log_loss_logits_labels(z[row:row + 1], y[row:row + 1], np.empty(0))
        assert single[0] == expected, (row, single)
    allneg = np.full((1, k), -np.inf, dtype=dtype)
    assert np.isnan(cy.log_loss_logits_labels(allneg, y[:1], np.empty(0))[0])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_loss_logits_binary(dtype, weighted):
    rng = np.random.default_rng(7)
    z = np.concatenate([EDGE, rng.normal(scale=20.0, size=3000)])
    n = z.size
    y = rng.integers(0, 2, n).astype(np.intp)
    with np.errstate(over="ignore"):
        z = z.astype(dtype)
    w = rng.random(n) if weighted else np.empty(0)
    if weighted:
        w[np.isinf(z) | np.isnan(z)] = 0.0
    got = cy.log_loss_logits_binary(z, y, w)
    assert got[2] == int(np.isnan(z).sum())
    assert_close(got, ref.log_loss_logits_binary(z, y, w), 1e-10, what="vs numpy")
    assert_close(got, nb.log_loss_logits_binary(z, y, w), 1e-12, what="vs numba")
    if weighted:
        assert np.isfinite(got[0])


# ------------------------------------------------------------------ threads and blocks
def _with_threads(n, fn):
    cy.set_num_threads(n)
    return fn()


def _big_cases(rng, dtype):
    """One input per kernel, each spanning several blocks and above SERIAL_MAX_ELEMENTS."""
    m = 3 * ROW_BLOCK + 123
    k = SERIAL_MAX_ELEMENTS // (3 * ROW_BLOCK) + 2           # m * k > SERIAL_MAX_ELEMENTS
    n1 = 4 * ELEMENT_BLOCK + 77
    assert m * k > SERIAL_MAX_ELEMENTS and n1 > SERIAL_MAX_ELEMENTS
    x1 = edge_vector(rng, n1, dtype)
    x3 = edge_rows(rng, m, k, 1, dtype)
    b3 = np.ascontiguousarray(rng.normal(size=x3.shape).astype(dtype))
    cases = {name: (lambda mod, name=name: call_elementwise(mod, name, x1)) for name in ELEMENTWISE}
    cases.update({name: (lambda mod, name=name: call_rows(mod, name, x3)) for name in ROWWISE})
    cases["logsumexp_b"] = lambda mod: call_b(mod, x3, b3)
    for name in PROBA:
        n = n1 if name == "log_loss_binary" else m
        args = proba_inputs(rng, name, n, k, dtype, True, True)
        cases[name] = lambda mod, name=name, args=args: call(mod, name, *args)
    z2 = np.ascontiguousarray(x3[:, :, 0])
    y2 = rng.integers(0, k, m).astype(np.intp)
    w2 = rng.random(m)
    w2[::3] = 0.0
    cases["log_loss_logits_labels"] = lambda mod: mod.log_loss_logits_labels(z2, y2, w2)
    y1 = rng.integers(0, 2, n1).astype(np.intp)
    cases["log_loss_logits_binary"] = lambda mod: mod.log_loss_logits_binary(x1, y1, np.empty(0))
    return cases


def _bits(result):
    if isinstance(result, tuple) and isinstance(result[0], np.ndarray):
        return tuple(r.tobytes() for r in result)
    if isinstance(result, np.ndarray):
        return result.tobytes()
    return np.array(result, dtype=np.float64).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_across_thread_counts(dtype):
    for name, run in _big_cases(np.random.default_rng(8), dtype).items():
        one = _with_threads(1, lambda: run(cy))
        two = _with_threads(2, lambda: run(cy))
        again = _with_threads(2, lambda: run(cy))
        assert _bits(one) == _bits(two) == _bits(again), name
        nb.set_num_threads(1)  # Numba's serial kernels walk the same blocks as its prange ones
        numba = run(nb)        # and compile far faster on a cold cache
        if isinstance(one, tuple) and not isinstance(one[0], np.ndarray):
            assert_close(one, numba, 1e-12, what=f"{name} vs numba")
        else:
            for a, b in zip(one if isinstance(one, tuple) else (one,),
                            numba if isinstance(numba, tuple) else (numba,)):
                assert_close(a, b, numba_rtol(dtype, name), what=f"{name} vs numba")
    if cy.PARALLEL and not cy.describe()["serial_after_fork"]:
        # the 2-thread calls really took the OpenMP path in both modules
        assert cy.FAMILIES["special"]._pool_used() and cy.FAMILIES["metrics"]._pool_used()
