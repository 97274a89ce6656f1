"""Cython backend: the kernels of fastloss/_cython/special.pyx, metrics.pyx and losses.pyx
(generated from losses.pyx.tp and fastloss/_formulas.py), compiled by setup.py (with OpenMP when the compiler has it). Same kernel names, signatures and numerics as
``fastloss._numba`` (fastloss/_numpy is the reference contract).

Each kernel picks per call between a serial loop (inputs of at most SERIAL_MAX_ELEMENTS elements,
one thread, or a fork child -- see below) and an OpenMP ``prange`` over fixed blocks; both walk
the same blocks and combine their partials in block order, so the choice never changes a result.

GNU OpenMP (libgomp) is not fork-safe: a child forked after the parent ran a parallel region
hangs in its first one. A child forked after any kernel of this backend ran in parallel therefore
uses the serial loops (same results).
"""
import os

try:
    from . import losses as _l
    from . import metrics as _m
    from . import special as _s
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "fastloss._cython: the Cython extensions are not built (%s). Build them with "
        "`pip install -e . --no-build-isolation` or `python setup.py build_ext --inplace`." % exc
    ) from exc

from .metrics import (  # noqa: E402
    log_loss_binary,
    log_loss_dense,
    log_loss_labels,
    log_loss_logits_binary,
    log_loss_logits_labels,
)
from .special import (  # noqa: E402
    expit,
    log_expit,
    log_softmax,
    logsumexp,
    logsumexp_b,
    softmax,
    softplus,
)

NAME = "cython"
PARALLEL = bool(_s.OPENMP)
_MODULES = (_s, _m, _l)
_threads = {"n": _s.MAX_THREADS, "forked": False}


def set_num_threads(n):
    """Use at most ``n`` threads (capped by OpenMP's maximum; 1 when built without OpenMP)."""
    n = max(1, min(int(n), _s.MAX_THREADS))
    _threads["n"] = n
    for module in _MODULES:
        module._set_threads(n)


def get_num_threads():
    return _threads["n"]


def _after_fork_in_child():
    if any(module._pool_used() for module in _MODULES):
        _threads["forked"] = True
        for module in _MODULES:
            module._force_serial(True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def describe():
    return {
        "openmp": PARALLEL,
        "num_threads": _threads["n"],
        "max_threads": _s.MAX_THREADS,
        "cython_compiled": True,
        "serial_after_fork": _threads["forked"],
    }


__all__ = [
    "NAME", "PARALLEL", "set_num_threads", "get_num_threads", "describe",
    "expit", "log_expit", "softplus", "logsumexp", "logsumexp_b", "softmax", "log_softmax",
    "log_loss_labels", "log_loss_binary", "log_loss_dense",
    "log_loss_logits_labels", "log_loss_logits_binary",
]
