"""Compilation flags shared by every Numba kernel, and the tag that keeps their cache fresh.

``error_model="numpy"`` drops Numba's ZeroDivisionError check, whose branch would stop a loop with a
division from vectorising (x / 0 gives inf or nan, as in NumPy). No fast-math: inf/nan semantics
and the compensated steps of ``_math`` must survive compilation.

Numba's on-disk cache checks only the stamp of the file that defines a kernel, not of the files
whose functions it inlines: a kernel of special.py or metrics.py was loaded from the cache with
the exp and log1p of an older _math.py after that file changed (found on an editable install:
Numba's ``log_loss_from_logits`` ran a replaced log1p, 87 ms where the fresh kernel takes 58 ms).
So every cached function carries ``TAG`` -- a hash of every source a kernel can inline -- in its
qualified name, which names its cache files (``cached_jit``; the loss kernels of engine.py put
it in theirs): any change to those sources compiles afresh instead of loading a stale kernel.
(The cache files of earlier tags stay on disk, unused; deleting the cache directory clears them.)
"""
import hashlib
import os
import types

from numba import njit

JIT = dict(nogil=True, cache=True, error_model="numpy")
PAR = dict(nogil=True, cache=True, error_model="numpy", parallel=True)

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = os.path.dirname(_HERE)


def _sources_tag():
    """A hash of this package's modules, the formulas, the constants and the catalogue (whose
    specs choose what a loss kernel is made of), 10 hex digits."""
    paths = sorted(os.path.join(_HERE, f) for f in os.listdir(_HERE) if f.endswith(".py"))
    paths += [os.path.join(_PACKAGE, name) for name in ("_formulas.py", "_constants.py", "_catalogue.py")]
    h = hashlib.sha256()
    for path in paths:
        h.update(os.path.basename(path).encode())
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:10]


TAG = _sources_tag()


def cached_jit(**options):
    """``njit(**options)`` (with ``cache=True`` among them) for a function whose cache files are
    named after TAG as well as its own name (see the module docstring)."""

    def wrap(fn):
        fn.__qualname__ = f"{fn.__qualname__}__{TAG}"
        return njit(**options)(fn)

    return wrap


def copy_function(fn, namespace, qualname):
    """A copy of ``fn`` whose globals are ``namespace``, named ``qualname`` (which names its
    Numba cache files): one template made into several kernels, each with its own names bound."""
    new = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__)
    new.__qualname__ = qualname
    new.__module__ = fn.__module__
    new.__doc__ = fn.__doc__
    return new
