"""The parallel driver of every Numba kernel: Python threads over nogil Numba code.

A kernel works on the rows (or fixed blocks) it is given and releases the GIL, so the driver splits
the work into one contiguous range per thread, runs one range on the calling thread and the
others on a small pool, and waits. Why not ``prange``: a parfor costs ~2 s of extra compile per
kernel, while this costs ~20 us per call; and it needs no Numba threading layer, so it is safe
under fork (the pool is dropped in a fork child) and from several Python threads at once.
Reductions keep one partial per fixed block and split only at block boundaries, so the split never
changes a result.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .._constants import SERIAL_MAX_ELEMENTS

_pool = {"executor": None, "workers": 0}
_lock = threading.Lock()


def _executor(workers):
    with _lock:
        if _pool["executor"] is None or _pool["workers"] < workers:
            if _pool["executor"] is not None:
                _pool["executor"].shutdown(wait=False)
            _pool["executor"] = ThreadPoolExecutor(workers, thread_name_prefix="fastloss")
            _pool["workers"] = workers
        return _pool["executor"]


def _after_fork_in_child():
    _pool["executor"] = None  # its threads do not exist in the child
    _pool["workers"] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def ranges(n_units, size, threads):
    """[0, n_units) as one contiguous (lo, hi) range per thread; one range for small inputs
    (size <= SERIAL_MAX_ELEMENTS elements: waking threads costs more than the work)."""
    t = max(1, min(threads, n_units)) if size > SERIAL_MAX_ELEMENTS else 1
    return [(n_units * j // t, n_units * (j + 1) // t) for j in range(t)]


def run(fn, arg_sets):
    """fn(*args) for every args of arg_sets: the first on the calling thread, the others on the
    pool; returns when all are done (the first error is raised after all have finished)."""
    if len(arg_sets) == 1:
        fn(*arg_sets[0])
        return
    ex = _executor(len(arg_sets) - 1)
    futures = [ex.submit(fn, *args) for args in arg_sets[1:]]
    try:
        fn(*arg_sets[0])
    finally:
        for f in futures:
            f.result()
