"""A catalogue loss as a gradient-boosting objective: what fastloss.lightgbm and fastloss.xgboost
share. Library-neutral: nothing here imports LightGBM or XGBoost.

An objective is a catalogue loss on the booster's raw scores: (n,) for a one-output loss, (n, 2)
for a paired one (``num_class=2``), (n, K) for a labels loss (``num_class=K``). It returns the
weighted gradient and diagonal hessian (``Loss.gradient_hessian``), with the host's own hessian
convention where it has a built-in counterpart (``hessian="library"``):

- LightGBM ``multiclass`` scales the softmax hessian p(1 - p) by K / (K - 1) (Friedman's factor);
- XGBoost ``multi:softprob`` uses 2 p (1 - p), and both its logistic objectives floor the
  hessian at 1e-16 before weighting.

``hessian="exact"`` gives the catalogue's diagonal unchanged. The start value (``init_value``) is
the constant the built-in objective would start from where there is one (LightGBM's
boost_from_average, XGBoost's estimated base_score), else the loss's best constant.
"""
from __future__ import annotations

import copy
import math
import threading
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _backends, _catalogue
from ._api.losses import CLASSES, Loss, _coerce_weights, _readable
from ._validation import as_real_array

_CLASS_BY_NAME = {cls.name: cls for cls in CLASSES}

#: the catalogue losses a booster can fit: its label is one number per row and its raw score
#: unbounded (not binary_cross_entropy_proba, whose raw is a probability; not the distribution
#: losses, whose target is a row)
BOOSTABLE = tuple(s.name for s in _catalogue.SPECS
                  if s.target in ("real", "labels") and s.raw_domain is None)

_HESSIANS = ("library", "exact")
# LightGBM's kEpsilon: the class prior / mean probability is clipped to [eps, 1 - eps]
_PROB_EPS = 1e-15
# XGBoost's logistic and softmax objectives: hessian = max(h, 1e-16) before the weight
_XGB_HESS_FLOOR = 1e-16


def _absent(weight: ArrayLike | None) -> bool:
    """No weights: None, or the empty array XGBoost's get_weight() gives for an unweighted DMatrix."""
    return weight is None or np.size(weight) == 0


def resolve_loss(loss: str | Loss, params: dict[str, Any], func: str, *, serial: bool = False) -> Loss:
    """A private copy of the loss named (or given), preferring the Cython kernels: inside a
    booster they never import or compile Numba mid-training, and next to LightGBM they run on
    its own OpenMP pool (the same libgomp). ``serial``: never open a region of fastloss's own
    OpenMP runtime -- XGBoost brings its own libgomp, whose workers spin on the cores after its
    regions (measured: 2e5 rows, training 1.45 s with our regions, 0.85-1.0 s serial); the
    kernels' regions then run in XGBoost's runtime (fastloss.xgboost._register_openmp)."""
    if isinstance(loss, str):
        if loss not in _CLASS_BY_NAME:
            raise ValueError(f"{func}(): no loss named {loss!r}; boosting losses: {list(BOOSTABLE)}")
        obj: Loss = _CLASS_BY_NAME[loss](**params)
    elif isinstance(loss, Loss):
        if params:
            raise TypeError(f"{func}(): parameters {sorted(params)} given with a Loss instance; "
                            "set them on the instance")
        obj = copy.copy(loss)
    else:
        raise TypeError(f"{func}(): loss must be a catalogue name or a fastloss.losses.Loss, "
                        f"got {type(loss).__name__}")
    if obj.name not in BOOSTABLE:
        raise ValueError(f"{func}(): {obj.name} does not fit a booster (its target or raw score "
                         f"is not one number per row); boosting losses: {list(BOOSTABLE)}")
    if "cython" in _backends.available_backends():
        obj._backend = "cython"
    obj._serial = serial
    return obj


def check_hessian(hessian: object, func: str) -> str:
    if not isinstance(hessian, str) or hessian not in _HESSIANS:
        raise ValueError(f"{func}(): hessian must be one of {_HESSIANS}, got {hessian!r}")
    return hessian


