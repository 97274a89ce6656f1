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
