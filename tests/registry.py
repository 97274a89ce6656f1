"""The tests' one registry of references (as numbagg's COMPARISONS): for every loss of the
catalogue its independent reference formula (REF), data inside its domain (data), scikit-learn's
private loss where one exists (SKLEARN), parameter variants (VARIANTS) and exact limits at extreme
inputs (LIMITS). tests/test_losses.py drives the contract tests over every backend from it; adding
a loss adds one entry to REF and VARIANTS (and a case in data() when it has a domain).
"""
import math

import numpy as np
import scipy.special
import scipy.stats
from sklearn._loss import loss as skl

import fastloss.losses as fl

CAT = fl.CATALOGUE
K = 4
N = 12


def data(name, n=N, rng=None, dtype=np.float64):
    """(y, raw) inside each loss's domain, away from kinks (for finite differences)."""
    rng = np.random.default_rng(0) if rng is None else rng
    loss = CAT[name]
    if loss.target == "labels":
        return rng.integers(0, K, n), rng.normal(size=(n, K)).astype(dtype)
    if loss.target == "distribution":
        return rng.dirichlet(np.ones(K), n).astype(dtype), rng.normal(size=(n, K)).astype(dtype)
    if loss.shape == "paired":
        raw = rng.normal(scale=0.5, size=(n, 2)).astype(dtype)
        return rng.uniform(0.1, 0.9, n).astype(dtype), raw
    raw = rng.normal(size=n)
    if name == "binary_cross_entropy_proba":
        raw = rng.uniform(0.05, 0.95, n)
    if name in ("binary_cross_entropy", "focal", "hinge", "binary_cross_entropy_proba"):
        y = rng.integers(0, 2, n).astype(float)
        if name == "hinge":
            raw = np.where(rng.random(n) < 0.5, 1.0 - raw, raw) * 0.9  # margins away from 1
    elif name == "poisson":
        y = rng.poisson(2.0, n).astype(float)
    else:
        y = rng.normal(size=n)
        raw = y + np.where(rng.random(n) < 0.5, -1, 1) * rng.uniform(0.05, 3.0, n)  # no ties
    return y.astype(dtype), raw.astype(dtype)


# ---------------------------------------------------------------- independent per-sample formulas
def _sp(x):
    return np.logaddexp(0.0, x)


def _lse(z):
    return scipy.special.logsumexp(z, axis=1)


def _multiclass_focal(y, z, gamma=2.0, alpha=None):
    p = scipy.special.softmax(z, axis=1)[np.arange(len(y)), y]
    a = 1.0 if alpha is None else np.asarray(alpha)[y]
    return -a * (1 - p) ** gamma * np.log(p)


REF = {
    "binary_cross_entropy": lambda y, r: y * _sp(-r) + (1 - y) * _sp(r),
    "binary_cross_entropy_proba": lambda y, r: -(y * np.log(r) + (1 - y) * np.log(1 - r)),
    "cross_entropy": lambda y, z: _lse(z) - z[np.arange(len(y)), y],
    "soft_cross_entropy": lambda Y, z: -(Y * scipy.special.log_softmax(z, axis=1)).sum(1),
    "kl_div": lambda Y, z: scipy.special.rel_entr(Y, scipy.special.softmax(z, axis=1)).sum(1),
    "focal": lambda y, r: (
        np.where(y == 1, 0.25, 0.75)
        * (1 - np.where(y == 1, scipy.special.expit(r), 1 - scipy.special.expit(r))) ** 2
        * (y * _sp(-r) + (1 - y) * _sp(r))
    ),
    "squared_error": lambda y, r: 0.5 * (r - y) ** 2,
    "absolute_error": lambda y, r: np.abs(r - y),
    "huber": lambda y, r: np.where(np.abs(r - y) <= 1, 0.5 * (r - y) ** 2, np.abs(r - y) - 0.5),
    "log_cosh": lambda y, r: np.log(np.cosh(r - y)),
    "pinball": lambda y, r: np.maximum(0.5 * (y - r), -0.5 * (y - r)),
    "asymmetric_absolute_error": lambda y, r: np.where(r <= y, 2.0 * (y - r), r - y),
    "poisson": lambda y, r: np.exp(r) - y * r,
    "gaussian_nll": lambda y, r: -scipy.stats.norm.logpdf(y, r[:, 0], np.exp(0.5 * r[:, 1])),
    "beta_nll": lambda y, r: -scipy.stats.beta.logpdf(y, np.exp(r[:, 0]), np.exp(r[:, 1])),
    "hinge": lambda y, r: np.maximum(0, 1 - (2 * y - 1) * r),
    "multiclass_focal": _multiclass_focal,
    "multiclass_hinge": lambda y, z: np.maximum(
        0, 1 + np.max(np.where(np.eye(z.shape[1])[y] == 1, -np.inf, z), axis=1) - z[np.arange(len(y)), y]
    ),
}



