"""fastloss over Dask: the same reductions on ``dask.array`` inputs (and Dask DataFrame columns),
built from exact mergeable partial sums and returned as lazy Dask objects.

Install with ``pip install 'fastloss[dask]'``.

* ``log_loss``, ``log_loss_from_logits`` and ``loss`` (any loss of ``fastloss.losses.CATALOGUE``)
  score each row block with the kernels (Σ w·l, Σ w and the validation statistics of the block),
  merge the block partials in a fixed tree (blocks in order, ``split_every`` at a time) and finish
  with ``math.fsum`` over the block sums: the value does not depend on the tree shape, on which
  worker ran what, or on retries, and equals the single-machine result to ~1e-15 relative.
  They return a 0-d ``dask.array.Array``; ``.compute()`` gives the float.
* Labels: ``labels=`` given, or inferred lazily as the sorted union of the classes of every block
  (exactly what the in-memory function finds on the whole ``y_true``).
* ``logsumexp`` (a tree reduction of block logsumexps), ``softmax``/``log_softmax`` (blockwise
  along ``axis``; for ``axis=None`` through the global logsumexp), and the elementwise ``expit``,
  ``log_expit``/``log_sigmoid``, ``sigmoid``, ``softplus`` (``map_blocks``).

Threads: Dask already runs one task per worker thread, so by default each task runs the kernels
with **one** thread (``with fastloss.thread_limit(1):`` around the task), whatever the
scheduler: Dask threads x kernel threads = Dask threads, no oversubscription. Override with the
``threads=`` argument of each function or the ``FASTLOSS_DASK_THREADS`` environment variable of
the client process (read when the graph is built, carried in the tasks); a sensible value for
``k`` worker threads on ``c`` cores is ``max(1, c // k)``.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal, TypeVar, cast, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

try:
    import dask
    import dask.array as da
    from dask.delayed import Delayed
except ImportError as exc:  # pragma: no cover - exercised without dask only
    raise ImportError("fastloss.dask needs dask: pip install 'fastloss[dask]'") from exc

import fastloss

from ._api.special import Axis
from ._score.errors import ScoreError
from ._score.labels import chunk_classes, merge_classes, prepare_labels
from ._score.partials import ChunkScorer, get_catalogue_loss

__all__ = [
    "log_loss", "log_loss_from_logits", "loss", "logsumexp", "softmax", "log_softmax",
    "expit", "sigmoid", "log_expit", "log_sigmoid", "softplus", "task_threads",
]

SPLIT_EVERY = 8

_R = TypeVar("_R")


# ---------------------------------------------------------------------------------- thread policy
def task_threads(threads: int | None = None) -> int:
    """Kernel threads per Dask task: ``threads``, else $FASTLOSS_DASK_THREADS, else 1."""
    if threads is None:
        env = os.environ.get("FASTLOSS_DASK_THREADS", "").strip()
        threads = int(env) if env else 1
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return threads


def _in_task(func: Callable[..., _R], threads: int) -> Callable[..., _R]:
    """``func`` run under ``fastloss.thread_limit(threads)``: the body of every task."""

    def run(*args: Any, **kwargs: Any) -> _R:
        with fastloss.thread_limit(threads):
            return func(*args, **kwargs)

    run.__name__ = getattr(func, "__name__", "fastloss_task")
    return run


# ---------------------------------------------------------------------------------- inputs
@overload
def _as_dask(x: Any, name: str, allow_none: Literal[False] = False) -> da.Array: ...
@overload
def _as_dask(x: Any, name: str, allow_none: bool) -> da.Array | None: ...
def _as_dask(x: Any, name: str, allow_none: bool = False) -> da.Array | None:
    if x is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be a dask array, got None")
    if isinstance(x, da.Array):
        return x
    if hasattr(x, "to_dask_array"):  # Dask DataFrame / Series: partition lengths are computed
        return x.to_dask_array(lengths=True)
    return da.asarray(np.asarray(x))


def _align(y: da.Array, p: da.Array, w: da.Array | None) -> tuple[da.Array, da.Array, da.Array | None]:
    """Rechunk so that the row blocks of y, p and w coincide and p/y are whole along axis 1."""
    if p.ndim == 0 or p.ndim > 2:
        raise ValueError(f"Found array with dim {p.ndim}, while dim <= 2 is required.")
    shapes = [a.shape[0] for a in (p, y, w) if a is not None]
    if any(np.isnan(s) for s in shapes):
        raise ValueError("inputs have unknown chunk sizes; call .compute_chunk_sizes() first "
                         "(or pass Dask DataFrame columns, whose lengths are computed for you)")
    if len(set(shapes)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {shapes}")
    if p.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={p.shape}) while a minimum of 1 is required.")
    if p.ndim == 2:
        p = p.rechunk({1: -1})
    rows = p.chunks[0]
    if y.ndim > 2:
        raise ValueError("Multioutput target data is not supported with label binarization")
    y = y.rechunk((rows,) + tuple((s,) for s in y.shape[1:]))
    if w is not None:
        if w.ndim != 1:
            raise ValueError(f"Sample weights must be 1D array or scalar, got {w.ndim}D array.")
        w = w.rechunk((rows,))
    return y, p, w


@overload
def _blocks(a: da.Array) -> list[Delayed]: ...
@overload
def _blocks(a: None) -> None: ...
@overload
def _blocks(a: da.Array | None) -> list[Delayed] | None: ...
def _blocks(a: da.Array | None) -> list[Delayed] | None:
    if a is None:
        return None
    return list(a.to_delayed().reshape(-1))


def _tree(func: Callable[..., Any], items: Sequence[Any], split_every: int = SPLIT_EVERY) -> Any:
    """Combine delayed ``items`` in a fixed tree: consecutive groups of ``split_every``."""
    items = list(items)
    while len(items) > 1:
        items = [dask.delayed(func, pure=True)(*items[i:i + split_every])
                 for i in range(0, len(items), split_every)]
    return items[0]


def _merge_parts(*parts: Any) -> Any:
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p)
    return out


def _merge_class_parts(*parts: Any) -> Any:
    return merge_classes(parts)


def _block_classes(y: ArrayLike, row_start: int) -> Any:
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.reshape(-1)
    return chunk_classes(y, f" (rows {row_start}-{row_start + y.shape[0] - 1})")


def _block_partials(y: ArrayLike, p: ArrayLike, w: ArrayLike | None, row_start: int, classes: Any,
                    config: dict[str, Any]) -> Any:
    y = np.asarray(y)
    p = np.asarray(p)
    scorer = ChunkScorer(classes=classes, **config)
    return scorer.partials(y, p, None if w is None else np.asarray(w), row_start)


def _finish(parts: Any, classes: Any, config: dict[str, Any], weighted: bool,
            normalize: bool) -> np.float64:
    scorer = ChunkScorer(classes=classes, **config)
    value, notes = scorer.finish(parts, weighted, normalize)
    if notes:
        import warnings

        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=2)
    return np.float64(value)


def _reduced_loss(y_true: Any, y_pred: Any, *, logits: bool, loss_name: str, sample_weight: Any,
                  labels: ArrayLike | None, normalize: bool, threads: int | None) -> da.Array:
    threads = task_threads(threads)
    y = _as_dask(y_true, "y_true")
    p = _as_dask(y_pred, "y_pred")
    w = _as_dask(sample_weight, "sample_weight", allow_none=True)
    y, p, w = _align(y, p, w)
    indicator = y.ndim == 2 and y.shape[1] > 1
    config = dict(logits=logits, loss=loss_name, labels_given=labels is not None,
                  pred_dtype=p.dtype, pred_ndim=p.ndim, n_cols=p.shape[1] if p.ndim == 2 else 1,
                  indicator=indicator)
    starts = np.concatenate([[0], np.cumsum(p.chunks[0])[:-1]]).astype(int).tolist()
    yb, pb, wb = _blocks(y), _blocks(p), _blocks(w)
    if loss_name != "log_loss":
        classes = None
    elif indicator:
        if labels is not None:
            raise ValueError("labels= does not apply to a multilabel indicator y_true")
        classes = np.arange(y.shape[1])
    elif labels is not None:
        classes = prepare_labels(labels, y.dtype)
    else:
        classes = _tree(_merge_class_parts,
                        [dask.delayed(_block_classes, pure=True)(b, s) for b, s in zip(yb, starts)])
    if not isinstance(classes, Delayed):
        ChunkScorer(classes=classes, **config)  # raise class-count errors now when we can
    block = _in_task(_block_partials, threads)
    parts = [dask.delayed(block, pure=True)(yb[i], pb[i], None if wb is None else wb[i], starts[i],
                                             classes, config)
             for i in range(len(pb))]
    total = _tree(_in_task(_merge_parts, threads), parts)
    value = dask.delayed(_finish, pure=True)(total, classes, config, w is not None, normalize)
    return da.from_delayed(value, shape=(), dtype=np.float64)


def log_loss(y_true: Any, y_proba: Any, *, normalize: bool = True, sample_weight: Any = None,
             labels: ArrayLike | None = None, threads: int | None = None) -> da.Array:
    """Lazy :func:`fastloss.log_loss` of Dask arrays / DataFrame columns (a 0-d dask array)."""
    return _reduced_loss(y_true, y_proba, logits=False, loss_name="log_loss",
                         sample_weight=sample_weight, labels=labels, normalize=normalize,
                         threads=threads)


def log_loss_from_logits(y_true: Any, logits: Any, *, normalize: bool = True, sample_weight: Any = None,
                         labels: ArrayLike | None = None, threads: int | None = None) -> da.Array:
    """Lazy :func:`fastloss.log_loss_from_logits` of Dask arrays / DataFrame columns."""
    return _reduced_loss(y_true, logits, logits=True, loss_name="log_loss",
                         sample_weight=sample_weight, labels=labels, normalize=normalize,
                         threads=threads)


def loss(name: str, y_true: Any, raw: Any, *, sample_weight: Any = None, reduction: str = "mean",
         threads: int | None = None) -> da.Array:
    """Lazy reduced value of ``fastloss.losses.CATALOGUE[name]``: ``reduction="mean"`` gives
    Σ w·l / Σ w, ``"sum"`` gives Σ w·l (each block is scored with ``reduction="sum"``)."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum' over Dask inputs, got {reduction!r}")
    if name == "log_loss":
        return log_loss(y_true, raw, sample_weight=sample_weight, normalize=reduction == "mean",
                        threads=threads)
    try:
        get_catalogue_loss(name)
    except ScoreError as exc:
        raise ValueError(str(exc)) from None
    return _reduced_loss(y_true, raw, logits=False, loss_name=name, sample_weight=sample_weight,
                         labels=None, normalize=reduction == "mean", threads=threads)


