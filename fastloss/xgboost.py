"""Catalogue losses as XGBoost objectives and metrics (extra ``fastloss[xgboost]``).

>>> obj = fastloss.xgboost.objective("binary_cross_entropy")
>>> booster = xgb.train({"base_score": obj.init_score(y, w)}, xgb.DMatrix(X, y, weight=w), 50,
...                     obj=obj, custom_metric=fastloss.xgboost.metric("binary_cross_entropy"))
>>> raw = booster.predict(xgb.DMatrix(X_new), output_margin=True)

The objective is a callable that ``xgb.train(obj=)`` calls as ``obj(predt, dtrain)`` and the
scikit-learn estimators as ``obj(y_true, y_pred, sample_weight=)``; either way the DMatrix's
weights are applied. ``init_score(y, sample_weight)`` is the raw start XGBoost's built-in would
estimate (``binary:logistic``: logit of the weighted mean label; ``multi:softprob``: log class
priors centred on their mean; ``reg:squarederror``: the weighted mean), as a margin. With
``xgb.train`` and a custom objective XGBoost starts from base_score=0.5 on the margin, so pass
``base_score=obj.init_score(y, w)``; ``XGBRegressor`` the same. ``XGBClassifier`` trains a custom
objective under ``binary:logistic`` (or ``multi:softprob``), which takes base_score as a
probability: pass ``base_score=obj.classifier_base_score(y, w)``.
"""
from __future__ import annotations

import ctypes
import json
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

try:
    import xgboost as _xgb
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastloss.xgboost needs XGBoost: pip install 'fastloss[xgboost]'") from exc

from . import _boosting
from ._api.losses import Loss

__all__ = ["Objective", "Metric", "objective", "metric"]


# the C call that hands out a DMatrix field's array interface (XGBoost 3.x has it)
_INFO_REF = "XGDMatrixGetInfoRef"


class _Interface:
    """An array interface dict as an object NumPy can view (``np.asarray`` makes no copy)."""

    def __init__(self, interface: dict[str, Any]) -> None:
        self.__array_interface__ = interface


def _info(dmatrix: Any, field: str) -> NDArray[Any]:
    """The DMatrix's ``field`` ("label", "weight") read in place, as a read-only view, where the
    installed XGBoost hands out its array interface (XGDMatrixGetInfoRef; 3.x does); else
    ``get_float_info``. That copies the whole array every round -- at 2e6 rows get_label() and
    get_weight() took 1.1-1.3 ms each, next to a ~10 ms objective call. The view lives only for
    the objective call it is made in (the DMatrix outlives it)."""
    try:
        ref = ctypes.c_char_p()
        _xgb.core._check_call(getattr(_xgb.core._LIB, _INFO_REF)(
            dmatrix.handle, _xgb.core.c_str(field), ctypes.byref(ref)))
        inf = json.loads(ref.value or b"")
        n = int(inf["shape"][0])
        if "stream" in inf:  # a CUDA array interface: device memory, not for a NumPy view
            raise ValueError(inf)
        if inf.get("typestr") != "<f4" or len(inf["shape"]) != 1 or inf.get("strides") not in (None, [4]):
            raise ValueError(inf)
        if n == 0:
            return np.empty(0, np.float32)
        view = np.asarray(_Interface({"version": 3, "shape": (n,), "typestr": "<f4",
                                      "data": (int(inf["data"][0]), True)}))
    except Exception:  # an XGBoost without the call (or a layout not foreseen): its own copy
        return np.asarray(dmatrix.get_float_info(field))
    return view


# The OpenMP calls the objective's kernels run their regions with (see _register_openmp)
_OPENMP_CALLS = ("GOMP_parallel", "omp_get_thread_num", "omp_get_num_threads", "omp_get_max_threads")


def _openmp_calls(lib: Any) -> tuple[int, ...] | None:
    """The addresses of _OPENMP_CALLS as ``lib`` (XGBoost's library) resolves them: on Linux and
    macOS a symbol looked up through a library's handle is searched in its dependencies too, so
    these are the calls of the runtime XGBoost itself runs on. None where they are not found
    (MSVC's OpenMP; Windows looks in the library alone)."""
    try:
        addresses = tuple(ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0
                          for name in _OPENMP_CALLS)
    except (AttributeError, OSError, TypeError):
        return None
    return addresses if all(addresses) else None


