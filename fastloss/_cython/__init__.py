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
import importlib
import os
import sys


def _cpu_has_avx2_fma():
    """NumPy's runtime CPU feature table (the one its own SIMD dispatch uses)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return False
    return bool(features.get("AVX2")) and bool(features.get("FMA3"))


def _variant():
    """'_avx2' (fastmath.h's vectorised exp/log/log1p, -mavx2 -mfma) where the CPU has AVX2+FMA
    and the build made it; '' (baseline build, libm) otherwise or with FASTLOSS_CYTHON_VARIANT=baseline."""
    wanted = os.environ.get("FASTLOSS_CYTHON_VARIANT", "auto").strip().lower()
    if wanted == "baseline" or not _cpu_has_avx2_fma():
        return ""
    if importlib.util.find_spec(__name__ + "._avx2.special") is None:
        return ""
    return "_avx2"


VARIANT = _variant()
_package = __name__ + ("." + VARIANT if VARIANT else "")
try:
    _l = importlib.import_module(_package + ".losses")
    _m = importlib.import_module(_package + ".metrics")
    _s = importlib.import_module(_package + ".special")
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "fastloss._cython: the Cython extensions are not built (%s). Build them with "
        "`pip install -e . --no-build-isolation` or `python setup.py build_ext --inplace`." % exc
    ) from exc

# the kernel family modules of the variant in use (fastloss._backends.family reads this: the
# package attributes named after the submodules are rebound by any import of a baseline submodule)
FAMILIES = {"special": _s, "metrics": _m, "losses": _l}
# expit, log_expit, softplus as NumPy ufuncs (fastloss._api.special exports these when built)
UFUNCS = _s.UFUNCS
# the backend's core kernels (the contract of fastloss/_numpy), from the variant in use
_KERNELS = {
    _m: ("log_loss_binary", "log_loss_dense", "log_loss_labels", "log_loss_logits_binary",
         "log_loss_logits_labels"),
    _s: ("expit", "log_expit", "log_softmax", "logsumexp", "logsumexp_b", "softmax", "softplus"),
}
globals().update({name: getattr(module, name) for module, names in _KERNELS.items() for name in names})

NAME = "cython"
PARALLEL = bool(_s.OPENMP)
_MODULES = (_s, _m, _l)
_threads = {"n": _s.MAX_THREADS, "forked": False}


def _extension_modules():
    """The variant's modules and any other build's that were imported by name (both share one
    libgomp: the thread setting and the fork rule below must reach every module that can run)."""
    extra = [m for name, m in list(sys.modules.items())
             if name.startswith(__name__ + ".") and hasattr(m, "_pool_used") and m not in _MODULES]
    return _MODULES + tuple(extra)


def set_num_threads(n):
    """Use at most ``n`` threads (capped by OpenMP's maximum; 1 when built without OpenMP)."""
    n = max(1, min(int(n), _s.MAX_THREADS))
    _threads["n"] = n
    for module in _extension_modules():
        module._set_threads(n)


def get_num_threads():
    return _threads["n"]


def _after_fork_in_child():
    modules = _extension_modules()
    if any(module._pool_used() for module in modules):
        _threads["forked"] = True
        for module in modules:
            module._force_serial(True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def describe():
    return {
        "openmp": PARALLEL,
        "num_threads": _threads["n"],
        "max_threads": _s.MAX_THREADS,
        "cython_compiled": True,
        "variant": "avx2+fma" if VARIANT else "baseline",
        "math": _s.MATH,
        "serial_after_fork": _threads["forked"],
    }


__all__ = [
    "NAME", "PARALLEL", "set_num_threads", "get_num_threads", "describe",
    "expit", "log_expit", "softplus", "logsumexp", "logsumexp_b", "softmax", "log_softmax",
    "log_loss_labels", "log_loss_binary", "log_loss_dense",
    "log_loss_logits_labels", "log_loss_logits_binary",
]
