"""The Numba loss engine: one compiled kernel per (loss, operation), built from the formulas of
fastloss/_formulas.py and the loops of fastloss/_numba/skeletons.py, compiled lazily for the dtypes
a call brings and cached on disk.

How a kernel is made: the formula functions are copied with ``exp``/``log``/``log1p`` rebound to
the vectorisable fastloss/_numba/_math.py and jitted with ``forceinline`` (LLVM's alwaysinline:
inlined at the LLVM level, which keeps compile time low and lets loops with exp/log vectorise);
a skeleton is copied with its formula names bound to that loss's functions and the operation's
mode, under its own qualified name (``elementwise_loss__huber__<tag>``), so Numba's cache keeps
one entry per kernel. ``<tag>`` is ``_flags.TAG``, a hash of every kernel source (the formulas, the
math, the skeletons, this module, the catalogue): Numba checks only the skeleton's own file for
staleness, the tag makes a changed formula (or compile option) a new cache entry.
No runtime ``kind``: a kernel holds one loss's formulas, which is what keeps compiles in seconds.
"""
import types

import numpy as np
from numba import njit

from .. import _catalogue, _formulas
from .._catalogue import ELEMENTWISE, PAIRED, ROWS
from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from . import _blocks, _math, _tiled, skeletons
from ._types import read_only
from ._flags import JIT, TAG, cached_jit, copy_function as _copy

_INLINE = dict(JIT, forceinline=True)


_OPS = ("loss", "gradient", "hessian", "loss_gradient", "gradient_hessian", "row",
        "loss_from_exp", "loss_gradient_from_exp", "gradient_from_exp", "gradient_hessian_from_exp")
# the functions a skeleton calls (with the loss's parameters as *p, which Numba's IR inliner cannot
# take): compiled on their own, once per process and shared by the loss's kernels, inlined by
# LLVM. Without NRT (``_nrt=False``): a rows formula takes array rows, and with reference counting
# every call kept an atomic incref/decref pair per array even after LLVM inlined it (8 pairs per
# row made CE's per-row part ~90 ns, as long as Cython's whole row). Every other formula (times,
# sigmoid, top_count, ...) is a helper called with plain arguments: inlined in Numba's IR, so it
# costs no compile of its own (each compiled function costs ~0.1-0.3 s on a cold cache, whatever
# its size).
_ENTRIES = {f"{spec.name}_{op}" for spec in _catalogue.SPECS for op in _OPS}


def _jit_formulas(namespace, suffix):
    for name, fn in list(vars(_formulas).items()):
        if isinstance(fn, types.FunctionType) and fn.__module__ == _formulas.__name__:
            options = dict(_INLINE, _nrt=False) if name in _ENTRIES else dict(inline="always")
            namespace[name] = njit(**options)(_copy(fn, namespace, f"{name}__{suffix}"))


# the formulas, jitted once (shared by every kernel)
FORMULAS = dict(vars(_formulas))
FORMULAS.update(exp=_math.exp64, expm1=_math.expm1_64, log=_math.log64, log1p=_math.log1p64,
                log1p_unit=_math.log1p_unit64)
_jit_formulas(FORMULAS, TAG)


@cached_jit(**_INLINE)
def _unused_scalar(*args):
    return 0.0


@cached_jit(**_INLINE)
def _unused_pair(*args):
    return 0.0, 0.0


@cached_jit(**_INLINE)
def _no_fast_tile(*args):
    """The rows skeleton's SOFTMAX_CE_TILE for the losses without softmax_ce_tiles: no row done."""
    return 0, 0.0, 0.0


_unit = FORMULAS["unit_hessian"]


@cached_jit(**_INLINE)
def _unit_hessian(y, r, *p):
    """The convention hessian of losses without one (parameters ignored)."""
    return _unit(y, r)


def _skeleton(spec):
    return spec.shape  # "elementwise", "paired" or "rows"


