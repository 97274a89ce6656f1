"""Numba loss kernels: the backend's side of the loss contract (fastloss/_catalogue.py). One kernel
per (loss, operation), built by fastloss/_numba/engine.py from the formulas in fastloss/_formulas.py."""
from . import _threads, engine

NAME = "numba"


def compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess, *, serial=False):
    """See fastloss/_numpy/losses.py for the contract."""
    return engine.compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess,
                          1 if serial else _threads["n"])
