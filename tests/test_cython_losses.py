"""The Cython loss-catalogue kernels (fastloss/_cython/losses.pyx) called directly with the
contract of fastloss/_numpy/losses.py: every catalogue loss (plus non-default parameters) and every
op, with and without sample weights, float32/float64, adversarial raw values (±1e4, ±inf, exact
zeros), against the NumPy reference and against Numba; bitwise identity between 1 and 2 threads on
inputs above one block; read-only inputs; the API picks the module when Cython is the backend."""
import multiprocessing
import os

import numpy as np
import pytest

import fastloss
import fastloss.losses as fl
from fastloss._constants import ELEMENT_BLOCK, ROW_BLOCK, SERIAL_MAX_ELEMENTS

cl = pytest.importorskip("fastloss._cython.losses")
from fastloss._numpy import losses as npl  # noqa: E402

try:
    import numba  # noqa: F401

    from fastloss._numba import losses as nbl
except ImportError:  # pragma: no cover
    nbl = None

pytestmark = [
    pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaIRAssumptionWarning"),
    # the NumPy reference sums rows that are nan on purpose
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]

K = 4
LOSSES = dict(fl.CATALOGUE)
LOSSES.update({
    "bce_pos_weight": fl.BinaryCrossEntropy(pos_weight=2.5),
    "focal_no_alpha": fl.Focal(gamma=1.5, alpha=None),
    "huber_delta": fl.Huber(delta=0.3),
    "pinball_q": fl.Pinball(quantile=0.2),
    "asymmetric_alpha": fl.AsymmetricAbsoluteError(alpha=3.0),
    "poisson_full": fl.Poisson(full=True),
    "gaussian_nll_short": fl.GaussianNLL(full=False),
    "cross_entropy_options": fl.CrossEntropy(class_weight=[1.0, 2.0, 0.5, 0.0], label_smoothing=0.1,
                                             ignore_index=-1),
    "multiclass_hinge_options": fl.MulticlassHinge(class_weight=[1.0, 0.5, 2.0, 3.0], ignore_index=7),
})
NAMES = sorted(LOSSES)
OPS = ("loss", "loss_sum", "gradient", "loss_gradient", "gradient_hessian")
ADVERSARIAL = np.array([1e4, -1e4, np.inf, -np.inf, 0.0, -0.0, 30.0, -30.0, 1e-300, 700.0, -745.0])


