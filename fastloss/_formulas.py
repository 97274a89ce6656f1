"""Every loss's per-sample formulas, written once for both compiled backends.

The Numba backend jits these functions (fastloss/_numba/engine.py, with ``exp``/``log``/``log1p``
rebound to its vectorisable fastloss/_numba/_math.py); the Cython build translates them into
``cdef inline`` C functions (fastloss/_cython/generate.py, math from fastmath.h). In plain Python
they run as written, on floats (handy for tests). The NumPy backend (fastloss/_numpy/losses.py) is a
separate, vectorised implementation: the oracle the tests compare these against.

The subset both compilers accept, which generate.py checks:
- arguments and locals are float64, except loop indices (``for t in range(k)``), names annotated
  ``: int`` and the rows arguments ``z, g, h`` (float64 rows of length k), ``mode, k, y``;
- if/else, ``a if c else b``, while/for over range, arithmetic, ``abs``, ``**``, the math names
  imported below, calls to functions defined earlier in this module; returns one float or a tuple
  of floats (annotated ``-> tuple``);
- module constants are floats.
Names: ``<loss>_loss``, ``<loss>_gradient``, ``<loss>_hessian`` (elementwise, paired),
``<loss>_loss_gradient`` (fused, when the contract says so), ``<loss>_row`` (rows); the contract
(fastloss/_catalogue.py) lists each loss's parameters in the order they follow the data arguments.
Conventions: a value that is undefined (nan input, y outside the domain, inf - inf) is nan; the API
turns any nan into a ValueError. Derivatives are with respect to the raw argument.
"""
from math import exp, expm1, inf, lgamma, log, log1p, nan
from math import log1p as log1p_unit  # log1p of an argument in [+0, 1], such as exp(-|r|): the
# compiled backends take a shorter log1p with the same result, bit for bit (fastmath.h's
# fl_log1p_unit, _math.log1p_unit64)

LOG2 = 0.6931471805599453
HALF_LOG_2PI = 0.9189385332046727


# ================================================================ helpers
def times(c, v):
    """c * v with 0 * anything = 0: a zero coefficient removes an infinite term."""
    return 0.0 if c == 0.0 else c * v


def sigmoid(r, e):
    """sigma(r) given e = exp(-|r|) <= 1: the numerator is 1 or e, nothing overflows."""
    return (1.0 if r >= 0.0 else e) / (1.0 + e)


def unit_hessian(y, r):
    """Hessian 1: exact for squared error; the convention (scikit-learn, LightGBM) where a loss has
    none. nan when an input is nan."""
    return 1.0 if (r == r and y == y) else nan


def digamma(x):
    """psi(x), x >= 0: recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
    series to x**-12 (truncation error < 1e-16 relative at x = 10)."""
    if x != x:
        return nan
    if x == 0.0:
        return -inf
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    s = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132 - r * 691.0 / 32760)))))
    return acc + log(x) - 0.5 / x - s


def trigamma(x):
    """psi'(x), x >= 0: recurrence psi'(x) = psi'(x + 1) + 1/x**2 up to x >= 10, then the
    asymptotic series to x**-15."""
    if x != x:
        return nan
    if x * x == 0.0:
        return inf
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    r = 1.0 / (x * x)
    s = 1.0 / 6 - r * (1.0 / 30 - r * (1.0 / 42 - r * (1.0 / 30 - r * (5.0 / 66 - r * (691.0 / 2730 - r * 7.0 / 6)))))
    return acc + 1.0 / x + 0.5 * r + s * r / x


# ================================================================ elementwise losses
# --- binary cross-entropy from logits: l = w+ y softplus(-r) + (1 - y) softplus(r),
# softplus(+-r) = max(+-r, 0) + log1p(exp(-|r|)) (nothing overflows)
def binary_cross_entropy_loss(y, r, pos_weight):
    return binary_cross_entropy_loss_from_exp(y, r, exp(-abs(r)), pos_weight)


