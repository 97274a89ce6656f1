"""The loss catalogue's Python side: validation, dtypes, shapes, reductions, ``out=``; one kernel
call per method (kernels: ``_backends.family("losses")``, contract in fastloss/_numpy/losses.py).

dtype rule: float32 raw stays float32 (outputs float32, math in float64 inside the kernels); any
other real raw is computed in float64. Targets are converted to raw's dtype (integer labels to
int64). A nan anywhere in a result raises ValueError, with the cause found on that slow path only.
"""
import numbers
from typing import NamedTuple

import numpy as np

from .. import _backends
from .._numpy import losses as K
from .._validation import as_real_array, check_out

_REDUCTIONS = ("mean", "sum", "none")


class LossSums(NamedTuple):
    """Mergeable partial sums of a loss over some rows (``Loss.sums``): add the fields of several
    parts with ``math.fsum`` and ``sum_wl / sum_w`` is the mean over all of them."""

    sum_wl: float  #: Σ w_i l_i
    sum_w: float  #: Σ w_i, the mean's denominator (ignore_index rows and class weights applied)
    n: int  #: rows seen


def _param(value, name, cls, *, low=None, high=None, low_open=False, high_open=False):
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

    name = "loss"
    family = "elem"
    kind = -1
    has_hessian = True
    #: number of raw columns (None: any K >= 1; 0: 1-D raw)
    raw_columns = 0
    #: what y_true holds: "real", "labels" (integer classes) or "distribution" (n, K)
    target = "real"

    # ---------------------------------------------------------------- parameters
    def _params(self, dtype):
        return np.zeros(2)

    def _class_weight(self):
        return np.empty(0)

    def get_params(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash((type(self).__name__, repr(self)))

    # ---------------------------------------------------------------- validation
    def _func(self, method):
        return f"{self.name}.{method}"

    def _coerce(self, y_true, raw, sample_weight, func):
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

    def _coerce_y(self, y_true, work, func):
        y = as_real_array(y_true, "y_true", func)
        n = work.shape[0]
        if self.target == "distribution":
            if y.shape != work.shape:
                raise ValueError(
                    f"{func}(): y_true must have raw's shape {work.shape} (target distributions), "
                    f"got {y.shape}"
                )
            return np.ascontiguousarray(y, dtype=work.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"{func}(): y_true must have shape ({n},), got {y.shape}")
        return np.ascontiguousarray(y, dtype=work.dtype)

    def _domain_error(self, y, work):
        """A message when y_true (or raw) is outside the loss's domain, else None (slow path)."""
        return None

    def _raise_undefined(self, y, work, w, func):
        with np.errstate(invalid="ignore"):
            if np.isnan(work).any():
                raise ValueError(f"{func}(): raw contains NaN")
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
    def _kernels(self, size=None):
        try:
            return _backends.family("losses", size=size)
        except ImportError:
            # a backend built before its losses module existed (e.g. an older Cython build):
            # the NumPy reference computes the same values
            return _backends.family("losses", backend="numpy")

    def _call(self, op, y, work, w, *args):
        fn = getattr(self._kernels(work.size), f"{self.family}_{op}")
        if self.family == "labels":
            return fn(self.kind, y, work, w, self._class_weight(), self._params(work.dtype), *args)
        return fn(self.kind, y, work, w, self._params(work.dtype), *args)

    def _sum_w(self, y, w, n):
        return float(n) if w.shape[0] == 0 else float(np.sum(w))

    # ---------------------------------------------------------------- public methods
    def loss(self, y_true, raw, *, sample_weight=None, reduction="mean", out=None):
        func = self._func("loss")
        reduction = _check_reduction(reduction, func)
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        n = work.shape[0]
        if reduction == "none":
            target, final = _target_array(out, (n,), dtype, func)
            sum_wl, sum_w = self._call("loss", y, work, w, target)
            if sum_wl != sum_wl:
                self._raise_undefined(y, work, w, func)
            return _finish(target, final)
        if out is not None:
            raise ValueError(f"{func}(): out is only used with reduction='none'")
        sum_wl, sum_w = self._call("loss", y, work, w, np.empty(0, dtype=dtype))
        if sum_wl != sum_wl:
            self._raise_undefined(y, work, w, func)
        return _reduce(sum_wl, sum_w, reduction, func)

    def sums(self, y_true, raw, *, sample_weight=None):
        """The mergeable partials ``LossSums(sum_wl, sum_w, n)`` of this loss on these rows.

        Validation is that of ``loss`` (same errors); the parts of a split data set add up (with
        ``math.fsum``) to the sums of the whole, which is how ``fastloss score`` and
        ``fastloss.dask`` compute exact means chunk by chunk."""
        func = self._func("sums")
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        sum_wl, sum_w = self._call("loss", y, work, w, np.empty(0, dtype=dtype))
        if sum_wl != sum_wl:
            self._raise_undefined(y, work, w, func)
        return LossSums(float(sum_wl), float(sum_w), int(work.shape[0]))

    def gradient(self, y_true, raw, *, sample_weight=None, out=None):
        func = self._func("gradient")
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        target, final = _target_array(out, shape, dtype, func)
        n_nan = self._call("gradient", y, work, w, 1.0, target.reshape(work.shape))
        if n_nan:
            self._raise_undefined(y, work, w, func)
        return _finish(target, final)

    def loss_gradient(self, y_true, raw, *, sample_weight=None, reduction="none", out=None):
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
        sum_wl, sum_w = self._call("loss_gradient", y, work, w, scale, ltarget,
                                   gtarget.reshape(work.shape))
        if sum_wl != sum_wl:
            self._raise_undefined(y, work, w, func)
        grad = _finish(gtarget, gfinal)
        if reduction == "none":
            return _finish(ltarget, lfinal), grad
        return _reduce(sum_wl, sum_w, reduction, func), grad

    def gradient_hessian(self, y_true, raw, *, sample_weight=None, out=None):
        func = self._func("gradient_hessian")
        y, work, w, shape, dtype = self._coerce(y_true, raw, sample_weight, func)
        grad_out, hess_out = _pair_out(out, func)
        gtarget, gfinal = _target_array(grad_out, shape, dtype, func)
        htarget, hfinal = _target_array(hess_out, shape, dtype, func)
        n_nan = self._call("gradient_hessian", y, work, w, gtarget.reshape(work.shape),
                           htarget.reshape(work.shape))
        if n_nan:
            self._raise_undefined(y, work, w, func)
        return _finish(gtarget, gfinal), _finish(htarget, hfinal)

    __call__ = loss


# ---------------------------------------------------------------- helpers
def _check_reduction(reduction, func):
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{func}(): reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _coerce_weights(sample_weight, n, func):
    if sample_weight is None:
        return np.empty(0, dtype=np.float64)
    w = as_real_array(sample_weight, "sample_weight", func)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{func}(): sample_weight must have shape ({n},), got {w.shape}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if not np.isfinite(w).all():
        raise ValueError(f"{func}(): sample_weight contains NaN or infinity")
    return w


def _target_array(out, shape, dtype, func):
    """(array the kernel writes, array returned): ``out`` itself when the kernel can write into
    it (C-contiguous, exact dtype), else a temporary copied into ``out`` by _finish."""
    if out is None:
        a = np.empty(shape, dtype=dtype)
        return a, a
    check_out(out, shape, dtype, func)
    if out.dtype == dtype and out.flags.c_contiguous and out.dtype.isnative:
        return out, out
    return np.empty(shape, dtype=dtype), out


def _finish(target, final):
    if final is not target:
        final[...] = target
    return final


def _pair_out(out, func):
    if out is None:
        return None, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"{func}(): out must be a tuple of two arrays (or None), got {type(out).__name__}")
    return out


