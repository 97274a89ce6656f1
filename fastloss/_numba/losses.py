"""Numba loss kernels: the backend's side of the loss contract (fastloss/_catalogue.py). One kernel
per (loss, operation), built by fastloss/_numba/engine.py from the formulas in fastloss/_formulas.py."""
import numpy as np

from . import _threads, engine

NAME = "numba"


def compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess, *, serial=False):
    """See fastloss/_numpy/losses.py for the contract."""
    w = np.ascontiguousarray(w, dtype=np.float64)  # the kernels are compiled for float64 weights
    return engine.compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess,
                          1 if serial else _threads["n"])
