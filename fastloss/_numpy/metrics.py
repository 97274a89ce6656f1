"""Reference log-loss kernels. Each returns plain Python numbers for the API layer to check.

Probability kernels return ``(sum_wl, sum_w, pmin, pmax, n_nan, worst)``: the weighted loss sum
Σ w·l, the weight sum Σ w (n when unweighted), the min and max of the non-nan probabilities, the
count of nans, and the largest |row sum − 1| -- for 1-D binary input instead a number > 0 exactly
when a label code lies outside {0, 1} (the compiled kernels count it per block and keep the
largest block's count), which lets the caller hand over labels it has not checked. Validation and loss come
from the same pass so the compiled kernels read the probabilities once.
Logit kernels return ``(sum_wl, sum_w, n_nan)``.
``w`` is a float32 or float64 array of length n, or of length 0 for "no weights"; rows with
w == 0 add nothing, even when their loss is infinite. Label codes ``y`` are 0..K-1 in any
unsigned integer type or intp (``fastloss._labels.code_view``).
"""
import numpy as np


def _weighted(loss, w):
    if w.size == 0:
        return float(np.sum(loss)), float(loss.shape[0])
    with np.errstate(invalid="ignore"):
        terms = np.where(w == 0, 0.0, w * loss)
    return float(np.sum(terms)), float(np.sum(w, dtype=np.float64))  # float32 weights summed in float64


def _stats(p):
    finite = p[~np.isnan(p)]
    n_nan = int(p.size - finite.size)
    if finite.size == 0:
        return np.inf, -np.inf, n_nan
    return float(finite.min()), float(finite.max()), n_nan


def log_loss_labels(p, y, w, eps):
    """l_i = -log(clip(p[i, y_i], eps, 1 - eps))."""
    pmin, pmax, n_nan = _stats(p)
    picked = np.clip(p[np.arange(p.shape[0]), y].astype(np.float64), eps, 1 - eps)
    s, sw = _weighted(-np.log(picked), w)
    worst = float(np.max(np.abs(p.sum(axis=1, dtype=np.float64) - 1.0))) if p.shape[0] else 0.0
    return s, sw, pmin, pmax, n_nan, worst


def log_loss_binary(p, y, w, eps):
    """l_i = -log(clip(p_i)) when y_i = 1, -log(clip(1 - p_i)) when y_i = 0 (1 - p in p's dtype)."""
    pmin, pmax, n_nan = _stats(p)
    q = np.where(y == 1, p, p.dtype.type(1) - p).astype(np.float64)
    s, sw = _weighted(-np.log(np.clip(q, eps, 1 - eps)), w)
    outside = float(np.count_nonzero((y != 0) & (y != 1)))
    return s, sw, pmin, pmax, n_nan, outside


def log_loss_dense(p, Y, w, eps):
    """l_i = -Σ_k Y[i, k] · log(clip(p[i, k])) for indicator (or soft) targets Y."""
    pmin, pmax, n_nan = _stats(p)
    logs = np.log(np.clip(p.astype(np.float64), eps, 1 - eps))
    loss = -np.sum(np.where(Y == 0, 0.0, Y * logs), axis=1)
    s, sw = _weighted(loss, w)
    worst = float(np.max(np.abs(p.sum(axis=1, dtype=np.float64) - 1.0))) if p.shape[0] else 0.0
    return s, sw, pmin, pmax, n_nan, worst


def label_losses(zf, y):
    """Each row's logsumexp(z_i) - z[i, y_i] (zf float64), as (m - z_y) + (log(c) + log1p(s / c)),
    with m the row's max, c the number of its maxima and s the sum of exp(z - m) over its other
    terms: both parts are >= 0, so a small loss keeps its relative precision (lse - z_y cancels).
    A true class at +inf costs log(#(+inf) in the row); a nan gives nan, an infinite max m - z_y."""
    rows = np.arange(zf.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.max(zf, axis=1, keepdims=True) if zf.shape[0] else np.empty((0, 1))
        at_max = zf == m
        c = at_max.sum(axis=1)
        s = np.where(at_max, 0.0, np.exp(zf - m)).sum(axis=1)
        m = m[:, 0]
        zy = zf[rows, y]
        loss = (m - zy) + (np.log(c) + np.log1p(s / c))
        loss = np.where(np.isinf(m), m - zy, loss)
        n_top = np.sum(zf == np.inf, axis=1)
        loss = np.where(zy == np.inf, np.log(np.maximum(n_top, 1)), loss)
        return np.where(np.isnan(zf).any(axis=1), np.nan, loss)  # a nan beside a +inf z_y too


def log_loss_logits_labels(z, y, w):
    """Σ w l and Σ w of label_losses, and the nan count."""
    zf = z.astype(np.float64)
    loss = label_losses(zf, y)
    n_nan = int(np.isnan(zf).sum())
    s, sw = _weighted(loss, w)
    return s, sw, n_nan


def log_loss_logits_binary(z, y, w, check_codes=False):
    """l_i = softplus(z_i) - y_i·z_i = softplus(-z_i) if y_i = 1 else softplus(z_i). With
    ``check_codes`` a fourth value, > 0 exactly when a code lies outside {0, 1} (as the last
    statistic of log_loss_binary)."""
    from .special import softplus

    zf = z.astype(np.float64)
    signed = np.where(y == 1, -zf, zf)
    loss = np.empty_like(signed)
    softplus(signed, loss)
    s, sw = _weighted(loss, w)
    if check_codes:
        return s, sw, int(np.isnan(zf).sum()), float(np.count_nonzero((y != 0) & (y != 1)))
    return s, sw, int(np.isnan(zf).sum())
