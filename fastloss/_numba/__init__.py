"""Numba backend (primary). Importing this package imports numba and picks the threading layer;
kernels compile lazily, once per dtype signature, into Numba's on-disk cache.

The functions here have the backend contract's signatures (fastloss/_numpy is the reference).
Large inputs are split over Python threads (fastloss/_numba/_blocks.py: the kernels release the
GIL; no prange, so no parfor compile); reductions split at fixed block boundaries and add the
blocks' partials in order, so the split never changes a result.
"""
from . import _cache_guard, _threading

CACHE_DIR = _cache_guard.ensure_cache_dir()
_threading.configure()

import numba  # noqa: E402

import numpy as np  # noqa: E402

from .._constants import ELEMENT_BLOCK, ROW_BLOCK  # noqa: E402
from . import _blocks  # noqa: E402
from ._types import read_only  # noqa: E402
from . import metrics as _m  # noqa: E402
from . import special as _s  # noqa: E402

NAME = "numba"
PARALLEL = True
_threads = {"n": numba.config.NUMBA_NUM_THREADS}


def set_num_threads(n):
    _threads["n"] = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))


def get_num_threads():
    return _threads["n"]


def _over_rows(rows_kernel, inputs=1):
    """Kernel ``f(*arrays)`` over the first axis: each thread gets views of its share of rows;
    the first ``inputs`` arrays are read (handed over read-only), the others written."""

    def kernel(*arrays):
        arrays = [read_only(a) for a in arrays[:inputs]] + list(arrays[inputs:])
        x = arrays[0]
        shares = _blocks.ranges(x.shape[0], x.size, _threads["n"])
        _blocks.run(rows_kernel, [tuple(a[lo:hi] for a in arrays) for lo, hi in shares])

    return kernel


expit = _over_rows(_s.expit_rows)
softplus = _over_rows(_s.softplus_rows)
log_expit = _over_rows(_s.log_expit_rows)
logsumexp = _over_rows(_s.logsumexp_rows)
logsumexp_b = _over_rows(_s.logsumexp_b_rows, inputs=2)
softmax = _over_rows(_s.softmax_rows)
log_softmax = _over_rows(_s.log_softmax_rows)


def _reduce(blocks_kernel, block, x, y, w, eps):
    """Partials of every fixed block of x (whole blocks per thread), combined in block order."""
    x, y, w = read_only(x), read_only(y), read_only(w)
    n = x.shape[0]
    n_blocks = max(1, (n + block - 1) // block)
    parts = np.empty((n_blocks, _m._NPART))
    arg_sets = []
    for b0, b1 in _blocks.ranges(n_blocks, x.size, _threads["n"]):
        lo, hi = b0 * block, min(n, b1 * block)
        arg_sets.append((x[lo:hi], y[lo:hi], w[lo:hi], eps, parts[b0:b1]))
    _blocks.run(blocks_kernel, arg_sets)
    return _m.combine(parts)


def _probability_tuple(t):
    return float(t[0]), float(t[1]), float(t[2]), float(t[3]), int(t[4]), float(t[5])


def log_loss_labels(p, y, w, eps):
    return _probability_tuple(_reduce(_m.labels_blocks, ROW_BLOCK, p, y, w, eps))


def log_loss_binary(p, y, w, eps):
    return _probability_tuple(_reduce(_m.binary_blocks, ELEMENT_BLOCK, p, y, w, eps))


def log_loss_dense(p, Y, w, eps):
    return _probability_tuple(_reduce(_m.dense_blocks, ROW_BLOCK, p, Y, w, eps))


def log_loss_logits_labels(z, y, w):
    short = z.shape[1] <= _m.MAX_TILED_K
    t = _reduce(_m.logits_labels_blocks if short else _m.logits_long_rows_blocks, ROW_BLOCK, z, y, w, 0.0)
    return float(t[0]), float(t[1]), int(t[4])


def log_loss_logits_binary(z, y, w, check_codes=False):
    t = _reduce(_m.logits_binary_blocks, ELEMENT_BLOCK, z, y, w, 0.0)
    if check_codes:  # codes outside {0, 1} (fastloss/_numpy/metrics.py)
        return float(t[0]), float(t[1]), int(t[4]), float(t[5])
    return float(t[0]), float(t[1]), int(t[4])


def describe():
    info = {"numba": numba.__version__, "num_threads": _threads["n"], "cache_dir": CACHE_DIR}
    info.update(_threading.describe())
    return info
