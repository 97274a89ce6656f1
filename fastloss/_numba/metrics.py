"""Numba log-loss kernels (see fastloss/_numpy/metrics.py for the contract and return tuples).

Each ``*_block`` computes one block's partials; ``*_blocks`` runs every block (under prange when
``parallel``) and adds the partials in block order, so the result is bitwise identical for any
thread count. Probabilities are read once: the same pass clips, takes the log, and gathers what
validation needs (min, max, nan count, worst row-sum error). No n x k temporary is made.
"""
import numpy as np
from numba import njit, prange

from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from ._math import log
from .special import _JIT, _PAR, lse1, softplus1

# partials layout: 0 Σw·l, 1 Σw, 2 min p, 3 max p, 4 #nan, 5 worst |row sum - 1|
_NPART = 6


@njit(inline="always", **_JIT)
def _init(part):
    part[0] = 0.0
    part[1] = 0.0
    part[2] = np.inf
    part[3] = -np.inf
    part[4] = 0.0
    part[5] = 0.0


@njit(inline="always", **_JIT)
def _add(part, w, have_w, i, loss):
    """Accumulate w_i * loss_i; a zero weight adds nothing even if the loss is infinite."""
    if have_w:
        wi = w[i]
        if wi != 0.0:
            part[0] += wi * loss
        part[1] += wi
    else:
        part[0] += loss
        part[1] += 1.0


@njit(inline="always", **_JIT)
def _observe(part, v):
    if v < part[2]:
        part[2] = v
    if v > part[3]:
        part[3] = v
    if v != v:
        part[4] += 1.0


@njit(**_JIT)
def _combine(parts):
    total = np.empty(_NPART)
    _init(total)
    for b in range(parts.shape[0]):
        total[0] += parts[b, 0]
        total[1] += parts[b, 1]
        total[2] = min(total[2], parts[b, 2])
        total[3] = max(total[3], parts[b, 3])
        total[4] += parts[b, 4]
        total[5] = max(total[5], parts[b, 5])
    return total


@njit(**_JIT)
def labels_block(p, y, w, eps, start, stop, part):
    """l_i = -log(clip(p[i, y_i], eps, 1 - eps)); clipping as scikit-learn (eps of p's dtype)."""
    k = p.shape[1]
    have_w = w.shape[0] > 0
    hi = 1.0 - eps
    for i in range(start, stop):
        row_sum = 0.0
        for t in range(k):
            v = np.float64(p[i, t])
            _observe(part, v)
            row_sum += v
        dev = abs(row_sum - 1.0)
        if dev > part[5]:
            part[5] = dev
        q = np.float64(p[i, y[i]])
        q = eps if q < eps else (hi if q > hi else q)
        _add(part, w, have_w, i, -log(q))


@njit(**_JIT)
def dense_block(p, Y, w, eps, start, stop, part):
    """l_i = -Σ_k Y[i, k] log(clip(p[i, k])); zero targets add nothing."""
    k = p.shape[1]
    have_w = w.shape[0] > 0
    hi = 1.0 - eps
    for i in range(start, stop):
        row_sum = 0.0
        loss = 0.0
        for t in range(k):
            v = np.float64(p[i, t])
            _observe(part, v)
            row_sum += v
            yt = Y[i, t]
            if yt != 0:
                q = eps if v < eps else (hi if v > hi else v)
                loss -= yt * log(q)
        dev = abs(row_sum - 1.0)
        if dev > part[5]:
            part[5] = dev
        _add(part, w, have_w, i, loss)


@njit(**_JIT)
def binary_block(p, y, w, eps, start, stop, part):
    """l_i = -log(clip(p_i)) if y_i == 1 else -log(clip(1 - p_i)), 1 - p_i taken in p's dtype."""
    have_w = w.shape[0] > 0
    hi = 1.0 - eps
    one = p.dtype.type(1.0)
    for i in range(start, stop):
        pv = p[i]
        _observe(part, np.float64(pv))
        q = np.float64(pv) if y[i] == 1 else np.float64(one - pv)
        q = eps if q < eps else (hi if q > hi else q)
        _add(part, w, have_w, i, -log(q))


