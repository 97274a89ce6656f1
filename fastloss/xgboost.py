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


class Objective(_boosting.BoosterObjective):
    """A catalogue loss as an XGBoost objective (see the module docstring)."""

    library = "xgboost"
    serial = True  # XGBoost's wheels bring their own libgomp (fastloss._boosting.resolve_loss)

    def __call__(self, predt: Any, dtrain: Any, *, sample_weight: ArrayLike | None = None
                 ) -> tuple[NDArray[Any], NDArray[Any]]:
        if isinstance(dtrain, _xgb.DMatrix):  # xgb.train: (predt, DMatrix)
            y, raw, weight = dtrain.get_label(), predt, dtrain.get_weight()
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
            value = _boosting.metric_value(self.loss, dmatrix.get_label(), predt,
                                           dmatrix.get_weight())
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