def _reduce(sum_wl, sum_w, reduction, func):
    if reduction == "sum":
        return float(sum_wl)
    if sum_w == 0:
        raise ValueError(f"{func}(): the sample weights sum to zero (or there are no samples); "
                         "the mean is undefined")
    return float(sum_wl / sum_w)


# ================================================================ the catalogue's classes
class _Elementwise(Loss):
    family = "elem"
    raw_columns = 0


class BinaryCrossEntropy(_Elementwise):
    """Binary cross-entropy from logits: l = pos_weight·y·softplus(-raw) + (1-y)·softplus(raw)
    (= -pos_weight·y·log σ(raw) - (1-y)·log(1-σ(raw)); PyTorch's BCEWithLogitsLoss; with
    pos_weight=1 scikit-learn's HalfBinomialLoss). y in [0, 1] (soft labels allowed).
    gradient σ(raw)(pos_weight·y + 1 - y) - pos_weight·y; hessian σ(1-σ)(pos_weight·y + 1 - y)."""

    name = "binary_cross_entropy"
    kind = K.BCE

    def __init__(self, pos_weight=1.0):
        self.pos_weight = _param(pos_weight, "pos_weight", type(self).__name__, low=0.0, low_open=True)

    def _params(self, dtype):
        return np.array([self.pos_weight, 0.0])

    def get_params(self):
        return {"pos_weight": self.pos_weight}


