"""The loss catalogue's contract, read by the API, every backend, ``fastloss score``, ``fastloss.dask``
and the tests. Backend-neutral: nothing here imports a backend.

Each ``Spec`` says what a loss is defined on and which named parameters it takes; the formulas
themselves are in fastloss/_formulas.py (compiled backends) and fastloss/_numpy/losses.py (the
independent reference), both found by the loss's name.

Shapes of ``raw`` (the model output the loss is defined on) and what each kernel skeleton expects:

===============  ==========  =====================================================================
shape            raw         formulas in _formulas.py (``<name>_...``)
===============  ==========  =====================================================================
``elementwise``  (n,)        ``loss(y, r, *p)``, ``gradient(y, r, *p)``, ``hessian(y, r, *p)``,
                             optional fused ``loss_gradient(y, r, *p) -> (l, g)`` and
                             ``gradient_hessian(y, r, *p) -> (g, h)``
``paired``       (n, 2)      ``loss(y, r0, r1, *p)``, ``gradient(...) -> (g0, g1)``,
                             ``hessian(...) -> (h0, h1)``
``rows``         (n, K)      ``row(z, sm, g, h, mode, k, lse, y, cfy, *p) -> l``: z is the row in
                             float64, lse its logsumexp, sm its softmax, y the label (labels target)
                             or the target row t (distribution), cfy the per-class parameter at y
                             (1 for distributions); g/h receive the unweighted gradient/hessian row
===============  ==========  =====================================================================

``p`` are the loss's scalar parameters in ``Spec.params`` order, as floats. Targets: ``real`` (y in
raw's dtype, shape (n,)), ``labels`` (integer classes, (n,)), ``distribution`` ((n, K) like raw).
Every labels loss takes ``class_weight`` (multiplies a row's weight and the mean's denominator)
and ``ignore_index`` (rows with that label have weight 0); ``per_class`` names a per-class
parameter whose value at the row's label reaches the formula as ``cfy`` (1 when not given).
"""
from __future__ import annotations

from dataclasses import dataclass, field

ELEMENTWISE = "elementwise"
PAIRED = "paired"
ROWS = "rows"

# an operation's mode, as the loop skeletons and the rows formulas receive it: which outputs are
# written (0: the loss, 1: gradient, 2: loss and gradient, 3: gradient and hessian)
MODES = {"loss": 0, "gradient": 1, "loss_gradient": 2, "gradient_hessian": 3}


@dataclass(frozen=True)
class Param:
    """A named scalar parameter and its domain (``low``/``high`` None: unbounded)."""

    name: str
    default: object
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    #: "real"; "bool" (passed to the formulas as 1.0 / 0.0); "optional" (a real or None, None
    #: passed as -1.0); "dtype_eps" (not a constructor argument: the machine epsilon of raw's dtype)
    kind: str = "real"


@dataclass(frozen=True)
class Spec:
    name: str
    shape: str
    target: str
    params: tuple[Param, ...] = ()
    has_hessian: bool = True
    #: a per-class parameter (labels losses): its name, default None (every class 1)
    per_class: str | None = None
    #: rows losses: the number of raw columns (None: any K >= 1)
    columns: int | None = None
    #: the formula computes the loss and gradient together (elementwise: ``<name>_loss_gradient``)
    fused: bool = False
    #: likewise the gradient and hessian (elementwise: ``<name>_gradient_hessian``)
    fused_hessian: bool = False
    #: elementwise: the loss, gradient and hessian are functions of e = exp(-|r|)
    #: (``<name>_loss_from_exp(y, r, e, *p)``, ``<name>_loss_gradient_from_exp``,
    #: ``<name>_gradient_from_exp``, ``<name>_gradient_hessian_from_exp``); the skeletons compute
    #: e a chunk at a time, for a float32 raw's derivatives in float32 lanes where
    #: ``<name>_exp_enough(y, r)`` (see _formulas.py)
    exp_lanes: bool = False
    #: rows losses: the formula takes the row's logsumexp and softmax (the skeleton computes them;
    #: the softmax only for the gradient modes unless softmax_in_loss)
    uses_logsumexp: bool = True
    softmax_in_loss: bool = False
    #: labels rows losses that are the softmax cross-entropy with label smoothing (the first
    #: parameter): the skeletons compute the rows whose |raw| all lie within 350 a tile at a time
    #: without a max shift (softmax_ce_tile), the others one row at a time
    softmax_ce_tiles: bool = False
    #: the public class (fastloss.losses.<class_name>)
    class_name: str = ""
    #: where y_true / raw must lie (checked on the error path only, to name the cause):
    #: "binary" {0, 1}, "signed_binary" {-1, 0, 1}, "nonnegative", "open_unit" (0, 1),
    #: "distribution" (target masses >= 0); raw: "probability"
    y_domain: str | None = None
    raw_domain: str | None = None
    doc: str = field(default="", compare=False)