def bce_gradient_at(y, r, pos_weight, e):
    """The gradient (1 - y) sigma(r) - c1 sigma(-r), c1 = pos_weight y, given e = exp(-|r|)
    (shared by the separate and the fused formulas). Over the one denominator 1 + e nothing
    cancels for y in {0, 1}: the form sigma(r) (c1 + 1 - y) - c1 rounded sigma(r) to 1 first, so
    y = 1, r = 40 gave 0 instead of -4.2e-18 and r = 20 was 3.6e-8 off (scikit-learn's
    HalfBinomialLoss, like this form, keeps them)."""
    c1 = pos_weight * y
    a = 1.0 if r >= 0.0 else e  # (1 + e) sigma(r)
    b = e if r >= 0.0 else 1.0  # (1 + e) sigma(-r)
    return ((1.0 - y) * a - c1 * b) / (1.0 + e)


def bce_hessian_at(y, pos_weight, e):
    """sigma(1 - sigma) given e = exp(-|r|), without cancellation, times the row's weight term."""
    return (e / ((1.0 + e) * (1.0 + e))) * (pos_weight * y + 1.0 - y)


def binary_cross_entropy_gradient(y, r, pos_weight):
    return bce_gradient_at(y, r, pos_weight, exp(-abs(r)))


def binary_cross_entropy_loss_gradient(y, r, pos_weight) -> tuple:
    """One exp(-|r|) for both: the loss's log1p(e) and the gradient's sigma(r)."""
    e = exp(-abs(r))
    return binary_cross_entropy_loss_from_exp(y, r, e, pos_weight), bce_gradient_at(y, r, pos_weight, e)


def binary_cross_entropy_hessian(y, r, pos_weight):
    return bce_hessian_at(y, pos_weight, exp(-abs(r)))


def binary_cross_entropy_gradient_hessian(y, r, pos_weight) -> tuple:
    """One exp(-|r|) for both (a booster's every call)."""
    e = exp(-abs(r))
    return bce_gradient_at(y, r, pos_weight, e), bce_hessian_at(y, pos_weight, e)


# --- Spec.exp_lanes: the loss, gradient and hessian as functions of e = exp(-|r|). The skeletons
# compute e a chunk at a time: in float64 without exp's edge cases where every |r| of the chunk
# lies within its range (the same bits), and, for the gradient and hessian of a float32 raw, in
# float32 arithmetic (8 lanes per AVX2 instruction instead of 4; -|r| is exact in float32), the
# rest in float64. e's error (<= 0.77 float32 ulp) then moves g and h by less than 1 float32 ulp
# wherever <loss>_exp_enough(y, r) is 1; a chunk of the loop with any element where it is 0 gets
# e in float64 instead (the float64 result, bit for bit). The loss modes take e in float64 for
# every dtype (their sums are float64).
def binary_cross_entropy_exp_enough(y, r):
    """1 where a float32 e = exp(-|r|) keeps g and h within 2 float32 ulp, else 0:
    - y in {0, 1} (y (1 - y) is 0 for those only, nan and +-inf included): one term of the
      gradient is 0, nothing cancels (a soft label's (1 - y) a - c1 b can);
    - |r| <= 87: e is a normal float32 (>= 1.6e-38; below exp(-87.34) = FLT_MIN it is subnormal,
      with fewer significant bits, and a weight or pos_weight can scale the error back into view).
    A product of selects, no ``and``/``or``: their short circuit is a branch in the generated C,
    which stops GCC vectorising the loop."""
    return (1.0 if y * (1.0 - y) == 0.0 else 0.0) * (1.0 if abs(r) <= 87.0 else 0.0)


def binary_cross_entropy_loss_from_exp(y, r, e, pos_weight):
    """softplus(+-r) = max(+-r, 0) + log1p(e), e = exp(-|r|) (float64 in the loss modes)."""
    c1 = pos_weight * y
    lp = log1p_unit(e)
    sp_neg = (-r if r < 0.0 else 0.0) + lp
    sp_pos = (r if r > 0.0 else 0.0) + lp
    return times(c1, sp_neg) + times(1.0 - y, sp_pos)


