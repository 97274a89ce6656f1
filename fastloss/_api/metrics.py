"""log_loss (drop-in for sklearn.metrics.log_loss) and log_loss_from_logits.

The happy path validates and scores in one kernel pass over the probabilities; when something
is wrong the errors are raised in scikit-learn's order (values of y_proba first, then lengths,
sample weights, labels, class counts), computed on the slow path only then.
"""
from __future__ import annotations

import math
import warnings
from types import ModuleType
from typing import Any, Callable, NoReturn, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from .. import _backends
from .._labels import code_view, encode_targets, is_indicator, native_labels
from .._validation import check_bool, kernel_input, require_array_like
from .losses import FLOAT_DTYPES, exact_sum

_PROBA_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16))


def _num_samples(x: Any) -> int:
    if hasattr(x, "shape") and len(getattr(x, "shape")) > 0:
        return int(x.shape[0])
    if hasattr(x, "shape"):
        raise TypeError(f"Singleton array {x!r} cannot be considered a valid collection.")
    return len(x)


def _coerce_scores(y_proba: ArrayLike) -> NDArray[Any]:
    """check_array(y_proba, ensure_2d=False, dtype=float types): structure and dtype only."""
    arr = np.asarray(y_proba)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported\n{arr}\n")
    if arr.dtype not in _PROBA_DTYPES:
        # convert the original object, so strings fail with numpy's message, as in sklearn
        arr = np.asarray(y_proba if not isinstance(y_proba, np.ndarray) else arr, dtype=np.float64)
    if arr.ndim > 2:
        raise ValueError(f"Found array with dim {arr.ndim}, while dim <= 2 is required.")
    if arr.ndim == 0:
        raise ValueError(f"Expected 2D array, got scalar array instead:\narray={arr}.")
    if arr.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    return arr


def _finite_errors(nan: bool | np.bool_, inf: bool | np.bool_, dtype: DTypeLike,
                   name: str = "Input") -> None:
    if nan:
        raise ValueError(f"{name} contains NaN.")
    if inf:
        raise ValueError(f"{name} contains infinity or a value too large for {np.dtype(dtype)!r}.")


def _range_errors(pmin: float, pmax: float) -> None:
    if pmax > 1:
        raise ValueError(f"y_prob contains values greater than 1: {pmax}")
    if pmin < 0:
        raise ValueError(f"y_prob contains values lower than 0: {pmin}")


def _check_proba_values_slow(p: NDArray[Any]) -> None:
    """sklearn's value checks on y_proba, in its order (only run when raising anyway)."""
    with np.errstate(invalid="ignore"):
        _finite_errors(np.isnan(p).any(), np.isinf(p).any(), p.dtype)
        _range_errors(p.min(), p.max())


def _coerce_weights(sample_weight: ArrayLike | None, n: int) -> NDArray[np.floating[Any]]:
    """sklearn's _check_sample_weight(force_float_dtype=False). float32 and float64 weights go to
    the kernels as they are (native byte order, C order); other numbers as float64."""
    if sample_weight is None:
        return np.empty(0, dtype=np.float64)
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}") from None
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. Expected either a "
            f"scalar value or a 1D array of length {n}."
        )
    if w.dtype.kind == "f":
        _finite_errors(np.isnan(w).any(), np.isinf(w).any(), w.dtype, "Input sample_weight")
    if not np.any(w != 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    native = w.dtype.newbyteorder("=")
    return kernel_input(w, native if native in FLOAT_DTYPES else np.dtype(np.float64))


def _check_lengths(*arrays: Any) -> None:
    lengths = [_num_samples(a) for a in arrays if a is not None]
    if len(set(lengths)) > 1:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: %r" % [int(x) for x in lengths]
        )


def _class_count_error(n_found: int, n_cols: int, classes: NDArray[Any], labels: ArrayLike | None) -> NoReturn:
    if labels is None:
        raise ValueError(
            f"y_true and y_prob contain different number of classes: {n_found} vs {n_cols}. "
            "Please provide the true labels explicitly through the labels argument. "
            f"Classes found in y_true: {classes}"
        )
    raise ValueError(
        "The number of classes in labels is different from that in y_prob. "
        f"Classes found in labels: {classes}"
    )


