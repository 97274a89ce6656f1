"""scipy.special drop-ins: expit, log_expit, softplus, logsumexp, softmax, log_softmax.

Signatures, defaults and dtype rules follow scipy.special (and np.logaddexp(0, x) for softplus).
float32 and float64 run on the compiled kernels; other inputs are cast to the result dtype the
reference gives, computed on a float64 (or float32) kernel, and cast back. longdouble input uses
the NumPy backend so it keeps its precision.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Callable, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _backends
from .._constants import ELEMENT_BLOCK, SERIAL_MAX_ELEMENTS
from .._typing import FloatArray, FloatResult
from .._numpy import complex_special
from .._validation import as_real_array, check_out, kernel_input, normalize_axes

#: a reduction's ``axis``: one axis, several, or all of them (None)
Axis = int | Sequence[int] | None

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_LONG = np.dtype(np.longdouble)


# ------------------------------------------------------------------ dtype rules
def _special_ufunc_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """scipy.special.expit/log_expit loops are f->f, d->d, g->g; everything else goes to d."""
    if dtype in (_F32, _F64) or dtype == _LONG:
        return np.dtype(dtype.type)
    return _F64


@functools.lru_cache(maxsize=64)
def _logaddexp_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Result dtype of np.logaddexp(0, x) (e.g. int8 -> float16, int32 -> float64)."""
    return np.logaddexp(0, np.zeros(1, dtype)).dtype


