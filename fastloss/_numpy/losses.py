"""Reference loss kernels (NumPy): written independently of fastloss/_formulas.py, vectorised and
readable -- the oracle the tests compare the compiled backends against. Also the statement of the
kernel contract every backend's ``losses`` module follows:

    compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess)
        -> (sum_wl, sum_w, n_nan)

- ``name``: a loss of fastloss/_catalogue.py; ``op``: "loss", "gradient", "loss_gradient" or
  "gradient_hessian". ``params``: the loss's scalar parameters in the contract's order (floats).
- ``y``: (n,) in raw's dtype (real targets), int64 labels, or (n, K) target distributions.
- ``w``: float64 (n,) sample weights, or length 0 for "no weights" (every weight 1); float32 too
  (read as float64: the same results).
- ``cw``: float64 (K,) class weights or length 0 (labels losses): the weight of row i is
  ``w[i] * cw[y[i]]``, 0 when ``y[i] == ignore``. ``cf``: float64 (K,) values of the loss's
  per-class parameter, or length 0 (every class 1).
- ``scale`` multiplies every gradient (1/Σw for a "mean"); hessians are never scaled.
- ``out``: raw's dtype, (n,), receives ``w_i * l_i``; length 0 means "only return the sums".
  ``grad``/``hess``: raw's shape and dtype (length 0 when the op does not write them), receive
  ``scale * w_i * dl_i/draw`` and ``w_i * d2l_i/draw2`` (the diagonal). A row of weight 0 gets
  exact zeros whatever its loss.
- ``sum_wl`` = Σ w_i l_i over rows with w_i != 0 (nan when a loss is undefined); ``sum_w`` = Σ w_i
  (the effective weights; the compiled elementwise kernels return it for the loss modes only,
  "loss" and "loss_gradient", and 0 for "gradient" and "gradient_hessian", where no caller reads
  it); ``n_nan`` counts nan entries written to grad/hess.
- Math is float64 (the compiled kernels' float32 lanes aside: fastloss/_formulas.py); results are
  rounded once into the outputs. Compiled backends add the sums over fixed blocks in block order
  (bitwise identical for any number of threads).
An undefined value (nan input, y outside the loss's domain, inf - inf) is written as nan; the API
layer turns any nan into a ValueError (see ``fastloss/_api/losses.py``).
"""
import math

import numpy as np

from .. import _catalogue
from .metrics import label_losses

NAME = "numpy"
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ---------------------------------------------------------------- helpers
def _softplus(x):
    return np.logaddexp(0.0, x)


def _expit(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _times(c, v):
    """c * v with 0 * anything = 0 (a zero coefficient removes an infinite term)."""
    with np.errstate(invalid="ignore"):
        return np.where(c == 0, 0.0, c * v)


def _lgamma(x):
    try:
        from scipy.special import gammaln

        return gammaln(x)
    except ImportError:  # pragma: no cover
        return np.frompyfunc(math.lgamma, 1, 1)(x).astype(np.float64)


def digamma(x):
    """psi(x) for x >= 0 (recurrence up to x >= 10, then the asymptotic series)."""
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for _ in range(10):
            small = x < 10.0
            acc = np.where(small, acc - 1.0 / x, acc)
            x = np.where(small, x + 1.0, x)
        r = 1.0 / (x * x)
        s = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132 - r * 691 / 32760)))))
        return acc + np.log(x) - 0.5 / x - s


def trigamma(x):
    """psi'(x) for x >= 0 (recurrence up to x >= 10, then the asymptotic series)."""
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for _ in range(10):
            small = x < 10.0
            acc = np.where(small, acc + 1.0 / (x * x), acc)
            x = np.where(small, x + 1.0, x)
        r = 1.0 / (x * x)
        s = 1 / 6 - r * (1 / 30 - r * (1 / 42 - r * (1 / 30 - r * (5 / 66 - r * (691 / 2730 - r * 7 / 6)))))
        return acc + 1.0 / x + 0.5 * r + s * r / x