def _one_class_error(classes: NDArray[Any], labels: ArrayLike | None) -> NoReturn:
    if labels is None:
        raise ValueError(
            f"y_true contains only one label ({classes[0]}). Please provide the list of all "
            "expected class labels explicitly through the labels argument."
        )
    raise ValueError(f"The labels array needs to contain at least two labels, got {classes}.")


def _rowsum_tolerance(dtype: DTypeLike) -> float:
    # sklearn: isclose(row_sum, 1, rtol=sqrt(eps), atol=1e-8) with eps of y_proba's dtype
    return 1e-8 + math.sqrt(float(np.finfo(dtype).eps))


def _warn_rowsum() -> None:
    warnings.warn(
        "The y_prob values do not sum to one. Make sure to pass probabilities.",
        UserWarning,
        stacklevel=3,
    )


def _prepare_targets(y_true: ArrayLike, scores: NDArray[Any], sample_weight: ArrayLike | None,
                     labels: ArrayLike | None, on_error: Callable[[], None]
                     ) -> tuple[NDArray[np.floating[Any]], NDArray[Any] | None, NDArray[Any] | None]:
    """Lengths, weights and labels; on any ValueError run ``on_error()`` first (it raises the
    errors sklearn would have raised earlier), then re-raise."""
    try:
        _check_lengths(scores, y_true, sample_weight)
        w = _coerce_weights(sample_weight, scores.shape[0])
        codes, indicator, classes = encode_targets(y_true, labels)
        if classes.shape[0] == 1:
            _one_class_error(classes, labels)
        n_cols = 2 if scores.ndim == 1 or scores.shape[1] == 1 else scores.shape[1]
        if classes.shape[0] != n_cols:
            n_found = max(classes.shape[0], 2)
            _class_count_error(n_found, n_cols, classes, labels)
    except ValueError:
        on_error()
        raise
    return w, codes, indicator


def _reduce(sum_wl: float, sum_w: float, normalize: bool, weighted: bool) -> float:
    if not normalize:
        return float(sum_wl)
    if weighted and sum_w == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(sum_wl / sum_w)


def _small_call() -> Callable[[Any, Any, bool], float | None] | None:
    """``metrics.log_loss_small`` of the Cython backend (plain 1-D labels, C-ordered float
    scores, no weights; it returns None when it does not apply), if that backend serves small
    inputs."""
    return _backends.small_call_entry("metrics", "log_loss_small")