@functools.lru_cache(maxsize=64)
def _exp_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Result dtype of np.exp(x) (scipy's softmax dtype rule; bool is refused before)."""
    return np.exp(np.zeros(1, dtype)).dtype


def _floating_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """scipy's force_floating promotion: real floats stay, anything else becomes float64."""
    return np.dtype(dtype.type) if dtype.kind == "f" else _F64


def _kernel_dtype(result_dtype: np.dtype[Any]) -> tuple[str | None, np.dtype[Any]]:
    """(backend override or None, dtype the kernel computes in) for a result dtype."""
    if result_dtype in (_F32, _F64):
        return None, np.dtype(result_dtype.type)
    if result_dtype == _LONG and _LONG != _F64:
        return "numpy", np.dtype(result_dtype.type)
    return None, _F32 if result_dtype.itemsize < 4 else _F64


def _module(override: str | None, size: int) -> ModuleType:
    return _backends.load(override) if override else _backends.kernels(size)


def _scalar_or_array(res: NDArray[Any]) -> Any:
    return res[()] if res.ndim == 0 else res


# ------------------------------------------------------------------ elementwise
def _elementwise(kernel_name: str, func: str, x: ArrayLike, out: NDArray[Any] | None,
                 result_dtype_of: Callable[[np.dtype[Any]], np.dtype[Any]]) -> Any:
    arr = as_real_array(x, "x", func)
    result_dtype = result_dtype_of(arr.dtype)
    override, work = _kernel_dtype(result_dtype)
    if out is not None:
        check_out(out, arr.shape, result_dtype, func)
    src = kernel_input(arr, work).reshape(-1)
    direct = (
        out is not None
        and out.dtype == work
        and out.flags.c_contiguous
        and out.dtype.isnative
        # writing in place is safe only if out is exactly the input or does not overlap it
        and (not np.shares_memory(out, src) or out.ctypes.data == src.ctypes.data)
    )
    dst = out.reshape(-1) if direct and out is not None else np.empty(src.shape[0], dtype=work)
    getattr(_module(override, src.shape[0]), kernel_name)(src, dst)
    if direct:
        return out
    res = dst.reshape(arr.shape)
    if out is not None:
        np.copyto(out, res, casting="same_kind")
        return out
    if res.dtype != result_dtype:
        res = res.astype(result_dtype)
    return _scalar_or_array(res)


def expit_function(x: ArrayLike, out: NDArray[Any] | None = None) -> FloatResult:
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise; drop-in for scipy.special.expit."""
    return _elementwise("expit", "expit", x, out, _special_ufunc_dtype)


def log_expit_function(x: ArrayLike, out: NDArray[Any] | None = None) -> FloatResult:
    """log(expit(x)) = -softplus(-x), elementwise; drop-in for scipy.special.log_expit."""
    return _elementwise("log_expit", "log_expit", x, out, _special_ufunc_dtype)


def softplus_function(x: ArrayLike, out: NDArray[Any] | None = None) -> FloatResult:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); equals np.logaddexp(0, x)."""
    return _elementwise("softplus", "softplus", x, out, _logaddexp_dtype)


def _ufuncs() -> dict[str, np.ufunc]:
    """The Cython backend's ufuncs (expit, log_expit, softplus), or {} in a build without it.
    Loaded through the backend registry, so set_num_threads/thread_limit reach their loops."""
    if "cython" not in _backends.available_backends():
        return {}
    try:
        return dict(_backends.load("cython").UFUNCS)
    except (ImportError, AttributeError):  # pragma: no cover - a broken build
        return {}


# Real NumPy ufuncs where the Cython backend is built (NumPy's casting, broadcasting, out=,
# where=, dtype=, __array_ufunc__; the backend setting does not apply to them); else the
# functions above, which dispatch to the active backend.
_UFUNCS = _ufuncs()
ElementwiseFunction = np.ufunc | Callable[..., FloatResult]
expit: ElementwiseFunction = _UFUNCS.get("expit", expit_function)
log_expit: ElementwiseFunction = _UFUNCS.get("log_expit", log_expit_function)
softplus: ElementwiseFunction = _UFUNCS.get("softplus", softplus_function)
sigmoid = expit
log_sigmoid = log_expit


# ------------------------------------------------------------------ reductions
class _Layout:
    """``arr`` seen as C-contiguous (m, k, r), reducing over ``axes`` (k = their product).

    A copy is made only when the reduced axes are not one contiguous run of a C- (or F-)
    ordered array, or the dtype/byte order differs. ``reduced(res2)`` maps an (m, r) result back
    to the kept axes in their original order; ``full(res3)`` maps an (m, k, r) result back to
    ``arr``'s shape.
    """

    def __init__(self, arr: NDArray[Any], axes: tuple[int, ...], work: np.dtype[Any]) -> None:
        ndim = arr.ndim
        run = axes == tuple(range(axes[0], axes[-1] + 1))
        self.perm: str | list[int] | None = None
        if arr.flags.f_contiguous and not arr.flags.c_contiguous and run:
            # the transpose of a Fortran array is C-ordered: reduce the mirrored axes there
            arr = arr.T
            axes = tuple(sorted(ndim - 1 - a for a in axes))
            self.perm = "T"
        elif not run:
            kept_axes = [a for a in range(ndim) if a not in axes]
            self.perm = kept_axes + list(axes)
            arr = np.transpose(arr, self.perm)
            axes = tuple(range(len(kept_axes), ndim))
        self.shape = shape = arr.shape
        lo, hi = axes[0], axes[-1] + 1
        self.kept = shape[:lo] + shape[hi:]
        self.x3 = kernel_input(arr, work).reshape(
            math.prod(shape[:lo]), math.prod(shape[lo:hi]), math.prod(shape[hi:]))

    def reduced(self, res2: NDArray[Any]) -> NDArray[Any]:
        res = res2.reshape(self.kept)
        return res.T if self.perm == "T" else res

    def full(self, res3: NDArray[Any]) -> NDArray[Any]:
        res = res3.reshape(self.shape)
        if self.perm == "T":
            return res.T
        return res if self.perm is None else np.transpose(res, np.argsort(self.perm))


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if a in axes else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in axes)


