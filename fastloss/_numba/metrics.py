"""Numba log-loss kernels (see fastloss/_numpy/metrics.py for the contract and return tuples).

Each ``*_block`` computes the partials of one block, given as views (so every loop index starts
at 0 and Numba drops its negative-index wraparound, which would slow the loops several times);
``*_blocks`` runs every block of the arrays it is given, writing one row of ``parts`` each (the
block is inlined in Numba's IR, so each kernel is one compiled function: compiled on their own,
the block's code went through LLVM twice, once for itself and once linked into the driver --
log_loss_from_logits with labels, first call on an empty cache, median of 7 alternating fresh
processes: 9.7 -> 8.1 s; log_loss with labels 4.7 -> 3.5 s). The
backend's driver (fastloss/_numba/__init__.py) gives each thread a share of whole blocks and adds
the partials in block order, so the result is bitwise identical for any thread count. Validation (min, max, nan count, worst row-sum error) is gathered from the same
block while it is in cache, not in a separate sweep over the input. No n x k temporary is made;
per-block buffers hold at most one block of per-sample losses.
"""
import numpy as np
from numba import njit

from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from ._math import log, log64_normal
from ._flags import JIT as _JIT, TAG, cached_jit, copy_function
from . import _tiled
from ._tiled import MAX_TILED_K
from .skeletons import row_logsumexp
from .special import CHUNK, exp_neg_abs_chunk, softplus_e

# partials layout: 0 Σw·l, 1 Σw, 2 min p, 3 max p, 4 #nan, 5 worst |row sum - 1|
_NPART = 6
_DBL_MIN = 2.2250738585072014e-308  # the smallest normal float64


@njit(inline="always")
def _init(part):
    part[0] = 0.0
    part[1] = 0.0
    part[2] = np.inf
    part[3] = -np.inf
    part[4] = 0.0
    part[5] = 0.0


@njit(inline="always")
def _add(part, w, have_w, i, loss):
    """Accumulate w_i * loss_i; a zero weight adds nothing even if the loss is infinite."""
    if have_w:
        wi = np.float64(w[i])
        if wi != 0.0:
            part[0] += wi * loss
        part[1] += wi
    else:
        part[0] += loss
        part[1] += 1.0


@njit(inline="always")
def _observe(part, v):
    if v < part[2]:
        part[2] = v
    if v > part[3]:
        part[3] = v
    if v != v:
        part[4] += 1.0


def combine(parts):
    """The blocks' partials combined in block order (plain Python: a few hundred blocks at most
    per million rows, and the sums' order fixed, so the result does not depend on the threads)."""
    total = [0.0, 0.0, np.inf, -np.inf, 0.0, 0.0]
    for b in parts.tolist():
        total[0] += b[0]
        total[1] += b[1]
        total[2] = min(total[2], b[2])
        total[3] = max(total[3], b[3])
        total[4] += b[4]
        total[5] = max(total[5], b[5])
    return total


@njit(inline="always")
def _lane(v, lo, hi, nn):
    """One lane of _scan: its min and max (nan ignored) and nan count, updated with v."""
    return (v if v < lo else lo), (v if v > hi else hi), nn + (0.0 if v == v else 1.0)


@cached_jit(forceinline=True, **_JIT)
def _scan(part, p):
    """min, max (ignoring nan) and nan count of flat p into part[2:5].

    Four independent lanes (lane j sees entries j, j + 4, ...) held in local variables: a single
    running min is a serial dependency chain, and lanes kept in arrays (mn[j], as before) ran
    1.8x slower, every update going through memory (40,960 doubles in L2, one core: 37.7 -> 20.5
    us). Any lane order gives the same min, max and count.
    """
    n = p.shape[0]
    lo0 = lo1 = lo2 = lo3 = np.inf
    hi0 = hi1 = hi2 = hi3 = -np.inf
    nn0 = nn1 = nn2 = nn3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        lo0, hi0, nn0 = _lane(np.float64(p[i]), lo0, hi0, nn0)
        lo1, hi1, nn1 = _lane(np.float64(p[i + 1]), lo1, hi1, nn1)
        lo2, hi2, nn2 = _lane(np.float64(p[i + 2]), lo2, hi2, nn2)
        lo3, hi3, nn3 = _lane(np.float64(p[i + 3]), lo3, hi3, nn3)
    for i in range(n4, n):
        _observe(part, np.float64(p[i]))
    for lo, hi in ((lo0, hi0), (lo1, hi1), (lo2, hi2), (lo3, hi3)):
        part[2] = lo if lo < part[2] else part[2]  # selects: no min/max overload to compile
        part[3] = hi if hi > part[3] else part[3]
    part[4] += (nn0 + nn1) + (nn2 + nn3)