# ---------------------------------------------------------------------------------- special functions
def _result_dtype(func: Callable[..., Any], dtype: DTypeLike) -> np.dtype[Any]:
    return func(np.zeros(1, dtype=dtype)).dtype


def _elementwise(func: Callable[..., Any]) -> Callable[..., da.Array]:
    def wrapper(x: Any, threads: int | None = None) -> da.Array:
        x = _as_dask(x, "x")
        return x.map_blocks(_in_task(func, task_threads(threads)),
                            dtype=_result_dtype(func, x.dtype))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = f"Lazy fastloss.{func.__name__} of a Dask array (block by block)."
    return wrapper


expit = _elementwise(fastloss.expit)
sigmoid = _elementwise(fastloss.sigmoid)
log_expit = _elementwise(fastloss.log_expit)
log_sigmoid = _elementwise(fastloss.log_sigmoid)
softplus = _elementwise(fastloss.softplus)


def _lse_block(x: Any, axis: Axis = None, keepdims: bool = False, computing_meta: bool = False,
               **kwargs: Any) -> Any:
    if computing_meta:
        return x
    return np.asarray(fastloss.logsumexp(x, axis=axis, keepdims=keepdims))


# logsumexp with b= / return_sign=: log|Σ b·e^a| of signed terms cannot be a logsumexp of block
# logsumexps. Each block gives SciPy's decomposition instead, which merges exactly: m (the max of
# a over the terms with b != 0), c (Σ b of the terms at m, taken out of the sum for precision),
# s (Σ b·e^(a-m) of the others) and d (Σ b·e^a, the direct sum for non-finite results). Blocks
# are merged by rescaling to the larger max and finished as log1p(s/c) + log|c| + m with the
# sign of c + s (log|s| + m when c is 0), or as log|d| where a term is inf or nan.
_Parts = dict[str, np.ndarray[Any, Any]]