def binary_cross_entropy_loss_gradient_from_exp(y, r, e, pos_weight) -> tuple:
    return binary_cross_entropy_loss_from_exp(y, r, e, pos_weight), bce_gradient_at(y, r, pos_weight, e)


def binary_cross_entropy_gradient_from_exp(y, r, e, pos_weight):
    return bce_gradient_at(y, r, pos_weight, e)


def binary_cross_entropy_gradient_hessian_from_exp(y, r, e, pos_weight) -> tuple:
    return bce_gradient_at(y, r, pos_weight, e), bce_hessian_at(y, pos_weight, e)


# --- binary cross-entropy from probabilities, clipped to [eps, 1 - eps] as sklearn's log_loss;
# the derivatives are those of the unclipped formula at the clipped point (finite everywhere)
def clip_probability(r, eps):
    """r clipped to [eps, 1 - eps]; nan outside [0, 1] (not a probability: the API raises).
    r (1 - r) < 0 is that test in one comparison (+-inf, subnormals and nan included): an ``or``
    is a branch in the generated C, which kept GCC from vectorising the Cython loops (loss 19
    ns an element against Numba's 7)."""
    q = eps if r < eps else (1.0 - eps if r > 1.0 - eps else r)
    return nan if r * (1.0 - r) < 0.0 else q


def binary_cross_entropy_proba_loss(y, r, eps):
    q = clip_probability(r, eps)
    return -(times(y, log(q)) + times(1.0 - y, log1p(-q)))


def binary_cross_entropy_proba_gradient(y, r, eps):
    q = clip_probability(r, eps)
    return -y / q + (1.0 - y) / (1.0 - q)


def binary_cross_entropy_proba_hessian(y, r, eps):
    q = clip_probability(r, eps)
    return y / (q * q) + (1.0 - y) / ((1.0 - q) * (1.0 - q))


# --- sigmoid focal loss (Lin et al. 2017; torchvision.ops.sigmoid_focal_loss). With s = +-1 for
# y = 1/0, u = s r, q = sigma(-u) = 1 - p_t, L = softplus(-u) (the BCE), alpha_t = alpha or 1 - alpha
# (alpha < 0: no weighting):  l = alpha_t q**gamma L,  dl/du = -alpha_t q**gamma (gamma sigma(u) L + q),
# d2l/du2 = alpha_t q**gamma sigma(u) (gamma B - q (gamma (L - 1) - 1)),  B = gamma sigma(u) L + q.
# sigma(u) L -> 0 as u -> -inf (written as 0 there: no 0 * inf).
def power(q, gamma):
    """q ** gamma for q in [0, 1]; gamma = 2 (the focal losses' default) as q * q. gamma is the
    same for a whole loop, so the compilers split the loop on it (unswitching) and the gamma = 2
    loop has no libm pow call: it vectorises."""
    return q * q if gamma == 2.0 else q ** gamma


def focal_sign(y):
    return 1.0 if y == 1.0 else (-1.0 if y == 0.0 else nan)


def focal_alpha(s, alpha):
    return 1.0 if alpha < 0.0 else (alpha if s > 0.0 else 1.0 - alpha)


def focal_q(u, e, su):
    """sigma(-u) = 1 - sigma(u) without cancellation."""
    return 1.0 - su if u < 0.0 else e / (1.0 + e)


def focal_parts(y, r) -> tuple:
    """(s, u, sigma(u), q = sigma(-u), L = softplus(-u)), all from one exp(-|u|)."""
    s = focal_sign(y)
    u = s * r
    e = exp(-abs(u))
    su = sigmoid(u, e)
    return s, u, su, focal_q(u, e, su), (-u if u < 0.0 else 0.0) + log1p_unit(e)


def focal_loss(y, r, gamma, alpha):
    s, u, su, q, big_l = focal_parts(y, r)
    return times(focal_alpha(s, alpha), times(power(q, gamma), big_l))


def focal_gradient(y, r, gamma, alpha):
    s, u, su, q, big_l = focal_parts(y, r)
    sl = 0.0 if u == -inf else su * big_l
    return -s * focal_alpha(s, alpha) * power(q, gamma) * (gamma * sl + q)