def log_loss(y_true: ArrayLike, y_proba: ArrayLike | None = None, *, normalize: bool = True,
             sample_weight: ArrayLike | None = None, labels: ArrayLike | None = None,
             y_pred: ArrayLike | str = "deprecated") -> float:
    """Log loss (cross-entropy) of predicted probabilities; drop-in for sklearn.metrics.log_loss.

    ``y_proba`` of shape (n,) is the positive-class probability; (n, K) columns follow the
    sorted labels. Probabilities are clipped to [eps, 1 - eps], eps = finfo(dtype).eps.
    Returns the (weighted) mean loss, or the sum when ``normalize=False``. ``y_pred`` is
    scikit-learn 1.9's deprecated name of ``y_proba`` (a FutureWarning, as there).
    """
    if (sample_weight is None and labels is None and normalize is True and type(y_pred) is str
            and y_pred == "deprecated"):
        small = _small_call()
        if small is not None:
            value = small(y_true, y_proba, False)
            if value is not None:
                return value
    func = "log_loss"
    if not (isinstance(y_pred, str) and y_pred == "deprecated"):
        if y_proba is not None:
            raise ValueError("Cannot use both `y_pred` and `y_proba`. `y_pred` is deprecated, "
                             "use `y_proba` instead.")
        warnings.warn("`y_pred` was renamed to `y_proba` in version 1.9 and will be removed "
                      "in 1.11. Use `y_proba` instead.", FutureWarning, stacklevel=2)
        y_proba = y_pred
    require_array_like(y_true, "y_true", func)
    require_array_like(y_proba, "y_proba", func)
    normalize = check_bool(normalize, "normalize", func)
    require_array_like(sample_weight, "sample_weight", func, allow_none=True)
    require_array_like(labels, "labels", func, allow_none=True)

    p = _coerce_scores(cast(ArrayLike, y_proba))  # not None: require_array_like raised

    def p_errors_then_rowsum_warning() -> None:
        _check_proba_values_slow(p)
        if p.ndim == 2 and p.shape[1] > 1:
            if np.abs(p.sum(axis=1, dtype=np.float64) - 1).max() > _rowsum_tolerance(p.dtype):
                _warn_rowsum()

    # float16 is scored in float32 (clipped at float16's eps below); other dtypes as they are
    work_dtype = np.dtype(np.float32) if p.dtype.itemsize == 2 else p.dtype.newbyteorder("=")
    eps = float(np.finfo(p.dtype).eps)
    if labels is None and p.ndim == 1:
        handed = _unchecked_binary_labels(y_true, p, sample_weight)
        if handed is not None:
            unchecked, w_in, both_seen = handed
            work = kernel_input(p, work_dtype)
            stats = _backends.kernels(work.size).log_loss_binary(work, unchecked, w_in, eps)
            if _binary_after_all(unchecked, stats[5], both_seen):
                return _finish_proba(stats, p, normalize, sample_weight is not None, binary=True)
    w, codes, indicator = _prepare_targets(
        y_true, p, sample_weight, labels, p_errors_then_rowsum_warning
    )
    work = kernel_input(p, work_dtype)
    kern = _backends.kernels(work.size)
    if indicator is not None:
        stats = kern.log_loss_dense(work, indicator, w.astype(np.float64, copy=False), eps)
    elif work.ndim == 1 or work.shape[1] == 1:
        stats = kern.log_loss_binary(work.reshape(-1), codes, w, eps)
    else:
        stats = kern.log_loss_labels(work, codes, w, eps)
    return _finish_proba(stats, p, normalize, sample_weight is not None,
                         binary=indicator is None and (work.ndim == 1 or work.shape[1] == 1))


def _finish_proba(stats: tuple[float, float, float, float, int, float], p: NDArray[Any],
                  normalize: bool, weighted: bool, binary: bool) -> float:
    """The probability kernels' statistics checked as scikit-learn checks the probabilities,
    then reduced. (For 1-D binary input the last statistic counts label codes outside {0, 1},
    not a row sum.)"""
    sum_wl, sum_w, pmin, pmax, n_nan, worst = stats
    _finite_errors(n_nan > 0, pmin == -np.inf or pmax == np.inf, p.dtype)
    _range_errors(pmin, pmax)
    if not binary and worst > _rowsum_tolerance(p.dtype):
        _warn_rowsum()
    return _reduce(sum_wl, sum_w, normalize, weighted)


# Labels read at least this many at a time are checked inside the kernel's own pass
# (_unchecked_binary_labels); below it the separate check costs next to nothing.
_FUSED_MIN = 1 << 16