def _lse_b_chunk(a: Any, b: Any, axis: tuple[int, ...], keepdims: bool = True,
                 computing_meta: bool = False) -> _Parts:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        # terms with b == 0 are dropped whatever a is (as fastloss; SciPy too but for its
        # direct-sum fallback, which gives nan for a lone inf with b == 0)
        a = np.where(b == 0, -np.inf, a)
        m = np.max(a, axis=axis, keepdims=True)
        top = a == m
        shift = np.where(np.isfinite(m), m, 0.0)
        return {
            "m": m,
            "c": np.where(m == -np.inf, 0.0, np.sum(np.where(top, b, 0.0), axis=axis, keepdims=True)),
            "s": np.sum(np.where(top, 0.0, b * np.exp(a - shift)), axis=axis, keepdims=True),
            "d": np.sum(np.where(b == 0, 0.0, b * np.exp(a)), axis=axis, keepdims=True),
        }


def _flat_parts(parts: Any) -> list[_Parts]:
    # dask hands combine/aggregate a (nested, one level per reduced axis) list of chunk outputs
    if isinstance(parts, dict):
        return [parts]
    return [p for item in parts for p in _flat_parts(item)]


def _lse_b_combine(parts: Any, axis: tuple[int, ...] = (), keepdims: bool = True,
                   computing_meta: bool = False) -> _Parts:
    flat = _flat_parts(parts)
    m = flat[0]["m"]
    for p in flat[1:]:
        m = np.maximum(m, p["m"])  # nan propagates
    shift = np.where(np.isfinite(m), m, 0.0)
    c = np.zeros_like(m)
    s = np.zeros_like(m)
    d = np.zeros_like(m)
    with np.errstate(all="ignore"):
        for p in flat:
            same = p["m"] == m
            c = c + np.where(same, p["c"], 0.0)
            s = s + np.where(same, p["s"], (p["c"] + p["s"]) * np.exp(p["m"] - shift))
            d = d + p["d"]
    return {"m": m, "c": c, "s": s, "d": d}