def focal_hessian(y, r, gamma, alpha):
    s, u, su, q, big_l = focal_parts(y, r)
    if u == -inf:
        return 0.0
    bb = gamma * su * big_l + q
    return focal_alpha(s, alpha) * power(q, gamma) * su * (gamma * bb - q * (gamma * (big_l - 1.0) - 1.0))


# --- half squared error: l = (r - y)**2 / 2, gradient r - y, hessian 1
def squared_error_loss(y, r):
    d = r - y
    return 0.5 * d * d


def squared_error_gradient(y, r):
    return r - y


def squared_error_hessian(y, r):
    return unit_hessian(y, r)


# --- absolute error |r - y|; gradient sign(r - y) with -1 at a tie (scikit-learn)
def absolute_error_loss(y, r):
    return abs(r - y)


def absolute_error_gradient(y, r):
    d = r - y
    return 1.0 if d > 0.0 else (-1.0 if d <= 0.0 else nan)


# --- Huber (scikit-learn's HuberLoss with a fixed delta)
def huber_loss(y, r, delta):
    d = r - y
    ad = abs(d)
    return 0.5 * d * d if ad <= delta else delta * (ad - 0.5 * delta)


def huber_gradient(y, r, delta):
    d = r - y
    if abs(d) <= delta:
        return d
    return delta if d > 0.0 else (-delta if d < 0.0 else nan)


def huber_hessian(y, r, delta):
    ad = abs(r - y)
    return 1.0 if ad <= delta else (0.0 if ad > delta else nan)


# --- log-cosh: l = log(cosh(d)) = |d| + log1p(exp(-2|d|)) - log 2, d = r - y
def log_cosh_loss(y, r):
    ad = abs(r - y)
    return ad + log1p_unit(exp(-2.0 * ad)) - LOG2


def log_cosh_gradient(y, r):
    """tanh(d), d = r - y, as -t / (2 + t) with t = expm1(-2|d|) in [-1, 0] and d's sign: the
    exp-based math vectorises in both backends, where a libm tanh is one call per element
    (21 ns an element; <= 2 ulp here, nothing cancels). d = +-0 and nan give d itself."""
    d = r - y
    t = expm1(-2.0 * abs(d))
    th = -t / (2.0 + t)
    return th if d > 0.0 else (-th if d < 0.0 else d)


def log_cosh_hessian(y, r):
    e = exp(-2.0 * abs(r - y))  # sech^2 = 4e/(1+e)^2: no 1 - tanh^2 cancellation
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


# --- pinball / quantile q: l = q (y - r) if y >= r else (1 - q)(r - y)  (scikit-learn PinballLoss)
def pinball_loss(y, r, quantile):
    d = y - r
    return quantile * d if d >= 0.0 else (quantile - 1.0) * d


def pinball_gradient(y, r, quantile):
    d = y - r
    return -quantile if d >= 0.0 else (1.0 - quantile if d < 0.0 else nan)


# --- asymmetric absolute error: l = alpha (y - r) if y >= r (under-prediction) else r - y
def asymmetric_absolute_error_loss(y, r, alpha):
    d = y - r
    return alpha * d if d >= 0.0 else -d


def asymmetric_absolute_error_gradient(y, r, alpha):
    d = y - r
    return -alpha if d >= 0.0 else (1.0 if d < 0.0 else nan)


# --- Poisson NLL, log link: l = exp(r) - y r [+ lgamma(y + 1) when full]; y >= 0
def poisson_loss(y, r, full):
    if y < 0.0:
        return nan
    if r == inf:
        return inf if y == y else nan
    l = exp(r) - times(y, r)
    if full != 0.0:
        l += lgamma(y + 1.0)
    return l


def poisson_gradient(y, r, full):
    return exp(r) - y if y >= 0.0 else nan


def poisson_hessian(y, r, full):
    return exp(r) if y >= 0.0 else nan