@cached_jit(forceinline=True, **_JIT)
def _add_losses(part, loss, w, have_w, n):
    """part[0] += Σ w_i·loss_i (zero weights add nothing), part[1] += Σ w_i; four running sums
    break the add latency chain (fixed order: deterministic)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    sw = 0.0
    n4 = n - n % 4
    if have_w:
        for j in range(0, n4, 4):
            w0 = np.float64(w[j])  # float32 weights are widened before any arithmetic
            w1 = np.float64(w[j + 1])
            w2 = np.float64(w[j + 2])
            w3 = np.float64(w[j + 3])
            s0 += 0.0 if w0 == 0.0 else w0 * loss[j]
            s1 += 0.0 if w1 == 0.0 else w1 * loss[j + 1]
            s2 += 0.0 if w2 == 0.0 else w2 * loss[j + 2]
            s3 += 0.0 if w3 == 0.0 else w3 * loss[j + 3]
            sw += (w0 + w1) + (w2 + w3)
        for j in range(n4, n):
            wj = np.float64(w[j])
            s0 += 0.0 if wj == 0.0 else wj * loss[j]
            sw += wj
    else:
        for j in range(0, n4, 4):
            s0 += loss[j]
            s1 += loss[j + 1]
            s2 += loss[j + 2]
            s3 += loss[j + 3]
        for j in range(n4, n):
            s0 += loss[j]
        sw = float(n)
    part[0] += (s0 + s1) + (s2 + s3)
    part[1] += sw


@njit(inline="always")
def labels_block(p, y, w, eps, part):
    """l_i = -log(clip(p[i, y_i], eps, 1 - eps)); clipping as scikit-learn (eps of p's dtype).

    Three passes over the block while it is in cache: a branch-free range check of every entry,
    the row sums, and the clipped log of the picked entries (a vectorised log over the block).
    The row sums go TILE rows at a time, each added in the row's order (as the Cython kernels),
    the inner loop across the rows: TILE independent sums (as fast as the two running sums per
    row before, in cache; the same order as Cython's). With _scan's local lanes, 1e6 x 10 on one
    core: 24.0 -> 20.1 ms for the whole call."""
    n, k = p.shape
    nan_before = part[4]
    _scan(part, p.reshape(n * k))
    worst = part[5]
    rs = np.empty(_tiled.TILE)
    for i0 in range(0, n, _tiled.TILE):
        nt = min(_tiled.TILE, n - i0)
        tile = p[i0:i0 + nt]
        for j in range(nt):
            rs[j] = 0.0
        for t in range(k):
            for j in range(nt):
                rs[j] += np.float64(tile[j, t])
        for j in range(nt):
            dev = abs(rs[j] - 1.0)
            worst = dev if dev > worst else worst
    part[5] = worst
    loss = np.empty(n)
    for j in range(n):
        loss[j] = np.float64(p[j, y[j]])
    if _normal_clip(eps, part, nan_before):
        _clipped_logs(loss, eps, True)
    else:
        _clipped_logs(loss, eps, False)
    _add_losses(part, loss, w, w.shape[0] > 0, n)


@njit(inline="always")
def _normal_clip(eps, part, nan_before):
    """Every probability clipped to [eps, 1 - eps] is a normal number: both bounds are (a direct
    kernel call with eps >= 1 has 1 - eps <= 0) and _scan found no nan in the block."""
    return eps >= _DBL_MIN and 1.0 - eps >= _DBL_MIN and part[4] == nan_before


@njit(inline="always")
def _clipped_logs(q, eps, normal):
    """q[j] = -log(clip(q[j], eps, 1 - eps)); normal (a constant where this is inlined): every
    clipped q is a normal number, so log64_normal gives log's bits (see _binary_losses)."""
    hi = 1.0 - eps
    for j in range(q.shape[0]):
        v = q[j]
        v = eps if v < eps else (hi if v > hi else v)
        q[j] = -(log64_normal(v) if normal else log(v))


@njit(inline="always")
def dense_block(p, Y, w, eps, part):
    """l_i = -Σ_k Y[i, k] log(clip(p[i, k])); zero targets add nothing."""
    n, k = p.shape
    have_w = w.shape[0] > 0
    hi = 1.0 - eps
    for i in range(n):
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


@njit(inline="always")
def _binary_losses(p, y, eps, loss, normal):
    """loss[j] = -log(clip(q_j)), q_j = p_j if y_j == 1 else 1 - p_j (in p's dtype); returns the
    number of codes outside {0, 1}. normal (a constant where this is inlined): every clipped q
    is a normal number (eps >= 2**-1022, no nan in p), so log64_normal gives log's bits without
    its subnormal and special-value steps."""
    hi = 1.0 - eps
    one = p.dtype.type(1.0)
    outside = 0  # codes not in {0, 1}: the caller may hand over unchecked labels (part[5]); an
    # integer count, which does not stop the loop from vectorising
    for j in range(p.shape[0]):
        pv = p[j]
        yj = y[j]
        q = np.float64(pv) if yj == 1 else np.float64(one - pv)
        q = eps if q < eps else (hi if q > hi else q)
        loss[j] = -(log64_normal(q) if normal else log(q))
        outside += 0 if (yj == 0 or yj == 1) else 1
    return outside


@njit(inline="always")
def binary_block(p, y, w, eps, part):
    """l_i = -log(clip(p_i)) if y_i == 1 else -log(clip(1 - p_i)), 1 - p_i taken in p's dtype;
    part[5] counts the codes outside {0, 1}."""
    n = p.shape[0]
    nan_before = part[4]
    _scan(part, p)
    loss = np.empty(n)
    if _normal_clip(eps, part, nan_before):
        outside = _binary_losses(p, y, eps, loss, True)
    else:
        outside = _binary_losses(p, y, eps, loss, False)
    part[5] = np.float64(outside)
    _add_losses(part, loss, w, w.shape[0] > 0, n)


@njit(inline="always")
def logits_labels_block(z, y, w, eps, part):
    """l_i = logsumexp(z_i) - z[i, y_i] for rows of at most MAX_TILED_K logits (longer ones go to
    logits_long_rows_block: fastloss/_numba/__init__.py chooses), a tile at a time:
    label_losses_unshifted where every |z| of the tile allows it, else label_losses_from_lanes
    after the tiled logsumexp (see _tiled); both keep a small loss's relative precision, and
    give log(#(+inf) in row) where z[i, y_i] = +inf. eps is unused."""
    n, k = z.shape
    loss = np.empty(n)
    tile = _tiled.TILE
    buf, mx, cnt, s, bad = _tiled.new_scratch(k)
    zf = z.reshape(-1)
    e = _tiled.new_terms(zf, tile * k)  # float32 lanes for float32 logits
    # the tile's labels as int64: the tile functions compile once per logits dtype, not once
    # per label dtype too (uint8, int32, ... labels: ~4 s less per first call)
    yt = np.empty(tile, np.int64)
    for c in range((n + tile - 1) // tile):
        i0 = c * tile
        nt = min(tile, n - i0)
        for j in range(nt):
            yt[j] = y[i0 + j]
        if _tiled.label_losses_unshifted(zf[i0 * k:(i0 + nt) * k], yt[:nt], k, e, loss[i0:i0 + nt]):
            continue
        _tiled.lse_tile(z[i0:i0 + nt], buf, mx, cnt, s, bad)
        _tiled.label_losses_from_lanes(z[i0:i0 + nt], yt[:nt], mx, cnt, s, bad, loss[i0:i0 + nt])
        for j in range(nt):  # apart: a running sum in the lanes' loop would serialise it
            part[4] += bad[j]
    _add_losses(part, loss, w, w.shape[0] > 0, n)


@njit(inline="always")
def logits_long_rows_block(z, y, w, eps, part):
    """logits_labels_block's losses for rows longer than MAX_TILED_K, a row at a time, as
    (m - z_y) + (lse - m) from the row's max m and lse - m = log(c) + log1p(s / c) (the loss
    skeletons' row_logsumexp): both parts >= 0, so a small loss keeps its relative precision
    (lse - z_y cancels: a confident row's 1e-17 came out 0). z_y = +inf costs log(#(+inf) in
    the row); a nan gives nan, an infinite max m - z_y (nan for a row of -inf). A kernel of its
    own, so that the common short rows' first call does not compile this path. eps is unused."""
    n, k = z.shape
    loss = np.empty(n)
    for i in range(n):
        row = z[i]
        lse, m, c, s, above = row_logsumexp(row, k)
        zy = np.float64(row[y[i]])
        n_nan = 0.0
        for t in range(k):
            n_nan += 1.0 if row[t] != row[t] else 0.0
        part[4] += n_nan
        if zy == np.inf:
            n_top = 0.0
            for t in range(k):
                n_top += 1.0 if row[t] == np.inf else 0.0
            loss[i] = log(n_top)
        else:
            loss[i] = (m - zy) + above  # m nan or infinite: m - zy, as lse - z_y
    _add_losses(part, loss, w, w.shape[0] > 0, n)


@njit(inline="always")
def logits_binary_block(z, y, w, eps, part):
    """l_i = softplus(-z_i) if y_i == 1 else softplus(z_i)  (= softplus(z) - y z, stably), from
    e = exp(-|z_i|), which both share, a chunk at a time; eps is unused."""
    n = z.shape[0]
    loss = np.empty(n)
    e = np.empty(CHUNK)
    n_nan = 0
    outside = 0  # codes not in {0, 1} (part[5]), as binary_block
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        zc, yc, lc = z[c0:c0 + m], y[c0:c0 + m], loss[c0:c0 + m]
        exp_neg_abs_chunk(zc, e, m)
        for j in range(m):
            zi = np.float64(zc[j])
            yj = yc[j]
            n_nan += 0 if zi == zi else 1
            lc[j] = softplus_e(-zi if yj == 1 else zi, e[j])
            outside += 0 if (yj == 0 or yj == 1) else 1
    part[4] += n_nan
    part[5] = np.float64(outside)
    _add_losses(part, loss, w, w.shape[0] > 0, n)


# ------------------------------------------------------------------ block drivers
def _blocks_template(x, y, w, eps, parts):
    """Every block of the arrays given (BLOCK_SIZE rows or elements each): BLOCK's partials of
    block b in parts[b]."""
    n = x.shape[0]
    for b in range(parts.shape[0]):
        lo, hi = b * BLOCK_SIZE, min(n, (b + 1) * BLOCK_SIZE)  # noqa: F821 (bound per kernel)
        _init(parts[b])
        BLOCK(x[lo:hi], y[lo:hi], w[lo:hi], eps, parts[b])  # noqa: F821


def _blocks(block, size):
    """The compiled driver of ``block``: _blocks_template with BLOCK and BLOCK_SIZE bound (Numba
    takes no function arguments cheaply), named ``<block>s`` for its cache files."""
    name = block.py_func.__name__ + "s"
    namespace = dict(globals(), BLOCK=block, BLOCK_SIZE=size)
    return njit(**_JIT)(copy_function(_blocks_template, namespace, f"{name}__{TAG}"))


labels_blocks = _blocks(labels_block, ROW_BLOCK)
dense_blocks = _blocks(dense_block, ROW_BLOCK)
binary_blocks = _blocks(binary_block, ELEMENT_BLOCK)
logits_labels_blocks = _blocks(logits_labels_block, ROW_BLOCK)
logits_long_rows_blocks = _blocks(logits_long_rows_block, ROW_BLOCK)
logits_binary_blocks = _blocks(logits_binary_block, ELEMENT_BLOCK)
