"""The loss catalogue (fastloss.losses) on every backend that has a ``losses`` kernel module:
values against independent formulas / scikit-learn's ``_loss`` / mpmath, derivatives against
finite differences, fused methods against the separate ones, weights, dtypes, extremes, errors,
and two integration checks (a multinomial logistic regression fit; a LightGBM custom objective)."""
import importlib
import math
import types

import numpy as np
import pytest
import scipy.optimize
import scipy.special

import fastloss
import fastloss.losses as fl

BACKENDS = []
for _name in fastloss.available_backends():
    try:
        importlib.import_module(f"fastloss._{_name}.losses")
        BACKENDS.append(_name)
    except ImportError:
        pass



from registry import LIMITS, REF, SKLEARN, VARIANTS, K, _lse, _sp, data  # noqa: E402,F401  (tests/registry.py)

CAT = fl.CATALOGUE
NAMES = sorted(CAT)


@pytest.fixture(params=BACKENDS)
def backend(request):
    with fastloss.set_backend(request.param):
        yield request.param


def test_catalogue_complete():
    """The registry covers the catalogue, the catalogue the contract."""
    from fastloss import _catalogue

    assert set(REF) == set(CAT) == set(_catalogue.BY_NAME)
    assert fl["huber"] is CAT["huber"]
    assert fl.Huber(delta=2.0).delta == 2.0


@pytest.mark.parametrize("name", NAMES)
def test_value_against_formula(backend, name):
    y, raw = data(name)
    got = CAT[name].loss(y, raw, reduction="none")
    np.testing.assert_allclose(got, REF[name](y, raw), rtol=1e-12, atol=1e-13)
    assert CAT[name].loss(y, raw) == pytest.approx(got.mean(), rel=1e-13)
    assert CAT[name].loss(y, raw, reduction="sum") == pytest.approx(got.sum(), rel=1e-13)


@pytest.mark.parametrize("name,kwargs,ref", [(n, kw, f) for n, vs in sorted(VARIANTS.items())
                                             for kw, f in vs])