def _positive(name: str, default: float) -> Param:
    return Param(name, default, low=0.0, low_open=True)


SPECS = (
    Spec("binary_cross_entropy", ELEMENTWISE, "real", (_positive("pos_weight", 1.0),), fused=True,
         fused_hessian=True, exp_lanes=True,
         class_name="BinaryCrossEntropy", doc="""Binary cross-entropy from logits:
    l = pos_weight·y·softplus(-raw) + (1-y)·softplus(raw) (PyTorch's BCEWithLogitsLoss; with
    pos_weight=1 scikit-learn's HalfBinomialLoss). y in [0, 1] (soft labels allowed). gradient
    σ(raw)(pos_weight·y + 1 - y) - pos_weight·y; hessian σ(1-σ)(pos_weight·y + 1 - y)."""),
    Spec("binary_cross_entropy_proba", ELEMENTWISE, "real", (Param("eps", None, kind="dtype_eps"),),
         class_name="BinaryCrossEntropyProba", raw_domain="probability", doc="""Binary
    cross-entropy from probabilities (raw = P(y=1)), clipped to [eps, 1-eps] with eps the machine
    epsilon of raw's dtype, as sklearn.metrics.log_loss: l = -y log p - (1-y) log(1-p). gradient
    -y/p + (1-y)/(1-p) and hessian y/p² + (1-y)/(1-p)², both at the clipped p. raw outside [0, 1]
    raises ValueError."""),
    Spec("focal", ELEMENTWISE, "real", (Param("gamma", 2.0, low=0.0),
                                        Param("alpha", 0.25, low=0.0, high=1.0, kind="optional")),
         class_name="Focal", y_domain="binary", doc="""Sigmoid focal loss (Lin et al. 2017;
    torchvision.ops.sigmoid_focal_loss) on logits, y in {0, 1}: l = α_t (1 - p_t)^γ · BCE(raw, y),
    p_t = σ(raw) if y = 1 else 1 - σ(raw), α_t = α if y = 1 else 1 - α (no α weighting when alpha
    is None). gamma = 0 and alpha=None give binary_cross_entropy."""),
    Spec("squared_error", ELEMENTWISE, "real", class_name="SquaredError", doc="""Half squared error
    l = (raw - y)²/2 (scikit-learn's HalfSquaredError): gradient raw - y, hessian 1 (LightGBM's l2
    objective)."""),
    Spec("absolute_error", ELEMENTWISE, "real", has_hessian=False, class_name="AbsoluteError",
         doc="""Absolute error l = |raw - y|; gradient sign(raw - y) with -1 at a tie
    (scikit-learn). No hessian: gradient_hessian returns the weights (ones unweighted)."""),
    Spec("huber", ELEMENTWISE, "real", (_positive("delta", 1.0),), class_name="Huber",
         doc="""Huber loss, l = d²/2 if |d| <= delta else delta(|d| - delta/2), d = raw - y
    (scikit-learn's HuberLoss with a fixed delta). gradient clip(d, -delta, delta); hessian 1
    inside, 0 outside."""),
    Spec("log_cosh", ELEMENTWISE, "real", class_name="LogCosh", doc="""Log-cosh l =
    log(cosh(raw - y)) (stable form |d| + log1p(exp(-2|d|)) - log 2); gradient tanh(d); hessian
    sech²(d)."""),
    Spec("pinball", ELEMENTWISE, "real",
         (Param("quantile", 0.5, low=0.0, high=1.0, low_open=True, high_open=True),),
         has_hessian=False, class_name="Pinball", doc="""Pinball / quantile loss,
    l = q(y - raw) if y >= raw else (1 - q)(raw - y) (scikit-learn's PinballLoss); gradient -q or
    1 - q (-q at a tie). No hessian: gradient_hessian returns the weights."""),
    Spec("asymmetric_absolute_error", ELEMENTWISE, "real", (_positive("alpha", 2.0),),
         has_hessian=False, class_name="AsymmetricAbsoluteError", doc="""Asymmetric absolute
    error: l = alpha(y - raw) when raw <= y (under-prediction), raw - y otherwise. alpha = 1 is
    absolute_error. No hessian: gradient_hessian returns the weights."""),
    Spec("poisson", ELEMENTWISE, "real", (Param("full", False, kind="bool"),), class_name="Poisson",
         y_domain="nonnegative", doc="""Poisson negative log-likelihood with log link,
    raw = log(mean): l = exp(raw) - y·raw (scikit-learn's HalfPoissonLoss); full=True adds
    lgamma(y + 1), the exact NLL. gradient exp(raw) - y, hessian exp(raw). y >= 0."""),
    Spec("hinge", ELEMENTWISE, "real", has_hessian=False, class_name="Hinge",
         y_domain="signed_binary", doc="""Binary hinge l = max(0, 1 - s·raw), s = +1 for y = 1
    and -1 for y = 0 or -1. Subgradient -s inside the margin, 0 outside. No hessian:
    gradient_hessian returns the weights."""),
    Spec("gaussian_nll", PAIRED, "real", (Param("full", True, kind="bool"),), columns=2,
         class_name="GaussianNLL", doc="""Heteroscedastic Gaussian NLL, raw = (mean, log variance)
    as two columns: l = (s + (y - μ)² e^{-s}) / 2 + log(2π)/2 (full=True; full=False drops the
    constant, as PyTorch's GaussianNLLLoss). A negative log density: negative values are
    legitimate."""),
    Spec("beta_nll", PAIRED, "real", columns=2, class_name="BetaNLL", y_domain="open_unit",
         doc="""Beta NLL, raw = (log a, log b) as two columns, 0 < y < 1:
    l = lnΓ(a) + lnΓ(b) - lnΓ(a + b) - (a - 1) log y - (b - 1) log(1 - y). Gradient
    a(ψ(a) - ψ(a+b) - log y) (likewise for b); hessian diagonal adds a²(ψ'(a) - ψ'(a+b))."""),
    Spec("cross_entropy", ROWS, "labels", (Param("label_smoothing", 0.0, low=0.0, high=1.0),),
         softmax_ce_tiles=True, class_name="CrossEntropy", doc="""Multiclass cross-entropy from logits, integer labels
    y in [0, K): l = logsumexp(raw) - Σ_k t_k raw_k with t = (1 - ε) onehot(y) + ε/K
    (ε = label_smoothing); scikit-learn's HalfMultinomialLoss, PyTorch's CrossEntropyLoss.
    class_weight[y] multiplies a row's weight; rows with y == ignore_index have weight 0. gradient
    softmax(raw) - t; hessian diagonal p(1 - p). +inf logits take the limit."""),
    Spec("multiclass_hinge", ROWS, "labels", has_hessian=False, uses_logsumexp=False,
         class_name="MulticlassHinge",
         doc="""Crammer-Singer multiclass hinge: l = max(0, 1 + max_{k≠y} raw_k - raw_y).
    Subgradient +1 at the first best wrong class and -1 at y when the margin is violated. No
    hessian: gradient_hessian returns the weights. class_weight and ignore_index as for
    cross_entropy."""),
    Spec("multiclass_focal", ROWS, "labels", (Param("gamma", 2.0, low=0.0),), per_class="alpha",
         softmax_in_loss=True,
         class_name="MulticlassFocal", doc="""Softmax focal loss (Lin et al. 2017 on softmax
    probabilities): l = -α_y (1 - p_y)^γ log p_y, p = softmax(raw), y integer labels. alpha: a
    per-class weight vector (None: all 1); unlike class_weight it does not enter the mean's
    denominator. gamma = 0 is cross_entropy; for K = 2 it equals focal(alpha=None) on
    raw_1 - raw_0. gradient and diagonal hessian in closed form."""),
    Spec("soft_cross_entropy", ROWS, "distribution", class_name="SoftCrossEntropy",
         y_domain="distribution", doc="""Cross-entropy from logits against target distributions
    Y (n, K): l = Σ_k Y_k (logsumexp(raw) - raw_k); gradient (Σ_k Y_k) softmax(raw) - Y; hessian
    diagonal (Σ Y) p(1 - p)."""),
    Spec("kl_div", ROWS, "distribution", class_name="KLDiv", y_domain="distribution",
         doc="""KL divergence KL(Y || softmax(raw)) = Σ_k Y_k (log Y_k - log softmax(raw)_k),
    0 log 0 = 0: soft_cross_entropy minus the entropy of Y, the same gradient and hessian."""),
)

BY_NAME = {s.name: s for s in SPECS}


def spec(name: str) -> Spec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no loss named {name!r}; available: {sorted(BY_NAME)}") from None