def _lse_1d_parallel(kern: ModuleType, x3: NDArray[Any], work: np.dtype[Any]) -> NDArray[Any]:
    """logsumexp of one long row: logsumexp of per-block logsumexps, so the blocks run in
    parallel (the result equals the one-pass value to a few ulp; nan/inf propagate the same)."""
    flat = x3.reshape(-1)
    q = flat.shape[0] // ELEMENT_BLOCK
    head = flat[: q * ELEMENT_BLOCK].reshape(q, ELEMENT_BLOCK, 1)
    parts = np.empty((q + 1, 1), dtype=np.float64)
    part_head = np.empty((q, 1), dtype=work)
    kern.logsumexp(head, part_head)
    parts[:q] = part_head
    tail = flat[q * ELEMENT_BLOCK:]
    part_tail = np.empty((1, 1), dtype=work)
    kern.logsumexp(tail.reshape(1, -1, 1), part_tail)
    parts[q] = part_tail[0]
    res = np.empty((1, 1), dtype=np.float64)
    kern.logsumexp(parts.reshape(1, q + 1, 1), res)
    return res.astype(work)


@overload
def logsumexp(a: ArrayLike, axis: Axis = None, b: ArrayLike | None = None, keepdims: bool = False,
              return_sign: Literal[False] = False) -> FloatResult: ...
@overload
def logsumexp(a: ArrayLike, axis: Axis, b: ArrayLike | None, keepdims: bool,
              return_sign: Literal[True]) -> tuple[FloatResult, FloatResult]: ...
@overload
def logsumexp(a: ArrayLike, axis: Axis = None, b: ArrayLike | None = None, keepdims: bool = False,
              *, return_sign: Literal[True]) -> tuple[FloatResult, FloatResult]: ...
@overload
def logsumexp(a: ArrayLike, axis: Axis = None, b: ArrayLike | None = None, keepdims: bool = False,
              return_sign: bool = False) -> FloatResult | tuple[FloatResult, FloatResult]: ...
def logsumexp(a: ArrayLike, axis: Axis = None, b: ArrayLike | None = None, keepdims: bool = False,
              return_sign: bool = False) -> FloatResult | tuple[FloatResult, FloatResult]:
    """log(sum(b * exp(a))) over ``axis``; drop-in for scipy.special.logsumexp.

    Accurate when one term dominates (the maximal terms are kept out of the sum), -inf for
    empty input or all -inf, +inf if any term is +inf, nan if any is nan. With ``b``, terms
    with b == 0 are dropped; a negative sum gives nan unless ``return_sign=True``.
    """
    if b is None and not keepdims and not return_sign:
        small = _small_rowwise(0, a, axis)
        if small is not None:  # the common tiny call: none of the general bookkeeping
            return small
    func = "logsumexp"
    if _complex(a) or _complex(b):
        return complex_special.logsumexp(a, axis=axis, b=b, keepdims=keepdims,
                                         return_sign=return_sign)
    arr = as_real_array(a, "a", func)
    if b is not None:
        b_arr = as_real_array(b, "b", func)
        weak_b = b if isinstance(b, (int, float)) and not isinstance(b, bool) else b_arr
        result_dtype = _floating_dtype(np.result_type(arr, weak_b))
        arr, b_arr = np.broadcast_arrays(arr, b_arr)
    else:
        result_dtype = _floating_dtype(arr.dtype)
    if arr.ndim == 0:
        arr = arr.reshape(1)
        if b is not None:
            b_arr = b_arr.reshape(1)
    axes = normalize_axes(axis, arr.ndim, func)
    out_shape = _reduced_shape(arr.shape, axes, keepdims)
    override, work = _kernel_dtype(result_dtype)
    kern = _module(override, arr.size)

    if arr.size == 0:
        res = np.full(out_shape, -np.inf, dtype=result_dtype)
        sign = np.sign(res)  # scipy reports sign(-inf) = -1 for empty input
        return (_scalar_or_array(res), _scalar_or_array(sign)) if return_sign else _scalar_or_array(res)

    layout = _Layout(arr, axes, work)
    x3 = layout.x3
    restore = layout.reduced
    if b is None:
        m, k, r = x3.shape
        if m * r == 1 and k > SERIAL_MAX_ELEMENTS and kern.PARALLEL:
            res2 = _lse_1d_parallel(kern, x3, work)
        else:
            res2 = np.empty((m, r), dtype=work)
            kern.logsumexp(x3, res2)
        res = restore(res2).reshape(out_shape)
        if return_sign:
            sign = np.where(res == -np.inf, 0.0, np.where(np.isnan(res), np.nan, 1.0))
            return _scalar_or_array(res.astype(result_dtype, copy=False)), _scalar_or_array(
                sign.astype(result_dtype))
        return _scalar_or_array(res.astype(result_dtype, copy=False))

    b3 = _Layout(b_arr, axes, work).x3
    m, k, r = x3.shape
    res2 = np.empty((m, r), dtype=work)
    sign2 = np.empty((m, r), dtype=work)
    kern.logsumexp_b(x3, b3, res2, sign2)
    res = restore(res2).reshape(out_shape).astype(result_dtype, copy=False)
    sign = restore(sign2).reshape(out_shape).astype(result_dtype, copy=False)
    if return_sign:
        return _scalar_or_array(res), _scalar_or_array(sign)
    res = np.where(sign < 0, np.nan, res).astype(result_dtype, copy=False)
    return _scalar_or_array(res)