def test_parameter_variants(backend, name, kwargs, ref):
    loss = type(CAT[name])(**kwargs)
    y, raw = data(name)
    np.testing.assert_allclose(loss.loss(y, raw, reduction="none"), ref(y, raw), rtol=1e-11, atol=1e-13)
    fd = _fd(lambda r: loss.loss(y, r, reduction="sum"), raw, 1e-4)
    np.testing.assert_allclose(loss.gradient(y, raw), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_multiclass_focal_is_focal_for_two_classes(backend, gamma):
    """softmax over (z0, z1) is the sigmoid of z1 - z0: MulticlassFocal(K=2) == Focal(alpha=None)."""
    rng = np.random.default_rng(5)
    z = rng.normal(scale=2, size=(50, 2))
    y = rng.integers(0, 2, 50)
    mf, f = fl.MulticlassFocal(gamma=gamma), fl.Focal(gamma=gamma, alpha=None)
    r = z[:, 1] - z[:, 0]
    np.testing.assert_allclose(mf.loss(y, z, reduction="none"),
                               f.loss(y.astype(float), r, reduction="none"), rtol=1e-12, atol=1e-14)
    g2 = mf.gradient(y, z)
    g1 = f.gradient(y.astype(float), r)
    np.testing.assert_allclose(g2[:, 1], g1, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(g2[:, 0], -g1, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_against_sklearn(backend, name):
    y, raw = data(name)
    ref = SKLEARN[name]
    yy = y.astype(np.float64)
    w = np.random.default_rng(3).uniform(0.5, 2.0, y.shape[0])
    rl, rg = ref.loss_gradient(yy, raw, sample_weight=w)
    l, g = CAT[name].loss_gradient(y, raw, sample_weight=w)
    np.testing.assert_allclose(l, rl, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, rg, rtol=1e-12, atol=1e-14)
    rg2, rh = ref.gradient_hessian(yy, raw, sample_weight=w)
    g2, h = CAT[name].gradient_hessian(y, raw, sample_weight=w)
    np.testing.assert_allclose(g2, rg2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, rh, rtol=1e-12, atol=1e-14)


def _fd(f, raw, h):
    """4th-order central differences of sum(f(raw)) w.r.t. each entry of raw."""
    out = np.empty_like(raw)
    flat = out.reshape(-1)
    for j in range(raw.size):
        def at(step):
            r = raw.copy().reshape(-1)
            r[j] += step
            return f(r.reshape(raw.shape))
        flat[j] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_gradient_and_hessian_finite_differences(backend, name):
    loss = CAT[name]
    y, raw = data(name, n=6)
    if name == "binary_cross_entropy_proba":
        raw = np.clip(raw, 0.2, 0.8)
    g = loss.gradient(y, raw)
    fd = _fd(lambda r: loss.loss(y, r, reduction="sum"), raw, 1e-4)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)
    g2, h = loss.gradient_hessian(y, raw)
    np.testing.assert_array_equal(g2, g)
    if not loss.has_hessian:
        np.testing.assert_array_equal(h, np.ones_like(raw))
        return
    # the hessian is the diagonal: d g_j / d raw_j
    fdh = np.empty_like(raw).reshape(-1)
    for j in range(raw.size):
        fdh[j] = _fd(lambda r: loss.gradient(y, r).reshape(-1)[j], raw, 1e-4).reshape(-1)[j]
    np.testing.assert_allclose(h.reshape(-1), fdh, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_fused_weights_dtypes_out(backend, name):
    loss = CAT[name]
    y, raw = data(name, n=40)
    w = np.random.default_rng(1).uniform(0, 3, 40)
    w[3] = 0.0
    l, g = loss.loss_gradient(y, raw, sample_weight=w)
    np.testing.assert_array_equal(l, loss.loss(y, raw, sample_weight=w, reduction="none"))
    np.testing.assert_array_equal(g, loss.gradient(y, raw, sample_weight=w))
    l1, g1 = loss.loss_gradient(y, raw)
    wcol = w.reshape((-1,) + (1,) * (raw.ndim - 1))
    np.testing.assert_allclose(l, w * l1, rtol=1e-14, atol=0)
    np.testing.assert_allclose(g, wcol * g1, rtol=1e-14, atol=0)
    g2, h2 = loss.gradient_hessian(y, raw, sample_weight=w)
    _, h1 = loss.gradient_hessian(y, raw)
    np.testing.assert_allclose(h2, wcol * h1, rtol=1e-14, atol=0)
    # reductions of loss_gradient: the gradient of the reduced loss
    m, gm = loss.loss_gradient(y, raw, sample_weight=w, reduction="mean")
    assert m == pytest.approx(loss.loss(y, raw, sample_weight=w), rel=1e-13)
    sw = w.sum()
    np.testing.assert_allclose(gm, g / sw, rtol=1e-13, atol=1e-16)
    s, gs = loss.loss_gradient(y, raw, sample_weight=w, reduction="sum")
    assert s == pytest.approx(l.sum(), rel=1e-13)
    np.testing.assert_array_equal(gs, g)
    # out=
    out = np.empty_like(raw)
    assert loss.gradient(y, raw, sample_weight=w, out=out) is out
    np.testing.assert_array_equal(out, g)
    lo, go = np.empty(40), np.empty_like(raw)
    r = loss.loss_gradient(y, raw, sample_weight=w, out=(lo, go))
    assert r[0] is lo and r[1] is go
    # float32 in, float32 out, close to the float64 result
    l32, g32 = loss.loss_gradient(y.astype(np.float32) if y.dtype.kind == "f" else y,
                                  raw.astype(np.float32), sample_weight=w)
    assert l32.dtype == np.float32 and g32.dtype == np.float32
    l64, g64 = loss.loss_gradient(y.astype(np.float32).astype(np.float64) if y.dtype.kind == "f" else y,
                                  raw.astype(np.float32).astype(np.float64), sample_weight=w)
    np.testing.assert_allclose(l32, l64, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_extremes_limit_or_clear_error(backend, name):
    """±1e4 and ±inf in raw: a finite/inf limit without nan, or a ValueError -- never a silent nan."""
    loss = CAT[name]
    y, raw = data(name, n=8)
    flat = raw.reshape(-1).copy()
    flat[:4] = [1e4, -1e4, np.inf, -np.inf]
    raw = flat.reshape(raw.shape)
    for method in ("loss", "gradient", "gradient_hessian"):
        try:
            res = getattr(loss, method)(y, raw, **({"reduction": "none"} if method == "loss" else {}))
        except ValueError as exc:
            assert "raw" in str(exc) or "undefined" in str(exc)
            continue
        for a in res if isinstance(res, tuple) else (res,):
            assert not np.isnan(a).any(), (name, method)


@pytest.mark.parametrize("name,y,r,lv,gv", LIMITS)
def test_exact_limits(backend, name, y, r, lv, gv):
    loss = CAT[name]
    l, g = loss.loss_gradient([y], [r])
    assert l[0] == pytest.approx(lv, rel=1e-12) and g[0] == pytest.approx(gv, rel=1e-12)


def test_cross_entropy_inf_logits(backend):
    ce = CAT["cross_entropy"]
    z = np.array([[np.inf, 0.0, -np.inf], [np.inf, np.inf, 0.0], [1.0, -np.inf, 2.0]])
    l, g = ce.loss_gradient([0, 0, 0], z)
    np.testing.assert_allclose(l, [0.0, math.log(2), _lse(z[2:3, [0, 2]])[0] - 1.0])
    np.testing.assert_allclose(g[0], [0, 0, 0])
    np.testing.assert_allclose(g[1], [-0.5, 0.5, 0])
    assert ce.loss([1], z[:1]) == np.inf
    with pytest.raises(ValueError, match="all -inf"):
        ce.loss([0], [[-np.inf, -np.inf]])


def test_cross_entropy_options(backend):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(30, K))
    y = rng.integers(0, K, 30)
    y[[2, 7]] = -1
    cw = np.array([1.0, 2.0, 0.5, 3.0])
    eps = 0.2
    ce = fl.CrossEntropy(class_weight=cw, label_smoothing=eps, ignore_index=-1)
    keep = y != -1
    t = np.full((30, K), eps / K)
    t[np.arange(30), np.where(keep, y, 0)] += 1 - eps
    per = -(t * scipy.special.log_softmax(z, axis=1)).sum(1)
    weff = np.where(keep, cw[np.where(keep, y, 0)], 0.0)
    assert ce.loss(y, z) == pytest.approx((weff * per).sum() / weff.sum(), rel=1e-13)
    np.testing.assert_allclose(ce.loss(y, z, reduction="none"), weff * per, rtol=1e-13)
    g = ce.gradient(y, z)
    ref_g = weff[:, None] * (scipy.special.softmax(z, axis=1) - t)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-15)
    m, gm = ce.loss_gradient(y, z, reduction="mean")
    np.testing.assert_allclose(gm, ref_g / weff.sum(), rtol=1e-12, atol=1e-16)
    with pytest.raises(ValueError, match="y_true"):
        fl.CrossEntropy().loss([0, 5], z[:2])
    with pytest.raises(ValueError, match="class_weight"):
        fl.CrossEntropy(class_weight=[1.0, 2.0]).loss([0, 1], z[:2])


def test_parameters_change_values(backend):
    y, r = np.array([0.0, 1.0]), np.array([3.0, -0.5])
    assert fl.Huber(delta=2.0).loss(y, r, reduction="none").tolist() == [2.0 * (3 - 1.0), 0.5 * 1.5**2]
    assert fl.Pinball(quantile=0.9).loss(y, r, reduction="none") == pytest.approx([0.1 * 3, 0.9 * 1.5])
    bce = fl.BinaryCrossEntropy(pos_weight=3.0).loss(y, r, reduction="none")
    assert bce == pytest.approx([_sp(3.0), 3.0 * _sp(0.5)])
    f = fl.Focal(gamma=0.0, alpha=None).loss(y, r, reduction="none")
    assert f == pytest.approx(CAT["binary_cross_entropy"].loss(y, r, reduction="none"))
    a = fl.AsymmetricAbsoluteError(alpha=3.0)
    p = fl.Pinball(quantile=3.0 / 4.0)
    assert a.loss(y, r, reduction="none") == pytest.approx(4.0 * p.loss(y, r, reduction="none"))
    full = fl.Poisson(full=True).loss([3.0], [0.2], reduction="none")[0]
    assert full == pytest.approx(-scipy.stats.poisson.logpmf(3, math.exp(0.2)), rel=1e-13)
    assert fl.GaussianNLL(full=False).loss([0.0], [[0.0, 0.0]]) == 0.0


def test_negative_nll_and_minimiser(backend):
    """Continuous NLLs go negative (densities above 1) and are minimised where they should be."""
    g = CAT["gaussian_nll"]
    assert g.loss([0.0], [[0.0, math.log(0.01)]]) < 0
    # fixed mean residual d: minimum over s at s = log d^2, and at mu = y
    d = 0.3
    res = scipy.optimize.minimize_scalar(lambda s: g.loss([d], [[0.0, s]]), bracket=(-5, 0))
    assert res.x == pytest.approx(math.log(d * d), abs=1e-5)
    b = CAT["beta_nll"]
    y = np.random.default_rng(0).beta(5.0, 2.0, 4000)
    assert b.loss(y, np.tile([[math.log(5.0), math.log(2.0)]], (y.size, 1))) < 0
    fit = scipy.optimize.minimize(
        lambda p: b.loss_gradient(y, np.tile(p, (y.size, 1)), reduction="mean")[0],
        x0=[0.0, 0.0],
        jac=lambda p: b.loss_gradient(y, np.tile(p, (y.size, 1)), reduction="mean")[1].sum(0),
        method="L-BFGS-B",
    )
    ref = scipy.stats.beta.fit(y, floc=0, fscale=1)
    np.testing.assert_allclose(np.exp(fit.x), ref[:2], rtol=1e-3)


def test_errors_name_the_argument(backend):
    sq = CAT["squared_error"]
    with pytest.raises(ValueError, match="reduction"):
        sq.loss([1.0], [1.0], reduction="avg")
    with pytest.raises(ValueError, match="raw"):
        sq.loss([1.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="y_true"):
        sq.loss([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="sample_weight"):
        sq.loss([1.0], [1.0], sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="raw contains NaN"):
        sq.loss([1.0], [np.nan])
    # a nan beside the label's +inf logit (the +inf limit must not hide it: the NumPy
    # reference's loss was 0 there), for every kind of rows loss and method
    z = np.zeros((3, 5))
    z[1, 2], z[1, 0] = np.inf, np.nan
    for loss in (fl.CrossEntropy(), fl.CrossEntropy(label_smoothing=0.1), CAT["multiclass_focal"]):
        for method in ("loss", "gradient", "gradient_hessian"):
            with pytest.raises(ValueError, match="raw contains NaN"):
                getattr(loss, method)([0, 2, 1], z)
    with pytest.raises(ValueError, match="logits contains NaN"):
        fastloss.log_loss_from_logits([0, 2, 1], z, labels=np.arange(5))
    with pytest.raises(ValueError, match="0/1"):
        CAT["focal"].loss([2.0], [0.0])
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        CAT["beta_nll"].loss([1.0], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="probabilities"):
        CAT["binary_cross_entropy_proba"].loss([1.0], [1.5])
    with pytest.raises(ValueError, match="non-negative"):
        CAT["poisson"].loss([-1.0], [0.0])
    with pytest.raises(ValueError, match="delta"):
        fl.Huber(delta=0.0)
    with pytest.raises(ValueError, match="quantile"):
        fl.Pinball(quantile=1.0)


def test_backends_agree_and_deterministic():
    if len(BACKENDS) < 2:
        pytest.skip("one backend")
    rng = np.random.default_rng(9)
    for name in NAMES:
        y, raw = data(name, n=50, rng=rng)
        res = {}
        for b in BACKENDS:
            with fastloss.set_backend(b):
                res[b] = CAT[name].loss_gradient(y, raw) + CAT[name].gradient_hessian(y, raw)
        for b in BACKENDS[1:]:
            for a, c in zip(res[BACKENDS[0]], res[b]):
                np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14, err_msg=name)


def test_parallel_path_matches_serial(backend):
    """Big enough for the prange path: same sums for 1 and 2 threads (bitwise)."""
    rng = np.random.default_rng(2)
    n = 70_000
    y, z = rng.integers(0, 3, n), rng.normal(size=(n, 3))
    yb, r = rng.integers(0, 2, n).astype(float), rng.normal(size=n)
    out = []
    for threads in (1, 2):
        fastloss.set_num_threads(threads)
        out.append((CAT["cross_entropy"].loss_gradient(y, z, reduction="sum"),
                    CAT["binary_cross_entropy"].loss(yb, r)))
    assert out[0][0][0] == out[1][0][0] and out[0][1] == out[1][1]
    np.testing.assert_array_equal(out[0][0][1], out[1][0][1])


def test_digamma_trigamma():
    """The formulas' psi and psi' (as Python, and as Numba compiles them) and the NumPy reference's."""
    from fastloss import _formulas
    from fastloss._numpy import losses as npl

    impls = [_formulas]
    try:
        from fastloss._numba import engine

        impls.append(types.SimpleNamespace(digamma=engine.FORMULAS["digamma"],
                                           trigamma=engine.FORMULAS["trigamma"]))
    except ImportError:
        pass
    x = np.array([1e-300, 1e-8, 0.1, 0.5, 1.0, 2.5, 9.99, 10.0, 37.0, 1e5, 1e300])
    np.testing.assert_allclose(npl.digamma(x), scipy.special.digamma(x), rtol=1e-14)
    np.testing.assert_allclose(npl.trigamma(x), scipy.special.polygamma(1, x), rtol=5e-15)
    for m in impls:
        np.testing.assert_allclose([m.digamma(float(v)) for v in x], scipy.special.digamma(x), rtol=1e-14)
        np.testing.assert_allclose([m.trigamma(float(v)) for v in x], scipy.special.polygamma(1, x), rtol=5e-15)


def test_mpmath_extreme_bce():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    r = np.array([-700.0, -40.0, -1e-10, 1e-10, 40.0, 700.0])
    y = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    ref = [float(mpmath.log1p(mpmath.exp(-mpmath.mpf(v))) if t == 1 else mpmath.log1p(mpmath.exp(mpmath.mpf(v))))
           for t, v in zip(y, r)]
    for b in BACKENDS:
        with fastloss.set_backend(b):
            np.testing.assert_allclose(CAT["binary_cross_entropy"].loss(y, r, reduction="none"), ref,
                                       rtol=1e-15)


def test_logistic_regression_matches_sklearn(backend):
    """Multinomial logistic regression fitted with scipy + cross_entropy.loss_gradient reproduces
    sklearn's LogisticRegression (same L2 penalty) on the iris data set."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n, d = X.shape
    k = 3
    C = 1.0
    ce = fl.CrossEntropy()
    Xb = np.hstack([X, np.ones((n, 1))])

    def fun(theta):
        W = theta.reshape(d + 1, k)
        l, g = ce.loss_gradient(y, Xb @ W, reduction="sum")
        pen = 0.5 / C * np.sum(W[:d] ** 2)
        grad = Xb.T @ g
        grad[:d] += W[:d] / C
        return l + pen, grad.ravel()

    res = scipy.optimize.minimize(fun, np.zeros((d + 1) * k), jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-10, "ftol": 1e-14, "maxiter": 2000})
    W = res.x.reshape(d + 1, k)
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    # softmax is invariant to a shift per feature; compare centred coefficients
    ours = W[:d].T - W[:d].T.mean(0)
    theirs = ref.coef_ - ref.coef_.mean(0)
    np.testing.assert_allclose(ours, theirs, atol=2e-4)
    np.testing.assert_allclose(W[d] - W[d].mean(), ref.intercept_ - ref.intercept_.mean(), atol=2e-4)


def test_lightgbm_custom_objective():
    lgb = pytest.importorskip("lightgbm")
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    bce = CAT["binary_cross_entropy"]

    def objective(preds, train_data):
        return bce.gradient_hessian(train_data.get_label(), preds)

    params = {"verbose": -1, "num_leaves": 7, "learning_rate": 0.1, "min_data_in_leaf": 5,
              "boost_from_average": False, "seed": 0, "deterministic": True}
    built_in = lgb.train({**params, "objective": "binary"}, lgb.Dataset(X, y), num_boost_round=20)
    custom = lgb.train({**params, "objective": objective}, lgb.Dataset(X, y), num_boost_round=20)
    np.testing.assert_allclose(scipy.special.expit(custom.predict(X, raw_score=True)),
                               built_in.predict(X), rtol=1e-6, atol=1e-8)


def test_one_comparison_domain_tests(backend):
    """The formulas' one-comparison domain tests (no branching ``or``: the Cython loops then
    vectorise) keep their meaning at the edges: raw outside [0, 1] by one subnormal or one ulp,
    or infinite, is not a probability; hinge labels are exactly {-1, 0, 1}."""
    from fastloss.losses import BinaryCrossEntropyProba, Hinge

    n = 300  # past the small-input paths' sizes as well as within them
    for bad in (-5e-324, 1.0 + 2.0 ** -52, np.inf, -np.inf):
        raw = np.full(n, 0.5)
        raw[n // 2] = bad
        with pytest.raises(ValueError, match=r"probabilit"):
            BinaryCrossEntropyProba().loss(np.ones(n), raw)
    edge = np.full(n, 0.5)
    edge[:4] = [0.0, 1.0, 5e-324, 1.0 - 2.0 ** -53]
    assert np.isfinite(BinaryCrossEntropyProba().gradient(np.ones(n), edge)).all()
    y = np.tile([-1.0, 0.0, 1.0], n // 3)
    r = np.linspace(-2, 2, y.size)
    expected = np.maximum(0.0, 1.0 - np.where(y == 1.0, 1.0, -1.0) * r)
    np.testing.assert_allclose(Hinge().loss(y, r, reduction="none"), expected, rtol=1e-15)
    for bad in (0.5, -0.5, np.inf, -np.inf, -2.0):
        yb = y.copy()
        yb[n // 2] = bad
        with pytest.raises(ValueError):
            Hinge().gradient(yb, r)


def test_bce_float32_lanes_parallel_and_backends_agree():
    """Past the parallel size, float32 scores with soft labels scattered: 1 and 2 threads give
    the same bits on each compiled backend, every chunk holding a soft label equals the float64
    result, and Numba and Cython agree on the weighted mean loss bit for bit (the same Σ w)."""
    import fastloss
    from fastloss.losses import BinaryCrossEntropy

    rng = np.random.default_rng(3)
    n = 300_000
    r = (rng.normal(size=n) * 5).astype(np.float32)
    y = (rng.random(n) < 0.5).astype(np.float32)
    soft = rng.choice(n, 40, replace=False)
    y[soft] = 0.3
    w = rng.random(n) * 3
    loss = BinaryCrossEntropy(pos_weight=1.5)
    g64, h64 = loss.gradient_hessian(y.astype(np.float64), r.astype(np.float64), sample_weight=w)
    means = []
    compiled = [b for b in ("numba", "cython") if b in fastloss.available_backends()]
    if not compiled:
        pytest.skip("no compiled backend in this build")
    for backend in compiled:
        with fastloss.set_backend(backend):
            results = []
            for threads in (1, 2):
                with fastloss.thread_limit(threads):
                    results.append(loss.gradient_hessian(y, r, sample_weight=w))
            np.testing.assert_array_equal(results[0][0], results[1][0])
            np.testing.assert_array_equal(results[0][1], results[1][1])
            g, h = results[0]
            for i in soft:  # chunks of 256 from the start of each block (blocks are multiples)
                chunk = slice(i // 256 * 256, min(n, i // 256 * 256 + 256))
                np.testing.assert_array_equal(g[chunk], g64[chunk].astype(np.float32))
                np.testing.assert_array_equal(h[chunk], h64[chunk].astype(np.float32))
            means.append(loss.loss(y, r, sample_weight=w))
    assert len(set(means)) == 1, means  # (with both compiled backends installed: bitwise equal)


def test_bce_float64_exp_in_range_chunks(backend):
    """float64 exp in the BCE kernels: a chunk whose |raw| all lie within 708 takes exp without
    its edge cases, one with a score beyond it the full exp, the same bits: dropping the outliers
    leaves every other loss, gradient and hessian unchanged, and the outliers' match the NumPy
    backend's (the loss of float32 scores too: its e is float64)."""
    from fastloss.losses import BinaryCrossEntropy

    rng = np.random.default_rng(21)
    n = 300_000
    r = rng.normal(size=n) * 30
    y = (rng.random(n) < 0.5).astype(np.float64)
    odd = rng.choice(n, 60, replace=False)
    r[odd] = np.resize([708.5, -708.5, 745.5, -800.0, 1e300, -1e300, np.inf, -np.inf], odd.size)
    loss = BinaryCrossEntropy(pos_weight=2.0)
    g, h = loss.gradient_hessian(y, r)
    keep = np.ones(n, bool)
    keep[odd] = False
    g_keep, h_keep = loss.gradient_hessian(y[keep], r[keep])
    np.testing.assert_array_equal(g_keep, g[keep])
    np.testing.assert_array_equal(h_keep, h[keep])
    np.testing.assert_array_equal(loss.gradient(y, r), g)
    # the loss modes take e the same way, for float32 raw too (in float64)
    l = loss.loss(y, r, reduction="none")
    np.testing.assert_array_equal(loss.loss(y[keep], r[keep], reduction="none"), l[keep])
    l2, g2 = loss.loss_gradient(y, r, reduction="none")
    np.testing.assert_array_equal(l2, l)
    np.testing.assert_array_equal(g2, g)
    import fastloss

    with fastloss.set_backend("numpy"):
        g_ref, h_ref = loss.gradient_hessian(y[odd], r[odd])
        l_ref = loss.loss(y[odd], r[odd], reduction="none")
        r32 = r.astype(np.float32)
        l32_ref = loss.loss(y, r32, reduction="none")
    np.testing.assert_allclose(g[odd], g_ref, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(h[odd], h_ref, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(l[odd], l_ref, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(loss.loss(y, r32, reduction="none"), l32_ref, rtol=1e-15, atol=1e-300)


def test_cross_entropy_exp_in_range_tiles(backend):
    """cross_entropy's rows with a logit beyond 350 (spreads past 708, -2000, -inf) take the
    shifted path, the others the unshifted tiles (Numba: those rows one at a time; Cython: a
    shifted tile): dropping them leaves the other rows' bits unchanged, and they match the
    NumPy backend."""
    from fastloss.losses import CATALOGUE

    ce = CATALOGUE["cross_entropy"]
    rng = np.random.default_rng(23)
    n = 3000
    z = rng.normal(size=(n, 10)) * 4
    labels = rng.integers(0, 10, n)
    odd = rng.choice(n, 40, replace=False)
    for m, i in enumerate(odd):
        other = (labels[i] + 1 + m % 9) % 10
        z[i, other] = [z[i].max() - 708.5, z[i].max() - 720.0, z[i].max() + 800.0, -2000.0, -np.inf][m % 5]
    l, g = ce.loss_gradient(labels, z, reduction="none")
    keep = np.ones(n, bool)
    keep[odd] = False
    l_keep, g_keep = ce.loss_gradient(labels[keep], z[keep], reduction="none")
    np.testing.assert_array_equal(l_keep, l[keep])
    np.testing.assert_array_equal(g_keep, g[keep])
    np.testing.assert_array_equal(ce.loss(labels, z, reduction="none"), l)
    with fastloss.set_backend("numpy"):
        l_ref, g_ref = ce.loss_gradient(labels[odd], z[odd], reduction="none")
    np.testing.assert_allclose(l[odd], l_ref, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(g[odd], g_ref, rtol=1e-14, atol=4e-16)  # p_y - 1: ulp(1) absolute
    np.testing.assert_allclose(fastloss.log_loss_from_logits(labels, z, normalize=False), math.fsum(l), rtol=1e-13)


@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_unshifted_rows(backend, dtype, eps):
    """Rows whose |z| all lie within 350 take the exps without a max shift (label_smoothing 0):
    every operation against mpmath (losses, tiny ones included) and scipy's softmax (gradient,
    hessian), with class weights, an ignored label and zero weights, float32 logits too; and a
    row's bits do not depend on the tile it shares with a row beyond 350 or a -inf logit (those
    take the shifted path)."""
    import mpmath

    rng = np.random.default_rng(31)
    n, k = 200, 7
    z = (rng.normal(size=(n, k)) * 5).astype(dtype)
    y = rng.integers(0, k, n)
    y[[3, 40]] = -1
    z[5, 2] = 351.0  # beyond the range: its row goes the shifted way, its tile's others not
    y[5] = 3  # (a label not at that max: the shifted path's lse - z_y cancels for tiny losses)
    z[70, 1] = -np.inf
    z[100:110] = np.where(np.arange(k) == y[100:110, None], 40.0, 0.0)  # losses ~6 e**-40
    cw = rng.uniform(0.5, 2.0, k)
    w = rng.uniform(0, 2, n)
    w[::17] = 0.0
    ce = fl.CrossEntropy(class_weight=cw, ignore_index=-1, label_smoothing=eps)
    z64 = z.astype(np.float64)
    keep = y != -1
    yk = np.where(keep, y, 0)
    weff = np.where(keep, w * cw[yk], 0.0)
    p = scipy.special.softmax(z64, axis=1)
    onehot = (1 - eps) * np.eye(k)[yk] + eps / k  # the smoothed targets

    def exact_loss(i):  # log1p(Σ_{t != y} e**(z_t - z_y)) in 40 digits: no cancellation
        with mpmath.workdps(40):
            zy = mpmath.mpf(float(z64[i, yk[i]]))
            return float(mpmath.log1p(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v)) - zy)
                                                  for t, v in enumerate(z64[i]) if t != yk[i])))

    # with label smoothing, (1 - eps)(lse - z_y) + eps (lse - mean z): the second part >= log K
    smooth = eps * (scipy.special.logsumexp(z64, axis=1) - z64.mean(axis=1)) if eps else np.zeros(n)
    ref_l = np.array([0.0 if weff[i] == 0 else weff[i] * ((1 - eps) * exact_loss(i) + smooth[i])
                      for i in range(n)])
    ref_g = weff[:, None] * (p - onehot)
    ref_h = weff[:, None] * p * (1 - p)
    # confident rows (100..109) included: lse - z_y (scipy's log_softmax too) rounds their ~1e-17
    # losses to 0 or multiples of 7e-15, a loss of 2.6e-4 to 1.6e-12 relative
    rtol = 1e-13 if dtype == np.float64 else 2e-7
    l, g = ce.loss_gradient(y, z, sample_weight=w, reduction="none")
    np.testing.assert_allclose(l, ref_l, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(g, ref_g, rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(ce.loss(y, z, sample_weight=w, reduction="none"), l, rtol=0)
    np.testing.assert_array_equal(ce.gradient(y, z, sample_weight=w), g)
    gh, hh = ce.gradient_hessian(y, z, sample_weight=w)
    np.testing.assert_array_equal(gh, g)
    np.testing.assert_allclose(hh, ref_h, rtol=rtol, atol=1e-15)
    # bits independent of the tile: rows 0..31 share a tile with row 5 (shifted); alone, each
    # row is its own tile
    for i in (0, 4, 6, 31):
        li, gi = ce.loss_gradient(y[[i]], z[[i]], sample_weight=w[[i]], reduction="none")
        np.testing.assert_array_equal(li, l[[i]])
        np.testing.assert_array_equal(gi, g[[i]])


def test_cross_entropy_shifted_rows_keep_small_losses(backend):
    """Rows beyond 350 (the shifted path) keep a small loss and gradient to their last digits,
    as the unshifted rows do: (m - z_y) + (log c + log1p(s / c)), not lse - z_y (which gave 0
    for these losses of 1.3e-14), and p = exp(z - m) / (c + s), not exp(z - lse) (which made a
    dominant p exactly 1 and its gradient 0); a shift of every logit changes nothing. And with
    one class, label smoothing costs exactly 0."""
    z = np.array([[1000.0, 968.0], [300.0, 268.0], [400.0, 368.0]])
    y = np.array([0, 0, 0])
    exact = math.log1p(math.exp(-32.0))
    ce = fl.CrossEntropy()
    l = ce.loss(y, z, reduction="none")
    np.testing.assert_allclose(l, exact, rtol=1e-14)
    np.testing.assert_allclose(ce.loss(y, z - 700.0, reduction="none"), exact, rtol=1e-14)
    g, h = ce.gradient_hessian(y, z)
    p = scipy.special.softmax(z, axis=1)[:, 0]  # 1 / (1 + e**-32), rounded: p - 1 is -1.2657e-14
    assert (g[:, 0] != 0).all()
    np.testing.assert_allclose(g[:, 0], p - 1, rtol=1e-14)
    np.testing.assert_allclose(h[:, 0], p * (1 - p), rtol=1e-14)
    assert fastloss.log_loss_from_logits(y, z, labels=[0, 1]) == pytest.approx(exact, rel=1e-14)
    z1 = np.random.default_rng(0).normal(size=(300, 1)) * 50
    assert not fl.CrossEntropy(label_smoothing=0.1).loss(np.zeros(300, int), z1, reduction="none").any()
    # rows longer than the tiles (K = 129, a row at a time; the Cython kernel gave them 0)
    import mpmath

    rng = np.random.default_rng(1)
    zl = rng.normal(size=(8, 129))
    yl = rng.integers(0, 129, 8)
    zl[np.arange(8), yl] = 40.0
    with mpmath.workdps(40):
        exact_l = [float(mpmath.log1p(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v)) - 40) for t, v in enumerate(r)
                                                  if t != c))) for r, c in zip(zl, yl)]
    np.testing.assert_allclose(ce.loss(yl, zl, reduction="none"), exact_l, rtol=1e-13)
    # and their gradient at the label, p_y - 1 = -x / (1 + x) for x = e**l - 1 (~1e-15), to
    # float64's absolute rounding of p_y near 1 (the softmax as exp(z - lse) gave exactly 0)
    gl = ce.gradient(yl, zl)[np.arange(8), yl]
    exact_g = [-math.expm1(v) / math.exp(v) for v in exact_l]
    assert (gl < 0).all()
    np.testing.assert_allclose(gl, exact_g, rtol=0, atol=4.5e-16)


