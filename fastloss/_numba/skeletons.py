"""The loss loops, written once; fastloss/_numba/engine.py compiles one copy per (loss, operation).

The skeletons are plain Python functions, never jitted as they are (the helpers below them are
jitted once and shared): the engine copies one with its formula
names bound -- ``LOSS``, ``GRADIENT``, ``HESSIAN``, ``LOSS_GRADIENT`` with ``FUSED``, ``GRADIENT_HESSIAN``
with ``FUSED_HESSIAN`` (elementwise,
paired) or ``ROW``, ``SOFTMAX`` (whether the tiles compute the softmax too), ``WEIGHT`` and
``TARGET`` (how a row's weight and target are read: labels or distributions) for rows, and ``MODE`` (fastloss._catalogue.MODES: which outputs are written) --
and jits the copy, so each compiled loop holds one loss's formulas and nothing else.
Names an operation does not use are bound to stand-ins that cost nothing to compile.

Every skeleton computes blocks ``b0 .. b1`` of fixed size and writes, per block, ``parts[blk] =
(Σ w l, Σ w, number of nan written to grad/hess)``; the caller adds the partials in block order,
so a result does not depend on how blocks are spread over threads. Arguments: ``y`` targets,
``raw``, ``w`` sample weights (float64, length 0: all 1), ``p`` the loss's parameters (a tuple of
floats), ``scale`` multiplies gradients (1/Σw for a mean; hessians are never scaled), ``out`` the
per-sample w*l (length 0: not stored), ``grad``/``hess`` raw's shape. A row of weight 0 adds
nothing and gets exact zeros, whatever its loss.
"""
import numpy as np
from numba import njit

from .._constants import ELEMENT_BLOCK, ROW_BLOCK
from ._math import exp as exp_lanes  # float32 arithmetic for a float32 argument
from .special import exp_neg_abs_chunk
from ._math import exp64, log64, log1p64
from ._tiled import (MAX_TILED_K, TILE, exp_unshifted, lse_lanes, lse_passes, normalise_terms,
                     row_in_range, row_sum)

# Loss loops compute a chunk of per-sample losses into a buffer with no loop-carried dependency
# (so LLVM vectorises the branch-free math), then add the buffer with 8 accumulators in a fixed
# order: a plain `s += l` in the same loop would serialise it (no fast-math reassociation: the
# compensated steps of _math must stay exact).
CHUNK = 256

# bound by the engine (these defaults only make the module importable and readable)
LOSS = GRADIENT = HESSIAN = LOSS_GRADIENT = GRADIENT_HESSIAN = ROW = WEIGHT = TARGET = None
EXP_ENOUGH = LOSS_FROM_EXP = LOSS_GRADIENT_FROM_EXP = GRADIENT_FROM_EXP = GRADIENT_HESSIAN_FROM_EXP = None
FUSED = FUSED_HESSIAN = FROM_EXP = False
USES_LOGSUMEXP = SOFTMAX = True
# the softmax_ce_tiles losses: no tiles of their own (USES_LOGSUMEXP, SOFTMAX False); each row
# SOFTMAX_CE_TILE leaves takes its logsumexp (and softmax) by itself
ROW_BY_ROW = SOFTMAX_BY_ROW = False
TRIVIAL = False
SOFTMAX_CE_TILE = None  # softmax_ce_tile for the softmax_ce_tiles losses, else a stand-in
SOFTMAX_CE_ROW_LOSS = None  # softmax_ce_row_loss for the softmax_ce_tiles losses, else a stand-in
MODE = 0


@njit(inline="always")
def row_in_float64(rows, i, scratch):
    """Row i of ``rows`` copied into scratch as float64 (the formulas' math is float64 whatever
    raw's dtype). Always a copy, never the view ``rows[i]``: the kernels run without NRT (no
    reference counts, see engine.kernel), where a function cannot return a new view, and k
    copied values cost less than the atomic incref/decref pair a view took per row."""
    for t in range(rows.shape[1]):
        scratch[t] = rows[i, t]
    return scratch


