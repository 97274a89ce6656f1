"""Chunks to mergeable partial sums, and partial sums to the loss.

``ChunkScorer.partials`` scores one chunk with the kernels into exact partials (Σ w·l, Σ w, and
what validation needs: the probability range, the worst row-sum error); ``Partials.merge`` joins
them (the sums are kept apart and added once, with ``math.fsum``, so the result does not depend on
how the rows were cut); ``ChunkScorer.finish`` turns the merged partials into the mean or sum with
the end-of-data checks. ``fastloss score`` and ``fastloss.dask`` both score this way.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .. import _backends
from .._api.losses import exact_sum
from .._api.metrics import logits_sums
from ..losses import CATALOGUE
from .errors import ScoreError, one_line
from .labels import encode_chunk

_PROBA_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16))


def _rowsum_tolerance(dtype):
    # scikit-learn's: isclose(row_sum, 1, rtol=sqrt(eps), atol=1e-8) with eps of y_prob's dtype
    return 1e-8 + math.sqrt(float(np.finfo(dtype).eps))


@dataclass
class Partials:
    """Mergeable partial results of a set of rows; ``merge`` is exact (fsum of the sums)."""

    sums_wl: list = field(default_factory=list)
    sums_w: list = field(default_factory=list)
    rows: int = 0
    pmin: float = math.inf
    pmax: float = -math.inf
    worst: float = 0.0
    any_nonzero_w: bool = False

    def add(self, sum_wl, sum_w, rows, pmin=math.inf, pmax=-math.inf, worst=0.0, nonzero=True):
        self.sums_wl.append(float(sum_wl))
        self.sums_w.append(float(sum_w))
        self.rows += int(rows)
        self.pmin = min(self.pmin, pmin)
        self.pmax = max(self.pmax, pmax)
        self.worst = max(self.worst, worst)
        self.any_nonzero_w = self.any_nonzero_w or bool(nonzero)
        return self

    def merge(self, other):
        out = Partials(self.sums_wl + other.sums_wl, self.sums_w + other.sums_w,
                       self.rows + other.rows, min(self.pmin, other.pmin), max(self.pmax, other.pmax),
                       max(self.worst, other.worst), self.any_nonzero_w or other.any_nonzero_w)
        return out

    @property
    def sum_wl(self):
        return exact_sum(self.sums_wl)

    @property
    def sum_w(self):
        return exact_sum(self.sums_w)


class ChunkScorer:
    """Scores chunks of (y_true, y_pred[, weights]) with the active backend's kernels.

    ``loss`` is ``"log_loss"`` (probabilities, or logits when ``logits=True``) or the name of a loss
    of the ``fastloss.losses`` catalogue (scored with its ``sums`` method). ``classes`` are the
    sorted labels (None for catalogue losses, which take y_true as is). Used by ``score_files``
    and by ``fastloss.dask``.
    """

    def __init__(self, *, logits=False, loss="log_loss", classes=None, labels_given=False,
                 pred_dtype=np.dtype(np.float64), pred_ndim=1, n_cols=1, indicator=False):
        self.logits = bool(logits)
        self.loss = loss or "log_loss"
        self.classes = classes
        self.labels_given = labels_given
        self.pred_dtype = np.dtype(pred_dtype)
        self.indicator = indicator
        self.binary = pred_ndim == 1 or n_cols == 1
        if self.loss != "log_loss":
            self.catalogue_loss = get_catalogue_loss(self.loss)
        else:
            self.catalogue_loss = None
            if self.pred_dtype.kind == "c":
                raise ScoreError("y_pred must hold real numbers, got complex")
            if self.pred_dtype not in _PROBA_DTYPES:
                self.pred_dtype = np.dtype(np.float64)
            self.eps = float(np.finfo(self.pred_dtype).eps)
            self.work_dtype = np.dtype(np.float32) if self.pred_dtype == np.float16 else self.pred_dtype
            if self.logits:
                self.work_dtype = np.dtype(np.float32 if self.pred_dtype == np.float32 else np.float64)
            if classes is not None:
                k = classes.shape[0]
                expected = 2 if self.binary else n_cols
                if k == 1:
                    if labels_given:
                        raise ScoreError(f"The labels array needs to contain at least two labels, "
                                         f"got {classes.tolist()}.")
                    raise ScoreError(f"y_true contains only one label ({classes[0]}). Please provide "
                                     "the list of all expected class labels with --labels / labels=.")
                if k != expected:
                    if labels_given:
                        raise ScoreError("The number of classes in labels is different from that in "
                                         f"y_prob. Classes found in labels: {classes.tolist()}")
                    raise ScoreError(f"y_true and y_prob contain different number of classes: "
                                     f"{max(k, 2)} vs {expected}. Please provide the true labels "
                                     f"explicitly with --labels / labels=. Classes found in y_true: "
                                     f"{classes.tolist()}")

    # -- helpers
    def _weights(self, w, where):
        if w is None:
            return np.empty(0, dtype=np.float64), True
        if w.dtype.kind not in "biuf":
            raise ScoreError(f"sample_weight must be numeric, got dtype {w.dtype}")
        wf = np.ascontiguousarray(w, dtype=np.float64)
        if w.dtype.kind == "f":
            if np.isnan(wf).any():
                raise ScoreError(f"Input sample_weight contains NaN{where}.")
            if np.isinf(wf).any():
                raise ScoreError(f"Input sample_weight contains infinity{where}.")
        return wf, bool(np.any(wf != 0))

    def partials(self, y, p, w=None, row_start=0):
        """Partials of one chunk (``y``, ``p``, ``w`` have the same number of rows)."""
        n = p.shape[0]
        where = f" (rows {row_start}-{row_start + n - 1})"
        wf, nonzero = self._weights(w, where)
        out = Partials()
        if self.catalogue_loss is not None:
            sums = catalogue_partials(self.catalogue_loss, y, p, None if w is None else wf, where)
            return out.add(sums.sum_wl, sums.sum_w, sums.n, nonzero=True)
        kern = _backends.kernels()
        if self.indicator:
            Y = np.ascontiguousarray(y, dtype=np.float64).reshape(n, -1)
            if not np.isin(Y, (0.0, 1.0)).all():
                raise ScoreError(f"Multioutput target data is not supported with label "
                                 f"binarization{where}")
            codes = None
        else:
            Y = None
            yy = y.reshape(-1) if y.ndim == 2 else y
            codes = encode_chunk(yy, self.classes, self.labels_given, where)
        if self.logits:
            work = np.ascontiguousarray(p, dtype=self.work_dtype)
            sum_wl, sum_w, n_nan = logits_sums(kern, work, codes, wf, Y)
            if n_nan:
                raise ScoreError(f"logits contains NaN ({n_nan} values){where}")
            if math.isnan(sum_wl):
                raise ScoreError(f"a row of logits is all -inf, its loss is undefined{where}")
            return out.add(sum_wl, sum_w, n, nonzero=nonzero)
        work = p
        if work.dtype != self.work_dtype or not work.dtype.isnative or not work.flags.c_contiguous:
            work = np.ascontiguousarray(work, dtype=self.work_dtype)
        if Y is not None:
            stats = kern.log_loss_dense(work.reshape(n, -1), Y, wf, self.eps)
        elif self.binary:
            stats = kern.log_loss_binary(work.reshape(-1), codes, wf, self.eps)
        else:
            stats = kern.log_loss_labels(work, codes, wf, self.eps)
        sum_wl, sum_w, pmin, pmax, n_nan, worst = stats
        if n_nan:
            raise ScoreError(f"Input contains NaN{where}.")
        if pmin == -math.inf or pmax == math.inf:
            raise ScoreError(f"Input contains infinity{where}.")
        if pmax > 1:
            raise ScoreError(f"y_prob contains values greater than 1: {pmax}{where}")
        if pmin < 0:
            raise ScoreError(f"y_prob contains values lower than 0: {pmin}{where}")
        return out.add(sum_wl, sum_w, n, pmin, pmax, worst, nonzero)

    def finish(self, parts, weighted, normalize=True):
        """The loss (mean or sum) of merged partials, with the end-of-data checks; returns
        ``(loss, warnings)``."""
        notes = []
        if weighted and not parts.any_nonzero_w and self.catalogue_loss is None:
            raise ScoreError("Sample weights must contain at least one non-zero number.")
        if self.catalogue_loss is None and not self.logits and not self.binary:
            if parts.worst > _rowsum_tolerance(self.pred_dtype):
                notes.append("The y_prob values do not sum to one. Make sure to pass probabilities.")
        total = parts.sum_wl
        if not normalize:
            return total, notes
        sum_w = parts.sum_w
        if sum_w == 0:
            raise ScoreError("Weights sum to zero, can't be normalized")
        return total / sum_w, notes


def get_catalogue_loss(name):
    """The loss object ``name`` of ``fastloss.losses.CATALOGUE`` (ScoreError when unknown)."""
    if name not in CATALOGUE:
        raise ScoreError(f"unknown loss {name!r}; choose from {['log_loss'] + sorted(CATALOGUE)}")
    return CATALOGUE[name]


def catalogue_partials(loss, y, raw, w, where=""):
    """``LossSums(sum_wl, sum_w, n)`` of a catalogue loss on one chunk, from ``loss.sums`` (the
    mean's denominator is not always Σ w: cross_entropy leaves out ``ignore_index`` rows and
    applies ``class_weight``); its errors become ScoreErrors naming the rows."""
    try:
        return loss.sums(y, raw, sample_weight=w)
    except (ValueError, TypeError) as exc:
        raise ScoreError(f"{one_line(exc)}{where}") from None