def _lse_b_aggregate(parts: Any, axis: tuple[int, ...] = (), keepdims: bool = False,
                     computing_meta: bool = False, return_sign: bool = False,
                     dtype: Any = np.float64) -> np.ndarray[Any, Any]:
    p = _lse_b_combine(parts)
    m, c, s, d = p["m"], p["c"], p["s"], p["d"]
    with np.errstate(all="ignore"):
        r = np.where(s == 0, s, s / c)
        sign = np.sign(r + 1) * np.sign(c)
        r = np.where(r < -1, -r - 2, r)  # log1p needs r > -1: |1 + r| = 1 + (-r - 2)
        out = np.log1p(r) + np.log(np.abs(c)) + m
        cancelled = (c == 0) & (s != 0)  # the max terms cancel: the others are the sum
        out = np.where(cancelled, np.log(np.abs(s)) + m, out)
        sign = np.where(cancelled, np.sign(s), sign)
        # inf or nan terms (or an overflow): the direct sum; a sum that is exactly 0 stays -inf
        direct = ~np.isfinite(m) | np.isnan(out) | (out == np.inf)
        out = np.where(direct, np.log(np.abs(d)), out)
        sign = np.where(direct, np.sign(d), sign)
        if not return_sign:
            out = np.where(sign < 0, np.nan, out)
    if not keepdims:
        out, sign = np.squeeze(out, axis=axis), np.squeeze(sign, axis=axis)
    if not return_sign:
        return out.astype(dtype)
    packed = np.empty(out.shape, dtype=np.result_type(dtype, np.complex64))
    packed.real, packed.imag = out, sign  # (lse, sign) travel as one complex array
    return packed


@overload
def logsumexp(a: Any, axis: Axis = None, b: Any = None, keepdims: bool = False,
              return_sign: Literal[False] = False, threads: int | None = None,
              split_every: int | None = None) -> da.Array: ...
@overload
def logsumexp(a: Any, axis: Axis, b: Any, keepdims: bool, return_sign: Literal[True],
              threads: int | None = None, split_every: int | None = None) -> tuple[da.Array, da.Array]: ...
@overload
def logsumexp(a: Any, axis: Axis = None, b: Any = None, keepdims: bool = False, *,
              return_sign: Literal[True], threads: int | None = None,
              split_every: int | None = None) -> tuple[da.Array, da.Array]: ...