def _unchecked_binary_labels(y_true: ArrayLike, scores: NDArray[Any],
                             sample_weight: ArrayLike | None
                             ) -> tuple[NDArray[Any], NDArray[np.floating[Any]], bool] | None:
    """(codes, weights, both classes seen) for the common large binary call -- integer, bool or
    float32/float64 labels (LightGBM's get_label) in a 1-D NumPy array or a pandas Series of
    such a dtype, 1-D scores, no ``labels=`` -- with the labels unchecked: the binary kernels
    count the codes outside {0, 1} in the pass they make anyway, so the labels are read once
    instead of twice or more (integer labels: a min/max sweep first, 1e7 int64 labels 5.6 ms of
    a 27 ms call; float labels: the integer check, min, max and the codes' encoding, 82 -> 39 ms
    from logits). The caller keeps the kernel's result only where
    ``_binary_after_all`` holds -- exactly when the general path would have found the classes
    {0, 1} and handed the kernel the same codes -- and otherwise takes the general path, which
    raises scikit-learn's errors. None where it does
    not apply, or where the first and last labels already show it would not (no kernel pass to
    throw away)."""
    y = y_true
    if type(y).__module__.partition(".")[0] == "pandas" and isinstance(getattr(y, "dtype", None), np.dtype):
        y = np.asarray(y)  # a Series of a NumPy dtype: its values, not copied (nullable dtypes: no)
    if (not isinstance(y, np.ndarray) or y.ndim != 1
            or not (y.dtype.kind in "biu" or y.dtype.kind == "f" and y.dtype.itemsize in (4, 8))
            or y.shape[0] != scores.shape[0] or y.shape[0] < _FUSED_MIN):
        return None
    if sample_weight is not None and np.asarray(sample_weight).dtype.kind not in "biuf":
        return None  # converted with a warning: only once, by the general path
    # float labels go to the binary kernels as they are: 0. and 1. are the classes (the general
    # path's classes for 0./1. labels), any other value (nan, 0.5, 2.) counts as outside {0, 1}
    codes = native_labels(y) if y.dtype.kind == "f" else code_view(y)
    ends = np.concatenate([codes[:4096], codes[-4096:]])
    zeros, ones = ends == 0, ends == 1
    if not (zeros | ones).all():
        return None  # other labels ({-1, 1}, {1, 2}, ...)
    try:
        _check_lengths(scores, y, sample_weight)  # the kernel reads len(scores) weights
        w = _coerce_weights(sample_weight, scores.shape[0])
    except (TypeError, ValueError):
        return None  # the general path raises it, in scikit-learn's order
    return codes, w, bool(zeros.any() and ones.any())


def _binary_after_all(codes: NDArray[Any], outside: float, both_seen: bool) -> bool:
    """The kernel found no code outside {0, 1} (``outside``, its count) and both classes occur:
    almost always seen at either end already (``both_seen``), else one comparison sweep."""
    return outside == 0 and (both_seen or bool((codes != codes[0]).any()))


def logits_sums(kern: ModuleType, work: NDArray[Any], codes: NDArray[Any] | None, w: NDArray[np.floating[Any]],
                indicator: NDArray[Any] | None) -> tuple[float, float, int]:
    """(Σ w l, Σ w, nan count) of the log loss from logits ``work`` (kernel dtype, C order) with
    label codes, or with ``indicator`` targets (n, K) when codes is None; ``w`` float64 or empty."""
    if indicator is not None:
        # soft / multilabel targets: Σ_k Y_k (logsumexp(z_i) - z_ik); rare, so done row-wise here
        z = work.reshape(work.shape[0], -1)
        lse = np.empty((z.shape[0], 1), dtype=work.dtype)
        kern.logsumexp(z.reshape(z.shape[0], -1, 1), lse)
        with np.errstate(invalid="ignore"):
            per_row = np.sum(np.where(indicator == 0, 0.0, indicator * (lse - z)), axis=1)
        weights = w if w.size else np.ones(z.shape[0])
        return (float(np.sum(np.where(weights == 0, 0.0, weights * per_row))),
                float(np.sum(weights, dtype=np.float64)),
                int(np.isnan(z).sum()))
    if work.ndim == 1 or work.shape[1] == 1:
        return kern.log_loss_logits_binary(work.reshape(-1), codes, w)
    return kern.log_loss_logits_labels(work, codes, w)