# --- binary hinge: s = +1 for y = 1, -1 for y = 0 or -1; l = max(0, 1 - s r)
def hinge_sign(y):
    """+1 for y = 1, -1 for y in {0, -1} (y (y + 1) = 0 for those only: one comparison, no
    branching ``or``, so the Cython loops vectorise: 13 -> ~1 ns an element), else nan."""
    return 1.0 if y == 1.0 else (-1.0 if y * (y + 1.0) == 0.0 else nan)


def hinge_loss(y, r):
    m = 1.0 - hinge_sign(y) * r
    return m if m > 0.0 else (0.0 if m <= 0.0 else nan)


def hinge_gradient(y, r):
    s = hinge_sign(y)
    m = 1.0 - s * r
    return -s if m > 0.0 else (0.0 if m <= 0.0 else nan)


def hinge_hessian(y, r):
    m = 1.0 - hinge_sign(y) * r
    return 1.0 if m == m else nan


# ================================================================ paired losses: raw = (r0, r1)
# --- heteroscedastic Gaussian NLL, raw = (mu, s = log variance):
# l = (s + (y - mu)^2 exp(-s)) / 2 [+ log(2 pi) / 2]
def gaussian_nll_loss(y, mu, s, full):
    d = y - mu
    if s == inf:
        return inf if d == d else nan
    if s == -inf:
        return (inf if d != 0.0 else -inf) if d == d else nan
    return 0.5 * (s + times(d * d, exp(-s))) + (HALF_LOG_2PI if full != 0.0 else 0.0)


def gaussian_nll_gradient(y, mu, s, full) -> tuple:
    d = y - mu
    iv = exp(-s)
    return -times(d, iv), 0.5 * (1.0 - times(d * d, iv))


def gaussian_nll_hessian(y, mu, s, full) -> tuple:
    d = y - mu
    iv = exp(-s)
    return iv, 0.5 * times(d * d, iv)


# --- Beta NLL, raw = (log a, log b), 0 < y < 1: l = lnB(a, b) - (a - 1) log y - (b - 1) log(1 - y)
def beta_nll_loss(y, la, lb):
    if not (y > 0.0 and y < 1.0):
        return nan
    a = exp(la)
    b = exp(lb)
    if (a == inf) != (b == inf):
        return inf  # one shape parameter -> inf: the Beta mass leaves y, the density -> 0
    return lgamma(a) + lgamma(b) - lgamma(a + b) - (a - 1.0) * log(y) - (b - 1.0) * log1p(-y)


def beta_nll_gradient(y, la, lb) -> tuple:
    # a psi(a) = a psi(a + 1) - 1 keeps the a -> 0 limit (gradient -> -1) free of 0 * inf
    if not (y > 0.0 and y < 1.0):
        return nan, nan
    a = exp(la)
    b = exp(lb)
    dab = digamma(a + b)
    return a * (digamma(a + 1.0) - dab - log(y)) - 1.0, b * (digamma(b + 1.0) - dab - log1p(-y)) - 1.0


def beta_nll_hessian(y, la, lb) -> tuple:
    g0, g1 = beta_nll_gradient(y, la, lb)
    a = exp(la)
    b = exp(lb)
    tab = trigamma(a + b)
    return g0 + a * a * (trigamma(a + 1.0) - tab) + 1.0, g1 + b * b * (trigamma(b + 1.0) - tab) + 1.0


# ================================================================ rows losses: raw (n, K)
# z: the row in float64; lse: its logsumexp and sm: its softmax, both from the skeleton (the Numba
# one computes them for a tile of rows at once, vectorised across rows, with one exp per entry);
# lse is nan when the row has a nan, -inf when all of it is -inf, +inf when a logit is +inf, and sm
# is only meaningful when lse is finite. g, h receive the gradient / hessian row when mode asks
# (1: gradient, 2: loss + gradient, 3: gradient + hessian); the skeleton applies the weights.
def row_max(z, k):
    """max of z[0:k]; nan when any entry is nan."""
    mx = -inf
    bad = 0.0
    for t in range(k):
        v = z[t]
        mx = v if v > mx else mx
        bad = bad + (1.0 if v != v else 0.0)
    return nan if bad > 0.0 else mx


