"""Choose Numba's threading layer before any parallel kernel is compiled.

Measured with numba 0.68.1 on Linux: the ``omp`` layer (GNU OpenMP) hangs a forked child that runs
a parallel kernel after its parent did, and the default ``workqueue`` layer aborts the process
when two Python threads run parallel kernels at once. ``tbb`` (PyPI package ``tbb``) handles both,
but pip installs ``libtbb.so.12`` into ``<prefix>/lib``, which is not on the loader path, so Numba
reports it unavailable. We preload it with RTLD_GLOBAL and ask Numba for ``tbb``.

Without tbb we fall back to ``workqueue`` and guard it: a parallel kernel runs only when this
process holds the parallel lock (taken without waiting) and is not a fork child of a process
that already started the pool; otherwise the call runs the serial kernel, which walks the same
blocks in the same order and so returns the identical result.
"""
import ctypes
import glob
import os
import sys
import threading

_state = {"layer": None, "reason": "", "forked": False, "pool_started": False}
_parallel_lock = threading.Lock()


def _tbb_candidates():
    prefixes = {sys.prefix, sys.base_prefix, getattr(sys, "exec_prefix", sys.prefix)}
    for prefix in prefixes:
        yield from sorted(glob.glob(os.path.join(prefix, "lib", "libtbb.so.12*")))
    for path in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if path:
            yield from sorted(glob.glob(os.path.join(path, "libtbb.so.12*")))


def _preload_tbb():
    for path in _tbb_candidates():
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            return path
        except OSError:
            continue
    return None


def configure():
    """Pick the layer once, before numba compiles a parallel function. Returns the layer name."""
    if _state["layer"] is not None:
        return _state["layer"]
    import numba

    requested = os.environ.get("NUMBA_THREADING_LAYER", "").strip().lower()
    if requested and requested not in ("default", "safe", "tbb"):
        _state["layer"] = requested
        _state["reason"] = "NUMBA_THREADING_LAYER=%s set by the user" % requested
        numba.config.THREADING_LAYER = requested
    else:
        path = _preload_tbb()
        try:
            if path is None:
                raise ImportError("libtbb.so.12 not found")
            from numba.np.ufunc import tbbpool  # noqa: F401  (fails if tbb is unusable)

            numba.config.THREADING_LAYER = "tbb"
            _state["layer"] = "tbb"
            _state["reason"] = "tbb preloaded from %s (fork- and thread-safe)" % path
        except ImportError as exc:
            numba.config.THREADING_LAYER = "workqueue"
            _state["layer"] = "workqueue"
            _state["reason"] = (
                "tbb unavailable (%s); workqueue guarded by a lock, serial in fork children" % exc
            )
    return _state["layer"]


def _after_fork_in_child():
    global _parallel_lock
    _parallel_lock = threading.Lock()
    if _state["pool_started"]:
        _state["forked"] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def layer_is_safe():
    return _state["layer"] == "tbb"


class parallel_section:
    """Context manager: ``with parallel_section() as ok:`` -- run the parallel kernel iff ok."""

    __slots__ = ("_held",)

    def __enter__(self):
        self._held = False
        if layer_is_safe():
            _state["pool_started"] = True
            return True
        if _state["forked"]:
            return False
        self._held = _parallel_lock.acquire(blocking=False)
        if self._held:
            _state["pool_started"] = True
        return self._held

    def __exit__(self, *exc):
        if self._held:
            _parallel_lock.release()
        return False


def describe():
    return {"threading_layer": _state["layer"], "threading_layer_reason": _state["reason"]}