def adversarial_data(name, n=40, seed=0, dtype=np.float64):
    """(y, raw) inside the loss's target domain with extreme raw values mixed in."""
    loss = LOSSES[name]
    rng = np.random.default_rng(seed)
    fam = loss.family
    if fam == "labels":
        raw = rng.normal(scale=3.0, size=(n, K))
        raw.flat[rng.choice(raw.size, 3 * len(ADVERSARIAL), replace=False)] = np.tile(ADVERSARIAL, 3)
        raw[0] = [np.inf, 0.0, -np.inf, 1.0]
        raw[1] = [np.inf, np.inf, 0.0, 2.0]
        raw[2] = [-np.inf, -1e4, 1e4, 0.0]
        y = rng.integers(0, K, n)
        y[[3, 9]] = loss.ignore_index
        return y, raw.astype(dtype)
    if fam == "dense":
        raw = rng.normal(scale=3.0, size=(n, K))
        raw.flat[rng.choice(raw.size, 3 * len(ADVERSARIAL), replace=False)] = np.tile(ADVERSARIAL, 3)
        raw[0] = [np.inf, 0.0, -np.inf, 1.0]
        Y = rng.dirichlet(np.ones(K), n)
        Y[rng.random((n, K)) < 0.2] = 0.0  # zero target masses (where -inf logits cost nothing)
        Y[0] = [0.5, 0.0, 0.0, 0.5]
        return Y.astype(dtype), raw.astype(dtype)
    if fam == "pair":
        raw = rng.normal(scale=1.5, size=(n, 2))
        if loss.kind == npl.GAUSSIAN_NLL:
            raw[:8, 0] = [1e4, -1e4, np.inf, -np.inf, 0.0, 3.0, 1e4, 0.5]
            raw[8:16, 1] = [1e4, -1e4, np.inf, -np.inf, 0.0, 30.0, -30.0, 700.0]
            y = rng.normal(size=n)
            y[5] = raw[5, 0]  # d == 0 with s = -inf below
            raw[5, 1] = -np.inf
        else:
            raw[:6, 0] = [30.0, -30.0, -700.0, 6.0, -np.inf, np.inf]
            raw[6:12, 1] = [30.0, -30.0, -700.0, 6.0, -np.inf, np.inf]
            y = rng.uniform(0.01, 0.99, n)
        return y.astype(dtype), raw.astype(dtype)
    raw = rng.normal(scale=2.0, size=n)
    raw[: len(ADVERSARIAL)] = ADVERSARIAL
    kind = loss.kind
    if kind in (npl.BCE, npl.FOCAL, npl.HINGE):
        y = rng.integers(0, 2, n).astype(float)
        if kind == npl.BCE:
            y[-5:] = [0.3, 0.7, 0.0, 1.0, 0.5]  # soft labels
    elif kind == npl.BCE_PROBA:
        raw = rng.uniform(0, 1, n)
        raw[:6] = [0.0, 1.0, 1e-300, 1.0 - 1e-17, 0.5, 1e-20]
        y = rng.integers(0, 2, n).astype(float)
    elif kind == npl.POISSON:
        raw[: len(ADVERSARIAL)] = [30.0, -30.0, np.inf, -np.inf, 0.0, -0.0, 3.0, -3.0, 1e-300, 5.0, -745.0]
        y = rng.poisson(2.0, n).astype(float)
        y[:4] = 0.0
    else:
        y = rng.normal(scale=2.0, size=n)
        y[len(ADVERSARIAL): len(ADVERSARIAL) + 4] = raw[len(ADVERSARIAL): len(ADVERSARIAL) + 4]  # ties
    return y.astype(dtype), raw.astype(dtype)


def call(module, loss, op, y, raw, w, scale=0.37, pdtype=None):
    """Run one op through ``module``'s kernels; returns (scalars, arrays). ``pdtype``: the dtype
    whose parameters to use (a float32 problem computed in float64 keeps float32's eps)."""
    fam = loss.family
    n = raw.shape[0]
    head = [loss.kind, y, raw, w]
    if fam == "labels":
        head.append(loss._class_weight())
    head.append(loss._params(raw.dtype if pdtype is None else pdtype))
    if op in ("loss", "loss_sum"):
        out = np.full(n if op == "loss" else 0, -7.0, dtype=raw.dtype)
        r = getattr(module, f"{fam}_loss")(*head, out)
        return tuple(r), (out,)
    if op == "gradient":
        grad = np.full(raw.shape, -7.0, dtype=raw.dtype)
        r = getattr(module, f"{fam}_gradient")(*head, scale, grad)
        return (r,), (grad,)
    if op == "loss_gradient":
        out = np.full(n, -7.0, dtype=raw.dtype)
        grad = np.full(raw.shape, -7.0, dtype=raw.dtype)
        r = getattr(module, f"{fam}_loss_gradient")(*head, scale, out, grad)
        return tuple(r), (out, grad)
    grad = np.full(raw.shape, -7.0, dtype=raw.dtype)
    hess = np.full(raw.shape, -7.0, dtype=raw.dtype)
    r = getattr(module, f"{fam}_gradient_hessian")(*head, grad, hess)
    return (r,), (grad, hess)


def weights(n, seed=1):
    w = np.random.default_rng(seed).uniform(0.0, 3.0, n)
    w[[2, 5, 11]] = 0.0  # zero weights on extreme rows: exact zeros whatever the loss
    return w


def _same_nan(a, b, what):
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=what)


