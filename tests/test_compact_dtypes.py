"""Compact dtypes (uint8 labels, float32 scores, targets and weights) are read as given: every
combination scores as the float64/int64 reference does (scikit-learn, the NumPy backend), on every
backend, and the reductions make no wider copy of any input (numpy's allocations, traced)."""
import re
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics

import fastloss
import fastloss._api.losses as api_losses
from fastloss.losses import CATALOGUE

LABEL_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
                np.uint64, np.float32, np.float64]  # integral floats: as LightGBM hands labels over
FLOATS = [np.float32, np.float64]
WEIGHTS = [None, np.float32, np.float64]


def _matrix(backend):
    """Cython and NumPy run the whole matrix. Numba compiles one kernel per dtype combination
    (seconds each, the test suite's budget) from the same generic code: it runs the labels that
    become one-byte codes (bool and int8 viewed as uint8, float labels encoded to uint8) with
    float32 scores, as the other tests here."""
    if backend == "numba":
        return [(np.bool_, np.float32, None), (np.int8, np.float32, None), (np.float32, np.float32, None)]
    return [(yd, pd_, wd) for yd in LABEL_DTYPES for pd_ in FLOATS for wd in WEIGHTS]


def _data(n, k, ydt, pdt, wdt, seed=0):
    rng = np.random.default_rng(seed)
    kk = 2 if ydt is np.bool_ else k
    y = rng.integers(0, kk, n).astype(ydt)
    p = rng.uniform(0.02, 0.98, n).astype(pdt)
    P = rng.dirichlet(np.ones(kk), n).astype(pdt)
    Z = rng.normal(0, 3, (n, kk)).astype(pdt)
    w = None if wdt is None else rng.uniform(0, 2, n).astype(wdt)
    return y, p, P, Z, w


def _ref_log_loss(y, P, w, labels=None):
    """scikit-learn in float64 (it rounds float32 input in float32; the kernels work in float64),
    with 1 - p of 1-D probabilities taken in p's dtype, as both do."""
    if P.ndim == 1:
        P = np.column_stack([P.dtype.type(1) - P, P])
    with warnings.catch_warnings():  # float32 rows sum to 1 within float32's tolerance only
        warnings.simplefilter("ignore", UserWarning)
        return sklearn.metrics.log_loss(y.astype(np.int64), np.asarray(P, np.float64),
                                        sample_weight=None if w is None else w.astype(np.float64),
                                        labels=labels)


def _ref_from_logits(y, Z, w):
    Z = np.asarray(Z, np.float64)
    return _ref_log_loss(y, np.exp(Z - Z.max(1, keepdims=True)) / np.exp(Z - Z.max(1, keepdims=True)).sum(1, keepdims=True), w)


def test_log_loss_every_dtype(backend):
    n = 3001
    for ydt, pdt, wdt in _matrix(backend):
        y, p, P, Z, w = _data(n, 3, ydt, pdt, wdt)
        case = (ydt.__name__, pdt.__name__, wdt)
        y2 = (y.astype(np.int64) % 2).astype(ydt)
        expected = _ref_log_loss(y2, p, w)
        assert fastloss.log_loss(y2, p, sample_weight=w) == pytest.approx(expected, rel=1e-12), case
        assert fastloss.log_loss(y2, p, sample_weight=w, labels=[0, 1]) == pytest.approx(expected, rel=1e-12), case
        if ydt is np.bool_:
            continue
        expected = _ref_log_loss(y, P, w)
        assert fastloss.log_loss(y, P, sample_weight=w) == pytest.approx(expected, rel=1e-12), case
        assert fastloss.log_loss(y, P, sample_weight=w, labels=[0, 1, 2]) == pytest.approx(expected, rel=1e-12), case
        got = fastloss.log_loss_from_logits(y, Z, sample_weight=w)
        # float32 logits: float32 lanes in the compiled kernels (2 float32 ulp)
        rel = 2.0**-22 if Z.dtype == np.float32 and backend != "numpy" else 1e-10
        assert got == pytest.approx(_ref_from_logits(y, Z, w), rel=rel), case


