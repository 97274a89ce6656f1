"""log_loss against sklearn.metrics.log_loss (values, errors, warnings), and log_loss_from_logits
against log_loss of the softmax / an mpmath reference, on every backend."""
import math
import re
import warnings

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from sklearn.metrics import log_loss as sk_log_loss

import fastloss

RNG = np.random.default_rng(42)
P3 = sp.softmax(RNG.normal(size=(40, 3)), axis=1)
Y3 = RNG.integers(0, 3, 40)
Y3[:3] = [0, 1, 2]


def _call(fn, *args, **kwargs):
    """Result or exception, and the warning messages raised on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - we compare exception types and messages
            result = exc
    return result, [str(w.message) for w in caught if w.category is UserWarning]


VALUE_CASES = {
    "binary-1d": ([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.35], {}),
    "binary-strings": (["spam", "ham", "ham", "spam"], [[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]], {}),
    "binary-col": ([0, 1], [[1.0], [0.5]], {}),
    "bool-labels": ([True, False, True], [0.2, 0.7, 0.9], {}),
    "shifted-int-labels": ([2, 5, 5], [0.2, 0.7, 0.4], {}),
    "clip-0-1": ([0, 1, 0, 1], [0.0, 1.0, 1.0, 0.0], {}),
    "float32-clip": ([0, 1], np.array([0.0, 1.0], np.float32), {}),
    "float32": ([0, 1, 1], np.array([0.3, 0.6, 0.999], np.float32), {}),
    "float16": ([0, 1, 1], np.array([0.3, 0.6, 0.999], np.float16), {}),
    "multiclass": (Y3, P3, {}),
    "multiclass-float32": (Y3, P3.astype(np.float32), {}),
    "multiclass-weights": (Y3, P3, {"sample_weight": RNG.uniform(0, 2, 40)}),
    "multiclass-sum": (Y3, P3, {"normalize": False}),
    "weights-sum": (Y3, P3, {"normalize": False, "sample_weight": np.arange(40)}),
    "int-weights": ([0, 1], [0.2, 0.7], {"sample_weight": [1, 3]}),
    "neg-weights": ([0, 1], [0.2, 0.7], {"sample_weight": [2, -1]}),
    "labels-superset": ([0, 1, 0], [[0.2, 0.3, 0.5], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2]], {"labels": [0, 1, 2]}),
    "labels-unordered": ([0, 1], [0.2, 0.7], {"labels": [1, 0]}),
    "labels-strings": (["b", "c"], [[0.2, 0.3, 0.5], [0.1, 0.8, 0.1]], {"labels": ["a", "b", "c"]}),
    "not-summing": ([0, 1, 2], [[0.2, 0.2, 0.2], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4]], {}),
    "indicator": (np.array([[0, 1, 1], [1, 0, 1]]), [[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]], {}),
    "fortran-bigendian": (Y3, np.asfortranarray(P3).astype(">f8"), {}),
    "int-proba": ([0, 1, 1], [0, 1, 1], {}),
    "list-of-arrays": ([0, 1], [np.array([0.3, 0.7]), np.array([0.6, 0.4])], {}),
}

ERROR_CASES = {
    "nan": ([0, 1], [0.5, np.nan], {}),
    "inf": ([0, 1], [0.5, np.inf], {}),
    "above-1": ([0, 1], [0.5, 1.5], {}),
    "below-0": ([0, 1], [0.5, -0.1], {}),
    "length": ([0, 1, 1], [0.5, 0.2], {}),
    "length-and-range": ([0, 1, 1], [0.5, 1.2], {}),
    "one-class": ([1, 1], [0.5, 0.2], {}),
    "empty": ([], [], {}),
    "class-count": ([0, 1, 2], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], {}),
    "class-count-labels": ([0, 1], [0.2, 0.7], {"labels": [0, 1, 2]}),
    "class-count-warn": ([0, 1, 2], [[0.2, 0.2], [0.3, 0.3], [0.3, 0.3]], {}),
    "y_true-string": ("ab", [0.1, 0.2], {}),
    "y_proba-scalar": ([0], 0.5, {}),
    "y_true-none": (None, [0.5], {}),
    "dim-3": ([0, 1], np.ones((2, 1, 1)) * 0.5, {}),
    "continuous-labels": ([0.5, 1.5], [0.1, 0.2], {}),
    "zero-weights": ([0, 1], [0.1, 0.2], {"sample_weight": [0, 0]}),
    "weights-sum-zero": ([0, 1], [0.1, 0.2], {"sample_weight": [1, -1]}),
    "nan-weights": ([0, 1], [0.1, 0.2], {"sample_weight": [1, np.nan]}),
    "weights-length": ([0, 1], [0.1, 0.2], {"sample_weight": [1, 2, 3]}),
    "weights-scalar": ([0, 1], [0.1, 0.2], {"sample_weight": 3}),
    "normalize-int": ([0, 1], [0.1, 0.2], {"normalize": 1}),
    "zero-columns": ([0, 1], np.ones((2, 0)), {}),
    "string-proba": ([0, 1], ["a", "b"], {}),
    "object-none": ([0, 1], np.array([0.1, None], dtype=object), {}),
    "multioutput": (np.array([[0, 2], [1, 3]]), [[0.5, 0.5], [0.5, 0.5]], {}),
    "labels-missing": ([0, 1], [0.2, 0.7], {"labels": [0]}),
    "labels-other-type": ([0, 1], [0.2, 0.7], {"labels": ["a", "b"]}),
    "nan-labels": ([0, np.nan], [0.1, 0.2], {}),
    "complex": ([0, 1], np.array([0.1, 0.2], dtype=complex), {}),
}


@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_log_loss_values_match_sklearn(backend, case):
    y, p, kwargs = VALUE_CASES[case]
    ref, ref_warn = _call(sk_log_loss, y, p, **kwargs)
    got, got_warn = _call(fastloss.log_loss, y, p, **kwargs)
    assert not isinstance(ref, Exception), ref
    assert isinstance(got, float)
    rtol = 2e-3 if case == "float16" else (2e-6 if "float32" in case else 1e-12)
    assert_allclose(got, ref, rtol=rtol)
    assert got_warn == ref_warn


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_log_loss_errors_match_sklearn(backend, case):
    y, p, kwargs = ERROR_CASES[case]
    ref, ref_warn = _call(sk_log_loss, y, p, **kwargs)
    got, got_warn = _call(fastloss.log_loss, y, p, **kwargs)
    assert isinstance(ref, Exception)
    assert isinstance(got, Exception), f"expected {ref!r}, got {got!r}"
    assert isinstance(got, (ValueError, TypeError, ZeroDivisionError))
    for cls in (ValueError, TypeError, ZeroDivisionError):
        assert isinstance(got, cls) == isinstance(ref, cls), (got, ref)
    assert str(got) == str(ref)
    assert got_warn == ref_warn


def test_log_loss_large_parallel_and_inputs_untouched(backend):
    rng = np.random.default_rng(7)
    n, k = 100_003, 5
    p = sp.softmax(rng.normal(size=(n, k)), axis=1)
    y = rng.integers(0, k, n)
    w = rng.uniform(0, 3, n)
    p_before, y_before, w_before = p.copy(), y.copy(), w.copy()
    ro = p.copy()
    ro.flags.writeable = False
    assert_allclose(fastloss.log_loss(y, ro, sample_weight=w), sk_log_loss(y, p, sample_weight=w), rtol=1e-12)
    assert_allclose(fastloss.log_loss(y, p[:, ::1]), sk_log_loss(y, p), rtol=1e-12)
    pb = np.clip(rng.uniform(size=n), 0, 1)
    yb = rng.integers(0, 2, n)
    assert_allclose(fastloss.log_loss(yb, pb), sk_log_loss(yb, pb), rtol=1e-12)
    np.testing.assert_array_equal(p, p_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(w, w_before)


def test_log_loss_memmap(backend, tmp_path):
    rng = np.random.default_rng(3)
    p = sp.softmax(rng.normal(size=(2000, 4)), axis=1)
    y = rng.integers(0, 4, 2000)
    np.save(tmp_path / "p.npy", p)
    mm = np.load(tmp_path / "p.npy", mmap_mode="r")
    assert_allclose(fastloss.log_loss(y, mm), sk_log_loss(y, p), rtol=1e-12)


# ------------------------------------------------------------------- from logits
def test_log_loss_from_logits_matches_log_loss(backend):
    rng = np.random.default_rng(5)
    z = rng.normal(scale=3, size=(500, 4))
    y = rng.integers(0, 4, 500)
    w = rng.uniform(0, 2, 500)
    ref = sk_log_loss(y, sp.softmax(z, axis=1), sample_weight=w, labels=[0, 1, 2, 3])
    got = fastloss.log_loss_from_logits(y, z, sample_weight=w)
    assert_allclose(got, ref, rtol=1e-12)
    zb = rng.normal(scale=3, size=500)
    yb = rng.integers(0, 2, 500)
    assert_allclose(fastloss.log_loss_from_logits(yb, zb), sk_log_loss(yb, sp.expit(zb)), rtol=1e-12)
    assert_allclose(fastloss.log_loss_from_logits(["a", "b"], [-1.0, 2.0], normalize=False),
                    np.logaddexp(0, -1.0) + np.logaddexp(0, -2.0), rtol=1e-15)
    indicator = np.eye(4)[y]
    assert_allclose(fastloss.log_loss_from_logits(indicator, z), fastloss.log_loss_from_logits(y, z), rtol=1e-13)


def test_log_loss_from_logits_extremes_against_mpmath(backend):
    z = np.array([[1e4, -1e4, 0.0], [-800.0, 800.0, 0.0], [np.inf, 0.0, 1.0], [0.0, -np.inf, 5.0], [30.0, 30.0, -np.inf]])
    y = np.array([0, 0, 0, 1, 2])
    got = fastloss.log_loss_from_logits(y, z, normalize=False)
    assert got == np.inf  # row 3 picks a -inf logit, row 4 too: the limits are +inf
    finite = fastloss.log_loss_from_logits(y[:3], z[:3], labels=[0, 1, 2], normalize=False)
    mp = mpmath.mpf(0)
    for row, t in zip(z[:2], y[:2]):
        mp += mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in row)) - row[t]
    assert_allclose(finite, float(mp), rtol=1e-15)  # row 2 (true class at +inf) adds log(1) = 0
    zb = np.array([1e4, -1e4, np.inf, -np.inf, 40.0])
    yb = np.array([1, 0, 1, 0, 0])
    assert fastloss.log_loss_from_logits(yb, zb, normalize=False) == pytest.approx(40.0 + np.log1p(np.exp(-40.0)))
    with pytest.raises(ValueError, match="NaN"):
        fastloss.log_loss_from_logits([0, 1], [0.0, np.nan])
    with pytest.raises(ValueError, match="-inf"):
        fastloss.log_loss_from_logits([0, 1], [[-np.inf, -np.inf], [0.0, 1.0]])
    with pytest.raises(ValueError, match="different number of classes"):
        fastloss.log_loss_from_logits([0, 1, 2], [[0.0, 1.0]] * 3)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fastloss.log_loss_from_logits([0, 1, 1], [0.0, 1.0])
    with pytest.raises(TypeError, match="logits"):
        fastloss.log_loss_from_logits([0, 1], None)


def _mp_label_losses(z, y):
    """Each row's logsumexp(z_i) - z[i, y_i] = log1p(sum over j != y_i of e**(z_ij - z_iy)) in
    40 digits (mpmath), as floats."""
    with mpmath.workdps(40):
        return [float(mpmath.log1p(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v)) - mpmath.mpf(float(r[t])))
                                               for j, v in enumerate(r) if j != t)))
                for r, t in zip(z, y)]


@pytest.mark.parametrize("k", [2, 3, 10, 11])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multiclass_from_logits_small_losses_keep_their_precision(backend, k, dtype):
    """Rows predicted right with confidence (z_y = 40, the others ~0: losses ~1e-17, which
    lse - z_y rounds to 0 or to multiples of 7e-15) sum to mpmath's value to 1e-13, on the
    tiles whose |z| all lie within 350 (no max shift) and on those shifted by their rows' maxima
    (a masked -inf logit or a logit of 400 in the tile); float32 logits, whose unshifted tiles
    take their exps in float32 lanes, to 2 float32 ulp (2**-22). And the big losses of rows
    predicted wrong as well. 1000 rows: whole tiles of 32 and a partial one."""
    rng = np.random.default_rng(k)
    n = 1000
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] = 40.0 + rng.random(n)
    z[100, (y[100] + 1) % k] = -np.inf  # a masked class: that tile takes the shifted lanes
    z[500, y[500]] = 400.0  # beyond 350: so does this one
    z = z.astype(dtype)
    ref = _mp_label_losses(z, y)
    assert max(ref) < 1e-15  # every loss is tiny
    lanes32 = dtype == np.float32 and backend != "numpy"
    got = fastloss.log_loss_from_logits(y, z, labels=np.arange(k), normalize=False)
    assert_allclose(got, math.fsum(ref), rtol=2.0**-22 if lanes32 else 1e-13)
    # each of the two shifted tiles alone (one row: the loss itself; float64 lanes)
    for i in (100, 500):
        assert_allclose(fastloss.log_loss_from_logits(y[[i]], z[[i]], labels=np.arange(k)), ref[i], rtol=1e-13)
    wrong = (y + 1) % k  # the same rows scored against another class: losses ~40
    assert_allclose(fastloss.log_loss_from_logits(wrong, z, labels=np.arange(k), normalize=False),
                    math.fsum(_mp_label_losses(z, wrong)), rtol=2.0**-22 if lanes32 else 1e-14)


@pytest.mark.parametrize("k", [2, 10, 33])
def test_multiclass_from_float32_logits_row_by_row(backend, k):
    """float32 logits in float32 lanes: every row's loss within 2 float32 ulp (2**-22 relative)
    of mpmath's, on rows of N(0, 3**2) logits, confident rows (losses ~1e-30), rows at the lanes'
    range (|z| up to 87) and past it (87.5, 200, 1e30: those tiles go the float64 way), each row
    alone and in tiles (the sum of 64 rows); and the float64 call on the same values agrees to
    the same bound."""
    rng = np.random.default_rng(k)
    n = 64
    z = rng.normal(0, 3, (n, k))
    y = rng.integers(0, k, n)
    z[:8, :] = rng.uniform(-5, 5, (8, k))
    z[:8][np.arange(8), y[:8]] = 75.0  # confident: the others' terms ~e**-75 relative
    z[8:16] = rng.uniform(-87.0, 87.0, (8, k))
    z[16, 0], z[17, -1], z[18, 0], z[19, 0] = 87.0, -87.0, 87.5, -200.0
    z[20, 0] = 1e30
    z = z.astype(np.float32)
    ref = _mp_label_losses(z, y)
    labels = np.arange(k)
    for i in range(n):
        got = fastloss.log_loss_from_logits(y[[i]], z[[i]], labels=labels)
        assert_allclose(got, ref[i], rtol=2.0**-22, err_msg=f"row {i}: {z[i]!r}")
    for lo in (0, 32):  # a tile within the range (rows 32..63) and one with rows past it
        sl = slice(lo, lo + 32)
        assert_allclose(fastloss.log_loss_from_logits(y[sl], z[sl], labels=labels, normalize=False),
                        math.fsum(ref[sl]), rtol=2.0**-22)
    assert_allclose(fastloss.log_loss_from_logits(y, z.astype(np.float64), labels=labels, normalize=False),
                    math.fsum(ref), rtol=1e-13)


def test_multiclass_from_logits_unshifted_and_shifted_tiles(backend):
    """Past the parallel size: tiles whose |z| all lie within 350 take the exps unshifted, tiles
    holding a logit just beyond (350.5, -350.5, 708.5, 1e5) the shifted lanes; every row's loss
    still matches scipy's logsumexp - z_y (an unshifted term overflowing, or a wrong tile
    redone, would be off by orders of magnitude), weighted or not."""
    rng = np.random.default_rng(9)
    n, k = 100_000, 5
    z = rng.normal(scale=60, size=(n, k))
    z = np.clip(z, -349.0, 349.0)
    odd = rng.choice(n * k, 40, replace=False)
    z.flat[odd] = np.resize([350.5, -350.5, 708.5, -708.5, 1e5, -1e5], odd.size)
    y = rng.integers(0, k, n)
    w = rng.uniform(0, 2, n)
    losses = sp.logsumexp(z, axis=1) - z[np.arange(n), y]
    labels = np.arange(k)
    assert_allclose(fastloss.log_loss_from_logits(y, z, labels=labels, normalize=False), math.fsum(losses), rtol=1e-13)
    assert_allclose(fastloss.log_loss_from_logits(y, z, labels=labels, sample_weight=w),
                    math.fsum(w * losses) / w.sum(), rtol=1e-13)


@pytest.mark.parametrize("k", [128, 129, 300])  # the last tiled width, and rows past it
def test_multiclass_from_logits_long_rows(backend, k):
    """Rows longer than the tiles' MAX_TILED_K = 128 go a row at a time (their own kernel in the
    Numba backend): past the parallel size, every row's loss matches scipy's logsumexp - z_y,
    weighted or not, in both dtypes; a true class at +inf costs log(#(+inf) in its row) (0 or
    log 2), a row of equal logits at -1e300 log(k); a nan raises, naming it; confident rows'
    tiny losses keep their relative precision."""
    rng = np.random.default_rng(k)
    n = 70_000 // k * 4
    z = rng.normal(scale=8, size=(n, k))
    y = rng.integers(0, k, n)
    z[3, y[3]] = np.inf
    z[4, y[4]] = z[4, (y[4] + 1) % k] = np.inf
    z[5, :] = -1e300
    w = rng.uniform(0, 2, n)
    losses = sp.logsumexp(z, axis=1) - z[np.arange(n), y]
    losses[3], losses[4], losses[5] = 0.0, math.log(2.0), math.log(k)  # scipy's lse loses log(k) at -1e300
    labels = np.arange(k)
    got = fastloss.log_loss_from_logits(y, z, labels=labels, normalize=False)
    assert_allclose(got, math.fsum(losses), rtol=1e-13)
    assert_allclose(fastloss.log_loss_from_logits(y, z, labels=labels, sample_weight=w),
                    math.fsum(w * losses) / w.sum(), rtol=1e-13)
    z32 = np.clip(z, -1e30, 1e30).astype(np.float32)
    z32[3, y[3]] = z32[4, y[4]] = z32[4, (y[4] + 1) % k] = np.inf
    z64 = z32.astype(np.float64)
    losses32 = sp.logsumexp(z64, axis=1) - z64[np.arange(n), y]
    losses32[3], losses32[4], losses32[5] = 0.0, math.log(2.0), math.log(k)
    assert_allclose(fastloss.log_loss_from_logits(y, z32, labels=labels, normalize=False),
                    math.fsum(losses32), rtol=2.0**-22)  # float32 lanes: 2 float32 ulp a row
    z[n - 2, 7] = np.nan
    with pytest.raises(ValueError, match="logits contains NaN"):
        fastloss.log_loss_from_logits(y, z, labels=labels)
    # confident rows (losses ~1e-15, which lse - z_y rounds to 0 or 7e-15): mpmath's sum to 1e-13
    conf = rng.normal(size=(40, k))
    yc = rng.integers(0, k, 40)
    conf[np.arange(40), yc] = 40.0 + rng.random(40)
    ref = _mp_label_losses(conf, yc)
    assert max(ref) < 1e-14
    for dtype in (np.float64, np.float32):
        zc = conf.astype(dtype)
        assert_allclose(fastloss.log_loss_from_logits(yc, zc, labels=labels, normalize=False),
                        math.fsum(_mp_label_losses(zc, yc)), rtol=1e-13 if k > 128 or dtype == np.float64 else 2.0**-22)


@pytest.mark.parametrize("eps", [2.220446049250313e-16, 1e-300, 1e-310, 0.0, 1.0])
def test_binary_kernel_log_normal_and_full_log(backend, eps):
    """The binary and multiclass kernels take log without its edge cases where every clipped
    probability is a normal number (eps >= 2**-1022, no nan), the full log otherwise (a
    subnormal or zero eps, as no public call passes, or a nan): the loss sums match np.log's to
    1e-14, exact 0 and 1 probabilities give log(eps) (inf for eps = 0), and the range scan and
    row sums are exact."""
    from fastloss import _backends

    if eps >= 0.5 and backend == "numpy":  # np.clip orders crossed bounds otherwise; no public call
        pytest.skip("the compiled kernels' clip order only")
    rng = np.random.default_rng(14)
    n = 300_000
    p = rng.random(n)
    p[rng.choice(n, 30, replace=False)] = np.resize([0.0, 1.0, 5e-324, 1e-310], 30)
    y = rng.integers(0, 2, n).astype(np.intp)
    w = np.empty(0)
    clip = lambda v: np.where(v < eps, eps, np.where(v > 1.0 - eps, 1.0 - eps, v))  # noqa: E731 (the kernels' order)
    q = clip(np.where(y == 1, p, 1.0 - p))
    with np.errstate(divide="ignore"):
        ref = math.fsum(-np.log(q))
    stats = _backends.load(backend).log_loss_binary(p, y, w, eps)
    assert_allclose(stats[0], ref, rtol=1e-14)
    assert stats[4] == 0 and stats[1] == n
    p[7] = np.nan  # that chunk takes the full log; the nan is counted, the others still match
    stats = _backends.load(backend).log_loss_binary(p, y, w, eps)
    assert stats[4] == 1
    # the multiclass kernel (rows of 3): the picked entries' logs, min / max / nan, row sums
    P = rng.random((n // 3, 3))
    P /= P.sum(axis=1, keepdims=True)
    P[:5] = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [5e-324, 1.0, 0.0], [0.2, 0.2, 0.7], [0.5, 0.5, 0.0]]
    labels = rng.integers(0, 3, n // 3).astype(np.intp)
    labels[:5] = [0, 1, 0, 2, 2]
    picked = clip(P[np.arange(n // 3), labels])
    with np.errstate(divide="ignore"):
        ref = math.fsum(-np.log(picked))
    stats = _backends.load(backend).log_loss_labels(P, labels, w, eps)
    assert_allclose(stats[0], ref, rtol=1e-14)
    assert stats[2] == 0.0 and stats[3] == 1.0 and stats[4] == 0
    assert_allclose(stats[5], np.abs(P.sum(axis=1) - 1).max(), rtol=0, atol=1e-15)


def test_binary_from_logits_exp_in_range_chunks(backend):
    """Binary logits past the parallel size: chunks whose |z| all lie within 708 take exp
    without its edge cases, chunks holding a logit beyond it the full exp; each loss still matches
    np.logaddexp (a wrong exp in a redone chunk would be off by orders of magnitude)."""
    rng = np.random.default_rng(8)
    n = 300_000
    z = rng.normal(scale=20, size=n)
    y = rng.integers(0, 2, n)
    odd = rng.choice(n, 50, replace=False)
    z[odd] = np.resize([708.5, -708.5, 745.5, -745.5, 800.0, -800.0, 1e5], odd.size)
    w = rng.uniform(0, 2, n)
    losses = np.logaddexp(0, np.where(y == 1, -z, z))
    assert_allclose(fastloss.log_loss_from_logits(y, z, normalize=False), math.fsum(losses), rtol=1e-13)
    assert_allclose(fastloss.log_loss_from_logits(y, z, sample_weight=w), math.fsum(w * losses) / w.sum(), rtol=1e-13)
    # the outliers alone, in one chunk: each loss to 1e-15
    for i in odd[:8]:
        assert_allclose(fastloss.log_loss_from_logits(y[[i]], z[[i]], labels=[0, 1]), losses[i], rtol=1e-15)


@given(
    z=hnp.arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(2, 6)), elements=st.floats(-15, 15)),  # no clipping
    data=st.data(),
)
def test_property_from_logits_equals_log_loss_of_softmax(z, data):
    y = data.draw(hnp.arrays(np.int64, z.shape[0], elements=st.integers(0, z.shape[1] - 1)))
    labels = list(range(z.shape[1]))
    ref = fastloss.log_loss(y, fastloss.softmax(z, axis=1), labels=labels)
    # logsumexp(z) - z_y loses up to an ulp of the logits' scale (1.8e-15 at |z| = 15) when the
    # loss is tiny: z = [[15, 0]] gives 3.06e-7 with a relative error of 1.2e-9 (mpmath)
    assert_allclose(fastloss.log_loss_from_logits(y, z, labels=labels), ref, rtol=1e-9, atol=4e-15)


@given(p=hnp.arrays(np.float64, st.integers(2, 40), elements=st.floats(0, 1)), data=st.data())
def test_property_binary_log_loss_matches_sklearn(p, data):
    y = data.draw(hnp.arrays(np.int64, p.shape[0], elements=st.integers(0, 1)))
    if len(set(y.tolist())) < 2:
        y[0], y[1] = 0, 1
    assert_allclose(fastloss.log_loss(y, p), sk_log_loss(y, p), rtol=1e-12)


@pytest.mark.parametrize("y, labels", [
    (np.array([-100, 100, 3, 100], dtype=np.int8), None),  # y - min(y) leaves int8
    (np.array([-100, 100, 3, 100], dtype=np.int8), [-100, 3, 100]),
    (np.array([0, 1, 1, 0], dtype=np.uint8), [-1, 0, 1]),  # classes below uint8's range
    (np.array([2**64 - 1, 2**64 - 3, 2**64 - 1, 2**64 - 2], dtype=np.uint64), None),  # above intp's
], ids=["int8-wide", "int8-wide-labels", "uint8-negative-labels", "uint64-top"])
def test_log_loss_integer_labels_at_the_edges_of_their_dtype(backend, y, labels):
    p = sp.softmax(np.random.default_rng(3).normal(size=(4, 3)), axis=1)
    # the reference encodes the labels as Python ints: no fixed-width arithmetic to overflow
    classes = sorted(set(y.tolist()) | set(labels or []))
    codes = [classes.index(v) for v in y.tolist()]
    expected = -np.mean(np.log(p[np.arange(4), codes]))
    assert_allclose(fastloss.log_loss(y, p, labels=labels), expected, rtol=1e-12)