def _flat_layout(loss: Loss, library: str, y: ArrayLike, raw: Any
                 ) -> tuple[NDArray[Any], Literal["C", "F"] | None]:
    """A multi-output raw score handed over flat (LightGBM < 4: class-major, (K·n,); XGBoost < 2:
    row-major, (n·K,)) as (n, K), and the layout to hand the result back in (None: as given)."""
    raw = np.asarray(raw)
    if loss.spec.shape == _catalogue.ELEMENTWISE or raw.ndim != 1:
        return raw, None
    n = np.shape(y)[0]
    if n == 0 or raw.shape[0] % n:
        raise ValueError(f"{loss.name}: {raw.shape[0]} raw scores for {n} labels")
    k = raw.shape[0] // n
    if library == "lightgbm":
        return raw.reshape(k, n).T, "F"
    return raw.reshape(n, k), "C"


# A 2-D hand-over is cast and transposed (C float64 -> F float32) this many rows at a time, so
# that each slice's source and target stay in L2: NumPy's cast of the whole array walks the
# target column by column across all rows. 2e5 x 5, g and h, out of cache, one run here:
# 5.3-6.1 ms whole, 3.7-3.9 ms in slices of 4096 rows (16384: 3.9-4.2). Same values.
_HAND_OVER_ROWS = 4096


