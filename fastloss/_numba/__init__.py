"""Numba backend (primary). Importing this package imports numba and picks the threading layer;
kernels compile lazily, once per dtype signature, into Numba's on-disk cache.

The functions here have the backend contract's signatures (fastloss/_numpy is the reference) and
choose per call between the serial kernel (small inputs, or when parallel use is unsafe) and the
prange kernel. Both walk the same blocks, so the choice never changes a result.
"""
from . import _cache_guard, _threading

CACHE_DIR = _cache_guard.ensure_cache_dir()
_threading.configure()

import numba  # noqa: E402

from .._constants import SERIAL_MAX_ELEMENTS  # noqa: E402
from . import metrics as _m  # noqa: E402
from . import special as _s  # noqa: E402

NAME = "numba"
PARALLEL = True
_threads = {"n": numba.config.NUMBA_NUM_THREADS}


def set_num_threads(n):
    _threads["n"] = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))


def get_num_threads():
    return _threads["n"]


def _run(size, serial, parallel, *args):
    """Call ``parallel(*args)`` on big inputs when it is safe, else ``serial``."""
    n = _threads["n"]
    if size > SERIAL_MAX_ELEMENTS and n > 1:
        with _threading.parallel_section() as ok:
            if ok:
                if numba.get_num_threads() != n:
                    numba.set_num_threads(n)
                return parallel(*args)
    return serial(*args)


def _over_rows(serial_range, parallel):
    """Kernel ``f(x, *outs)`` for a ``*_range(x, *outs, start, stop)`` over x's first axis and
    its prange twin."""

    def serial(x, *outs):
        serial_range(x, *outs, 0, x.shape[0])

    def kernel(x, *outs):
        _run(x.size, serial, parallel, x, *outs)

    return kernel


expit = _over_rows(_s.expit_range, _s.expit_par)
softplus = _over_rows(_s.softplus_range, _s.softplus_par)
log_expit = _over_rows(_s.log_expit_range, _s.log_expit_par)
logsumexp = _over_rows(_s.logsumexp_range, _s.logsumexp_par)
logsumexp_b = _over_rows(_s.logsumexp_b_range, _s.logsumexp_b_par)
softmax = _over_rows(_s.softmax_range, _s.softmax_par)
log_softmax = _over_rows(_s.log_softmax_range, _s.log_softmax_par)


def _probability_tuple(t):
    return float(t[0]), float(t[1]), float(t[2]), float(t[3]), int(t[4]), float(t[5])


def log_loss_labels(p, y, w, eps):
    return _probability_tuple(_run(p.size, _m.labels_serial, _m.labels_par, p, y, w, eps))


def log_loss_binary(p, y, w, eps):
    return _probability_tuple(_run(p.size, _m.binary_serial, _m.binary_par, p, y, w, eps))


def log_loss_dense(p, Y, w, eps):
    return _probability_tuple(_run(p.size, _m.dense_serial, _m.dense_par, p, Y, w, eps))


def log_loss_logits_labels(z, y, w):
    t = _run(z.size, _m.logits_labels_serial, _m.logits_labels_par, z, y, w)
    return float(t[0]), float(t[1]), int(t[4])


def log_loss_logits_binary(z, y, w):
    t = _run(z.size, _m.logits_binary_serial, _m.logits_binary_par, z, y, w)
    return float(t[0]), float(t[1]), int(t[4])


def describe():
    info = {"numba": numba.__version__, "num_threads": _threads["n"], "cache_dir": CACHE_DIR}
    info.update(_threading.describe())
    return info