def _register_openmp(lib: Any = None) -> bool:
    """Let the objective's kernels run their parallel regions in XGBoost's OpenMP runtime.

    XGBoost's wheels bring their own libgomp; after each of its parallel regions its threads
    spin on the cores for a while, so a region of fastloss's own runtime competes with them:
    measured in ``xgb.train``, slower than serial (2e5 x 5 softmax: 1.27x the built-in's time
    against 1.12x serial). In XGBoost's runtime the region runs on those same threads, as many as
    fastloss's thread setting allows, capped by that runtime's maximum (OMP_NUM_THREADS, which
    joblib's workers set). The kernels register the calls only if a trial region sees them agree
    (one runtime's). Returns whether they are registered; where not, the objective's kernels run
    serially."""
    from . import _backends
    if "cython" not in _backends.available_backends():
        return False
    calls = _openmp_calls(_xgb.core._LIB if lib is None else lib)
    return bool(_backends.family("losses", "cython")._set_host_openmp(*(calls or (0, 0, 0, 0))))


try:
    _register_openmp()
except Exception:  # pragma: no cover - an unusable Cython build: the objectives run serially
    pass


class Objective(_boosting.BoosterObjective):
    """A catalogue loss as an XGBoost objective (see the module docstring)."""

    library = "xgboost"
    # never a region of fastloss's own OpenMP runtime: one in XGBoost's where registered
    # (_register_openmp), else serial loops
    serial = True

    def __call__(self, predt: Any, dtrain: Any, *, sample_weight: ArrayLike | None = None
                 ) -> tuple[NDArray[Any], NDArray[Any]]:
        y: ArrayLike
        weight: ArrayLike | None
        if isinstance(dtrain, _xgb.DMatrix):  # xgb.train: (predt, DMatrix)
            y, raw, weight = _info(dtrain, "label"), predt, _info(dtrain, "weight")
        else:  # the scikit-learn estimators: (y_true, y_pred[, sample_weight=])
            y, raw, weight = predt, dtrain, sample_weight
        return self._gradient_hessian(y, raw, weight)

    def init_score(self, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
                   num_class: int | None = None) -> float | list[float]:
        """The start as XGBoost's ``base_score`` takes it (a margin): a float, or a list of one
        value per output."""
        value = self._init_value(y, sample_weight, num_class, "init_score")
        return float(value) if np.ndim(value) == 0 else [float(v) for v in np.asarray(value)]

    def classifier_base_score(self, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
                              num_class: int | None = None) -> float | list[float]:
        """The start as ``XGBClassifier(base_score=)`` takes it: the classifier trains a custom
        objective under ``binary:logistic`` (base_score a probability: the sigmoid of the
        margin) or ``multi:softprob`` (margins, as init_score)."""
        value = self.init_score(y, sample_weight, num_class=num_class)
        return 1.0 / (1.0 + math.exp(-value)) if isinstance(value, float) else value


class Metric(_boosting.BoosterMetric):
    """The loss's weighted mean as an XGBoost evaluation function on margins (as XGBoost passes
    them with a custom objective): ``custom_metric=`` of xgb.train returns (name, value); the
    estimators' ``eval_metric=`` gets the value."""

    library = "xgboost"

    def __call__(self, predt: Any, dmatrix: Any, *, sample_weight: ArrayLike | None = None
                 ) -> tuple[str, float] | float:
        if isinstance(dmatrix, _xgb.DMatrix):
            value = _boosting.metric_value(self.loss, _info(dmatrix, "label"), predt,
                                           _info(dmatrix, "weight"))
            return self.loss.name, value
        return _boosting.metric_value(self.loss, predt, dmatrix, sample_weight)


def objective(loss: str | Loss, *, hessian: str = "library", **params: Any) -> Objective:
    """The XGBoost objective of a catalogue loss (a name with its parameters, or a Loss).

    ``hessian="library"`` (default) uses XGBoost's conventions where it has a built-in
    counterpart: cross_entropy's hessian 2 p (1 - p) (``multi:softprob``) and a floor of 1e-16
    on the binary and multiclass cross-entropy hessians; ``"exact"`` gives the catalogue's."""
    return Objective(loss, hessian=hessian, **params)


def metric(loss: str | Loss, **params: Any) -> Metric:
    """The XGBoost evaluation function of a catalogue loss."""
    return Metric(loss, **params)