class RoundBuffers(threading.local):
    """Arrays an objective keeps from one boosting round to the next, per thread (two boosters
    training in two threads never share them): the gradient/hessian outputs, which the host
    copies into its own storage before the next round, and the float64 / int64 copies of the
    float32 labels and weights LightGBM hands over (the same array objects every round, so the
    copy is made once). A fresh array of a few MB costs a page fault per 4 KB on every call --
    measured on this VM: 2.2 ms of a 2.9 ms call at 2e5 float64 rows -- so each is made once."""

    def __init__(self) -> None:
        self.outputs: tuple[NDArray[Any], NDArray[Any]] | None = None
        self.handed: tuple[NDArray[Any], NDArray[Any]] | None = None
        self.copies: dict[str, tuple[Any, NDArray[Any]]] = {}

    def __reduce__(self) -> tuple[type, tuple[()]]:
        # a copied or pickled objective (LightGBM deep-copies its params) starts with none kept
        return RoundBuffers, ()

    def out(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        o = self.outputs
        if o is None or o[0].shape != shape or o[0].dtype != dtype:
            o = self.outputs = (np.empty(shape, dtype), np.empty(shape, dtype))
        return o

    def handed_out(self, shape: tuple[int, ...]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The kept float32 pair LightGBM takes as it is: a 2-D score Fortran-ordered (it ravels
        multiclass gradients in column order)."""
        o = self.handed
        if o is None or o[0].shape != shape:
            order: Literal["C", "F"] = "F" if len(shape) == 2 else "C"
            o = self.handed = (np.empty(shape, np.float32, order=order),
                               np.empty(shape, np.float32, order=order))
        return o

    def hand_over(self, g: NDArray[Any], h: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        """g and h as LightGBM uses them (handed_out) in kept arrays: LightGBM then takes them as
        they are instead of casting (and re-ordering) into fresh arrays every round (2e6 rows:
        ~10 ms of page faults a round). The values are the ones its own cast would give."""
        o = self.handed_out(g.shape)
        step = _HAND_OVER_ROWS if g.ndim == 2 else max(g.shape[0], 1)  # 1-D: one copy
        for lo in range(0, g.shape[0], step):
            np.copyto(o[0][lo:lo + step], g[lo:lo + step], casting="same_kind")
            np.copyto(o[1][lo:lo + step], h[lo:lo + step], casting="same_kind")
        return o

    def copy(self, slot: str, a: Any, dtype: type) -> Any:
        """``a`` (a float array) as ``dtype``: converted once per source object (LightGBM's
        labels), else into this slot's kept array (XGBoost hands over fresh copies each round);
        anything else is returned as it is, for the loss to validate."""
        if not isinstance(a, np.ndarray) or a.dtype == dtype or a.dtype.kind != "f":
            return a
        src, conv = self.copies.get(slot, (None, None))
        if src is a:
            return conv
        if conv is None or conv.shape != a.shape or conv.dtype != dtype:
            conv = np.empty(a.shape, dtype)
        with np.errstate(invalid="ignore"):  # nan labels: the loss's error, not a cast warning
            np.copyto(conv, a, casting="unsafe")
        if dtype is np.int64 and not np.array_equal(conv, a):
            return a  # not integer labels: the loss raises its own error
        self.copies[slot] = (a, conv)
        return conv


# binary_cross_entropy's hessian is p (1 - p) c w, c = pos_weight y + 1 - y >= min(pos_weight, 1)
# for y in [0, 1], and p (1 - p) >= e^-|r| / 4: where every |r| <= 35 + log(min(pos_weight, 1)),
# p (1 - p) c >= e^-35 / 4 = 1.6e-16, so the floor 1e-16 (XGBoost's, on p (1 - p) before the
# scale, and the full check below, on the scaled hessian) cannot apply
_SATURATION = 35.0


def _saturation(pos_weight: float) -> float:
    """The |r| within which no hessian of binary_cross_entropy can come under the floor (weights
    >= 0): see _SATURATION."""
    return _SATURATION + math.log(min(pos_weight, 1.0))


def _bce_may_floor(loss: Loss, raw: NDArray[Any]) -> bool:
    """False when no hessian of binary_cross_entropy on these scores can come under the floor
    (every usual round): two reductions over the scores instead of the hessians' minimum and the
    weights' maximum (1.5 ms a round at 2e6 rows). nan scores: True (the full check decides).
    cross_entropy (class weights, ignored rows) always takes the full check."""
    if loss.name != "binary_cross_entropy" or not loss.pos_weight > 0:
        return True
    lo, hi = float(raw.min()), float(raw.max())
    return not max(hi, -lo) <= _saturation(loss.pos_weight)


def _hessian_factor(loss: Loss, library: str, hessian: str, k: int) -> tuple[float, float]:
    """(factor, floor) of the host's softmax hessian convention: h = max(w p (1 - p) factor,
    floor w); floor 0: none."""
    if hessian != "library" or loss.name != "cross_entropy" or k < 2:
        return 1.0, 0.0
    if library == "lightgbm":
        return k / (k - 1.0), 0.0
    return 2.0, _XGB_HESS_FLOOR


def _plain(a: Any, n: int, dtypes: tuple[type, ...]) -> bool:
    """``a`` is an (n,) array the kernels read as it is (_readable) in one of ``dtypes``."""
    return (isinstance(a, np.ndarray) and a.shape == (n,)
            and any(_readable(a, np.dtype(d)) for d in dtypes))


def _fused_outputs(library: str, raw: NDArray[Any], buffers: RoundBuffers
                   ) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """The float32 pair a fused round writes: the one LightGBM takes as it is, or for XGBoost's
    float32 scores the kept outputs; None for XGBoost's float64 scores (the generic path's float64
    result)."""
    if library == "lightgbm":
        return buffers.handed_out(raw.shape)
    if raw.dtype == np.float32:
        return buffers.out(raw.shape, np.dtype(np.float32))
    return None


def _softmax_round(loss: Loss, library: str, hessian: str, y: Any, raw: NDArray[Any],
                   w: Any, buffers: RoundBuffers) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """cross_entropy's round in one pass of the Cython kernel ``softmax_booster`` (losses.pyx):
    the scores read in the host's layout, the factor and floor applied, float32 written where the
    host keeps it -- the generic path's values bit for bit, 3-6x faster (README, "Gradient
    boosting"). None where it does not apply (class weights, label smoothing, an ignore_index
    among the classes, more than BOOST_MAX_CLASSES classes, a float64 result, a flat score of an
    old version, float32 scores for LightGBM) or where the
    kernel declines a row (a non-finite score or weight, a label that is not a class): the
    generic path then computes, or raises its error."""
    if (loss.class_weight is not None or loss.label_smoothing
            or loss._preferred_backend() != "cython" or raw.ndim != 2
            or raw.dtype not in (np.float32, np.float64) or not raw.dtype.isnative
            or min(raw.strides) < 0 or any(st % raw.itemsize for st in raw.strides)):
        return None
    kernels = _backends.family("losses", "cython")
    n, k = raw.shape
    if not 2 <= k <= kernels.BOOST_MAX_CLASSES or 0 <= loss.ignore_index < k:
        return None
    if library == "lightgbm" and raw.dtype != np.float64:
        return None  # the generic path applies K/(K-1) in float32 there
    outputs = _fused_outputs(library, raw, buffers)
    if outputs is None:
        return None
    g, h = outputs
    # float32 labels and float32/float64 weights are read as the hosts hand them over (XGBoost's
    # are fresh views every round: no int64 / float64 copy); the kernel checks them
    if not _plain(y, n, (np.float32,)):
        y = buffers.copy("y", y, np.int64)
        if not _plain(y, n, (np.int64,)):
            return None
    if w is not None and not _plain(w, n, (np.float32, np.float64)):
        w = buffers.copy("w", w, np.float64)
        if not _plain(w, n, (np.float64,)):
            return None
    factor, floor = _hessian_factor(loss, library, hessian, k)
    if kernels.softmax_booster(raw, y, w, g, h, factor, floor, serial=loss._serial):
        return None
    return g, h


def _bce_round(loss: Loss, library: str, hessian: str, y: Any, raw: NDArray[Any], w: Any,
               buffers: RoundBuffers) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """binary_cross_entropy's round in one pass of the Cython kernel ``bce_booster``
    (losses.pyx): the checks the generic path makes apart (raw and the weights finite, labels
    0/1), XGBoost's floor and the float32 the host keeps in the same pass -- the generic path's
    values bit for bit (README, "Gradient boosting"). None where it does not apply (a 2-D raw,
    float64 scores for XGBoost (a float64 result), labels or weights that are not float32/float64
    (n,) arrays in C order, an infinite pos_weight) or where the kernel declines an element (a
    non-finite score or weight, a label not 0/1, with XGBoost's floor a weight < 0 or -0.0): the
    generic path then computes, or raises its error."""
    if (loss._preferred_backend() != "cython" or raw.ndim != 1
            or raw.dtype not in (np.float32, np.float64) or not _readable(raw, raw.dtype)):
        return None
    n = raw.shape[0]
    outputs = _fused_outputs(library, raw, buffers)
    if outputs is None:
        return None
    g, h = outputs
    if not _plain(y, n, (np.float32, np.float64)) or (
            w is not None and not _plain(w, n, (np.float32, np.float64))):
        return None
    floor = _XGB_HESS_FLOOR if library == "xgboost" and hessian == "library" else 0.0
    pos_weight = float(loss.pos_weight)
    if not math.isfinite(pos_weight):
        return None  # inf (allowed): nan gradients at y = 0, which the generic path reports
    kernels = _backends.family("losses", "cython")
    if kernels.bce_booster(raw, y, w, g, h, pos_weight, floor, _saturation(pos_weight),
                           serial=loss._serial):
        return None
    return g, h


# the losses whose booster round has a fused kernel
_FUSED_ROUNDS = {"cross_entropy": _softmax_round, "binary_cross_entropy": _bce_round}


def gradient_hessian(loss: Loss, library: str, hessian: str, y: ArrayLike, raw: ArrayLike,
                     weight: ArrayLike | None, buffers: RoundBuffers | None = None
                     ) -> tuple[NDArray[Any], NDArray[Any]]:
    """(w g, w h) on the booster's raw scores, in the layout it handed them over ((n,), (n, K),
    or flat for old versions), with the host's hessian convention unless ``hessian == "exact"``.
    With ``buffers`` the results are written into (and returned as) its kept arrays."""
    w = None if _absent(weight) else weight
    raw, flat = _flat_layout(loss, library, y, raw)
    out = None
    fused_round = _FUSED_ROUNDS.get(loss.name)
    if buffers is not None and flat is None and fused_round is not None:
        fused = fused_round(loss, library, hessian, y, raw, w, buffers)
        if fused is not None:
            return fused
    if buffers is not None:
        dtype = np.dtype(np.float32) if raw.dtype == np.float32 else np.dtype(np.float64)
        out = buffers.out(raw.shape, dtype)
        y = buffers.copy("y", y, np.int64 if loss.spec.target == "labels" else dtype.type)
        # float32 weights: the Cython elementwise gradients read them as they are (the other
        # kernels would convert them whole every round: into the kept copy instead)
        elementwise = loss.spec.shape == _catalogue.ELEMENTWISE
        if not (elementwise and loss._preferred_backend() == "cython"):
            w = buffers.copy("w", w, np.float64)
    g, h = loss.gradient_hessian(y, raw, sample_weight=w, out=out)
    if hessian == "library":
        factor = _hessian_factor(loss, library, hessian, h.shape[1] if h.ndim == 2 else 1)[0]
        if factor != 1.0:
            h *= factor
        if (library == "xgboost" and loss.name in ("binary_cross_entropy", "cross_entropy")
                and h.size and _bce_may_floor(loss, raw)
                and h.min() < _XGB_HESS_FLOOR * (1.0 if w is None else np.max(w))):
            # (rare: a saturated probability) the floor where it applies, before the weight
            floor = np.full(1, _XGB_HESS_FLOOR) if w is None else _XGB_HESS_FLOOR * np.asarray(w, np.float64)
            np.maximum(h, floor[:, None] if h.ndim == 2 and w is not None else floor, out=h,
                       casting="unsafe")
    if flat is not None:
        return g.ravel(order=flat), h.ravel(order=flat)
    if buffers is not None and library == "lightgbm":
        return buffers.hand_over(g, h)
    return g, h


# ---------------------------------------------------------------- start values
def _weights(sample_weight: ArrayLike | None, n: int, func: str) -> NDArray[np.float64]:
    """The Loss methods' weight checks (shape, finite), >= 0, and ones when there are none."""
    w = _coerce_weights(None if _absent(sample_weight) else sample_weight, n, func).astype(np.float64, copy=False)
    if (w < 0).any():
        raise ValueError(f"{func}(): sample_weight must be >= 0")
    return w if w.size else np.ones(n)