def test_log_cosh_gradient_is_tanh(backend):
    """log_cosh's gradient tanh(r - y), computed through expm1 (vectorised, no libm tanh):
    within 2 ulp of mpmath from subnormal to saturated differences, exact limits and signed
    zeros, nan kept (an undefined gradient raises)."""
    import mpmath

    from fastloss.losses import LogCosh

    rng = np.random.default_rng(11)
    d = np.concatenate([np.linspace(-40, 40, 1601), rng.normal(scale=3, size=600),
                        10.0 ** rng.uniform(-300, 1.5, 400), -(10.0 ** rng.uniform(-300, 1.5, 400)),
                        [5e-324, -5e-324, 1e-16, 0.55, 19.06, 700.0, -700.0]])
    with mpmath.workdps(40):
        exact = np.array([float(mpmath.tanh(mpmath.mpf(v))) for v in d.tolist()])
    g = LogCosh().gradient(np.zeros_like(d), d)
    err = np.abs(g - exact) / np.spacing(np.abs(exact))
    assert err.max() <= 2.0, (float(err.max()), d[err.argmax()])
    g = LogCosh().gradient(np.zeros(4), np.array([np.inf, -np.inf, 0.0, -0.0]))
    np.testing.assert_array_equal(g, [1.0, -1.0, 0.0, -0.0])
    assert np.signbit(g[3]) and not np.signbit(g[2])
    with pytest.raises(ValueError, match="NaN"):
        LogCosh().gradient(np.zeros(3), np.array([0.0, np.nan, 1.0]))