def assert_matches(got, ref, rtol, atol, what, skip_rows=None):
    """Scalars (sums to rtol, counts exactly) and arrays (same nan/inf pattern, infinities equal,
    finite values to rtol/atol). ``skip_rows``: rows (a bool mask) with a documented difference,
    left out of the arrays; the nan counts and the loss sum are then not compared."""
    (gs, ga), (rs, ra) = got, ref
    skip = skip_rows is not None and skip_rows.any()
    assert len(gs) == len(rs), what
    for a, b in zip(gs, rs):
        if skip:
            continue
        if isinstance(b, (int, np.integer)) and not isinstance(b, bool):
            assert a == b, (what, a, b)
        elif np.isnan(b) or np.isinf(b):
            assert (np.isnan(a) and np.isnan(b)) or a == b, (what, a, b)
        else:
            assert a == pytest.approx(b, rel=max(rtol, 1e-12), abs=atol), what
    for a, b in zip(ga, ra):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        if skip and a.shape[0] == skip_rows.shape[0]:
            a, b = a[~skip_rows], b[~skip_rows]
        _same_nan(a, b, what)
        fin = np.isfinite(b)
        np.testing.assert_array_equal(np.isfinite(a), fin, err_msg=what)
        np.testing.assert_array_equal(a[~fin & ~np.isnan(b)], b[~fin & ~np.isnan(b)], err_msg=what)
        np.testing.assert_allclose(a[fin], b[fin], rtol=rtol, atol=atol, err_msg=what)


def numpy_undefined_rows(loss, y, raw, pdtype):
    """Rows where the NumPy reference's loss is nan: there it may leave a finite gradient (e.g.
    multiclass_hinge with 1 + inf - inf: gradient 0) where Numba and Cython write nan to the
    whole row (either way the API raises for the loss). Left out of the NumPy comparison."""
    per = call(npl, loss, "loss", y, raw, np.empty(0), pdtype=pdtype)[1][0]
    return np.isnan(per)


def numba_known_rows(loss, got_rows, numba_rows):
    """cross_entropy with label_smoothing > 0 and a -inf logit: the loss is +inf (NumPy, Cython);
    Numba's fast path computes inf - inf = nan there. Left out of the Numba comparison."""
    if loss.family != "labels" or loss._params(np.float64)[0] == 0:
        return None
    return np.isnan(numba_rows) & (got_rows == np.inf)


def _cases():
    for name in NAMES:
        for dtype in (np.float64, np.float32):
            for weighted in (False, True):
                yield pytest.param(name, dtype, weighted,
                                   id=f"{name}-{np.dtype(dtype).name}-{'w' if weighted else 'now'}")


@pytest.mark.parametrize("name,dtype,weighted", list(_cases()))
def test_kernels_match_numpy_and_numba(name, dtype, weighted):
    loss = LOSSES[name]
    y, raw = adversarial_data(name, dtype=dtype)
    if loss.family == "labels":
        y = y.astype(np.int64)
    w = weights(raw.shape[0]) if weighted else np.empty(0)
    f64 = dtype == np.float64
    y64 = y if y.dtype.kind == "i" else y.astype(np.float64)
    raw64 = raw.astype(np.float64)
    np_skip = numpy_undefined_rows(loss, y64, raw64, dtype)
    nb_skip = None
    if nbl is not None:
        rows = call(cl, loss, "loss", y, raw, np.empty(0))[1][0]
        nb_skip = numba_known_rows(loss, rows, call(nbl, loss, "loss", y, raw, np.empty(0))[1][0])
    for op in OPS:
        got = call(cl, loss, op, y, raw, w)
        what = f"{name} {op} {np.dtype(dtype).name} weighted={weighted}"
        # NumPy: independent vectorised formulas (np.exp/log1p/scipy gammaln; different branches
        # for the limits): same values to a few ulp, same nan/inf pattern
        ref = call(npl, loss, op, y64, raw64, w, pdtype=dtype)
        if not f64:
            ref = (ref[0], tuple(a.astype(np.float32) for a in ref[1]))
        assert_matches(got, ref, rtol=1e-9 if f64 else 2e-6, atol=1e-12 if f64 else 1e-6,
                       what="numpy: " + what, skip_rows=np_skip if op != "loss" else None)
        if nbl is not None:
            # Numba: same formulas and operation order; only libm vs Numba's exp/log1p differ
            # (< 1 ulp each), so float64 agrees to 1e-12 relative; absolute 1e-13 covers values
            # formed by cancellation (e.g. log(s) - z_y with s ~ 1), where 1 ulp of the
            # operands is the whole difference
            ref = call(nbl, loss, op, y, raw, w)
            assert_matches(got, ref, rtol=1e-12 if f64 else 2.5e-7, atol=1e-13 if f64 else 1e-30,
                           what="numba: " + what, skip_rows=nb_skip)


