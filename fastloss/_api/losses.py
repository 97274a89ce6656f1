"""The loss catalogue's Python side: validation, dtypes, shapes, reductions, ``out=``; one kernel
call per method (kernels: ``_backends.family("losses")``, contract in fastloss/_numpy/losses.py).
The classes are made from the contract (fastloss/_catalogue.py): a loss's name, shape, target,
named parameters and domains are read there, nothing here is per loss.

dtype rule: float32 raw stays float32 (outputs float32, math in float64 inside the kernels); any
other real raw is computed in float64. The kernels read targets in raw's dtype (labels as int64)
and weights as float64 (float32 weights too, in the gradient methods of the Cython elementwise
kernels; the others convert them): a method with n-sized outputs converts them whole, a
reduction (``loss`` with mean/sum, ``sums``) converts them a slice of rows at a time
(``_STAGE_ELEMENTS``), so uint8
labels or float32 targets and weights cost no n-sized wider copy. A nan anywhere in a result
raises ValueError, with the cause found on that slow path only.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, ClassVar, Literal, NamedTuple, NoReturn, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from .. import _backends
from .. import _catalogue
from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from .._typing import FloatArray
from .._validation import as_real_array, check_out

#: the ``out=`` of the two-output methods: a pair of arrays to write into, or None
OutPair = tuple[NDArray[Any], NDArray[Any]]

_REDUCTIONS = ("mean", "sum", "none")
#: the default ``ignore_index`` of the labels losses (PyTorch's)
IGNORE_INDEX = -100
#: a reduction whose targets or weights the kernels cannot read as given converts them this many
#: elements of raw at a time (whole blocks: 4 MiB of scratch at most, for 8-byte labels of 1-D raw)
_STAGE_ELEMENTS = 1 << 19
#: the float dtypes the kernels read (targets of float raw, weights of the log-loss kernels)
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class LossSums(NamedTuple):
    """Mergeable partial sums of a loss over some rows (``Loss.sums``): add the fields of several
    parts with ``math.fsum`` and ``sum_wl / sum_w`` is the mean over all of them."""

    sum_wl: float  #: Σ w_i l_i
    sum_w: float  #: Σ w_i, the mean's denominator (ignore_index rows and class weights applied)
    n: int  #: rows seen


def _param(value: object, name: str, cls: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a real number, got {value!r}")
    value = float(value)
    ok = value == value
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = "-inf" if low is None else repr(low)
        hi = "inf" if high is None else repr(high)
        rng = ("(" if low_open else "[") + f"{lo}, {hi}" + (")" if high_open else "]")
        raise ValueError(f"{cls}: {name} must be in {rng}, got {value!r}")
    return value


class Loss:
    """Base class: one loss of the catalogue. Subclasses set ``name``, ``family``, ``kind`` and
    their parameters; all computation goes through the backend kernels of their family.

    Methods (``raw`` is the model output the loss is defined on):

    - ``loss(y_true, raw, *, sample_weight=None, reduction="mean", out=None)``: "mean" is
      Σ w l / Σ w, "sum" is Σ w l (Python floats); "none" returns the per-sample w_i l_i.
    - ``gradient(y_true, raw, *, sample_weight=None, out=None)``: w_i dl_i/draw_i, raw's shape.
    - ``loss_gradient(y_true, raw, *, sample_weight=None, reduction="none", out=None)``: both in
      one pass; with "mean"/"sum" returns (reduced loss, gradient of that reduced loss).
    - ``gradient_hessian(y_true, raw, *, sample_weight=None, out=None)``: (w g, w h), h the
      diagonal of the hessian; for losses without one (``has_hessian`` False) h = w (ones when
      unweighted), the convention of scikit-learn's and LightGBM's l1/quantile objectives.
    ``out`` is an array (or a pair of arrays for the two-output methods) to write into.
    """

    name: ClassVar[str] = "loss"
    # the contract entry; None only on the bases, every catalogue class has its Spec (_make_class)
    spec: ClassVar[_catalogue.Spec] = None  # type: ignore[assignment]
    class_weight: NDArray[np.float64] | None  #: labels losses only
    ignore_index: int  #: labels losses only
    #: a backend this instance prefers while none is pinned (the booster objectives set "cython":
    #: it shares the host's OpenMP pool and never imports or compiles Numba mid-training)
    _backend: str | None = None
    #: no region of fastloss's OpenMP runtime whatever the size: the host's runtime where one is
    #: registered, else serial loops (the XGBoost objective: see fastloss/_boosting.py)
    _serial: bool = False

    def __init__(self, **params: Any) -> None:
        cls = type(self).__name__
        self._values: dict[str, Any] = {}
        for prm in self.spec.params:
            if prm.kind == "dtype_eps":
                continue
            value = params.pop(prm.name, prm.default)
            if prm.kind == "bool":
                value = bool(value)
            elif not (prm.kind == "optional" and value is None):
                value = _param(value, prm.name, cls, low=prm.low, high=prm.high,
                               low_open=prm.low_open, high_open=prm.high_open)
            self._values[prm.name] = value
        if self.spec.target == "labels":
            self.class_weight = _class_vector(params.pop("class_weight", None), "class_weight", cls)
            ignore_index = params.pop("ignore_index", IGNORE_INDEX)
            if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
                raise TypeError(f"{cls}: ignore_index must be an int, got {ignore_index!r}")
            self.ignore_index = int(ignore_index)
            if self.spec.per_class:
                self._values[self.spec.per_class] = _class_vector(
                    params.pop(self.spec.per_class, None), self.spec.per_class, cls)
        if params:
            raise TypeError(f"{cls}() got unexpected keyword argument(s) {sorted(params)}")

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def has_hessian(self) -> bool:
        return self.spec.has_hessian

    @property
    def shape(self) -> str:
        """"elementwise" (raw (n,)), "paired" (raw (n, 2)) or "rows" (raw (n, K))."""
        return self.spec.shape

    @property
    def target(self) -> str:
        return self.spec.target

    @property
    def raw_columns(self) -> int | None:
        """Number of raw columns (None: any K >= 1; 0: 1-D raw)."""
        return 0 if self.spec.shape == _catalogue.ELEMENTWISE else self.spec.columns

    # ---------------------------------------------------------------- parameters
    def _params(self, dtype: DTypeLike) -> list[float]:
        """The scalar parameters in the contract's order, as the formulas take them."""
        out = []
        for prm in self.spec.params:
            if prm.kind == "dtype_eps":
                out.append(float(np.finfo(dtype).eps))
                continue
            v = self._values[prm.name]
            out.append(-1.0 if v is None else float(v))
        return out

    def _class_weight(self) -> NDArray[np.float64]:
        cw = getattr(self, "class_weight", None)
        return _EMPTY if cw is None else cw

    def _class_factor(self) -> NDArray[np.float64]:
        cf = self._values.get(self.spec.per_class) if self.spec.per_class else None
        return _EMPTY if cf is None else cf

    def get_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self._values.items():
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        if self.spec.target == "labels":
            cw = self.class_weight
            out["class_weight"] = None if cw is None else cw.tolist()
            out["ignore_index"] = self.ignore_index
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))

    # ---------------------------------------------------------------- validation
    def _func(self, method: str) -> str:
        return f"{self.name}.{method}"

    def _coerce(self, y_true: ArrayLike, raw: ArrayLike, sample_weight: ArrayLike | None, func: str
                ) -> tuple[NDArray[Any], FloatArray, NDArray[np.floating[Any]], tuple[int, ...],
                           np.dtype[Any]]:
        r = as_real_array(raw, "raw", func)
        dtype = np.dtype(np.float32) if r.dtype == np.float32 else np.dtype(np.float64)
        shape = r.shape
        if self.raw_columns == 0:
            if not (r.ndim == 1 or (r.ndim == 2 and r.shape[1] == 1)):
                raise ValueError(f"{func}(): raw must have shape (n,) or (n, 1), got {r.shape}")
            work = r.reshape(-1)
        else:
            want = self.raw_columns
            if r.ndim != 2 or (want is not None and r.shape[1] != want) or r.shape[1] < 1:
                cols = "K >= 1" if want is None else str(want)
                raise ValueError(f"{func}(): raw must have shape (n, {cols}), got {r.shape}")
            work = r
        work = np.ascontiguousarray(work, dtype=dtype)
        n = work.shape[0]
        y = self._coerce_y(y_true, work, func)
        w = _coerce_weights(sample_weight, n, func)
        return y, work, w, shape, dtype

    def _coerce_y(self, y_true: ArrayLike, work: FloatArray, func: str) -> NDArray[Any]:
        y = as_real_array(y_true, "y_true", func)
        n = work.shape[0]
        if self.target == "distribution":
            if y.shape != work.shape:
                raise ValueError(
                    f"{func}(): y_true must have raw's shape {work.shape} (target distributions), "
                    f"got {y.shape}"
                )
            return y  # converted to raw's dtype by _call
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"{func}(): y_true must have shape ({n},), got {y.shape}")
        return y

    def _raise_undefined(self, y: NDArray[Any], work: FloatArray, w: NDArray[Any],
                         func: str) -> NoReturn:
        with np.errstate(invalid="ignore"):
            if np.isnan(work).any():
                raise ValueError(f"{func}(): raw contains NaN")
            if self.spec.shape == _catalogue.ROWS and (work == -np.inf).all(axis=1).any():
                raise ValueError(f"{func}(): a row of raw is all -inf; its softmax is undefined")
            if y.dtype.kind == "f" and np.isnan(y).any():
                raise ValueError(f"{func}(): y_true contains NaN")
            msg = self._domain_error(y, work)
            if msg:
                raise ValueError(f"{func}(): {msg}")
        raise ValueError(
            f"{func}(): {self.name} is undefined for some rows (an inf - inf limit in y_true/raw, "
            "or an infinite loss of opposite signs in the sum)"
        )

    # ---------------------------------------------------------------- kernel calls
    def _preferred_backend(self) -> str | None:
        """The backend this loss's calls go to: its own preference (a booster objective's copy
        prefers Cython) unless one is pinned (``set_backend``); None: the auto policy's choice."""
        return self._backend if self._backend and _backends.is_auto() else None

    def _call(self, op: str, y: NDArray[Any], work: FloatArray, w: NDArray[Any],
              scale: float = 1.0, out: FloatArray | None = None, grad: FloatArray | None = None,
              hess: FloatArray | None = None) -> tuple[float, float, int]:
        """One kernel call: (Σ w l, Σ w, nan count in grad/hess)."""
        e1 = np.empty(0, dtype=work.dtype)
        e2 = np.empty((0,) * work.ndim, dtype=work.dtype)
        y_dtype = np.dtype(np.int64) if self.spec.target == "labels" else work.dtype
        # weights: float64; in the gradient methods float32 as they are too (the Cython
        # elementwise gradient loops read them so; the other kernels convert them whole, as
        # here); the loss reductions convert them a slice at a time (_staged)
        w_read = _readable(w, np.dtype(np.float64)) or (
            op in ("gradient", "gradient_hessian") and _readable(w, np.dtype(np.float32)))
        if not (_readable(y, y_dtype) and w_read):
            if op == "loss" and out is None and work.shape[0] > 0:
                return self._staged(y, work, w, y_dtype)
            y = np.ascontiguousarray(y, dtype=y_dtype)
            w = np.ascontiguousarray(w, dtype=np.float64)
        kern = _backends.family("losses", backend=self._preferred_backend(), size=work.size)
        return kern.compute(self.name, op, y, work, w, self._class_weight(), self._class_factor(),
                            getattr(self, "ignore_index", IGNORE_INDEX), self._params(work.dtype),
                            float(scale), e1 if out is None else out, e2 if grad is None else grad,
                            e2 if hess is None else hess, serial=self._serial)

    def _staged(self, y: NDArray[Any], work: FloatArray, w: NDArray[Any], y_dtype: np.dtype[Any]
                ) -> tuple[float, float, int]:
        """The loss sums over slices of whole blocks whose targets and weights are converted
        one slice at a time; the slices' sums are added exactly (math.fsum)."""
        n = work.shape[0]
        block = ROW_BLOCK if work.ndim == 2 else ELEMENT_BLOCK
        rows = max(block, _STAGE_ELEMENTS // (work.size // n) // block * block)
        sums_wl, sums_w, nans = [], [], 0
        for start in range(0, n, rows):
            part = slice(start, start + rows)
            sum_wl, sum_w, n_nan = self._call(
                "loss", np.ascontiguousarray(y[part], dtype=y_dtype), work[part],
                np.ascontiguousarray(w[part], dtype=np.float64) if w.shape[0] else w)
            sums_wl.append(sum_wl)
            sums_w.append(sum_w)
            nans += n_nan
        return exact_sum(sums_wl), exact_sum(sums_w), nans

    def _sum_w(self, y: NDArray[Any], w: NDArray[Any], n: int) -> float:
        return float(n) if w.shape[0] == 0 else float(np.sum(w, dtype=np.float64))

    def _domain_error(self, y: NDArray[Any], work: FloatArray) -> str | None:
        """A message when y_true (or raw) is outside the loss's domain, else None (slow path)."""
        yd, rd = self.spec.y_domain, self.spec.raw_domain
        if rd == "probability" and ((work < 0).any() or (work > 1).any()):
            return "raw must hold probabilities in [0, 1]"
        if yd in _Y_DOMAINS:
            ok, msg = _Y_DOMAINS[yd]
            if not ok(y).all():
                return msg.format(name=self.name)
        return None

    # ---------------------------------------------------------------- public methods
    @overload
    def loss(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
             reduction: Literal["mean", "sum"] = "mean", out: None = None) -> float: ...
    @overload
    def loss(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
             reduction: Literal["none"], out: NDArray[Any] | None = None) -> FloatArray: ...
    @overload
    def loss(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
             reduction: str = "mean", out: NDArray[Any] | None = None) -> float | FloatArray: ...
    def loss(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
             reduction: str = "mean", out: NDArray[Any] | None = None) -> float | FloatArray:
        func = self._func("loss")
        reduction = _check_reduction(reduction, func)
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        n = work.shape[0]
        if reduction == "none":
            target, final = _target_array(out, (n,), dtype, func)
            sum_wl, sum_w, _ = self._call("loss", y, work, w, out=target)
            if sum_wl != sum_wl:
                self._raise_undefined(y, work, w, func)
            return _finish(target, final)
        if out is not None:
            raise ValueError(f"{func}(): out is only used with reduction='none'")
        sums = self._sums(y, work, w, func)
        return _reduce(sums.sum_wl, sums.sum_w, reduction, func)

    def _sums(self, y: NDArray[Any], work: FloatArray, w: NDArray[Any], func: str) -> LossSums:
        sum_wl, sum_w, _ = self._call("loss", y, work, w)
        if sum_wl != sum_wl:
            self._raise_undefined(y, work, w, func)
        return LossSums(float(sum_wl), float(sum_w), int(work.shape[0]))

    def sums(self, y_true: ArrayLike, raw: ArrayLike, *,
             sample_weight: ArrayLike | None = None) -> LossSums:
        """The mergeable partials ``LossSums(sum_wl, sum_w, n)`` of this loss on these rows.

        Validation is that of ``loss`` (same errors); the parts of a split data set add up (with
        ``math.fsum``) to the sums of the whole, which is how ``fastloss score`` and
        ``fastloss.dask`` compute exact means chunk by chunk."""
        func = self._func("sums")
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        return self._sums(y, work, w, func)

    def gradient(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
                 out: NDArray[Any] | None = None) -> FloatArray:
        func = self._func("gradient")
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        target, final = _target_array(out, shape, dtype, func)
        _, _, n_nan = self._call("gradient", y, work, w, grad=target.reshape(work.shape))
        if n_nan:
            self._raise_undefined(y, work, w, func)
        return _finish(target, final)

    @overload
    def loss_gradient(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
                      reduction: Literal["none"] = "none", out: OutPair | None = None
                      ) -> tuple[FloatArray, FloatArray]: ...
    @overload
    def loss_gradient(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
                      reduction: Literal["mean", "sum"], out: OutPair | None = None
                      ) -> tuple[float, FloatArray]: ...
    @overload
    def loss_gradient(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
                      reduction: str = "none", out: OutPair | None = None
                      ) -> tuple[FloatArray | float, FloatArray]: ...
    def loss_gradient(self, y_true: ArrayLike, raw: ArrayLike, *, sample_weight: ArrayLike | None = None,
                      reduction: str = "none", out: OutPair | None = None
                      ) -> tuple[FloatArray | float, FloatArray]:
        func = self._func("loss_gradient")
        reduction = _check_reduction(reduction, func)
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        n = work.shape[0]
        loss_out, grad_out = _pair_out(out, func)
        scale = 1.0
        if reduction == "mean":
            sw = self._sum_w(y, w, n)
            if sw == 0:
                raise ValueError(f"{func}(): the sample weights sum to zero; the mean is undefined")
            scale = 1.0 / sw
        gtarget, gfinal = _target_array(grad_out, shape, dtype, func)
        if reduction == "none":
            ltarget, lfinal = _target_array(loss_out, (n,), dtype, func)
        else:
            if loss_out is not None:
                raise ValueError(f"{func}(): a loss out array is only used with reduction='none'")
            ltarget = lfinal = np.empty(0, dtype=dtype)
        sum_wl, sum_w, _ = self._call("loss_gradient", y, work, w, scale, out=ltarget,
                                      grad=gtarget.reshape(work.shape))
        if sum_wl != sum_wl:
            self._raise_undefined(y, work, w, func)
        grad = _finish(gtarget, gfinal)
        if reduction == "none":
            return _finish(ltarget, lfinal), grad
        return _reduce(sum_wl, sum_w, reduction, func), grad

    def gradient_hessian(self, y_true: ArrayLike, raw: ArrayLike, *,
                         sample_weight: ArrayLike | None = None, out: OutPair | None = None
                         ) -> tuple[FloatArray, FloatArray]:
        func = self._func("gradient_hessian")
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        grad_out, hess_out = _pair_out(out, func)
        gtarget, gfinal = _target_array(grad_out, shape, dtype, func)
        htarget, hfinal = _target_array(hess_out, shape, dtype, func)
        _, _, n_nan = self._call("gradient_hessian", y, work, w, grad=gtarget.reshape(work.shape),
                                 hess=htarget.reshape(work.shape))
        if n_nan:
            self._raise_undefined(y, work, w, func)
        return _finish(gtarget, gfinal), _finish(htarget, hfinal)

    __call__ = loss


# ---------------------------------------------------------------- helpers
def _check_reduction(reduction: object, func: str) -> str:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{func}(): reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _readable(a: NDArray[Any], dtype: np.dtype[Any]) -> bool:
    """The kernels read ``a`` as it is: that dtype, native byte order, C order."""
    return a.dtype == dtype and a.dtype.isnative and a.flags.c_contiguous


def exact_sum(parts: list[float]) -> float:
    """The exactly rounded sum of partial sums (math.fsum); with an infinite part the plain sum,
    which gives the inf or the nan (fsum raises on inf - inf)."""
    return float(math.fsum(parts) if all(map(math.isfinite, parts)) else sum(parts))


def _coerce_weights(sample_weight: ArrayLike | None, n: int, func: str) -> NDArray[np.floating[Any]]:
    """The weights as given where they are float32/float64 (the kernel call converts them), other
    numbers as float64; empty for None."""
    if sample_weight is None:
        return np.empty(0, dtype=np.float64)
    w = as_real_array(sample_weight, "sample_weight", func)
    if w.ndim == 0:
        if not np.isfinite(w):
            raise ValueError(f"{func}(): sample_weight contains NaN or infinity")
        # a read-only broadcast view: converted a slice at a time by the reductions (_staged)
        return np.broadcast_to(np.float64(w), (n,))
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{func}(): sample_weight must have shape ({n},), got {w.shape}")
    if w.dtype not in FLOAT_DTYPES:
        w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError(f"{func}(): sample_weight contains NaN or infinity")
    return w


def _target_array(out: NDArray[Any] | None, shape: tuple[int, ...], dtype: np.dtype[Any], func: str
                  ) -> tuple[NDArray[Any], NDArray[Any]]:
    """(array the kernel writes, array returned): ``out`` itself when the kernel can write into
    it (C-contiguous, exact dtype), else a temporary copied into ``out`` by _finish."""
    if out is None:
        a = np.empty(shape, dtype=dtype)
        return a, a
    check_out(out, shape, dtype, func)
    if out.dtype == dtype and out.flags.c_contiguous and out.dtype.isnative:
        return out, out
    return np.empty(shape, dtype=dtype), out


def _finish(target: NDArray[Any], final: NDArray[Any]) -> NDArray[Any]:
    if final is not target:
        final[...] = target
    return final


def _pair_out(out: object, func: str) -> tuple[NDArray[Any], NDArray[Any]] | tuple[None, None]:
    if out is None:
        return None, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"{func}(): out must be a tuple of two arrays (or None), got {type(out).__name__}")
    return out