def row_logsumexp(z, k):
    """m + log(c) + log1p(s / c): m the max, c its multiplicity, s the sum of exp(v - m) over the
    other entries (Blanchard, Higham & Higham 2021; as fastloss/_numba/_tiled.py); +-inf max is
    the answer, a nan makes it nan."""
    mx = row_max(z, k)
    if mx != mx or mx == inf or mx == -inf:
        return mx
    c = 0.0
    s = 0.0
    for j in range(k):
        c += 1.0 if z[j] == mx else 0.0
        s += 0.0 if z[j] == mx else exp(z[j] - mx)
    return mx + log(c) + log1p(s / c)


def undefined_row(g, h, mode, k):
    """A row whose softmax is undefined (nan entry, all -inf): nan everywhere."""
    for t in range(k):
        if mode != 0:
            g[t] = nan
        if mode == 3:
            h[t] = nan
    return nan


def top_count(z, k):
    """How many logits are +inf (the softmax limit is uniform over them)."""
    c = 0.0
    for j in range(k):
        c += 1.0 if z[j] == inf else 0.0
    return c


def softmax_target_row(z, sm, g, h, mode, k, lse, t, st):
    """Σ_k t_k (lse - z_k) (t_k = 0 terms dropped) for target masses t (sum st), gradient
    st p - t, hessian st p (1 - p). A row with +inf logits takes the limit p = uniform over them
    (a target mass on a finite logit then costs +inf)."""
    c = top_count(z, k) if lse == inf else 0.0
    loss = 0.0
    for j in range(k):
        if lse == inf:
            top = 1.0 if z[j] == inf else 0.0
            if t[j] != 0.0:
                loss += t[j] * (log(c) if top > 0.0 else inf)
            p = top / c
        else:
            loss += t[j] * (lse - z[j]) if t[j] != 0.0 else 0.0
            p = sm[j]
        if mode != 0:
            g[j] = st * p - t[j]
        if mode == 3:
            h[j] = st * p * (1.0 - p)
    return loss


# --- cross-entropy, label y, label smoothing eps: targets t_k = eps/K + (1 - eps)[k == y];
# l = lse(z) - Σ t_k z_k, gradient p - t, hessian p (1 - p). cfy is unused (no per-class parameter).
def cross_entropy_row(z, sm, g, h, mode, k, lse, y, cfy, label_smoothing):
    eps = label_smoothing
    if lse != lse or lse == -inf:
        return undefined_row(g, h, mode, k)
    off = eps / k
    if lse == inf:
        # the limit over the +inf logits; a target mass on a finite logit costs +inf
        c = top_count(z, k)
        loss = 0.0
        for j in range(k):
            tj = off + ((1.0 - eps) if j == y else 0.0)
            top = 1.0 if z[j] == inf else 0.0
            if tj != 0.0:
                loss += tj * (log(c) if top > 0.0 else inf)
            p = top / c
            if mode != 0:
                g[j] = p - tj
            if mode == 3:
                h[j] = p * (1.0 - p)
        return loss
    loss = lse - z[y]
    if eps != 0.0:
        # Σ t_k z_k = (1 - eps) z_y + eps/K Σ z_k; a -inf logit with a positive target costs +inf
        zsum = 0.0
        for j in range(k):
            zsum += z[j]
        loss = inf if zsum == -inf else loss + eps * z[y] - off * zsum
    if mode != 0:
        for j in range(k):
            p = sm[j]
            if mode == 3:
                h[j] = p * (1.0 - p)
            g[j] = p - off
        g[y] -= 1.0 - eps
    return loss