def test_log_loss_from_logits_binary_every_dtype(backend):
    n = 2000
    for ydt, pdt, wdt in _matrix(backend):
        y, p, P, Z, w = _data(n, 2, ydt, pdt, wdt, seed=1)
        z = Z[:, 1] - Z[:, 0]
        expected = _ref_from_logits(y, np.stack([np.zeros(n), z.astype(np.float64)], 1), w)
        got = fastloss.log_loss_from_logits(y, z, sample_weight=w)
        assert got == pytest.approx(expected, rel=1e-10), (ydt.__name__, pdt.__name__, wdt)


@pytest.mark.parametrize("layout", ["strided", "big-endian", "read-only", "pandas", "memmap"])
def test_compact_label_layouts(backend, layout, tmp_path):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 5000).astype(np.uint8)
    P = rng.dirichlet(np.ones(3), 5000).astype(np.float32)
    expected = _ref_log_loss(y, P, None)
    if layout == "strided":
        yy = np.repeat(y, 2)[::2]
    elif layout == "big-endian":
        yy = y.astype(">u2")
    elif layout == "read-only":
        yy = y.copy()
        yy.flags.writeable = False
    elif layout == "pandas":
        yy = pd.Series(y)
    else:
        path = tmp_path / "y.u8"
        y.tofile(path)
        yy = np.memmap(path, dtype=np.uint8, mode="r", shape=y.shape)
    before = np.array(yy, copy=True)
    assert fastloss.log_loss(yy, P) == pytest.approx(expected, rel=1e-12)
    assert fastloss.log_loss(yy, P, labels=[0, 1, 2]) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(np.asarray(yy), before)  # not modified


