"""Loss catalogue workloads: fastloss against scikit-learn's ``_loss`` (n_threads=2) and PyTorch
(CPU, when importable), grouped per workload so that ratios come from one run.

Run: python -m pytest benchmarks/bench_losses.py --benchmark-enable -n 0 --benchmark-group-by=group
(FASTLOSS_BENCH_QUICK=1 for 10x smaller inputs.) fastloss runs with 2 threads.
"""
import os

import numpy as np
import pytest

import fastloss
import fastloss.losses as fl

QUICK = os.environ.get("FASTLOSS_BENCH_QUICK") == "1"
SCALE = 10 if QUICK else 1
THREADS = 2

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


@pytest.fixture(scope="module", autouse=True)
def _threads():
    fastloss.set_num_threads(THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)
    yield


def _run(benchmark, group, label, fn, *args):
    fn(*args)  # warm-up: numba compiles on first call
    benchmark.group = group
    benchmark.extra_info["contender"] = label
    benchmark.pedantic(fn, args=args, rounds=7, iterations=1, warmup_rounds=1)


# ---------------------------------------------------------------- cross_entropy loss_gradient
@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(0)
    n, k = 1_000_000 // SCALE, 10
    return rng.integers(0, k, n), rng.normal(size=(n, k))


CE_GROUP = "cross_entropy loss_gradient 1e6x10 float64"


def test_ce_fastloss(benchmark, multiclass):
    y, z = multiclass
    ce = fl.CATALOGUE["cross_entropy"]
    loss_out, grad_out = np.empty(z.shape[0]), np.empty_like(z)
    _run(benchmark, CE_GROUP, "fastloss", lambda: ce.loss_gradient(y, z, out=(loss_out, grad_out)))


def test_ce_fastloss_mean(benchmark, multiclass):
    y, z = multiclass
    ce = fl.CATALOGUE["cross_entropy"]
    _run(benchmark, CE_GROUP, "fastloss reduction=mean", lambda: ce.loss_gradient(y, z, reduction="mean"))


def test_ce_sklearn(benchmark, multiclass):
    from sklearn._loss.loss import HalfMultinomialLoss

    y, z = multiclass
    ref = HalfMultinomialLoss(n_classes=z.shape[1])
    yf = y.astype(np.float64)
    loss_out, grad_out = np.empty(z.shape[0]), np.empty_like(z)
    _run(benchmark, CE_GROUP, "sklearn n_threads=2",
         lambda: ref.loss_gradient(yf, z, loss_out=loss_out, gradient_out=grad_out, n_threads=THREADS))


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_ce_torch(benchmark, multiclass):
    y, z = multiclass
    yt = torch.from_numpy(y)
    zt = torch.from_numpy(z)

    def fwd_bwd():
        x = zt.detach().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(x, yt, reduction="sum")
        loss.backward()
        return x.grad

    _run(benchmark, CE_GROUP, "torch forward+backward", fwd_bwd)


# ---------------------------------------------------------------- binary cross-entropy loss
@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(1)
    n = 10_000_000 // SCALE
    return rng.integers(0, 2, n).astype(np.float64), rng.normal(size=n)


BCE_GROUP = "binary_cross_entropy loss 1e7 float64"


def test_bce_fastloss_none(benchmark, binary):
    y, r = binary
    bce = fl.CATALOGUE["binary_cross_entropy"]
    out = np.empty_like(r)
    _run(benchmark, BCE_GROUP, "fastloss reduction=none", lambda: bce.loss(y, r, reduction="none", out=out))


def test_bce_fastloss_mean(benchmark, binary):
    y, r = binary
    bce = fl.CATALOGUE["binary_cross_entropy"]
    _run(benchmark, BCE_GROUP, "fastloss reduction=mean", lambda: bce.loss(y, r))


def test_bce_sklearn(benchmark, binary):
    from sklearn._loss.loss import HalfBinomialLoss

    y, r = binary
    ref = HalfBinomialLoss()
    out = np.empty_like(r)
    _run(benchmark, BCE_GROUP, "sklearn n_threads=2",
         lambda: ref.loss(y, r, loss_out=out, n_threads=THREADS))


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_bce_torch(benchmark, binary):
    y, r = binary
    yt, rt = torch.from_numpy(y), torch.from_numpy(r)
    _run(benchmark, BCE_GROUP, "torch",
         lambda: torch.nn.functional.binary_cross_entropy_with_logits(rt, yt, reduction="none"))
