"""Reference special functions. x arrays are C-contiguous; reductions see x as (m, k, r) and
reduce over the middle axis, writing out as (m, r)."""
import numpy as np


def _wide(x):
    """Work in at least float64 (longdouble stays longdouble)."""
    return x.astype(np.promote_types(x.dtype, np.float64), copy=False)


def expit(x, out):
    """out = 1 / (1 + exp(-x)), evaluated via exp(-|x|) so it never overflows."""
    x = _wide(x)
    e = np.exp(-np.abs(x))
    np.copyto(out, np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), casting="unsafe")


def softplus(x, out):
    """out = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    x = _wide(x)
    with np.errstate(invalid="ignore"):
        np.copyto(out, np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))), casting="unsafe")


def log_expit(x, out):
    """out = log(expit(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    x = _wide(x)
    with np.errstate(invalid="ignore"):
        np.copyto(out, np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))), casting="unsafe")


def _lse_parts(x):
    """Row max m, count c of elements equal to m, s = sum of exp(x - m) over the others."""
    m = np.max(x, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        is_max = x == m
        c = np.sum(is_max, axis=1)
        s = np.sum(np.where(is_max, 0.0, np.exp(x - m)), axis=1)
    return m[:, 0, :], c, s


def logsumexp(x, out):
    """out = log(sum_k exp(x[:, k, :])) = m + log(c) + log1p(s / c)  (Blanchard-Higham-Higham).

    Splitting the c maximal terms out of the sum keeps full relative accuracy when one term
    dominates. A row of -inf gives -inf, a +inf gives +inf, any nan gives nan.
    """
    if x.shape[1] == 0:
        out[...] = -np.inf
        return
    # +inf rows: the inf terms are the maxima and the rest add exp(-inf) = 0, so res = +inf;
    # all -inf rows: every term is a maximum, s = 0 and res = -inf; nan propagates through m.
    m, c, s = _lse_parts(_wide(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[...] = m + np.log(c) + np.log1p(s / c)


def logsumexp_b(x, b, out, sign):
    """out = log|sum_k b*exp(x)|, sign = sign of that sum (scipy's return_sign convention).

    Terms with b == 0 are dropped whatever x is (scipy keeps this behaviour). Shifted by the
    row max of the remaining x; infinite results are recomputed directly as log|sum b*exp(x)|.
    """
    xf = _wide(x)
    bf = _wide(b)
    xf = np.where(bf == 0, -np.inf, xf)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.max(xf, axis=1, keepdims=True) if xf.shape[1] else np.full(out.shape, -np.inf)[:, None]
        mf = np.where(np.isfinite(m), m, 0.0)
        total = np.sum(bf * np.exp(xf - mf), axis=1)
        res = np.log(np.abs(total)) + mf[:, 0, :]
        direct = np.sum(np.where(bf == 0, 0.0, bf * np.exp(xf)), axis=1)
        res = np.where(np.isfinite(m[:, 0, :]), res, np.log(np.abs(direct)))
        sgn = np.sign(np.where(np.isfinite(m[:, 0, :]), total, direct))
    out[...] = res
    sign[...] = sgn


def softmax(x, out):
    """out = exp(x) / sum(exp(x)) along axis 1 where a row's |x| all lie within 350 (every term
    a normal number: no shift needed, and no x - max rounds before its exp), else
    exp(x - max) / sum(exp(x - max)) (nan where max is infinite, as scipy)."""
    xf = _wide(x)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(xf - np.max(xf, axis=1, keepdims=True))
        shifted = e / np.sum(e, axis=1, keepdims=True)
        inside = np.all(np.abs(xf) <= 350.0, axis=1, keepdims=True)
        e = np.exp(np.where(inside, xf, 0.0))
        out[...] = np.where(inside, e / np.sum(e, axis=1, keepdims=True), shifted)


def log_softmax(x, out):
    """out = (x - m) - (log(c) + log1p(s / c)) for a finite row max m (as logsumexp: a dominant
    class's entry keeps its relative precision, -log1p(s) where scipy's log(1 + s) gives 0), else
    scipy's (x - m) - log(sum(exp(x - m))) with m replaced by 0 (inf and nan rows)."""
    xf = _wide(x)
    m, c, s = _lse_parts(xf)
    finite = np.isfinite(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = xf - np.where(finite, m, 0.0)[:, None, :]
        plain = np.log(np.sum(np.exp(t), axis=1))
        out[...] = t - np.where(finite, np.log(c) + np.log1p(s / c), plain)[:, None, :]