def _mean(v: NDArray[np.float64], w: NDArray[np.float64], func: str) -> float:
    sw = math.fsum(w)
    if sw <= 0:
        raise ValueError(f"{func}(): the sample weights sum to zero (or there are no samples)")
    return math.fsum(v * w) / sw


def weighted_quantile(v: NDArray[np.float64], w: NDArray[np.float64], q: float) -> float:
    """The lower weighted q-quantile: the smallest v whose cumulative weight reaches q·Σw (for
    unit weights NumPy's ``quantile(method="inverted_cdf")``)."""
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    i = int(np.searchsorted(cum, q * cum[-1], side="left"))
    return float(v[order][min(i, v.shape[0] - 1)])


def _newton_constant(loss: Loss, y: NDArray[Any], w: NDArray[np.float64], c: float) -> float:
    """The best constant raw score of a smooth one-output loss, by damped Newton steps from c."""
    n = y.shape[0]
    best = loss.loss(y, np.full(n, c), sample_weight=w)
    for _ in range(100):
        g, h = loss.gradient_hessian(y, np.full(n, c), sample_weight=w)
        sg, sh = math.fsum(g), math.fsum(h)
        if sg == 0 or not sh > 0:
            break
        step = sg / sh
        for _ in range(30):  # halve until the loss does not increase
            trial = loss.loss(y, np.full(n, c - step), sample_weight=w)
            if trial <= best:
                break
            step /= 2
        else:
            break
        c, best = c - step, trial
        if abs(step) <= 1e-12 * max(1.0, abs(c)):
            break
    return c


