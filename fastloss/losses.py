"""The loss catalogue: one object per loss, each with ``loss``, ``gradient``, ``loss_gradient``
and ``gradient_hessian`` (see ``fastloss._api.losses.Loss``; the contract of each loss is fastloss/_catalogue.py).

>>> import fastloss.losses as fl
>>> fl.CATALOGUE["cross_entropy"].loss([0, 1], [[2.0, 0.0], [0.0, 1.0]])
>>> fl.Huber(delta=2.0).gradient([0.0, 0.0], [1.0, 5.0])
>>> fl["huber"]                     # the module itself is subscriptable: fl[name] == CATALOGUE[name]

Parametrised losses are built from their class (``Huber(delta=2.0)``,
``CrossEntropy(class_weight=..., label_smoothing=0.1, ignore_index=-100)``); ``CATALOGUE`` holds
one instance of every loss with default parameters.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Iterator

from ._api.losses import CLASSES, Loss, LossSums

globals().update({cls.__name__: cls for cls in CLASSES})

CATALOGUE = {cls.name: cls() for cls in CLASSES}

# module-level aliases: fastloss.losses.cross_entropy is CATALOGUE["cross_entropy"]
globals().update(CATALOGUE)

__all__ = ["CATALOGUE", "Loss", "LossSums"] + [cls.__name__ for cls in CLASSES] + list(CATALOGUE)


class _CatalogueModule(types.ModuleType):
    """Lets ``fastloss.losses["name"]`` read the catalogue."""

    def __getitem__(self, name: str) -> Loss:
        try:
            return CATALOGUE[name]
        except KeyError:
            raise KeyError(f"no loss named {name!r}; available: {sorted(CATALOGUE)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOGUE)

    def __len__(self) -> int:
        return len(CATALOGUE)


sys.modules[__name__].__class__ = _CatalogueModule