SKLEARN = {
    "binary_cross_entropy": skl.HalfBinomialLoss(),
    "cross_entropy": skl.HalfMultinomialLoss(n_classes=K),
    "squared_error": skl.HalfSquaredError(),
    "absolute_error": skl.AbsoluteError(),
    "pinball": skl.PinballLoss(quantile=0.5),
    "huber": skl.HuberLoss(delta=1.0),
    "poisson": skl.HalfPoissonLoss(),
}


# parameter variants: (constructor kwargs, reference of the per-sample loss)
VARIANTS = {
    "binary_cross_entropy": [({"pos_weight": 3.0}, lambda y, r: 3 * y * _sp(-r) + (1 - y) * _sp(r))],
    "focal": [({"gamma": 0.0, "alpha": None}, lambda y, r: y * _sp(-r) + (1 - y) * _sp(r))],
    "huber": [({"delta": 0.5}, lambda y, r: np.where(np.abs(r - y) <= 0.5, 0.5 * (r - y) ** 2,
                                                      0.5 * (np.abs(r - y) - 0.25)))],
    "pinball": [({"quantile": 0.9}, lambda y, r: np.where(y >= r, 0.9 * (y - r), 0.1 * (r - y)))],
    "asymmetric_absolute_error": [({"alpha": 1.0}, lambda y, r: np.abs(r - y))],
    "poisson": [({"full": True}, lambda y, r: -scipy.stats.poisson.logpmf(y, np.exp(r)))],
    "gaussian_nll": [({"full": False},
                      lambda y, r: 0.5 * (r[:, 1] + (y - r[:, 0]) ** 2 * np.exp(-r[:, 1])))],
    "multiclass_focal": [({"gamma": 0.5, "alpha": [0.5, 1.0, 2.0, 0.25]},
                          lambda y, z: _multiclass_focal(y, z, 0.5, [0.5, 1.0, 2.0, 0.25])),
                         ({"gamma": 0.0}, lambda y, z: _lse(z) - z[np.arange(len(y)), y])],
    "cross_entropy": [({"label_smoothing": 0.2},
                       lambda y, z: 0.8 * (_lse(z) - z[np.arange(len(y)), y]) + 0.2 * (_lse(z) - z.mean(1)))],
}

LIMITS = [
    # (name, y, raw, loss, gradient)
    ("binary_cross_entropy", 1.0, np.inf, 0.0, 0.0),
    ("binary_cross_entropy", 1.0, -np.inf, np.inf, -1.0),
    ("binary_cross_entropy", 0.0, -1e4, 0.0, 0.0),
    ("binary_cross_entropy", 0.0, 1e4, 1e4, 1.0),
    ("focal", 1.0, np.inf, 0.0, 0.0),
    ("focal", 0.0, np.inf, np.inf, 0.75),
    ("squared_error", 0.0, np.inf, np.inf, np.inf),
    ("huber", 0.0, -np.inf, np.inf, -1.0),
    ("log_cosh", 0.0, 1e4, 1e4 - math.log(2), 1.0),
    ("poisson", 0.0, -np.inf, 0.0, 0.0),
    ("poisson", 2.0, -np.inf, np.inf, -2.0),
    ("poisson", 2.0, np.inf, np.inf, np.inf),
    ("hinge", 1.0, np.inf, 0.0, 0.0),
    ("hinge", 0.0, np.inf, np.inf, 1.0),
]