# ---------------------------------------------------------------- per-sample formulas
# Each returns (loss, gradient, hessian) as float64 arrays, derivatives w.r.t. raw.
def _elementwise(name, y, r, p):
    with np.errstate(all="ignore"):
        if name == "binary_cross_entropy":
            pw = p[0]
            c1 = pw * y
            c0 = 1.0 - y
            sig = _expit(r)
            loss = _times(c1, _softplus(-r)) + _times(c0, _softplus(r))
            sig_neg = _expit(-r)  # 1 - sig without the cancellation (saturated scores)
            grad = c0 * sig - c1 * sig_neg
            hess = sig * sig_neg * (c1 + c0)
        elif name == "binary_cross_entropy_proba":
            eps = p[0]
            q = np.clip(r, eps, 1.0 - eps)
            loss = -(_times(y, np.log(q)) + _times(1.0 - y, np.log1p(-q)))
            grad = -y / q + (1.0 - y) / (1.0 - q)
            hess = y / (q * q) + (1.0 - y) / ((1.0 - q) * (1.0 - q))
            bad = (r < 0) | (r > 1)
            loss, grad, hess = (np.where(bad, np.nan, v) for v in (loss, grad, hess))
        elif name == "focal":
            gamma, alpha = p[0], p[1]
            s = np.where(y == 1, 1.0, np.where(y == 0, -1.0, np.nan))
            u = s * r
            at = np.where(alpha < 0, 1.0, np.where(s > 0, alpha, 1.0 - alpha))
            q = _expit(-u)
            su = _expit(u)
            big_l = _softplus(-u)
            a = q**gamma
            sl = np.where(u == -np.inf, 0.0, su * big_l)
            b = gamma * sl + q
            loss = at * _times(a, big_l)
            grad = -s * at * a * b
            hess = at * a * su * (gamma * b - q * (gamma * (big_l - 1.0) - 1.0))
            hess = np.where(u == -np.inf, 0.0, hess)
        elif name == "squared_error":
            d = r - y
            loss = 0.5 * d * d
            grad = d
            hess = np.ones_like(d)
        elif name == "absolute_error":
            d = r - y
            loss = np.abs(d)
            grad = np.where(d > 0, 1.0, np.where(d <= 0, -1.0, np.nan))
            hess = np.ones_like(d)
        elif name == "huber":
            delta = p[0]
            d = r - y
            ad = np.abs(d)
            inside = ad <= delta
            loss = np.where(inside, 0.5 * d * d, delta * (ad - 0.5 * delta))
            grad = np.where(inside, d, delta * np.sign(d))
            hess = np.where(inside, 1.0, np.where(ad > delta, 0.0, np.nan))
        elif name == "log_cosh":
            d = r - y
            ad = np.abs(d)
            loss = ad + np.log1p(np.exp(-2.0 * ad)) - math.log(2.0)
            t = np.tanh(d)
            grad = t
            hess = 1.0 / np.cosh(d) ** 2
        elif name == "pinball":
            tau = p[0]
            d = y - r
            loss = np.where(d >= 0, tau * d, (tau - 1.0) * d)
            grad = np.where(d >= 0, -tau, np.where(d < 0, 1.0 - tau, np.nan))
            hess = np.ones_like(d)
        elif name == "asymmetric_absolute_error":
            alpha = p[0]
            d = y - r
            loss = np.where(d >= 0, alpha * d, -d)
            grad = np.where(d >= 0, -alpha, np.where(d < 0, 1.0, np.nan))
            hess = np.ones_like(d)
        elif name == "poisson":
            full = p[0]
            e = np.exp(r)
            loss = np.where(r == np.inf, np.inf, e - _times(y, r))
            if full:
                loss = loss + _lgamma(y + 1.0)
            grad = e - y
            hess = e
            bad = y < 0
            loss, grad, hess = (np.where(bad, np.nan, v) for v in (loss, grad, hess))
        elif name == "hinge":
            s = np.where(y == 1, 1.0, np.where((y == 0) | (y == -1), -1.0, np.nan))
            m = 1.0 - s * r
            loss = np.maximum(m, 0.0)
            loss = np.where(np.isnan(m), np.nan, loss)
            grad = np.where(m > 0, -s, np.where(m <= 0, 0.0, np.nan))
            hess = np.where(np.isnan(m), np.nan, 1.0)
        else:  # pragma: no cover
            raise ValueError(f"unknown elementwise loss {name}")
    return loss, grad, hess