def logsumexp(a: Any, axis: Axis = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False, threads: int | None = None,
              split_every: int | None = None) -> da.Array | tuple[da.Array, da.Array]:
    """Lazy :func:`fastloss.logsumexp` of a Dask array (SciPy's signature): without ``b`` and
    ``return_sign``, the logsumexp of the blocks' logsumexps, reduced in a tree; with them, a tree
    of exact mergeable block partials (NumPy code, see ``_lse_b_chunk``; ``threads`` applies to
    the kernels of the first). ``b`` (a scalar, NumPy or Dask array) is broadcast against ``a``;
    ``return_sign=True`` gives ``(lse, sign)``. Complex input only without ``b``/``return_sign``."""
    a = _as_dask(a, "a")
    n = task_threads(threads)
    if b is None and not return_sign:
        dtype = np.asarray(fastloss.logsumexp(np.zeros(1, dtype=a.dtype))).dtype
        func = _in_task(_lse_block, n)
        return da.reduction(a, chunk=func, aggregate=func, combine=func, axis=axis, keepdims=keepdims,
                            dtype=dtype, split_every=split_every, concatenate=True)
    b_dtype = np.dtype(np.float64) if b is None else np.result_type(b)
    if a.dtype.kind == "c" or b_dtype.kind == "c":
        raise TypeError("fastloss.dask.logsumexp takes no complex input with b= or return_sign=")
    # the result's dtype, as fastloss (and SciPy) give it: a Python scalar b is weakly typed
    b_probe = b if b is None or np.ndim(b) == 0 and not hasattr(b, "dtype") else np.ones(1, b_dtype)
    dtype = np.asarray(fastloss.logsumexp(np.zeros(1, dtype=a.dtype), b=b_probe)).dtype
    if b is None:
        b = 1.0
    shape = np.broadcast_shapes(a.shape, np.shape(b))
    if 0 in shape:  # nothing to reduce: fastloss's answer on an empty array of that shape
        lse, sign = fastloss.logsumexp(np.zeros(shape, dtype=a.dtype), axis=axis,
                                       b=np.zeros(shape, dtype=b_dtype), keepdims=keepdims,
                                       return_sign=True)
        return (da.asarray(lse), da.asarray(sign)) if return_sign else da.asarray(lse)
    if shape == ():  # as fastloss/SciPy: a 0-d input is reduced as shape (1,)
        shape = (1,)
    if a.shape != shape:
        a = da.broadcast_to(a, shape)
    out_dtype = np.result_type(dtype, np.complex64) if return_sign else dtype
    out_ndim = len(shape) if keepdims else len(shape) - len(_axes(axis, len(shape)))
    # the partials are NumPy code (no kernel threads to limit)
    result = da.reduction(
        a, chunk=_lse_b_chunk, combine=_lse_b_combine,
        aggregate=partial(_lse_b_aggregate, return_sign=return_sign, dtype=dtype), axis=axis,
        keepdims=keepdims, dtype=out_dtype, split_every=split_every, concatenate=False, weights=b,
        meta=np.empty((0,) * out_ndim, dtype=out_dtype))
    if not return_sign:
        return result
    return da.real(result).astype(dtype), da.imag(result).astype(dtype)


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (cast(int, axis),) if np.ndim(axis) == 0 else tuple(cast("Sequence[int]", axis))
    return tuple(int(ax) % ndim for ax in axes)


def _softmax_like(func: Callable[..., Any], x: Any, axis: Axis, threads: int | None,
                  log: bool) -> da.Array:
    x = _as_dask(x, "x")
    n = task_threads(threads)
    dtype = _result_dtype(func, x.dtype)
    axes = _axes(axis, x.ndim)
    if all(len(x.chunks[ax]) == 1 for ax in axes) or axis is not None:
        x = x.rechunk({ax: -1 for ax in axes})
        return x.map_blocks(_in_task(func, n), axis=axis, dtype=dtype)
    # axis=None over several blocks: shift by the global logsumexp
    lse = logsumexp(x, threads=n)
    shift = (lambda blk, l: (blk - l).astype(dtype, copy=False)) if log else \
        (lambda blk, l: np.exp(blk - l).astype(dtype, copy=False))
    return da.map_blocks(_in_task(shift, n), x, lse, dtype=dtype)


def softmax(x: Any, axis: Axis = None, threads: int | None = None) -> da.Array:
    """Lazy :func:`fastloss.softmax`; the ``axis`` dimensions are made one block each."""
    return _softmax_like(fastloss.softmax, x, axis, threads, log=False)


def log_softmax(x: Any, axis: Axis = None, threads: int | None = None) -> da.Array:
    """Lazy :func:`fastloss.log_softmax`; the ``axis`` dimensions are made one block each."""
    return _softmax_like(fastloss.log_softmax, x, axis, threads, log=True)