@njit(inline="always")
def sum_chunk(buf, m):
    """buf[0:m] added with 8 accumulators, combined pairwise (a fixed order)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    j = 0
    while j + 8 <= m:
        a0 += buf[j]
        a1 += buf[j + 1]
        a2 += buf[j + 2]
        a3 += buf[j + 3]
        a4 += buf[j + 4]
        a5 += buf[j + 5]
        a6 += buf[j + 6]
        a7 += buf[j + 7]
        j += 8
    while j < m:
        a0 += buf[j]
        j += 1
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


# ================================================================ elementwise: raw (n,)
def gradient_one(yi, ri, e, p):
    """g at one element (e = exp(-|r|) of the exp_lanes losses, unused by the others)."""
    if FROM_EXP:
        return GRADIENT_FROM_EXP(yi, ri, e, *p)
    return GRADIENT(yi, ri, *p)


def gradient_hessian_one(yi, ri, e, p):
    """(g, h) at one element: the fused formula where the loss has one."""
    if FROM_EXP:
        return GRADIENT_HESSIAN_FROM_EXP(yi, ri, e, *p)
    if FUSED_HESSIAN:
        return GRADIENT_HESSIAN(yi, ri, *p)
    return GRADIENT(yi, ri, *p), HESSIAN(yi, ri, *p)


def loss_one(yi, ri, e, p):
    """l at one element (e = exp(-|r|) of the exp_lanes losses, unused by the others)."""
    if FROM_EXP:
        return LOSS_FROM_EXP(yi, ri, e, *p)
    return LOSS(yi, ri, *p)


def loss_gradient_one(yi, ri, e, p):
    """(l, g) at one element: the fused formula where the loss has one."""
    if FROM_EXP:
        return LOSS_GRADIENT_FROM_EXP(yi, ri, e, *p)
    if FUSED:
        return LOSS_GRADIENT(yi, ri, *p)
    return LOSS(yi, ri, *p), GRADIENT(yi, ri, *p)


def write_derivatives(yc, rc, wc, gc, hc, ec, mc, p, scale):
    """The gradient (MODE 1) or gradient and hessian (MODE 3) of elements 0 .. mc of the views
    (ec: their e = exp(-|r|) for the exp_lanes losses, else unread); returns the number of nan
    written. The weighted and unweighted loops are separate (a test of the weights inside ran
    MODE 1 1.5x slower). A weighted gradient is (scale * w) * g, or exactly 0 where w = 0
    (scale * w <= 1 for a mean: no overflow); the gradient of a sum (scale = 1, every `gradient`
    call) has a loop of its own, written 1 * (w * g or 0) -- the same bits: a loop that stored
    the select itself, `w * g if w != 0 else 0` or `(scale * w) * g if ...`, ran 1.6x slower
    in Numba (squared_error, 2e5 on one core: 0.41 vs 0.26 ms; LLVM's doing, measured).
    Helpers that call the bound formulas: the engine copies them into each kernel
    (KERNEL_HELPERS), as the skeletons."""
    n_nan = 0
    have_w = wc.shape[0] > 0
    if MODE == 1 and have_w and scale == 1.0:
        for j in range(mc):
            wi = wc[j]
            g = gradient_one(np.float64(yc[j]), np.float64(rc[j]), np.float64(ec[j]) if FROM_EXP else 0.0, p)
            g = scale * (wi * g if wi != 0.0 else 0.0)
            gc[j] = g
            n_nan += 1 if g != g else 0
    elif MODE == 1 and have_w:
        for j in range(mc):
            wi = wc[j]
            g = gradient_one(np.float64(yc[j]), np.float64(rc[j]), np.float64(ec[j]) if FROM_EXP else 0.0, p)
            g = (scale * wi) * g if wi != 0.0 else 0.0
            gc[j] = g
            n_nan += 1 if g != g else 0
    elif MODE == 1:
        for j in range(mc):
            g = scale * gradient_one(np.float64(yc[j]), np.float64(rc[j]), np.float64(ec[j]) if FROM_EXP else 0.0, p)
            gc[j] = g
            n_nan += 1 if g != g else 0
    elif have_w:
        for j in range(mc):
            wi = wc[j]
            g, h = gradient_hessian_one(np.float64(yc[j]), np.float64(rc[j]), np.float64(ec[j]) if FROM_EXP else 0.0, p)
            g = wi * g if wi != 0.0 else 0.0
            h = wi * h if wi != 0.0 else 0.0
            gc[j] = g
            hc[j] = h
            n_nan += (1 if g != g else 0) + (1 if h != h else 0)
    else:
        for j in range(mc):
            g, h = gradient_hessian_one(np.float64(yc[j]), np.float64(rc[j]), np.float64(ec[j]) if FROM_EXP else 0.0, p)
            gc[j] = g
            hc[j] = h
            n_nan += (1 if g != g else 0) + (1 if h != h else 0)
    return n_nan


def softmax_ce_tile(p, yb, wb, cw, have_w, have_cw, ignore, i0, nt, rflat, store, scale, ob, gb, hb,
                    e, q, wl, done, zmean):
    """Rows i0 .. i0 + nt of the softmax cross-entropy (label smoothing eps = p[0]) without a
    max shift, as fastloss/_numba/_tiled.py's label_losses_unshifted: e_t = e**z_t over the
    tile's flat elements (rflat, one vectorised loop), so = the sum of a row's e_t but its
    label's, S = so + e_y; lse - z_y = log1p(so / e_y) (relative precision however small);
    with eps, l = (1 - eps)(lse - z_y) + eps (log S - mean z). p_t = e_t / S (a division per
    term, not a product with 1 / S, which made a dominant p_t 1 - 2**-53 and its p (1 - p) 1e-16
    instead of 1 and 0: 4% of loss_gradient's time), g = p - t and h = p (1 - p) as the generic
    formula computes them (and scikit-learn, PyTorch, LightGBM; the boosters' fused kernels give
    the same float32 bits). Weights as the generic rows loop (weight 0: zero rows).

    A row is done here when its |z| all lie within UNSHIFTED_RANGE (no e_t overflows or leaves
    the normal range) and K <= MAX_TILED_K; the others (done[j] = 0) are left to the generic
    loop. The test is per row, so a row's bits never depend on its neighbours; a tile whose
    elements all pass (tested in the exp loop) skips it. Returns (rows done, their Σ w l,
    their Σ w). e: nt * K scratch; q, wl, done, zmean (eps (lse - mean z)): TILE."""
    k = rflat.shape[0] // nt
    if k > MAX_TILED_K:  # (K <= 128 keeps so / e_y finite, see UNSHIFTED_RANGE)
        return 0, 0.0, 0.0
    eps = p[0]  # label smoothing: t = (1 - eps) onehot(y) + eps / K
    off = eps / k
    clean = exp_unshifted(rflat, e)
    for j in range(nt):
        # the label's term set aside (in q) and zeroed, in a pass of its own: zeroed in the row
        # loop, the store raced the row's loads (as in _tiled.label_losses_unshifted)
        yj = yb[i0 + j]
        if yj >= 0 and yj < k:  # (not an ignored label)
            q[j] = e[j * k + yj]
            e[j * k + yj] = 0.0
    n_done = nt
    sw = 0.0
    for j in range(nt):
        ey = q[j]
        q[j] = 0.0
        wl[j] = 0.0
        zmean[j] = 0.0
        done[j] = 1.0
        b = j * k
        if not clean and not row_in_range(rflat, b, k):
            done[j] = 0.0
            n_done -= 1
            continue
        i = i0 + j
        wi = label_weight(yb, wb, i, have_w, cw, have_cw, ignore)
        sw += wi
        wl[j] = wi
        if wi == 0.0:
            _zero_row(MODE, i, k, store, ob, gb, hb)
            continue
        yj = yb[i]
        so = row_sum(e, b, k)
        q[j] = so / ey
        if eps != 0.0 and k > 1:
            # eps (lse - mean z), lse = log S: >= eps log K (Jensen), clamped at 0 against
            # rounding; scalar (a second vectorised log loop cost compile time, not speed)
            zs = 0.0
            for t in range(k):
                zs += np.float64(rflat[b + t])
            d = log64(so + ey) - zs / k
            zmean[j] = eps * (d if d > 0.0 else 0.0)
        if MODE != 0:
            total = so + ey
            gs = wi * scale if MODE != 3 else wi
            for t in range(k):
                pt = e[b + t] / total
                gb[i, t] = gs * (pt - off)
                if MODE == 3:
                    hb[i, t] = wi * (pt * (1.0 - pt))
            py = ey / total
            gb[i, yj] = gs * ((py - off) - (1.0 - eps))
            if MODE == 3:
                hb[i, yj] = wi * (py * (1.0 - py))
    s = 0.0
    if MODE == 0 or MODE == 2 or store:
        # (1 - eps)(lse - z_y) + eps (lse - mean z) (zmean holds the second part; 0 without eps:
        # (1 - 0) x + 0 is x)
        for j in range(nt):  # apart, so log1p vectorises across the rows (rows not done add 0)
            q[j] = wl[j] * ((1.0 - eps) * log1p64(q[j]) + zmean[j])
    if MODE == 0 or MODE == 2 or store:
        for j in range(nt):  # in row order, as the generic loop adds
            s += q[j]
            if store and done[j] != 0.0:
                ob[i0 + j] = q[j]
    return n_done, s, sw


KERNEL_HELPERS = (gradient_one, gradient_hessian_one, loss_one, loss_gradient_one, write_derivatives,
                  softmax_ce_tile)


def elementwise(y, raw, w, p, scale, out, grad, hess, parts, b0, b1, buf, ebuf):
    """buf: CHUNK float64 of scratch, ebuf: CHUNK of raw's dtype, both allocated by the caller
    (no allocation to compile here)."""
    n = raw.shape[0]
    have_w = w.shape[0] > 0
    store = out.shape[0] > 0
    for blk in range(b0, b1):
        lo = blk * ELEMENT_BLOCK
        hi = min(n, lo + ELEMENT_BLOCK)
        m = hi - lo
        # block views: the indices below start at 0, so Numba drops its negative-index
        # wraparound, which otherwise slows these loops ~3.5x (BCE gradient, 1e6 on one core:
        # 11.4 -> 3.2 ms)
        yb, rb, wb, ob, gb, hb = y[lo:hi], raw[lo:hi], w[lo:hi], out[lo:hi], grad[lo:hi], hess[lo:hi]
        s = 0.0
        sw = 0.0
        n_nan = 0
        if MODE == 0 or MODE == 2:  # Σ w belongs to the loss modes (as in the Cython kernels);
            # lane accumulators: a plain `sw += wb[i]` serialises the loop
            sw = sum_chunk(wb, m) if have_w else m
        if FROM_EXP and (MODE == 1 or MODE == 3):
            # e = exp(-|r|) a chunk at a time, in raw's dtype: for float32, float32 lanes (8 per
            # instruction; a loop that stored float64 measured no faster than float64 math),
            # except in a chunk with a target where that is not accurate enough (see _formulas);
            # a chunk that fails takes the full float64 exp
            narrow = rb.itemsize == 4
            for c0 in range(0, m, CHUNK):
                mc = min(CHUNK, m - c0)
                yc, rc, gc, hc = yb[c0:c0 + mc], rb[c0:c0 + mc], gb[c0:c0 + mc], hb[c0:c0 + mc]
                wc = wb[c0:c0 + mc] if have_w else wb
                coarse = 0
                if narrow:
                    for j in range(mc):
                        ebuf[j] = exp_lanes(-abs(rc[j]))
                    for j in range(mc):
                        coarse += 0 if EXP_ENOUGH(np.float64(yc[j]), np.float64(rc[j])) == 1.0 else 1
                if narrow and coarse == 0:
                    n_nan += write_derivatives(yc, rc, wc, gc, hc, ebuf, mc, p, scale)
                else:
                    exp_neg_abs_chunk(rc, buf, mc)
                    n_nan += write_derivatives(yc, rc, wc, gc, hc, buf, mc, p, scale)
        elif MODE == 1 or MODE == 3:
            n_nan += write_derivatives(yb, rb, wb, gb, hb, rb, m, p, scale)
        else:
            # the loss modes: a chunk of losses into buf, then buf added in a fixed order (the
            # exp_lanes losses: buf holds the chunk's e = exp(-|r|) first, each read before its
            # element's loss overwrites it)
            for c0 in range(0, m, CHUNK):
                mc = min(CHUNK, m - c0)
                yc, rc, wc, gc = yb[c0:c0 + mc], rb[c0:c0 + mc], wb[c0:c0 + mc], gb[c0:c0 + mc]
                if FROM_EXP:
                    exp_neg_abs_chunk(rc, buf, mc)
                if MODE == 0 and have_w:
                    for j in range(mc):
                        wi = wc[j]
                        l = loss_one(np.float64(yc[j]), np.float64(rc[j]), buf[j], p)
                        buf[j] = wi * l if wi != 0.0 else 0.0
                elif MODE == 0:
                    for j in range(mc):
                        buf[j] = loss_one(np.float64(yc[j]), np.float64(rc[j]), buf[j], p)
                elif have_w:
                    for j in range(mc):
                        wi = wc[j]
                        l, g = loss_gradient_one(np.float64(yc[j]), np.float64(rc[j]), buf[j], p)
                        buf[j] = wi * l if wi != 0.0 else 0.0
                        g = (scale * wi) * g if wi != 0.0 else 0.0
                        gc[j] = g
                        n_nan += 1 if g != g else 0
                else:
                    for j in range(mc):
                        l, g = loss_gradient_one(np.float64(yc[j]), np.float64(rc[j]), buf[j], p)
                        buf[j] = l
                        g = scale * g
                        gc[j] = g
                        n_nan += 1 if g != g else 0
                if store:
                    oc = ob[c0:c0 + mc]
                    for j in range(mc):
                        oc[j] = buf[j]
                s += sum_chunk(buf, mc)
        parts[blk, 0] = s
        parts[blk, 1] = sw
        parts[blk, 2] = n_nan


# ================================================================ paired: raw (n, 2)
def paired(y, raw, w, p, scale, out, grad, hess, parts, b0, b1):
    n = raw.shape[0]
    have_w = w.shape[0] > 0
    store = out.shape[0] > 0
    for blk in range(b0, b1):
        lo = blk * ELEMENT_BLOCK
        hi = min(n, lo + ELEMENT_BLOCK)
        # block views: the indices below start at 0, so Numba drops its negative-index
        # wraparound, which otherwise slows these loops ~3.5x (BCE gradient, 1e6 on one core:
        # 11.4 -> 3.2 ms)
        yb, rb, wb, ob, gb, hb = y[lo:hi], raw[lo:hi], w[lo:hi], out[lo:hi], grad[lo:hi], hess[lo:hi]
        s = 0.0
        sw = 0.0
        n_nan = 0
        for i in range(hi - lo):
            wi = wb[i] if have_w else 1.0
            sw += wi
            if wi == 0.0:
                if store:
                    ob[i] = 0.0
                if MODE != 0:
                    gb[i, 0] = 0.0
                    gb[i, 1] = 0.0
                if MODE == 3:
                    hb[i, 0] = 0.0
                    hb[i, 1] = 0.0
                continue
            yi = np.float64(yb[i])
            r0 = np.float64(rb[i, 0])
            r1 = np.float64(rb[i, 1])
            if MODE == 0 or MODE == 2:
                l = wi * LOSS(yi, r0, r1, *p)
                s += l
                if store:
                    ob[i] = l
            if MODE != 0:
                g0, g1 = GRADIENT(yi, r0, r1, *p)
                gs = wi * scale if MODE != 3 else wi
                gb[i, 0] = gs * g0
                gb[i, 1] = gs * g1
                n_nan += (1 if g0 != g0 else 0) + (1 if g1 != g1 else 0)
            if MODE == 3:
                h0, h1 = HESSIAN(yi, r0, r1, *p)
                hb[i, 0] = wi * h0
                hb[i, 1] = wi * h1
                n_nan += (1 if h0 != h0 else 0) + (1 if h1 != h1 else 0)
        parts[blk, 0] = s
        parts[blk, 1] = sw
        parts[blk, 2] = n_nan


# ================================================================ rows: raw (n, K)
@njit(inline="always")
def _write_row(mode, i, k, wi, gs, grow, hrow, grad, hess, loss):
    """Weighted gradient / hessian row i from the formula's unweighted rows; nan count. (Shared
    by every kernel: mode is a constant where it is inlined, LLVM folds the branches.)"""
    n_nan = 0
    if mode != 0:
        for t in range(k):
            grad[i, t] = gs * grow[t]
    if mode == 3:
        for t in range(k):
            hess[i, t] = wi * hrow[t]
    if mode != 0 and loss != loss:
        n_nan = k
    return n_nan


@njit(inline="always")
def row_logsumexp(z, k):
    """(logsumexp of z[0:k] (float64), its max m, the count c of maxima, the sum s of exp(z - m)
    over the other terms, lse - m = log(c) + log1p(s / c)): lse = m + (lse - m) as
    fastloss/_numba/special.py's lse1, scalar: the rows a softmax_ce_tiles kernel does not take
    in tiles (a logit beyond 350, inf, nan; K > 128) are rare enough that a vectorised tile (1.1
    s of each such kernel's first compile) does not pay. A nan gives (nan, nan, 1, 0, nan), an
    infinite max (m, m, 1, 0, 0)."""
    mx = -np.inf
    bad = False
    for t in range(k):
        v = z[t]
        mx = v if v > mx else mx
        bad = bad or v != v
    if bad:
        return np.nan, np.nan, 1.0, 0.0, np.nan
    if mx == np.inf or mx == -np.inf:
        return mx, mx, 1.0, 0.0, 0.0
    c = 0.0
    sm = 0.0
    for t in range(k):
        is_max = z[t] == mx
        c += 1.0 if is_max else 0.0
        sm += 0.0 if is_max else exp64(z[t] - mx)
    above = log64(c) + log1p64(sm / c)
    return mx + above, mx, c, sm, above


@njit(inline="always")
def formula_loss(p, loss, z, y, m, above):
    """SOFTMAX_CE_ROW_LOSS for the losses without softmax_ce_tiles: the formula's loss as it is
    (inlined in Numba's IR: a stand-in compiled on its own cost their first calls 0.2 s)."""
    return loss


@njit(inline="always")
def softmax_ce_row_loss(p, loss, z, y, m, above):
    """A by-row softmax cross-entropy row's loss without lse - z_y's cancellation (label smoothing
    p[0] = 0, a finite loss and max): (m - z_y) + (lse - m), both parts >= 0, as the unshifted
    tiles and the NumPy reference keep small losses; else the formula's loss."""
    if p[0] == 0.0 and loss == loss and abs(loss) < np.inf and abs(m) < np.inf:
        return (m - z[y]) + above
    return loss


@njit(inline="always")
def _zero_row(mode, i, k, store, out, grad, hess):
    if store:
        out[i] = 0.0
    if mode != 0:
        for t in range(k):
            grad[i, t] = 0.0
    if mode == 3:
        for t in range(k):
            hess[i, t] = 0.0


@njit(inline="always")
def label_weight(yb, wb, i, have_w, cw, have_cw, ignore):
    """w[i] * cw[y[i]]; 0 when y[i] == ignore."""
    yi = yb[i]
    if yi == ignore:
        return 0.0
    wi = wb[i] if have_w else 1.0
    return wi * cw[yi] if have_cw else wi


@njit(inline="always")
def label_target(yb, i, scratch, cf, have_cf):
    """(the label, cf[label] or 1 when cf is empty)."""
    yi = yb[i]
    return yi, (cf[yi] if have_cf else 1.0)


@njit(inline="always")
def distribution_weight(yb, wb, i, have_w, cw, have_cw, ignore):
    return wb[i] if have_w else 1.0


@njit(inline="always")
def distribution_target(yb, i, scratch, cf, have_cf):
    """(the target row as float64, 1)."""
    return row_in_float64(yb, i, scratch), 1.0


def rows(y, raw, w, cw, cf, ignore, p, scale, out, grad, hess, parts, b0, b1, tiles, lanes, vecs):
    """y: integer labels or target distributions (n, K), read by the bound WEIGHT and TARGET
    (label_* or distribution_*). The rows' logsumexp (and softmax) is computed a tile of TILE rows at a time,
    vectorised across the rows (fastloss/_numba/_tiled.py). Scratch, allocated by the caller (no
    allocation to compile here): tiles (2, K, TILE), lanes (7, TILE), vecs (5, K)."""
    n, k = raw.shape
    have_w = w.shape[0] > 0
    have_cw = cw.shape[0] > 0
    have_cf = cf.shape[0] > 0
    store = out.shape[0] > 0
    tbuf, tp = tiles[0], tiles[1]  # the tile transposed; its softmax (gradient modes)
    tmx, tcnt, tsum, tbad, tinv, tlse = lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5]
    tdone = lanes[6]
    zrow, trow, srow, grow, hrow = vecs[0], vecs[1], vecs[2], vecs[3], vecs[4]
    for blk in range(b0, b1):
        lo = blk * ROW_BLOCK
        hi = min(n, lo + ROW_BLOCK)
        # block views: the indices below start at 0, so Numba drops its negative-index
        # wraparound, which otherwise slows these loops ~3.5x (BCE gradient, 1e6 on one core:
        # 11.4 -> 3.2 ms)
        yb, rb, wb, ob, gb, hb = y[lo:hi], raw[lo:hi], w[lo:hi], out[lo:hi], grad[lo:hi], hess[lo:hi]
        s = 0.0
        sw = 0.0
        n_nan = 0
        rflat = rb.reshape(-1)
        eflat = tiles[0].reshape(-1)
        for c in range((hi - lo + TILE - 1) // TILE):
            i0 = c * TILE
            nt = min(TILE, hi - lo - i0)
            n_done, tile_s, tile_sw = SOFTMAX_CE_TILE(p, yb, wb, cw, have_w, have_cw, ignore, i0, nt,
                                                      rflat[i0 * k:(i0 + nt) * k], store, scale, ob, gb, hb,
                                                      eflat, tinv, tlse, tdone, tcnt)
            s += tile_s
            sw += tile_sw
            if n_done == nt:
                continue
            if USES_LOGSUMEXP:  # this tile's logsumexps (and softmax), vectorised across its rows
                lse_passes(rb[i0:i0 + nt], tbuf, tmx, tcnt, tsum, tbad, SOFTMAX, tp)
                if SOFTMAX:
                    normalise_terms(nt, k, tcnt, tsum, tinv, tp)
                lse_lanes(nt, tmx, tcnt, tsum, tbad, tlse)
            for jt in range(nt):
                if n_done > 0 and tdone[jt] != 0.0:
                    continue  # done by SOFTMAX_CE_TILE
                i = i0 + jt
                wi = WEIGHT(yb, wb, i, have_w, cw, have_cw, ignore)
                sw += wi
                if wi == 0.0:
                    _zero_row(MODE, i, k, store, ob, gb, hb)
                    continue
                target, cfy = TARGET(yb, i, trow, cf, have_cf)
                z = row_in_float64(rb, i, zrow)
                lse = 0.0
                if USES_LOGSUMEXP:
                    lse = tlse[jt]
                if SOFTMAX:
                    for t in range(k):
                        srow[t] = tp[t, jt]
                m, c, sm, above = 0.0, 1.0, 0.0, 0.0
                if ROW_BY_ROW:  # the rows SOFTMAX_CE_TILE left: one at a time, scalar
                    lse, m, c, sm, above = row_logsumexp(z, k)
                    if SOFTMAX_BY_ROW:
                        inv = 1.0 / (c + sm)  # as the tiles: exp(z - m) / (c + s)
                        for t in range(k):
                            srow[t] = exp64(z[t] - m) * inv
                loss = ROW(z, srow, grow, hrow, MODE, k, lse, target, cfy, *p)
                if ROW_BY_ROW:
                    loss = SOFTMAX_CE_ROW_LOSS(p, loss, z, target, m, above)
                l = wi * loss
                s += l
                if store:
                    ob[i] = l
                n_nan += _write_row(MODE, i, k, wi, wi * scale if MODE != 3 else wi, grow, hrow, gb, hb,
                                    loss)
        parts[blk, 0] = s
        parts[blk, 1] = sw
        parts[blk, 2] = n_nan