def _paired(name, y, r, p):
    """(n,) losses and (n, 2) gradients / hessians for the two-column losses."""
    r0 = r[:, 0]
    r1 = r[:, 1]
    with np.errstate(all="ignore"):
        if name == "gaussian_nll":
            # l = (s + (y - mu)^2 exp(-s)) / 2 [+ log(2 pi)/2],  raw = (mu, s = log variance)
            full = p[0]
            d = y - r0
            iv = np.exp(-r1)
            q = _times(d * d, iv)
            loss = 0.5 * (r1 + q) + (_HALF_LOG_2PI if full else 0.0)
            loss = np.where(r1 == np.inf, np.inf, loss)
            loss = np.where((r1 == -np.inf) & ~np.isnan(d), np.where(d != 0, np.inf, -np.inf), loss)
            g0 = -_times(d, iv)
            g1 = 0.5 * (1.0 - q)
            h0 = iv
            h1 = 0.5 * q
        elif name == "beta_nll":
            # raw = (log a, log b); l = lnB(a, b) - (a - 1) log y - (b - 1) log(1 - y)
            a = np.exp(r0)
            b = np.exp(r1)
            ly = np.log(y)
            l1y = np.log1p(-y)
            ab = a + b
            loss = _lgamma(a) + _lgamma(b) - _lgamma(ab) - (a - 1.0) * ly - (b - 1.0) * l1y
            # a -> inf with b finite (or b -> inf with a finite): the Beta mass leaves y, l -> +inf
            loss = np.where(np.isinf(a) ^ np.isinf(b), np.inf, loss)
            dab = digamma(ab)
            tab = trigamma(ab)
            # a*psi(a) = a*psi(a+1) - 1 keeps the limit a -> 0 (gradient -> -1) finite
            g0 = a * (digamma(a + 1.0) - dab - ly) - 1.0
            g1 = b * (digamma(b + 1.0) - dab - l1y) - 1.0
            h0 = g0 + a * a * (trigamma(a + 1.0) - tab) + 1.0
            h1 = g1 + b * b * (trigamma(b + 1.0) - tab) + 1.0
            bad = ~((y > 0) & (y < 1))
            loss, g0, g1, h0, h1 = (np.where(bad, np.nan, v) for v in (loss, g0, g1, h0, h1))
        else:  # pragma: no cover
            raise ValueError(f"unknown paired loss {name}")
    return loss, np.stack([g0, g1], axis=1), np.stack([h0, h1], axis=1)


def _logsumexp_rows(z):
    m = np.max(z, axis=1, keepdims=True)
    shift = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(np.sum(np.exp(z - shift), axis=1)) + shift[:, 0])