def _logit(p: float) -> float:
    p = min(max(p, _PROB_EPS), 1 - _PROB_EPS)
    return math.log(p / (1 - p))


def _class_prior(loss: Loss, y: NDArray[Any], w: NDArray[np.float64], num_class: int | None,
                 func: str) -> NDArray[np.float64]:
    yi = y.astype(np.int64)
    if not np.array_equal(yi, y):
        raise ValueError(f"{func}(): y must hold integer class labels")
    valid = yi != loss.ignore_index
    if num_class is None:
        num_class = (loss.class_weight.shape[0] if loss.class_weight is not None
                     else int(yi[valid].max()) + 1 if valid.any() else 0)
    if num_class < 1 or (valid & ((yi < 0) | (yi >= num_class))).any():
        raise ValueError(f"{func}(): y must hold class labels in [0, {num_class})")
    ww = w[valid] * (1.0 if loss.class_weight is None else loss.class_weight[yi[valid]])
    counts = np.bincount(yi[valid], weights=ww, minlength=num_class)
    if counts.sum() <= 0:
        raise ValueError(f"{func}(): the sample weights sum to zero (or there are no samples)")
    prior = counts / counts.sum()
    eps = float(getattr(loss, "label_smoothing", 0.0) or 0.0)
    return (1 - eps) * prior + eps / num_class