def _reduce(sum_wl: float, sum_w: float, reduction: str, func: str) -> float:
    if reduction == "sum":
        return float(sum_wl)
    if sum_w == 0:
        raise ValueError(f"{func}(): the sample weights sum to zero (or there are no samples); "
                         "the mean is undefined")
    return float(sum_wl / sum_w)


# ================================================================ the catalogue's classes
_EMPTY = np.empty(0)

_Y_DOMAINS: dict[str, tuple[Callable[[NDArray[Any]], NDArray[np.bool_]], str]] = {
    "binary": (lambda y: np.isin(y, (0, 1)), "y_true must hold 0/1 labels for {name}"),
    "signed_binary": (lambda y: np.isin(y, (-1, 0, 1)), "y_true must hold labels -1/+1 or 0/1 for {name}"),
    "nonnegative": (lambda y: y >= 0, "y_true must be non-negative for {name}"),
    "open_unit": (lambda y: (y > 0) & (y < 1), "y_true must be in the open interval (0, 1) for {name}"),
    "distribution": (lambda y: y >= 0, "y_true must hold target probabilities >= 0"),
}


def _class_vector(value: ArrayLike | None, name: str, cls: str) -> NDArray[np.float64] | None:
    """A per-class vector (class_weight, or a loss's per-class parameter): finite, >= 0, 1-D."""
    if value is None:
        return None
    v = as_real_array(value, name, cls).astype(np.float64)
    if v.ndim != 1 or not np.isfinite(v).all() or (v < 0).any():
        raise ValueError(f"{cls}: {name} must be a 1-D array of finite weights >= 0")
    return v