def _complex(x: object) -> bool:
    """Complex input: served by the NumPy code that follows SciPy (the kernels are real-only)."""
    if x is None or isinstance(x, (bool, int, float)):
        return False
    return np.asarray(x).dtype.kind == "c"


def _small_rowwise(op: int, a: Any, axis: Axis) -> Any:
    """logsumexp (op 0) / softmax (1) / log_softmax (2) of a small plain 1-D or 2-D array along
    one axis through the Cython backend's C entry point (``special.small_rowwise``), when that
    backend serves small inputs; None: the general path."""
    entry = _backends.small_call_entry("special", "small_rowwise")
    return None if entry is None else entry(op, a, axis)


def _softmax_like(kernel_name: str, func: str, x: ArrayLike, axis: Axis) -> FloatResult:
    small: FloatResult | None = _small_rowwise(1 if kernel_name == "softmax" else 2, x, axis)
    if small is not None:  # the common tiny call
        return small
    if _complex(x):
        result: FloatResult = getattr(complex_special, kernel_name)(x, axis=axis)
        return result
    arr = as_real_array(x, "x", func)
    if arr.dtype.kind == "b":
        raise TypeError(f"{func}(): x must be numeric, got boolean (scipy.special.{func} "
                        "does not support it either)")
    result_dtype = _exp_dtype(arr.dtype)
    was_0d = arr.ndim == 0
    if was_0d:
        arr = arr.reshape(1)
    axes = normalize_axes(axis, arr.ndim, func)
    if any(arr.shape[a] == 0 for a in axes):  # scipy fails in np.max the same way
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    override, work = _kernel_dtype(result_dtype)
    if arr.size == 0:
        return np.empty(arr.shape, dtype=result_dtype)
    kern = _module(override, arr.size)
    layout = _Layout(arr, axes, work)
    out3 = np.empty(layout.x3.shape, dtype=work)
    getattr(kern, kernel_name)(layout.x3, out3)
    res = layout.full(out3)
    res = res.astype(result_dtype, copy=False)
    return res.reshape(())[()] if was_0d else res


def softmax(x: ArrayLike, axis: Axis = None) -> FloatResult:
    """exp(x) / sum(exp(x)) over ``axis``; drop-in for scipy.special.softmax."""
    return _softmax_like("softmax", "softmax", x, axis)


def log_softmax(x: ArrayLike, axis: Axis = None) -> FloatResult:
    """x - logsumexp(x) over ``axis``; drop-in for scipy.special.log_softmax."""
    return _softmax_like("log_softmax", "log_softmax", x, axis)