def log_loss_from_logits(y_true: ArrayLike, logits: ArrayLike, *, normalize: bool = True,
                         sample_weight: ArrayLike | None = None, labels: ArrayLike | None = None
                         ) -> float:
    """Log loss computed from raw scores, stably and without clipping.

    1-D ``logits`` are the positive-class logit z: loss = softplus(z) - y z. 2-D (n, K) are
    multiclass logits: loss = logsumexp(z_i) - z_i[y_i]. Labels, weights and ``normalize`` as in
    :func:`log_loss`. ±inf logits give the limit (0 or inf); nan raises ValueError.
    """
    if sample_weight is None and labels is None and normalize is True:
        small = _small_call()
        if small is not None:
            value = small(y_true, logits, True)
            if value is not None:
                return value
    func = "log_loss_from_logits"
    require_array_like(y_true, "y_true", func)
    require_array_like(logits, "logits", func)
    normalize = check_bool(normalize, "normalize", func)
    require_array_like(sample_weight, "sample_weight", func, allow_none=True)
    require_array_like(labels, "labels", func, allow_none=True)

    z = _coerce_scores(logits)
    work_dtype = np.float32 if z.dtype == np.float32 else np.float64
    if labels is None and z.ndim == 1:
        handed = _unchecked_binary_labels(y_true, z, sample_weight)
        if handed is not None:
            unchecked, w_in, both_seen = handed
            work = kernel_input(z, np.dtype(work_dtype))
            sum_wl, sum_w, n_nan, outside = _backends.kernels(work.size).log_loss_logits_binary(
                work, unchecked, w_in, check_codes=True)
            if _binary_after_all(unchecked, outside, both_seen):
                return _finish_logits(func, sum_wl, sum_w, n_nan, normalize, sample_weight is not None)
    w, codes, indicator = _prepare_targets(y_true, z, sample_weight, labels, lambda: None)
    work = kernel_input(z, np.dtype(work_dtype))
    kern = _backends.kernels(work.size)
    sum_wl, sum_w, n_nan = logits_sums(kern, work, codes, w, indicator)
    return _finish_logits(func, sum_wl, sum_w, n_nan, normalize, sample_weight is not None)


def _finish_logits(func: str, sum_wl: float, sum_w: float, n_nan: int, normalize: bool,
                   weighted: bool) -> float:
    if n_nan:
        raise ValueError(f"{func}(): logits contains NaN ({n_nan} values)")
    if math.isnan(sum_wl):
        raise ValueError(f"{func}(): a row of logits is all -inf, its loss is undefined")
    return _reduce(sum_wl, sum_w, normalize, weighted)


# ---------------------------------------------------------------- multilabel
def _multilabel_inputs(y_true: ArrayLike, scores: ArrayLike, sample_weight: ArrayLike | None,
                       normalize: bool, func: str, name: str
                       ) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.floating[Any]], bool]:
    """(scores (n, L) as given, 0/1 codes (n, L) of one byte or y's own width, weights, normalize)."""
    require_array_like(y_true, "y_true", func)
    require_array_like(scores, name, func)
    normalize = check_bool(normalize, "normalize", func)
    require_array_like(sample_weight, "sample_weight", func, allow_none=True)
    s = _coerce_scores(scores)
    y = np.asarray(y_true)
    if s.ndim != 2 or y.ndim != 2:
        raise ValueError(f"{func}(): y_true and {name} must be 2-D (n_samples, n_labels) arrays, "
                         f"got shapes {y.shape} and {s.shape}")
    if y.shape != s.shape:
        raise ValueError(f"{func}(): y_true and {name} must have the same shape, got {y.shape} "
                         f"and {s.shape}")
    if not is_indicator(y):
        raise ValueError(f"{func}(): y_true must be a multilabel indicator (0/1 entries)")
    _check_lengths(s, y, sample_weight)
    w = _coerce_weights(sample_weight, s.shape[0])
    # 0/1 codes read by the binary kernels: y itself where it is integer or bool (checked 0/1
    # above), else a one-byte copy
    codes = code_view(y) if y.dtype.kind in "biu" else (y == 1).view(np.uint8)
    return s, codes.reshape(s.shape), w, normalize


# weighted multilabel sums repeat each sample's weight over its labels this many elements at a time
_MULTILABEL_SLICE = 1 << 19