def _softmax_rows(z):
    m = np.max(z, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.exp(z - m)
        return e / e.sum(axis=1, keepdims=True)


def _softmax_loss(t, z):
    """Σ_k t_k (lse(z) - z_k), gradient (Σt) p - t, hessian (Σt) p (1 - p); terms with t_k = 0
    are dropped (a -inf logit with no target mass costs nothing). A row with +inf logits: the
    limit of p is uniform over the +inf entries; the loss is finite only when all the target mass
    sits on them. A row holding a nan is nan throughout."""
    with np.errstate(all="ignore"):
        n, k = z.shape
        top = z == np.inf
        has_top = top.any(axis=1)
        p = np.where(has_top[:, None], top / np.maximum(top.sum(axis=1), 1)[:, None], _softmax_rows(z))
        lse = _logsumexp_rows(np.where(has_top[:, None], np.where(top, 0.0, -np.inf), z))
        zz = np.where(has_top[:, None], np.where(top, 0.0, -np.inf), z)
        loss = np.sum(_times(t, lse[:, None] - zz), axis=1)
        st = t.sum(axis=1, keepdims=True)
        grad = st * p - t
        hess = st * p * (1.0 - p)
        bad = np.isnan(z).any(axis=1)[:, None]  # a nan beside +inf logits too: undefined
        loss = np.where(bad[:, 0], np.nan, loss)
        grad = np.where(bad, np.nan, grad)
        hess = np.where(bad, np.nan, hess)
    return loss, grad, hess


def _labels(name, y, z, p, cf):
    n, k = z.shape
    eps = p[0] if p else 0.0
    rows = np.arange(n)
    yc = np.clip(y, 0, k - 1)
    if name == "cross_entropy":
        t = np.full((n, k), eps / k)
        t[rows, yc] += 1.0 - eps
        loss, grad, hess = _softmax_loss(t, z)
        if eps == 0.0:  # lse - z_y without its cancellation (a small loss to its last digits)
            loss = label_losses(z, yc)
        return loss, grad, hess
    if name == "multiclass_hinge":
        with np.errstate(invalid="ignore"):
            zy = z[rows, yc]
            other = z.copy()
            other[rows, yc] = -np.inf
            j = np.argmax(other, axis=1)
            m = 1.0 + other[rows, j] - zy
            loss = np.maximum(m, 0.0)
            loss = np.where(np.isnan(z).any(axis=1), np.nan, loss)
            grad = np.zeros((n, k))
            act = m > 0
            grad[rows[act], j[act]] = 1.0
            grad[rows[act], yc[act]] = -1.0
            grad[np.isnan(z).any(axis=1)] = np.nan
            hess = np.ones((n, k))
        return loss, grad, hess
    if name == "multiclass_focal":
        return _multiclass_focal(yc, z, p[0], cf)
    raise ValueError(f"unknown labels loss {name}")  # pragma: no cover


def _distribution(name, y, z, p):
    t = y.astype(np.float64)
    with np.errstate(all="ignore"):
        loss, grad, hess = _softmax_loss(t, z)
        if name == "kl_div":
            loss = loss + np.sum(_times(t, np.log(t)), axis=1)
        bad = (t < 0).any(axis=1)
        loss = np.where(bad, np.nan, loss)
        grad = np.where(bad[:, None], np.nan, grad)
    return loss, grad, hess


def _multiclass_focal(y, z, gamma, cf):
    """l = -alpha_y (1 - p_y)**gamma log p_y, p = softmax(z). Derivatives by the chain rule through
    p_y (independently of _formulas: dl/dz_j = dl/dp_y * p_y ([j == y] - p_j), and the diagonal of
    the hessian from d/dz_j of that)."""
    n, k = z.shape
    rows = np.arange(n)
    with np.errstate(all="ignore"):
        logp = z - _logsumexp_rows(z)[:, None]
        p = np.exp(logp)
        lpy = logp[rows, y]
        py = p[rows, y]
        q = 1.0 - py
        a = cf[y] if cf.shape[0] else np.ones(n)
        loss = a * np.where(q == 0, 0.0, q**gamma) * -lpy
        # f(p_y) = -q^g log p_y: f' and f'' in p_y
        qg1 = np.where(q == 0, 0.0, gamma * q ** (gamma - 1.0)) if gamma else np.zeros(n)
        qg2 = (np.where(q == 0, 0.0, gamma * (gamma - 1.0) * q ** (gamma - 2.0)) if gamma
               else np.zeros(n))
        qg = np.where(q == 0, 0.0, q**gamma) if gamma else np.ones(n)
        f1 = qg1 * lpy - qg / py
        f2 = -qg2 * lpy + 2.0 * qg1 / py + qg / (py * py)
        onehot = np.zeros((n, k))
        onehot[rows, y] = 1.0
        dpy = py[:, None] * (onehot - p)  # d p_y / d z_j
        d2py = dpy * (onehot - p) - py[:, None] * p * (1.0 - p)  # d2 p_y / d z_j2
        grad = a[:, None] * f1[:, None] * dpy
        hess = a[:, None] * (f2[:, None] * dpy * dpy + f1[:, None] * d2py)
        bad = ~np.isfinite(z).all(axis=1)
        loss = np.where(bad, np.nan, loss)
        grad = np.where(bad[:, None], np.nan, grad)
        hess = np.where(bad[:, None], np.nan, hess)
    return loss, grad, hess


# ---------------------------------------------------------------- the contract function
_FORMULA = {"elementwise": _elementwise, "paired": _paired}


def _effective_weights(spec, y, n, w, cw, ignore):
    ww = np.ones(n) if w.shape[0] == 0 else w
    if spec.target != "labels":
        return ww
    valid = y != ignore
    k_safe = np.where(valid, y, 0)
    c = cw[k_safe] if cw.shape[0] else np.ones(n)
    return np.where(valid, ww * c, 0.0)


def compute(name, op, y, raw, w, cw, cf, ignore, params, scale, out, grad, hess, *, serial=False):
    spec = _catalogue.spec(name)
    n = raw.shape[0]
    w = np.asarray(w, dtype=np.float64)
    r = raw.astype(np.float64)
    p = [float(v) for v in params]
    ww = _effective_weights(spec, y, n, w, cw, ignore)
    if spec.shape == "rows":
        if spec.target == "labels":
            lo, g, h = _labels(name, y, r, p, cf)
        else:
            lo, g, h = _distribution(name, y, r, p)
    else:
        lo, g, h = _FORMULA[spec.shape](name, y.astype(np.float64), r, p)
        if spec.shape == "elementwise" and not spec.has_hessian:
            h = np.where(np.isnan(r) | np.isnan(y.astype(np.float64)), np.nan, 1.0)
    n_nan = 0
    if op in ("gradient", "loss_gradient"):
        n_nan += _scaled(g, ww, scale, grad)
    if op == "gradient_hessian":
        n_nan += _scaled(g, ww, 1.0, grad) + _scaled(h, ww, 1.0, hess)
    sum_wl = 0.0
    if op in ("loss", "loss_gradient"):
        with np.errstate(invalid="ignore"):
            wl = np.where(ww == 0, 0.0, ww * lo)
        if out.shape[0]:
            out[...] = wl
        sum_wl = float(np.sum(wl))
    return sum_wl, float(np.sum(ww)), n_nan


def _scaled(g, w, scale, out):
    ww = w.reshape((-1,) + (1,) * (g.ndim - 1))
    with np.errstate(invalid="ignore"):
        out[...] = np.where(ww == 0, 0.0, (scale * ww) * g)
    return int(np.isnan(out).sum())