def test_bce_float32_lanes(backend):
    """A float32 score gets exp(-|r|) in float32 lanes (Spec.exp_lanes): gradient and hessian
    stay within 2 float32 ulp of mpmath's, weighted and with pos_weight, over chunks of the
    kernels' loops; a chunk holding a soft label (where the gradient can cancel) is computed
    with exp in float64: bitwise the float64 computation rounded to float32."""
    import mpmath

    from fastloss.losses import BinaryCrossEntropy

    rng = np.random.default_rng(7)
    n = 4096  # 16 chunks of the compiled loops
    # scores past |r| = 87 make exp(-|r|) a float32 subnormal: their chunks take exp in float64
    # (a weight or pos_weight of 100 would show the subnormal's lost bits: 51 ulp)
    r = np.concatenate([np.linspace(-30, 30, n // 2), rng.normal(scale=6, size=n // 2 - 108),
                        np.linspace(86.5, 104.5, 50), -np.linspace(86.5, 104.5, 50),
                        [0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, 103.0, -103.0]]).astype(np.float32)
    y = (rng.random(n) < 0.5).astype(np.float32)
    w = rng.random(n) + 0.25
    w[::7] *= 100.0
    for pos_weight in (1.0, 2.5, 100.0):
        loss = BinaryCrossEntropy(pos_weight=pos_weight)
        g, h = loss.gradient_hessian(y, r, sample_weight=w)
        assert g.dtype == h.dtype == np.float32
        with mpmath.workdps(40):
            exact = []
            for rv, yv, wv in zip(r.tolist(), y.tolist(), w.tolist()):
                s = 1 / (1 + mpmath.exp(-mpmath.mpf(rv)))
                sn = 1 / (1 + mpmath.exp(mpmath.mpf(rv)))
                exact.append((float(wv * ((1 - yv) * s - pos_weight * yv * sn)),
                              float(wv * s * sn * (pos_weight * yv + 1 - yv))))
        g_exact, h_exact = np.array(exact).T
        for got, want in ((g, g_exact), (h, h_exact)):
            ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
            err = np.abs(got.astype(np.float64) - want) / ulp
            assert err.max() <= 2.0, (pos_weight, float(err.max()), r[err.argmax()])
        np.testing.assert_array_equal(loss.gradient(y, r), loss.gradient_hessian(y, r)[0])
    if backend != "numpy":  # the compiled kernels do take the float32 lanes (not float64 math)
        g64 = BinaryCrossEntropy().gradient(y.astype(np.float64), r.astype(np.float64))
        assert not np.array_equal(BinaryCrossEntropy().gradient(y, r), g64.astype(np.float32))
    # one soft label in chunk [768, 1024): that chunk as the float64 computation gives it
    loss = BinaryCrossEntropy()
    ys = y.copy()
    ys[900] = 0.3
    for args in ((), ("w",)):
        sw = {"sample_weight": w} if args else {}
        g, h = loss.gradient_hessian(ys, r, **sw)
        g64, h64 = loss.gradient_hessian(ys.astype(np.float64), r.astype(np.float64), **sw)
        chunk = slice(768, 1024)
        np.testing.assert_array_equal(g[chunk], g64[chunk].astype(np.float32))
        np.testing.assert_array_equal(h[chunk], h64[chunk].astype(np.float32))
        np.testing.assert_array_equal(loss.gradient(ys, r, **sw)[chunk], g64[chunk].astype(np.float32))


def test_bce_gradient_keeps_saturated_scores(backend):
    """binary_cross_entropy's gradient (1 - y) sigma(r) - pos_weight y sigma(-r) at scores where
    sigma rounds to 1: relative error <= 2 ulp against mpmath, in float64 and in
    float32 (as a booster hands scores over); the hessian e / (1 + e)^2 (c1 + 1 - y) to 3 ulp. The form sigma(r) (1 + c1 - y) - c1 gave 0 for
    y = 1, r = 40 (exact: -4.2e-18) and was 3.6e-8 off at r = 20; scikit-learn keeps them."""
    import mpmath

    from fastloss.losses import BinaryCrossEntropy

    r = np.array([20.0, 40.0, 300.0, 700.0, -20.0, -40.0, -300.0, -700.0, 5.0, -5.0, 0.0, 37.5])
    for pos_weight in (1.0, 2.5):
        loss = BinaryCrossEntropy(pos_weight=pos_weight)
        for yv in (0.0, 1.0):
            y = np.full(r.shape, yv)
            with mpmath.workdps(60):  # sigma(r) and sigma(-r) each to 60 digits (1 - sigma(r) would cancel)
                sig = [(1 / (1 + mpmath.exp(-mpmath.mpf(float(v)))), 1 / (1 + mpmath.exp(mpmath.mpf(float(v)))))
                       for v in r]
                g_exact = [float((1 - yv) * s - pos_weight * yv * sn) for s, sn in sig]
                h_exact = [float(s * sn * (pos_weight * yv + 1 - yv)) for s, sn in sig]
            for dtype in (np.float64, np.float32):
                g, h = loss.gradient_hessian(y.astype(dtype), r.astype(dtype))
                assert g.dtype == dtype
                g_exact_d = np.array(g_exact).astype(dtype)
                h_exact_d = np.array(h_exact).astype(dtype)
                ulp = np.spacing(np.abs(g_exact_d).astype(dtype))
                assert np.all(np.abs(g.astype(np.float64) - g_exact) <= 2 * ulp), (pos_weight, yv, dtype, g, g_exact_d)
                hulp = np.spacing(np.abs(h_exact_d).astype(dtype))
                assert np.all(np.abs(h.astype(np.float64) - h_exact) <= 3 * hulp), (pos_weight, yv, dtype, h, h_exact_d)
                assert np.array_equal(loss.gradient(y.astype(dtype), r.astype(dtype)), g)