class BinaryCrossEntropyProba(_Elementwise):
    """Binary cross-entropy from probabilities (raw = P(y=1)), clipped to [eps, 1-eps] with eps
    the machine epsilon of raw's dtype, as sklearn.metrics.log_loss: l = -y log p - (1-y) log(1-p).
    gradient -y/p + (1-y)/(1-p) and hessian y/p² + (1-y)/(1-p)², both at the clipped p. raw
    outside [0, 1] raises ValueError."""

    name = "binary_cross_entropy_proba"
    kind = K.BCE_PROBA

    def _params(self, dtype):
        return np.array([float(np.finfo(dtype).eps), 0.0])

    def _domain_error(self, y, work):
        if (work < 0).any() or (work > 1).any():
            return "raw must hold probabilities in [0, 1]"
        return None


class Focal(_Elementwise):
    """Sigmoid focal loss (Lin et al. 2017; torchvision.ops.sigmoid_focal_loss) on logits, y in
    {0, 1}: l = α_t (1 - p_t)^γ · BCE(raw, y), p_t = σ(raw) if y = 1 else 1 - σ(raw),
    α_t = α if y = 1 else 1 - α (no α weighting when alpha is None). gamma = 0 and alpha=None
    give binary_cross_entropy."""

    name = "focal"
    kind = K.FOCAL

    def __init__(self, gamma=2.0, alpha=0.25):
        cls = type(self).__name__
        self.gamma = _param(gamma, "gamma", cls, low=0.0)
        self.alpha = None if alpha is None else _param(alpha, "alpha", cls, low=0.0, high=1.0)

    def _params(self, dtype):
        return np.array([self.gamma, -1.0 if self.alpha is None else self.alpha])

    def get_params(self):
        return {"gamma": self.gamma, "alpha": self.alpha}

    def _domain_error(self, y, work):
        if not np.isin(y, (0, 1)).all():
            return "y_true must hold 0/1 labels for the focal loss"
        return None


class SquaredError(_Elementwise):
    """Half squared error l = (raw - y)²/2 (scikit-learn's HalfSquaredError): the half makes the
    gradient the residual raw - y and the hessian 1, what gradient boosting expects (LightGBM's
    l2 objective uses exactly these); its minimiser is the same as that of (raw - y)²."""

    name = "squared_error"
    kind = K.SQUARED


class AbsoluteError(_Elementwise):
    """Absolute error l = |raw - y|; gradient sign(raw - y) with -1 at a tie (scikit-learn).
    No hessian (0 almost everywhere): gradient_hessian returns ones (see has_hessian)."""

    name = "absolute_error"
    kind = K.ABSOLUTE
    has_hessian = False


class Huber(_Elementwise):
    """Huber loss, l = d²/2 if |d| <= delta else delta(|d| - delta/2), d = raw - y (scikit-learn's
    HuberLoss with a fixed delta). gradient clip(d, -delta, delta); hessian 1 inside, 0 outside."""

    name = "huber"
    kind = K.HUBER

    def __init__(self, delta=1.0):
        self.delta = _param(delta, "delta", type(self).__name__, low=0.0, low_open=True)

    def _params(self, dtype):
        return np.array([self.delta, 0.0])

    def get_params(self):
        return {"delta": self.delta}


class LogCosh(_Elementwise):
    """Log-cosh l = log(cosh(raw - y)) (stable form |d| + log1p(exp(-2|d|)) - log 2);
    gradient tanh(d); hessian sech²(d)."""

    name = "log_cosh"
    kind = K.LOG_COSH


class Pinball(_Elementwise):
    """Pinball / quantile loss, l = q(y - raw) if y >= raw else (1 - q)(raw - y) (scikit-learn's
    PinballLoss); gradient -q or 1 - q (-q at a tie). No hessian: gradient_hessian returns ones."""

    name = "pinball"
    kind = K.PINBALL
    has_hessian = False

    def __init__(self, quantile=0.5):
        self.quantile = _param(quantile, "quantile", type(self).__name__, low=0.0, high=1.0,
                               low_open=True, high_open=True)

    def _params(self, dtype):
        return np.array([self.quantile, 0.0])

    def get_params(self):
        return {"quantile": self.quantile}