def _multilabel_sums(kernel: Callable[..., tuple[Any, ...]], work: NDArray[Any], codes: NDArray[Any],
                     w: NDArray[Any], *args: Any) -> tuple[Any, ...]:
    """``kernel`` (a binary log-loss kernel) over the flattened (n, L) ``work`` and ``codes``.
    Weighted, it runs a slice of rows at a time with that slice's weights repeated per label (no
    n·L weight array), and the slices' partials are combined: sums with math.fsum, min/max, counts."""
    n, n_labels = work.shape
    if not w.size:
        return kernel(work.reshape(-1), codes.reshape(-1), w, *args)
    rows = max(1, _MULTILABEL_SLICE // max(1, n_labels))
    parts = [kernel(work[s:s + rows].reshape(-1), codes[s:s + rows].reshape(-1),
                    np.repeat(w[s:s + rows], n_labels), *args) for s in range(0, n, rows)]
    sums = [exact_sum([p[0] for p in parts]), exact_sum([p[1] for p in parts])]
    if len(parts[0]) == 3:  # logits kernels: (Σ w l, Σ w, #nan)
        return (*sums, sum(p[2] for p in parts))
    return (*sums, min(p[2] for p in parts), max(p[3] for p in parts), sum(p[4] for p in parts),
            max(p[5] for p in parts))


def _multilabel_reduce(sum_wl: float, sum_w: float, n_labels: int, normalize: bool,
                       weighted: bool) -> float:
    # Σ_i w_i Σ_j l_ij over the flattened labels; the mean over labels divides by L, and Σ w over
    # the repeated weights is L·Σ_i w_i
    return _reduce(sum_wl if normalize else sum_wl / n_labels, sum_w, normalize, weighted)


def multilabel_log_loss(y_true: ArrayLike, y_proba: ArrayLike, *, sample_weight: ArrayLike | None = None,
                        normalize: bool = True) -> float:
    """Multilabel log loss: for (n, L) 0/1 targets Y and probabilities P, the mean over the L
    labels of the binary log loss, l_i = (1/L) Σ_j -[Y_ij log P_ij + (1 - Y_ij) log(1 - P_ij)],
    then the (weighted) mean over samples (the sum when ``normalize=False``). P is clipped to
    [eps, 1 - eps] and validated as :func:`log_loss` does. (scikit-learn has no such metric: its
    log_loss reads a 2-D indicator as one multiclass distribution per row.)"""
    func = "multilabel_log_loss"
    p, codes, w, normalize = _multilabel_inputs(y_true, y_proba, sample_weight, normalize, func,
                                                "y_proba")
    work_dtype = np.dtype(np.float32) if p.dtype.itemsize == 2 else p.dtype.newbyteorder("=")
    work = kernel_input(p, work_dtype)
    kern = _backends.kernels(work.size)
    sum_wl, sum_w, pmin, pmax, n_nan, _ = _multilabel_sums(kern.log_loss_binary, work, codes, w,
                                                           float(np.finfo(p.dtype).eps))
    _finite_errors(n_nan > 0, pmin == -np.inf or pmax == np.inf, p.dtype)
    _range_errors(pmin, pmax)
    return _multilabel_reduce(sum_wl, sum_w, p.shape[1], normalize, sample_weight is not None)


def multilabel_log_loss_from_logits(y_true: ArrayLike, logits: ArrayLike, *,
                                    sample_weight: ArrayLike | None = None,
                                    normalize: bool = True) -> float:
    """:func:`multilabel_log_loss` from (n, L) logits Z, stably and without clipping:
    l_i = (1/L) Σ_j softplus(Z_ij) - Y_ij Z_ij. ±inf logits give the limit; nan raises."""
    func = "multilabel_log_loss_from_logits"
    z, codes, w, normalize = _multilabel_inputs(y_true, logits, sample_weight, normalize, func, "logits")
    work = kernel_input(z, np.dtype(np.float32 if z.dtype == np.float32 else np.float64))
    kern = _backends.kernels(work.size)
    sum_wl, sum_w, n_nan = _multilabel_sums(kern.log_loss_logits_binary, work, codes, w)
    if n_nan:
        raise ValueError(f"{func}(): logits contains NaN ({n_nan} values)")
    return _multilabel_reduce(sum_wl, sum_w, z.shape[1], normalize, sample_weight is not None)