# --- Crammer-Singer multiclass hinge: l = max(0, 1 + max_{k != y} z_k - z_y); subgradient +1 at
# the first argmax, -1 at y when the margin is violated; hessian 1 (convention). No softmax: the
# contract says so, and the skeleton passes lse = 0 without computing it.
def multiclass_hinge_row(z, sm, g, h, mode, k, lse, y, cfy):
    j: int = -1
    mj = -inf
    bad = 0.0
    for t in range(k):
        v = z[t]
        bad = bad + (1.0 if v != v else 0.0)
        if t != y and (j < 0 or v > mj):
            j = t
            mj = v
    m = 1.0 + mj - z[y]
    loss = nan if (bad > 0.0 or m != m) else (m if m > 0.0 else 0.0)
    if mode != 0:
        for t in range(k):
            g[t] = nan if loss != loss else 0.0
            if mode == 3:
                h[t] = nan if loss != loss else 1.0
        if loss > 0.0:
            g[j] = 1.0
            g[y] = -1.0
    return loss


# --- softmax focal loss (Lin et al. 2017 on softmax probabilities), label y, per-class alpha_y:
# p = softmax(z), q = 1 - p_y (summed from the other classes: no cancellation), L = -log p_y,
#   l = alpha_y q**gamma L,
#   dl/dz_j = alpha_y (p_j - [j == y]) A,               A = q**gamma + gamma p_y L q**(gamma - 1),
#   d2l/dz_j2 = alpha_y (p_j (1 - p_j) A - (p_j - [j == y])**2 p_y dA/dp_y),
#   dA/dp_y = gamma q**(gamma - 2) (L q - 2 q - (gamma - 1) p_y L).
# gamma = 0 is cross-entropy; the q**(gamma - 1) and q**(gamma - 2) terms are 0 at q = 0 (their
# factors vanish faster), written so. +inf logits: p uniform over the c of them; if y is not
# among them p_y = 0 and the loss is +inf.
def multiclass_focal_row(z, sm, g, h, mode, k, lse, y, cfy, gamma):
    if lse != lse or lse == -inf:
        return undefined_row(g, h, mode, k)
    c = top_count(z, k) if lse == inf else 0.0
    q = 0.0
    for j in range(k):
        if lse == inf:
            g[j] = (1.0 / c) if z[j] == inf else 0.0  # g holds p until the gradient is written
        else:
            g[j] = sm[j]
        q += g[j] if j != y else 0.0
    py = g[y]
    big_l = (log(c) if py > 0.0 else inf) if lse == inf else lse - z[y]
    qg = q ** gamma
    loss = times(cfy, times(qg, big_l))
    if mode != 0:
        live = gamma != 0.0 and q > 0.0 and py > 0.0
        a = qg + (gamma * py * big_l * q ** (gamma - 1.0) if live else 0.0)
        da = (gamma * q ** (gamma - 2.0) * (big_l * q - 2.0 * q - (gamma - 1.0) * py * big_l)
              if (live and lse != inf) else 0.0)
        for j in range(k):
            p = g[j]
            d = p - (1.0 if j == y else 0.0)
            if mode == 3:
                h[j] = cfy * (p * (1.0 - p) * a - d * d * py * da)
            g[j] = cfy * d * a
    return loss


# --- target distributions t (the row of y_true, float64): soft cross-entropy Σ t_k (lse - z_k)
# and KL(t || softmax z) = that + Σ t_k log t_k; a negative target gives nan
def distribution_row(z, sm, g, h, mode, k, lse, t, entropy):
    if lse != lse or lse == -inf:
        return undefined_row(g, h, mode, k)
    st = 0.0
    ent = 0.0
    bad = 0.0
    for j in range(k):
        st += t[j]
        bad = bad + (0.0 if t[j] >= 0.0 else 1.0)
        ent += t[j] * log(t[j]) if t[j] > 0.0 else 0.0
    loss = softmax_target_row(z, sm, g, h, mode, k, lse, t, st)
    if bad > 0.0:
        if mode != 0:
            for j in range(k):
                g[j] = nan
        return nan
    return loss + (ent if entropy != 0.0 else 0.0)


def soft_cross_entropy_row(z, sm, g, h, mode, k, lse, t, cfy):
    return distribution_row(z, sm, g, h, mode, k, lse, t, 0.0)


def kl_div_row(z, sm, g, h, mode, k, lse, t, cfy):
    return distribution_row(z, sm, g, h, mode, k, lse, t, 1.0)
