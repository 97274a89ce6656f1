"""The block-parallel driver of the loss kernels: Python threads over nogil Numba code.

A loss kernel computes a range of fixed blocks (fastloss/_numba/skeletons.py) and releases the GIL,
so the driver splits the blocks into one contiguous range per thread, runs one range on the calling
thread and the others on a small pool, and waits. Why not ``prange``: a parfor costs ~2 s of extra
compile per kernel (the loss engine compiles one kernel per loss and operation), while this costs
~20 us per call; and it needs no Numba threading layer, so it is safe under fork (the pool is
dropped in a fork child) and from several Python threads at once. Partials are per block, so the
split never changes a result.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

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


def run(kernel, args, n_blocks, size, threads):
    """``kernel(*args, parts, b0, b1)`` over blocks 0 .. n_blocks; returns parts (n_blocks, 3)."""
    parts = np.zeros((n_blocks, 3))
    t = min(threads, n_blocks) if size > SERIAL_MAX_ELEMENTS else 1
    if t <= 1:
        kernel(*args, parts, 0, n_blocks)
        return parts
    bounds = [n_blocks * j // t for j in range(t + 1)]
    ex = _executor(t - 1)
    futures = [ex.submit(kernel, *args, parts, bounds[j], bounds[j + 1]) for j in range(1, t)]
    try:
        kernel(*args, parts, bounds[0], bounds[1])
    finally:
        for f in futures:
            f.result()
    return parts