@njit(**_JIT)
def logits_labels_block(z, y, w, start, stop, part):
    """l_i = logsumexp(z_i) - z[i, y_i]; if z[i, y_i] = +inf the loss is log(#(+inf) in row)."""
    k = z.shape[1]
    have_w = w.shape[0] > 0
    z3 = z.reshape((z.shape[0], k, 1))
    for i in range(start, stop):
        for t in range(k):
            if z[i, t] != z[i, t]:
                part[4] += 1.0
        zy = np.float64(z[i, y[i]])
        if zy == np.inf:
            n_top = 0.0
            for t in range(k):
                n_top += 1.0 if z[i, t] == np.inf else 0.0
            loss = log(n_top)
        else:
            loss = lse1(z3, i, 0) - zy
        _add(part, w, have_w, i, loss)


@njit(**_JIT)
def logits_binary_block(z, y, w, start, stop, part):
    """l_i = softplus(-z_i) if y_i == 1 else softplus(z_i)  (= softplus(z) - y z, stably)."""
    have_w = w.shape[0] > 0
    for i in range(start, stop):
        zi = np.float64(z[i])
        if zi != zi:
            part[4] += 1.0
        _add(part, w, have_w, i, softplus1(-zi if y[i] == 1 else zi))


# ------------------------------------------------------------------ block drivers
# One serial and one parallel driver per kernel; both walk identical blocks and combine in order.
@njit(**_JIT)
def labels_serial(p, y, w, eps):
    n = p.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in range(nb):
        _init(parts[b])
        labels_block(p, y, w, eps, b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK), parts[b])
    return _combine(parts)


@njit(**_PAR)
def labels_par(p, y, w, eps):
    n = p.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in prange(nb):
        _init(parts[b])
        labels_block(p, y, w, eps, b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK), parts[b])
    return _combine(parts)


@njit(**_JIT)
def dense_serial(p, Y, w, eps):
    n = p.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in range(nb):
        _init(parts[b])
        dense_block(p, Y, w, eps, b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK), parts[b])
    return _combine(parts)


@njit(**_PAR)
def dense_par(p, Y, w, eps):
    n = p.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in prange(nb):
        _init(parts[b])
        dense_block(p, Y, w, eps, b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK), parts[b])
    return _combine(parts)


@njit(**_JIT)
def binary_serial(p, y, w, eps):
    n = p.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in range(nb):
        _init(parts[b])
        binary_block(p, y, w, eps, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK), parts[b])
    return _combine(parts)


@njit(**_PAR)
def binary_par(p, y, w, eps):
    n = p.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in prange(nb):
        _init(parts[b])
        binary_block(p, y, w, eps, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK), parts[b])
    return _combine(parts)


@njit(**_JIT)
def logits_labels_serial(z, y, w):
    n = z.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in range(nb):
        _init(parts[b])
        logits_labels_block(z, y, w, b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK), parts[b])
    return _combine(parts)


@njit(**_PAR)
def logits_labels_par(z, y, w):
    n = z.shape[0]
    nb = max(1, (n + ROW_BLOCK - 1) // ROW_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in prange(nb):
        _init(parts[b])
        logits_labels_block(z, y, w, b * ROW_BLOCK, min(n, (b + 1) * ROW_BLOCK), parts[b])
    return _combine(parts)


@njit(**_JIT)
def logits_binary_serial(z, y, w):
    n = z.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in range(nb):
        _init(parts[b])
        logits_binary_block(z, y, w, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK), parts[b])
    return _combine(parts)


@njit(**_PAR)
def logits_binary_par(z, y, w):
    n = z.shape[0]
    nb = max(1, (n + ELEMENT_BLOCK - 1) // ELEMENT_BLOCK)
    parts = np.empty((nb, _NPART))
    for b in prange(nb):
        _init(parts[b])
        logits_binary_block(z, y, w, b * ELEMENT_BLOCK, min(n, (b + 1) * ELEMENT_BLOCK), parts[b])
    return _combine(parts)
