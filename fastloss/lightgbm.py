"""Catalogue losses as LightGBM objectives and metrics (extra ``fastloss[lightgbm]``).

>>> obj = fastloss.lightgbm.objective("cross_entropy")
>>> train = lgb.Dataset(X, y, weight=w, init_score=obj.init_score(y, w))
>>> booster = lgb.train({"objective": obj, "num_class": 3, "metric": "None"}, train, 50,
...                     valid_sets=[train], feval=fastloss.lightgbm.metric("cross_entropy"))
>>> raw = booster.predict(X_new, raw_score=True) + obj.init_score(y, w)[:1]

The objective is a callable that LightGBM's training API calls as ``obj(preds, train_set)`` and
its scikit-learn estimators as ``obj(y_true, y_pred, weight)``; either way the Dataset's weights
are applied. A custom objective gets no boost_from_average: ``init_score(y, sample_weight)`` is
the start LightGBM's built-in would use (``binary``: logit of the weighted positive rate;
``multiclass``: log class priors; ``regression``/``huber``: the weighted mean; ``poisson``: log
of it; ``l1``/``quantile``: the weighted quantile), one row per sample, for ``Dataset(init_score=)``
or ``fit(init_score=)``; LightGBM leaves it out of ``predict``, so add it back there.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

try:
    import lightgbm as _lgb
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("fastloss.lightgbm needs LightGBM: pip install 'fastloss[lightgbm]'") from exc

from . import _boosting
from ._api.losses import Loss

__all__ = ["Objective", "Metric", "objective", "metric"]


class Objective(_boosting.BoosterObjective):
    """A catalogue loss as a LightGBM objective (see the module docstring)."""

    library = "lightgbm"

    def __call__(self, preds: Any, train_set: Any, weight: Any = None
                 ) -> tuple[NDArray[Any], NDArray[Any]]:
        y: Any
        if isinstance(train_set, _lgb.Dataset):  # lgb.train: (preds, Dataset)
            y, raw, weight = train_set.get_label(), preds, train_set.get_weight()
        else:  # the scikit-learn estimators: (y_true, y_pred, weight)
            y, raw = preds, train_set
        return self._gradient_hessian(y, raw, weight)

    def init_value(self, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
                   num_class: int | None = None) -> float | NDArray[np.float64]:
        """The start as one constant: a float, or one value per output ((K,) or (2,))."""
        return self._init_value(y, sample_weight, num_class, "init_value")

    def init_score(self, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
                   num_class: int | None = None) -> NDArray[np.float64]:
        """The start per sample, as ``Dataset(init_score=)`` takes it: (n,), or (n, K)."""
        value = self.init_value(y, sample_weight, num_class=num_class)
        n = np.shape(y)[0]
        return np.full(n, value) if np.ndim(value) == 0 else np.tile(value, (n, 1))


class Metric(_boosting.BoosterMetric):
    """The loss's weighted mean as a LightGBM evaluation function, on raw scores (as LightGBM
    passes them with a custom objective): ``feval=`` of lgb.train or ``eval_metric=`` of the
    estimators. Returns (name, value, is_higher_better=False)."""

    library = "lightgbm"

    def __call__(self, preds: Any, eval_set: Any, weight: Any = None
                 ) -> tuple[str, float, bool]:
        y: Any
        if isinstance(eval_set, _lgb.Dataset):
            y, raw, weight = eval_set.get_label(), preds, eval_set.get_weight()
        else:
            y, raw = preds, eval_set
        return self.loss.name, _boosting.metric_value(self.loss, y, raw, weight), False


def objective(loss: str | Loss, *, hessian: str = "library", **params: Any) -> Objective:
    """The LightGBM objective of a catalogue loss (a name with its parameters, or a Loss).

    ``hessian="library"`` (default) uses LightGBM's multiclass convention for cross_entropy
    (p(1 - p) · K/(K - 1)), so that it reproduces ``objective="multiclass"``; ``"exact"`` gives
    the catalogue's diagonal hessian."""
    return Objective(loss, hessian=hessian, **params)


def metric(loss: str | Loss, **params: Any) -> Metric:
    """The LightGBM evaluation function of a catalogue loss."""
    return Metric(loss, **params)
