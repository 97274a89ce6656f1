"""multilabel_log_loss and multilabel_log_loss_from_logits on every backend, against the mean
over labels of scikit-learn's binary log_loss (and a float64 softplus reference for logits)."""
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import fastloss


def _reference(Y, P, w=None, normalize=True):
    per_label = [sklearn.metrics.log_loss(Y[:, j], P[:, j], sample_weight=w, labels=[0, 1],
                                          normalize=normalize) for j in range(Y.shape[1])]
    return float(np.mean(per_label))


def _reference_logits(Y, Z, w=None, normalize=True):
    Z = np.asarray(Z, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        l = np.logaddexp(0, Z) - np.where(Y == 1, Z, 0.0)  # noqa: E741
    l = np.where(np.isinf(Z) & (np.sign(Z) == np.where(Y == 1, 1, -1)), 0.0, l).mean(axis=1)
    w = np.ones(len(l)) if w is None else np.asarray(w, dtype=np.float64)
    return float(np.sum(w * l) / (np.sum(w) if normalize else 1.0))


def _data(n=200, L=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, (n, L))
    P = rng.random((n, L)).astype(dtype)
    return Y, P, rng.random(n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("normalize", [True, False])
def test_matches_mean_of_binary_log_losses(backend, dtype, normalize):
    Y, P, w = _data(dtype=dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert fastloss.multilabel_log_loss(Y, P, normalize=normalize) == pytest.approx(
        _reference(Y, P, normalize=normalize), rel=rtol)
    assert fastloss.multilabel_log_loss(Y, P, sample_weight=w, normalize=normalize) == pytest.approx(
        _reference(Y, P, w, normalize), rel=rtol)


def test_from_logits_matches_reference(backend):
    Y, P, w = _data(seed=1)
    Z = np.log(P) - np.log1p(-P)
    Z[0, :2] = [np.inf, -np.inf]
    Y[0, :2] = [1, 0]  # limits: loss 0
    Z[1, 0], Y[1, 0] = 800.0, 0  # softplus(800) = 800, no overflow
    for ww in (None, w):
        got = fastloss.multilabel_log_loss_from_logits(Y, Z, sample_weight=ww)
        assert got == pytest.approx(_reference_logits(Y, Z, ww), rel=1e-12)
    # and from the probabilities they stand for, away from the clipping
    Zf = np.log(P[2:]) - np.log1p(-P[2:])
    assert fastloss.multilabel_log_loss_from_logits(Y[2:], Zf) == pytest.approx(
        _reference(Y[2:], P[2:]), rel=1e-9)


def test_clipping_at_zero_and_one(backend):
    Y = np.array([[1, 0], [0, 1]])
    P = np.array([[0.0, 1.0], [1.0, 0.0]])  # every label wrong and certain: -log(eps) each
    assert fastloss.multilabel_log_loss(Y, P) == pytest.approx(_reference(Y, P), rel=1e-12)
    P32 = P.astype(np.float32)
    assert fastloss.multilabel_log_loss(Y, P32) == pytest.approx(-np.log(np.finfo(np.float32).eps), rel=1e-6)


def test_layouts_and_containers(backend):
    Y, P, w = _data(seed=2)
    ref = _reference(Y, P, w)
    ro = P.copy()
    ro.flags.writeable = False
    for YY, PP in [(Y.astype(bool), P), (Y.astype(np.uint8), np.asfortranarray(P)),
                   (Y.astype(np.float32), P.astype(">f8")), (Y, ro),
                   (pd.DataFrame(Y), pd.DataFrame(P)), (Y.tolist(), P.tolist())]:
        before = np.array(PP, copy=True)
        assert fastloss.multilabel_log_loss(YY, PP, sample_weight=w) == pytest.approx(ref, rel=1e-12)
        np.testing.assert_array_equal(np.asarray(PP), before)  # input not modified
    strided = np.zeros((200, 10))
    strided[:, ::2] = P
    assert fastloss.multilabel_log_loss(Y, strided[:, ::2], sample_weight=w) == pytest.approx(ref, rel=1e-12)


def test_errors(backend):
    Y, P, w = _data(n=10, L=3)
    f, g = fastloss.multilabel_log_loss, fastloss.multilabel_log_loss_from_logits
    with pytest.raises(ValueError, match="same shape"):
        f(Y, P[:, :2])
    with pytest.raises(ValueError, match="must be 2-D"):
        f(Y[:, 0], P[:, 0])
    with pytest.raises(ValueError, match="multilabel indicator"):
        f(Y * 2, P)
    with pytest.raises(ValueError, match="multilabel indicator"):
        f(np.full((10, 3), "a"), P)
    bad = P.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input contains NaN"):
        f(Y, bad)
    bad[0, 0] = 1.5
    with pytest.raises(ValueError, match="greater than 1"):
        f(Y, bad)
    bad[0, 0] = -0.5
    with pytest.raises(ValueError, match="lower than 0"):
        f(Y, bad)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        f(Y, bad)
    with pytest.raises(ValueError, match="logits contains NaN"):
        g(Y, np.where(np.isinf(bad), np.nan, bad))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        f(Y, P, sample_weight=w[:5])
    with pytest.raises(ValueError, match="at least one non-zero"):
        f(Y, P, sample_weight=np.zeros(10))
    with pytest.raises(TypeError, match="normalize"):
        f(Y, P, normalize="yes")
    with pytest.raises(ValueError, match="0 sample"):
        f(np.zeros((0, 3)), np.zeros((0, 3)))


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 6)),
                  elements=st.floats(0, 1)),
       st.integers(0, 2**31 - 1))
def test_property_equals_per_label_mean(P, seed):
    Y = np.random.default_rng(seed).integers(0, 2, P.shape)
    assert fastloss.multilabel_log_loss(Y, P) == pytest.approx(_reference(Y, P), rel=1e-10, abs=1e-12)
