"""Shared fixtures: every test that takes ``backend`` runs once per available backend, and
REFERENCES maps each public function to its independent reference implementation."""
import os

# Two pytest-xdist workers share the two cores. An OpenMP team (the Cython kernels, LightGBM,
# XGBoost) spin-waits at its barriers by default, and with the other core busy (a worker
# compiling a Numba kernel) each barrier waits for a descheduled thread: a 0.1 s LightGBM test
# took 28 s in the suite. Passive waiting changes no result. Set before any OpenMP runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import scipy.special
import sklearn.metrics

import fastloss
import fastloss.losses

# The fork/thread tests below depend on Numba's layer; keep hypothesis quick on 2 cores.
from hypothesis import settings

settings.register_profile("fastloss", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastloss"))

BACKENDS = fastloss.available_backends()

# CI also runs the suite without numba installed (fastloss must then work on Cython alone); the
# files below test the Numba kernels themselves, or compare other backends against them.
if "numba" not in BACKENDS:
    collect_ignore = ["test_fast_math.py", "test_cython_backend.py", "test_cython_losses.py", "test_cache.py"]

REFERENCES = {
    "expit": scipy.special.expit,
    "sigmoid": scipy.special.expit,
    "log_expit": scipy.special.log_expit,
    "log_sigmoid": scipy.special.log_expit,
    "softplus": lambda x: np.logaddexp(0, x),
    "logsumexp": scipy.special.logsumexp,
    "softmax": scipy.special.softmax,
    "log_softmax": scipy.special.log_softmax,
    "log_loss": sklearn.metrics.log_loss,
}


def pytest_report_header(config):
    return f"fastloss backends under test: {', '.join(BACKENDS)}"


_LOSS_NAMES = frozenset(fastloss.losses.CATALOGUE)


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups into the node ids
def pytest_collection_modifyitems(config, items):
    """Tests that compile the same Numba kernels share one xdist worker (``--dist loadgroup``):
    every Numba-backend test of one catalogue loss, and the variants of any other parametrised
    test. Spread one by one, neighbours compiled the same kernel on both workers at once, before
    either had cached it (40 of 252 kernels, 42 s of the suite's cold compile)."""
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is None or item.get_closest_marker("xdist_group") is not None:
            continue
        if spec.params.get("backend", "numba") != "numba":
            continue  # no Numba kernel to share
        loss = next((v for v in spec.params.values() if isinstance(v, str) and v in _LOSS_NAMES), None)
        group = f"loss-{loss}" if loss else f"{item.path.name}::{item.originalname}"
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def _default_threads():
    """After each test, every loaded backend back at its default thread count: some tests set a
    backend's count directly on its module (tests/test_cython_backend.py), and a later test on
    the same xdist worker that compares counts before and after (tests/test_dask.py's thread
    policy) then saw the leftover."""
    yield
    fastloss.set_num_threads(os.cpu_count() or 1)


@pytest.fixture(params=BACKENDS)
def backend(request):
    with fastloss.set_backend(request.param):
        yield request.param


# Values where naive formulas break: infinities, nan, signed zeros, subnormals, overflow points of
# exp in float64 (709.78) and float32 (88.72), and huge magnitudes.
EDGE_VALUES = np.array(
    [
        0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 5e-324, -5e-324, 1e-300, -1e-300, 1e-20, -1e-20,
        20.0, -20.0, 36.0, -36.0, 37.0, -37.0, 88.0, -88.0, 89.0, -104.0, 500.0, -500.0,
        709.0, -709.0, 710.0, -710.0, 745.0, -746.0, 1e4, -1e4, 1e300, -1e300,
        3.4e38, -3.4e38, np.inf, -np.inf, np.nan,
    ]
)


def layouts(base):
    """The same values in the array layouts users pass: yields (name, array)."""
    base = np.asarray(base, dtype=np.float64)
    n = base.size
    yield "contiguous", base.copy()
    yield "list", base.tolist()
    strided = np.empty(2 * n)
    strided[::2] = base
    yield "strided", strided[::2]
    yield "big-endian", base.astype(">f8")
    ro = base.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    if n % 2 == 0:
        yield "fortran", np.asfortranarray(base.reshape(2, n // 2))