def init_value(loss: Loss, library: str, y_true: ArrayLike, sample_weight: ArrayLike | None,
               num_class: int | None, func: str) -> float | NDArray[np.float64]:
    """The constant raw score boosting starts from: a float, or a (K,) / (2,) array."""
    y = as_real_array(y_true, "y", func)
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise ValueError(f"{func}(): y must have shape (n,), got {y.shape}")
    y = y.astype(np.float64)
    w = _weights(sample_weight, y.shape[0], func)
    if library == "lightgbm":
        # LightGBM keeps labels and weights as float32 (label_t): its start is computed from those
        y, w = y.astype(np.float32).astype(np.float64), w.astype(np.float32).astype(np.float64)
    if y.shape[0] == 0:
        raise ValueError(f"{func}(): y is empty")
    name = loss.name
    if loss.spec.shape == _catalogue.ROWS:
        prior = _class_prior(loss, y, w, num_class, func)
        if name == "multiclass_hinge":
            return np.zeros(prior.shape[0])
        logp = np.log(np.maximum(prior, _PROB_EPS))
        # LightGBM starts each class at log(prior); XGBoost at log(prior) centred on its mean
        return logp - logp.mean() if library == "xgboost" else logp
    if not np.isfinite(y).all():
        raise ValueError(f"{func}(): y contains NaN or infinity")
    if name == "binary_cross_entropy":
        m, pw = _mean(y, w, func), loss.pos_weight
        return _logit(pw * m / (pw * m + 1 - m))
    if name == "focal":
        return _newton_constant(loss, y, w, _logit(_mean(y, w, func)))
    if name in ("squared_error", "huber"):
        return _mean(y, w, func)  # huber: LightGBM's start, the mean
    if name == "absolute_error":
        return weighted_quantile(y, w, 0.5)
    if name == "pinball":
        return weighted_quantile(y, w, loss.quantile)
    if name == "asymmetric_absolute_error":
        return weighted_quantile(y, w, loss.alpha / (1 + loss.alpha))
    if name == "log_cosh":
        return _newton_constant(loss, y, w, weighted_quantile(y, w, 0.5))
    if name == "poisson":
        m = _mean(y, w, func)
        if not m > 0:
            raise ValueError(f"{func}(): poisson needs a positive mean target, got {m!r}")
        return math.log(m)
    if name == "hinge":
        return 0.0
    if name == "gaussian_nll":
        m = _mean(y, w, func)
        var = _mean((y - m) ** 2, w, func)
        return np.array([m, math.log(max(var, np.finfo(np.float64).tiny))])
    if name == "beta_nll":  # method of moments
        m = _mean(y, w, func)
        var = max(_mean((y - m) ** 2, w, func), np.finfo(np.float64).tiny)
        s = max(m * (1 - m) / var - 1, 1e-3)
        return np.array([math.log(m * s), math.log((1 - m) * s)])
    raise AssertionError(name)  # every BOOSTABLE loss is handled above


def metric_value(loss: Loss, y: ArrayLike, raw: ArrayLike, weight: ArrayLike | None) -> float:
    """The (weighted) mean loss on the booster's raw scores."""
    return float(loss.loss(y, raw, sample_weight=None if _absent(weight) else weight))


# ---------------------------------------------------------------- the adapters' bases
class BoosterObjective:
    """What both libraries' objectives hold: the loss (a private copy) and the hessian mode; the
    adapters add the library's call signatures and start-value formats."""

    library: ClassVar[str] = ""
    #: no region of fastloss's OpenMP runtime (hosts with their own: see resolve_loss)
    serial: ClassVar[bool] = False

    def __init__(self, loss: str | Loss, *, hessian: str = "library", **params: Any) -> None:
        func = f"fastloss.{self.library}.objective"
        self.loss = resolve_loss(loss, params, func, serial=self.serial)
        self.hessian = check_hessian(hessian, func)
        self.__name__ = self.loss.name
        self._buffers = RoundBuffers()

    def _gradient_hessian(self, y: ArrayLike, raw: ArrayLike, weight: ArrayLike | None
                          ) -> tuple[NDArray[Any], NDArray[Any]]:
        """The host's call: results in this thread's kept arrays, valid until its next call."""
        return gradient_hessian(self.loss, self.library, self.hessian, y, raw, weight,
                                self._buffers)

    def _init_value(self, y: ArrayLike, sample_weight: ArrayLike | None, num_class: int | None,
                    method: str) -> float | NDArray[np.float64]:
        return init_value(self.loss, self.library, y, sample_weight, num_class,
                          f"fastloss.{self.library}.Objective.{method}")

    def __repr__(self) -> str:
        return f"fastloss.{self.library}.objective({self.loss!r}, hessian={self.hessian!r})"


class BoosterMetric:
    """What both libraries' metrics hold: the loss (a private copy)."""

    library: ClassVar[str] = ""

    def __init__(self, loss: str | Loss, **params: Any) -> None:
        self.loss = resolve_loss(loss, params, f"fastloss.{self.library}.metric")
        self.__name__ = self.loss.name

    def __repr__(self) -> str:
        return f"fastloss.{self.library}.metric({self.loss!r})"
