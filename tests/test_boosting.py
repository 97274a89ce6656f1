"""fastloss.lightgbm and fastloss.xgboost, tested by training real models: a fastloss objective
reproduces the built-in objective's raw predictions (binary, multiclass, L2; with weights), its
start value is the built-in's, its metric the built-in metric's values, on both the training APIs
and the scikit-learn estimators; every boosting loss trains on both libraries and backends."""
import json
import re
import warnings

import numpy as np
import pytest
import scipy.special

import fastloss
import fastloss.losses as fl
from fastloss._boosting import BOOSTABLE, weighted_quantile

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")
import fastloss.lightgbm as flgb  # noqa: E402
import fastloss.xgboost as fxgb  # noqa: E402

N = 2000
ROUNDS = 50
LGB = {"verbose": -1, "num_leaves": 15, "learning_rate": 0.1, "seed": 0, "deterministic": True,
       "num_threads": 2, "min_data_in_leaf": 20}
XGB = {"max_depth": 4, "eta": 0.1, "nthread": 2, "seed": 0, "tree_method": "hist"}


def _data(seed=0, n=N, k=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    w = rng.random(n) + 0.5
    yb = (rng.random(n) < scipy.special.expit(X[:, 0] + 0.5 * X[:, 1])).astype(np.float64)
    yc = np.argmax(X[:, :k] + rng.gumbel(size=(n, k)), axis=1).astype(np.float64)
    yr = 2 * X[:, 0] + rng.normal(size=n)
    return X, w, {"binary": yb, "multiclass": yc, "regression": yr}


CASES = [("binary", "binary_cross_entropy", {}), ("multiclass", "cross_entropy", {"num_class": 3}),
         ("regression", "squared_error", {})]


# ---------------------------------------------------------------- LightGBM
@pytest.mark.parametrize("task,loss,extra", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_lightgbm_train_reproduces_builtin(task, loss, extra, weighted):
    X, w, ys = _data()
    y, w = ys[task], (w if weighted else None)
    built = lgb.train({**LGB, "objective": task, **extra}, lgb.Dataset(X, y, weight=w), ROUNDS)
    obj = flgb.objective(loss)
    init = obj.init_score(y, w)
    ours = lgb.train({**LGB, "objective": obj, **extra},
                     lgb.Dataset(X, y, weight=w, init_score=init), ROUNDS)
    np.testing.assert_allclose(ours.predict(X, raw_score=True) + init, built.predict(X, raw_score=True),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("task,loss,extra", CASES)
def test_lightgbm_estimators_reproduce_builtin(task, loss, extra):
    X, w, ys = _data(1)
    y = ys[task]
    est = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    kw = dict(n_estimators=30, num_leaves=15, verbose=-1, random_state=0, deterministic=True, n_jobs=2)
    built = est(**kw).fit(X, y, sample_weight=w)
    obj = flgb.objective(loss)
    init = obj.init_score(y, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # raw scores from predict with a custom objective
        ours = est(**kw, objective=obj).fit(X, y, sample_weight=w, init_score=init)
        raw = ours.predict(X, raw_score=True)
    np.testing.assert_allclose(raw + init, built.predict(X, raw_score=True), rtol=1e-6, atol=1e-6)


def _lgb_start(objective, y, w, **extra):
    """The built-in's start: with no split allowed the model is its boost_from_average value."""
    X = np.zeros((len(y), 1))
    b = lgb.train({"verbose": -1, "objective": objective, "min_data_in_leaf": len(y) + 1, **extra},
                  lgb.Dataset(X, y, weight=w), 1)
    return b.predict(X[:1], raw_score=True)[0]


@pytest.mark.parametrize("objective,loss,params", [
    ("binary", "binary_cross_entropy", {}), ("regression", "squared_error", {}),
    ("huber", "huber", {}), ("poisson", "poisson", {}), ("multiclass", "cross_entropy", {}),
])
def test_lightgbm_init_score_is_the_builtin_start(objective, loss, params):
    X, w, ys = _data(2)
    y = {"binary": ys["binary"], "multiclass": ys["multiclass"]}.get(objective, np.abs(ys["regression"]))
    extra = {"num_class": 3} if objective == "multiclass" else {}
    value = flgb.objective(loss, **params).init_value(y, w)
    np.testing.assert_allclose(value, _lgb_start(objective, y, w, **extra), rtol=1e-12, atol=1e-12)


def test_lightgbm_metric_matches_builtin_metric():
    X, w, ys = _data(3)
    y = ys["binary"]
    hist_b, hist_o = {}, {}
    ds = lgb.Dataset(X, y, weight=w)
    lgb.train({**LGB, "objective": "binary", "metric": "binary_logloss"}, ds, 20, valid_sets=[ds],
              callbacks=[lgb.record_evaluation(hist_b)])
    obj = flgb.objective("binary_cross_entropy")
    ds2 = lgb.Dataset(X, y, weight=w, init_score=obj.init_score(y, w))
    lgb.train({**LGB, "objective": obj, "metric": "None"}, ds2, 20, valid_sets=[ds2],
              feval=flgb.metric("binary_cross_entropy"), callbacks=[lgb.record_evaluation(hist_o)])
    np.testing.assert_allclose(hist_o["training"]["binary_cross_entropy"],
                               hist_b["training"]["binary_logloss"], rtol=1e-9)


def test_lightgbm_multiclass_hessian_conventions():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(50, 4)), rng.integers(0, 4, 50).astype(np.float32)
    p = scipy.special.softmax(z, axis=1)
    t = np.eye(4)[y.astype(int)]
    g, h = flgb.objective("cross_entropy")(y, np.asfortranarray(z), None)  # LightGBM's layout
    # handed over as LightGBM takes them: float32 (its own cast), column-major (its ravel order)
    assert g.dtype == h.dtype == np.float32 and g.flags.f_contiguous
    np.testing.assert_allclose(g, p - t, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h, 4 / 3 * p * (1 - p), rtol=1e-6)
    _, h_exact = flgb.objective("cross_entropy", hessian="exact")(y, z, None)
    np.testing.assert_allclose(h_exact, p * (1 - p), rtol=1e-6)


def test_flat_multiclass_layouts_of_older_versions():
    """LightGBM < 4 hands multiclass scores over class-major and flat, XGBoost < 2 row-major."""
    rng = np.random.default_rng(9)
    z, y, w = rng.normal(size=(40, 3)), rng.integers(0, 3, 40).astype(np.float32), rng.random(40)
    for mod, order in ((flgb, "F"), (fxgb, "C")):
        obj = mod.objective("cross_entropy")
        g2, h2 = obj(y, z, w) if mod is flgb else obj(y, z, sample_weight=w)
        flat = z.ravel(order=order)
        g1, h1 = obj(y, flat, w) if mod is flgb else obj(y, flat, sample_weight=w)
        np.testing.assert_allclose(g1, g2.ravel(order=order), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(h1, h2.ravel(order=order), rtol=1e-6)
        with pytest.raises(ValueError, match="41 raw scores for 40 labels"):
            obj(y, np.zeros(41), w) if mod is flgb else obj(y, np.zeros(41))


# ---------------------------------------------------------------- XGBoost
@pytest.mark.parametrize("task,loss,extra", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_xgboost_train_reproduces_builtin(task, loss, extra, weighted):
    X, w, ys = _data()
    y, w = ys[task], (w if weighted else None)
    builtin = {"binary": "binary:logistic", "multiclass": "multi:softprob",
               "regression": "reg:squarederror"}[task]
    d = xgb.DMatrix(X, y, weight=w)
    built = xgb.train({**XGB, "objective": builtin, **extra}, d, ROUNDS)
    obj = fxgb.objective(loss)
    ours = xgb.train({**XGB, **extra, "base_score": obj.init_score(y, w)}, d, ROUNDS, obj=obj)
    # XGBoost's margins are float32: 1e-6 is a few of their ulps
    np.testing.assert_allclose(ours.predict(d, output_margin=True), built.predict(d, output_margin=True),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("task,loss,extra", CASES)
def test_xgboost_estimators_reproduce_builtin(task, loss, extra):
    X, w, ys = _data(1)
    y = ys[task]
    kw = dict(n_estimators=30, max_depth=4, learning_rate=0.1, random_state=0, n_jobs=2)
    obj = fxgb.objective(loss)
    if task == "regression":
        built = xgb.XGBRegressor(**kw).fit(X, y, sample_weight=w)
        ours = xgb.XGBRegressor(**kw, objective=obj, base_score=obj.init_score(y, w))
    else:
        built = xgb.XGBClassifier(**kw).fit(X, y, sample_weight=w)
        ours = xgb.XGBClassifier(**kw, objective=obj, base_score=obj.classifier_base_score(y, w))
    ours.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict(X, output_margin=True), built.predict(X, output_margin=True),
                               rtol=1e-6, atol=1e-6)
    if task != "regression":
        np.testing.assert_allclose(ours.predict_proba(X), built.predict_proba(X), atol=1e-6)


def _xgb_base_score(objective, y, w, **extra):
    import json
    b = xgb.train({"objective": objective, **extra}, xgb.DMatrix(np.zeros((len(y), 1)), y, weight=w), 1)
    text = json.loads(b.save_config())["learner"]["learner_model_param"]["base_score"]
    return np.array(json.loads(text), dtype=np.float64)


@pytest.mark.parametrize("objective,loss,margin", [
    ("binary:logistic", "binary_cross_entropy", scipy.special.logit),
    ("reg:squarederror", "squared_error", lambda v: v),
    ("multi:softprob", "cross_entropy", lambda v: v),
])
def test_xgboost_init_score_is_the_builtin_estimate(objective, loss, margin):
    X, w, ys = _data(2)
    y = {"binary:logistic": ys["binary"], "multi:softprob": ys["multiclass"]}.get(objective, ys["regression"])
    extra = {"num_class": 3} if objective == "multi:softprob" else {}
    ours = np.atleast_1d(fxgb.objective(loss).init_score(y, w))
    np.testing.assert_allclose(ours, margin(_xgb_base_score(objective, y, w, **extra)), rtol=2e-6, atol=2e-7)


def test_xgboost_metric_matches_builtin_metric():
    X, w, ys = _data(3)
    y = ys["binary"]
    d = xgb.DMatrix(X, y, weight=w)
    hist_b, hist_o = {}, {}
    xgb.train({**XGB, "objective": "binary:logistic", "eval_metric": "logloss"}, d, 20,
              evals=[(d, "t")], evals_result=hist_b, verbose_eval=False)
    obj = fxgb.objective("binary_cross_entropy")
    xgb.train({**XGB, "base_score": obj.init_score(y, w), "disable_default_eval_metric": 1}, d, 20,
              obj=obj, custom_metric=fxgb.metric("binary_cross_entropy"), evals=[(d, "t")],
              evals_result=hist_o, verbose_eval=False)
    np.testing.assert_allclose(hist_o["t"]["binary_cross_entropy"], hist_b["t"]["logloss"], rtol=1e-5)


def test_xgboost_hessian_conventions():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(50, 4)), rng.integers(0, 4, 50).astype(np.float32)
    p = scipy.special.softmax(z, axis=1)
    _, h = fxgb.objective("cross_entropy")(y, z)
    np.testing.assert_allclose(h, 2 * p * (1 - p), rtol=1e-12)
    # saturated logits: XGBoost floors the logistic hessian at 1e-16 before the weight
    _, h = fxgb.objective("binary_cross_entropy")(np.array([1.0, 0.0]), np.array([60.0, -60.0]),
                                                  sample_weight=np.array([2.0, 3.0]))
    np.testing.assert_array_equal(h, [2e-16, 3e-16])
    _, h = fxgb.objective("binary_cross_entropy", hessian="exact")(np.array([1.0]), np.array([60.0]))
    assert 0 < h[0] < 1e-25


def test_xgboost_reads_labels_and_weights_in_place(monkeypatch):
    """The objective reads the DMatrix's label and weight arrays in place (no copy a round): the
    same values as get_label()/get_weight(), read-only, empty for an unweighted DMatrix; and an
    XGBoost without XGDMatrixGetInfoRef falls back to its own copies."""
    from fastloss.xgboost import _info
    rng = np.random.default_rng(8)
    X, y, w = rng.normal(size=(300, 3)), (rng.random(300) < 0.4) * 1.0, rng.random(300) + 0.1
    d = xgb.DMatrix(X, y, weight=w)
    for field, ref in (("label", d.get_label()), ("weight", d.get_weight())):
        view = _info(d, field)
        assert view.dtype == np.float32 and not view.flags.writeable and not view.flags.owndata
        np.testing.assert_array_equal(view, ref)
    assert _info(xgb.DMatrix(X, y), "weight").shape == (0,)
    obj = fxgb.objective("binary_cross_entropy")
    p = rng.normal(size=300).astype(np.float32)
    g, h = (a.copy() for a in obj(p, d))

    class DeviceJson:  # a CUDA array interface (device memory): never viewed, copied by XGBoost
        @staticmethod
        def loads(text):
            return {**json.loads(text), "stream": 1}

    with monkeypatch.context() as m:
        m.setattr(fxgb, "json", DeviceJson)
        assert _info(d, "label").flags.owndata
        np.testing.assert_array_equal(_info(d, "label"), y.astype(np.float32))
    monkeypatch.setattr(fxgb, "_INFO_REF", "NoSuchCall")  # a library without the call
    np.testing.assert_array_equal(_info(d, "label"), y.astype(np.float32))
    assert _info(d, "label").flags.owndata
    g2, h2 = obj(p, d)
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(h2, h)


@pytest.mark.parametrize("pos_weight", [1.0, 0.1, 3.0])
@pytest.mark.parametrize("shape", [(4000,), (4000, 1)])
def test_xgboost_hessian_floor_prefilter(pos_weight, shape):
    """The floor's cheap test (the scores' range) skips only rounds where the full check would
    change nothing: scores up to its limit give scaled hessians p (1 - p) c above 1e-16 (with
    pos_weight's factor c); past it, or with nan, the full check runs and the floor holds --
    for (n,) and (n, 1) scores alike, with and without weights."""
    from fastloss._boosting import _SATURATION, _bce_may_floor
    rng = np.random.default_rng(9)
    loss = fl.CATALOGUE["binary_cross_entropy"].__class__(pos_weight=pos_weight)
    limit = _SATURATION + np.log(min(pos_weight, 1.0))
    raw = rng.uniform(-limit, limit, shape[0])
    raw[:2] = [limit, -limit]
    y = (rng.random(shape[0]) < 0.5) * 1.0
    y[:2] = [0.0, 1.0]  # the two extremes on their saturated side
    assert not _bce_may_floor(loss, raw.reshape(shape))
    with fastloss.set_backend("numpy"):
        _, h = loss.gradient_hessian(y, raw)
    assert h.min() > 1e-16  # the floor would change nothing
    w = rng.random(shape[0]) + 0.5
    obj = fxgb.objective(loss)
    for big in (raw * (40.0 / limit), np.where(np.arange(shape[0]) == 3, np.nan, raw)):
        assert _bce_may_floor(loss, big.reshape(shape))
    const = np.full(shape, 40.0)  # saturated, with no spread at all
    assert _bce_may_floor(loss, const) and obj(y, const)[1].min() >= 1e-16
    big = (raw * (40.0 / limit)).reshape(shape)
    h = obj(y, big)[1].copy()  # (the objective's outputs are kept arrays, reused by its next call)
    assert h.min() >= 1e-16
    _, hw = obj(y, big, sample_weight=w)
    assert (hw.reshape(-1) >= 1e-16 * w * (1 - 1e-12)).all()
    flat = obj(y, big.reshape(-1))[1]
    np.testing.assert_array_equal(np.asarray(h).reshape(-1), flat)  # (n, 1): the same hessians
    # cross_entropy always takes the full check (class weights, ignored rows)
    assert _bce_may_floor(fxgb.objective("cross_entropy").loss, np.zeros((4, 3)))


# ---------------------------------------------------------------- every boosting loss
def _target(loss, ys, n):
    spec = fl.CATALOGUE[loss].spec
    if spec.target == "labels":
        return ys["multiclass"], 3
    if loss in ("binary_cross_entropy", "focal", "hinge"):
        return ys["binary"], 1
    if loss == "poisson":
        return np.round(np.abs(ys["regression"])), 1
    if loss == "beta_nll":
        return np.clip(scipy.special.expit(ys["regression"]), 0.02, 0.98), 2
    return ys["regression"], (2 if spec.shape == "paired" else 1)


@pytest.mark.parametrize("loss", BOOSTABLE)
def test_every_boosting_loss_trains_on_both_libraries(loss):
    X, w, ys = _data(5, n=600)
    y, k = _target(loss, ys, 600)
    extra = {"num_class": k} if k > 1 else {}
    lobj, lmet = flgb.objective(loss), flgb.metric(loss)
    ds = lgb.Dataset(X, y, weight=w, init_score=lobj.init_score(y, w))
    hist = {}
    lgb.train({**LGB, "objective": lobj, "metric": "None", "min_sum_hessian_in_leaf": 1.0, **extra},
              ds, 15, valid_sets=[ds], feval=lmet, callbacks=[lgb.record_evaluation(hist)])
    curve = hist["training"][loss]
    # the recorded metric is the loss of the model's raw scores (init score included)
    start = fl.CATALOGUE[loss].__class__(**lobj.loss.get_params()).loss(
        y, lobj.init_score(y, w), sample_weight=w)
    assert np.all(np.isfinite(curve)) and curve[-1] < start, (loss, start, curve)

    xobj = fxgb.objective(loss)
    d = xgb.DMatrix(X, y, weight=w)
    xh = {}
    xgb.train({**XGB, **extra, "base_score": xobj.init_score(y, w), "disable_default_eval_metric": 1},
              d, 15, obj=xobj, custom_metric=fxgb.metric(loss), evals=[(d, "t")], evals_result=xh,
              verbose_eval=False)
    assert np.all(np.isfinite(xh["t"][loss])) and xh["t"][loss][-1] < start, (loss, xh)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy", "huber", "gaussian_nll"])
def test_objective_on_every_backend(loss, backend):
    """A pinned backend is honoured (the objective prefers Cython only in auto mode); all agree."""
    rng = np.random.default_rng(6)
    spec = fl.CATALOGUE[loss].spec
    n = 300
    raw = rng.normal(size=(n, 3) if spec.shape == "rows" else (n, 2) if spec.shape == "paired" else n)
    y = rng.integers(0, 3, n).astype(np.float32) if spec.target == "labels" else (rng.random(n) < 0.4) * 1.0
    w = rng.random(n)
    g, h = flgb.objective(loss)(y, raw, w)
    with fastloss.set_backend("numpy"):
        g_ref, h_ref = fl.CATALOGUE[loss].gradient_hessian(y, raw, sample_weight=w)
    if loss == "cross_entropy":
        h_ref = h_ref * 1.5
    assert g.dtype == np.float32  # handed over in LightGBM's own precision
    np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h, h_ref, rtol=1e-6, atol=1e-7)


def test_the_objective_prefers_cython_in_auto_mode():
    obj = flgb.objective("binary_cross_entropy")
    expected = "cython" if "cython" in fastloss.available_backends() else None
    assert obj.loss._backend == expected
    assert fl.CATALOGUE["binary_cross_entropy"]._backend is None  # the catalogue's is untouched


def test_start_values_are_the_best_constants():
    """The losses with no built-in counterpart start from their minimising constant (XGBoost's
    start, from float64 labels; LightGBM's is the same from its float32 copy of them)."""
    rng = np.random.default_rng(7)
    y = rng.normal(size=400) * 2
    yb = (rng.random(400) < 0.3) * 1.0
    w = rng.random(400) + 0.1
    for loss, yy in [("log_cosh", y), ("focal", yb)]:
        c = fxgb.objective(loss).init_score(yy, w)
        f = lambda v: fl.CATALOGUE[loss].loss(yy, np.full(400, v), sample_weight=w)  # noqa: E731
        assert f(c) <= min(f(c - 1e-4), f(c + 1e-4))
    assert fxgb.objective("pinball", quantile=0.2).init_score(y, w) == weighted_quantile(y, w, 0.2)
    assert flgb.objective("pinball", quantile=0.2).init_value(y, w) == np.float32(weighted_quantile(y, w, 0.2))
    np.testing.assert_allclose(weighted_quantile(y, np.ones(400), 0.3),
                               np.quantile(y, 0.3, method="inverted_cdf"))
    mean, logvar = fxgb.objective("gaussian_nll").init_score(y, w)
    np.testing.assert_allclose([mean, np.exp(logvar)], [np.average(y, weights=w), np.cov(y, aweights=w, ddof=0)])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="no loss named 'nope'"):
        flgb.objective("nope")
    with pytest.raises(ValueError, match="does not fit a booster"):
        fxgb.objective("kl_div")
    with pytest.raises(ValueError, match="does not fit a booster"):
        flgb.objective("binary_cross_entropy_proba")
    with pytest.raises(TypeError, match="with a Loss instance"):
        flgb.objective(fl.Huber(delta=2.0), delta=3.0)
    with pytest.raises(TypeError, match="loss must be"):
        fxgb.objective(3)
    with pytest.raises(ValueError, match="hessian must be one of"):
        flgb.objective("huber", hessian="approx")
    with pytest.raises(ValueError, match="delta must be in"):
        flgb.objective("huber", delta=-1.0)
    obj = flgb.objective("cross_entropy")
    with pytest.raises(ValueError, match="integer class labels"):
        obj.init_score([0.5, 1.0])
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\)"):
        obj.init_score([0, 1, 2], num_class=2)
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        fxgb.objective("squared_error").init_score([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive mean target"):
        flgb.objective("poisson").init_score([0.0, 0.0])
    with pytest.raises(ValueError, match="y_true contains NaN|raw contains NaN"):
        flgb.objective("binary_cross_entropy")(np.array([0.0, np.nan]), np.zeros(2), None)


def test_a_loss_instance_keeps_its_parameters_and_is_not_modified():
    loss = fl.CrossEntropy(label_smoothing=0.1, class_weight=[1.0, 2.0, 1.0])
    obj = fxgb.objective(loss)
    assert obj.loss == loss and obj.loss is not loss and loss._backend is None
    y = np.array([0, 1, 2, 1.0])
    z = np.random.default_rng(8).normal(size=(4, 3))
    g, _ = obj(y, z)
    np.testing.assert_allclose(g, loss.gradient(y, z), rtol=1e-12)
    # the start accounts for smoothing and class weights: smoothed weighted priors
    prior = np.array([1.0, 4.0, 1.0]) / 6 * 0.9 + 0.1 / 3
    logp = np.log(prior)
    np.testing.assert_allclose(obj.init_score(y), logp - logp.mean(), rtol=1e-12)


def test_round_buffers_are_kept_per_thread_and_never_stale():
    """The host's calls reuse the output arrays and the float32-label copies (no page faults per
    round); a new label array is converted again; each thread has its own; copies start empty."""
    import copy
    import pickle
    import threading

    rng = np.random.default_rng(10)
    obj = flgb.objective("binary_cross_entropy")
    y1 = (rng.random(500) < 0.5).astype(np.float32)
    y2 = 1 - y1
    z = rng.normal(size=500)
    g1, h1 = obj(y1, z, None)
    ref1 = fl.CATALOGUE["binary_cross_entropy"].gradient_hessian(y1, z)
    np.testing.assert_array_equal(g1, ref1[0].astype(np.float32))
    g2, h2 = obj(y2, z, None)  # a different label array: converted again, same output arrays
    assert g2 is g1
    np.testing.assert_array_equal(g2, fl.CATALOGUE["binary_cross_entropy"].gradient(y2, z).astype(np.float32))
    for clone in (copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
        assert clone._buffers.outputs is None and clone.loss == obj.loss

    results, errors = {}, []
    labels = [y1] + [(rng.random(500) < 0.5).astype(np.float32) for _ in range(3)]

    def worker(i):
        try:
            yy = labels[i]
            zz = np.full(500, float(i))
            for _ in range(50):
                g, _ = obj(yy, zz, None)
                expect = fl.CATALOGUE["binary_cross_entropy"].gradient(yy, zz).astype(np.float32)
                if not np.array_equal(g, expect):
                    errors.append(i)
            results[i] = g
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({id(g) for g in results.values()}) == 4  # one kept array per thread

    ce = flgb.objective("cross_entropy")
    with pytest.raises(ValueError, match="integer class labels"):
        ce(np.array([0.5, 1.0], dtype=np.float32), np.zeros((2, 2)), None)


def _spy_kernel(monkeypatch, name):
    """The results of every call of the Cython kernel ``name`` (0: it wrote the round)."""
    from fastloss import _backends
    if "cython" not in _backends.available_backends():
        pytest.skip(f"{name} is a Cython kernel")
    kernels = _backends.family("losses", "cython")
    real, calls = getattr(kernels, name), []

    def spy(*args, **kwargs):
        bad = real(*args, **kwargs)
        calls.append(bad)
        return bad
    monkeypatch.setattr(kernels, name, spy)
    return calls


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the calls of the fused softmax kernel."""
    return _spy_kernel(monkeypatch, "softmax_booster")


@pytest.fixture
def bce_calls(monkeypatch):
    """Counts the calls of the fused binary kernel."""
    return _spy_kernel(monkeypatch, "bce_booster")


def _same_bits(got, ref):
    """Arrays equal bit for bit (the sign of zero and nan payloads included)."""
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(np.ascontiguousarray(got).view(np.uint32),
                                  np.ascontiguousarray(ref).view(np.uint32))


def _generic_round(obj, y, raw, w):
    """The objective's values on the generic path (no kept buffers: no fused kernel), as float32."""
    from fastloss._boosting import gradient_hessian
    g, h = gradient_hessian(obj.loss, obj.library, obj.hessian, y, raw, w)
    with np.errstate(over="ignore"):  # a weight of 3e38 times a gradient: inf, as the host casts it
        return g.astype(np.float32), h.astype(np.float32)


@pytest.mark.parametrize("n", [1000, 70_000])  # serial; above SERIAL_MAX_ELEMENTS: two threads
@pytest.mark.parametrize("hessian", ["library", "exact"])
@pytest.mark.parametrize("layout", ["lightgbm F float64", "lightgbm C float64", "xgboost C float32", "xgboost F float32"])
def test_fused_softmax_round_gives_the_generic_bits(fused_calls, layout, hessian, n):
    library, order, dtype = layout.split()
    rng = np.random.default_rng(11)
    k = 5
    raw = np.asarray(rng.normal(0, 3, (n, k)), dtype=dtype, order=order)
    raw[:3] = [[40, -40, 0, 0, 0], [1e-300, 0, -1e-300, 5e-324, 0], [3, 3, 3, -1, 3]]  # saturated, tiny, tied maxima
    raw[3] = [0, -800, -750, 1, 2]  # a spread beyond 708: that tile takes the full exp
    y = rng.integers(0, k, n).astype(np.float32)  # as the hosts hand labels over
    w = (rng.random(n) + 0.5).astype(np.float32)
    w[::7] = 0.0
    w[3::11] = -0.0
    w[5::13] = -0.75  # negative weights are the caller's business: computed as given
    kept = [a.copy() for a in (raw, y, w)]
    mod = flgb if library == "lightgbm" else fxgb
    obj = mod.objective("cross_entropy", hessian=hessian)
    # labels as the hosts hand them over (float32, read as they are) and as float64 (the scikit-
    # learn estimators: converted to int64 once); weights float32, float64 or none
    for labels, weight in ((y, w), (y, None), (y.astype(np.float64), w.astype(np.float64)),
                           (y.astype(np.int64), w[::-1].copy())):
        ref = _generic_round(obj, labels, raw, weight)
        calls = len(fused_calls)
        got = obj._gradient_hessian(labels, raw, weight)
        assert len(fused_calls) == calls + 1 and fused_calls[-1] == 0
        for a, b in zip(got, ref):
            assert a.shape == (n, k)
            _same_bits(a, b)
        if library == "lightgbm":  # the layout LightGBM ravels without a copy
            assert got[0].flags.f_contiguous
        if weight is None and hessian == "library" and library == "xgboost":
            assert ref[1].min() == np.float32(1e-16)  # the saturated row: XGBoost's floor
    for a, b in zip((raw, y, w), kept):  # inputs unmodified
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("k", [2, 3, 7, 10, 11, 32])  # unrolled for 2..10, a loop beyond
@pytest.mark.parametrize("layout", ["lightgbm F float64", "lightgbm C float64", "xgboost C float32"])
def test_fused_softmax_round_gives_the_generic_bits_for_every_class_count(fused_calls, layout, k):
    library, order, dtype = layout.split()
    rng = np.random.default_rng(k)
    n = 333  # a last tile of 13 rows
    raw = np.asarray(rng.normal(0, 4, (n, k)), dtype=dtype, order=order)
    raw[0, 0] = 60.0  # a saturated row
    raw[1] = 0.0  # all maxima tied
    y = rng.integers(0, k, n).astype(np.float32)
    y[:k] = np.arange(k)  # every class
    w = (rng.random(n) + 0.5).astype(np.float32)
    obj = (flgb if library == "lightgbm" else fxgb).objective("cross_entropy")
    ref = _generic_round(obj, y, raw, w)
    got = obj._gradient_hessian(y, raw, w)
    assert fused_calls[-1] == 0
    for a, b in zip(got, ref):
        _same_bits(a, b)


def test_fused_softmax_kernel_reads_strided_rows_and_checks_each_label():
    """The kernel itself: row-major scores whose rows lie further apart than k (the gather with
    the row stride a variable), -0.0 as class 0, and every label that is not a class declined."""
    from fastloss import _backends
    kernels = _backends.family("losses", "cython")
    rng = np.random.default_rng(3)
    n, k = 150, 5
    raw = rng.normal(0, 3, (n, k + 3)).astype(np.float32)[:, 1:k + 1]  # rows k + 3 apart
    y = rng.integers(0, k, n).astype(np.float32)
    y[0] = -0.0
    w = (rng.random(n) + 0.5).astype(np.float32)

    def run(r, labels):
        g = np.full((n, k), np.nan, np.float32)
        h = g.copy()
        return kernels.softmax_booster(r, labels, w, g, h, 2.0, 1e-16), g, h

    got, ref = run(raw, y), run(np.ascontiguousarray(raw), np.abs(y))
    assert got[0] == 0 and ref[0] == 0
    for a, b in zip(got[1:], ref[1:]):
        _same_bits(a, b)
    for label in (np.inf, -np.inf, np.nan, 1e30, k, -1.0, 2.5, 1e-45, np.nextafter(np.float32(4), np.float32(5))):
        bad_y = y.copy()
        bad_y[7] = label
        assert run(raw, bad_y)[0] > 0, label
    # rows 2 bytes apart: a layout no element stride describes is refused, not misread
    odd = np.ndarray((n, k), np.float32, np.zeros(n * (4 * k + 2) + 8, np.uint8), 2, (4 * k + 2, 4))
    with pytest.raises(ValueError, match="unexpected layouts"):
        run(odd, y)


def _unaligned(a):
    """A copy of ``a`` (same strides) whose data starts one byte past an aligned address."""
    buf = np.zeros(a.nbytes + 8, np.uint8)
    out = np.ndarray(a.shape, a.dtype, buf, 1, a.strides if a.flags.f_contiguous and a.ndim > 1 else None)
    out[...] = a
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("n", [1000, 70_000])
def test_fused_rounds_read_unaligned_arrays(fused_calls, bce_calls, n):
    """Scores, labels and weights not aligned to their item size (a memory-mapped file at an odd
    offset): the fused kernels read them, with the aligned arrays' bits."""
    rng = np.random.default_rng(4)
    k = 5
    y = rng.integers(0, k, n).astype(np.float32)
    w = (rng.random(n) + 0.5).astype(np.float32)
    for obj, raw in ((fxgb.objective("cross_entropy"), rng.normal(size=(n, k)).astype(np.float32)),
                     (flgb.objective("cross_entropy"), np.asfortranarray(rng.normal(size=(n, k))))):
        got = obj._gradient_hessian(_unaligned(y), _unaligned(raw), _unaligned(w))
        assert fused_calls[-1] == 0
        for a, b in zip(got, _generic_round(obj, y, raw, w)):
            _same_bits(a, b)
    yb = (rng.random(n) < 0.5).astype(np.float32)
    z = rng.normal(size=n).astype(np.float32)
    obj = fxgb.objective("binary_cross_entropy")
    got = obj._gradient_hessian(_unaligned(yb), _unaligned(z), _unaligned(w))
    assert bce_calls[-1] == 0
    for a, b in zip(got, _generic_round(obj, yb, z, w)):
        _same_bits(a, b)


def test_fused_softmax_round_leaves_the_rest_to_the_generic_path(fused_calls):
    rng = np.random.default_rng(12)
    n, k = 300, 4
    raw, y = rng.normal(size=(n, k)), rng.integers(0, k, n).astype(np.float32)
    obj = flgb.objective("cross_entropy")
    for bad in (np.nan, np.inf, -np.inf):  # the kernel declines; the generic path decides
        z = raw.copy(order="F")
        z[5, 2] = bad
        try:
            ref = _generic_round(obj, y, z, None)
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                obj(y, z, None)
        else:
            for a, b in zip(obj(y, z, None), ref):
                _same_bits(a, b)
        assert fused_calls[-1] > 0
    for label, match in ((4, r"class labels in \[0, 4\)"), (-1, r"class labels in \[0, 4\)"),
                         (1.5, "integer class labels"), (np.nan, "integer class labels")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the error alone, no cast warning before it
            with pytest.raises(ValueError, match=match):
                obj(np.where(np.arange(n) == 7, label, y).astype(np.float32), raw, None)
    for bad in (np.nan, np.inf):
        for dtype in (np.float32, np.float64):
            with pytest.raises(ValueError, match="NaN or infinity"):
                obj(y, raw, np.where(np.arange(n) == 3, bad, 1.0).astype(dtype))
    calls = len(fused_calls)
    # not for the fused kernel: class weights, label smoothing, an ignore_index among the classes,
    # more classes than it holds, float32 scores for LightGBM (the generic path's factor in
    # float32), float64 scores for XGBoost (a float64 result) -- the generic path's values
    # without a kernel call; and the flat layouts of old versions (their dtypes as before)
    wide = rng.normal(size=(n, 40))
    for o, z, yy in ((flgb.objective("cross_entropy", class_weight=[1, 2, 3, 4]), raw, y),
                     (flgb.objective("cross_entropy", label_smoothing=0.1), raw, y),
                     (flgb.objective("cross_entropy", ignore_index=1), raw, y),
                     (flgb.objective("cross_entropy"), wide, rng.integers(0, 40, n).astype(np.float32)),
                     (flgb.objective("cross_entropy"), raw.astype(np.float32), y),
                     (fxgb.objective("cross_entropy"), raw, y)):
        got, ref = o._gradient_hessian(yy, z, None), _generic_round(o, yy, z, None)
        for a, b in zip(got, ref):
            _same_bits(a.astype(np.float32), b)
        assert got[0].dtype == (np.float32 if o.library == "lightgbm" else np.float64)
    for o, flat in ((flgb.objective("cross_entropy"), raw.ravel(order="F")),
                    (fxgb.objective("cross_entropy"), raw.astype(np.float32).ravel())):
        g, _ = o._gradient_hessian(y, flat, None)
        assert g.shape == (n * k,) and g.dtype == flat.dtype
    assert len(fused_calls) == calls


@pytest.mark.parametrize("n", [1000, 70_000])  # serial; above SERIAL_MAX_ELEMENTS: two threads
@pytest.mark.parametrize("hessian", ["library", "exact"])
@pytest.mark.parametrize("pos_weight", [1.0, 0.25, 3.0])
@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_fused_binary_round_gives_the_generic_bits(bce_calls, library, pos_weight, hessian, n):
    rng = np.random.default_rng(13)
    dtype = np.float64 if library == "lightgbm" else np.float32  # as each host hands scores over
    raw = rng.normal(0, 4, n).astype(dtype)
    # saturated (beyond the floor's 35, float32's 87, double exp's range), tiny, signed zeros:
    # the chunk holding them takes the double exp; under XGBoost's floor the kernel floors only
    # the chunks with a saturated score, the generic path the whole round (the same bits)
    raw[:12] = [40, -40, 90, -90, 800, -800, 1e30, -1e-300, 5e-324, 0.0, -0.0, 36.5]
    raw[300:303] = [60, -60, 1e-40]  # a second chunk with the floor but float32's exp
    y = (rng.random(n) < 0.4).astype(np.float32)
    w = (rng.random(n) + 0.5).astype(np.float32)
    w[::7] = 0.0
    w[3::11] = -0.0
    w[5::13] = -0.75  # negative weights are the caller's business: computed as given
    w[6::17] = 3e38
    kept = [a.copy() for a in (raw, y, w)]
    mod = flgb if library == "lightgbm" else fxgb
    obj = mod.objective("binary_cross_entropy", pos_weight=pos_weight, hessian=hessian)
    # labels float32 (the hosts) or float64; weights float32, float64, none, >= +0.0 only
    y64, w64 = y.astype(np.float64), w.astype(np.float64)
    for labels, weight in ((y, w), (y, None), (y64, w64), (y, w64), (y64, w), (y64, None),
                           (y, np.abs(w)), (y64, np.abs(w64))):
        ref = _generic_round(obj, labels, raw, weight)
        calls = len(bce_calls)
        got = obj._gradient_hessian(labels, raw, weight)
        # under XGBoost's floor a weight < 0 or -0.0 sends the round to the generic path
        declined = (library == "xgboost" and hessian == "library" and weight is not None
                    and bool(np.signbit(weight).any()))
        assert len(bce_calls) == calls + 1 and (bce_calls[-1] > 0) == declined
        for a, b in zip(got, ref):
            assert a.shape == (n,)
            _same_bits(a, b)
        if weight is None and hessian == "library" and library == "xgboost":
            assert ref[1][4] == np.float32(1e-16)  # a saturated score: XGBoost's floor
    for a, b in zip((raw, y, w), kept):  # inputs unmodified
        assert a.tobytes() == b.tobytes()


def test_fused_binary_round_leaves_the_rest_to_the_generic_path(bce_calls):
    rng = np.random.default_rng(14)
    n = 300
    raw, y = rng.normal(size=n).astype(np.float32), (rng.random(n) < 0.5).astype(np.float32)
    obj = fxgb.objective("binary_cross_entropy")
    declined = []
    for z in (np.nan, np.inf, -np.inf):  # the kernel declines; the generic path decides
        bad = raw.copy()
        bad[5] = z
        declined.append((y, bad, None))
    for label in (0.5, 2.0, -1.0, np.nan, np.inf):
        declined.append((np.where(np.arange(n) == 7, label, y).astype(np.float32), raw, None))
    for z in (np.nan, np.inf):
        for dtype in (np.float32, np.float64):
            declined.append((y, raw, np.where(np.arange(n) == 3, z, 1.0).astype(dtype)))
    # under XGBoost's floor: a negative weight with no saturated score (the generic path does
    # not floor it), a -0.0 weight beside a saturated score elsewhere (it floors to -0.0), every
    # weight -0.0 (it does not floor); and LightGBM's float64 scores, a nan past both threads'
    # first chunks (70,000 elements: two threads, one of them declines)
    saturated = raw.copy()
    saturated[0] = 40.0
    declined += [(y, raw, np.where(np.arange(n) == 5, -0.75, 1.0).astype(np.float32)),
                 (y, saturated, np.where(np.arange(n) == 290, -0.0, 1.0).astype(np.float32)),
                 (y, saturated, np.full(n, -0.0, np.float32))]
    many = rng.normal(size=70_000)
    many[69_000] = np.nan
    lgb_declined = [((rng.random(n) < 0.5).astype(np.float32), np.where(np.arange(n) == 9, np.nan, raw.astype(np.float64)), None),
                    ((rng.random(70_000) < 0.5).astype(np.float32), many, None)]
    for o, (labels, scores, weight) in ([(obj, case) for case in declined]
                                        + [(flgb.objective("binary_cross_entropy"), case) for case in lgb_declined]):
        def call():  # as each host's scikit-learn API calls it
            if o.library == "xgboost":
                return o(labels, scores, sample_weight=weight)
            return o(labels, scores, weight)
        try:
            ref = _generic_round(o, labels, scores, weight)
        except ValueError as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # the error alone, no warning before it
                with pytest.raises(ValueError, match=re.escape(str(exc))):
                    call()
        else:
            for a, b in zip(call(), ref):
                _same_bits(a, b)
        assert bce_calls[-1] > 0
    # every weight +0.0 beside a saturated score: the kernel's round, the generic bits
    zero = np.zeros(n, np.float32)
    for a, b in zip(obj(y, saturated, sample_weight=zero), _generic_round(obj, y, saturated, zero)):
        _same_bits(a, b)
    assert bce_calls[-1] == 0
    # pos_weight=inf (allowed) gives nan gradients where y = 0: the generic path's error
    inf_obj = fxgb.objective("binary_cross_entropy", pos_weight=np.inf)
    calls = len(bce_calls)
    with pytest.raises(ValueError, match="undefined for some rows"):
        inf_obj(y, raw, sample_weight=None)
    assert len(bce_calls) == calls
    calls = len(bce_calls)
    # not for the fused kernel: float64 scores for XGBoost (a float64 result), a 2-D or strided
    # score, integer labels, weights not float -- the generic path's values without a kernel call
    cases = ((fxgb.objective("binary_cross_entropy"), y, raw.astype(np.float64), None),
             (flgb.objective("binary_cross_entropy"), y, raw[:, None].astype(np.float64), None),
             (flgb.objective("binary_cross_entropy"), y[::2], raw.astype(np.float64)[::2], None),
             (fxgb.objective("binary_cross_entropy"), y.astype(np.int64), raw, None),
             (fxgb.objective("binary_cross_entropy"), y, raw, np.ones(n, np.int32)))
    for o, labels, scores, weight in cases:
        got, ref = o._gradient_hessian(labels, scores, weight), _generic_round(o, labels, scores, weight)
        for a, b in zip(got, ref):
            _same_bits(np.asarray(a, np.float32), b)
    assert len(bce_calls) == calls


HOST_REGIONS = """
import os, sys, numpy as np, fastloss, xgboost as xgb
import fastloss.xgboost as fxgb
from fastloss import _backends
kernels = _backends.family("losses", "cython")
assert kernels._host_openmp(), "XGBoost's OpenMP runtime not registered"
calls = fxgb._openmp_calls(xgb.core._LIB)
rng = np.random.default_rng(5)
cases = [("binary_cross_entropy", {}, rng.normal(0, 3, 200_000).astype(np.float32), 2),
         ("cross_entropy", {}, rng.normal(0, 3, (70_000, 5)).astype(np.float32), 5),  # fused
         ("cross_entropy", {"label_smoothing": 0.1}, rng.normal(0, 3, (70_000, 5)).astype(np.float32), 5)]
bad = 0
for name, params, raw, k in cases:
    y = rng.integers(0, k, raw.shape[0]).astype(np.float32)
    w = (rng.random(raw.shape[0]) + 0.5).astype(np.float32)
    obj = fxgb.objective(name, **params)
    kernels._set_host_openmp(0, 0, 0, 0)  # the serial loops
    ref = [a.copy() for a in obj._gradient_hessian(y, raw, w)]
    kernels._set_host_openmp(*calls)
    for _ in range(300):
        for a in obj._buffers.outputs:
            a.fill(np.nan)
        got = obj._gradient_hessian(y, raw, w)
        bad += not all(a.tobytes() == b.tobytes() for a, b in zip(got, ref))
print(bad)
"""


@pytest.mark.skipif(fxgb._openmp_calls(xgb.core._LIB) is None
                    or "cython" not in fastloss.available_backends() or fastloss.get_num_threads() < 2,
                    reason="an XGBoost without libgomp's calls, no Cython kernels, or one thread")
def test_xgboost_objective_regions_run_in_its_openmp_runtime():
    """The objective's parallel regions run in XGBoost's own OpenMP runtime (its wheels vendor a
    libgomp of their own) and give the serial loops' bits, every block written: 300 calls each
    (binary, fused softmax, generic softmax rows) into outputs filled with nan, in a fresh process
    with OpenMP's default spinning waits (the suite's OMP_WAIT_POLICY=PASSIVE dropped)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    res = subprocess.run([sys.executable, "-c", HOST_REGIONS], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["0"], res.stdout


def test_xgboost_openmp_registration_checks_its_calls():
    """No calls found: nothing registered. Calls of two runtimes (our libgomp's GOMP_parallel with
    XGBoost's thread numbers, which threads outside its team read as 0 of 1) fail the trial
    region and are not registered either: two threads both taking part 0 would share scratch."""
    import ctypes
    import ctypes.util
    from fastloss import _backends
    assert fxgb._openmp_calls(object()) is None  # a library without the calls
    if "cython" not in fastloss.available_backends():
        return
    kernels = _backends.family("losses", "cython")
    assert not fxgb._register_openmp(object())
    assert not kernels._host_openmp()
    try:
        calls = fxgb._openmp_calls(xgb.core._LIB)
        ours = fxgb._openmp_calls(ctypes.CDLL(ctypes.util.find_library("gomp") or "libgomp.so.1"))
        if calls and ours and ours[0] != calls[0] and fastloss.get_num_threads() >= 2:
            assert not kernels._set_host_openmp(ours[0], calls[1], calls[2], calls[3])
            assert not kernels._host_openmp()
            assert kernels._set_host_openmp(*ours)  # one runtime's four calls pass
    except OSError:
        pass  # no libgomp to load here
    finally:
        fxgb._register_openmp()
    assert kernels._host_openmp() == (fxgb._openmp_calls(xgb.core._LIB) is not None)