@pytest.mark.parametrize("n", [1000, 200_000])  # serial; above SERIAL_MAX_ELEMENTS: threads
def test_unaligned_inputs(backend, n, tmp_path):
    """Scores and labels whose data is not aligned to their item size -- a file memory-mapped at
    an odd offset -- give the aligned arrays' values, bit for bit, and stay unmodified."""
    from fastloss.losses import CATALOGUE
    rng = np.random.default_rng(9)
    z, y = rng.normal(size=n), (rng.random(n) < 0.5).astype(np.float64)
    x, lab = rng.normal(size=(n // 10, 10)), rng.integers(0, 10, n // 10)
    path = tmp_path / "data.bin"
    arrays = (z, y, x, z.astype(np.float32), rng.dirichlet(np.ones(10), n // 10))
    with open(path, "wb") as fh:
        fh.write(b"\0")
        for a in arrays:
            fh.write(a.tobytes())
    mapped, offset = [], 1
    for a in arrays:
        mapped.append(np.memmap(path, dtype=a.dtype, mode="r", offset=offset, shape=a.shape))
        offset += a.nbytes
    zm, ym, xm, z32m, pm = mapped
    assert not any(m.flags.aligned for m in mapped)
    z32, p = arrays[3], arrays[4]
    bce, ce = CATALOGUE["binary_cross_entropy"], CATALOGUE["cross_entropy"]
    pairs = [(bce.gradient_hessian(ym, zm), bce.gradient_hessian(y, z)),
             (bce.gradient_hessian(y.astype(np.float32), z32m), bce.gradient_hessian(y.astype(np.float32), z32)),
             ([bce.loss(ym, zm)], [bce.loss(y, z)]),
             ([ce.gradient(lab, xm)], [ce.gradient(lab, x)]),
             ([fastloss.logsumexp(xm, axis=1)], [fastloss.logsumexp(x, axis=1)]),
             ([fastloss.softmax(xm, axis=1)], [fastloss.softmax(x, axis=1)]),
             ([fastloss.expit(zm)], [fastloss.expit(z)]),
             ([fastloss.log_loss(lab, pm, labels=range(10))], [fastloss.log_loss(lab, p, labels=range(10))])]
    for got, ref in pairs:
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(np.atleast_1d(a).view(np.uint8), np.atleast_1d(b).view(np.uint8))
    for m, a in zip(mapped, arrays):
        assert m.tobytes() == a.tobytes()


def test_labels_not_0_to_k_minus_1(backend):
    """Other label sets are encoded (into one-byte codes): {1, 2}, {-1, 1}, a gap."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 1000).astype(np.float32)
    for values in ([1, 2], [-1, 1], [0, 5]):
        y = np.array(values, dtype=np.int8)[rng.integers(0, 2, 1000)]
        assert fastloss.log_loss(y, p) == pytest.approx(_ref_log_loss(y, p, None), rel=1e-12), values
        assert fastloss.log_loss(y, p, labels=values) == pytest.approx(_ref_log_loss(y, p, None), rel=1e-12)


def test_float_label_errors_in_sklearn_order(backend):
    """Float labels are checked a chunk at a time, and still raise what scikit-learn raises: a
    NaN anywhere first, then an infinity, then a non-integer value (or one past int64, which
    scikit-learn calls continuous), then labels outside labels=."""
    n = 200_000  # several chunks
    p = np.full(n, 0.5)
    y = np.zeros(n, dtype=np.float32)
    y[10] = 0.5
    y[120_000] = -np.inf
    y[150_000] = np.nan
    for yy in (y, y.astype(">f8")):
        with pytest.raises(ValueError, match="Input y contains NaN"):
            fastloss.log_loss(yy, p)
    y[150_000] = 1.0
    for yy in (y, y.astype(">f8")):
        with pytest.raises(ValueError, match=re.escape(
                f"Input y contains infinity or a value too large for {yy.dtype!r}.")):
            fastloss.log_loss(yy, p)
        with pytest.raises(ValueError, match=re.escape(
                f"Input y contains infinity or a value too large for {yy.dtype!r}.")):
            sklearn.metrics.log_loss(yy, p)
    y[120_000] = 0.0
    with pytest.raises(ValueError, match="Unknown label type"):
        fastloss.log_loss(y, p)
    y[10] = 0.0
    y64 = y.astype(np.float64)
    y64[10] = 1e300  # integral, but no int64: "continuous"
    with pytest.raises(ValueError, match="Unknown label type"):
        sklearn.metrics.log_loss(y64, p)
    with pytest.raises(ValueError, match="Unknown label type"):
        fastloss.log_loss(y64, p)
    y[10] = 0.5
    y[10] = 7.0
    with pytest.raises(ValueError, match=r"not belonging to the passed labels \[0, 1\]"):
        fastloss.log_loss(y, p, labels=[0, 1])
    y[10] = 0.0
    assert fastloss.log_loss(y, p, labels=[0, 1]) == pytest.approx(np.log(2), rel=1e-12)


def test_compact_label_errors(backend):
    """The same messages as scikit-learn for values outside labels= and class-count mismatches."""
    y = np.array([0, 1, 2, 1], dtype=np.uint8)
    p = np.full(4, 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="not belonging to the passed labels"):
        fastloss.log_loss(y, p, labels=[0, 1])
    with pytest.raises(ValueError, match="different number of classes: 3 vs 2"):
        fastloss.log_loss(y, p)
    P = np.full((4, 4), 0.25, dtype=np.float32)
    with pytest.raises(ValueError, match="different number of classes"):
        fastloss.log_loss(y, P)  # classes 0, 1, 2 found (a gap at 3): not the 4 columns
    with pytest.raises(ValueError, match="only one label"):
        fastloss.log_loss(np.ones(4, np.uint8), p)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "cross_entropy", "huber", "poisson"])
def test_catalogue_reductions_on_compact_dtypes(backend, name, monkeypatch):
    """Targets in another dtype than raw's and float32 weights: the staged reduction (several
    slices: the stage is made small here) equals the loss on converted copies."""
    monkeypatch.setattr(api_losses, "_STAGE_ELEMENTS", 1)  # one block per slice
    loss = CATALOGUE[name]
    rng = np.random.default_rng(4)
    n = 40_000 if backend != "numpy" else 20_000
    # float64 raw on Numba: the kernels the other loss tests compile (a new dtype costs seconds)
    fdt = np.float64 if backend == "numba" else np.float32
    if name == "cross_entropy":
        raw = rng.normal(0, 2, (n, 3)).astype(fdt)
        ys = [rng.integers(0, 3, n).astype(dt) for dt in (np.uint8, np.int16, np.int32)]
        y64 = ys[0].astype(np.int64)
    else:
        raw = rng.normal(0, 2, n).astype(fdt)
        if name == "poisson":
            ys = [rng.poisson(2.0, n).astype(dt) for dt in (np.uint8, np.int32)]
        elif name == "huber":
            ys = [rng.normal(0, 2, n).astype(np.float32 if fdt is np.float64 else np.float64)]
        else:
            ys = [rng.integers(0, 2, n).astype(dt) for dt in (np.uint8, np.bool_)]
        y64 = ys[0].astype(fdt)
    w32 = rng.uniform(0, 2, n).astype(np.float32)
    for y in ys:
        yref = y64 if y is ys[0] else y.astype(y64.dtype)
        for w in (None, w32):
            wref = None if w is None else w.astype(np.float64)
            for reduction in ("mean", "sum"):
                got = loss.loss(y, raw, sample_weight=w, reduction=reduction)
                ref = loss.loss(yref, raw, sample_weight=wref, reduction=reduction)
                assert got == pytest.approx(ref, rel=1e-13), (y.dtype, w is None, reduction)
            s = loss.sums(y, raw, sample_weight=w)
            assert s.n == n and s.sum_wl == pytest.approx(loss.sums(yref, raw, sample_weight=wref).sum_wl, rel=1e-13)
        if backend != "numba":  # (a gradient kernel more to compile there)
            # the methods with n-sized outputs convert whole: the values of the converted copies
            np.testing.assert_array_equal(loss.gradient(y, raw), loss.gradient(yref, raw))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "huber", "poisson", "focal", "cross_entropy",
                                  "gaussian_nll"])
def test_float32_weights_in_the_gradient_methods(backend, name):
    """float32 weights give the bits of the same weights as float64 in every method with n-sized
    outputs, over several blocks and chunks, with zero weights among them; the Cython elementwise
    gradients read them as they are (a booster's weights every round: no float64 copy, traced),
    and a strided or big-endian float32 weight array is converted, never modified."""
    loss = CATALOGUE[name]
    rng = np.random.default_rng(12)
    n = 70_001
    fdt = np.float64 if backend == "numba" else np.float32  # (Numba: the kernels compiled already)
    shape = loss.spec.shape
    raw = rng.normal(0, 3, (n, 3) if shape == "rows" else (n, 2) if shape == "paired" else n).astype(fdt)
    if name == "cross_entropy":
        y = rng.integers(0, 3, n)
    elif name in ("binary_cross_entropy", "focal"):
        y = (rng.random(n) < 0.4).astype(fdt)
    elif name == "poisson":
        y = rng.poisson(2.0, n).astype(fdt)
    else:
        y = rng.normal(0, 2, n).astype(fdt)
    w32 = rng.uniform(0, 2, n).astype(np.float32)
    w32[::7] = 0
    w64 = w32.astype(np.float64)
    methods = ["gradient", "gradient_hessian"] if backend != "numba" else ["gradient_hessian"]
    for method in methods:
        ref = getattr(loss, method)(y, raw, sample_weight=w64)
        for w in (w32, np.repeat(w32, 2)[::2], w32.astype(">f4")):
            before = w.copy()
            got = getattr(loss, method)(y, raw, sample_weight=w)
            for a, b in zip((got,) if method == "gradient" else got, (ref,) if method == "gradient" else ref):
                np.testing.assert_array_equal(a, b, err_msg=f"{method} {w.dtype} {w.strides}")
            np.testing.assert_array_equal(w, before)
    if backend == "cython" and shape == "elementwise":
        out = (np.empty_like(raw), np.empty_like(raw))
        loss.gradient_hessian(y, raw, sample_weight=w32, out=out)
        tracemalloc.start()
        loss.gradient_hessian(y, raw, sample_weight=w32, out=out)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 4 * n, peak  # a float64 copy of the weights alone is 8 n bytes


def test_staged_reduction_errors_name_the_cause(monkeypatch):
    monkeypatch.setattr(api_losses, "_STAGE_ELEMENTS", 1)
    raw = np.zeros(50_000, np.float32)
    raw[40_000] = np.nan
    with pytest.raises(ValueError, match="raw contains NaN"):
        CATALOGUE["binary_cross_entropy"].loss(np.zeros(50_000, np.uint8), raw)
    with pytest.raises(ValueError, match="class labels in"):
        CATALOGUE["cross_entropy"].loss(np.full(50_000, 7, np.uint8), np.zeros((50_000, 3), np.float32))


def _traced_peak(fn):
    """Peak bytes numpy allocates during fn() (numpy reports its data buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big():
    """2^22 samples (so the fixed scratch of a staged reduction, 2^19 converted elements, is
    below the bound): uint8 labels, float32 scores and weights."""
    n = 1 << 22
    rng = np.random.default_rng(5)
    Z4 = rng.normal(size=(n, 4)).astype(np.float32)
    y = rng.integers(0, 2, n).astype(np.uint8)
    return {"y": y, "y4": rng.integers(0, 4, n).astype(np.uint8), "y_pm": (2 * y.astype(np.int8) - 1),
            "p": rng.uniform(0.05, 0.95, n).astype(np.float32), "w": rng.uniform(0, 1, n).astype(np.float32),
            "Z4": Z4, "P4": fastloss.softmax(Z4, axis=1), "r": Z4[:, 0].copy(),
            "Y4": (Z4 > 0.3).astype(np.uint8), "yf": y.astype(np.float32),
            "y4f": rng.integers(0, 4, n).astype(np.float32)}


_BIG_CALLS = {
    "log_loss labels=": (("y", "p"), lambda d: fastloss.log_loss(d["y"], d["p"], labels=[0, 1])),
    "log_loss": (("y", "p"), lambda d: fastloss.log_loss(d["y"], d["p"])),
    # labels -1/+1: encoded, into one byte per label
    "log_loss -1/+1": (("y_pm", "p"), lambda d: fastloss.log_loss(d["y_pm"], d["p"])),
    "log_loss -1/+1 labels=": (("y_pm", "p"), lambda d: fastloss.log_loss(d["y_pm"], d["p"], labels=[-1, 1])),
    # float32 labels 0.0/1.0 (and 0..3): checked and encoded a chunk at a time, into one byte each
    "log_loss float labels": (("yf", "p"), lambda d: fastloss.log_loss(d["yf"], d["p"])),
    "log_loss float labels labels=": (("yf", "p"), lambda d: fastloss.log_loss(d["yf"], d["p"], labels=[0, 1])),
    "from_logits float labels multiclass": (("y4f", "Z4"), lambda d: fastloss.log_loss_from_logits(d["y4f"], d["Z4"])),
    "log_loss weights": (("y", "p", "w"), lambda d: fastloss.log_loss(d["y"], d["p"], sample_weight=d["w"])),
    "log_loss multiclass": (("y4", "P4"), lambda d: fastloss.log_loss(d["y4"], d["P4"])),
    "from_logits": (("y", "p"), lambda d: fastloss.log_loss_from_logits(d["y"], d["p"])),
    "from_logits multiclass": (("y4", "Z4"), lambda d: fastloss.log_loss_from_logits(d["y4"], d["Z4"])),
    "bce loss": (("y", "p"), lambda d: CATALOGUE["binary_cross_entropy"].loss(d["y"], d["p"])),
    "cross_entropy loss": (("y4", "Z4"), lambda d: CATALOGUE["cross_entropy"].loss(d["y4"], d["Z4"])),
    "huber weights": (("p", "r", "w"), lambda d: CATALOGUE["huber"].loss(d["p"], d["r"], sample_weight=d["w"])),
    "logsumexp": (("p",), lambda d: fastloss.logsumexp(d["p"])),
    # per-sample weights over 4 labels: repeated a slice at a time, not into an n·L array
    "multilabel weights": (("Y4", "P4", "w"), lambda d: fastloss.multilabel_log_loss(
        d["Y4"], d["P4"], sample_weight=d["w"])),
    "multilabel from logits weights": (("Y4", "Z4", "w"), lambda d: fastloss.multilabel_log_loss_from_logits(
        d["Y4"], d["Z4"], sample_weight=d["w"])),
}


@pytest.mark.skipif("cython" not in fastloss.available_backends(), reason="needs the Cython backend")
@pytest.mark.parametrize("call", list(_BIG_CALLS))
def test_reductions_make_no_wider_copy(big, call):
    """The goal of the compact-dtype work: <= 0.35 x the inputs' bytes of extra memory. The copies
    would be made by the API layer, which is the same for every backend; the Cython backend
    compiles nothing at test time (its kernels' own scratch is per block)."""
    names, fn = _BIG_CALLS[call]
    nbytes = sum(big[k].nbytes for k in names)
    with fastloss.set_backend("cython"):
        fn(big)  # load first
        peak = _traced_peak(lambda: fn(big))
    assert peak <= 0.35 * nbytes, f"{call}: {peak / nbytes:.2f} x the inputs' {nbytes} bytes"


INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@pytest.mark.skipif("cython" not in fastloss.available_backends(), reason="needs the Cython backend")
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_label_bounds_against_numpy(dtype):
    """The one-pass label check of large integer labels (Cython label_bounds, parallel or serial)
    gives NumPy's min and max for every integer dtype, at the dtype's extremes, and through
    fastloss._labels for big-endian and strided labels too (copied to native order first)."""
    from fastloss import _labels
    from fastloss._cython import FAMILIES

    info = np.iinfo(dtype)
    rng = np.random.default_rng(4)
    for n in (1, 7, 70_001, 300_001):
        y = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        y[rng.integers(0, n)] = info.max
        expected = (int(y.min()), int(y.max()))
        for serial in (False, True):
            assert FAMILIES["metrics"].label_bounds(y, serial=serial) == expected, (n, serial)
        for view in (y.astype(y.dtype.newbyteorder(">")), np.repeat(y, 2)[::2]):
            with fastloss.set_backend("cython"):
                assert _labels.label_bounds(view) == expected
    with pytest.raises(ValueError):
        FAMILIES["metrics"].label_bounds(np.empty(0, dtype))
    # label_counts (the presence count of inferred classes): bincount's counts at the dtype's
    # top and bottom, odd and even lengths (its two histograms), and a refusal past the range
    for n in (1, 2, 7, 70_001):
        lo = int(info.max) - 40 if info.min == 0 else int(info.min)
        y = np.array(lo, dtype) + rng.integers(0, 41, n).astype(dtype)
        counts = np.zeros(41, np.int64)
        FAMILIES["metrics"].label_counts(y, lo, counts)
        np.testing.assert_array_equal(counts, np.bincount((y.astype(object) - lo).astype(np.intp), minlength=41))
        with pytest.raises(ValueError, match="outside"):
            FAMILIES["metrics"].label_counts(y, lo, np.zeros(int(y.max()) - lo, np.int64))


@pytest.mark.skipif("cython" not in fastloss.available_backends(), reason="needs the Cython backend")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_label_scans_against_numpy(dtype):
    """Cython's float_label_bounds (parallel or serial) counts the labels that differ from their
    int64 cast as NumPy does (nan, inf, 0.5, 2**63; not -2**63 or -0.0) and gives the integral
    ones' min and max; float_label_codes writes y - lo and the counts, and refuses a label
    outside the range it is given instead of writing past its buffers."""
    from fastloss._cython import FAMILIES

    m = FAMILIES["metrics"]
    rng = np.random.default_rng(12)
    for n in (1, 70_001, 300_001):
        y = rng.integers(-5, 40, n).astype(dtype)
        for odd in ([], [np.nan], [np.inf, -np.inf], [0.5, -0.0], [2.0**63], [-(2.0**63)]):
            yy = y.copy()
            yy[rng.integers(0, n, len(odd))] = odd
            with np.errstate(invalid="ignore"):
                bad = int(np.count_nonzero(yy != yy.astype(np.int64)))
            ok = yy[yy == yy.astype(np.int64)] if bad else yy
            expected = (bad, float(ok.min()), float(ok.max())) if ok.size else (bad, np.inf, -np.inf)
            for serial in (False, True):
                assert m.float_label_bounds(yy, serial=serial) == expected, (n, odd, serial)
        lo, hi = float(y.min()), float(y.max())
        codes = np.empty(n, np.uint8)
        counts = np.zeros(int(hi - lo) + 1, np.int64)
        m.float_label_codes(y, lo, codes, counts)
        np.testing.assert_array_equal(codes, (y - lo).astype(np.uint8))
        np.testing.assert_array_equal(counts, np.bincount((y - lo).astype(np.intp), minlength=counts.size))
        with pytest.raises(ValueError, match="outside"):
            m.float_label_codes(y, lo + 1, codes, counts)
    with pytest.raises(ValueError):
        m.float_label_bounds(np.empty(0, dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, ">f8", np.float16])
def test_large_float_labels_encode_as_unique(backend, dtype, monkeypatch):
    """Integral float labels past the chunk size (checked, bounded and encoded by the Cython
    scans float_label_bounds / float_label_codes where a compiled backend runs the call, by
    NumPy's chunks otherwise): classes are np.unique's (dtype included), codes their positions,
    for 0..K-1, a gap, negative values, a wide range and two values; and log_loss as sklearn's."""
    from fastloss import _backends, _labels

    scans = []
    if "cython" in fastloss.available_backends():
        family = _backends.family("metrics", backend="cython")
        for name in ("float_label_bounds", "float_label_codes"):
            scan = getattr(family, name)
            monkeypatch.setattr(family, name, lambda *a, _s=scan, _n=name, **k: (scans.append(_n), _s(*a, **k))[1])
    rng = np.random.default_rng(8)
    n = 200_000
    wide = 2_000 if np.dtype(dtype).itemsize == 2 else 70_000  # (float16 ends at 65504)
    for values in ([0, 1, 2, 3], [3, 5, 9], [-2, 0, 7], [0, 300], [0, wide, 5], [4, 5]):
        y = rng.choice(np.array(values, dtype=float), n)
        y[:len(values)] = values
        y = y.astype(dtype)
        codes, indicator, classes = _labels.encode_targets(y, None)
        expected = np.unique(y)
        assert indicator is None and classes.dtype == expected.dtype
        np.testing.assert_array_equal(classes, expected)
        np.testing.assert_array_equal(codes.astype(np.int64), np.searchsorted(expected, y))
        assert codes.dtype.itemsize <= (1 if len(values) <= 256 else 8)
    compiled = backend != "numpy" and "cython" in fastloss.available_backends() and np.dtype(dtype).itemsize > 2
    assert sorted(set(scans)) == (["float_label_bounds", "float_label_codes"] if compiled else [])
    y = rng.integers(0, 3, n).astype(dtype)
    P = rng.dirichlet(np.ones(3), n)
    assert fastloss.log_loss(y, P) == pytest.approx(sklearn.metrics.log_loss(y, P), rel=1e-12)
    y[n - 1] = 0.5
    with pytest.raises(ValueError, match="Unknown label type"):
        fastloss.log_loss(y, P)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.uint64])
def test_large_integer_labels_score_as_sklearn(backend, dtype):
    """log_loss on more labels than the small-input path takes (the label check then runs on
    the compiled label_bounds): 0/1 labels, another pair of values, three classes with labels=,
    and a value outside labels= (sklearn's error)."""
    rng = np.random.default_rng(5)
    n = 70_001
    p = rng.uniform(0.02, 0.98, n)
    P = rng.dirichlet(np.ones(3), n)
    y01 = rng.integers(0, 2, n).astype(dtype)
    assert fastloss.log_loss(y01, p) == pytest.approx(_ref_log_loss(y01, p, None), rel=1e-12)
    pair = np.array([3, 100], dtype=dtype)[y01.astype(np.intp)]
    assert fastloss.log_loss(pair, p) == pytest.approx(_ref_log_loss(y01, p, None), rel=1e-12)
    y3 = rng.integers(0, 3, n).astype(dtype)
    assert fastloss.log_loss(y3, P, labels=[0, 1, 2]) == pytest.approx(_ref_log_loss(y3, P, None), rel=1e-12)
    y3[n // 2] = 7
    with pytest.raises(ValueError, match="not belonging to the passed labels"):
        fastloss.log_loss(y3, P, labels=[0, 1, 2])


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int64, np.uint64, np.float32, ">f8"])
def test_binary_labels_checked_inside_the_kernel(backend, dtype):
    """Large binary calls hand integer and float labels to the kernel unchecked; the kernel counts
    the codes outside {0, 1} in its own pass. Every outcome is scikit-learn's: values for 0/1
    labels (sorted, weighted, -0. for 0.), and for a stray label anywhere (first, middle, last
    element; for floats also nan, 0.5, inf) the general path's result or error; one class, wrong
    weight lengths and nan probabilities raise as there."""
    rng = np.random.default_rng(6)
    n = 70_001
    p = rng.uniform(0.02, 0.98, n)
    y = rng.integers(0, 2, n).astype(dtype)
    w = rng.uniform(0, 2, n)

    def same(yy, pp=p, **kw):
        try:
            expected = sklearn.metrics.log_loss(yy, pp, **kw)
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc)[:40])):
                fastloss.log_loss(yy, pp, **kw)
            return
        assert fastloss.log_loss(yy, pp, **kw) == pytest.approx(expected, rel=1e-12)

    same(y)
    same(pd.Series(y))  # (taken by the same path: a Series of a NumPy dtype)
    same(y, sample_weight=w)
    same(np.sort(y))
    same(np.zeros(n, dtype=dtype))  # one class
    kind = np.dtype(dtype).kind
    if dtype is not np.bool_:
        for at in (0, n // 2 + 1, n - 1):
            stray = y.copy()
            for value in [2] + ([-1] if kind in "if" else []) + ([np.nan, 0.5, np.inf] if kind == "f" else []):
                stray[at] = value
                same(stray)
    if kind == "f":
        negative_zero = y.copy()
        negative_zero[negative_zero == 0] = -0.0
        same(negative_zero)
        same(y[::-1])  # strided
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fastloss.log_loss(y, p, sample_weight=w[:-1])
    bad_p = p.copy()
    bad_p[n - 3] = np.nan
    same(y, bad_p)
    # log_loss_from_logits takes the same path: against log_loss of the sigmoid, or its error
    z = np.log(p / (1 - p))
    assert fastloss.log_loss_from_logits(y, z) == pytest.approx(sklearn.metrics.log_loss(y, p), rel=1e-9)
    assert fastloss.log_loss_from_logits(y, z, sample_weight=w) == pytest.approx(
        sklearn.metrics.log_loss(y, p, sample_weight=w), rel=1e-9)
    for labels_case in ([np.zeros(n, dtype=dtype)] + ([] if dtype is np.bool_ else [np.where(np.arange(n) == n - 1, 2, y).astype(dtype)])):
        with pytest.raises(ValueError):
            sklearn.metrics.log_loss(labels_case, p)
        with pytest.raises(ValueError):
            fastloss.log_loss_from_logits(labels_case, z)
    bad_z = z.copy()
    bad_z[1] = np.nan
    with pytest.raises(ValueError, match="logits contains NaN"):
        fastloss.log_loss_from_logits(y, bad_z)
