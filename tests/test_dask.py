"""fastloss.dask: lazy, exact reductions over dask arrays, on threads and on a LocalCluster."""
import os
import time
import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import fastloss  # noqa: E402
import fastloss.dask as fd  # noqa: E402

RTOL = 1e-12
N = 100_003


def _rel(a, b):
    return abs(float(a) - float(b)) / max(abs(float(b)), 1e-300)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(7)
    return {
        "y3": rng.integers(0, 3, N),
        "p3": rng.dirichlet([1.0, 2.0, 3.0], N),
        "w": rng.random(N),
        "y2": rng.integers(0, 2, N),
        "p2": rng.random(N).astype(np.float32),
        "z3": rng.normal(scale=4, size=(N, 3)),
        "z1": rng.normal(scale=4, size=N),
        "ystr": np.array(["a", "b", "c"])[rng.integers(0, 3, N)],
    }


def _da(a, rows):
    return da.from_array(a, chunks=(rows,) + a.shape[1:])


@pytest.mark.parametrize("rows", [9_999, 33_334, N])
def test_log_loss_matches_in_memory(arrays, rows):
    a = arrays
    cases = [
        (fd.log_loss, fastloss.log_loss, "y3", "p3", True),
        (fd.log_loss, fastloss.log_loss, "ystr", "p3", False),
        (fd.log_loss, fastloss.log_loss, "y2", "p2", True),
        (fd.log_loss_from_logits, fastloss.log_loss_from_logits, "y3", "z3", True),
        (fd.log_loss_from_logits, fastloss.log_loss_from_logits, "y2", "z1", False),
    ]
    for lazy, eager, yk, pk, weighted in cases:
        w = a["w"] if weighted else None
        # different row blocks for each input: fastloss.dask aligns them
        result = lazy(_da(a[yk], rows), _da(a[pk], max(1000, rows // 3)),
                      sample_weight=None if w is None else _da(w, 7_777))
        assert isinstance(result, da.Array) and result.shape == ()
        assert _rel(result.compute(scheduler="threads"), eager(a[yk], a[pk], sample_weight=w)) < RTOL
    s = fd.log_loss(_da(a["y3"], rows), _da(a["p3"], rows), normalize=False, labels=[0, 1, 2])
    assert _rel(s.compute(), fastloss.log_loss(a["y3"], a["p3"], normalize=False)) < RTOL


def test_label_inference_across_blocks(arrays):
    """A class present in one block only is still found; the column count is checked."""
    y = np.zeros(30_000, dtype=np.int64)
    y[:10_000] = 1
    y[-1] = 2
    p = np.random.default_rng(0).dirichlet([1, 1, 1], y.shape[0])
    got = fd.log_loss(_da(y, 10_000), _da(p, 10_000)).compute()
    assert _rel(got, fastloss.log_loss(y, p)) < RTOL
    with pytest.raises(ValueError, match="different number of classes"):
        fd.log_loss(_da(y[:20_000], 10_000), _da(p[:20_000], 10_000)).compute()
    with pytest.raises(ValueError, match="not belonging to the passed labels"):
        fd.log_loss(_da(y, 10_000), _da(p, 10_000), labels=[0, 1, 5]).compute()
    bad = p.copy()
    bad[25_000, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN \(rows 20000-29999\)"):
        fd.log_loss(_da(y, 10_000), _da(bad, 10_000)).compute()


def test_dataframe_columns(arrays):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    a = arrays
    frame = pd.DataFrame({"y": a["y3"], "p0": a["p3"][:, 0], "p1": a["p3"][:, 1],
                          "p2": a["p3"][:, 2], "w": a["w"]})
    ddf = dd.from_pandas(frame, npartitions=7)
    got = fd.log_loss(ddf["y"], ddf[["p0", "p1", "p2"]], sample_weight=ddf["w"]).compute()
    assert _rel(got, fastloss.log_loss(a["y3"], a["p3"], sample_weight=a["w"])) < RTOL


def test_special_functions(arrays):
    z = arrays["z3"]
    x = _da(z, 10_000).rechunk((10_000, 1))
    for axis in (None, 0, 1, (0, 1)):
        for keepdims in (False, True):
            got = fd.logsumexp(x, axis=axis, keepdims=keepdims).compute()
            exp = fastloss.logsumexp(z, axis=axis, keepdims=keepdims)
            np.testing.assert_allclose(got, exp, rtol=RTOL, atol=0)
    for axis in (None, 0, 1):
        np.testing.assert_allclose(fd.softmax(x, axis=axis).compute(), fastloss.softmax(z, axis=axis),
                                   rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(fd.log_softmax(x, axis=axis).compute(),
                                   fastloss.log_softmax(z, axis=axis), rtol=1e-12)
    for name in ("expit", "sigmoid", "log_expit", "log_sigmoid", "softplus"):
        lazy = getattr(fd, name)(x)
        assert isinstance(lazy, da.Array)
        # blocks and the whole array may be served by different backends in auto mode (Cython
        # for small inputs, Numba for large): they agree to an ulp, not bitwise
        np.testing.assert_allclose(lazy.compute(), getattr(fastloss, name)(z), rtol=1e-15, atol=1e-300)
    f32 = _da(z.astype(np.float32), 30_000)
    assert fd.expit(f32).dtype == np.float32 and fd.expit(f32).compute().dtype == np.float32


def test_catalogue_losses(arrays):
    losses = pytest.importorskip("fastloss.losses")
    catalogue = getattr(losses, "CATALOGUE", None)
    if not catalogue:
        pytest.skip("fastloss.losses has no CATALOGUE yet")
    rng = np.random.default_rng(3)
    checked = 0
    for name, obj in catalogue.items():
        # find inputs the loss accepts: labels in {0, 1} and real-valued raw scores first
        for y, raw in ((arrays["y2"].astype(np.float64), arrays["z1"]),
                       (arrays["y3"], arrays["z3"]),
                       (rng.normal(size=N), rng.normal(size=N)),
                       (rng.random(N) + 0.1, rng.random(N) + 0.1)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exp = obj.loss(y, raw, sample_weight=arrays["w"], reduction="mean")
            except (ValueError, TypeError):
                continue
            if not np.isfinite(exp):
                continue
            got = fd.loss(name, _da(y, 30_000), _da(raw, 30_000),
                          sample_weight=_da(arrays["w"], 30_000)).compute()
            assert _rel(got, exp) < 1e-10, name
            checked += 1
            break
    assert checked > 0


def test_thread_policy_local():
    """Each task runs the kernels single-threaded; the caller's setting comes back after."""
    before = fastloss.get_num_threads()
    x = da.ones(40, chunks=5)
    probe = fd._in_task(lambda b: np.full(1, fastloss.get_num_threads()), fd.task_threads())
    seen = x.map_blocks(probe, chunks=(1,), dtype=np.int64).compute(scheduler="threads")
    assert set(seen.tolist()) == {1}
    assert fastloss.get_num_threads() == before
    assert fd.task_threads(3) == 3
    os.environ["FASTLOSS_DASK_THREADS"] = "2"
    try:
        assert fd.task_threads() == 2
    finally:
        del os.environ["FASTLOSS_DASK_THREADS"]
    with pytest.raises(ValueError):
        fd.task_threads(0)


# ----------------------------------------------------------------------------- distributed
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 5,
                          "distributed.worker.daemon": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None,
                                           worker_dashboard_address=None, silence_logs=40)
        c = distributed.Client(cluster)
        try:
            yield c
        finally:
            c.close()
            cluster.close()


def test_cluster_equals_single_machine(client, arrays):
    a = arrays
    got = fd.log_loss(_da(a["y3"], 10_000), _da(a["p3"], 10_000), sample_weight=_da(a["w"], 10_000))
    exp = fastloss.log_loss(a["y3"], a["p3"], sample_weight=a["w"])
    value = client.compute(got).result(timeout=60)
    assert _rel(value, exp) < RTOL
    # identical to the threaded result: the combination does not depend on where blocks ran
    assert float(value) == float(got.compute(scheduler="threads"))
    got = fd.log_loss_from_logits(_da(a["y3"], 25_000), _da(a["z3"], 25_000))
    assert _rel(client.compute(got).result(timeout=60),
                fastloss.log_loss_from_logits(a["y3"], a["z3"])) < RTOL
    lse = fd.logsumexp(_da(a["z3"], 20_000), axis=0)
    np.testing.assert_allclose(client.compute(lse).result(timeout=60),
                               fastloss.logsumexp(a["z3"], axis=0), rtol=RTOL)
    # the policy on the workers: one kernel thread per (single-threaded) Dask worker
    threads = client.run(lambda: fd._in_task(fastloss.get_num_threads, fd.task_threads())())
    assert set(threads.values()) == {1}


def test_killed_worker_is_retried(client, arrays, tmp_path):
    """A worker process dies while computing a block; Dask reruns the lost tasks elsewhere and
    the answer is still exact."""
    a = arrays
    marker = str(tmp_path / "killed-once")

    def die_once(block, block_info=None):
        if block_info and block_info[None]["chunk-location"][0] == 4 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the nanny restarts the worker; the scheduler reschedules the task
        return block

    p = _da(a["p3"], 10_000).map_blocks(die_once, dtype=np.float64)
    lazy = fd.log_loss(_da(a["y3"], 10_000), p, sample_weight=_da(a["w"], 10_000))
    t0 = time.perf_counter()
    value = client.compute(lazy).result(timeout=50)
    assert os.path.exists(marker), "the worker was never killed"
    assert time.perf_counter() - t0 < 50
    assert _rel(value, fastloss.log_loss(a["y3"], a["p3"], sample_weight=a["w"])) < RTOL
    client.wait_for_workers(2, timeout=30)


# ----------------------------------------------------------------------------- logsumexp(b=, ...)
# Near-cancelling signed sums lose relative precision whatever the summation order (fastloss and
# SciPy differ by up to ~4e-14 on these inputs): an absolute tolerance next to the relative one.
LSE_RTOL, LSE_ATOL = 1e-13, 1e-13
# the threaded scheduler: the module's distributed client (above) may still be the default one
THREADS = {"scheduler": "threads"}


def _lse_data():
    rng = np.random.default_rng(5)
    a = rng.normal(scale=3, size=(600, 7))
    b = rng.normal(size=(600, 7))
    b[rng.random(b.shape) < 0.1] = 0.0  # dropped terms
    a[rng.random(a.shape) < 0.02] = -np.inf
    return a, b


def _check_lse(got, a, b, **kw):
    sp = pytest.importorskip("scipy.special")
    if isinstance(got, tuple):
        lse, sign = dask.compute(*got, **THREADS)
    else:
        lse, sign = got.compute(**THREADS), None
    exp = sp.logsumexp(a, b=b, **kw)
    ours = fastloss.logsumexp(a, b=b, **kw)
    if sign is None:
        exp, ours = (exp, None), (ours, None)
    else:
        np.testing.assert_array_equal(sign, exp[1])
        np.testing.assert_array_equal(sign, ours[1])
    assert np.shape(lse) == np.shape(exp[0])
    assert np.asarray(lse).dtype == np.asarray(ours[0]).dtype
    np.testing.assert_allclose(lse, exp[0], rtol=LSE_RTOL, atol=LSE_ATOL)
    np.testing.assert_allclose(lse, ours[0], rtol=LSE_RTOL, atol=LSE_ATOL)


@pytest.mark.parametrize("chunks", [(600, 7), (97, 3), (50, 7), (600, 1)])
def test_logsumexp_b_matches_scipy(chunks):
    a, b = _lse_data()
    x = da.from_array(a, chunks=chunks)
    bx = da.from_array(b, chunks=(75, 7))  # other chunks than a's: aligned by the reduction
    for axis in (None, 0, 1, (0, 1), -1):
        for kw in (dict(return_sign=True), dict(keepdims=True, return_sign=True), {}):
            _check_lse(fd.logsumexp(x, axis=axis, b=bx, split_every=2, **kw), a, b, axis=axis, **kw)
    # negative sums without return_sign are nan, as in SciPy
    _check_lse(fd.logsumexp(x, axis=1, b=-np.abs(bx)), a, -np.abs(b), axis=1)
    # return_sign without b; a b of zeros (everything dropped: -inf, sign 0)
    _check_lse(fd.logsumexp(x, axis=0, return_sign=True), a, None, axis=0, return_sign=True)
    zeros = np.zeros_like(b)
    _check_lse(fd.logsumexp(x, axis=1, b=zeros, return_sign=True), a, zeros, axis=1, return_sign=True)


def test_logsumexp_b_broadcasts_and_dtypes():
    a, b = _lse_data()
    x = da.from_array(a, chunks=(97, 3))
    row = b[0]
    _check_lse(fd.logsumexp(x, axis=0, b=row, return_sign=True), a, row, axis=0, return_sign=True)
    col = b[:, :1]
    _check_lse(fd.logsumexp(x, axis=None, b=da.from_array(col, chunks=(200, 1))), a, col)
    _check_lse(fd.logsumexp(x, axis=1, b=-2.5, return_sign=True), a, -2.5, axis=1, return_sign=True)
    # b of more dimensions than a: a is broadcast too
    b3 = np.stack([b, -b])
    _check_lse(fd.logsumexp(x, axis=(1, 2), b=b3, return_sign=True), a, b3, axis=(1, 2),
               return_sign=True)
    f32 = a.astype(np.float32)
    got = fd.logsumexp(da.from_array(f32, chunks=(97, 3)), axis=1, b=row.astype(np.float32))
    exp = fastloss.logsumexp(f32, axis=1, b=row.astype(np.float32))
    assert got.dtype == exp.dtype == np.float32
    np.testing.assert_allclose(got.compute(**THREADS), exp, rtol=1e-5)
    # 0-d and empty input, as fastloss gives them
    for got, exp in ((fd.logsumexp(da.asarray(2.0), b=-3.0, return_sign=True),
                      fastloss.logsumexp(2.0, b=-3.0, return_sign=True)),
                     (fd.logsumexp(da.zeros((0, 3)), axis=0, b=1.0, return_sign=True),
                      fastloss.logsumexp(np.zeros((0, 3)), axis=0, b=1.0, return_sign=True))):
        for g, e in zip(dask.compute(*got, **THREADS), exp):
            np.testing.assert_allclose(g, e, rtol=1e-15)


def test_logsumexp_b_special_values():
    """inf, nan and cancelling terms, each row spread over three blocks: as fastloss.logsumexp."""
    inf, nan = np.inf, np.nan
    rows = [  # (a, b) of 6 terms
        ([inf, 1, 2, 0, 1, 0], [1, 1, 1, 1, 1, 1]),          # +inf
        ([inf, 1, 2, 0, 1, 0], [-1, 1, 1, 1, 1, 1]),         # -inf term: inf with sign -1
        ([inf, 1, inf, 0, 1, 0], [1, 1, -1, 1, 1, 1]),       # inf - inf: nan
        ([inf, 1, 2, 0, 1, 0], [0, 1, 1, 1, 1, 1]),          # b == 0 drops the inf
        ([nan, 1, 2, 0, 1, 0], [0, 1, 1, 1, 1, 1]),          # ... and a nan
        ([nan, 1, 2, 0, 1, 0], [1, 1, 1, 1, 1, 1]),          # nan
        ([1, 1, 1, 1, 1, 1], [1, 2, 0.5, -1, -2, -0.5]),     # exact cancellation: -inf, sign 0
        ([1, 0, 2, 1, 0, 2], [1, 1, 1, -1, 1, -1]),          # the max terms cancel across blocks
        ([-inf] * 6, [1, -1, 1, 1, 1, 1]),                   # all -inf
        ([0, -40, -inf, -inf, -inf, -inf], [1, 1, 1, 1, 1, 1]),  # 1 + e^-40
        ([1000, 1000, 999, 0, 0, 0], [1, 1, -1, 0, 0, 0]),   # large, no overflow
        ([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, -inf]),         # an infinite weight
        ([1, 2, 3, 4, 5, 6], [1, nan, 1, 1, 1, 1]),          # a nan weight
    ]
    a = np.array([r[0] for r in rows], dtype=np.float64)
    b = np.array([r[1] for r in rows], dtype=np.float64)
    x, bx = da.from_array(a, chunks=(4, 2)), da.from_array(b, chunks=(4, 2))
    for return_sign in (False, True):
        got = fd.logsumexp(x, axis=1, b=bx, return_sign=return_sign)
        exp = fastloss.logsumexp(a, axis=1, b=b, return_sign=return_sign)
        if return_sign:
            got = dask.compute(*got, **THREADS)
        else:
            got, exp = (got.compute(**THREADS),), (exp,)
        for g, e in zip(got, exp):
            # atol: 1 + e^-40 is 1 to fastloss's in-memory kernel, log1p(e^-40) here and in SciPy
            np.testing.assert_allclose(g, e, rtol=1e-14, atol=1e-17, equal_nan=True)
    sp = pytest.importorskip("scipy.special")
    lse = fd.logsumexp(x, axis=1, b=bx).compute(**THREADS)
    assert lse[9] == sp.logsumexp(a[9], b=b[9]) == pytest.approx(np.exp(-40), rel=1e-15)