def _bindings(spec, op):
    """The names a skeleton calls, bound to this loss's formulas (stand-ins where op needs none)."""
    f = FORMULAS
    name = spec.name
    b = {"MODE": _catalogue.MODES[op]}
    if spec.shape == ROWS:
        softmax = spec.uses_logsumexp and (op != "loss" or spec.softmax_in_loss)
        kind = "label" if spec.target == "labels" else "distribution"
        by_row = spec.softmax_ce_tiles  # no tiles but SOFTMAX_CE_TILE's (see skeletons)
        b.update(ROW=f[f"{name}_row"], USES_LOGSUMEXP=spec.uses_logsumexp and not by_row,
                 SOFTMAX=softmax and not by_row, ROW_BY_ROW=by_row, SOFTMAX_BY_ROW=softmax and by_row,
                 WEIGHT=getattr(skeletons, f"{kind}_weight"), TARGET=getattr(skeletons, f"{kind}_target"),
                 SOFTMAX_CE_TILE=_no_fast_tile,  # the kernel's own copy of softmax_ce_tile: kernel()
                 SOFTMAX_CE_ROW_LOSS=skeletons.softmax_ce_row_loss if by_row else skeletons.formula_loss)
        return b
    unused = _unused_pair if spec.shape == PAIRED else _unused_scalar
    b.update(LOSS=unused, GRADIENT=unused, HESSIAN=unused, LOSS_GRADIENT=_unused_pair,
             GRADIENT_HESSIAN=_unused_pair, FUSED=spec.fused and op == "loss_gradient",
             FUSED_HESSIAN=spec.fused_hessian and op == "gradient_hessian",
             FROM_EXP=spec.exp_lanes, EXP_ENOUGH=_unused_scalar,
             LOSS_FROM_EXP=_unused_scalar, LOSS_GRADIENT_FROM_EXP=_unused_pair,
             GRADIENT_FROM_EXP=_unused_scalar, GRADIENT_HESSIAN_FROM_EXP=_unused_pair)
    if spec.exp_lanes:  # the formulas of e = exp(-|r|) (a kernel calls those of its operation)
        b.update(EXP_ENOUGH=f[f"{name}_exp_enough"], LOSS_FROM_EXP=f[f"{name}_loss_from_exp"],
                 LOSS_GRADIENT_FROM_EXP=f[f"{name}_loss_gradient_from_exp"],
                 GRADIENT_FROM_EXP=f[f"{name}_gradient_from_exp"],
                 GRADIENT_HESSIAN_FROM_EXP=f[f"{name}_gradient_hessian_from_exp"])
    if op in ("loss", "loss_gradient"):
        b["LOSS"] = f[f"{name}_loss"]
    if op != "loss":
        b["GRADIENT"] = f[f"{name}_gradient"]
    if op == "gradient_hessian":
        b["HESSIAN"] = f[f"{name}_hessian"] if spec.has_hessian else _unit_hessian
    if b["FUSED"]:
        b["LOSS_GRADIENT"] = f[f"{name}_loss_gradient"]
    if b["FUSED_HESSIAN"]:
        b["GRADIENT_HESSIAN"] = f[f"{name}_gradient_hessian"]
    return b


_KERNELS = {}


def kernel(name, op):
    """The compiled (lazily, per dtype) kernel of one loss and operation."""
    key = (name, op)
    if key not in _KERNELS:
        spec = _catalogue.spec(name)
        suffix = f"{name}__{op}__{TAG}"
        namespace = dict(vars(skeletons))
        namespace.update(_bindings(spec, op))
        for helper in skeletons.KERNEL_HELPERS:  # helpers that call the bound formulas
            namespace[helper.__name__] = njit(inline="always")(
                _copy(helper, namespace, f"{helper.__name__}__{suffix}"))
        if spec.softmax_ce_tiles:
            namespace["SOFTMAX_CE_TILE"] = namespace["softmax_ce_tile"]
        skel = _skeleton(spec)
        # no NRT: the kernels allocate nothing (scratch comes from the caller), so reference counts
        # are pure cost -- the row views and the formula calls kept atomic incref/decref pairs in
        # the row loops (CE gradient, 1e6 x 10 on one core: 162 -> 80-90 ms)
        _KERNELS[key] = njit(**JIT, _nrt=False)(_copy(getattr(skeletons, skel), namespace, f"{skel}__{suffix}"))
    return _KERNELS[key]


def _scratch(shape, dtype=np.float64):
    """An uninitialised array (float64 unless told) with a 64-byte line of padding on each side:
    two threads' scratch never share a cache line (small allocations can be adjacent, and per-row
    writes to a shared line make the threads take turns)."""
    size = int(np.prod(shape))
    pad = 64 // np.dtype(dtype).itemsize
    return np.empty(size + 2 * pad, dtype)[pad:pad + size].reshape(shape)


def compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess, threads):
    """Run one loss operation; returns (Σ w l, Σ w, nan count), partials added in block order."""
    spec = _catalogue.spec(name)
    k = kernel(name, op)
    n = raw.shape[0]
    block = ROW_BLOCK if spec.shape == ROWS else ELEMENT_BLOCK
    n_blocks = max(1, (n + block - 1) // block)
    p = tuple(float(v) for v in params)
    y, raw, w, cw, cf = (read_only(a) for a in (y, raw, w, cw, cf))
    if spec.shape == ROWS:
        args = (y, raw, w, cw, cf, int(ignore), p, float(scale), out, grad, hess)
    else:
        args = (y, raw, w, p, float(scale), out, grad, hess)
    parts = np.zeros((n_blocks, 3))
    arg_sets = [args + (parts, b0, b1) for b0, b1 in _blocks.ranges(n_blocks, raw.size, threads)]
    # each thread's scratch (see the skeletons)
    if spec.shape == ROWS:
        kk = raw.shape[1]
        arg_sets = [a + (_scratch((2, kk, _tiled.TILE)), _scratch((7, _tiled.TILE)), _scratch((5, kk)))
                    for a in arg_sets]
    elif spec.shape == ELEMENTWISE:
        arg_sets = [a + (_scratch((skeletons.CHUNK,)), _scratch((skeletons.CHUNK,), raw.dtype))
                    for a in arg_sets]
    _blocks.run(k, arg_sets)
    return _in_order(parts[:, 0]), _in_order(parts[:, 1]), int(parts[:, 2].sum())


def _in_order(col):
    """Partials added in block order (a plain sequential sum): thread-count independent."""
    total = 0.0
    for v in col.tolist():
        total += v
    return total