@pytest.mark.parametrize("name", NAMES)
def test_fused_ops_and_weights_consistent(name):
    """loss_gradient = loss + gradient exactly; a weight multiplies each row exactly."""
    loss = LOSSES[name]
    y, raw = adversarial_data(name, seed=3)
    w = weights(raw.shape[0], seed=4)
    (s, sw), (out,) = call(cl, loss, "loss", y, raw, w)
    (s2, sw2), (out2, grad2) = call(cl, loss, "loss_gradient", y, raw, w)
    (nn,), (grad,) = call(cl, loss, "gradient", y, raw, w)
    np.testing.assert_array_equal(out, out2)
    np.testing.assert_array_equal(grad, grad2)
    assert (s == s2 or (np.isnan(s) and np.isnan(s2))) and sw == sw2
    zero = w == 0
    assert (out[zero] == 0).all() and (grad[zero] == 0).all()
    (_,), (g1, h1) = call(cl, loss, "gradient_hessian", y, raw, w)
    assert (g1[zero] == 0).all() and (h1[zero] == 0).all()
    if loss.family != "labels":
        assert sw == pytest.approx(w.sum(), rel=1e-15)
    assert nn == int(np.isnan(grad).sum())


def test_exports_match_numba_and_api_uses_cython():
    names = {f"{fam}_{op}" for fam in ("elem", "pair", "labels", "dense")
             for op in ("loss", "gradient", "loss_gradient", "gradient_hessian")}
    for name in names:
        assert callable(getattr(cl, name)), name
    assert cl.NAME == "cython"
    with fastloss.set_backend("cython"):
        for loss in LOSSES.values():
            assert loss._kernels() is cl
        assert fastloss._backends.family("losses") is cl


def test_digamma_trigamma_port():
    x = np.array([1e-300, 1e-8, 0.1, 0.5, 1.0, 2.5, 9.99, 10.0, 37.0, 1e5, 1e300, 0.0, np.inf])
    np.testing.assert_allclose([cl.py_digamma(v) for v in x], npl.digamma(x), rtol=1e-15)
    np.testing.assert_allclose([cl.py_trigamma(v) for v in x], npl.trigamma(x), rtol=1e-15)
    assert np.isnan(cl.py_digamma(np.nan)) and np.isnan(cl.py_trigamma(np.nan))


def test_read_only_inputs_never_written():
    for name in NAMES:
        loss = LOSSES[name]
        y, raw = adversarial_data(name, n=16)
        w = weights(16)
        for a in (y, raw, w):
            a.flags.writeable = False
        before = [a.copy() for a in (y, raw, w)]
        for op in OPS:
            call(cl, loss, op, y, raw, w)
        for a, b in zip((y, raw, w), before):
            np.testing.assert_array_equal(a, b)
        # and through the API (read-only arrays from users)
        with fastloss.set_backend("cython"):
            try:
                loss.loss_gradient(y, raw, sample_weight=w)
            except ValueError:
                pass  # undefined rows (nan) in the adversarial data: the API raises


def test_empty_inputs():
    for name in ("binary_cross_entropy", "gaussian_nll", "cross_entropy", "kl_div"):
        loss = LOSSES[name]
        y, raw = adversarial_data(name, n=16)
        y, raw = y[:0], raw[:0]
        for op in OPS:
            got = call(cl, loss, op, y, raw, np.empty(0))
            ref = call(npl, loss, op, y, raw, np.empty(0))
            assert all(a.size == 0 for a in got[1])
            assert got[0] == tuple(type(v)(v) for v in ref[0]), (name, op)