class AsymmetricAbsoluteError(_Elementwise):
    """Asymmetric absolute error: l = alpha(y - raw) when raw <= y (under-prediction), raw - y
    otherwise. alpha = 1 is absolute_error; it equals (1 + alpha) × pinball(alpha / (1 + alpha)).
    No hessian: gradient_hessian returns ones."""

    name = "asymmetric_absolute_error"
    kind = K.ASYMMETRIC
    has_hessian = False

    def __init__(self, alpha=2.0):
        self.alpha = _param(alpha, "alpha", type(self).__name__, low=0.0, low_open=True)

    def _params(self, dtype):
        return np.array([self.alpha, 0.0])

    def get_params(self):
        return {"alpha": self.alpha}


class Poisson(_Elementwise):
    """Poisson negative log-likelihood with log link, raw = log(mean): l = exp(raw) - y·raw
    (scikit-learn's HalfPoissonLoss, PyTorch's PoissonNLLLoss(log_input=True)); full=True adds
    log(y!) = lgamma(y + 1), the exact NLL. gradient exp(raw) - y, hessian exp(raw). y >= 0."""

    name = "poisson"
    kind = K.POISSON

    def __init__(self, full=False):
        self.full = bool(full)

    def _params(self, dtype):
        return np.array([1.0 if self.full else 0.0, 0.0])

    def get_params(self):
        return {"full": self.full}

    def _domain_error(self, y, work):
        if (y < 0).any():
            return "y_true must be non-negative counts for the Poisson loss"
        return None


class Hinge(_Elementwise):
    """Binary hinge l = max(0, 1 - s·raw), s = +1 for y = 1 and -1 for y = 0 or -1 (labels ±1 or
    0/1). Subgradient -s inside the margin, 0 outside. No hessian: gradient_hessian returns ones."""

    name = "hinge"
    kind = K.HINGE
    has_hessian = False

    def _domain_error(self, y, work):
        if not np.isin(y, (-1, 0, 1)).all():
            return "y_true must hold labels -1/+1 or 0/1 for the hinge loss"
        return None


class _Pair(Loss):
    family = "pair"
    raw_columns = 2


class GaussianNLL(_Pair):
    """Heteroscedastic Gaussian NLL, raw = (mean, log variance) as two columns:
    l = (s + (y - μ)² e^{-s}) / 2 + log(2π)/2 (full=True, the exact NLL; full=False drops the
    constant, as PyTorch's GaussianNLLLoss). It is a negative log *density* and is negative
    wherever the density exceeds 1 — legitimate; it is minimised at μ = y, s = log((y - μ)²)."""

    name = "gaussian_nll"
    kind = K.GAUSSIAN_NLL

    def __init__(self, full=True):
        self.full = bool(full)

    def _params(self, dtype):
        return np.array([1.0 if self.full else 0.0, 0.0])

    def get_params(self):
        return {"full": self.full}


class BetaNLL(_Pair):
    """Beta NLL, raw = (log a, log b) as two columns, 0 < y < 1:
    l = lnΓ(a) + lnΓ(b) - lnΓ(a + b) - (a - 1) log y - (b - 1) log(1 - y). A negative log density:
    negative values are legitimate. Gradient a(ψ(a) - ψ(a+b) - log y) (and likewise for b);
    hessian diagonal adds a²(ψ'(a) - ψ'(a+b))."""

    name = "beta_nll"
    kind = K.BETA_NLL

    def _domain_error(self, y, work):
        if not ((y > 0) & (y < 1)).all():
            return "y_true must be in the open interval (0, 1) for the Beta NLL"
        return None


class _Labels(Loss):
    family = "labels"
    raw_columns = None
    target = "labels"

    def __init__(self, class_weight=None, ignore_index=-100):
        cls = type(self).__name__
        if class_weight is None:
            self.class_weight = None
        else:
            cw = as_real_array(class_weight, "class_weight", cls).astype(np.float64)
            if cw.ndim != 1 or not np.isfinite(cw).all() or (cw < 0).any():
                raise ValueError(f"{cls}: class_weight must be a 1-D array of finite weights >= 0")
            self.class_weight = cw
        if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
            raise TypeError(f"{cls}: ignore_index must be an int, got {ignore_index!r}")
        self.ignore_index = int(ignore_index)

    def _class_weight(self):
        return np.empty(0) if self.class_weight is None else self.class_weight

    def get_params(self):
        cw = None if self.class_weight is None else self.class_weight.tolist()
        return {"class_weight": cw, "ignore_index": self.ignore_index}

    def _coerce_y(self, y_true, work, func):
        y = as_real_array(y_true, "y_true", func)
        n, k = work.shape
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"{func}(): y_true must have shape ({n},) (integer labels), got {y.shape}")
        if y.dtype.kind in "fc":
            yi = y.astype(np.int64)
            if not np.array_equal(yi, y):
                raise ValueError(f"{func}(): y_true must hold integer class labels")
            y = yi
        y = np.ascontiguousarray(y, dtype=np.int64)
        if self.class_weight is not None and self.class_weight.shape[0] != k:
            raise ValueError(
                f"{func}(): class_weight has {self.class_weight.shape[0]} entries, raw has {k} classes"
            )
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

    def _sum_w(self, y, w, n):
        valid = y != self.ignore_index
        ww = np.ones(n) if w.shape[0] == 0 else w
        if self.class_weight is not None:
            ww = ww * self.class_weight[np.where(valid, y, 0)]
        return float(np.sum(np.where(valid, ww, 0.0)))

    def _raise_undefined(self, y, work, w, func):
        with np.errstate(invalid="ignore"):
            if np.isnan(work).any():
                raise ValueError(f"{func}(): raw contains NaN")
            if (work == -np.inf).all(axis=1).any():
                raise ValueError(f"{func}(): a row of raw is all -inf; its softmax is undefined")
        super()._raise_undefined(y, work, w, func)