class _Labels(Loss):
    """Integer-label losses (target "labels"): label checks, class_weight and ignore_index."""

    def _coerce_y(self, y_true: ArrayLike, work: FloatArray, func: str) -> NDArray[Any]:
        y = as_real_array(y_true, "y_true", func)
        n, k = work.shape
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"{func}(): y_true must have shape ({n},) (integer labels), got {y.shape}")
        if y.dtype.kind in "fc":
            with np.errstate(invalid="ignore"):  # nan / inf: the error below, not a cast warning
                yi = y.astype(np.int64)
            if not np.array_equal(yi, y):
                raise ValueError(f"{func}(): y_true must hold integer class labels")
            y = yi
        elif y.dtype.kind == "b":
            y = y.view(np.uint8)
        # integer labels stay as given (min/max checks below); _call converts them to int64
        for vname in ("class_weight", self.spec.per_class):
            v = self.class_weight if vname == "class_weight" else (
                self._values.get(vname) if vname else None)
            if v is not None and v.shape[0] != k:
                raise ValueError(f"{func}(): {vname} has {v.shape[0]} entries, raw has {k} classes")
        if n:
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= k:
                bad = (y < 0) | (y >= k)
                if (y[bad] != self.ignore_index).any():
                    raise ValueError(
                        f"{func}(): y_true must hold class labels in [0, {k}) or "
                        f"ignore_index={self.ignore_index}; got values in [{lo}, {hi}]"
                    )
        return y

    def _sum_w(self, y: NDArray[Any], w: NDArray[Any], n: int) -> float:
        valid = y != self.ignore_index
        ww = np.ones(n) if w.shape[0] == 0 else w
        if self.class_weight is not None:
            ww = ww * self.class_weight[np.where(valid, y, 0)]
        return float(np.sum(np.where(valid, ww, 0.0)))


def _make_class(spec: _catalogue.Spec) -> type[Loss]:
    names = [p.name for p in spec.params if p.kind != "dtype_eps"]
    if spec.target == "labels":
        names += ["class_weight"] + ([spec.per_class] if spec.per_class else []) + ["ignore_index"]
    doc = spec.doc + ("\n\n    Parameters: " + ", ".join(names) if names else "")
    return type(spec.class_name, (_Labels if spec.target == "labels" else Loss,),
                {"name": spec.name, "spec": spec, "__doc__": doc, "__module__": "fastloss.losses"})


CLASSES = tuple(_make_class(spec) for spec in _catalogue.SPECS)