# ---------------------------------------------------------------- parallel path
BIG = {
    # (name, rows): above SERIAL_MAX_ELEMENTS (the prange path) and above one block
    "binary_cross_entropy": 4 * ELEMENT_BLOCK + 123,
    "poisson_full": 4 * ELEMENT_BLOCK + 123,
    "gaussian_nll": 2 * ELEMENT_BLOCK + 5,
    "beta_nll": ELEMENT_BLOCK + 5,
    "cross_entropy_options": 6 * ROW_BLOCK + 17,
    "multiclass_hinge": 6 * ROW_BLOCK + 17,
    "kl_div": 5 * ROW_BLOCK + 3,
}


def _big(name):
    loss = LOSSES[name]
    n = BIG[name]
    y, raw = adversarial_data(name, n=n, seed=11)
    assert raw.size * (8 if loss.family == "pair" else 1) > SERIAL_MAX_ELEMENTS
    return loss, y, raw, weights(n, seed=12)


def test_threads_bitwise_identical():
    import fastloss._cython as cy

    if not cy.PARALLEL or cy._s.MAX_THREADS < 2:
        pytest.skip("Cython backend built without OpenMP or one thread available")
    try:
        for name in BIG:
            loss, y, raw, w = _big(name)
            res = {}
            for threads in (1, 2):
                fastloss.set_num_threads(threads)
                res[threads] = [call(cl, loss, op, y, raw, ww) for op in OPS
                                for ww in (w, np.empty(0))]
            for (s1, a1), (s2, a2) in zip(res[1], res[2]):
                assert [np.float64(v).tobytes() for v in s1] == [np.float64(v).tobytes() for v in s2], name
                for x1, x2 in zip(a1, a2):
                    assert x1.tobytes() == x2.tobytes(), name
        assert cl._pool_used()
    finally:
        fastloss.set_num_threads(os.cpu_count() or 1)


@pytest.mark.skipif(nbl is None, reason="numba not installed")
def test_big_inputs_match_numba():
    for name in BIG:
        loss, y, raw, w = _big(name)
        for op in ("loss", "loss_gradient", "gradient_hessian"):
            got = call(cl, loss, op, y, raw, w)
            ref = call(nbl, loss, op, y, raw, w)
            assert_matches(got, ref, rtol=1e-12, atol=1e-13, what=f"{name} {op}")


def _child(q):
    loss, y, raw, w = _big("binary_cross_entropy")
    q.put(call(cl, loss, "loss", y, raw, w)[0][0])


def test_fork_after_parallel_region_runs_serial():
    """libgomp is not fork-safe: a child forked after a parallel region must not enter one."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork")
    loss, y, raw, w = _big("binary_cross_entropy")
    fastloss.set_num_threads(2)
    expected = call(cl, loss, "loss", y, raw, w)[0][0]
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():  # pragma: no cover
        p.kill()
        pytest.fail("child hung in an OpenMP region after fork")
    assert p.exitcode == 0
    assert q.get(timeout=5) == expected


def test_beta_nll_subnormal_shape_parameter():
    """a = exp(-745) is subnormal: lnΓ(a) = 744.44 is finite (scipy's gammaln gives inf there, so
    the NumPy reference is left out of this one); the value follows from math.lgamma."""
    import math

    y, raw = np.array([0.3]), np.array([[-745.0, 0.2]])
    out = np.empty(1)
    s, _ = cl.pair_loss(npl.BETA_NLL, y, raw, np.empty(0), np.zeros(2), out)
    a, b = math.exp(-745.0), math.exp(0.2)
    want = (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b) - (a - 1) * math.log(0.3)
            - (b - 1) * math.log1p(-0.3))
    assert s == pytest.approx(want, rel=1e-14) and out[0] == s
    if nbl is not None:
        assert s == pytest.approx(nbl.pair_loss(npl.BETA_NLL, y, raw, np.empty(0), np.zeros(2),
                                                np.empty(0))[0], rel=1e-13)
