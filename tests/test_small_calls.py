"""The compiled path of the small common call (issue 11): log_loss / log_loss_from_logits on a
few samples with plain labels, and logsumexp / softmax / log_softmax on short rows. Each gives the
general path's value bitwise, scikit-learn's / SciPy's to rounding, and leaves every error and
warning to the general path (same messages, same order)."""
import warnings

import numpy as np
import pytest
import scipy.special
import sklearn.metrics

import fastloss
from fastloss._api import metrics as api_metrics

from hypothesis import given, strategies as st


@pytest.fixture
def general(monkeypatch):
    """A function that calls fastloss with the small path switched off."""
    def call(f, *args, **kw):
        with monkeypatch.context() as m:
            m.setattr(api_metrics, "_small_call", lambda: None)
            return f(*args, **kw)
    return call


def _labels(kind, rng, n, k):
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class present
    if kind == "bool":
        return y.astype(bool)
    if kind == "str":
        return np.array(["cat", "dog", "emu", "yak", "ant"][:k])[y] if k <= 5 else y.astype(str)
    if kind == "shifted":
        return (y * 3 - 7).astype(np.int16)
    if kind == "float":
        return y.astype(np.float64)
    return y.astype(kind)


KINDS = ["int64", "int32", "uint8", "int8", "uint64", "bool", "str", "shifted", "float"]


@pytest.mark.parametrize("kind,k", [(kind, k) for kind in KINDS for k in (2, 3, 7)
                                     if not (kind == "bool" and k > 2)])  # bool: two classes
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_loss_small_equals_general_and_sklearn(kind, k, dtype, general, backend):
    rng = np.random.default_rng(k)
    n = 10 if k < 7 else 40
    y = _labels(kind, rng, n, k)
    z = rng.normal(size=(n, k)).astype(dtype) * 3
    p = scipy.special.softmax(z.astype(np.float64), axis=1).astype(dtype)
    if k == 2:  # 1-D positive-class probabilities and logits
        p, z = p[:, 1].copy(), (z[:, 1] - z[:, 0]).astype(dtype)
    got = fastloss.log_loss(y, p)
    assert got == general(fastloss.log_loss, y, p)  # bitwise
    assert got == pytest.approx(sklearn.metrics.log_loss(y, p), rel=1e-6 if dtype == np.float32 else 1e-12)
    got = fastloss.log_loss_from_logits(y, z)
    assert got == general(fastloss.log_loss_from_logits, y, z)
    ref = general(fastloss.log_loss_from_logits, y, z, labels=np.unique(y))
    assert got == pytest.approx(ref, rel=1e-12)


def test_clipping_and_limits_as_the_general_path(general):
    y = np.array([0, 1, 1, 0])
    p = np.array([0.0, 1.0, 0.0, 1.0])  # two certain and right, two certain and wrong
    assert fastloss.log_loss(y, p) == general(fastloss.log_loss, y, p) == pytest.approx(
        sklearn.metrics.log_loss(y, p))
    z = np.array([-np.inf, np.inf, -np.inf, 800.0])
    assert fastloss.log_loss_from_logits(y, z) == general(fastloss.log_loss_from_logits, y, z) == np.inf
    z2 = np.array([[np.inf, 0.0], [0.0, np.inf], [np.inf, np.inf]])
    assert fastloss.log_loss_from_logits([0, 1, 1], z2) == general(fastloss.log_loss_from_logits, [0, 1, 1], z2)


def _outcome(f, *args, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            value = f(*args, **kw)
        except Exception as exc:  # noqa: BLE001 - the outcome is compared, whatever it is
            return ("raised", type(exc), str(exc), [str(r.message) for r in rec])
    return ("value", value, [(r.category, str(r.message)) for r in rec])


BAD = {
    "nan": (np.array([0, 1, 1]), np.array([0.2, np.nan, 0.7])),
    "above one": (np.array([0, 1, 1]), np.array([0.2, 1.5, 0.7])),
    "below zero": (np.array([0, 1, 1]), np.array([0.2, -0.5, 0.7])),
    "inf": (np.array([0, 1, 1]), np.array([0.2, np.inf, 0.7])),
    "one class": (np.array([1, 1, 1]), np.array([0.2, 0.4, 0.7])),
    "three classes, 1-D": (np.array([0, 1, 2]), np.array([0.2, 0.4, 0.7])),
    "classes vs columns": (np.array([0, 1, 1]), np.full((3, 3), 1 / 3)),
    "rows not summing to one": (np.array([0, 1, 2]), np.full((3, 3), 0.5)),
    "lengths": (np.array([0, 1, 1, 0]), np.array([0.2, 0.4, 0.7])),
    "2-D labels": (np.array([[0], [1], [1]]), np.array([0.2, 0.4, 0.7])),
    "float labels 0.5": (np.array([0.0, 0.5, 1.0]), np.array([0.2, 0.4, 0.7])),
    "object labels": (np.array(["a", "b", "a"], dtype=object), np.array([0.2, 0.4, 0.7])),
    "big-endian": (np.array([0, 1, 1]), np.array([0.2, 0.4, 0.7], dtype=">f8")),
    "strided": (np.array([0, 1, 1]), np.array([0.2, 9.0, 0.4, 9.0, 0.7, 9.0])[::2]),
    "float16": (np.array([0, 1, 1]), np.array([0.2, 0.4, 0.7], dtype=np.float16)),
    "wide label range": (np.array([0, 1000, 1000]), np.array([0.2, 0.4, 0.7])),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_unusual_or_wrong_input_gives_the_general_outcome(case, general):
    y, p = BAD[case]
    assert _outcome(fastloss.log_loss, y, p) == _outcome(general, fastloss.log_loss, y, p)
    assert _outcome(fastloss.log_loss_from_logits, y, p) == _outcome(
        general, fastloss.log_loss_from_logits, y, p)


def test_the_small_path_serves_only_the_cython_backend(monkeypatch):
    calls = []
    real = api_metrics._small_call

    def spy():
        f = real()
        calls.append(f is not None)
        return f
    monkeypatch.setattr(api_metrics, "_small_call", spy)
    for b in fastloss.available_backends():
        with fastloss.set_backend(b):
            fastloss.log_loss([0, 1], [0.3, 0.6])
            assert calls[-1] == (b == "cython"), b


@given(st.lists(st.integers(-3, 3), min_size=2, max_size=50), st.integers(0, 2**31 - 1))
def test_property_small_equals_general(labels, seed):
    y = np.array(labels)
    k = np.unique(y).size
    if k < 2:
        return
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(y.size, k)) * 4
    p = scipy.special.softmax(z, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = fastloss.log_loss(y, p if k > 2 else p[:, 1].copy())
    api_small = api_metrics._small_call
    try:
        api_metrics._small_call = lambda: None
        ref = fastloss.log_loss(y, p if k > 2 else p[:, 1].copy())
    finally:
        api_metrics._small_call = api_small
    assert got == ref