class CrossEntropy(_Labels):
    """Multiclass cross-entropy from logits, integer labels y in [0, K):
    l = logsumexp(raw) - Σ_k t_k raw_k with t = (1 - ε) onehot(y) + ε/K (ε = label_smoothing);
    scikit-learn's HalfMultinomialLoss and PyTorch's CrossEntropyLoss. class_weight[y] multiplies
    the sample weight of a row (its whole smoothed loss); rows with y == ignore_index have weight
    0 (excluded from the mean's denominator). gradient softmax(raw) - t; hessian diagonal
    p(1 - p). +inf logits take the limit (p uniform over them)."""

    name = "cross_entropy"
    kind = K.CROSS_ENTROPY

    def __init__(self, class_weight=None, label_smoothing=0.0, ignore_index=-100):
        super().__init__(class_weight, ignore_index)
        self.label_smoothing = _param(label_smoothing, "label_smoothing", type(self).__name__,
                                      low=0.0, high=1.0)

    def _params(self, dtype):
        return np.array([self.label_smoothing, float(self.ignore_index)])

    def get_params(self):
        p = super().get_params()
        p["label_smoothing"] = self.label_smoothing
        return p


class MulticlassHinge(_Labels):
    """Crammer–Singer multiclass hinge: l = max(0, 1 + max_{k≠y} raw_k - raw_y). Subgradient +1 at
    the (first) best wrong class and -1 at y when the margin is violated. No hessian:
    gradient_hessian returns ones. class_weight and ignore_index as for cross_entropy."""

    name = "multiclass_hinge"
    kind = K.MULTICLASS_HINGE
    has_hessian = False

    def _params(self, dtype):
        return np.array([0.0, float(self.ignore_index)])


class _Dense(Loss):
    family = "dense"
    raw_columns = None
    target = "distribution"

    def _domain_error(self, y, work):
        if (y < 0).any():
            return "y_true must hold target probabilities >= 0"
        return None

    def _raise_undefined(self, y, work, w, func):
        with np.errstate(invalid="ignore"):
            if (work == -np.inf).all(axis=1).any():
                raise ValueError(f"{func}(): a row of raw is all -inf; its softmax is undefined")
        super()._raise_undefined(y, work, w, func)


class SoftCrossEntropy(_Dense):
    """Cross-entropy from logits against target distributions Y (n, K):
    l = Σ_k Y_k (logsumexp(raw) - raw_k); gradient (Σ_k Y_k) softmax(raw) - Y; hessian diagonal
    (Σ Y) p(1 - p). Rows of Y need not sum to 1 (the loss is linear in Y)."""

    name = "soft_cross_entropy"
    kind = K.SOFT_CROSS_ENTROPY


class KLDiv(_Dense):
    """KL divergence KL(Y || softmax(raw)) = Σ_k Y_k (log Y_k - log softmax(raw)_k), 0 log 0 = 0:
    soft_cross_entropy minus the entropy of Y, so the same gradient and hessian. PyTorch's
    kl_div(log_softmax(raw), Y, reduction="sum") per row."""

    name = "kl_div"
    kind = K.KL_DIV


CLASSES = (
    BinaryCrossEntropy,
    BinaryCrossEntropyProba,
    CrossEntropy,
    SoftCrossEntropy,
    Focal,
    KLDiv,
    SquaredError,
    AbsoluteError,
    Huber,
    LogCosh,
    Pinball,
    AsymmetricAbsoluteError,
    Poisson,
    GaussianNLL,
    BetaNLL,
    Hinge,
    MulticlassHinge,
)
